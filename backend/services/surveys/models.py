"""Surveys, their versions of questions, responses, and the keyed hashes that keep anonymous
surveys to one response a person.

Anonymous mode: `survey_response` rows then hold no user id and a submission time rounded
to the day; `survey_voter` holds only HMAC(server secret, survey id, user id), with no id,
no time and no reference to a response, so neither table, nor the two together, tell whose
answers are whose.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, TimestampMixin, UTCDateTime, utcnow


class Survey(Base, TimestampMixin):
    __tablename__ = "survey"
    __table_args__ = (Index("ix_survey_town_status", "municipality_id", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft, open, closed
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # rules.Audience
    template: Mapped[str | None] = mapped_column(String(32))  # made from a template: its code
    current_version_id: Mapped[int | None] = mapped_column(Integer)  # no FK: versions refer to the survey
    results_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class SurveyVersion(Base, TimestampMixin):
    """One edition of the questions. Locked once the first response to it arrives: changing
    the questions then makes a new version, so every response reads against what it answered."""

    __tablename__ = "survey_version"
    __table_args__ = (UniqueConstraint("survey_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [rules.Question]
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SurveyResponse(Base):
    """One person's answers. `user_id` is NULL, and `submitted_at` a day, in anonymous surveys."""

    __tablename__ = "survey_response"
    __table_args__ = (
        # One per person in identified surveys (NULLs, the anonymous ones, never collide).
        UniqueConstraint("survey_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("survey_version.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(16), default="bot")  # bot, miniapp, poll
    # Anonymous responses: SHA-256 of a random key that only the respondent's chat holds (in
    # the button under the bot's thank-you), so they can change their answers until the
    # survey closes while nothing here says whose they are.
    edit_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SurveyVoter(Base):
    """"Someone has answered": a keyed hash per person and survey, nothing else."""

    __tablename__ = "survey_voter"

    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
