"""Broadcasts, one row per recipient (the delivery's durable state), and residents' mutes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, TimestampMixin, UTCDateTime, utcnow


class Broadcast(Base, TimestampMixin):
    __tablename__ = "broadcast"
    __table_args__ = (
        Index("ix_broadcast_town", "municipality_id", "id"),
        Index("ix_broadcast_status", "status", "scheduled_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200), default="")  # for the organizers' list only
    text: Mapped[str] = mapped_column(Text)  # Telegram HTML, checked when saved
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id", ondelete="SET NULL"))
    # Rows of buttons: [[{"text", "kind": url|deeplink|miniapp, "value"}]]
    buttons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    category: Mapped[str] = mapped_column(String(16), default="news")
    # {"kind": "town", "roles": [...]} or {"kind": "<audience>", "ref": <id>}: resolved at start
    segment: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    paid: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    total: Mapped[int] = mapped_column(Integer, default=0)  # recipients materialised at start
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class BroadcastRecipient(Base):
    """One person of one broadcast. Claimed by a worker under a lease (`claimed_by`,
    `lease_until`); `sending` is written before the call to Telegram, the outcome after it."""

    __tablename__ = "broadcast_recipient"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "user_id"),
        # Workers claim pending rows of a broadcast in id order; the report counts by (broadcast, state).
        Index("ix_broadcast_recipient_due", "broadcast_id", "state", "id"),
        # Rows left in flight are found by state and lease across broadcasts.
        Index("ix_broadcast_recipient_lease", "state", "lease_until"),
        Index("ix_broadcast_recipient_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcast.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(48))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(300))


class BroadcastMute(Base, TimestampMixin):
    """A resident does not want a category of a town's announcements ("*": none of them)."""

    __tablename__ = "broadcast_mute"
    __table_args__ = (UniqueConstraint("user_id", "municipality_id", "category"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"), index=True)
    category: Mapped[str] = mapped_column(String(16))
