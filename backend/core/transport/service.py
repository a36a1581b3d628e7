"""Exactly-once handling of a messenger's updates, and the durable way replies leave.

An update's handling is one transaction. Its first statement is `begin`: on PostgreSQL it takes
the chat's advisory lock for the transaction (so a chat's updates are handled one at a time,
whichever replica got them, and a dead replica's lock is gone the moment its connection is);
on both engines it learns whether this update was handled already, whether an earlier update
of the chat is waiting, and the chat's dialog state (one round trip). Its last statement is
`finish`: the update is handled, with the replies it produced, so "handled", the effects and
the replies commit or vanish together: a redelivered update whose first handling did not
commit is handled again, one that committed has no second effect.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, bindparam, delete, select, text, tuple_, update
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.selectable import TextualSelect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.dialogs.service import Prefetched
from backend.core.transport.models import InboundUpdate
from backend.db import UTCDateTime, utcnow

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
    dialog: Prefetched | None = None  # the chat's dialog row, read in the same round trip (dialog_key given)


# The two statements every update runs are written out once, as text with typed parameters:
# building them as expressions per update cost more than the rest of the update's handling.
_HANDLED = "EXISTS (SELECT 1 FROM inbound_update WHERE account = :account AND update_id = :update_id AND handled_at IS NOT NULL)"
_EARLIER = ("EXISTS (SELECT 1 FROM inbound_update WHERE account = :account AND chat = :chat AND handled_at IS NULL"
            " AND update_id < :update_id)")
_DIALOG = ", ".join(f"(SELECT {c} FROM dialog_state WHERE key = :dialog_key) AS dialog_{c}" for c in ("updated_at", "state", "data"))
_DIALOG_TYPES = {"dialog_updated_at": UTCDateTime(), "dialog_data": JSON()}


def _gate_sql(*, lock: bool, dialog: bool) -> TextClause | TextualSelect:
    columns = ["pg_try_advisory_xact_lock(:lock_key) AS locked"] if lock else []
    columns += [f"{_HANDLED} AS handled", f"{_EARLIER} AS earlier"]
    if dialog:
        columns.append(_DIALOG)
    stmt = text("SELECT " + ", ".join(columns))
    return stmt.columns(**_DIALOG_TYPES) if dialog else stmt


_GATES = {(lock, dialog): _gate_sql(lock=lock, dialog=dialog) for lock in (False, True) for dialog in (False, True)}


async def begin(
    session: AsyncSession, *, account: int, update_id: int, chat: int | None, dialog_key: str | None = None
) -> Gate:
    """The update transaction's first statement (one round trip): take the chat, and learn
    whether the update is done, whether an earlier one of its chat waits, and (`dialog_key`)
    where the person is in a dialog."""
    shared = _is_postgres(session) and chat is not None
    params: dict[str, Any] = {"account": account, "update_id": update_id, "chat": chat}
    if shared:
        params["lock_key"] = chat_lock_key(account, chat)
    if dialog_key is not None:
        params["dialog_key"] = dialog_key
    row = (await session.execute(_GATES[(shared, dialog_key is not None)], params)).mappings().one()
    dialog = None
    if dialog_key is not None:
        updated_at = row["dialog_updated_at"]
        dialog = Prefetched(
            key=dialog_key, found=updated_at is not None, state=row["dialog_state"], data=_json(row["dialog_data"]),
            updated_at=updated_at,
        )
    locked = bool(row["locked"]) if shared else True
    return Gate(locked=locked, handled=bool(row["handled"]), earlier_waiting=bool(row["earlier"]), dialog=dialog)


def _json(value: Any) -> Any:
    # A scalar subquery bypasses the column's type on some drivers: JSON may come back as text.
    return json.loads(value) if isinstance(value, str) else value


def _upsert(session: AsyncSession):  # noqa: ANN202
    return pg_insert if _is_postgres(session) else sqlite_insert


_FINISH = text("""
    INSERT INTO inbound_update (account, update_id, chat, received_at, handled_at, outcome, replies, replies_done,
                                replies_due_at, replies_attempts, replies_uncertain)
    VALUES (:account, :update_id, :chat, :now, :now, :outcome, :replies, 0, :due, 0, FALSE)
    ON CONFLICT (account, update_id) DO UPDATE
    SET handled_at = :now, outcome = :outcome, payload = NULL, replies = :replies, replies_due_at = :due
    WHERE inbound_update.handled_at IS NULL
