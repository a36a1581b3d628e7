"""Exactly-once handling of a messenger's updates, and the durable way replies leave.

An update's handling is one transaction. Its first statement is `begin`: on PostgreSQL it takes
the chat's advisory lock for the transaction (so a chat's updates are handled one at a time,
whichever replica got them, and a dead replica's lock is gone the moment its connection is);
on both engines it learns whether this update was handled already and whether an earlier update
of the chat is waiting. Its last statements are `finish` (the update is handled) and
`add_batch` (the replies it produced), so "handled", the effects and the replies commit or
vanish together: a redelivered update whose first handling did not commit is handled again,
one that committed has no second effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.transport.models import InboundUpdate, OutboundBatch
from backend.db import utcnow

LEASE = timedelta(seconds=30)  # a batch not reported sent by then is sent by someone else
KEEP_HANDLED = timedelta(days=3)  # Telegram redelivers for up to 24 hours


def chat_lock_key(account: int, chat: int | None) -> int:
    """A signed 64-bit advisory-lock key for one chat of one bot (collisions only serialize)."""
    raw = ((account & 0xFFFFFFFF) << 32) | ((chat or 0) & 0xFFFFFFFF)
    return raw - (1 << 64) if raw >= 1 << 63 else raw


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


@dataclass(frozen=True)
class Gate:
    locked: bool  # this transaction holds the chat (always true on the single-process SQLite default)
    handled: bool  # the update was handled already: nothing to do
    earlier_waiting: bool  # an earlier update of the chat waits in the queue: it goes first


async def begin(session: AsyncSession, *, account: int, update_id: int, chat: int | None) -> Gate:
    """The update transaction's first statement (one round trip): take the chat, and learn
    whether the update is done and whether an earlier one of its chat waits."""
    handled = (
        select(literal(1)).where(
            InboundUpdate.account == account, InboundUpdate.update_id == update_id, InboundUpdate.handled_at.is_not(None)
        ).exists()
    )
    earlier = (
        select(literal(1)).where(
            InboundUpdate.account == account, InboundUpdate.chat == chat, InboundUpdate.handled_at.is_(None),
            InboundUpdate.update_id < update_id,
        ).exists()
    )
    if _is_postgres(session) and chat is not None:
        lock = func.pg_try_advisory_xact_lock(chat_lock_key(account, chat))
        row = (await session.execute(select(lock, handled, earlier))).one()
        return Gate(locked=bool(row[0]), handled=bool(row[1]), earlier_waiting=bool(row[2]))
    row = (await session.execute(select(handled, earlier))).one()
    return Gate(locked=True, handled=bool(row[0]), earlier_waiting=bool(row[1]))


def _upsert(session: AsyncSession):  # noqa: ANN202
    return pg_insert if _is_postgres(session) else sqlite_insert


async def finish(
    session: AsyncSession, *, account: int, update_id: int, chat: int | None, outcome: str = "handled", now: datetime | None = None
) -> None:
    """Record, in the update's transaction, that it was handled (a waiting row becomes handled)."""
    now = now or utcnow()
    stmt = _upsert(session)(InboundUpdate).values(
        account=account, update_id=update_id, chat=chat, payload=None, received_at=now, handled_at=now, outcome=outcome
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[InboundUpdate.account, InboundUpdate.update_id],
        set_={"handled_at": now, "outcome": outcome, "payload": None},
        where=InboundUpdate.handled_at.is_(None),
    )
    await session.execute(stmt)


async def enqueue(
    session: AsyncSession, *, account: int, update_id: int, chat: int | None, payload: dict[str, Any], now: datetime | None = None
) -> None:
    """Queue an update behind its chat (the caller commits); nothing happens for a known one."""
    stmt = _upsert(session)(InboundUpdate).values(
        account=account, update_id=update_id, chat=chat, payload=payload, received_at=now or utcnow()
    )
    await session.execute(stmt.on_conflict_do_nothing(index_elements=[InboundUpdate.account, InboundUpdate.update_id]))


