"""A town's calendar, from its settings and time zone."""

from __future__ import annotations

from backend.core.calendar.rules import Calendar
from backend.core.municipalities.models import Municipality
from backend.core.municipalities.settings import town_settings


def for_town(town: Municipality) -> Calendar:
    """The calendar the town's terms are counted on."""
    s = town_settings(town)
    return Calendar(
        timezone=town.timezone,
        working_days=not s.calendar_days,
        holidays=frozenset(s.holidays),
        working_weekends=frozenset(s.working_weekends),
    )
