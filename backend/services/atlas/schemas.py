"""What the Atlas's API takes and gives. Every field bounded (backend/fields.py), so bad input
is a 422 naming the field."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.core.components.manifest import Factor
from backend.fields import Text

StoryStatus = Literal["pending", "approved", "rejected"]
PlaceKind = Literal["place", "community"]
MAX_PHOTOS = 3


class FigureIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    factor: Factor
    title: Text(200, min_length=2)
    value: float = Field(ge=-1e12, le=1e12, allow_inf_nan=False)
    unit: Text(40) = ""
    source: Text(300, min_length=2)
    as_of: date = Field(ge=date(1900, 1, 1), le=date(2100, 12, 31))
    sort: int = Field(default=100, ge=0, le=10_000)


class FigureOut(FigureIn):
    id: int


class PlaceIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: PlaceKind
    name: Text(200, min_length=2)
    description: Text(1000) = ""
    lat: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False)
    lon: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)
    link: str | None = Field(default=None, max_length=300, pattern=r"^https://[^\s\x00]+$")
    sort: int = Field(default=100, ge=0, le=10_000)


class PlaceOut(PlaceIn):
    id: int


class StoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Text(200, min_length=3)
    body: Text(4000, min_length=20)
    signature: Text(100, min_length=2)


class StoryOut(BaseModel):
    id: int
    title: str
    body: str
    signature: str
    status: StoryStatus
    created_at: datetime
    moderated_at: datetime | None = None
    reject_reason: str | None = None
    photos: list[int] = Field(default_factory=list, description="ids of the story's photos (files of the town)")
    mine: bool = False


class ModerateIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    decision: Literal["approve", "reject"]
    reason: Text(500) | None = None


class SectionOut(BaseModel):
    key: str
    title: str
    shown: bool


class CurationOut(BaseModel):
    """Everything the curation miniapp shows at once."""

    page_url: str
    settings: dict = Field(description="the town's Atlas settings (AtlasSettings)")
    sections: list[SectionOut]
    figures: list[FigureOut]
    places: list[PlaceOut]
    stories: list[StoryOut]


class MineOut(BaseModel):
    """A resident's view: the page's address and their own stories."""

    page_url: str
    may_curate: bool
    stories: list[StoryOut]
