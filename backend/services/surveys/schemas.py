"""What the surveys API takes and gives."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue

from backend.fields import Text
from backend.services.surveys.rules import MAX_QUESTIONS, Audience, Question, QuestionResult

Status = Literal["draft", "open", "closed"]


class SurveyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Text(200, min_length=1)
    description: Text(4000) = ""
    anonymous: bool = False
    opens_at: AwareDatetime | None = None
    closes_at: AwareDatetime | None = None
    audience: Audience = Field(default_factory=Audience)
    questions: list[Question] = Field(default_factory=list, max_length=MAX_QUESTIONS)


class SurveyPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Text(200, min_length=1) | None = None
    description: Text(4000) | None = None
    anonymous: bool | None = None
    opens_at: AwareDatetime | None = None
    closes_at: AwareDatetime | None = None
    audience: Audience | None = None


class QuestionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    questions: list[Question] = Field(max_length=MAX_QUESTIONS)


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template: Literal["maturity_audit"] = "maturity_audit"


class SurveyListItem(BaseModel):
    id: int
    title: str
    anonymous: bool
    status: Status
    accepting: bool
    opens_at: datetime | None
    closes_at: datetime | None
    responses: int
    results_published: bool


class SurveyOut(SurveyListItem):
    description: str
    audience: Audience
    audience_resolved: bool = Field(description="false: communities and topics are not resolved yet; the whole town may answer")
    version: int
    locked: bool = Field(description="The current questions have answers: editing them makes a new version")
    questions: list[Question]


class ResultsOut(BaseModel):
    survey_id: int
    responses: int
    eligible: int | None = Field(description="People in the audience, where it can be counted")
    questions: list[QuestionResult]


class FormOut(BaseModel):
    """A survey as a resident answers it."""

    id: int
    title: str
    description: str
    anonymous: bool
    accepting: bool
    questions: list[Question]
    answered: bool
    can_change: bool = Field(description="Whether a new submission replaces the person's earlier one")
    answers: dict[str, Any] = Field(default_factory=dict, description="The person's earlier answers (identified surveys)")


class ResponseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: dict[Text(16), JsonValue] = Field(max_length=MAX_QUESTIONS)
    consent: bool = Field(default=False, description="Identified surveys: the person accepts the personal-data policy")


class ResponseOut(BaseModel):
    survey_id: int
    answered: bool
    replaced: bool
