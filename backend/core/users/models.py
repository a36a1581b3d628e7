"""People and their roles in towns."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, TimestampMixin, UTCDateTime, utcnow


class Role(enum.StrEnum):
    RESIDENT = "resident"
    ENTREPRENEUR = "entrepreneur"
    INVESTOR = "investor"
    MENTOR = "mentor"
    TUTOR = "tutor"
    CLERK = "clerk"
    DEPARTMENT_HEAD = "department_head"
    HEAD = "head"
    ORGANIZER = "organizer"
    ADMIN = "admin"


class IdentityLevel(enum.StrEnum):
    """How sure the town is of who the person is (59-FZ appeals need a configured level)."""

    TELEGRAM = "telegram"  # a chat account only
    PHONE = "phone"  # phone number shared through Telegram's contact button
    ESIA = "esia"  # Gosuslugi (ESIA) identification

    @property
    def rank(self) -> int:
        return {"telegram": 0, "phone": 1, "esia": 2}[self.value]


class User(Base, TimestampMixin):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # NULL once the person asked to be forgotten: the row stays for records the law keeps.
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    first_name: Mapped[str | None] = mapped_column(String(128))
    last_name: Mapped[str | None] = mapped_column(String(128))
    username: Mapped[str | None] = mapped_column(String(64))
    full_name: Mapped[str | None] = mapped_column(String(256))
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    postal_address: Mapped[str | None] = mapped_column(String(500))
    locale: Mapped[str | None] = mapped_column(String(8))
    identity_level: Mapped[str] = mapped_column(String(16), default=IdentityLevel.TELEGRAM.value)
    current_municipality_id: Mapped[int | None] = mapped_column(
        ForeignKey("municipality.id", ondelete="SET NULL")
    )
    is_platform_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    bot_blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    anonymized_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or (self.username or "")


class Membership(Base, TimestampMixin):
    """A role a person holds in one town; a person may hold several, in several towns."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "municipality_id", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="SET NULL"))


class StaffInvite(Base, TimestampMixin):
    """A one-time link (t.me/<bot>?start=inv_<code>) that gives whoever opens it first a role
    in a town; only the code's hash is kept, so the table cannot be read for working links."""

    __tablename__ = "staff_invite"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="SET NULL"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
