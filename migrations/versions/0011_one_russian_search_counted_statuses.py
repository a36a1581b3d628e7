"""one Russian search: the index's key table with FTS5 (SQLite) or a tsvector and GIN
(PostgreSQL) beside it, filled from the appeals' search_text, which goes; appeals counted per
status by triggers, in the transaction of the change

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 23:50:00
"""
from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from alembic import op

# The same normaliser the app queries with: an index built any other way would find other rows.
from backend.core.search import normalize

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BATCH = 2000

# Appeals per (town, status, due day), merged reports left out - what the queue's counts show
# without a filter. An open appeal (registered, in progress, info requested: rules.OPEN_STATUSES)
# counts under the UTC day it is due, so "overdue" is a sum over past days plus today's few;
# the others under one day (NO_DAY), so a town has a handful of rows per status, not one per
# appeal. Kept by triggers so that no write path (services, bulk loads, a hand-made UPDATE)
# can forget it; a row that reaches zero goes. The update trigger takes its two rows in key
# order so that two transactions moving appeals in opposite directions cannot deadlock.
NO_DAY = "0001-01-01"
OPEN = "('registered', 'in_progress', 'info_requested')"
PG_COUNT_FUNCTION = f"""
CREATE FUNCTION appeal_status_count_apply() RETURNS trigger AS $$
DECLARE
    old_counted boolean := TG_OP <> 'INSERT' AND OLD.merged_into_id IS NULL;
    new_counted boolean := TG_OP <> 'DELETE' AND NEW.merged_into_id IS NULL;
    old_day date;
    new_day date;
BEGIN
    IF old_counted THEN
        old_day := CASE WHEN OLD.status IN {OPEN} THEN (OLD.due_at AT TIME ZONE 'UTC')::date ELSE DATE '{NO_DAY}' END;
    END IF;
    IF new_counted THEN
        new_day := CASE WHEN NEW.status IN {OPEN} THEN (NEW.due_at AT TIME ZONE 'UTC')::date ELSE DATE '{NO_DAY}' END;
    END IF;
    IF new_counted AND (NOT old_counted OR (NEW.municipality_id, NEW.status, new_day) < (OLD.municipality_id, OLD.status, old_day)) THEN
        INSERT INTO appeal_status_count (municipality_id, status, due_on, n) VALUES (NEW.municipality_id, NEW.status, new_day, 1)
        ON CONFLICT (municipality_id, status, due_on) DO UPDATE SET n = appeal_status_count.n + 1;
        new_counted := false;
    END IF;
    IF old_counted THEN
        UPDATE appeal_status_count SET n = n - 1
        WHERE municipality_id = OLD.municipality_id AND status = OLD.status AND due_on = old_day;
        DELETE FROM appeal_status_count
        WHERE municipality_id = OLD.municipality_id AND status = OLD.status AND due_on = old_day AND n = 0;
    END IF;
    IF new_counted THEN
        INSERT INTO appeal_status_count (municipality_id, status, due_on, n) VALUES (NEW.municipality_id, NEW.status, new_day, 1)
        ON CONFLICT (municipality_id, status, due_on) DO UPDATE SET n = appeal_status_count.n + 1;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""
PG_COUNT_TRIGGERS = (
    "CREATE TRIGGER appeal_status_count_insert_delete AFTER INSERT OR DELETE ON appeal "
    "FOR EACH ROW EXECUTE FUNCTION appeal_status_count_apply()",
    "CREATE TRIGGER appeal_status_count_update AFTER UPDATE OF status, merged_into_id, municipality_id, due_at ON appeal "
    "FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.municipality_id IS DISTINCT FROM NEW.municipality_id "
    "OR OLD.due_at IS DISTINCT FROM NEW.due_at OR (OLD.merged_into_id IS NULL) <> (NEW.merged_into_id IS NULL)) "
    "EXECUTE FUNCTION appeal_status_count_apply()",
)
# SQLite keeps a UTC timestamp as 'YYYY-MM-DD HH:MM:SS…' (backend.db.UTCDateTime): its first
# ten characters are the UTC day.
def _sqlite_day(row: str) -> str:
    return f"CASE WHEN {row}.status IN {OPEN} THEN substr({row}.due_at, 1, 10) ELSE '{NO_DAY}' END"


_SQLITE_ADD = (
    f"INSERT INTO appeal_status_count (municipality_id, status, due_on, n) SELECT NEW.municipality_id, NEW.status, "
    f"{_sqlite_day('NEW')}, 1 WHERE NEW.merged_into_id IS NULL "
    "ON CONFLICT (municipality_id, status, due_on) DO UPDATE SET n = n + 1;"
)
_SQLITE_SUB = (
    "UPDATE appeal_status_count SET n = n - 1 "
    f"WHERE OLD.merged_into_id IS NULL AND municipality_id = OLD.municipality_id AND status = OLD.status "
    f"AND due_on = {_sqlite_day('OLD')}; "
    "DELETE FROM appeal_status_count "
    f"WHERE OLD.merged_into_id IS NULL AND municipality_id = OLD.municipality_id AND status = OLD.status "
    f"AND due_on = {_sqlite_day('OLD')} AND n = 0;"
)
# NB: a later batch_alter_table("appeal") on SQLite recreates the table and drops these: such a
# migration must create them again (tests/core/search/test_appeals_search.py notices when it does not).
SQLITE_COUNT_TRIGGERS = (
    f"CREATE TRIGGER appeal_status_count_insert AFTER INSERT ON appeal BEGIN {_SQLITE_ADD} END",
    f"CREATE TRIGGER appeal_status_count_delete AFTER DELETE ON appeal BEGIN {_SQLITE_SUB} END",
    f"CREATE TRIGGER appeal_status_count_update AFTER UPDATE OF status, merged_into_id, municipality_id, due_at ON appeal "
    f"BEGIN {_SQLITE_SUB} {_SQLITE_ADD} END",
)


def _batches(conn: sa.Connection) -> Iterable[list[sa.Row]]:
    last = 0
    while True:
        rows = conn.execute(
            sa.text("SELECT id, municipality_id, search_text FROM appeal WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id


def upgrade() -> None:
    conn = op.get_bind()
    postgres = conn.dialect.name == "postgresql"
    op.create_table(
        "search_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_type", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["municipality_id"], ["municipality.id"], name=op.f("fk_search_entry_municipality_id_municipality"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_entry")),
        sa.UniqueConstraint("owner_type", "owner_id", name=op.f("uq_search_entry_owner_type_owner_id")),
    )
    if postgres:
        # The stems are given as lexemes ('simple' would not change them either): PostgreSQL
        # matches what the app normalised, never its own parse of the words.
        op.execute("ALTER TABLE search_entry ADD COLUMN tsv tsvector NOT NULL DEFAULT ''::tsvector")
    else:
        # `ascii` splits on spaces and folds nothing outside ASCII: the stems stay as given.
        op.execute("CREATE VIRTUAL TABLE search_fts USING fts5(body, tokenize = 'ascii')")

    # The appeals' searchable text as it was (number, name, address, text, the resident's replies).
    for rows in _batches(conn):
        if postgres:
            conn.execute(
                sa.text("INSERT INTO search_entry (owner_type, owner_id, municipality_id, tsv) "
                        "VALUES ('appeal', :id, :m, CAST(:v AS tsvector))"),
                [{"id": r.id, "m": r.municipality_id, "v": normalize.tsvector_literal(normalize.stems([r.search_text]))} for r in rows],
            )
        else:
            conn.execute(
                sa.text("INSERT INTO search_entry (id, owner_type, owner_id, municipality_id) VALUES (:id, 'appeal', :id, :m)"),
                [{"id": r.id, "m": r.municipality_id} for r in rows],
            )
            conn.execute(
                sa.text("INSERT INTO search_fts (rowid, body) VALUES (:id, :b)"),
                [{"id": r.id, "b": normalize.fts5_document(normalize.stems([r.search_text]))} for r in rows],
            )
    if postgres:
        # After the fill: one GIN build is much cheaper than maintaining it row by row.
        op.execute("CREATE INDEX ix_search_entry_tsv ON search_entry USING gin (tsv)")
    op.execute("ALTER TABLE appeal DROP COLUMN search_text")

    op.create_table(
        "appeal_status_count",
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["municipality_id"], ["municipality.id"], name=op.f("fk_appeal_status_count_municipality_id_municipality"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("municipality_id", "status", "due_on", name=op.f("pk_appeal_status_count")),
    )
    if postgres:
        op.execute(PG_COUNT_FUNCTION)
        for ddl in PG_COUNT_TRIGGERS:
            op.execute(ddl)
        day = f"CASE WHEN status IN {OPEN} THEN (due_at AT TIME ZONE 'UTC')::date ELSE DATE '{NO_DAY}' END"
    else:
        for ddl in SQLITE_COUNT_TRIGGERS:
            op.execute(ddl)
        day = f"CASE WHEN status IN {OPEN} THEN substr(due_at, 1, 10) ELSE '{NO_DAY}' END"
    op.execute(
        f"INSERT INTO appeal_status_count (municipality_id, status, due_on, n) "
        f"SELECT municipality_id, status, {day}, count(*) FROM appeal WHERE merged_into_id IS NULL "
        f"GROUP BY municipality_id, status, {day}"
    )


def downgrade() -> None:
    conn = op.get_bind()
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        op.execute("DROP TRIGGER appeal_status_count_update ON appeal")
        op.execute("DROP TRIGGER appeal_status_count_insert_delete ON appeal")
        op.execute("DROP FUNCTION appeal_status_count_apply()")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER appeal_status_count_{name}")
    op.drop_table("appeal_status_count")
    op.execute("ALTER TABLE appeal ADD COLUMN search_text TEXT NOT NULL DEFAULT ''")
    # Rebuilt as 0002's code made it: number, name, address and text, lower case, ё as е.
    last = 0
    while rows := conn.execute(
        sa.text("SELECT id, reg_number, full_name, address, text FROM appeal WHERE id > :last ORDER BY id LIMIT :n"),
        {"last": last, "n": BATCH},
    ).all():
        conn.execute(
            sa.text("UPDATE appeal SET search_text = :s WHERE id = :id"),
            [{"id": r.id, "s": " ".join(p for p in (r.reg_number, r.full_name, r.address, r.text) if p).lower().replace("ё", "е")}
             for r in rows],
        )
        last = rows[-1].id
    if not postgres:
        op.execute("DROP TABLE search_fts")
    op.drop_table("search_entry")
