"""The pure 59-FZ rules of appeals and problem reports, on a fake clock: every `now` is given."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from backend.core.calendar.rules import Calendar
from backend.errors import Conflict, Invalid
from backend.services.appeals.rules import (
    ALLOWED_TRANSITIONS,
    EARTH_RADIUS_M,
    Admissibility,
    DeadlinePolicy,
    DeadlineState,
    Kind,
    NoAnswerReason,
    PreviousAppeal,
    RegNumber,
    Reminder,
    ReminderDecision,
    ReportSignal,
    Status,
    answer_due,
    assess_admissibility,
    can_redirect,
    can_transition,
    classify_reply_address,
    deadline_state,
    due_reminders,
    duplicate_score,
    extend,
    find_duplicates,
    format_reg_number,
    haversine_m,
    is_open,
    is_repeated,
    is_unreadable,
    normalize_tokens,
    parse_reg_number,
    redirect_due,
    registration_due,
    reminder_schedule,
    text_similarity,
)

MSK = ZoneInfo("Europe/Moscow")
VVO = ZoneInfo("Asia/Vladivostok")
CAL = DeadlinePolicy()
WORK = DeadlinePolicy(calendar=Calendar(working_days=True))


def on(policy: DeadlinePolicy, **calendar: object) -> DeadlinePolicy:
    """The policy on a calendar changed in `calendar` (holidays, working weekends, zone)."""
    return replace(policy, calendar=replace(policy.calendar, **calendar))
US = timedelta(microseconds=1)


def msk(*args: int) -> datetime:
    return datetime(*args, tzinfo=MSK)  # type: ignore[misc]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def end_msk_day_utc(y: int, m: int, d: int) -> datetime:
    """23:59:59.999999 Moscow time (UTC+3) of a day, written out in UTC."""
    return utc(y, m, d, 20, 59, 59, 999999)


# 2026-03-02 is a Monday; Moscow is UTC+3 all year.
REGISTERED = msk(2026, 3, 2, 10, 0)
DUE = end_msk_day_utc(2026, 4, 1)


# --- kinds and statuses ----------------------------------------------------------------------


def test_only_reports_are_informal() -> None:
    assert [k.value for k in Kind if k.is_formal] == ["proposal", "statement", "complaint"]
    assert Kind("report").is_formal is False
    assert Kind.COMPLAINT == "complaint" and f"{Kind.COMPLAINT}" == "complaint"


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (Status.REGISTERED, Status.IN_PROGRESS, True),
        (Status.REGISTERED, Status.REDIRECTED, True),
        (Status.REGISTERED, Status.NO_ANSWER_REQUIRED, True),
        (Status.REGISTERED, Status.ANSWERED, True),
        (Status.REGISTERED, Status.CLOSED, False),
        (Status.REGISTERED, Status.REGISTERED, False),
        (Status.IN_PROGRESS, Status.INFO_REQUESTED, True),
        (Status.IN_PROGRESS, Status.REGISTERED, False),
        (Status.INFO_REQUESTED, Status.IN_PROGRESS, True),
        (Status.INFO_REQUESTED, Status.ANSWERED, True),
        (Status.ANSWERED, Status.CLOSED, True),
        (Status.ANSWERED, Status.IN_PROGRESS, False),
        (Status.REDIRECTED, Status.IN_PROGRESS, False),
        (Status.REDIRECTED, Status.CLOSED, False),
        (Status.NO_ANSWER_REQUIRED, Status.ANSWERED, False),
        (Status.CLOSED, Status.IN_PROGRESS, False),
        ("answered", "closed", True),
    ],
)
def test_transitions(current: Status, target: Status, allowed: bool) -> None:
    assert can_transition(current, target) is allowed


def test_every_status_has_transitions_and_only_three_are_open() -> None:
    assert set(ALLOWED_TRANSITIONS) == set(Status)
    ends = {s for s, targets in ALLOWED_TRANSITIONS.items() if not targets}
    assert ends == {Status.REDIRECTED, Status.NO_ANSWER_REQUIRED, Status.CLOSED}
    assert [s for s in Status if is_open(s)] == [
        Status.REGISTERED,
        Status.IN_PROGRESS,
        Status.INFO_REQUESTED,
    ]


# --- deadlines -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("registered_at", "policy", "expected"),
    [
        # art. 12 p. 1: 30 calendar days; the whole 30th local day is in time.
        (REGISTERED, CAL, end_msk_day_utc(2026, 4, 1)),
        (msk(2026, 3, 2, 0, 0), CAL, end_msk_day_utc(2026, 4, 1)),
        # Late evening in Moscow: the local date (1 March) counts, not the next morning.
        (msk(2026, 3, 1, 23, 30), CAL, end_msk_day_utc(2026, 3, 31)),
        # 21:30 UTC on 1 March is already 00:30 on 2 March in Moscow: the local date wins.
        (utc(2026, 3, 1, 21, 30), CAL, end_msk_day_utc(2026, 4, 1)),
        (utc(2026, 3, 1, 20, 59, 59, 999999), CAL, end_msk_day_utc(2026, 3, 31)),
        # Vladivostok (UTC+10): 15:00 UTC on 1 March is 01:00 on 2 March there.
        (
            utc(2026, 3, 1, 15, 0),
            on(CAL, timezone="Asia/Vladivostok"),
            datetime(2026, 4, 1, 23, 59, 59, 999999, tzinfo=VVO).astimezone(UTC),
        ),
        # 30 working days from Monday 2 March: Monday 13 April.
        (REGISTERED, WORK, end_msk_day_utc(2026, 4, 13)),
        # ... one later with 9 March off,
        (REGISTERED, on(WORK, holidays=frozenset({date(2026, 3, 9)})), end_msk_day_utc(2026, 4, 14)),
        # ... and back again when Saturday 14 March is worked instead.
        (
            REGISTERED,
            on(
                WORK,
                holidays=frozenset({date(2026, 3, 9)}),
                working_weekends=frozenset({date(2026, 3, 14)}),
            ),
            end_msk_day_utc(2026, 4, 13),
        ),
    ],
)
def test_answer_due(registered_at: datetime, policy: DeadlinePolicy, expected: datetime) -> None:
    due = answer_due(registered_at, policy)
    assert due == expected
    assert due.tzinfo is UTC


def test_vladivostok_end_of_day_in_utc() -> None:
    due = answer_due(utc(2026, 3, 1, 15, 0), on(CAL, timezone="Asia/Vladivostok"))
    assert due == utc(2026, 4, 1, 13, 59, 59, 999999)


def test_registration_and_redirect_due() -> None:
    received = msk(2026, 3, 6, 18, 0)  # a Friday
    assert registration_due(received, CAL) == end_msk_day_utc(2026, 3, 9)  # art. 8 p. 2
    assert registration_due(received, WORK) == end_msk_day_utc(2026, 3, 11)
    assert redirect_due(REGISTERED, CAL) == end_msk_day_utc(2026, 3, 9)  # art. 8 p. 3
    assert redirect_due(msk(2026, 3, 7, 12, 0), WORK) == end_msk_day_utc(2026, 3, 17)


def test_redirect_window_boundary() -> None:
    last = end_msk_day_utc(2026, 3, 9)
    assert can_redirect(REGISTERED, REGISTERED, CAL) is True
    assert can_redirect(REGISTERED, last, CAL) is True
    assert can_redirect(REGISTERED, last + US, CAL) is False
    assert can_redirect(REGISTERED, msk(2026, 3, 9, 23, 59, 59), CAL) is True
    assert can_redirect(REGISTERED, msk(2026, 3, 10, 0, 0), CAL) is False


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        answer_due(datetime(2026, 3, 2, 10, 0), CAL)
    with pytest.raises(ValueError):
        can_redirect(REGISTERED, datetime(2026, 3, 3), CAL)


def test_policy_is_validated() -> None:
    with pytest.raises(ValueError):
        DeadlinePolicy(answer_days=0)
    with pytest.raises(ValueError):
        Calendar(timezone="Mars/Olympus_Mons")
    with pytest.raises(ValueError):
        DeadlinePolicy(reminder_hour=24)


def test_extend_once() -> None:
    # art. 12 p. 2: up to 30 more days, counted from the day the term would have ended.
    assert extend(DUE, 30, CAL, already_extended=False) == end_msk_day_utc(2026, 5, 1)
    assert extend(DUE, 1, CAL, already_extended=False) == end_msk_day_utc(2026, 4, 2)
    assert extend(end_msk_day_utc(2026, 4, 13), 5, WORK, already_extended=False) == end_msk_day_utc(
        2026, 4, 20
    )


def test_extend_twice_is_a_conflict() -> None:
    with pytest.raises(Conflict) as err:
        extend(DUE, 10, CAL, already_extended=True)
    assert err.value.message == "The answer deadline has already been extended once."
    # Even a bad length reports the real obstacle first.
    with pytest.raises(Conflict):
        extend(DUE, 31, CAL, already_extended=True)


@pytest.mark.parametrize("days", [0, -1, 31, 365])
def test_extend_bad_length_is_invalid(days: int) -> None:
    with pytest.raises(Invalid) as err:
        extend(DUE, days, CAL, already_extended=False)
    if days < 1:
        assert err.value.message == "An extension must be at least one day."
        assert err.value.params == {}
    else:
        assert err.value.message == "An extension can be at most {days} days."
        assert err.value.params == {"days": 30}


def test_extend_limit_follows_policy() -> None:
    policy = replace(CAL, max_extension_days=10)
    assert extend(DUE, 10, policy, already_extended=False) == end_msk_day_utc(2026, 4, 11)
    with pytest.raises(Invalid) as err:
        extend(DUE, 11, policy, already_extended=False)
    assert err.value.params == {"days": 10}


@pytest.mark.parametrize(
    ("now", "soon", "expected"),
    [
        (DUE - timedelta(days=6), timedelta(days=5), DeadlineState.OK),
        (DUE - timedelta(days=5) - US, timedelta(days=5), DeadlineState.OK),
        (DUE - timedelta(days=5), timedelta(days=5), DeadlineState.DUE_SOON),
        (DUE, timedelta(days=5), DeadlineState.DUE_SOON),
        (DUE + US, timedelta(days=5), DeadlineState.OVERDUE),
        (DUE - timedelta(days=2), timedelta(days=1), DeadlineState.OK),
        (DUE - timedelta(hours=23), timedelta(days=1), DeadlineState.DUE_SOON),
    ],
)
def test_deadline_state(now: datetime, soon: timedelta, expected: DeadlineState) -> None:
    assert deadline_state(DUE, now, soon=soon) == expected


def test_deadline_state_default_threshold_is_five_days() -> None:
    assert deadline_state(DUE, DUE - timedelta(days=5)) == "due_soon"
    assert deadline_state(DUE, DUE - timedelta(days=5, microseconds=1)) == "ok"


# --- reminders -------------------------------------------------------------------------------


def test_reminder_schedule() -> None:
    # 09:00 Moscow = 06:00 UTC on 27 and 31 March; overdue from 00:00 Moscow on 2 April.
    assert reminder_schedule(DUE, CAL) == [
        (Reminder.DUE_IN_5_DAYS, utc(2026, 3, 27, 6, 0)),
        (Reminder.DUE_IN_1_DAY, utc(2026, 3, 31, 6, 0)),
        (Reminder.OVERDUE, utc(2026, 4, 1, 21, 0)),
    ]
    assert reminder_schedule(DUE, replace(CAL, reminder_hour=14))[0] == (
        "due_in_5_days",
        utc(2026, 3, 27, 11, 0),
    )


def _walk(due: datetime, start: datetime, stop: datetime, policy: DeadlinePolicy) -> list[tuple[datetime, str]]:
    """Run the reminder job every hour from `start` to `stop`, as a scheduler would."""
    handled: set[str] = set()
    sent: list[tuple[datetime, str]] = []
    now = start
    while now <= stop:
        decision = due_reminders(due, now, handled, policy)
        if decision.send is not None:
            sent.append((now, decision.send))
        handled |= decision.handled
        now += timedelta(hours=1)
    return sent


def test_reminders_walk_hour_by_hour() -> None:
    start = REGISTERED.astimezone(UTC)
    assert start == utc(2026, 3, 2, 7, 0)
    sent = _walk(DUE, start, utc(2026, 4, 5, 0, 0), CAL)
    assert sent == [
        (utc(2026, 3, 27, 6, 0), "due_in_5_days"),
        (utc(2026, 3, 31, 6, 0), "due_in_1_day"),
        (utc(2026, 4, 1, 21, 0), "overdue"),
    ]


def test_reminders_when_registered_with_little_time_left() -> None:
    # A 3-day term: the 5-day moment passed before registration. It is still sent, once, at
    # the first run; the others follow at their moments.
    policy = replace(CAL, answer_days=3)
    due = answer_due(REGISTERED, policy)
    assert due == end_msk_day_utc(2026, 3, 5)
    assert _walk(due, REGISTERED.astimezone(UTC), utc(2026, 3, 8, 0, 0), policy) == [
        (utc(2026, 3, 2, 7, 0), "due_in_5_days"),
        (utc(2026, 3, 4, 6, 0), "due_in_1_day"),
        (utc(2026, 3, 5, 21, 0), "overdue"),
    ]


def test_several_due_at_once_sends_only_the_most_urgent() -> None:
    policy = replace(CAL, answer_days=1)
    due = answer_due(REGISTERED, policy)
    assert due == end_msk_day_utc(2026, 3, 3)
    first = due_reminders(due, REGISTERED, set(), policy)
    assert first == ReminderDecision(send=Reminder.DUE_IN_1_DAY, skip=frozenset({Reminder.DUE_IN_5_DAYS}))
    assert first.handled == {"due_in_5_days", "due_in_1_day"}
    assert _walk(due, REGISTERED.astimezone(UTC), utc(2026, 3, 5, 0, 0), policy) == [
        (utc(2026, 3, 2, 7, 0), "due_in_1_day"),
        (utc(2026, 3, 3, 21, 0), "overdue"),
    ]
    # A job that first runs after the deadline sends "overdue" alone.
    assert due_reminders(due, utc(2026, 3, 4, 0, 0), set(), policy) == ReminderDecision(
        send=Reminder.OVERDUE, skip=frozenset({Reminder.DUE_IN_5_DAYS, Reminder.DUE_IN_1_DAY})
    )


def test_reminders_catch_up_after_downtime_and_never_repeat() -> None:
    # Down from 26 to 29 March: the 5-day reminder is sent late, once.
    assert due_reminders(DUE, utc(2026, 3, 26, 12, 0), set(), CAL) == ReminderDecision(None, frozenset())
    late = due_reminders(DUE, utc(2026, 3, 29, 12, 0), set(), CAL)
    assert late == ReminderDecision(send=Reminder.DUE_IN_5_DAYS, skip=frozenset())
    again = due_reminders(DUE, utc(2026, 3, 29, 13, 0), {"due_in_5_days"}, CAL)
    assert again == ReminderDecision(None, frozenset())
    # Already-handled urgent kinds make older unsent ones stale: marked, never sent.
    stale = due_reminders(DUE, utc(2026, 3, 31, 12, 0), {"due_in_1_day"}, CAL)
    assert stale == ReminderDecision(send=None, skip=frozenset({Reminder.DUE_IN_5_DAYS}))
    assert stale.handled == {"due_in_5_days"}
    everything = {"due_in_5_days", "due_in_1_day", "overdue"}
    assert due_reminders(DUE, utc(2026, 5, 1, 0, 0), everything, CAL) == ReminderDecision(None, frozenset())


def test_overdue_is_not_sent_at_the_due_moment_itself() -> None:
    handled = {"due_in_5_days", "due_in_1_day"}
    assert due_reminders(DUE, DUE, handled, CAL).send is None
    assert due_reminders(DUE, DUE + US, handled, CAL).send == "overdue"


# --- no answer required (art. 11) ------------------------------------------------------------

TEXT = "Прошу отремонтировать дорогу на улице Ленина возле дома 5."
EMAIL = "ivanov@mail.ru"
POSTAL = "170100, г. Тверь, ул. Ленина, д. 5, кв. 3"


@pytest.mark.parametrize(
    ("full_name", "reply_address", "text", "crime", "expected"),
    [
        ("Иванов Иван Иванович", EMAIL, TEXT, False, Admissibility(True)),
        ("Иванов", POSTAL, TEXT, False, Admissibility(True)),
        ("Иванов", EMAIL, TEXT, True, Admissibility(True)),
        (None, EMAIL, TEXT, False, Admissibility(False, NoAnswerReason.MISSING_NAME)),
        ("   ", EMAIL, TEXT, False, Admissibility(False, NoAnswerReason.MISSING_NAME)),
        ("Иванов", None, TEXT, False, Admissibility(False, NoAnswerReason.MISSING_REPLY_ADDRESS)),
        ("Иванов", "  ", TEXT, False, Admissibility(False, NoAnswerReason.MISSING_REPLY_ADDRESS)),
        ("Иванов", "ivanov@", TEXT, False, Admissibility(False, NoAnswerReason.MISSING_REPLY_ADDRESS)),
        # art. 11 p. 1: anonymous, but a crime is reported: forwarded all the same.
        (None, None, TEXT, True, Admissibility(False, NoAnswerReason.MISSING_NAME, True)),
        ("Иванов", None, TEXT, True, Admissibility(False, NoAnswerReason.MISSING_REPLY_ADDRESS, True)),
        # art. 11 p. 4: not answered, not forwarded, the citizen is told.
        ("Иванов", EMAIL, "#$%^&*!!! ??? ###", False, Admissibility(False, NoAnswerReason.UNREADABLE, False, True)),
        ("Иванов", EMAIL, "   ", False, Admissibility(False, NoAnswerReason.UNREADABLE, False, True)),
    ],
)
def test_assess_admissibility(
    full_name: str | None, reply_address: str | None, text: str, crime: bool, expected: Admissibility
) -> None:
    result = assess_admissibility(
        full_name=full_name, reply_address=reply_address, text=text, mentions_crime=crime
    )
    assert result == expected


def test_no_answer_reasons_are_distinct_msgids() -> None:
    reasons = [v for k, v in vars(NoAnswerReason).items() if k.isupper()]
    assert len(reasons) == 6
    assert len(set(reasons)) == 6
    assert NoAnswerReason.UNREADABLE == "The text of the appeal cannot be read."


@pytest.mark.parametrize(
    ("text", "unreadable"),
    [
        ("", True),
        ("  \n\t ", True),
        ("?!?!... ###", True),
        ("\ufffd\ufffd\ufffd\ufffd", True),
        ("a#$%^&*()!", True),
        ("яма", False),
        ("ЯМА!!!", False),
        ("12345", False),
        (TEXT, False),
        ("Pothole on Lenin street, near house 5 :(", False),
    ],
)
def test_is_unreadable(text: str, unreadable: bool) -> None:
    assert is_unreadable(text) is unreadable


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("ivanov@mail.ru", "email"),
        ("  Ivan.Petrov+town@example.com ", "email"),
        ("почта@пример.рф", "email"),
        ("user@xn--e1afmkfd.xn--p1ai", "email"),
        ("ivanov@mail", None),
        ("ivanov@@mail.ru", None),
        ("iva nov@mail.ru", None),
        ("@mail.ru", None),
        (POSTAL, "postal"),
        ("г. Тверь, ул. Ленина, д. 5", "postal"),
        ("170100 Тверь", "postal"),
        ("Тверь", None),
        ("ул. 5", None),
        ("123456", None),
        ("+7 912 345-67-89", None),
        ("89123456789", None),
        ("", None),
        ("   ", None),
    ],
)
def test_classify_reply_address(value: str, kind: str | None) -> None:
    assert classify_reply_address(value) == kind


# --- repeated appeals (art. 11 p. 5) ---------------------------------------------------------


def test_normalize_tokens() -> None:
    assert normalize_tokens("Ёж_и ЁЛКА, 5-й!") == ("еж", "и", "елка", "5", "й")


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("Яма на дороге", "яма, на   дороге!", 1.0),
        ("Ёлка упала на провода", "елка упала на провода", 1.0),
        ("a b c d", "a b c e", 0.75),
        ("a b", "c d", 0.0),
        ("a b c d", "a b", 2 * 2 / 6),
        ("", "text", 0.0),
        ("!!!", "!!!", 0.0),
    ],
)
def test_text_similarity(a: str, b: str, expected: float) -> None:
    assert text_similarity(a, b) == pytest.approx(expected, abs=1e-12)
    assert text_similarity(b, a) == text_similarity(a, b)


BASE = (
    "Прошу отремонтировать дорогу на улице Ленина возле дома пять потому что там большие ямы "
    "и машины ломаются каждый день уже второй год"
)


def test_repeated_twice_answered_flags_for_head() -> None:
    previous = [
        PreviousAppeal(1, BASE + " Повторно.", answered_on_merits=True),  # 44/45 alike
        PreviousAppeal(2, BASE, answered_on_merits=True),
        PreviousAppeal(3, BASE.upper(), answered_on_merits=False),
        PreviousAppeal(4, "Когда откроют новый детский сад в микрорайоне?", answered_on_merits=True),
    ]
    result = is_repeated(BASE, previous)
    assert result.linked_ids == (2, 3, 1)
    assert result.flag_for_head is True


def test_repeated_once_answered_only_links() -> None:
    previous = [
        PreviousAppeal(1, BASE + " Повторно.", answered_on_merits=True),
        PreviousAppeal(3, BASE, answered_on_merits=False),
    ]
    result = is_repeated(BASE, previous)
    assert result.linked_ids == (3, 1)
    assert result.flag_for_head is False


def test_different_text_is_not_repeated() -> None:
    previous = [
        PreviousAppeal(1, BASE, answered_on_merits=True),
        PreviousAppeal(2, BASE, answered_on_merits=True),
    ]
    result = is_repeated("Когда откроют новый детский сад в микрорайоне?", previous)
    assert result.linked_ids == ()
    assert result.flag_for_head is False
    assert is_repeated(BASE, []).linked_ids == ()


def test_repeat_threshold_is_an_argument() -> None:
    # 44/45 = 0.977...: linked at the default 0.85, not at 0.98.
    previous = [PreviousAppeal(1, BASE + " Повторно.", answered_on_merits=True)]
    assert is_repeated(BASE, previous).linked_ids == (1,)
    assert is_repeated(BASE, previous, threshold=0.98).linked_ids == ()


# --- problem report duplicates ---------------------------------------------------------------

LAT, LON = 55.7558, 37.6173
T0 = utc(2026, 3, 2, 7, 0)
POTHOLE = "Яма на дороге у дома 5"
# 0.001 degree of latitude along a meridian on the sphere used.
D_001 = EARTH_RADIUS_M * math.pi / 180 * 0.001


def test_haversine() -> None:
    assert haversine_m(LAT, LON, LAT, LON) == 0.0
    assert haversine_m(0, 0, 1, 0) == pytest.approx(EARTH_RADIUS_M * math.pi / 180, rel=1e-12)
    assert haversine_m(0, 0, 0, 90) == pytest.approx(EARTH_RADIUS_M * math.pi / 2, rel=1e-12)
    assert haversine_m(0, 0, 0, 180) == pytest.approx(EARTH_RADIUS_M * math.pi, rel=1e-12)
    assert haversine_m(LAT, LON, LAT + 0.001, LON) == pytest.approx(D_001, rel=1e-9)
    assert round(D_001, 3) == 111.195


def report(**kw: object) -> ReportSignal:
    base: dict[str, object] = {"category_id": 7, "text": POTHOLE, "created_at": T0, "lat": LAT, "lon": LON}
    base.update(kw)
    return ReportSignal(**base)  # type: ignore[arg-type]


def test_nearby_same_category_recent_is_a_candidate() -> None:
    new = report()
    near = report(id=10, lat=LAT + 0.001, created_at=T0 - timedelta(days=3))
    assert duplicate_score(new, near) == pytest.approx(0.6 * (1 - D_001 / 150) + 0.4 * 1.0, rel=1e-9)
    # Same spot, unrelated wording: closeness alone.
    assert duplicate_score(new, report(id=11, text="Не горит фонарь")) == pytest.approx(0.6, abs=1e-12)
    assert duplicate_score(new, report(id=12)) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(
    "other",
    [
        report(id=20, category_id=8),  # different category
        report(id=21, lat=LAT + 0.002),  # about 222 m away
        report(id=22, created_at=T0 - timedelta(days=15)),  # too old
        report(id=23, created_at=T0 + timedelta(days=14, microseconds=1)),
        report(id=24, lat=LAT + 0.002, text=POTHOLE),  # far away, even with the same text
    ],
)
def test_not_duplicates(other: ReportSignal) -> None:
    assert duplicate_score(report(), other) is None


def test_same_id_is_not_its_own_duplicate() -> None:
    assert duplicate_score(report(id=5), report(id=5)) is None


def test_window_edge_is_inclusive() -> None:
    assert duplicate_score(report(), report(id=1, created_at=T0 - timedelta(days=14))) == pytest.approx(1.0)


def test_without_location_text_decides() -> None:
    new = report(lat=None, lon=None)
    assert duplicate_score(new, report(id=1, lat=None, lon=None)) == pytest.approx(1.0)
    # One side located is not enough for distance; falls back to text.
    assert duplicate_score(new, report(id=2)) == pytest.approx(1.0)
    assert duplicate_score(new, report(id=3, lat=None, lon=None, text="Не горит фонарь")) is None
    reworded = report(id=4, lat=None, lon=None, text="Большая яма на дороге возле дома 5")
    # 5 common words of 6 + 7: 10/13.
    assert duplicate_score(new, reworded) == pytest.approx(10 / 13, abs=1e-12)
    assert duplicate_score(new, reworded, text_threshold=0.8) is None


def test_radius_is_an_argument() -> None:
    far = report(id=1, lat=LAT + 0.002)
    assert duplicate_score(report(), far) is None
    assert duplicate_score(report(), far, radius_m=300) == pytest.approx(
        0.6 * (1 - 2 * D_001 / 300) + 0.4, rel=1e-6
    )


def test_find_duplicates_sorted_best_first() -> None:
    candidates = [
        report(id=10, lat=LAT + 0.001),
        report(id=14, lat=None, lon=None),
        report(id=12, lat=LAT + 0.002),
        report(id=11),
        report(id=13, category_id=8),
        report(id=15, text="Не горит фонарь"),
    ]
    found = find_duplicates(report(), candidates)
    assert [i for i, _ in found] == [11, 14, 15, 10]
    assert [round(s, 4) for _, s in found] == [1.0, 1.0, 0.6, round(0.6 * (1 - D_001 / 150) + 0.4, 4)]
    assert find_duplicates(report(), []) == []
    with pytest.raises(ValueError):
        find_duplicates(report(), [report()])


# --- registration numbers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "year", "seq", "expected"),
    [
        ("GLZ", 2026, 123, "GLZ-2026-000123"),
        ("glz", 2026, 1, "GLZ-2026-000001"),
        ("Tver69", 2027, 999999, "TVER69-2027-999999"),
        ("AB", 2026, 1234567, "AB-2026-1234567"),
        ("12345678", 2026, 42, "12345678-2026-000042"),
    ],
)
def test_reg_number_round_trip(prefix: str, year: int, seq: int, expected: str) -> None:
    number = format_reg_number(prefix, year, seq)
    assert number == expected
    assert parse_reg_number(number) == RegNumber(prefix.upper(), year, seq)


def test_parse_reg_number_forgives_case_spaces_and_dashes() -> None:
    assert parse_reg_number("  glz-2026-000123\n") == RegNumber("GLZ", 2026, 123)
    assert parse_reg_number("GLZ\u20132026\u2014000123") == ("GLZ", 2026, 123)


@pytest.mark.parametrize("prefix", ["G", "TOOLONGPF", "GL-Z", "ГЛЗ", "GL Z", ""])
def test_format_reg_number_bad_prefix(prefix: str) -> None:
    with pytest.raises(Invalid) as err:
        format_reg_number(prefix, 2026, 1)
    assert err.value.message == "A registration prefix is 2 to 8 Latin letters or digits."


@pytest.mark.parametrize(("year", "seq"), [(999, 1), (10000, 1), (2026, 0), (2026, -5)])
def test_format_reg_number_bad_numbers(year: int, seq: int) -> None:
    with pytest.raises(ValueError):
        format_reg_number("GLZ", year, seq)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "GLZ-2026-123",
        "GLZ2026000123",
        "G-2026-000123",
        "TOOLONGPF-2026-000123",
        "ГЛЗ-2026-000123",
        "GLZ-2026-000000",
        "GLZ-0999-000001",
        "GLZ-26-000001",
        "GLZ-2026-0001234",  # not canonical: seven digits with a leading zero
        "GLZ-2026-00012a",
        "GLZ-2026-000123-1",
        "GLZ-2026-\u0661\u0662\u0663\u0664\u0665\u0666",  # Arabic-Indic digits
    ],
)
def test_parse_reg_number_bad_input(value: str) -> None:
    with pytest.raises(Invalid) as err:
        parse_reg_number(value)
    assert err.value.message == "“{value}” is not a registration number; they look like {example}."
    assert err.value.params == {"value": value.strip(), "example": "GLZ-2026-000123"}
