"""The toy installed: a registry and a runtime with it (backend/installed.py `registry(extra)`,
`Runtime.build(settings, registry)`), a Dispatcher with its bot half (`build(components=...)`),
and its table created on the test database for the test and dropped after it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from backend import installed
from backend.runtime import Runtime
from backend.settings import Settings
from bot.services import INSTALLED as BOT_INSTALLED
from tests.conftest import TEST_DB, TEST_REDIS, BotHarness, _clean_postgres
from tests.services.toy.backend.manifest import MANIFEST
from tests.services.toy.backend.models import ToyBase
from tests.services.toy.bot import COMPONENT

COMPONENTS = (*BOT_INSTALLED, COMPONENT)


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """The house's runtime with the toy installed beside the real services."""
    rt = Runtime.build(settings, installed.registry([MANIFEST]))
    if TEST_REDIS:
        await rt.kv.redis.flushdb()  # type: ignore[attr-defined]
    # Only the toy's own table: the rest is the migrated schema, which the toy does not touch.
    async with rt.engine.begin() as conn:
        await conn.run_sync(ToyBase.metadata.create_all)
    yield rt
    async with rt.engine.begin() as conn:
        await conn.run_sync(ToyBase.metadata.drop_all)
    if TEST_DB:
        await _clean_postgres(rt)
    if TEST_REDIS:
        await rt.kv.redis.flushdb()  # type: ignore[attr-defined]
    await rt.close()


@pytest.fixture
async def harness(runtime: Runtime) -> AsyncIterator[BotHarness]:
    h = BotHarness(runtime, components=COMPONENTS)
    yield h
    await h.close()


@pytest.fixture
async def client(harness: BotHarness) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=harness.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://glocal.test") as c:
        yield c
