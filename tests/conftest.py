"""Test fixtures. The suite runs on SQLite with in-process storage by default, and on
PostgreSQL + Redis when GLOCAL_TEST_DATABASE_URL / GLOCAL_TEST_REDIS_URL are given
(`make test` does both when they are; `.ci/run` always gives them)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiogram import Bot, Dispatcher
from aiogram.types import Update
from sqlalchemy import text

from backend.migrate import reset_postgres, upgrade
from backend.models import Base
from backend.runtime import Runtime
from backend.settings import Settings, load_settings
from bot.main import build, make_runtime
from tests.telegram import RecordingSession

TEST_DB = os.environ.get("GLOCAL_TEST_DATABASE_URL") or None
TEST_REDIS = os.environ.get("GLOCAL_TEST_REDIS_URL") or None
BOT_TOKEN = "123456789:TEST-token-for-glocal-suite_000"


def pytest_report_header() -> list[str]:
    return [f"glocal backends: database={'postgresql' if TEST_DB else 'sqlite'} kv={'redis' if TEST_REDIS else 'memory'}"]


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database: a SQLite file copied per test, or the PostgreSQL test database."""
    if TEST_DB:
        import asyncio

        asyncio.run(reset_postgres(TEST_DB))
        upgrade(TEST_DB)
        return TEST_DB
    path = tmp_path_factory.mktemp("db") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return str(path)


@pytest.fixture
def db_url(template_db: str, tmp_path: Path) -> Iterator[str]:
    if TEST_DB:
        yield TEST_DB
        return
    path = tmp_path / "glocal.db"
    shutil.copy(template_db, path)
    yield f"sqlite+aiosqlite:///{path}"


def make_settings(db_url: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "DATABASE_URL": db_url,
        "REDIS_URL": TEST_REDIS,
        "BOT_TOKEN": BOT_TOKEN,
        "MINIAPP_URL": "https://glocal.test/app",
        "DATA_DIR": data_dir,
        "SCHEDULER": False,
        "LOG_JSON": False,
        "THROTTLE_RATE": 1000,
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return make_settings(db_url, tmp_path)


async def _clean_postgres(runtime: Runtime) -> None:
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    async with runtime.engine.begin() as conn:
        # TRUNCATE does not fire the audit log's row triggers, which refuse DELETE.
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    rt = make_runtime(settings)
    if TEST_REDIS:
        await rt.kv.redis.flushdb()  # type: ignore[attr-defined]
    yield rt
    if TEST_DB:
        await _clean_postgres(rt)
    if TEST_REDIS:
        await rt.kv.redis.flushdb()  # type: ignore[attr-defined]
    await rt.close()


class BotHarness:
    """The real app and Dispatcher, with a recording Bot API session."""

    def __init__(self, runtime: Runtime, components: tuple[Any, ...] | None = None) -> None:
        self.session = RecordingSession()
        self.app, bot, dp = build(runtime, bot_session=self.session, components=components)
        assert bot is not None and dp is not None
        self.bot: Bot = bot
        self.dp: Dispatcher = dp
        self.runtime = runtime

    async def feed(self, update: dict[str, Any]) -> list[Any]:
        """Feed one update through the Dispatcher; return the Bot API calls it made."""
        self.session.calls.clear()
        await self.dp.feed_update(self.bot, Update.model_validate(update, context={"bot": self.bot}))
        return self.session.pop()

    async def close(self) -> None:
        await self.dp.storage.close()
        await self.dp.fsm.events_isolation.close()


@pytest.fixture
async def harness(runtime: Runtime) -> AsyncIterator[BotHarness]:
    h = BotHarness(runtime)
    yield h
    await h.close()


@pytest.fixture
async def client(harness: BotHarness) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=harness.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://glocal.test") as c:
        yield c
