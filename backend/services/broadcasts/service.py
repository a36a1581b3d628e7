"""Changing broadcasts: drafts, their photo, starting (the recipients materialised then),
scheduling, pausing, resuming, cancelling; residents' mutes; erasure."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.components.registry import Registry
from backend.core.files import service as files
from backend.core.files.models import StoredFile
from backend.core.municipalities.models import Municipality
from backend.core.users.models import User
from backend.db import utcnow
from backend.errors import Conflict, Invalid, InvalidFields
from backend.i18n import N_
from backend.services.broadcasts import queries
from backend.services.broadcasts.models import Broadcast, BroadcastMute, BroadcastRecipient
from backend.services.broadcasts.rules import ALL, CAPTION_LIMIT, CATEGORIES, MOVES, TEXT_LIMIT, HtmlError, State, Status, check_html
from backend.services.broadcasts.schemas import BroadcastIn, PhotoIn
from backend.services.broadcasts.settings import settings_of

MAX_SCHEDULE_AHEAD = timedelta(days=366)
PHOTO_MAX_BYTES = 700 * 1024  # within the API's 1 MiB body once in base64


def _check_text(text: str, *, photo: bool) -> None:
    try:
        check_html(text, limit=CAPTION_LIMIT if photo else TEXT_LIMIT)
    except HtmlError as exc:
        raise InvalidFields(exc.msgid, fields=["text"], **exc.params) from exc


def _check_move(b: Broadcast, move: str) -> None:
    if Status(b.status) not in MOVES[move]:
        raise Conflict(N_("A broadcast that is {status} cannot do that."), status=b.status)


def _check_paid(town: Municipality, paid: bool, *, may_pay: bool) -> None:
    if not paid:
        return
    if not settings_of(town).paid_enabled:
        raise InvalidFields(N_("Paid broadcasts are off in this town."), fields=["paid"])
    if not may_pay:
        raise InvalidFields(N_("Your role does not allow paid broadcasts."), fields=["paid"])


async def _check_segment(session: AsyncSession, *, registry: Registry, town: Municipality, data: BroadcastIn) -> None:
    if data.segment.kind == "audience":
        audience = registry.audience(data.segment.audience or "")
        if audience is None or audience not in registry.audiences(town):
            raise InvalidFields(N_("This audience is not available in the town."), fields=["segment.audience"])


async def create(
    session: AsyncSession, *, town: Municipality, registry: Registry, author_id: int, data: BroadcastIn, may_pay: bool
) -> Broadcast:
    """A new draft."""
    _check_text(data.text, photo=False)
    _check_paid(town, data.paid, may_pay=may_pay)
    await _check_segment(session, registry=registry, town=town, data=data)
    b = Broadcast(
        municipality_id=town.id, author_id=author_id, title=data.title, text=data.text,
        buttons=[[btn.model_dump() for btn in row] for row in data.buttons], category=data.category,
        segment=data.segment.model_dump(mode="json"), paid=data.paid, status=Status.DRAFT.value,
    )
    session.add(b)
    await session.flush()
    return b


async def update_draft(
    session: AsyncSession, *, town: Municipality, registry: Registry, broadcast: Broadcast, data: BroadcastIn, may_pay: bool
) -> Broadcast:
    """Change a draft (or a scheduled one, before it starts)."""
    _check_move(broadcast, "edit")
    _check_text(data.text, photo=broadcast.photo_id is not None)
    _check_paid(town, data.paid, may_pay=may_pay)
    await _check_segment(session, registry=registry, town=town, data=data)
    broadcast.title, broadcast.text, broadcast.category, broadcast.paid = data.title, data.text, data.category, data.paid
    broadcast.buttons = [[btn.model_dump() for btn in row] for row in data.buttons]
    broadcast.segment = data.segment.model_dump(mode="json")
    await session.flush()
    return broadcast


async def set_photo(session: AsyncSession, *, broadcast: Broadcast, photo: PhotoIn, root: Path, user_id: int) -> StoredFile:
    """Attach a photo (the text becomes its caption, so it must fit a caption)."""
    _check_move(broadcast, "edit")
    try:
        data = base64.b64decode(photo.data, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise InvalidFields(N_("The photo is not valid base64."), fields=["data"]) from exc
    if len(data) > PHOTO_MAX_BYTES:
        raise InvalidFields(N_("The photo is larger than {kb} KB."), fields=["data"], kb=PHOTO_MAX_BYTES // 1024)
    _check_text(broadcast.text, photo=True)
    stored = await files.save(
        session, root=root, municipality_id=broadcast.municipality_id, data=data, filename=photo.filename,
        mime=photo.mime, owner_type="broadcast", owner_id=broadcast.id, created_by=user_id,
    )
    broadcast.photo_id = stored.id
    await session.flush()
    return stored


async def remove_photo(session: AsyncSession, *, broadcast: Broadcast) -> None:
    """Send it without a photo."""
    _check_move(broadcast, "edit")
    broadcast.photo_id = None
    await session.flush()


async def _materialise(session: AsyncSession, *, registry: Registry, town: Municipality, b: Broadcast) -> int:
    """One pending row per person the segment reaches now; returns how many."""
    columns = [BroadcastRecipient.broadcast_id, BroadcastRecipient.user_id, BroadcastRecipient.chat_id,
               BroadcastRecipient.state, BroadcastRecipient.attempts]

    def rows(people: Any) -> Any:
        sub = people.subquery()
        return select(literal(b.id), sub.c.id, sub.c.telegram_id, literal(State.PENDING.value), literal(0))

    if b.segment.get("kind") == "audience":
        ids = await queries.audience_ids(session, registry=registry, town=town, segment=b.segment)
        for i in range(0, len(ids), 500):
            people = queries.town_people(town.id, ()).where(User.id.in_(ids[i : i + 500]))
            await session.execute(insert(BroadcastRecipient).from_select(columns, rows(people)))
    else:
        await session.execute(insert(BroadcastRecipient).from_select(columns, rows(queries.town_people(town.id, b.segment.get("roles") or ()))))
    counted = await queries.progress(session, broadcast_ids=[b.id])
    return counted[b.id].total


async def start(
    session: AsyncSession, *, town: Municipality, registry: Registry, broadcast: Broadcast, now: datetime | None = None
) -> Broadcast:
    """Send now: resolve the segment into recipients and hand them to the delivery workers."""
    _check_move(broadcast, "start")
    if broadcast.paid and not settings_of(town).paid_enabled:
        raise Invalid(N_("Paid broadcasts are off in this town."))
    _check_text(broadcast.text, photo=broadcast.photo_id is not None)
    broadcast.total = await _materialise(session, registry=registry, town=town, b=broadcast)
    broadcast.status = Status.RUNNING.value if broadcast.total else Status.DONE.value
    broadcast.started_at = now or utcnow()
    if not broadcast.total:
        broadcast.finished_at = broadcast.started_at
    await session.flush()
    return broadcast


async def schedule(session: AsyncSession, *, broadcast: Broadcast, at: datetime, now: datetime | None = None) -> Broadcast:
    """Start it at `at` (the scheduler's job does)."""
    _check_move(broadcast, "schedule")
    now = now or utcnow()
    if at.tzinfo is None:
        raise InvalidFields(N_("Give the time with its time zone."), fields=["at"])
    if at <= now or at > now + MAX_SCHEDULE_AHEAD:
        raise InvalidFields(N_("Choose a time in the future, within a year."), fields=["at"])
    _check_text(broadcast.text, photo=broadcast.photo_id is not None)
    broadcast.status, broadcast.scheduled_at = Status.SCHEDULED.value, at
    await session.flush()
    return broadcast


async def unschedule(session: AsyncSession, *, broadcast: Broadcast) -> Broadcast:
    """Back to a draft."""
    _check_move(broadcast, "unschedule")
    broadcast.status, broadcast.scheduled_at = Status.DRAFT.value, None
    await session.flush()
    return broadcast


async def pause(session: AsyncSession, *, broadcast: Broadcast) -> Broadcast:
    """Workers stop taking its recipients (the messages in flight finish)."""
    _check_move(broadcast, "pause")
    broadcast.status = Status.PAUSED.value
    await session.flush()
    return broadcast


async def resume(session: AsyncSession, *, broadcast: Broadcast) -> Broadcast:
    """Workers take its recipients again, where it stopped."""
    _check_move(broadcast, "resume")
    broadcast.status = Status.RUNNING.value
    await session.flush()
    return broadcast


async def cancel(session: AsyncSession, *, broadcast: Broadcast, now: datetime | None = None) -> Broadcast:
    """Nobody else gets it; those who did keep it (the rest stay counted as remaining)."""
    _check_move(broadcast, "cancel")
    broadcast.status = Status.CANCELLED.value
    broadcast.finished_at = now or utcnow()
    await session.flush()
    return broadcast


async def start_due(session: AsyncSession, *, registry: Registry, now: datetime | None = None) -> list[int]:
    """Start scheduled broadcasts whose time came; returns their ids."""
    now = now or utcnow()
    due = list(await session.scalars(
        select(Broadcast).where(Broadcast.status == Status.SCHEDULED.value, Broadcast.scheduled_at <= now)
        .order_by(Broadcast.scheduled_at).limit(20).with_for_update(skip_locked=True)
    ))
    started = []
    for b in due:
        town = await session.get(Municipality, b.municipality_id)
        if town is None or not registry.is_on("broadcasts", town):
            continue
        try:
            await start(session, town=town, registry=registry, broadcast=b, now=now)
        except Invalid:  # paid turned off or the text no longer fits since it was scheduled: back to the organizer
            b.status = Status.DRAFT.value
            continue
        started.append(b.id)
    return started


async def mute(session: AsyncSession, *, user_id: int, municipality_id: int, category: str) -> set[str]:
    """Stop a category of the town's announcements to this person ("*": all); returns the mutes."""
    if category != ALL and category not in CATEGORIES:
        raise Invalid(N_("No such category of announcements."))
    current = await queries.mutes(session, user_id=user_id, municipality_id=municipality_id)
    if category not in current:
        session.add(BroadcastMute(user_id=user_id, municipality_id=municipality_id, category=category))
        await session.flush()
        current.add(category)
    return current


async def unmute(session: AsyncSession, *, user_id: int, municipality_id: int, category: str) -> set[str]:
    """Receive that category (or, for "*", announcements at all) again; returns the mutes."""
    await session.execute(delete(BroadcastMute).where(
        BroadcastMute.user_id == user_id, BroadcastMute.municipality_id == municipality_id, BroadcastMute.category == category,
    ))
    return await queries.mutes(session, user_id=user_id, municipality_id=municipality_id)


async def erase_personal_data(session: AsyncSession, user_id: int) -> None:
    """Forget a person: their mutes and their rows in broadcasts (the counts lose them)."""
    await session.execute(delete(BroadcastMute).where(BroadcastMute.user_id == user_id))
    await session.execute(delete(BroadcastRecipient).where(BroadcastRecipient.user_id == user_id))
    await session.execute(update(Broadcast).where(Broadcast.author_id == user_id).values(author_id=None))
