"""A cache of people by Telegram id, so a steady chat costs no query per update.

Every update starts by knowing who sent it. Instead of a SELECT each time, the row is kept
in the key-value engine (in-process, or Redis shared by the replicas) and attached to the
update's session as if it had just been loaded; any change to a person is written back
after commit by an ORM listener, whichever code path made it (bot, API, jobs).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, make_transient_to_detached

from backend.core.users.models import User
from backend.db import UTCDateTime, after_commit
from backend.kv import KV

_COLUMNS = [c.key for c in User.__table__.columns]
_DATETIMES = {c.key for c in User.__table__.columns if isinstance(c.type, UTCDateTime)}


class UserCache:
    def __init__(self, kv: KV, *, ttl: int) -> None:
        self.kv = kv
        self.ttl = ttl  # bounds staleness should two replicas race on one person

    @staticmethod
    def _key(telegram_id: int) -> str:
        return f"user:{telegram_id}"

    async def get(self, telegram_id: int) -> dict[str, Any] | None:
        raw = await self.kv.get(self._key(telegram_id))
        return json.loads(raw) if raw else None

    async def put(self, row: dict[str, Any]) -> None:
        await self.kv.put(self._key(row["telegram_id"]), json.dumps(row), ttl=self.ttl)

    async def forget(self, telegram_id: int) -> None:
        await self.kv.release(self._key(telegram_id))


def row_of(user: User) -> dict[str, Any]:
    """The user's columns as JSON-ready values."""
    out = {}
    for key in _COLUMNS:
        value = getattr(user, key)
        out[key] = value.isoformat() if isinstance(value, datetime) else value
    return out


def attach(session: AsyncSession, row: dict[str, Any]) -> User:
    """The cached person as a persistent object of this session, with no query: changes to
    it flush as an UPDATE like those of a loaded one."""
    values = {k: (datetime.fromisoformat(v) if k in _DATETIMES and v else v) for k, v in row.items()}
    user = User(**values)
    make_transient_to_detached(user)
    session.add(user)
    return user


def remember_after_commit(session: AsyncSession, user: User) -> None:
    """Cache a person that was read from the database, once the update commits."""
    cache: UserCache | None = session.info.get("user_cache")
    if cache is not None and user.telegram_id is not None:
        after_commit(session, lambda: cache.put(row_of(user)))


@event.listens_for(Session, "after_flush")
def _refresh_changed(session: Session, _flush_context: object) -> None:
    """Any flushed change to a person refreshes (or drops) their cache entry after commit."""
    cache: UserCache | None = session.info.get("user_cache")
    if cache is None:
        return
    for obj in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(obj, User):
            continue
        history = inspect(obj).attrs.telegram_id.history
        for old in history.deleted or ():
            if old is not None:
                after_commit(session, lambda old=old: cache.forget(old))
        if obj in session.deleted or obj.telegram_id is None:
            continue
        after_commit(session, lambda obj=obj: cache.put(row_of(obj)))
