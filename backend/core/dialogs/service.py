"""Reading and writing dialog states through the caller's session (one transaction per update)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from backend.core.dialogs.models import DialogState


@dataclass(frozen=True)
class Prefetched:
    """A dialog row read ahead (in the update's first statement), or the news that there is none."""

    key: str
    found: bool
    state: str | None = None
    data: dict[str, Any] | None = None
    updated_at: datetime | None = None


def prime(session: AsyncSession, row: Prefetched) -> None:
    """Put a row read ahead into the session as if it had been loaded, so reading it costs no
    query and changing it flushes an UPDATE; a known absence saves the query too."""
    if row.found:
        obj = DialogState(key=row.key, state=row.state, data=row.data or {}, updated_at=row.updated_at)
        make_transient_to_detached(obj)
        session.add(obj)
    else:
        session.info.setdefault(_ABSENT, set()).add(row.key)


_ABSENT = "dialogs_known_absent"


async def load(session: AsyncSession, *, key: str) -> DialogState | None:
    """The dialog under `key`, if any (loaded once per session: state and data share the row)."""
    if key in session.info.get(_ABSENT, ()):
        return None
    return await session.get(DialogState, key)


async def set_state(session: AsyncSession, *, key: str, state: str | None) -> None:
    """Move the dialog to `state` (None: out of any dialog)."""
    row = await _row(session, key)
    if row.state != state:
        row.state = state


async def set_data(session: AsyncSession, *, key: str, data: dict[str, Any]) -> None:
    """Replace what the dialog has collected."""
    row = await _row(session, key)
    if row.data != data:
        row.data = dict(data)


async def _row(session: AsyncSession, key: str) -> DialogState:
    # An ended dialog keeps its (empty) row until the idle purge: no delete-then-insert races
    # within one update, and the next update's read finds the row at once.
    row = await load(session, key=key)
    if row is None:
        row = DialogState(key=key, state=None, data={})
        session.add(row)
        session.info.get(_ABSENT, set()).discard(key)
    return row


async def purge_idle(session: AsyncSession, *, now: datetime, idle: timedelta) -> int:
    """Forget dialogs nobody touched for `idle` (an abandoned draft, or one long ended); returns how many."""
    result = await session.execute(delete(DialogState).where(DialogState.updated_at < now - idle))
    return int(result.rowcount or 0)
