"""Bot and Dispatcher factories: storage, isolation, middlewares and routers, in order."""

from __future__ import annotations

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import MemoryStorage, SimpleEventIsolation
from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage
from redis.asyncio import Redis

from backend.runtime import Runtime
from backend.settings import Settings
from bot import errors
from bot.middlewares import DbSessionMiddleware, ObservabilityMiddleware, ThrottlingMiddleware, UserMiddleware
from bot.routers import appeals, fallback, profile, start


def create_bot(settings: Settings, *, session: BaseSession | None = None) -> Bot:
    """A Bot talking to TELEGRAM_API_URL (Telegram's, or a self-hosted Bot API server)."""
    if session is None:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.TELEGRAM_API_URL))
    return Bot(settings.signing_token, session=session, default=DefaultBotProperties(parse_mode=None))


def make_storage(settings: Settings) -> tuple[BaseStorage, BaseEventIsolation]:
    """FSM storage and per-chat event isolation: Redis when configured, in-process otherwise."""
    if settings.REDIS_URL:
        redis = Redis.from_url(settings.REDIS_URL)
        storage = RedisStorage(
            redis,
            key_builder=DefaultKeyBuilder(with_bot_id=True, prefix="glocal:fsm"),
            state_ttl=settings.FSM_TTL,
            data_ttl=settings.FSM_TTL,
        )
        return storage, RedisEventIsolation(redis, key_builder=DefaultKeyBuilder(with_bot_id=True, prefix="glocal:fsm"))
    return MemoryStorage(), SimpleEventIsolation()


def create_dispatcher(runtime: Runtime, *, storage: BaseStorage | None = None, isolation: BaseEventIsolation | None = None) -> Dispatcher:
    """The Dispatcher with the whole middleware stack and every router."""
    if storage is None or isolation is None:
        storage, isolation = make_storage(runtime.settings)
    dp = Dispatcher(storage=storage, events_isolation=isolation, runtime=runtime, settings=runtime.settings)
    for mw in (ObservabilityMiddleware, ThrottlingMiddleware, DbSessionMiddleware, UserMiddleware):
        dp.update.outer_middleware(mw(runtime))
    # appeals sits before profile: inside its dialog it takes the contact and the consent
    # button first, hands them to profile's handlers and goes on with the dialog.
    dp.include_routers(
        errors.create_router(), start.create_router(), appeals.create_router(), profile.create_router(), fallback.create_router()
    )
    return dp
