"""The organizers' side of broadcasts: compose, preview, segment and its size, send now or
schedule, pause, resume, cancel, progress and the final report. Routes parse, call `queries`
or `service`, and return."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.files.models import StoredFile
from backend.core.notifications.port import Attachment, NullChannel, Recipient
from backend.core.notifications.service import recipient_of
from backend.core.users.models import Role
from backend.core.users.service import ROLE_TITLES
from backend.deps import CurrentUser, RuntimeDep, SessionDep, TownAccess, can
from backend.errors import Conflict
from backend.fields import IdPath, IdQuery
from backend.i18n import N_
from backend.i18n import gettext as _
from backend.openapi import ERRORS
from backend.runtime import Runtime
from backend.services.broadcasts import permissions, queries, service
from backend.services.broadcasts.models import Broadcast
from backend.services.broadcasts.notices import Post
from backend.services.broadcasts.rules import CATEGORIES
from backend.services.broadcasts.schemas import (
    AudienceOut,
    BroadcastIn,
    BroadcastOut,
    ButtonIn,
    CategoryOut,
    CountOut,
    OptionsOut,
    PhotoIn,
    Progress,
    ReportOut,
    ScheduleIn,
    SegmentIn,
    Uncertain,
)
from backend.services.broadcasts.settings import settings_of

router = APIRouter(prefix="/api/v1/municipalities/{municipality_id}", tags=["broadcasts"], responses=ERRORS)
OrganizerDep = Annotated[TownAccess, Depends(can(permissions.SLUG, permissions.SEND.name))]
BroadcastId = IdPath


def _may_pay(access: TownAccess) -> bool:
    return bool(access.roles & permissions.roles(access.town, permissions.PAID))


def _out(b: Broadcast, progress: Progress) -> BroadcastOut:
    return BroadcastOut(
        id=b.id, title=b.title, text=b.text, buttons=[[ButtonIn.model_validate(x) for x in row] for row in b.buttons or []],
        category=b.category, segment=SegmentIn.model_validate(b.segment or {}), paid=b.paid, status=b.status,
        has_photo=b.photo_id is not None, scheduled_at=b.scheduled_at, started_at=b.started_at, finished_at=b.finished_at,
        created_at=b.created_at, progress=progress,
    )


async def _one(session: AsyncSession, b: Broadcast) -> BroadcastOut:
    return _out(b, (await queries.progress(session, broadcast_ids=[b.id]))[b.id])


@router.get("/broadcasts/options", response_model=OptionsOut)
async def options(access: OrganizerDep, runtime: RuntimeDep) -> OptionsOut:
    """Categories, roles and audiences the composer offers in this town."""
    return OptionsOut(
        categories=[CategoryOut(code=c, title=_(t)) for c, t in CATEGORIES.items()],
        roles=[CategoryOut(code=r.value, title=_(ROLE_TITLES[r])) for r in Role],
        audiences=[AudienceOut(name=a.name, title=_(a.title)) for a in runtime.registry.audiences(access.town)],
        paid_enabled=settings_of(access.town).paid_enabled,
        paid_allowed=settings_of(access.town).paid_enabled and _may_pay(access),
    )


@router.post("/broadcasts/count", response_model=CountOut)
async def count(segment: SegmentIn, access: OrganizerDep, session: SessionDep, runtime: RuntimeDep) -> CountOut:
    """How many people a segment reaches now."""
    n = await queries.segment_count(session, registry=runtime.registry, town=access.town, segment=segment.model_dump(mode="json"))
    return CountOut(recipients=n)


@router.get("/broadcasts", response_model=list[BroadcastOut])
async def list_broadcasts(
    access: OrganizerDep, session: SessionDep, before: IdQuery | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> list[BroadcastOut]:
    """The town's broadcasts, newest first (`before`: the last id of the previous page)."""
    items = await queries.of_town(session, municipality_id=access.town.id, limit=limit, before=before)
    counts = await queries.progress(session, broadcast_ids=[b.id for b in items])
    return [_out(b, counts[b.id]) for b in items]


@router.post("/broadcasts", response_model=BroadcastOut, status_code=201)
async def create(
    data: BroadcastIn, access: OrganizerDep, user: CurrentUser, session: SessionDep, runtime: RuntimeDep
) -> BroadcastOut:
    """A new draft."""
    b = await service.create(session, town=access.town, registry=runtime.registry, author_id=user.id, data=data, may_pay=_may_pay(access))
    return await _one(session, b)


@router.get("/broadcasts/{broadcast_id}", response_model=ReportOut)
async def report(broadcast_id: BroadcastId, access: OrganizerDep, session: SessionDep) -> ReportOut:
    """The broadcast with its live progress; once done, the final report (and who is uncertain)."""
    b = await queries.get(session, municipality_id=access.town.id, broadcast_id=broadcast_id)
    uncertain = [Uncertain(user_id=r.user_id, chat_id=r.chat_id, error=r.error) for r in await queries.uncertain(session, broadcast_id=b.id)]
    return ReportOut(broadcast=await _one(session, b), uncertain=uncertain)


@router.put("/broadcasts/{broadcast_id}", response_model=BroadcastOut)
async def edit(
    broadcast_id: BroadcastId, data: BroadcastIn, access: OrganizerDep, session: SessionDep, runtime: RuntimeDep
) -> BroadcastOut:
    """Change a draft or a scheduled broadcast."""
    b = await queries.get(session, municipality_id=access.town.id, broadcast_id=broadcast_id)
    await service.update_draft(session, town=access.town, registry=runtime.registry, broadcast=b, data=data, may_pay=_may_pay(access))
    return await _one(session, b)


