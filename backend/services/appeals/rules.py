"""The rules of citizens' appeals (Federal Law 59-FZ of 02.05.2006) and of informal problem
reports, as pure functions: no database, no clock, no I/O.

Every moment is an aware `datetime`; deadlines are counted on the town's local calendar and
returned in UTC. The caller passes `now`, so tests run on a fake clock.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from difflib import SequenceMatcher
from enum import StrEnum
from types import MappingProxyType
from typing import Literal, NamedTuple
from zoneinfo import ZoneInfo

from backend.core.calendar.rules import Calendar, local_date, require_aware, term_end
from backend.errors import Conflict, Invalid
from backend.i18n import N_

# --- kinds and statuses --------------------------------------------------------------------


class Kind(StrEnum):
    """What the citizen sent: a 59-FZ appeal (art. 4) or an informal problem report."""

    PROPOSAL = "proposal"  # предложение, art. 4 p. 2
    STATEMENT = "statement"  # заявление, art. 4 p. 3
    COMPLAINT = "complaint"  # жалоба, art. 4 p. 4
    # сообщение: not an appeal under 59-FZ, so no statutory deadlines or art. 11 rules apply.
    REPORT = "report"

    @property
    def is_formal(self) -> bool:
        """True for 59-FZ appeals, False for informal problem reports."""
        return self is not Kind.REPORT


class Status(StrEnum):
    """Where an appeal or report is in its handling."""

    REGISTERED = "registered"
    IN_PROGRESS = "in_progress"
    INFO_REQUESTED = "info_requested"
    REDIRECTED = "redirected"
    ANSWERED = "answered"
    NO_ANSWER_REQUIRED = "no_answer_required"
    CLOSED = "closed"


KIND_TITLES = {
    Kind.PROPOSAL: N_("Proposal"),
    Kind.STATEMENT: N_("Statement"),
    Kind.COMPLAINT: N_("Complaint"),
    Kind.REPORT: N_("Problem report"),
}
STATUS_TITLES = {
    Status.REGISTERED: N_("registered"),
    Status.IN_PROGRESS: N_("in progress"),
    Status.INFO_REQUESTED: N_("more information requested"),
    Status.REDIRECTED: N_("redirected to another body"),
    Status.ANSWERED: N_("answered"),
    Status.NO_ANSWER_REQUIRED: N_("left without an answer"),
    Status.CLOSED: N_("closed"),
}


# Moves the body may make. Asking the citizen for more (art. 10 p. 1 item 2) does not stop the
# 30-day clock of art. 12 p. 1, so INFO_REQUESTED stays open. Redirecting (art. 8 p. 3) and
# leaving unanswered (art. 11) end the body's handling; an answered appeal is only closed
# afterwards (once the citizen has rated the answer, or the rating window has passed).
# Informal reports share this machine.
ALLOWED_TRANSITIONS: Mapping[Status, frozenset[Status]] = MappingProxyType(
    {
        Status.REGISTERED: frozenset(
            {
                Status.IN_PROGRESS,
                Status.INFO_REQUESTED,
                Status.REDIRECTED,
                Status.ANSWERED,
                Status.NO_ANSWER_REQUIRED,
            }
        ),
        Status.IN_PROGRESS: frozenset(
            {Status.INFO_REQUESTED, Status.REDIRECTED, Status.ANSWERED, Status.NO_ANSWER_REQUIRED}
        ),
        Status.INFO_REQUESTED: frozenset(
            {Status.IN_PROGRESS, Status.REDIRECTED, Status.ANSWERED, Status.NO_ANSWER_REQUIRED}
        ),
        Status.REDIRECTED: frozenset(),
        Status.ANSWERED: frozenset({Status.CLOSED}),
        Status.NO_ANSWER_REQUIRED: frozenset(),
        Status.CLOSED: frozenset(),
    }
)

# Statuses in which the answer deadline runs and reminders are due.
OPEN_STATUSES: frozenset[Status] = frozenset(
    {Status.REGISTERED, Status.IN_PROGRESS, Status.INFO_REQUESTED}
)


def can_transition(current: Status, target: Status) -> bool:
    """Whether an appeal in `current` may move to `target` (staying put is not a move)."""
    return target in ALLOWED_TRANSITIONS[Status(current)]


def is_open(status: Status) -> bool:
    """Whether the body still owes a decision, so the deadline runs."""
    return Status(status) in OPEN_STATUSES


# --- deadlines -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeadlinePolicy:
    """A municipality's reading of 59-FZ terms, counted on its calendar (time zone, working or
    calendar days, holidays: see backend/core/calendar)."""

    answer_days: int = 30  # art. 12 p. 1
    redirect_days: int = 7  # art. 8 p. 3
    registration_days: int = 3  # art. 8 p. 2
    max_extension_days: int = 30  # art. 12 p. 2
    reminder_hour: int = 9  # local hour at which "due in N days" reminders fall
    calendar: Calendar = field(default_factory=Calendar)

    def __post_init__(self) -> None:
        for name in ("answer_days", "redirect_days", "registration_days", "max_extension_days"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if not 0 <= self.reminder_hour <= 23:
            raise ValueError("reminder_hour must be 0..23")

    @property
    def tz(self) -> ZoneInfo:
        """The town's time zone."""
        return self.calendar.tz


