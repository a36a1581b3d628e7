"""Reading events: the town's coming events, one event with its schedule and counts, the
participants of the event or of a session, attendance exports, a person's registrations,
the Atlas figures and the personal-data export. Nothing here writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.calendar import service as calendars
from backend.core.municipalities.models import Municipality
from backend.core.users.models import User
from backend.errors import NotFound
from backend.i18n import N_
from backend.i18n import gettext as _
from backend.services.events import rules
from backend.services.events.models import Event, EventCheckIn, EventRegistration, EventSession, EventTeam
from backend.services.events.rules import Status
from backend.services.events.schemas import Counts, EventOut, EventStaffOut, ParticipantOut, SessionOut
from backend.services.events.service import HOLDER_VALUES

CHECKED_IN = Status.CHECKED_IN.value


async def event(session: AsyncSession, *, municipality_id: int, event_id: int) -> Event:
    """One event of the town (another town's is not found)."""
    row = await session.get(Event, event_id)
    if row is None or row.municipality_id != municipality_id:
        raise NotFound(N_("No such event."))
    return row


async def upcoming(session: AsyncSession, *, municipality_id: int, now: datetime, limit: int = 20) -> list[Event]:
    """The town's published events that have not ended, soonest first."""
    return list(await session.scalars(
        select(Event)
        .where(Event.municipality_id == municipality_id, Event.published.is_(True), Event.ends_at > now)
        .order_by(Event.starts_at, Event.id).limit(limit)
    ))


async def sessions_of(session: AsyncSession, *, event_id: int) -> list[EventSession]:
    return list(await session.scalars(select(EventSession).where(EventSession.event_id == event_id).order_by(EventSession.starts_at, EventSession.id)))


def places_left(event: Event) -> int | None:
    limit = rules.places_for_registration(event.capacity, event.reserved)
    return None if limit is None else max(0, limit - event.taken)


async def event_out(session: AsyncSession, *, event: Event, town: Municipality) -> EventOut:
    """The event as residents see it."""
    return EventOut(
        id=event.id, kind=rules.Kind(event.kind), title=event.title, description=event.description,
        venue_name=event.venue_name, venue_address=event.venue_address, lat=event.lat, lon=event.lon,
        starts_at=event.starts_at, ends_at=event.ends_at, timezone=calendars.for_town(town).timezone,
        capacity=event.capacity, reserved=event.reserved, places_left=places_left(event),
        registration_opens_at=event.registration_opens_at, registration_closes_at=event.registration_closes_at,
        terms=event.terms, questions=list(event.questions or []), team_min=event.team_min, team_max=event.team_max,
        sessions=[SessionOut.model_validate(s) for s in await sessions_of(session, event_id=event.id)],
    )


async def counts(session: AsyncSession, *, event_id: int, session_id: int | None = None) -> Counts:
    """Holders, waitlist and check-ins of the event (check-ins of one session when given)."""
    by_status = dict((await session.execute(
        select(EventRegistration.status, func.count()).where(EventRegistration.event_id == event_id).group_by(EventRegistration.status)
    )).all())
    scope = "event" if session_id is None else str(session_id)
    checked = await session.scalar(
        select(func.count()).select_from(EventCheckIn).where(EventCheckIn.event_id == event_id, EventCheckIn.scope == scope)
    ) or 0
    return Counts(
        registered=sum(int(by_status.get(s, 0)) for s in HOLDER_VALUES),
        waitlisted=int(by_status.get(Status.WAITLISTED.value, 0)),
        checked_in=int(checked),
    )


async def event_staff_out(session: AsyncSession, *, event: Event, town: Municipality) -> EventStaffOut:
    """The event as its organizers see it: with counts."""
    base = await event_out(session, event=event, town=town)
    return EventStaffOut(**base.model_dump(), counts=await counts(session, event_id=event.id))


def person_name(user: User | None) -> str:
    if user is None:
        return _("Deleted participant")
    return user.full_name or user.display_name or _("Participant")


async def participants(session: AsyncSession, *, event: Event, session_id: int | None) -> list[ParticipantOut]:
    """Who holds a place (and who came) at the event, or at one session of its schedule."""
    if session_id is not None:
        item = await session.get(EventSession, session_id)
        if item is None or item.event_id != event.id:
            raise NotFound(N_("This session is not in the event's schedule."))
    scope = "event" if session_id is None else str(session_id)
    rows = (await session.execute(
        select(EventRegistration, User, EventTeam.name, EventCheckIn.at)
        .outerjoin(User, User.id == EventRegistration.user_id)
        .outerjoin(EventTeam, EventTeam.id == EventRegistration.team_id)
        .outerjoin(EventCheckIn, (EventCheckIn.registration_id == EventRegistration.id) & (EventCheckIn.scope == scope))
        .where(EventRegistration.event_id == event.id, EventRegistration.status.in_(HOLDER_VALUES))
        .order_by(EventRegistration.id)
    )).all()
    return [
        ParticipantOut(registration_id=reg.id, code=reg.code, name=person_name(user), status=Status(reg.status), team=team,
                       checked_in_at=at, answers=dict(reg.answers or {}))
        for reg, user, team, at in rows
    ]


async def attendance_rows(session: AsyncSession, *, event: Event, town: Municipality) -> tuple[list[str], list[list[Any]]]:
    """The attendance sheet: one row per participant, a column per session of the schedule."""
    tz = calendars.for_town(town).tz
    items = await sessions_of(session, event_id=event.id)
    people = await participants(session, event=event, session_id=None)
    by_scope: dict[tuple[int, str], datetime] = {
        (r, s): at for r, s, at in (await session.execute(
            select(EventCheckIn.registration_id, EventCheckIn.scope, EventCheckIn.at).where(EventCheckIn.event_id == event.id)
        )).all()
    }
    questions = list(event.questions or [])
    header = [_("Code"), _("Participant"), _("Status"), _("Team"), _("Checked in"), *[s.title for s in items], *[q["text"] for q in questions]]

    def when(at: datetime | None) -> str:
        return at.astimezone(tz).strftime("%d.%m.%Y %H:%M") if at else ""

    rows = [
        [p.code, p.name, _(rules.STATUS_TITLES[p.status]), p.team or "", when(by_scope.get((p.registration_id, "event"))),
         *[when(by_scope.get((p.registration_id, str(s.id)))) for s in items],
         *[p.answers.get(q["id"], "") for q in questions]]
        for p in people
    ]
    return header, rows


async def my_registrations(session: AsyncSession, *, user_id: int, municipality_id: int, now: datetime) -> list[tuple[EventRegistration, Event]]:
    """The person's live registrations for the town's events that have not ended."""
    return [(r, e) for r, e in (await session.execute(
        select(EventRegistration, Event).join(Event, Event.id == EventRegistration.event_id)
        .where(EventRegistration.user_id == user_id, Event.municipality_id == municipality_id, Event.ends_at > now,
               EventRegistration.status.in_([s.value for s in rules.ACTIVE]))
        .order_by(Event.starts_at, Event.id)
    )).all()]


async def team_members(session: AsyncSession, *, team_id: int) -> list[tuple[EventRegistration, User | None]]:
    return [(r, u) for r, u in (await session.execute(
        select(EventRegistration, User).outerjoin(User, User.id == EventRegistration.user_id)
        .where(EventRegistration.team_id == team_id).order_by(EventRegistration.id)
    )).all()]


async def stats(session: AsyncSession, municipality_id: int, now: datetime) -> dict[str, float | int]:
    """The town's figures for the Atlas: events held and coming, registrations and attendance."""
    events = await session.scalar(select(func.count()).select_from(Event).where(Event.municipality_id == municipality_id, Event.published.is_(True))) or 0
    held = await session.scalar(select(func.count()).select_from(Event).where(
        Event.municipality_id == municipality_id, Event.published.is_(True), Event.ends_at <= now)) or 0
    in_town = select(Event.id).where(Event.municipality_id == municipality_id)
    registrations = await session.scalar(select(func.count()).select_from(EventRegistration).where(
        EventRegistration.event_id.in_(in_town), EventRegistration.status.in_(HOLDER_VALUES))) or 0
    attended = await session.scalar(select(func.count()).select_from(EventRegistration).where(
        EventRegistration.event_id.in_(in_town), EventRegistration.status == CHECKED_IN)) or 0
    return {
        "events": int(events),
        "events_held": int(held),
        "registrations": int(registrations),
        "attendance": int(attended),
        "attendance_rate": round(attended / registrations, 3) if registrations else 0.0,
    }


async def export_personal_data(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    """The person's registrations, as /mydata shows them."""
    rows = (await session.execute(
        select(EventRegistration, Event, EventTeam.name).join(Event, Event.id == EventRegistration.event_id)
        .outerjoin(EventTeam, EventTeam.id == EventRegistration.team_id)
        .where(EventRegistration.user_id == user_id).order_by(EventRegistration.id)
    )).all()
    return [
        {"event": e.title, "starts_at": e.starts_at.isoformat(), "status": r.status, "code": r.code, "answers": dict(r.answers or {}),
         "team": team, "registered_at": r.created_at.isoformat(), "checked_in_at": r.checked_in_at.isoformat() if r.checked_in_at else None}
        for r, e, team in rows
    ]
