"""The shared resources of one process: engine, sessions, key-value engine, pacer, the
installed components, metrics and the channel that reaches people.

Built once by the composition root and handed to the HTTP app, the bot and the scheduler.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.core.bots.directory import TownBots
from backend.core.bots.vault import Cipher
from backend.core.components.registry import Registry
from backend.core.notifications.notices import CORE_NOTICES, NoticeTypes
from backend.core.notifications.pacing import MemoryPacer, Pacer, RedisPacer
from backend.core.notifications.port import Channel, NullChannel
from backend.core.users.cache import UserCache
from backend.db import make_engine, make_sessionmaker
from backend.kv import KV, RedisKV, make_kv
from backend.metrics import Metrics
from backend.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    kv: KV
    registry: Registry
    pacer: Pacer
    metrics: Metrics = field(default_factory=Metrics)
    channel: Channel = field(default_factory=NullChannel)
    # Parts that report their own state for /readyz ("ok", "starting", "error: ..."), e.g. the bot.
    health: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings, registry: Registry) -> Runtime:
        if settings.is_sqlite:
            settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.DATABASE_URL)
        kv = make_kv(settings.REDIS_URL)
        pacer: Pacer = RedisPacer(kv.redis) if isinstance(kv, RedisKV) else MemoryPacer()
        cache = UserCache(kv, ttl=settings.USER_CACHE_TTL)
        return cls(
            settings=settings, engine=engine, sessionmaker=make_sessionmaker(engine, user_cache=cache), kv=kv,
            registry=registry, pacer=pacer,
        )

    @cached_property
    def notices(self) -> NoticeTypes:
        """Every notice kind the installed components declare."""
        return NoticeTypes([*CORE_NOTICES, *(t for m in self.registry for t in m.notices)])

    @cached_property
    def town_bots(self) -> TownBots:
        """The towns' own bots (backend/core/bots), shared by the API and the bot side."""
        return TownBots(self.sessionmaker, Cipher(self.settings.secret_key))

    async def check(self) -> dict[str, str]:
        """Reachability of the database and of the key-value engine: name -> "ok" or the error."""
        status: dict[str, str] = {}
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            status["database"] = "ok"
        except Exception as exc:  # noqa: BLE001 - reported, not handled
            status["database"] = f"{type(exc).__name__}: {exc}"
        try:
            await self.kv.ping()
            status["redis" if self.settings.REDIS_URL else "kv"] = "ok"
        except Exception as exc:  # noqa: BLE001
            status["redis"] = f"{type(exc).__name__}: {exc}"
        status.update(self.health)
        return status

    async def close(self) -> None:
        await self.kv.close()
        await self.engine.dispose()
