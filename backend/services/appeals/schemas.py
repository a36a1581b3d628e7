"""Input and output shapes of the appeals service."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.fields import NO_NUL, Id, Text
from backend.services.appeals.rules import Kind, Status

MAX_ATTACHMENTS = 10


class AppealDraft(BaseModel):
    """What a resident (or an Open311 client) files."""

    kind: Kind
    category_id: Id
    # Field(max_length=...) rather than fields.Text: the bot's dialog reads these limits back.
    # The town's own limit of the text (appeal_max_chars) is checked by the service.
    text: str = Field(min_length=1, pattern=NO_NUL)
    full_name: str | None = Field(default=None, max_length=256, pattern=NO_NUL)
    reply_address: str | None = Field(default=None, max_length=500, pattern=NO_NUL)
    phone: str | None = Field(default=None, max_length=32, pattern=NO_NUL)
    address: str | None = Field(default=None, max_length=500, pattern=NO_NUL)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    file_ids: list[Id] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    mentions_crime: bool = False


class QueueFilters(BaseModel):
    status: list[Status] = Field(default_factory=list)
    kind: list[Kind] = Field(default_factory=list)
    category_id: Id | None = None
    department_id: Id | None = None
    assignee: Literal["me", "none"] | Id | None = None
    overdue: bool = False
    due_within_days: int | None = Field(default=None, ge=0, le=366)
    q: Text(200) | None = None
    include_merged: bool = False


class QueueOrder(StrEnum):
    """The queue's orders; each is a keyset on an index ending in its columns and the id."""

    DUE = "due"  # due date, soonest first (what the clerk acts on)
    NEWEST = "-registered"  # registration, newest first
    OLDEST = "registered"  # registration, oldest first
    RANK = "rank"  # with a search: best match first (the default then); without one: due date


def applied_order(order: QueueOrder | None, q: str | None) -> QueueOrder:
    """The order a queue request gets: the one asked for, else best match first for a search
    and due date otherwise; best match means nothing without a search, so it is due date then."""
    searching = bool(q and q.strip())
    if order is None:
        return QueueOrder.RANK if searching else QueueOrder.DUE
    return QueueOrder.DUE if order is QueueOrder.RANK and not searching else order


class CategoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    description: str
    department_id: int | None


class CategoryAdminOut(CategoryOut):
    """A category as the town's administration edits it."""

    sort: int
    active: bool
    has_template: bool


class CategoryIn(BaseModel):
    code: Text(32, min_length=1) = Field(description="Latin letters, digits, - or _; the Open311 service_code")
    name: Text(200, min_length=1)
    description: Text(500) = ""
    department_id: Id | None = None
    sort: int = Field(default=100, ge=0, le=10_000)


class CategoryPatch(BaseModel):
    """Only the fields given change; `department_id: null` unroutes the category."""

    name: Text(200, min_length=1) | None = None
    description: Text(500) | None = None
    department_id: Id | None = None
    sort: int | None = Field(default=None, ge=0, le=10_000)
    active: bool | None = None


class AppealListItem(BaseModel):
    id: int
    reg_number: str
    kind: Kind
    status: Status
    category: str | None
    department_id: int | None
    department: str | None = None  # the department's name
    assignee_id: int | None
    assignee_name: str | None
    full_name: str | None
    excerpt: str
    registered_at: datetime
    due_at: datetime
    deadline: str  # ok, due_soon, overdue, none
    attachments: int = 0
    source: str = "bot"  # bot, open311, miniapp
    # With a search (q): the part of the text around the words found, HTML-escaped, the word
    # forms found in <mark>…</mark>; None when they are in the number, name or address only.
    snippet: str | None = None


class QueuePage(BaseModel):
    items: list[AppealListItem]
    next_cursor: str | None  # carries the order: a cursor of one order is refused with another
    sort: QueueOrder


class FileOut(BaseModel):
    id: int
    filename: str
    mime: str
    size: int
    url: str


class CommentOut(BaseModel):
    id: int
    kind: str
    body: str
    author: str | None
    created_at: datetime
    files: list[FileOut] = Field(default_factory=list)


class HistoryOut(BaseModel):
    at: datetime
    action: str
    actor: str | None
    details: dict | None


class DuplicateOut(BaseModel):
    id: int
    reg_number: str
    excerpt: str
    score: float
    status: Status


class DocumentOut(BaseModel):
    id: int
    number: str | None
    title: str
    body: str
    registered_at: datetime | None
    file: FileOut | None


class AppealRef(BaseModel):
    id: int
    reg_number: str


class ResidentAppealOut(BaseModel):
    """Another appeal of the same resident in the same town, for the card."""

    id: int
    reg_number: str
    status: Status
    registered_at: datetime
    excerpt: str


class StaffOut(BaseModel):
    id: int
    name: str
    roles: list[str]


class AppealCard(AppealListItem):
    text: str
    reply_address: str | None
    reply_address_type: str | None
    phone: str | None
    address: str | None
    lat: float | None
    lon: float | None
    map_url: str | None
    answer_required: bool
    no_answer_reason: str | None
    flagged_for_head: bool
    flagged_obscene: bool
    redirected_to: str | None
    extended: bool
    merged_into_id: int | None
    merged_into: AppealRef | None
    can_request_info: bool
    rating: int | None
    rating_comment: str | None
    can_redirect: bool
    allowed_statuses: list[Status]
    files: list[FileOut]
    comments: list[CommentOut]
    history: list[HistoryOut]
    duplicates: list[DuplicateOut]
    linked: list[DuplicateOut]
    documents: list[DocumentOut]
    # 59-FZ art. 11 p. 1: left without an answer for want of a name or reply address, not yet
    # forwarded as a report of a crime (POST .../forward-crime-report).
    can_forward_crime_report: bool = False
    resident_appeals: list[ResidentAppealOut] = Field(default_factory=list)  # newest first, up to 10


class StatusCounts(BaseModel):
    counts: dict[str, int]
    overdue: int


class AssignIn(BaseModel):
    assignee_id: Id | None = None  # None: take it yourself


class StatusIn(BaseModel):
    status: Literal["in_progress", "closed"]


class TextIn(BaseModel):
    text: Text(4000, min_length=1)


class RedirectIn(BaseModel):
    to: Text(300, min_length=2)


class ExtendIn(BaseModel):
    # The town's limit (at most 30 days) is checked by the rules, with their own message;
    # this bound only keeps the number one the database and the calendar can hold.
    days: int = Field(ge=-366, le=366)
    reason: Text(500, min_length=3)


class NoAnswerIn(BaseModel):
    reason: Literal["missing_name", "missing_reply_address", "obscene", "unreadable", "no_essence", "correspondence_stopped"]


class AnswerIn(BaseModel):
    body: Text(20000, min_length=10)


class MergeIn(BaseModel):
    into_id: Id


class DraftOut(BaseModel):
    body: str
    saved_at: datetime | None = None  # None: the template's text, nothing saved yet


class DraftIn(BaseModel):
    body: Text(20000)


class TemplateIn(BaseModel):
    body: Text(20000) | None = None  # None: back to the town's default


class TemplateOut(BaseModel):
    body: str
    fields: list[str]


class CrimeReportIn(BaseModel):
    """Where an appeal that reports a crime is forwarded (59-FZ art. 11 p. 1): the police,
    the prosecutor's office, another competent state body."""

    to: Text(300, min_length=2)  # type: ignore[valid-type]
