"""Appeals (59-FZ) and problem reports: one table, told apart by `kind`."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, TimestampMixin, UTCDateTime, utcnow


class AppealCategory(Base, TimestampMixin):
    """A town's category of appeals, routed to a department; also an Open311 service."""

    __tablename__ = "appeal_category"
    __table_args__ = (UniqueConstraint("municipality_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(500), default="")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="SET NULL"))
    answer_template: Mapped[str | None] = mapped_column(Text)  # Jinja2; None: the town's or the shared default
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort: Mapped[int] = mapped_column(Integer, default=100)


class Appeal(Base, TimestampMixin):
    __tablename__ = "appeal"
    __table_args__ = (
        UniqueConstraint("municipality_id", "reg_number"),
        # The queue reads one town by due date with a keyset on (due_at, id): each common
        # filter has an index ending in (due_at, id), so the first and a deep page cost alike.
        Index("ix_appeal_town_due", "municipality_id", "due_at", "id"),
        Index("ix_appeal_town_kind_due", "municipality_id", "kind", "due_at", "id"),
        Index("ix_appeal_town_category", "municipality_id", "category_id", "due_at", "id"),
        Index("ix_appeal_town_assignee", "municipality_id", "assignee_id", "due_at", "id"),
        # Counts per status skip merged reports; a partial index answers them from the index alone.
        Index(
            "ix_appeal_queue", "municipality_id", "status", "due_at", "id",
            sqlite_where=text("merged_into_id IS NULL"), postgresql_where=text("merged_into_id IS NULL"),
        ),
        Index("ix_appeal_author", "author_id", "id"),
        # The queue by registration (newest or oldest first) keysets on (registered_at, id),
        # read forwards or backwards. The kind index is also Open311's public list of reports.
        Index("ix_appeal_town_registered", "municipality_id", "registered_at", "id"),
        Index("ix_appeal_town_kind_registered", "municipality_id", "kind", "registered_at", "id"),
        Index("ix_appeal_town_category_registered", "municipality_id", "category_id", "registered_at", "id"),
        Index("ix_appeal_town_assignee_registered", "municipality_id", "assignee_id", "registered_at", "id"),
        Index(
            "ix_appeal_queue_registered", "municipality_id", "status", "registered_at", "id",
            sqlite_where=text("merged_into_id IS NULL"), postgresql_where=text("merged_into_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("appeal_category.id", ondelete="SET NULL"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="SET NULL"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    source: Mapped[str] = mapped_column(String(16), default="bot")  # bot, open311, miniapp

    # What the citizen gave: copies, so the record stays as filed (and anonymizable).
    full_name: Mapped[str | None] = mapped_column(String(256))
    reply_address: Mapped[str | None] = mapped_column(String(500))
    reply_address_type: Mapped[str | None] = mapped_column(String(8))  # email, postal
    phone: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(500))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)

    reg_number: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    extended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    extension_reason: Mapped[str | None] = mapped_column(String(500))
    redirected_to: Mapped[str | None] = mapped_column(String(300))
    redirected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    answer_required: Mapped[bool] = mapped_column(Boolean, default=True)
    no_answer_reason: Mapped[str | None] = mapped_column(String(300))  # a msgid, or a clerk's own words
    route_to_competent_body: Mapped[bool] = mapped_column(Boolean, default=False)
    flagged_obscene: Mapped[bool] = mapped_column(Boolean, default=False)
    flagged_for_head: Mapped[bool] = mapped_column(Boolean, default=False)  # repeated: stop correspondence?
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("appeal.id", ondelete="SET NULL"))

    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answer_document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id", ondelete="SET NULL"))
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(String(1000))
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    open311_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


NO_DAY = date(1, 1, 1)  # the day of every appeal not open: its deadline no longer runs


class AppealStatusCount(Base):
    """How many appeals of a town are in a status, merged reports left out - open ones per UTC
    day they are due, the others under NO_DAY: the queue's counts and overdue without a filter
    in a few rows at any size. Kept exact by triggers on `appeal` (migration 0011) in the
    transaction of every insert, status change, merge and extension."""

    __tablename__ = "appeal_status_count"

    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(24), primary_key=True)
    due_on: Mapped[date] = mapped_column(Date, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class AppealComment(Base, TimestampMixin):
    """Internal notes of clerks, requests for information, and the resident's replies."""

    __tablename__ = "appeal_comment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(16))  # note, info_request, resident_reply
    body: Mapped[str] = mapped_column(Text)


class AppealLink(Base, TimestampMixin):
    """A repeated appeal linked to earlier ones of the same author (59-FZ art. 11 p. 5)."""

    __tablename__ = "appeal_link"
    __table_args__ = (UniqueConstraint("appeal_id", "related_id", "relation"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id", ondelete="CASCADE"), index=True)
    related_id: Mapped[int] = mapped_column(ForeignKey("appeal.id", ondelete="CASCADE"))
    relation: Mapped[str] = mapped_column(String(16))  # repeat, duplicate


class AppealAnswerDraft(Base):
    """The answer a clerk is writing, kept until it is sent or discarded: one per appeal, the
    last save wins (whoever of the clerks made it)."""

    __tablename__ = "appeal_answer_draft"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id", ondelete="CASCADE"), unique=True)
    body: Mapped[str] = mapped_column(Text)
    saved_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AppealReminder(Base):
    """A deadline reminder that went out; the unique key makes every reminder fire once."""

    __tablename__ = "appeal_reminder"
    __table_args__ = (UniqueConstraint("appeal_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)


class Open311Key(Base, TimestampMixin):
    """An API key a town admin issues so an Open311 client may POST reports."""

    __tablename__ = "open311_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
