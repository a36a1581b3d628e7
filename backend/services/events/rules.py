"""Pure rules of events: statuses, ticket codes, who holds a place, when reminders are due."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from backend.i18n import N_

# No look-alikes: without B, I, O, S, Z and the digits 0, 1, 2, 5, 6, 8 they (or G) resemble;
# codes are upper case, so L never meets l. What is left is read aloud and typed without doubt.
ALPHABET = "ACDEFGHJKLMNPQRTUVWXY3479"
CODE_LENGTH = 6
TEAM_CODE_LENGTH = 6


class Kind(StrEnum):
    GAME = "game"  # the Glocal City Game: three days, teams around ideas
    ACCELERATOR = "accelerator"
    INVESTMENT = "investment"
    PUBLIC = "public"


KIND_TITLES = {
    Kind.GAME: N_("Glocal City Game"),
    Kind.ACCELERATOR: N_("Accelerator session"),
    Kind.INVESTMENT: N_("Investment session"),
    Kind.PUBLIC: N_("Public event"),
}


class Status(StrEnum):
    REGISTERED = "registered"
    WAITLISTED = "waitlisted"
    OFFERED = "offered"  # a freed place held for them until the offer's deadline
    CANCELLED = "cancelled"
    CHECKED_IN = "checked_in"


STATUS_TITLES = {
    Status.REGISTERED: N_("Registered"),
    Status.WAITLISTED: N_("On the waitlist"),
    Status.OFFERED: N_("Place offered"),
    Status.CANCELLED: N_("Cancelled"),
    Status.CHECKED_IN: N_("Checked in"),
}

# Those who hold one of the event's places (the `taken` counter counts exactly these).
HOLDERS = frozenset({Status.REGISTERED, Status.OFFERED, Status.CHECKED_IN})
# Those whose registration is still alive (a new registration returns theirs).
ACTIVE = HOLDERS | {Status.WAITLISTED}


def new_code(length: int = CODE_LENGTH) -> str:
    """A random ticket code from the unambiguous alphabet."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def normalize_code(text: str) -> str:
    """What a person typed or a scanner read, as a code: upper case, without spaces and dashes;
    a scanned check-in link gives its last part."""
    text = text.strip().rsplit("/", 1)[-1].rsplit("=", 1)[-1].rsplit("_", 1)[-1]
    return "".join(ch for ch in text.upper() if ch not in " -\t")


def looks_like_code(code: str) -> bool:
    return 6 <= len(code) <= 8 and all(ch in ALPHABET for ch in code)


def places_for_registration(capacity: int | None, reserved: int) -> int | None:
    """How many places registration may give out: the capacity less those held back."""
    return None if capacity is None else max(0, capacity - reserved)


class Reminder(StrEnum):
    DAY = "day"
    HOUR = "hour"


def due_reminder(starts_at: datetime, now: datetime, *, day_sent: bool, hour_sent: bool) -> Reminder | None:
    """Which reminder is due now: the hour one within the last hour, the day one within the
    last day (a day reminder missed until the last hour is not sent: the hour one is)."""
    if now >= starts_at:
        return None
    left = starts_at - now
    if left <= timedelta(hours=1):
        return None if hour_sent else Reminder.HOUR
    if left <= timedelta(days=1):
        return None if day_sent else Reminder.DAY
    return None