""").bindparams(
    bindparam("now", type_=UTCDateTime()), bindparam("due", type_=UTCDateTime()), bindparam("replies", type_=JSON(none_as_null=True)),
)


async def finish(
    session: AsyncSession, *, account: int, update_id: int, chat: int | None, outcome: str = "handled",
    replies: list[dict[str, Any]] | None = None, lease: timedelta = LEASE, now: datetime | None = None,
) -> None:
    """Record, in the update's transaction, that it was handled, with the replies it produced
    (sent after commit by the caller); a waiting row becomes handled."""
    now = now or utcnow()
    await session.execute(_FINISH, {
        "account": account, "update_id": update_id, "chat": chat, "now": now, "outcome": outcome,
        "replies": replies or None, "due": now + lease if replies else None,
    })


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
    """Forget handled updates older than any redelivery, once their replies are settled."""
    result = await session.execute(delete(InboundUpdate).where(
        InboundUpdate.handled_at.is_not(None), InboundUpdate.handled_at < now - KEEP_HANDLED, InboundUpdate.replies_due_at.is_(None),
    ))
    return int(result.rowcount or 0)


# --- replies ------------------------------------------------------------------------------------

Key = tuple[int, int]  # (account, update_id)


async def mark_sent(session: AsyncSession, *, keys: list[Key], now: datetime | None = None) -> None:
    """Every reply of these updates went out."""
    if keys:
        await session.execute(
            update(InboundUpdate)
            .where(tuple_(InboundUpdate.account, InboundUpdate.update_id).in_(keys))
            .values(replies_sent_at=now or utcnow(), replies_due_at=None)
        )


async def record_progress(
    session: AsyncSession, *, key: Key, done: int, error: str | None = None, retry_at: datetime | None = None, failed: bool = False,
) -> None:
    """What a sender managed short of all: `done` calls confirmed, and a retry time or giving up."""
    values: dict[str, Any] = {"replies_done": done}
    if error is not None:
        values["replies_error"] = error[:500]
    if failed:
        values["replies_due_at"] = None
    elif retry_at is not None:
        values["replies_due_at"] = retry_at
    await session.execute(
        update(InboundUpdate).where(InboundUpdate.account == key[0], InboundUpdate.update_id == key[1]).values(**values)
    )


async def claim_due(session: AsyncSession, *, now: datetime, limit: int = 50, lease: timedelta = LEASE) -> list[InboundUpdate]:
    """Replies whose lease ran out unsent: their sender died or failed. Taken with a new lease
    (SKIP LOCKED on PostgreSQL, so replicas take different ones) and marked uncertain when the
    first sender never reported back, since its call in flight may or may not have reached
    the messenger."""
    rows = list(await session.scalars(
        select(InboundUpdate)
        .where(InboundUpdate.replies_due_at.is_not(None), InboundUpdate.replies_due_at <= now)
        .order_by(InboundUpdate.replies_due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ))
    for row in rows:
        if row.replies_attempts == 0 and row.replies_error is None:
            row.replies_uncertain = True
        row.replies_attempts += 1
        row.replies_due_at = now + lease
    return rows


async def set_synchronous_commit_off(session: AsyncSession) -> None:
    """For bookkeeping whose loss costs at most a resend (replies sent): PostgreSQL may
    acknowledge the commit before the WAL reaches disk."""
    if _is_postgres(session):
        await session.execute(text("SET LOCAL synchronous_commit TO OFF"))
