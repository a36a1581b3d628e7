"""Events over HTTP: the town's events, creating them (organizers), the check-in at the door,
participants per session and the attendance export. Routes parse, call `queries` or
`service`, and return; who may do what is the manifest's actions (permissions.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from backend.core.audit import service as audit
from backend.core.calendar import service as calendars
from backend.core.downloads import api as downloads
from backend.core.downloads import service as links
from backend.core.downloads.schemas import DownloadLinkOut
from backend.core.exports import writers
from backend.core.municipalities.models import Municipality
from backend.core.users.models import User
from backend.db import utcnow
from backend.deps import CurrentUser, SessionDep, SettingsDep, TownAccess, can
from backend.fields import IdPath, IdQuery
from backend.i18n import gettext as _
from backend.openapi import ERRORS, file_response
from backend.services.events import queries, service
from backend.services.events.models import Event
from backend.services.events.schemas import (
    CheckInIn,
    CheckInOut,
    EventIn,
    EventOut,
    EventStaffOut,
    ParticipantsOut,
    SessionIn,
    SessionOut,
)
router = APIRouter(prefix="/api/v1/municipalities/{municipality_id}", tags=["events"], responses=ERRORS)
ResidentDep = Annotated[TownAccess, Depends(can("events", "register"))]
ManagerDep = Annotated[TownAccess, Depends(can("events", "manage"))]
DoorDep = Annotated[TownAccess, Depends(can("events", "check_in"))]
Format = Annotated[Literal["csv", "xlsx"], Query()]


@router.get("/events", response_model=list[EventOut])
async def list_events(access: ResidentDep, session: SessionDep) -> list[EventOut]:
    """The town's coming events, soonest first."""
    rows = await queries.upcoming(session, municipality_id=access.town.id, now=utcnow(), limit=100)
    return [await queries.event_out(session, event=e, town=access.town) for e in rows]


@router.post("/events", response_model=EventStaffOut, status_code=201)
async def create_event(body: EventIn, access: ManagerDep, user: CurrentUser, session: SessionDep) -> EventStaffOut:
    """Create an event with its schedule (organizers and admins)."""
    event = await service.create_event(session, town=access.town, data=body, actor_id=user.id)
    await audit.record(session, action="event.create", object_type="event", object_id=event.id, actor_id=user.id,
                       municipality_id=access.town.id, after={"title": event.title})
    return await queries.event_staff_out(session, event=event, town=access.town)


@router.get("/events/{event_id}", response_model=EventOut)
async def get_event(event_id: IdPath, access: ResidentDep, session: SessionDep) -> EventOut:
    """One event with its schedule and the places left."""
    event = await queries.event(session, municipality_id=access.town.id, event_id=event_id)
    return await queries.event_out(session, event=event, town=access.town)


@router.get("/events/{event_id}/staff", response_model=EventStaffOut)
async def get_event_for_staff(event_id: IdPath, access: DoorDep, session: SessionDep) -> EventStaffOut:
    """The event as organizers see it: with the counts of registered, waitlisted and checked-in people."""
    event = await queries.event(session, municipality_id=access.town.id, event_id=event_id)
    return await queries.event_staff_out(session, event=event, town=access.town)


@router.post("/events/{event_id}/sessions", response_model=SessionOut, status_code=201)
async def add_session(event_id: IdPath, body: SessionIn, access: ManagerDep, session: SessionDep) -> SessionOut:
    """Add an item to the event's schedule."""
    event = await queries.event(session, municipality_id=access.town.id, event_id=event_id)
    return SessionOut.model_validate(await service.add_session(session, event=event, data=body))


@router.get("/events/{event_id}/participants", response_model=ParticipantsOut)
async def participants(event_id: IdPath, access: DoorDep, session: SessionDep, session_id: IdQuery | None = None) -> ParticipantsOut:
    """Who holds a place, and who came: to the event, or to one session of its schedule."""
    event = await queries.event(session, municipality_id=access.town.id, event_id=event_id)
    people = await queries.participants(session, event=event, session_id=session_id)
    return ParticipantsOut(session_id=session_id, counts=await queries.counts(session, event_id=event.id, session_id=session_id), participants=people)


def _used_at(moment: datetime, town: Municipality) -> str:
    return moment.astimezone(calendars.for_town(town).tz).strftime("%H:%M, %d.%m.%Y")


@router.post("/events/{event_id}/check-ins", response_model=CheckInOut)
async def check_in(event_id: IdPath, body: CheckInIn, access: DoorDep, user: CurrentUser, session: SessionDep) -> CheckInOut:
    """Use a ticket at the door. Idempotent: the same code again answers "already used at …"
    with the time of the first check-in (a queued check-in sent twice does no harm)."""
    event = await queries.event(session, municipality_id=access.town.id, event_id=event_id)
    done = await service.check_in(session, event=event, code=body.code, session_id=body.session_id, actor_id=user.id, at=body.at)
    reg = done.registration
    name = queries.person_name(await session.get(User, reg.user_id) if reg.user_id else None)
    if done.already:
        message = _("Already used at {time}: {name}").format(time=_used_at(done.first_at, access.town), name=name)
    else:
        message = _("Checked in: {name}").format(name=name)
    return CheckInOut(result="already" if done.already else "checked_in", message=message, code=reg.code, name=name,
                      first_at=done.first_at, checked_in=done.count)


def _export_name(event: Event, town: Municipality, format: str) -> str:
    return f"attendance-{event.id}-{utcnow().astimezone(calendars.for_town(town).tz):%Y%m%d-%H%M}.{format}"


@router.get(
    "/events/{event_id}/attendance/export", response_class=Response,
    responses=file_response(writers.CSV, writers.XLSX, description="Attendance: participants and their check-ins per session"),
)
async def export_attendance(event_id: IdPath, access: ManagerDep, user: CurrentUser, session: SessionDep, format: Format = "csv") -> Response:
    """The attendance sheet as CSV or XLSX, safe to open in a spreadsheet."""
    event = await queries.event(session, municipality_id=access.town.id, event_id=event_id)
    header, rows = await queries.attendance_rows(session, event=event, town=access.town)
    await audit.record(session, action="event.attendance_export", object_type="event", object_id=event.id, actor_id=user.id,
                       municipality_id=access.town.id, after={"rows": len(rows), "format": format})
    if format == "csv":
        content, media_type = writers.csv_bytes(header, rows), f"{writers.CSV}; charset=utf-8"
    else:
        content, media_type = writers.xlsx_bytes(header, rows, sheet=_("Attendance")), writers.XLSX
    return Response(content, media_type=media_type,
                    headers={"Content-Disposition": writers.content_disposition(_export_name(event, access.town, format))})


@router.post("/events/{event_id}/attendance/export" + links.SUFFIX, response_model=DownloadLinkOut)
async def export_attendance_link(
    request: Request, event_id: IdPath, access: ManagerDep, user: CurrentUser, session: SessionDep, settings: SettingsDep,
    format: Format = "csv",
) -> DownloadLinkOut:
    """A signed link to the same export for a few minutes (for Telegram's downloadFile)."""
    event = await queries.event(session, municipality_id=access.town.id, event_id=event_id)
    return downloads.link(request, settings, user_id=user.id, filename=_export_name(event, access.town, format))
