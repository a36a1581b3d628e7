"""Stored files (attachments, rendered documents): bytes on disk, metadata here."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, TimestampMixin


class StoredFile(Base, TimestampMixin):
    __tablename__ = "stored_file"
    __table_args__ = (Index("ix_stored_file_owner", "owner_type", "owner_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"), index=True)
    owner_type: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[int | None] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(200))
    mime: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
