"""Where a person is in a dialog with the bot, and what it has collected so far.

Kept in the database, in the same transaction as the update's other effects: a draft that
was saved is there after a crash, a restart or a redeploy, and a step whose effects rolled
back has not moved the dialog either.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow


class DialogState(Base):
    __tablename__ = "dialog_state"
    __table_args__ = (Index("ix_dialog_state_updated", "updated_at"),)

    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # channel, account, chat, person
    state: Mapped[str | None] = mapped_column(String(128))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
