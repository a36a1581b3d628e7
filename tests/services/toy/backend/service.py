"""The toy's writes and reads: plain async functions, session first, flush and never commit."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.municipalities.models import Municipality
from backend.core.notifications import service as outbox
from backend.errors import Conflict
from backend.i18n import N_
from tests.services.toy.backend.models import ToyNote
from tests.services.toy.backend.notices import NoteKept
from tests.services.toy.backend.settings import ToySettings

SLUG = "toy"


async def add_note(session: AsyncSession, *, town: Municipality, settings: ToySettings, user_id: int, text: str) -> ToyNote:
    """Keep a note for a person in a town (within the town's limit), and tell them."""
    count = await session.scalar(select(func.count(ToyNote.id)).where(ToyNote.municipality_id == town.id, ToyNote.user_id == user_id))
    if count >= settings.max_notes:
        raise Conflict(N_("You have as many notes as this town allows."))
    note = ToyNote(municipality_id=town.id, user_id=user_id, text=text)
    session.add(note)
    await session.flush()
    await outbox.enqueue(session, user_id=user_id, notice=NoteKept(note_id=note.id, note=text), municipality_id=town.id)
    return note


async def notes_of(session: AsyncSession, *, municipality_id: int, user_id: int) -> list[ToyNote]:
    """A person's notes in a town, oldest first."""
    rows = await session.scalars(
        select(ToyNote).where(ToyNote.municipality_id == municipality_id, ToyNote.user_id == user_id).order_by(ToyNote.id)
    )
    return list(rows)


async def forget_old(session: AsyncSession, *, now: datetime, keep_days: dict[int, int]) -> int:
    """Delete notes older than their town keeps them; returns how many went."""
    gone = 0
    for municipality_id, days in keep_days.items():
        result = await session.execute(
            delete(ToyNote).where(ToyNote.municipality_id == municipality_id, ToyNote.created_at < now - timedelta(days=days))
        )
        gone += result.rowcount or 0
    return gone


async def export_personal_data(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    """The person's notes, for /mydata (152-FZ art. 14)."""
    rows = await session.scalars(select(ToyNote).where(ToyNote.user_id == user_id).order_by(ToyNote.id))
    return [{"municipality_id": n.municipality_id, "text": n.text, "created_at": n.created_at.isoformat()} for n in rows]


async def erase_personal_data(session: AsyncSession, user_id: int) -> None:
    """Notes are the person's own: nothing the law keeps, so all of them go."""
    await session.execute(delete(ToyNote).where(ToyNote.user_id == user_id))
