"""The calendar terms are counted on: the town's time zone, its production calendar (days
off and worked weekends) and whether a term's "days" are calendar or working days.

Pure functions, no clock: every moment is an aware `datetime`, the caller passes `now`.
Appeals (59-FZ), approval steps, event registration and cohorts all count terms here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True, slots=True)
class Calendar:
    """One town's calendar. Whether the law's "days" are calendar days is the town's legal choice."""

    timezone: str = "Europe/Moscow"
    working_days: bool = False  # count terms in working days instead of calendar days
    # Only used when counting working days: days off besides Sat/Sun, and the weekend days
    # the production calendar makes working (перенос выходных).
    holidays: frozenset[date] = field(default_factory=frozenset)
    working_weekends: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {self.timezone!r}") from exc

    @property
    def tz(self) -> ZoneInfo:
        """The town's time zone."""
        return ZoneInfo(self.timezone)


def require_aware(moment: datetime) -> None:
    """Refuse a naive datetime: a deadline without a zone is a bug waiting for midnight."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetime must be timezone-aware")


def is_working_day(day: date, cal: Calendar) -> bool:
    """Whether `day` is a working day under the town's production calendar."""
    if day in cal.holidays:
        return False
    if day in cal.working_weekends:
        return True
    return day.weekday() < 5


def add_days(start: date, n: int, cal: Calendar) -> date:
    """The local date `n` days after `start`, counting calendar or working days."""
    if n < 0:
        raise ValueError("n must not be negative")
    if not cal.working_days:
        return start + timedelta(days=n)
    day = start
    left = n
    while left:
        day += timedelta(days=1)
        if is_working_day(day, cal):
            left -= 1
    return day


def local_date(moment: datetime, cal: Calendar) -> date:
    """The town's calendar date at an aware moment."""
    require_aware(moment)
    return moment.astimezone(cal.tz).date()


def local_time(moment: datetime, cal: Calendar) -> datetime:
    """An aware moment as the town's wall clock shows it."""
    require_aware(moment)
    return moment.astimezone(cal.tz)


def end_of_local_day(day: date, cal: Calendar) -> datetime:
    """The last instant (23:59:59.999999 local) of a local date, in UTC."""
    return datetime.combine(day, time.max, tzinfo=cal.tz).astimezone(UTC)


def at_local(day: date, hour: int, cal: Calendar) -> datetime:
    """`hour`:00 local time on a local date, in UTC."""
    return datetime.combine(day, time(hour), tzinfo=cal.tz).astimezone(UTC)


def term_end(start: datetime, days: int, cal: Calendar) -> datetime:
    """The last moment of a term of `days` days from the day of `start`.

    A term "of N days from the day of X" starts the next day and ends with the last day of the
    term (the general rule of Civil Code arts. 191 and 192), so the whole Nth local day is in time.
    """
    return end_of_local_day(add_days(local_date(start, cal), days, cal), cal)