def _due(start: datetime, days: int, policy: DeadlinePolicy) -> datetime:
    return term_end(start, days, policy.calendar)


def answer_due(registered_at: datetime, policy: DeadlinePolicy) -> datetime:
    """When the answer is due: 30 days from registration (art. 12 p. 1)."""
    return _due(registered_at, policy.answer_days, policy)


def redirect_due(registered_at: datetime, policy: DeadlinePolicy) -> datetime:
    """Last moment to redirect to the competent body: 7 days from registration (art. 8 p. 3)."""
    return _due(registered_at, policy.redirect_days, policy)


def registration_due(received_at: datetime, policy: DeadlinePolicy) -> datetime:
    """Last moment to register a received appeal: 3 days from receipt (art. 8 p. 2)."""
    return _due(received_at, policy.registration_days, policy)


def can_redirect(registered_at: datetime, now: datetime, policy: DeadlinePolicy) -> bool:
    """Whether the appeal may still be redirected to another body (art. 8 p. 3)."""
    require_aware(now)
    return now <= redirect_due(registered_at, policy)


def extend(
    due: datetime, days: int, policy: DeadlinePolicy, *, already_extended: bool
) -> datetime:
    """The answer deadline after the head's one extension by `days` (art. 12 p. 2)."""
    # Art. 12 p. 2 allows the head to extend "by no more than 30 days" in exceptional cases;
    # we read it as a single extension, so a second one is a conflict, not a bad input.
    if already_extended:
        raise Conflict(N_("The answer deadline has already been extended once."))
    if days < 1:
        raise Invalid(N_("An extension must be at least one day."))
    if days > policy.max_extension_days:
        raise Invalid(
            N_("An extension can be at most {days} days."), days=policy.max_extension_days
        )
    return _due(due, days, policy)


class DeadlineState(StrEnum):
    """How close a deadline is, for colouring the clerk's queue."""

    OK = "ok"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


def deadline_state(
    due: datetime, now: datetime, *, soon: timedelta = timedelta(days=5)
) -> DeadlineState:
    """The queue colour of a deadline: overdue after `due`, due soon within `soon`, else ok."""
    require_aware(due)
    require_aware(now)
    if now > due:
        return DeadlineState.OVERDUE
    if due - now <= soon:
        return DeadlineState.DUE_SOON
    return DeadlineState.OK


# --- reminders -----------------------------------------------------------------------------


class Reminder(StrEnum):
    """Reminder kinds about an answer deadline, from least to most urgent."""

    DUE_IN_5_DAYS = "due_in_5_days"
    DUE_IN_1_DAY = "due_in_1_day"
    OVERDUE = "overdue"


_REMINDER_OFFSETS_DAYS: tuple[tuple[Reminder, int], ...] = (
    (Reminder.DUE_IN_5_DAYS, 5),
    (Reminder.DUE_IN_1_DAY, 1),
)


def reminder_schedule(due: datetime, policy: DeadlinePolicy) -> list[tuple[Reminder, datetime]]:
    """When each reminder falls, in UTC, least urgent first."""
    # "Due in N days" falls at reminder_hour local time on the local day N calendar days before
    # the due day, so nobody is pinged at midnight. "Overdue" falls at the first instant after
    # the due moment: the due moment itself is still in time.
    due_day = local_date(due, policy.calendar)
    schedule = [
        (
            kind,
            datetime.combine(
                due_day - timedelta(days=days), time(policy.reminder_hour), tzinfo=policy.tz
            ).astimezone(UTC),
        )
        for kind, days in _REMINDER_OFFSETS_DAYS
    ]
    schedule.append((Reminder.OVERDUE, due.astimezone(UTC) + timedelta(microseconds=1)))
    return schedule


