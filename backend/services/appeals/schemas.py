"""Input and output shapes of the appeals service."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.fields import Id, Text
from backend.services.appeals.rules import Kind, Status

MAX_ATTACHMENTS = 10


class AppealDraft(BaseModel):
    """What a resident (or an Open311 client) files."""

    kind: Kind
    category_id: int
    text: str = Field(min_length=1)
    full_name: str | None = Field(default=None, max_length=256)
    reply_address: str | None = Field(default=None, max_length=500)
    phone: str | None = Field(default=None, max_length=32)
    address: str | None = Field(default=None, max_length=500)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    file_ids: list[int] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    mentions_crime: bool = False


class QueueFilters(BaseModel):
    status: list[Status] = Field(default_factory=list)
    kind: list[Kind] = Field(default_factory=list)
    category_id: int | None = None
    department_id: int | None = None
    assignee: Literal["me", "none"] | int | None = None
    overdue: bool = False
    due_within_days: int | None = Field(default=None, ge=0, le=366)
    q: str | None = Field(default=None, max_length=200)
    include_merged: bool = False


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
    assignee_id: int | None
    assignee_name: str | None
    full_name: str | None
    excerpt: str
    registered_at: datetime
    due_at: datetime
    deadline: str  # ok, due_soon, overdue, none
    attachments: int = 0
    source: str = "bot"  # bot, open311, miniapp


class QueuePage(BaseModel):
    items: list[AppealListItem]
    next_cursor: str | None


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


class StatusCounts(BaseModel):
    counts: dict[str, int]
    overdue: int


class AssignIn(BaseModel):
    assignee_id: int | None = None  # None: take it yourself


class StatusIn(BaseModel):
    status: Literal["in_progress", "closed"]


class TextIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class RedirectIn(BaseModel):
    to: str = Field(min_length=2, max_length=300)


class ExtendIn(BaseModel):
    days: int  # the town's limit is checked by the rules, with their own message
    reason: str = Field(min_length=3, max_length=500)


class NoAnswerIn(BaseModel):
    reason: Literal["missing_name", "missing_reply_address", "obscene", "unreadable", "no_essence", "correspondence_stopped"]


class AnswerIn(BaseModel):
    body: str = Field(min_length=10, max_length=20000)


class MergeIn(BaseModel):
    into_id: int


class DraftOut(BaseModel):
    body: str


class TemplateIn(BaseModel):
    body: str | None = Field(default=None, max_length=20000)  # None: back to the town's default


class TemplateOut(BaseModel):
    body: str
    fields: list[str]


class CrimeReportIn(BaseModel):
    """Where an appeal that reports a crime is forwarded (59-FZ art. 11 p. 1): the police,
    the prosecutor's office, another competent state body."""

    to: Text(300, min_length=2)  # type: ignore[valid-type]
