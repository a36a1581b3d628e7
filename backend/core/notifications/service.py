"""Queueing messages in the outbox and delivering them."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.files.models import StoredFile
from backend.core.notifications.models import OutboxMessage
from backend.core.notifications.port import Attachment, Notifier, Unreachable
from backend.core.users.models import User
from backend.db import unit_of_work, utcnow
from backend.i18n import render

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


async def enqueue(
    session: AsyncSession,
    *,
    user_id: int,
    message: str,
    params: dict[str, Any] | None = None,
    file_id: int | None = None,
    action: dict[str, Any] | None = None,
) -> OutboxMessage:
    """Queue a message to a person; it leaves only if the surrounding transaction commits."""
    msg = OutboxMessage(user_id=user_id, message=message, params=params or {}, file_id=file_id, action=action)
    session.add(msg)
    await session.flush()
    return msg


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 5 * 2**attempts))


async def deliver_pending(
    sessionmaker: async_sessionmaker[AsyncSession],
    notifier: Notifier,
    *,
    files_root: Path,
    default_locale: str,
    now: datetime | None = None,
    limit: int = 100,
) -> int:
    """Send what is due; returns how many were delivered. Safe with several replicas: rows
    are claimed with FOR UPDATE SKIP LOCKED on PostgreSQL (SQLite has one writer)."""
    now = now or utcnow()
    delivered = 0
    async with unit_of_work(sessionmaker) as session:
        rows = list(
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None), OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        for msg in rows:
            user = await session.get(User, msg.user_id)
            if user is None or user.telegram_id is None or user.bot_blocked:
                msg.failed_at, msg.last_error = now, "unreachable"
                continue
            locale = user.locale or default_locale
            text = render(msg.message, msg.params, locale)
            attachment = None
            if msg.file_id is not None:
                stored = await session.get(StoredFile, msg.file_id)
                if stored is not None:
                    attachment = Attachment(stored.filename, stored.mime, (files_root / stored.storage_key).read_bytes())
            try:
                await notifier.notify(telegram_id=user.telegram_id, locale=locale, text=text, attachment=attachment, action=msg.action)
            except Unreachable as exc:
                msg.failed_at, msg.last_error = now, str(exc)[:500]
                user.bot_blocked = True
            except Exception as exc:  # noqa: BLE001 - retried with backoff, then given up and logged
                msg.attempts += 1
                msg.last_error = f"{type(exc).__name__}: {exc}"[:500]
                if msg.attempts >= MAX_ATTEMPTS:
                    msg.failed_at = now
                    log.error("giving up on outbox message %s: %s", msg.id, msg.last_error)
                else:
                    msg.next_attempt_at = now + _backoff(msg.attempts)
            else:
                msg.sent_at = now
                delivered += 1
    return delivered
