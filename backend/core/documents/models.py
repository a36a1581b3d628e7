"""Documents (документооборот): every management process of a town ends in a Document with
requisites (number, date, author, signer, addressee), numbered per registry and year."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, TimestampMixin, UTCDateTime


class Direction(enum.StrEnum):
    INCOMING = "incoming"
    OUTGOING = "outgoing"
    INTERNAL = "internal"


class DocStatus(enum.StrEnum):
    DRAFT = "draft"
    SIGNED = "signed"
    REGISTERED = "registered"
    SENT = "sent"


class RegistrySequence(Base):
    """The last number given in one registry of one town in one year."""

    __tablename__ = "registry_sequence"
    __table_args__ = (UniqueConstraint("municipality_id", "journal", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"))
    journal: Mapped[str] = mapped_column(String(32))
    year: Mapped[int] = mapped_column(Integer)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class Document(Base, TimestampMixin):
    __tablename__ = "document"
    __table_args__ = (
        UniqueConstraint("municipality_id", "journal", "year", "seq"),
        Index("ix_document_origin", "origin_type", "origin_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))  # answer, letter, order, decree, memo, tech_spec ...
    journal: Mapped[str] = mapped_column(String(32))
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int | None] = mapped_column(Integer)
    number: Mapped[str | None] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    requisites: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=DocStatus.DRAFT.value)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    signer_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    origin_type: Mapped[str | None] = mapped_column(String(32))
    origin_id: Mapped[int | None] = mapped_column(Integer)
    file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id", ondelete="SET NULL"))
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DocumentLink(Base):
    """A relation between two documents (answer_to, supersedes, attachment_of ...)."""

    __tablename__ = "document_link"
    __table_args__ = (UniqueConstraint("from_id", "to_id", "relation"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    from_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"), index=True)
    to_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"), index=True)
    relation: Mapped[str] = mapped_column(String(32))


class DocumentTemplate(Base, TimestampMixin):
    """A Jinja2 template of a document body. `municipality_id` NULL: shared by every town."""

    __tablename__ = "document_template"
    __table_args__ = (UniqueConstraint("municipality_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
