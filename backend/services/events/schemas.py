"""Input and output shapes of the events service."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from backend.fields import Id, Text
from backend.services.events.rules import Kind, Status


def _sane(moment: datetime) -> datetime:
    # Far years overflow when moved to UTC (a 500); no event is planned that far.
    if not 2000 <= moment.year <= 2100:
        raise ValueError("a date between the years 2000 and 2100")
    return moment


Moment = Annotated[AwareDatetime, AfterValidator(_sane)]


class Question(BaseModel):
    """A question of the registration form: free text, or one of `options`."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    text: Text(300, min_length=1)
    required: bool = True
    options: list[Text(64, min_length=1)] | None = Field(default=None, max_length=8)


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Text(200, min_length=1)
    starts_at: Moment
    ends_at: Moment
    place: Text(200) = ""

    @model_validator(mode="after")
    def _order(self) -> SessionIn:
        if self.ends_at < self.starts_at:
            raise ValueError("ends_at is before starts_at")
        return self


class EventIn(BaseModel):
    """An event as an organizer creates it."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind = Kind.PUBLIC
    title: Text(200, min_length=1)
    description: Text(4000) = ""
    venue_name: Text(200) = ""
    venue_address: Text(300) = ""
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    starts_at: Moment
    ends_at: Moment
    capacity: int | None = Field(default=None, ge=1, le=100_000)
    reserved: int = Field(default=0, ge=0, le=100_000)
    registration_opens_at: Moment | None = None
    registration_closes_at: Moment | None = None
    terms: Text(4000) = ""
    questions: list[Question] = Field(default_factory=list, max_length=20)
    team_min: int | None = Field(default=None, ge=1, le=50)
    team_max: int | None = Field(default=None, ge=1, le=50)
    sessions: list[SessionIn] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _coherent(self) -> EventIn:
        if self.ends_at < self.starts_at:
            raise ValueError("ends_at is before starts_at")
        if self.capacity is not None and self.reserved > self.capacity:
            raise ValueError("more places reserved than the capacity")
        if self.registration_opens_at and self.registration_closes_at and self.registration_closes_at < self.registration_opens_at:
            raise ValueError("registration closes before it opens")
        if self.team_min is not None and self.team_max is not None and self.team_min > self.team_max:
            raise ValueError("team_min is above team_max")
        if len({q.id for q in self.questions}) != len(self.questions):
            raise ValueError("two questions share an id")
        return self


class SessionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    place: str


class EventOut(BaseModel):
    id: int
    kind: Kind
    title: str
    description: str
    venue_name: str
    venue_address: str
    lat: float | None
    lon: float | None
    starts_at: datetime
    ends_at: datetime
    timezone: str
    capacity: int | None
    reserved: int
    places_left: int | None
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None
    terms: str
    questions: list[dict[str, Any]]
    team_min: int | None
    team_max: int | None
    sessions: list[SessionOut]


class Counts(BaseModel):
    registered: int = Field(description="People holding a place (registered, offered, checked in)")
    waitlisted: int
    checked_in: int


class EventStaffOut(EventOut):
    counts: Counts


class CheckInIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Text(200, min_length=1) = Field(description="The ticket's code as typed or scanned (a check-in link works too)")
    session_id: Id | None = None
    at: Moment | None = Field(default=None, description="When it was scanned, for check-ins queued offline")


class CheckInOut(BaseModel):
    result: Literal["checked_in", "already"]
    message: str
    code: str
    name: str
    first_at: datetime = Field(description="When the ticket was first used (for this session)")
    checked_in: int = Field(description="How many are checked in now (for this session)")


class ParticipantOut(BaseModel):
    registration_id: int
    code: str
    name: str
    status: Status
    team: str | None
    checked_in_at: datetime | None
    answers: dict[str, Any]


class ParticipantsOut(BaseModel):
    session_id: int | None
    counts: Counts
    participants: list[ParticipantOut]
