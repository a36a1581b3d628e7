"""The rules of a survey, apart from storage and chat: what a question is, which questions a
person sees given their earlier answers, whether an answer fits its question, and how
answers add up to results. Pure functions over pydantic models, shared by the bot, the API
and the miniapp's backend."""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections import Counter
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from backend.core.users.models import Role
from backend.errors import Invalid
from backend.fields import NO_NUL, Text
from backend.i18n import N_

MAX_QUESTIONS = 50
MAX_OPTIONS = 20
TEXT_ANSWER_MAX = 2000
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
Key = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,16}$")]


class QuestionKind(StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    SCALE = "scale"
    NUMBER = "number"
    DATE = "date"
    TEXT = "text"
    PHOTO = "photo"

    @property
    def has_options(self) -> bool:
        return self in (QuestionKind.SINGLE, QuestionKind.MULTIPLE)


KIND_TITLES = {
    QuestionKind.SINGLE: N_("One choice"),
    QuestionKind.MULTIPLE: N_("Several choices"),
    QuestionKind.SCALE: N_("Scale"),
    QuestionKind.NUMBER: N_("Number"),
    QuestionKind.DATE: N_("Date"),
    QuestionKind.TEXT: N_("Free text"),
    QuestionKind.PHOTO: N_("Photo"),
}


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: Key
    label: Text(200, min_length=1)


class Condition(BaseModel):
    """Show the question only when an earlier choice question was answered with one of `any_of`."""

    model_config = ConfigDict(extra="forbid")

    question: Key
    any_of: list[Key] = Field(min_length=1, max_length=MAX_OPTIONS)


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: Key
    kind: QuestionKind
    text: Text(500, min_length=1)
    help: Text(500) = ""
    required: bool = True
    options: list[Option] = Field(default_factory=list, max_length=MAX_OPTIONS)
    scale_min: int = Field(default=1, ge=0, le=1)
    scale_max: int = Field(default=5, ge=2, le=10)
    min_value: float | None = Field(default=None, ge=-1e12, le=1e12)
    max_value: float | None = Field(default=None, ge=-1e12, le=1e12)
    show_if: Condition | None = None


class AudienceKind(StrEnum):
    TOWN = "town"
    ROLES = "roles"
    TAGS = "tags"
    TOPIC = "topic"

    @property
    def resolved(self) -> bool:
        """Whether the platform can tell today who is in such an audience (communities and
        topics are recorded as declared until those services exist)."""
        return self in (AudienceKind.TOWN, AudienceKind.ROLES)


class Audience(BaseModel):
    """Who the survey is for."""

    model_config = ConfigDict(extra="forbid")

    kind: AudienceKind = AudienceKind.TOWN
    roles: list[Role] = Field(default_factory=list, max_length=len(Role))
    tags: list[Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_NUL)]] = Field(default_factory=list, max_length=20)
    topic: Text(64) | None = None

    def admits(self, roles: set[Role] | frozenset[Role]) -> bool:
        """Whether a member of the town with these roles is in the audience. Audiences the
        platform cannot resolve yet (tags, topics) admit the whole town."""
        if not roles:
            return False
        if self.kind == AudienceKind.ROLES:
            return bool(roles & set(self.roles))
        return True


def check_questions(questions: list[Question]) -> None:
    """Refuse a question list that cannot be answered: duplicate keys, choices without
    options, conditions on a later or a non-choice question, bounds the wrong way round."""
    if len(questions) > MAX_QUESTIONS:
        raise Invalid(N_("A survey has at most {n} questions."), n=MAX_QUESTIONS)
    seen: dict[str, Question] = {}
    for q in questions:
        if q.key in seen:
            raise Invalid(N_("Two questions share the key “{key}”."), key=q.key)
        if q.kind.has_options:
            if len(q.options) < 2:
                raise Invalid(N_("The question “{text}” needs at least two options."), text=q.text)
            if len({o.key for o in q.options}) != len(q.options):
                raise Invalid(N_("Two options of “{text}” share a key."), text=q.text)
        elif q.options:
            raise Invalid(N_("Only choice questions have options (“{text}”)."), text=q.text)
        if q.kind == QuestionKind.NUMBER and q.min_value is not None and q.max_value is not None and q.min_value > q.max_value:
            raise Invalid(N_("The smallest number of “{text}” is larger than the largest."), text=q.text)
        if q.show_if is not None:
            ref = seen.get(q.show_if.question)
            if ref is None:
                raise Invalid(N_("“{text}” depends on a question that does not come before it."), text=q.text)
            if not ref.kind.has_options:
                raise Invalid(N_("“{text}” may depend only on a choice question."), text=q.text)
            unknown = set(q.show_if.any_of) - {o.key for o in ref.options}
            if unknown:
                raise Invalid(N_("“{text}” depends on options that “{other}” does not have."), text=q.text, other=ref.text)
        seen[q.key] = q


