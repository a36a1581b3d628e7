"""Regions, municipalities (the tenants) and their departments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, TimestampMixin, UTCDateTime


class Region(Base, TimestampMixin):
    __tablename__ = "region"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Municipality(Base, TimestampMixin):
    """A town: one tenant with its own data, departments and settings."""

    __tablename__ = "municipality"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id", ondelete="SET NULL"))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Moscow")
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Department(Base, TimestampMixin):
    """A unit of the town's administration that categories route to and staff belong to."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # The name in the cases letters need ("начальник отдела ЖКХ", "рассмотрено отделом ЖКХ"),
    # where the town writes them; otherwise backend/core/documents/russian.py derives them.
    name_genitive: Mapped[str | None] = mapped_column(String(200))
    name_instrumental: Mapped[str | None] = mapped_column(String(200))
    # An archived department keeps its name on old records (appeals, answers) but takes no
    # new categories or staff; one nothing refers to can be deleted instead.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
