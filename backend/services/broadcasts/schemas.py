"""Input and output shapes of broadcasts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backend.core.users.models import Role
from backend.fields import Id, Text
from backend.services.broadcasts.rules import CATEGORIES, MAX_BUTTON_ROWS, MAX_BUTTONS_PER_ROW

Category = Literal[tuple(CATEGORIES)]  # type: ignore[valid-type]


class ButtonIn(BaseModel):
    """A button under the message: a web link, a deep link into this bot (`start` payload), or
    a Mini App of the platform (its path under /app/)."""

    model_config = ConfigDict(extra="forbid")

    text: Text(64, min_length=1)
    kind: Literal["url", "deeplink", "miniapp"]
    value: Text(512, min_length=1)

    @model_validator(mode="after")
    def _value_fits_kind(self) -> ButtonIn:
        import re

        if not self.text.strip():
            raise ValueError("a button needs a caption")
        if self.kind == "url" and not re.fullmatch(r"https?://[^\s<>\"]+\.[^\s<>\"]+", self.value):
            raise ValueError("a link button needs an http(s) address")
        if self.kind == "deeplink" and not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", self.value):
            raise ValueError("a deep link is 1 to 64 letters, digits, _ or -")
        if self.kind == "miniapp" and not re.fullmatch(r"[a-z0-9_-]+/(?:[A-Za-z0-9_./#?=&-]*)", self.value):
            raise ValueError("a miniapp button names an app's path, e.g. events/")
        return self


Buttons = Annotated[
    list[Annotated[list[ButtonIn], Field(min_length=1, max_length=MAX_BUTTONS_PER_ROW)]], Field(max_length=MAX_BUTTON_ROWS)
]


class SegmentIn(BaseModel):
    """Who gets it: the town's people (all of them, or those holding one of `roles`), or a
    group another service keeps (`audience` with its `ref`, e.g. an event's registrants)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["town", "audience"] = "town"
    roles: list[Role] = Field(default_factory=list, max_length=len(Role))
    audience: Text(64, min_length=1) | None = None
    ref: Id | None = None

    @model_validator(mode="after")
    def _complete(self) -> SegmentIn:
        if self.kind == "audience" and (self.audience is None or self.ref is None):
            raise ValueError("an audience segment names the audience and its ref")
        return self


class BroadcastIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Text(200) = ""
    text: Text(20000, min_length=1)  # Telegram HTML; its visible length is checked against Telegram's limit
    buttons: Buttons = Field(default_factory=list)
    category: Category = "news"  # type: ignore[valid-type]
    segment: SegmentIn = Field(default_factory=SegmentIn)
    paid: bool = False


class PhotoIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: Text(200, min_length=1)
    mime: Literal["image/jpeg", "image/png", "image/webp"]
    data: str = Field(min_length=4, max_length=1_000_000, pattern=r"^[A-Za-z0-9+/=\s]+$", description="base64, at most ~700 KB of image")


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: datetime


class Progress(BaseModel):
    """Where delivery stands: counts per recipient state."""

    total: int = 0
    pending: int = 0
    sending: int = 0
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    uncertain: int = 0
    muted: int = 0
    remaining: int = 0  # pending + sending


class BroadcastOut(BaseModel):
    id: int
    title: str
    text: str
    buttons: list[list[ButtonIn]]
    category: str
    segment: SegmentIn
    paid: bool
    status: str
    has_photo: bool
    scheduled_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    created_at: datetime
    progress: Progress


class AudienceOut(BaseModel):
    name: str
    title: str


class CategoryOut(BaseModel):
    code: str
    title: str


class OptionsOut(BaseModel):
    """What the composer offers in this town."""

    categories: list[CategoryOut]
    roles: list[CategoryOut]
    audiences: list[AudienceOut]
    paid_enabled: bool
    paid_allowed: bool  # the town enables it and this person may use it


class CountOut(BaseModel):
    recipients: int


class Uncertain(BaseModel):
    user_id: int
    chat_id: int
    error: str | None


class ReportOut(BaseModel):
    broadcast: BroadcastOut
    uncertain: list[Uncertain]