def is_shown(question: Question, answers: dict[str, Any]) -> bool:
    """Whether the question is asked, given the answers so far."""
    cond = question.show_if
    if cond is None:
        return True
    given = answers.get(cond.question)
    if given is None:
        return False
    chosen = set(given) if isinstance(given, list) else {given}
    return bool(chosen & set(cond.any_of))


def visible(questions: list[Question], answers: dict[str, Any]) -> list[Question]:
    """The questions asked, in order: each condition reads only earlier answers, and an
    answer to a question that is no longer shown does not count."""
    shown: list[Question] = []
    effective: dict[str, Any] = {}
    for q in questions:
        if is_shown(q, effective):
            shown.append(q)
            if q.key in answers:
                effective[q.key] = answers[q.key]
    return shown


def next_index(questions: list[Question], answers: dict[str, Any], after: int) -> int | None:
    """The index of the next question shown after `after` (-1: from the start), or None."""
    effective = {q.key: answers[q.key] for q in visible(questions[: after + 1], answers) if q.key in answers}
    for i in range(after + 1, len(questions)):
        if is_shown(questions[i], effective):
            return i
    return None


def progress(questions: list[Question], answers: dict[str, Any], index: int) -> tuple[int, int]:
    """("3 of 8"): the position of question `index` among those shown, and how many are
    shown given the answers so far (conditional ones count once their condition holds)."""
    shown = visible(questions, answers)
    keys = [q.key for q in shown]
    key = questions[index].key
    return (keys.index(key) + 1 if key in keys else len(keys) + 1), max(len(keys), 1)


def parse_number(text: str) -> float:
    """A number as people type it: spaces between thousands, a decimal comma."""
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    value = float(cleaned)  # ValueError for anything else
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def parse_date(text: str) -> date:
    """A date as 31.12.2026 (as Russians write it) or 2026-12-31."""
    t = text.strip()
    if "." in t:
        day, month, year = t.split(".")
        return date(int(year), int(month), int(day))
    return date.fromisoformat(t)


def check_answer(question: Question, value: Any) -> Any:
    """The answer normalised, or Invalid with a message that says what fits."""
    kind = question.kind
    if kind == QuestionKind.SINGLE:
        if not isinstance(value, str) or value not in {o.key for o in question.options}:
            raise Invalid(N_("Choose one of the options."))
        return value
    if kind == QuestionKind.MULTIPLE:
        keys = [o.key for o in question.options]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v in keys for v in value):
            raise Invalid(N_("Choose one or more of the options."))
        return [k for k in keys if k in set(value)]  # the options' order, no repeats
    if kind == QuestionKind.SCALE:
        if isinstance(value, bool) or not isinstance(value, int) or not question.scale_min <= value <= question.scale_max:
            raise Invalid(N_("Choose a mark from {low} to {high}."), low=question.scale_min, high=question.scale_max)
        return value
    if kind == QuestionKind.NUMBER:
        try:
            number = parse_number(value) if isinstance(value, str) else value
            if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number) or abs(number) > 1e12:
                raise ValueError
        except (ValueError, TypeError):
            raise Invalid(N_("Send a number, e.g. 12 or 3,5.")) from None
        if question.min_value is not None and number < question.min_value or question.max_value is not None and number > question.max_value:
            raise Invalid(N_("Send a number from {low} to {high}."), low=_num(question.min_value), high=_num(question.max_value))
        return int(number) if float(number).is_integer() else float(number)
    if kind == QuestionKind.DATE:
        try:
            return parse_date(value).isoformat() if isinstance(value, str) else _fail()
        except (ValueError, TypeError):
            raise Invalid(N_("Send a date as DD.MM.YYYY, e.g. 25.12.2026.")) from None
    if kind == QuestionKind.TEXT:
        # NUL and lone surrogates: neither database can store them (backend/fields.py).
        if not isinstance(value, str) or not value.strip() or _UNSTORABLE.search(value):
            raise Invalid(N_("Write the answer in words."))
        if len(value) > TEXT_ANSWER_MAX:
            raise Invalid(N_("The answer is {over} characters too long (at most {limit})."), over=len(value) - TEXT_ANSWER_MAX, limit=TEXT_ANSWER_MAX)
        return value.strip()
    # photo: the id of a stored file, checked by the service (it must be this person's upload)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value > 2**31 - 1:
        raise Invalid(N_("Send a photo."))
    return value


def _fail() -> Any:
    raise ValueError


def _num(value: float | None) -> str:
    if value is None:
        return "…"
    return str(int(value)) if float(value).is_integer() else str(value)


