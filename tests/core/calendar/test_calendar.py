"""The calendar terms are counted on: calendar or working days, holidays, worked weekends,
the town's zone. Pure functions on a fake clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from backend.core.calendar.rules import Calendar, add_days, end_of_local_day, local_date, term_end

CAL = Calendar()
WORK = Calendar(working_days=True)


@pytest.mark.parametrize(
    ("start", "n", "cal", "expected"),
    [
        (date(2026, 3, 2), 0, CAL, date(2026, 3, 2)),
        (date(2026, 3, 2), 30, CAL, date(2026, 4, 1)),
        (date(2026, 2, 27), 1, CAL, date(2026, 2, 28)),
        (date(2026, 3, 6), 1, WORK, date(2026, 3, 9)),  # Friday -> Monday
        (date(2026, 3, 7), 1, WORK, date(2026, 3, 9)),  # from a Saturday
        (date(2026, 3, 2), 5, WORK, date(2026, 3, 9)),
        (date(2026, 3, 6), 1, replace(WORK, holidays=frozenset({date(2026, 3, 9)})), date(2026, 3, 10)),
        # holidays only matter when counting working days
        (date(2026, 3, 6), 3, replace(CAL, holidays=frozenset({date(2026, 3, 9)})), date(2026, 3, 9)),
        (date(2026, 3, 13), 1, replace(WORK, working_weekends=frozenset({date(2026, 3, 14)})), date(2026, 3, 14)),
    ],
)
def test_add_days(start: date, n: int, cal: Calendar, expected: date) -> None:
    assert add_days(start, n, cal) == expected


def test_add_days_refuses_negative() -> None:
    with pytest.raises(ValueError):
        add_days(date(2026, 3, 2), -1, CAL)



def test_local_date_and_end_of_day_follow_the_zone() -> None:
    moment = datetime(2026, 12, 31, 21, 30, tzinfo=UTC)  # 00:30 on 1 January in Moscow
    assert local_date(moment, CAL) == date(2027, 1, 1)
    assert local_date(moment, Calendar(timezone="Europe/Kaliningrad")) == date(2026, 12, 31)
    assert end_of_local_day(date(2027, 1, 1), CAL) == datetime(2027, 1, 1, 20, 59, 59, 999999, tzinfo=UTC)


def test_term_end_counts_from_the_next_day_and_includes_the_last() -> None:
    # Civil Code arts. 191-192: 1 day from Friday 6 March ends at the end of Saturday (calendar)
    # or of Monday (working days).
    friday = datetime(2026, 3, 6, 9, 0, tzinfo=UTC)
    assert term_end(friday, 1, CAL) == end_of_local_day(date(2026, 3, 7), CAL)
    assert term_end(friday, 1, WORK) == end_of_local_day(date(2026, 3, 9), WORK)


def test_naive_moments_are_refused() -> None:
    with pytest.raises(ValueError):
        local_date(datetime(2026, 3, 2, 10, 0), CAL)
