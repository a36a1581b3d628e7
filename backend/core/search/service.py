"""Indexing and matching, engine-neutral for callers: a service indexes what it wants found
in the same transaction as the write (so the index never lags the data), removes it when the
object goes, and filters its own queries by `matching(...)`."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Float, Select, String, cast, column, false, func, literal, literal_column, select, table, text
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.search import normalize
from backend.core.search.models import FTS_TABLE, SearchEntry

_fts = table(FTS_TABLE, column("rowid"), column("body"))
_entry = SearchEntry.__table__
_tsv = literal_column("search_entry.tsv", TSVECTOR)  # PostgreSQL only: created by the migration


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def index(
    session: AsyncSession, *, owner_type: str, owner_id: int, municipality_id: int, texts: Sequence[str | None]
) -> None:
    """Index (or index again) an object's texts under its owner key, in the caller's transaction."""
    terms = normalize.stems(texts)
    entry_id = await session.scalar(
        select(SearchEntry.id).where(SearchEntry.owner_type == owner_type, SearchEntry.owner_id == owner_id)
    )
    postgres = _dialect(session) == "postgresql"
    if entry_id is None:
        if postgres:
            await session.execute(
                text("INSERT INTO search_entry (owner_type, owner_id, municipality_id, tsv) "
                     "VALUES (:t, :o, :m, CAST(:v AS tsvector))"),
                {"t": owner_type, "o": owner_id, "m": municipality_id, "v": normalize.tsvector_literal(terms)},
            )
            return
        entry_id = await session.scalar(
            _entry.insert().values(owner_type=owner_type, owner_id=owner_id, municipality_id=municipality_id)
            .returning(_entry.c.id)
        )
    elif postgres:
        await session.execute(
            text("UPDATE search_entry SET municipality_id = :m, tsv = CAST(:v AS tsvector) WHERE id = :id"),
            {"m": municipality_id, "v": normalize.tsvector_literal(terms), "id": entry_id},
        )
        return
    else:
        await session.execute(_entry.update().where(_entry.c.id == entry_id).values(municipality_id=municipality_id))
        await session.execute(text(f"DELETE FROM {FTS_TABLE} WHERE rowid = :id"), {"id": entry_id})
    await session.execute(
        text(f"INSERT INTO {FTS_TABLE} (rowid, body) VALUES (:id, :b)"), {"id": entry_id, "b": normalize.fts5_document(terms)}
    )


async def remove(session: AsyncSession, *, owner_type: str, owner_id: int) -> None:
    """Take an object out of the index, in the caller's transaction."""
    entry_id = await session.scalar(
        select(SearchEntry.id).where(SearchEntry.owner_type == owner_type, SearchEntry.owner_id == owner_id)
    )
    if entry_id is None:
        return
    if _dialect(session) == "sqlite":
        await session.execute(text(f"DELETE FROM {FTS_TABLE} WHERE rowid = :id"), {"id": entry_id})
    await session.execute(_entry.delete().where(_entry.c.id == entry_id))


@dataclass(frozen=True)
class Match:
    """A query's matches as SQL: `ids` selects the matching owner ids of one type in one town,
    `ranked` the same ids with a `rank` (higher is better) to join and order by."""

    terms: tuple[str, ...]
    ranked: Select

    @property
    def ids(self) -> Select:
        """The matching owner ids alone, for `... IN (ids)`."""
        return self.ranked.with_only_columns(self.ranked.selected_columns.owner_id, maintain_column_froms=True)


def matching(session: AsyncSession, *, owner_type: str, municipality_id: int, query: str) -> Match:
    """The objects of one type in one town whose indexed texts hold every word of `query` in
    some form; a query without a single word matches nothing."""
    terms = normalize.query_terms(query)
    owner = _entry.c.owner_id.label("owner_id")
    where = (_entry.c.municipality_id == municipality_id, _entry.c.owner_type == owner_type)
    if not terms:
        return Match((), select(owner, literal_column("0.0", Float).label("rank")).where(false()))
    if _dialect(session) == "postgresql":
        q = cast(literal(normalize.tsquery_literal(terms), String()), TSQUERY)
        # Normalisation 1 divides by 1 + log(length), as bm25 favours the shorter of two texts.
        rank = func.ts_rank(_tsv, q, literal_column("1"), type_=Float)
        stmt = select(owner, rank.label("rank")).where(_tsv.op("@@")(q), *where)
        return Match(tuple(terms), stmt)
    # bm25 is lower-is-better; negated, both engines rank higher-is-better.
    stmt = (
        select(owner, literal_column(f"-bm25({FTS_TABLE})", Float).label("rank"))
        .select_from(_fts.join(_entry, _entry.c.id == _fts.c.rowid))
        .where(literal_column(FTS_TABLE).op("MATCH")(normalize.fts5_query(terms)), *where)
    )
    return Match(tuple(terms), stmt)


def snippet(source: str, query: str, *, width: int = 160, mark: str = "mark") -> str | None:
    """A piece of `source` around the first word the query matches, HTML-escaped, with every
    matched word form inside <mark>…</mark>; None when no word of the text matches (the match
    was in another indexed text, or there is no query)."""
    terms = set(normalize.query_terms(query))
    if not terms or not source:
        return None
    hits = [(m.start(), m.end()) for m in normalize.words(source) if normalize.stem(normalize.fold(m.group())) in terms]
    if not hits:
        return None
    # The window starts a little before the first hit, on a word boundary, and ends on one.
    first = hits[0][0]
    start = max(0, first - width // 4)
    if start > 0:
        space = source.rfind(" ", 0, start)
        start = space + 1 if space >= 0 and first - space <= width // 2 else start
    end = min(len(source), start + width)
    if end < len(source):
        space = source.rfind(" ", hits[0][1], end)
        end = space if space > 0 else end
    out, at = [], start
    for s, e in hits:
        if s < start or e > end:
            continue
        out.append(html.escape(source[at:s]))
        out.append(f"<{mark}>{html.escape(source[s:e])}</{mark}>")
        at = e
    out.append(html.escape(source[at:end]))
    body = " ".join("".join(out).split())
    return ("…" if start > 0 else "") + body + ("…" if end < len(source) else "")
