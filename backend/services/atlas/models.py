"""The Atlas of Happiness: figures a town enters for the three factors, residents' stories
(moderated before anyone else sees them) and the town's places and communities."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, TimestampMixin, UTCDateTime, utcnow


class AtlasFigure(Base, TimestampMixin):
    """A figure the town enters for one factor of happiness, with where it comes from and
    the date it describes (e.g. «Средняя зарплата, 48 200 ₽, Росстат, 2026-01-01»)."""

    __tablename__ = "atlas_figure"
    __table_args__ = (Index("ix_atlas_figure_town", "municipality_id", "factor", "sort", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"))
    factor: Mapped[str] = mapped_column(String(16))  # employment, leisure, expectations
    title: Mapped[str] = mapped_column(String(200))
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(40), default="")
    source: Mapped[str] = mapped_column(String(300))
    as_of: Mapped[date] = mapped_column(Date)
    sort: Mapped[int] = mapped_column(Integer, default=100)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class AtlasStory(Base, TimestampMixin):
    """A resident's story about life in the town. Pending until an organizer approves it;
    only approved stories (and their photos) are public."""

    __tablename__ = "atlas_story"
    __table_args__ = (
        Index("ix_atlas_story_town", "municipality_id", "status", "id"),
        Index("ix_atlas_story_author", "author_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    signature: Mapped[str] = mapped_column(String(100))  # how the author wants to be named: «Анна, учитель»
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, approved, rejected
    moderated_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    moderated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reject_reason: Mapped[str | None] = mapped_column(String(500))


class AtlasPlace(Base, TimestampMixin):
    """A place (a park, a workshop, a café) or a community (a club, a volunteer group) of the
    town; with a point it is a pin on the page's map."""

    __tablename__ = "atlas_place"
    __table_args__ = (Index("ix_atlas_place_town", "municipality_id", "kind", "sort", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # place, community
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    link: Mapped[str | None] = mapped_column(String(300))  # its site or channel, https:// or t.me
    sort: Mapped[int] = mapped_column(Integer, default=100)
