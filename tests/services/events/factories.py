"""Events test data, through the real service."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.municipalities.models import Municipality
from backend.db import utcnow
from backend.services.events import service
from backend.services.events.models import Event
from backend.services.events.rules import Kind
from backend.services.events.schemas import EventIn, Question, SessionIn

TERMS = "Come on time; photos are taken at the venue."


def game_in(*, starts_at: datetime | None = None, **overrides: Any) -> EventIn:
    """A three-day Game: a schedule of three days, a form of two questions, teams of 2 to 3."""
    start = starts_at or (utcnow() + timedelta(days=10)).replace(microsecond=0)
    values: dict[str, Any] = {
        "kind": Kind.GAME, "title": "Glocal City Game", "description": "Three days of teams around residents' ideas.",
        "venue_name": "Youth centre", "venue_address": "Sovetskaya St, 10", "lat": 55.0794, "lon": 38.7783,
        "starts_at": start, "ends_at": start + timedelta(days=2, hours=8), "capacity": 2, "reserved": 1, "terms": TERMS,
        "questions": [
            Question(id="direction", text="Which direction is closer to you?", options=["Tourism", "Urban space"]),
            Question(id="idea", text="Your idea for the town, in a few words?", required=False),
        ],
        "team_min": 2, "team_max": 3,
        "sessions": [SessionIn(title=f"Day {i + 1}", starts_at=start + timedelta(days=i), ends_at=start + timedelta(days=i, hours=8)) for i in range(3)],
    }
    values.update(overrides)
    return EventIn(**values)


async def make_event(session: AsyncSession, town: Municipality, **overrides: Any) -> Event:
    return await service.create_event(session, town=town, data=game_in(**overrides), actor_id=None)
