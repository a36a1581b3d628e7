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

# Appeals per (town, status), merged reports left out - what the queue's counts show without a
# filter. Kept by triggers so that no write path (services, bulk loads, a hand-made UPDATE) can
# forget it; the update trigger takes the two rows in status order so two transactions moving
# appeals in opposite directions cannot deadlock.
PG_COUNT_FUNCTION = """
CREATE FUNCTION appeal_status_count_apply() RETURNS trigger AS $$
DECLARE
    old_counted boolean := TG_OP <> 'INSERT' AND OLD.merged_into_id IS NULL;
    new_counted boolean := TG_OP <> 'DELETE' AND NEW.merged_into_id IS NULL;
BEGIN
    IF new_counted AND (NOT old_counted OR NEW.status < OLD.status) THEN
        INSERT INTO appeal_status_count (municipality_id, status, n) VALUES (NEW.municipality_id, NEW.status, 1)
        ON CONFLICT (municipality_id, status) DO UPDATE SET n = appeal_status_count.n + 1;
        new_counted := false;
    END IF;
    IF old_counted THEN
        UPDATE appeal_status_count SET n = n - 1 WHERE municipality_id = OLD.municipality_id AND status = OLD.status;
    END IF;
    IF new_counted THEN
        INSERT INTO appeal_status_count (municipality_id, status, n) VALUES (NEW.municipality_id, NEW.status, 1)
        ON CONFLICT (municipality_id, status) DO UPDATE SET n = appeal_status_count.n + 1;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""
PG_COUNT_TRIGGERS = (
    "CREATE TRIGGER appeal_status_count_insert_delete AFTER INSERT OR DELETE ON appeal "
    "FOR EACH ROW EXECUTE FUNCTION appeal_status_count_apply()",
    "CREATE TRIGGER appeal_status_count_update AFTER UPDATE OF status, merged_into_id, municipality_id ON appeal "
    "FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.municipality_id IS DISTINCT FROM NEW.municipality_id "
    "OR (OLD.merged_into_id IS NULL) <> (NEW.merged_into_id IS NULL)) EXECUTE FUNCTION appeal_status_count_apply()",
)
_SQLITE_ADD = (
    "INSERT INTO appeal_status_count (municipality_id, status, n) SELECT NEW.municipality_id, NEW.status, 1 "
    "WHERE NEW.merged_into_id IS NULL ON CONFLICT (municipality_id, status) DO UPDATE SET n = n + 1;"
)
_SQLITE_SUB = (
    "UPDATE appeal_status_count SET n = n - 1 "
    "WHERE OLD.merged_into_id IS NULL AND municipality_id = OLD.municipality_id AND status = OLD.status;"
)
# NB: a later batch_alter_table("appeal") on SQLite recreates the table and drops these: such a
# migration must create them again (tests/core/search/test_counts.py notices when it does not).
SQLITE_COUNT_TRIGGERS = (
    f"CREATE TRIGGER appeal_status_count_insert AFTER INSERT ON appeal BEGIN {_SQLITE_ADD} END",
    f"CREATE TRIGGER appeal_status_count_delete AFTER DELETE ON appeal BEGIN {_SQLITE_SUB} END",
    f"CREATE TRIGGER appeal_status_count_update AFTER UPDATE OF status, merged_into_id, municipality_id ON appeal "
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
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["municipality_id"], ["municipality.id"], name=op.f("fk_appeal_status_count_municipality_id_municipality"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("municipality_id", "status", name=op.f("pk_appeal_status_count")),
    )
    if postgres:
        op.execute(PG_COUNT_FUNCTION)
        for ddl in PG_COUNT_TRIGGERS:
            op.execute(ddl)
    else:
        for ddl in SQLITE_COUNT_TRIGGERS:
            op.execute(ddl)
    op.execute(
        "INSERT INTO appeal_status_count (municipality_id, status, n) "
        "SELECT municipality_id, status, count(*) FROM appeal WHERE merged_into_id IS NULL GROUP BY municipality_id, status"
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