@dataclass(frozen=True, slots=True)
class ReminderDecision:
    """What a periodic job should do now: send at most one reminder, and mark others skipped."""

    send: Reminder | None
    skip: frozenset[Reminder]

    @property
    def handled(self) -> frozenset[Reminder]:
        """Every kind to add to the stored set of handled reminders after sending."""
        return self.skip | ({self.send} if self.send else frozenset())


def due_reminders(
    due: datetime, now: datetime, handled: Set[str], policy: DeadlinePolicy
) -> ReminderDecision:
    """The reminder to send now (at most one) and the stale ones to mark without sending."""
    # Idempotent and catch-up safe: a job that missed runs (restart, downtime) still sends the
    # reminder whose moment has passed, exactly once, as long as it stores `handled` each time.
    # When several moments have passed unsent, only the most urgent is sent: a "due in 5 days"
    # message when one day is left would mislead. A kind already handled is never sent again.
    # After an extension the caller clears its handled set, since the schedule starts over.
    require_aware(now)
    passed = [kind for kind, at in reminder_schedule(due, policy) if now >= at]
    if not passed:
        return ReminderDecision(send=None, skip=frozenset())
    latest = passed[-1]
    send = latest if latest not in handled else None
    skip = frozenset(kind for kind in passed[:-1] if kind not in handled)
    return ReminderDecision(send=send, skip=skip)


# --- no answer required (art. 11) ----------------------------------------------------------


class NoAnswerReason:
    """Msgids of the grounds on which an appeal is not answered (art. 11)."""

    # art. 11 p. 1: no surname, or no address for the answer.
    MISSING_NAME = N_("The appeal does not give the citizen's name.")
    MISSING_REPLY_ADDRESS = N_("The appeal does not give an address for the answer.")
    # art. 11 p. 3: the body may leave it unanswered on the merits, telling the citizen that
    # abuse of the right to appeal is inadmissible. Marked by a clerk, never guessed.
    OBSCENE = N_("The appeal contains obscene or insulting language or threats.")
    # art. 11 p. 4: not answered and not forwarded; the citizen is told within 7 days.
    UNREADABLE = N_("The text of the appeal cannot be read.")
    # art. 11 p. 4.1: the text does not show what is proposed, stated or complained about.
    NO_ESSENCE = N_("The text does not show what the citizen proposes, asks or complains about.")
    # art. 11 p. 5: answered on the merits more than once, no new arguments; the head decides.
    CORRESPONDENCE_STOPPED = N_(
        "The question has already been answered on the merits more than once and the appeal "
        "brings no new arguments, so correspondence on it is stopped."
    )


@dataclass(frozen=True, slots=True)
class Admissibility:
    """Whether an appeal must be answered, and if not, why and what else must happen."""

    answer_required: bool
    reason: str | None = None  # a NoAnswerReason msgid
    route_to_competent_body: bool = False  # art. 11 p. 1: forward information about a crime
    notify_citizen: bool = False  # art. 11 p. 4: tell the citizen why, within 7 days


# Share of letters and digits among non-space characters below which text counts as garbage;
# low enough that "ЯМА!!!" still reads, high enough that runs of symbols and keyboard mash do not.
_READABLE_SHARE = 0.3


