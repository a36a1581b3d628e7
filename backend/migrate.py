"""Alembic, driven from code: `glocal migrate`, start-up and tests use the same path."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from backend.settings import ROOT


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply migrations (blocking; call from a thread inside an event loop)."""
    command.upgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str) -> None:
    await asyncio.to_thread(upgrade, database_url)


def include_object(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001
    """Alembic's filter: the search index's engine-specific parts (an FTS5 table on SQLite, a
    tsvector column and its GIN index on PostgreSQL) live in the migrations, not the models."""
    from backend.core.search.models import engine_owned

    parent = getattr(getattr(obj, "table", None), "name", None)
    return not (reflected and compare_to is None and engine_owned(name, type_, parent))


async def drift(database_url: str) -> list[object]:
    """Differences between the models and the migrated database (empty when in sync)."""
    from backend.models import Base

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            def _compare(sync_conn):  # noqa: ANN001, ANN202
                ctx = MigrationContext.configure(
                    sync_conn, opts={"compare_type": True, "render_as_batch": True, "include_object": include_object}
                )
                return compare_metadata(ctx, Base.metadata)

            return await conn.run_sync(_compare)
    finally:
        await engine.dispose()


async def reset_postgres(database_url: str) -> None:
    """Drop and recreate the public schema: for test and benchmark databases only."""
    from sqlalchemy import text

    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()