@router.put("/broadcasts/{broadcast_id}/photo", response_model=BroadcastOut)
async def set_photo(
    broadcast_id: BroadcastId, photo: PhotoIn, access: OrganizerDep, user: CurrentUser, session: SessionDep, runtime: RuntimeDep
) -> BroadcastOut:
    """Attach a photo (base64 JSON; the text becomes its caption, at most 1,024 characters)."""
    b = await queries.get(session, municipality_id=access.town.id, broadcast_id=broadcast_id)
    await service.set_photo(session, broadcast=b, photo=photo, root=runtime.settings.files_dir, user_id=user.id)
    return await _one(session, b)


@router.delete("/broadcasts/{broadcast_id}/photo", response_model=BroadcastOut)
async def remove_photo(broadcast_id: BroadcastId, access: OrganizerDep, session: SessionDep) -> BroadcastOut:
    """Send it without a photo."""
    b = await queries.get(session, municipality_id=access.town.id, broadcast_id=broadcast_id)
    await service.remove_photo(session, broadcast=b)
    return await _one(session, b)


async def _send_preview(runtime: Runtime, recipient: Recipient, notice: Post, photo: Attachment | None) -> None:
    try:
        await runtime.channel.post(recipient=recipient, notice=notice, photo=photo)  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - a preview is best effort; the organizer can ask again
        import logging

        logging.getLogger(__name__).warning("broadcast preview to %s failed", recipient.user_id, exc_info=True)


@router.post("/broadcasts/{broadcast_id}/preview", status_code=202, response_class=Response)
async def preview(
    broadcast_id: BroadcastId, access: OrganizerDep, user: CurrentUser, session: SessionDep, runtime: RuntimeDep,
    tasks: BackgroundTasks,
) -> Response:
    """Send the message to the organizer themselves, as residents will see it (after this request)."""
    b = await queries.get(session, municipality_id=access.town.id, broadcast_id=broadcast_id)
    if isinstance(runtime.channel, NullChannel) or not hasattr(runtime.channel, "post"):
        raise Conflict(N_("The bot is not connected: a preview cannot be sent."))
    photo = None
    if b.photo_id is not None:
        stored = await session.get(StoredFile, b.photo_id)
        if stored is not None:
            photo = Attachment(stored.filename, stored.mime, (runtime.settings.files_dir / stored.storage_key).read_bytes())
    notice = Post(broadcast_id=b.id, municipality_id=b.municipality_id, category=b.category, html=b.text, buttons=b.buttons or [], preview=True)
    recipient = recipient_of(user, default_locale=runtime.settings.DEFAULT_LOCALE, municipality_id=b.municipality_id)
    tasks.add_task(_send_preview, runtime, recipient, notice, photo)
    return Response(status_code=202)


@router.post("/broadcasts/{broadcast_id}/start", response_model=BroadcastOut)
async def start(broadcast_id: BroadcastId, access: OrganizerDep, session: SessionDep, runtime: RuntimeDep) -> BroadcastOut:
    """Send now: the segment's people become its recipients."""
    b = await queries.get(session, municipality_id=access.town.id, broadcast_id=broadcast_id)
    await service.start(session, town=access.town, registry=runtime.registry, broadcast=b)
    return await _one(session, b)


@router.post("/broadcasts/{broadcast_id}/schedule", response_model=BroadcastOut)
async def schedule(broadcast_id: BroadcastId, data: ScheduleIn, access: OrganizerDep, session: SessionDep) -> BroadcastOut:
    """Send at a time (with its time zone), within a year."""
    b = await queries.get(session, municipality_id=access.town.id, broadcast_id=broadcast_id)
    await service.schedule(session, broadcast=b, at=data.at)
    return await _one(session, b)


@router.post("/broadcasts/{broadcast_id}/unschedule", response_model=BroadcastOut)
async def unschedule(broadcast_id: BroadcastId, access: OrganizerDep, session: SessionDep) -> BroadcastOut:
    """Back to a draft."""
    b = await queries.get(session, municipality_id=access.town.id, broadcast_id=broadcast_id)
    await service.unschedule(session, broadcast=b)
    return await _one(session, b)


@router.post("/broadcasts/{broadcast_id}/pause", response_model=BroadcastOut)
async def pause(broadcast_id: BroadcastId, access: OrganizerDep, session: SessionDep) -> BroadcastOut:
    """Stop taking recipients (messages in flight finish)."""
    b = await queries.get(session, municipality_id=access.town.id, broadcast_id=broadcast_id)
    await service.pause(session, broadcast=b)
    return await _one(session, b)


@router.post("/broadcasts/{broadcast_id}/resume", response_model=BroadcastOut)
async def resume(broadcast_id: BroadcastId, access: OrganizerDep, session: SessionDep) -> BroadcastOut:
    """Go on where it stopped."""
    b = await queries.get(session, municipality_id=access.town.id, broadcast_id=broadcast_id)
    await service.resume(session, broadcast=b)
    return await _one(session, b)


@router.post("/broadcasts/{broadcast_id}/cancel", response_model=BroadcastOut)
async def cancel(broadcast_id: BroadcastId, access: OrganizerDep, session: SessionDep) -> BroadcastOut:
    """Nobody else gets it."""
    b = await queries.get(session, municipality_id=access.town.id, broadcast_id=broadcast_id)
    await service.cancel(session, broadcast=b)
    return await _one(session, b)
