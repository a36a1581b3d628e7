"""The toy's one table.

A real service puts its models on `backend.db.Base` (so Alembic and the drift check see them)
and ships a migration. The toy is never migrated: it keeps its own metadata, which the tests
create on the test database and drop afterwards, so the shared metadata stays exactly what the
migrations build."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from backend.core.municipalities.models import Municipality
from backend.core.users.models import User
from backend.db import NAMING_CONVENTION, TimestampMixin


class ToyBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ToyNote(ToyBase, TimestampMixin):
    __tablename__ = "toy_note"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Columns of the core's tables, not names: they live in the other metadata.
    municipality_id: Mapped[int] = mapped_column(ForeignKey(Municipality.id, ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey(User.id, ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(200))
