"""The key of the search index: one entry per indexed object. The engine's own index lives
beside it and is created by the migration for that engine only - SQLite: the FTS5 table
`search_fts` (rowid = entry id); PostgreSQL: the column `search_entry.tsv` (tsvector) with a
GIN index. Neither is in the metadata (see ENGINE_OWNED)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base

# What the migrations create for one engine only, which the model-drift check leaves alone:
# the FTS5 table and its shadow tables on SQLite, the tsvector column and its index on PostgreSQL.
FTS_TABLE = "search_fts"
TSV_COLUMN = "tsv"
TSV_INDEX = "ix_search_entry_tsv"


class SearchEntry(Base):
    """What an indexed object is: its owner (a service's type and id) and its town."""

    __tablename__ = "search_entry"
    __table_args__ = (UniqueConstraint("owner_type", "owner_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_type: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[int] = mapped_column(Integer)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"))


def engine_owned(name: str | None, type_: str, parent: str | None = None) -> bool:
    """Whether a reflected object is one of the engine-specific parts of the index."""
    if name is None:
        return False
    if type_ == "table":
        return name == FTS_TABLE or name.startswith(FTS_TABLE + "_")
    if type_ == "column":
        return parent == SearchEntry.__tablename__ and name == TSV_COLUMN
    if type_ == "index":
        return name == TSV_INDEX
    return False
