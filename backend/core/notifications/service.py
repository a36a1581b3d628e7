"""Queueing notices in the outbox and delivering them, paced."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.files.models import StoredFile
from backend.core.notifications.models import OutboxMessage
from backend.core.notifications.notices import Notice, NoticeTypes
from backend.core.notifications.pacing import Pacer
from backend.core.notifications.port import Attachment, Channel, Recipient, RetryLater, Unreachable
from backend.core.users.models import User
from backend.db import unit_of_work, utcnow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


async def enqueue(
    session: AsyncSession, *, user_id: int, notice: Notice, municipality_id: int | None = None, file_id: int | None = None
) -> OutboxMessage:
    """Queue a notice to a person; it leaves only if the surrounding transaction commits."""
    msg = OutboxMessage(
        user_id=user_id, municipality_id=municipality_id, kind=notice.kind, payload=notice.params(),
        priority=int(notice.priority), file_id=file_id,
    )
    session.add(msg)
    await session.flush()
    return msg


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 5 * 2**attempts))


def recipient_of(user: User, *, default_locale: str, municipality_id: int | None) -> Recipient:
    """A person as channels see them."""
    addresses = {"telegram": str(user.telegram_id)} if user.telegram_id is not None else {}
    return Recipient(user_id=user.id, locale=user.locale or default_locale, addresses=addresses, municipality_id=municipality_id)


LEASE = timedelta(seconds=60)  # a claimed message not reported back by then is tried again


@dataclass
class _Claimed:
    id: int
    recipient: Recipient
    notice: Notice
    file: tuple[str, str, str] | None  # filename, mime, storage key


async def deliver_pending(
    sessionmaker: async_sessionmaker[AsyncSession],
    channel: Channel,
    *,
    notices: NoticeTypes,
    pacer: Pacer,
    files_root: Path,
    default_locale: str,
    now: datetime | None = None,
    limit: int = 200,
) -> int:
    """Send what is due, most important first, within the channel's pace; returns how many
    went out.

    Due rows are claimed in one short transaction (FOR UPDATE SKIP LOCKED on PostgreSQL, so
    replicas take different rows; the claim is a lease, so a dead sender's rows come back).
    Each message is then sent with no transaction open and its outcome recorded at once in
    its own small one: a crash leaves at most the one message in flight uncertain. A message
    the pace does not allow yet is put back with the time it may go.
    """
    now = now or utcnow()
    claimed: list[_Claimed] = []
    async with unit_of_work(sessionmaker) as session:
        rows = list(
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None), OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.priority, OutboxMessage.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        for msg in rows:
            user = await session.get(User, msg.user_id)
            # Whether the person has an address on the channel is the channel's to say (it
            # raises Unreachable); one it found unreachable before is not tried again.
            if user is None or user.bot_blocked:
                msg.failed_at, msg.last_error = now, "unreachable"
                continue
            try:
                notice = notices.load(msg.kind, msg.payload)
            except Exception as exc:  # noqa: BLE001 - a kind no longer installed, or changed: never retried
                msg.failed_at, msg.last_error = now, f"undeliverable notice: {type(exc).__name__}: {exc}"[:500]
                log.error("outbox message %s: %s", msg.id, msg.last_error)
                continue
            file = None
            if msg.file_id is not None:
                stored = await session.get(StoredFile, msg.file_id)
                if stored is not None:
                    file = (stored.filename, stored.mime, stored.storage_key)
            msg.next_attempt_at = now + LEASE
            claimed.append(_Claimed(msg.id, recipient_of(user, default_locale=default_locale, municipality_id=msg.municipality_id), notice, file))
    delivered = 0
    for item in claimed:
        outcome = await _send(channel, pacer, item, files_root)
        async with unit_of_work(sessionmaker) as session:
            msg = await session.get(OutboxMessage, item.id)
            if msg is None or msg.sent_at is not None:
                continue
            at = utcnow() if now is None else now
            if outcome is None:
                msg.sent_at = at
                delivered += 1
            elif isinstance(outcome, Unreachable):
                msg.failed_at, msg.last_error = at, str(outcome)[:500]
                user = await session.get(User, msg.user_id)
                if user is not None:
                    user.bot_blocked = True
            elif isinstance(outcome, (RetryLater, _Wait)):
                msg.next_attempt_at = at + timedelta(seconds=outcome.seconds)
            else:
                msg.attempts += 1
                msg.last_error = f"{type(outcome).__name__}: {outcome}"[:500]
                if msg.attempts >= MAX_ATTEMPTS:
                    msg.failed_at = at
                    log.error("giving up on outbox message %s: %s", msg.id, msg.last_error)
                else:
                    msg.next_attempt_at = at + _backoff(msg.attempts)
    return delivered


@dataclass
class _Wait:
    seconds: float


async def _send(channel: Channel, pacer: Pacer, item: _Claimed, files_root: Path) -> BaseException | _Wait | None:
    """Send one claimed message; None when it went out, else why not."""
    wait = await pacer.reserve(channel.rates(item.recipient))
    if wait > 0:
        return _Wait(wait)
    attachment = None
    if item.file is not None:
        filename, mime, key = item.file
        attachment = Attachment(filename, mime, (files_root / key).read_bytes())
    try:
        await channel.deliver(recipient=item.recipient, notice=item.notice, attachment=attachment)
    except RetryLater as exc:
        await pacer.pause(exc.account, exc.seconds)
        return exc
    except Exception as exc:  # noqa: BLE001 - recorded by the caller: retried with backoff, or given up
        return exc
    return None
