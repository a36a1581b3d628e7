"""A town's own bot, as the platform keeps it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow


class TownBot(Base):
    """One town's bot from @BotFather. The token is stored encrypted (backend/core/bots/vault.py)
    and never leaves the server: APIs show the username and a masked hint."""

    __tablename__ = "town_bot"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)  # Telegram's bot id
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"), unique=True)
    username: Mapped[str] = mapped_column(String(64))
    token_encrypted: Mapped[str] = mapped_column(Text)
    token_hint: Mapped[str] = mapped_column(String(40))  # "<id>:…<last 4>", for people to recognise it
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    connected_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
