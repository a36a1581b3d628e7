"""Reading broadcasts: one, a town's list, the progress counts, a segment's size, the
recipients left uncertain, and what a person's data holds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.components.manifest import Viewer
from backend.core.components.registry import Registry
from backend.core.users.models import Membership, User
from backend.errors import Invalid, NotFound
from backend.i18n import N_
from backend.services.broadcasts.models import Broadcast, BroadcastMute, BroadcastRecipient
from backend.services.broadcasts.rules import State
from backend.services.broadcasts.schemas import Progress


async def get(session: AsyncSession, *, municipality_id: int, broadcast_id: int) -> Broadcast:
    """A broadcast of this town (another town's is not found)."""
    b = await session.get(Broadcast, broadcast_id)
    if b is None or b.municipality_id != municipality_id:
        raise NotFound(N_("Broadcast not found."))
    return b


async def of_town(session: AsyncSession, *, municipality_id: int, limit: int = 50, before: int | None = None) -> list[Broadcast]:
    """The town's broadcasts, newest first, a page at a time."""
    q = select(Broadcast).where(Broadcast.municipality_id == municipality_id)
    if before is not None:
        q = q.where(Broadcast.id < before)
    return list(await session.scalars(q.order_by(Broadcast.id.desc()).limit(limit)))


async def progress(session: AsyncSession, *, broadcast_ids: Sequence[int]) -> dict[int, Progress]:
    """Counts per recipient state of each broadcast."""
    out = {bid: Progress() for bid in broadcast_ids}
    if not broadcast_ids:
        return out
    rows = await session.execute(
        select(BroadcastRecipient.broadcast_id, BroadcastRecipient.state, func.count())
        .where(BroadcastRecipient.broadcast_id.in_(list(broadcast_ids)))
        .group_by(BroadcastRecipient.broadcast_id, BroadcastRecipient.state)
    )
    for bid, state, n in rows:
        p = out[bid]
        if state in Progress.model_fields:
            setattr(p, state, n)
        p.total += n
    for p in out.values():
        p.remaining = p.pending + p.sending
    return out


def town_people(municipality_id: int, roles: Sequence[str]) -> Select[Any]:
    """The town's people a broadcast may reach (holding one of `roles`, when given): on
    Telegram, not known to have blocked the bot, not erased."""
    member = select(Membership.user_id).where(Membership.municipality_id == municipality_id)
    if roles:
        member = member.where(Membership.role.in_(list(roles)))
    return select(User.id, User.telegram_id).where(
        User.id.in_(member), User.telegram_id.is_not(None), User.bot_blocked.is_(False), User.anonymized_at.is_(None),
    )


async def audience_ids(
    session: AsyncSession, *, registry: Registry, town: Any, segment: dict[str, Any]
) -> list[int]:
    """The ids of an audience segment's people, from the service that keeps the audience."""
    audience = registry.audience(segment.get("audience") or "")
    if audience is None or audience not in registry.audiences(town):
        raise Invalid(N_("This audience is not available in the town."))
    return list(dict.fromkeys(await audience.members(session, town.id, int(segment["ref"]))))


async def segment_count(session: AsyncSession, *, registry: Registry, town: Any, segment: dict[str, Any]) -> int:
    """How many people the segment reaches now."""
    if segment.get("kind") == "audience":
        ids = await audience_ids(session, registry=registry, town=town, segment=segment)
        n = 0
        for i in range(0, len(ids), 500):
            q = town_people(town.id, ()).where(User.id.in_(ids[i : i + 500])).subquery()
            n += await session.scalar(select(func.count()).select_from(q)) or 0
        return n
    q = town_people(town.id, segment.get("roles") or ()).subquery()
    return await session.scalar(select(func.count()).select_from(q)) or 0


async def uncertain(session: AsyncSession, *, broadcast_id: int, limit: int = 100) -> list[BroadcastRecipient]:
    """Recipients whose message was in flight when its worker died: maybe delivered, not repeated."""
    return list(await session.scalars(
        select(BroadcastRecipient)
        .where(BroadcastRecipient.broadcast_id == broadcast_id, BroadcastRecipient.state == State.UNCERTAIN.value)
        .order_by(BroadcastRecipient.id).limit(limit)
    ))


async def mutes(session: AsyncSession, *, user_id: int, municipality_id: int) -> set[str]:
    """The categories a person muted in a town ("*": all announcements)."""
    return set(await session.scalars(
        select(BroadcastMute.category).where(BroadcastMute.user_id == user_id, BroadcastMute.municipality_id == municipality_id)
    ))


def muted_clause(user_id_col: Any, municipality_id: int, category: str) -> Any:
    """SQL: the person muted this category of this town's announcements, or all of them."""
    return exists().where(and_(
        BroadcastMute.user_id == user_id_col, BroadcastMute.municipality_id == municipality_id,
        BroadcastMute.category.in_([category, "*"]),
    ))


async def may_see(session: AsyncSession, viewer: Viewer, broadcast_id: int) -> bool:
    """Files of a broadcast (its photo): organizers of its town."""
    b = await session.get(Broadcast, broadcast_id)
    return b is not None and b.municipality_id == viewer.municipality_id


async def export_personal_data(session: AsyncSession, user_id: int) -> dict[str, Any]:
    """What broadcasts keep about a person: their mutes and the announcements sent to them."""
    mutes_ = [
        {"municipality_id": m.municipality_id, "category": m.category}
        for m in await session.scalars(select(BroadcastMute).where(BroadcastMute.user_id == user_id))
    ]
    received = [
        {"broadcast_id": r.broadcast_id, "state": r.state, "sent_at": r.sent_at.isoformat() if r.sent_at else None}
        for r in await session.scalars(
            select(BroadcastRecipient).where(BroadcastRecipient.user_id == user_id).order_by(BroadcastRecipient.id)
        )
    ]
    return {"mutes": mutes_, "received": received}