async def is_handled(session: AsyncSession, *, account: int, update_id: int) -> bool:
    """Whether the update's handling has committed."""
    return bool(await session.scalar(
        select(InboundUpdate.handled_at.is_not(None)).where(InboundUpdate.account == account, InboundUpdate.update_id == update_id)
    ))


async def next_waiting(session: AsyncSession, *, account: int, chat: int | None) -> InboundUpdate | None:
    """The chat's lowest waiting update."""
    return await session.scalar(
        select(InboundUpdate)
        .where(InboundUpdate.account == account, InboundUpdate.chat == chat, InboundUpdate.handled_at.is_(None))
        .order_by(InboundUpdate.update_id)
        .limit(1)
    )


async def waiting_chats(session: AsyncSession, *, older_than: datetime, limit: int = 100) -> list[tuple[int, int | None]]:
    """Chats whose updates have waited since before `older_than` (their drainer may be gone)."""
    rows = await session.execute(
        select(InboundUpdate.account, InboundUpdate.chat)
        .where(InboundUpdate.handled_at.is_(None), InboundUpdate.received_at < older_than)
        .group_by(InboundUpdate.account, InboundUpdate.chat)
        .limit(limit)
    )
    return [(a, c) for a, c in rows.all()]


async def purge_handled(session: AsyncSession, *, now: datetime) -> int:
    """Forget handled updates older than any redelivery, and batches long sent."""
    cutoff = now - KEEP_HANDLED
    n = (await session.execute(
        delete(InboundUpdate).where(InboundUpdate.handled_at.is_not(None), InboundUpdate.handled_at < cutoff)
    )).rowcount or 0
    await session.execute(delete(OutboundBatch).where(
        and_(OutboundBatch.created_at < cutoff, (OutboundBatch.sent_at.is_not(None)) | (OutboundBatch.failed_at.is_not(None)))
    ))
    return int(n)


# --- replies ------------------------------------------------------------------------------------


async def add_batch(
    session: AsyncSession, *, account: int, chat: int | None, update_id: int | None, calls: list[dict[str, Any]],
    now: datetime | None = None, lease: timedelta = LEASE,
) -> int:
    """Store an update's replies in its transaction; the caller sends them after commit."""
    now = now or utcnow()
    batch = OutboundBatch(account=account, chat=chat, update_id=update_id, calls=calls, created_at=now, lease_until=now + lease)
    session.add(batch)
    await session.flush()
    return batch.id


async def record_progress(
    session: AsyncSession, *, batch_id: int, done: int, total: int, error: str | None = None, retry_at: datetime | None = None,
    failed: bool = False,
) -> None:
    """What the sender managed: `done` calls confirmed; all of them (sent), a retry time, or given up."""
    values: dict[str, Any] = {"done": done}
    now = utcnow()
    if done >= total:
        values["sent_at"] = now
    elif failed:
        values["failed_at"] = now
    if error is not None:
        values["last_error"] = error[:500]
    if retry_at is not None:
        values["lease_until"] = retry_at
    await session.execute(update(OutboundBatch).where(OutboundBatch.id == batch_id).values(**values))


async def claim_due(session: AsyncSession, *, now: datetime, limit: int = 50, lease: timedelta = LEASE) -> list[OutboundBatch]:
    """Batches whose lease ran out unsent: their sender died or failed. Taken with a new lease
    (SKIP LOCKED on PostgreSQL, so replicas take different ones) and marked uncertain when a
    sender had them before, since its call in flight may or may not have reached the messenger."""
    rows = list(await session.scalars(
        select(OutboundBatch)
        .where(OutboundBatch.sent_at.is_(None), OutboundBatch.failed_at.is_(None), OutboundBatch.lease_until <= now)
        .order_by(OutboundBatch.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ))
    for batch in rows:
        if batch.attempts == 0 and batch.last_error is None:
            batch.uncertain = True  # its first sender never reported back
        batch.attempts += 1
        batch.lease_until = now + lease
    return rows


async def set_synchronous_commit_off(session: AsyncSession) -> None:
    """For bookkeeping whose loss costs at most a resend (progress of replies): PostgreSQL may
    acknowledge the commit before the WAL reaches disk."""
    if _is_postgres(session):
        await session.execute(text("SET LOCAL synchronous_commit TO OFF"))
