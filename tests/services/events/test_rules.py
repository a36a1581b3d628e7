"""The pure rules of events: ticket codes, the reminders' timing, the calendar file's format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backend.services.events import ics, rules
from backend.services.events.rules import Reminder


def test_codes_use_only_the_unambiguous_alphabet():
    # Upper case only, so L does not meet l; B, I, O, S, Z and 0, 1, 2, 5, 6, 8 are left out.
    assert not set(rules.ALPHABET) & set("BIOSZ012568")
    codes = {rules.new_code() for _ in range(500)}
    assert all(len(c) == 6 and set(c) <= set(rules.ALPHABET) for c in codes)
    assert len(codes) > 490  # 25^6 of them: repeats are rare, and unique per event in the database


def test_what_a_scanner_or_a_person_gives_becomes_a_code():
    assert rules.normalize_code(" ac-de fg ") == "ACDEFG"
    assert rules.normalize_code("https://t.me/glocal_bot?start=ck_ACDEFG") == "ACDEFG"
    assert rules.looks_like_code("ACDEFG") and rules.looks_like_code("ACDEFGHJ")
    assert not rules.looks_like_code("ACDEF") and not rules.looks_like_code("ACDEFGHJK") and not rules.looks_like_code("ACDEF0")


def test_reminders_a_day_and_an_hour_before_each_once():
    start = datetime(2027, 6, 5, 7, 0, tzinfo=UTC)
    due = rules.due_reminder
    assert due(start, start - timedelta(days=2), day_sent=False, hour_sent=False) is None
    assert due(start, start - timedelta(hours=23), day_sent=False, hour_sent=False) is Reminder.DAY
    assert due(start, start - timedelta(hours=23), day_sent=True, hour_sent=False) is None
    assert due(start, start - timedelta(minutes=59), day_sent=True, hour_sent=False) is Reminder.HOUR
    # Registered in the last hour: only the hour reminder, never a "tomorrow" one.
    assert due(start, start - timedelta(minutes=30), day_sent=False, hour_sent=False) is Reminder.HOUR
    assert due(start, start - timedelta(minutes=30), day_sent=False, hour_sent=True) is None
    assert due(start, start, day_sent=False, hour_sent=False) is None


def test_ics_escapes_folds_and_ends_lines_with_crlf():
    at = datetime(2027, 6, 5, 7, 0, tzinfo=UTC)
    data = ics.calendar(uid="event-1@glocal", title="Игра; день 1, начало\\", starts_at=at, ends_at=at + timedelta(hours=8), now=at,
                        description="Строка\nвторая " + "ж" * 80, location="Зал", lat=55.1, lon=38.7, url="https://t.me/b?start=ev_1")
    text = data.decode()
    assert "\r\nSUMMARY:Игра\\; день 1\\, начало\\\\\r\n" in text
    lines = text.split("\r\n")
    assert all(len(line.encode()) <= 75 for line in lines)
    # Unfolding (a CRLF and one space removed) gives back the whole escaped description.
    unfolded = text.replace("\r\n ", "")
    assert "DESCRIPTION:Строка\\nвторая " + "ж" * 80 + "\r\n" in unfolded
    assert "\r\nDTSTART:20270605T070000Z\r\nDTEND:20270605T150000Z\r\n" in text
    assert [line for line in lines if line.startswith(("BEGIN:", "END:"))] == ["BEGIN:VCALENDAR", "BEGIN:VEVENT", "END:VEVENT", "END:VCALENDAR"]
