"""Events (the Glocal City Game, accelerator and investment sessions, public events), their
schedule, registrations with a waitlist, teams, and check-ins at the door."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, TimestampMixin, UTCDateTime, utcnow


class Event(Base, TimestampMixin):
    __tablename__ = "event"
    __table_args__ = (Index("ix_event_town_starts", "municipality_id", "starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    venue_name: Mapped[str] = mapped_column(String(200), default="")
    venue_address: Mapped[str] = mapped_column(String(300), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    capacity: Mapped[int | None] = mapped_column(Integer)  # None: no limit
    reserved: Mapped[int] = mapped_column(Integer, default=0)  # places registration never gives out
    # Places held by registered, offered and checked-in people. Changed only by conditional
    # UPDATEs (taken < limit), which is what makes the capacity race-free on both engines.
    taken: Mapped[int] = mapped_column(Integer, default=0)
    registration_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    registration_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    terms: Mapped[str] = mapped_column(Text, default="")
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{id, text, required, options}]
    team_min: Mapped[int | None] = mapped_column(Integer)
    team_max: Mapped[int | None] = mapped_column(Integer)  # None: the event has no teams
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))


class EventSession(Base):
    """One item of the event's schedule (a day of the Game, a pitch session)."""

    __tablename__ = "event_session"
    __table_args__ = (Index("ix_event_session_event", "event_id", "starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    place: Mapped[str] = mapped_column(String(200), default="")


class EventTeam(Base, TimestampMixin):
    """A team formed at the event (the Game's city teams around ideas)."""

    __tablename__ = "event_team"
    __table_args__ = (UniqueConstraint("event_id", "code"), UniqueConstraint("event_id", "name"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    code: Mapped[str] = mapped_column(String(8))
    captain_id: Mapped[int | None] = mapped_column(Integer)  # the captain's registration (no FK: the two tables would point at each other)
    members: Mapped[int] = mapped_column(Integer, default=0)  # changed by conditional UPDATEs, like Event.taken


class EventRegistration(Base, TimestampMixin):
    __tablename__ = "event_registration"
    __table_args__ = (
        UniqueConstraint("event_id", "code"),
        UniqueConstraint("event_id", "user_id"),
        # The waitlist in order, first come first served.
        Index("ix_event_registration_queue", "event_id", "status", "waitlisted_at", "id"),
        Index("ix_event_registration_user", "user_id"),
        Index("ix_event_registration_offers", "status", "offer_expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))  # None once erased
    status: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(8))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    terms_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    waitlisted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str | None] = mapped_column(String(24))  # by_person, offer_expired, erased
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    team_id: Mapped[int | None] = mapped_column(ForeignKey("event_team.id", ondelete="SET NULL"))
    reminded_day_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminded_hour_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class EventCheckIn(Base):
    """A ticket used at the door: once for the event and once per session of its schedule;
    the unique key makes a second scan (or a queued check-in sent twice) find the first."""

    __tablename__ = "event_check_in"
    __table_args__ = (UniqueConstraint("registration_id", "scope"), Index("ix_event_check_in_event", "event_id", "scope"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    registration_id: Mapped[int] = mapped_column(ForeignKey("event_registration.id", ondelete="CASCADE"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("event_session.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(16))  # "event" or the session's id
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)  # when the organizer scanned it
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
