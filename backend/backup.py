"""SQLite online backup and restore (PostgreSQL: use pg_dump / pg_restore, see README)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url


def sqlite_path(database_url: str) -> Path:
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite") or not url.database:
        raise ValueError("backup and restore here are for the SQLite database; for PostgreSQL use pg_dump")
    return Path(url.database)


def backup(database_url: str, target: Path) -> Path:
    """Copy the live database to `target` with SQLite's online backup API (safe while serving)."""
    source = sqlite_path(database_url)
    if not source.exists():
        raise FileNotFoundError(f"no database at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return target


def restore(database_url: str, source: Path) -> Path:
    """Replace the database with a backup, page by page through the backup API."""
    target = sqlite_path(database_url)
    if not source.exists():
        raise FileNotFoundError(f"no backup at {source}")
    with sqlite3.connect(source) as src:
        tables = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "alembic_version" not in tables:
            raise ValueError(f"{source} is not a Glocal database backup")
        target.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(target) as dst:
            src.backup(dst)
    return target