def is_unreadable(text: str) -> bool:
    """Heuristic for art. 11 p. 4: empty, no letters or digits, or mostly symbols."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return True
    alnum = sum(1 for c in chars if c.isalnum())
    return alnum == 0 or alnum / len(chars) < _READABLE_SHARE


def assess_admissibility(
    *,
    full_name: str | None,
    reply_address: str | None,
    text: str,
    mentions_crime: bool = False,
) -> Admissibility:
    """Which automatic art. 11 ground, if any, lets the body not answer this appeal."""
    # An address that is neither an e-mail nor a postal address cannot carry the answer, so it
    # counts as missing (art. 7 p. 3 asks for one of the two). The bot validates on input; this
    # catches imported and paper appeals, and the clerk confirms before closing.
    if not (full_name and full_name.strip()):
        reason = NoAnswerReason.MISSING_NAME
    elif reply_address is None or classify_reply_address(reply_address) is None:
        reason = NoAnswerReason.MISSING_REPLY_ADDRESS
    else:
        reason = None
    if reason is not None:
        # art. 11 p. 1: no answer, but a report of a crime still goes to the competent body.
        return Admissibility(
            answer_required=False, reason=reason, route_to_competent_body=mentions_crime
        )
    if is_unreadable(text):
        return Admissibility(
            answer_required=False, reason=NoAnswerReason.UNREADABLE, notify_citizen=True
        )
    return Admissibility(answer_required=True)


# art. 11 p. 1: an appeal that gives no surname or no postal address for the answer is not
# answered; but if it reports an unlawful act being prepared, committed or done, and who does
# it, it is forwarded to the state body competent to act. That exception, and nothing else.
CRIME_REPORT_GROUNDS: frozenset[str] = frozenset(
    {NoAnswerReason.MISSING_NAME, NoAnswerReason.MISSING_REPLY_ADDRESS}
)


def can_forward_as_crime_report(
    *, kind: Kind, status: Status, no_answer_reason: str | None, forwarded: bool
) -> bool:
    """Whether the appeal may be forwarded as a report of a crime (art. 11 p. 1): a formal
    appeal left without an answer for want of a name or a reply address, not yet forwarded."""
    return (
        Kind(kind).is_formal
        and Status(status) is Status.NO_ANSWER_REQUIRED
        and no_answer_reason in CRIME_REPORT_GROUNDS
        and not forwarded
    )


# --- reply address (art. 7 p. 3) -----------------------------------------------------------

_EMAIL = re.compile(r"[^\W][\w.+%-]*@(?:[^\W_](?:[\w-]*[^\W_])?\.)+(?:[^\W\d_]{2,}|xn--[\w-]+)")
_POSTAL_INDEX = re.compile(r"(?<!\d)\d{6}(?!\d)", re.ASCII)
_POSTAL_MIN_LEN = 10


def classify_reply_address(value: str) -> Literal["email", "postal"] | None:
    """Whether a reply address is an e-mail, a postal address, or neither (None)."""
    # Pragmatic on purpose: anything with "@" must be a plausible e-mail; otherwise a six-digit
    # Russian postal index, or a 10+ character text with letters and a digit (street and house),
    # is taken as postal. Phone numbers (digits only) are neither.
    text = " ".join(value.split())
    if not text:
        return None
    if "@" in text:
        return "email" if len(text) <= 254 and _EMAIL.fullmatch(text) else None
    letters = sum(1 for c in text if c.isalpha())
    if _POSTAL_INDEX.search(text) and letters:
        return "postal"
    if len(text) >= _POSTAL_MIN_LEN and letters >= 3 and any(c.isdigit() for c in text):
        return "postal"
    return None


# --- repeated appeals (art. 11 p. 5) -------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")


def normalize_tokens(text: str) -> tuple[str, ...]:
    """Words of a text, case-folded, with ё as е and punctuation dropped."""
    return tuple(_WORD.findall(text.casefold().replace("ё", "е")))


def text_similarity(a: str, b: str) -> float:
    """Similarity in [0, 1] of two texts' word sequences; 0.0 if either has no words."""
    # difflib's ratio (2 * matching words / total words) over normalized tokens: tolerant of a
    # few words added, removed or changed, sensitive to wholesale rewording. The pair is put in
    # a fixed order because the ratio can differ slightly with argument order.
    ta, tb = sorted((normalize_tokens(a), normalize_tokens(b)))
    if not ta or not tb:
        return 0.0
    return SequenceMatcher(None, ta, tb, autojunk=False).ratio()


@dataclass(frozen=True, slots=True)
class PreviousAppeal:
    """An earlier appeal by the same citizen, as far as repeat detection needs it."""

    id: int
    text: str
    answered_on_merits: bool


@dataclass(frozen=True, slots=True)
class RepeatAssessment:
    """Earlier appeals like this one, and whether the head should weigh art. 11 p. 5."""

    linked_ids: tuple[int, ...]
    flag_for_head: bool


def is_repeated(
    new_text: str, previous: Iterable[PreviousAppeal], *, threshold: float = 0.85
) -> RepeatAssessment:
    """Link similar earlier appeals; flag for the head if two were answered on the merits."""
    # art. 11 p. 5 needs answers on the merits given "repeatedly" (неоднократно), i.e. at least
    # twice, and no new arguments; the head decides, we only raise the question.
    scored = [(text_similarity(new_text, p.text), p) for p in previous]
    similar = sorted(
        ((s, p) for s, p in scored if s >= threshold), key=lambda sp: (-sp[0], sp[1].id)
    )
    answered = sum(1 for _, p in similar if p.answered_on_merits)
    return RepeatAssessment(
        linked_ids=tuple(p.id for _, p in similar), flag_for_head=answered >= 2
    )