def check_answers(questions: list[Question], answers: dict[str, Any]) -> dict[str, Any]:
    """A whole response checked: answers only to questions shown, each fitting, none missing
    where required. Returns the normalised answers."""
    known = {q.key for q in questions}
    stray = set(answers) - known
    if stray:
        raise Invalid(N_("There is no question “{key}” in this survey."), key=sorted(stray)[0])
    clean: dict[str, Any] = {}
    for q in questions:
        if not is_shown(q, clean):
            continue
        value = answers.get(q.key)
        if value is None or value == [] or value == "":
            if q.required:
                raise Invalid(N_("Please answer “{text}”: it is required."), text=q.text)
            continue
        clean[q.key] = check_answer(q, value)
    return clean


def display(question: Question, value: Any) -> str:
    """An answer as a person reads it (option labels, not keys)."""
    if value is None:
        return "—"
    labels = {o.key: o.label for o in question.options}
    if question.kind == QuestionKind.SINGLE:
        return labels.get(value, str(value))
    if question.kind == QuestionKind.MULTIPLE:
        return ", ".join(labels.get(v, str(v)) for v in value)
    if question.kind == QuestionKind.DATE:
        return date.fromisoformat(value).strftime("%d.%m.%Y")
    if question.kind == QuestionKind.PHOTO:
        return "📷"
    return str(value)


def voter_digest(secret: bytes, *, survey_id: int, user_id: int) -> str:
    """The keyed hash that says "this person has answered this survey" in anonymous mode:
    without the server's secret nobody can tell whose it is, and no response refers to it."""
    return hmac.new(secret, f"survey:{survey_id}:user:{user_id}".encode(), hashlib.sha256).hexdigest()


# --- results ----------------------------------------------------------------------------------


class OptionCount(BaseModel):
    key: str
    label: str
    count: int
    share: float  # of the people who answered the question


class Bucket(BaseModel):
    label: str
    count: int


class QuestionResult(BaseModel):
    key: str
    kind: QuestionKind
    text: str
    answered: int
    options: list[OptionCount] = []
    buckets: list[Bucket] = []  # scale marks, number ranges, dates by month
    mean: float | None = None
    median: float | None = None
    texts: list[str] = []
    photos: list[int] = []


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    mid = len(s) // 2
    return float(s[mid]) if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def _number_buckets(values: list[float], bins: int = 6) -> list[Bucket]:
    if not values:
        return []
    low, high = min(values), max(values)
    if low == high:
        return [Bucket(label=_num(low), count=len(values))]
    distinct = sorted(set(values))
    if len(distinct) <= bins and all(float(v).is_integer() for v in distinct):
        counts = Counter(values)
        return [Bucket(label=_num(v), count=counts[v]) for v in distinct]
    width = (high - low) / bins
    counts = [0] * bins
    for v in values:
        counts[min(int((v - low) / width), bins - 1)] += 1
    return [Bucket(label=f"{_num(round(low + i * width, 2))}–{_num(round(low + (i + 1) * width, 2))}", count=c) for i, c in enumerate(counts)]


def tally(questions: list[Question], responses: list[dict[str, Any]], *, text_limit: int = 500) -> list[QuestionResult]:
    """Results per question: counts per option (a multiple choice counts each option chosen,
    never combinations), the distribution of marks and numbers, the text answers."""
    out: list[QuestionResult] = []
    for q in questions:
        values = [r[q.key] for r in responses if r.get(q.key) is not None]
        res = QuestionResult(key=q.key, kind=q.kind, text=q.text, answered=len(values))
        if q.kind.has_options:
            counts: Counter[str] = Counter()
            for v in values:
                counts.update(v if isinstance(v, list) else [v])
            res.options = [
                OptionCount(key=o.key, label=o.label, count=counts[o.key], share=(counts[o.key] / len(values)) if values else 0.0)
                for o in q.options
            ]
        elif q.kind == QuestionKind.SCALE:
            counts_i = Counter(int(v) for v in values)
            res.buckets = [Bucket(label=str(m), count=counts_i[m]) for m in range(q.scale_min, q.scale_max + 1)]
            nums = [float(v) for v in values]
            res.mean = round(sum(nums) / len(nums), 2) if nums else None
            res.median = _median(nums)
        elif q.kind == QuestionKind.NUMBER:
            nums = [float(v) for v in values]
            res.buckets = _number_buckets(nums)
            res.mean = round(sum(nums) / len(nums), 2) if nums else None
            res.median = _median(nums)
        elif q.kind == QuestionKind.DATE:
            months = Counter(str(v)[:7] for v in values)
            res.buckets = [Bucket(label=m, count=months[m]) for m in sorted(months)]
        elif q.kind == QuestionKind.TEXT:
            res.texts = [str(v) for v in values][:text_limit]
        else:
            res.photos = [int(v) for v in values]
        out.append(res)
    return out


def headline(result: QuestionResult) -> float | None:
    """One figure per question for the Atlas: the leading option's share, or the mean."""
    if result.options:
        return round(max(o.share for o in result.options), 3)
    return result.mean