# --- problem report duplicates -------------------------------------------------------------

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS 84 points, on a spherical Earth."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True, slots=True)
class ReportSignal:
    """What duplicate detection needs of a problem report; `id` is None for a new one."""

    category_id: int
    text: str
    created_at: datetime
    lat: float | None = None
    lon: float | None = None
    id: int | None = None

    @property
    def located(self) -> bool:
        """Whether the report has a point on the map."""
        return self.lat is not None and self.lon is not None


def duplicate_score(
    a: ReportSignal,
    b: ReportSignal,
    *,
    window: timedelta = timedelta(days=14),
    radius_m: float = 150.0,
    text_threshold: float = 0.7,
    distance_weight: float = 0.6,
) -> float | None:
    """How likely `a` and `b` report the same problem, in [0, 1]; None if not a candidate."""
    # Same category, created within `window` of each other, and then either both located and
    # within `radius_m` (score mixes closeness and text similarity), or, when either lacks a
    # point, texts at least `text_threshold` alike (score is the similarity). Two located reports
    # farther apart are different problems whatever the text says.
    if a.id is not None and a.id == b.id:
        return None
    if a.category_id != b.category_id:
        return None
    require_aware(a.created_at)
    require_aware(b.created_at)
    if abs(a.created_at - b.created_at) > window:
        return None
    similarity = text_similarity(a.text, b.text)
    if a.located and b.located:
        distance = haversine_m(a.lat, a.lon, b.lat, b.lon)  # type: ignore[arg-type]
        if distance > radius_m:
            return None
        closeness = 1.0 - distance / radius_m
        return distance_weight * closeness + (1.0 - distance_weight) * similarity
    return similarity if similarity >= text_threshold else None


def find_duplicates(
    new: ReportSignal,
    candidates: Iterable[ReportSignal],
    *,
    window: timedelta = timedelta(days=14),
    radius_m: float = 150.0,
    text_threshold: float = 0.7,
    distance_weight: float = 0.6,
) -> list[tuple[int, float]]:
    """(id, score) of the candidates that may duplicate `new`, best first, then by id."""
    found: list[tuple[int, float]] = []
    for c in candidates:
        if c.id is None:
            raise ValueError("candidates must have ids")
        score = duplicate_score(
            new,
            c,
            window=window,
            radius_m=radius_m,
            text_threshold=text_threshold,
            distance_weight=distance_weight,
        )
        if score is not None:
            found.append((c.id, score))
    found.sort(key=lambda pair: (-pair[1], pair[0]))
    return found


# --- registration numbers ------------------------------------------------------------------

REG_NUMBER_EXAMPLE = "GLZ-2026-000123"
_PREFIX = re.compile(r"[A-Z0-9]{2,8}", re.ASCII)
# Canonical form only: six digits, or more without a leading zero once a year passes 999 999.
_REG_NUMBER = re.compile(r"([A-Z0-9]{2,8})-([1-9][0-9]{3})-([0-9]{6}|[1-9][0-9]{6,})", re.ASCII)
# Hyphen, non-breaking hyphen, figure dash, en dash, em dash, minus: phones and editors swap them.
_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2212", "-"))


class RegNumber(NamedTuple):
    """The parts of a registration number."""

    prefix: str
    year: int
    seq: int


def format_reg_number(prefix: str, year: int, seq: int) -> str:
    """A registration number such as GLZ-2026-000123."""
    # art. 8 p. 2 requires registration; the number is what the citizen quotes afterwards.
    code = prefix.upper()
    if not _PREFIX.fullmatch(code):
        raise Invalid(N_("A registration prefix is 2 to 8 Latin letters or digits."))
    if not 1000 <= year <= 9999:
        raise ValueError("year must have four digits")
    if seq < 1:
        raise ValueError("seq must be positive")
    return f"{code}-{year}-{seq:06d}"


def parse_reg_number(value: str) -> RegNumber:
    """The parts of a registration number typed by a person (case and dash style forgiven)."""
    text = value.strip().upper().translate(_DASHES)
    match = _REG_NUMBER.fullmatch(text)
    if not match or int(match[3]) == 0:
        raise Invalid(
            N_("“{value}” is not a registration number; they look like {example}."),
            value=value.strip(),
            example=REG_NUMBER_EXAMPLE,
        )
    return RegNumber(match[1], int(match[2]), int(match[3]))

