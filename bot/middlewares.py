"""Outer middlewares on every update, in this order: observability, throttling, one DB
session (one transaction), the person and their language."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from aiogram.types import User as TgUser

from backend.core.users import service as users
from backend.db import unit_of_work
from backend.i18n import gettext as _
from backend.i18n import normalize_locale, set_locale, use_locale
from backend.logs import update_id_var, user_id_var
from backend.runtime import Runtime

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class ObservabilityMiddleware(BaseMiddleware):
    """update_id in every log line, and the update counters and latency for /metrics."""

    def __init__(self, runtime: Runtime) -> None:
        self.metrics = runtime.metrics

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        kind = event.event_type
        update_id_var.set(event.update_id)
        user_id_var.set(None)
        start = time.perf_counter()
        try:
            return await handler(event, data)
        finally:
            self.metrics.updates.labels(kind).inc()
            self.metrics.update_latency.labels(kind).observe(time.perf_counter() - start)


class ThrottlingMiddleware(BaseMiddleware):
    """At most THROTTLE_RATE updates per person per THROTTLE_WINDOW seconds; the first one
    over the limit gets a warning, the rest are dropped (counted in the shared KV, so the
    limit holds across replicas)."""

    def __init__(self, runtime: Runtime) -> None:
        self.kv = runtime.kv
        self.rate = runtime.settings.THROTTLE_RATE
        self.window = runtime.settings.THROTTLE_WINDOW
        self.default_locale = runtime.settings.DEFAULT_LOCALE

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: TgUser | None = data.get("event_from_user")
        if tg_user is None or tg_user.is_bot:
            return await handler(event, data)
        count = await self.kv.hit(f"throttle:{tg_user.id}", self.window)
        if count <= self.rate:
            return await handler(event, data)
        if count == self.rate + 1:
            assert isinstance(event, Update)
            with use_locale(normalize_locale(tg_user.language_code, self.default_locale)):
                text = _("Too many messages at once. Please wait a few seconds.")
            if event.callback_query is not None:
                await event.callback_query.answer(text)
            elif event.message is not None and event.message.chat.type == "private":
                await event.message.answer(text)
        return None


class DbSessionMiddleware(BaseMiddleware):
    """One session and one transaction per update: committed when the handler returns,
    rolled back when it raises."""

    def __init__(self, runtime: Runtime) -> None:
        self.sessionmaker = runtime.sessionmaker

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with unit_of_work(self.sessionmaker) as session:
            data["session"] = session
            return await handler(event, data)


class UserMiddleware(BaseMiddleware):
    """Upserts the sender and sets the language: the profile's, else Telegram's
    `language_code` when supported, else DEFAULT_LOCALE."""

    def __init__(self, runtime: Runtime) -> None:
        self.default_locale = runtime.settings.DEFAULT_LOCALE

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: TgUser | None = data.get("event_from_user")
        locale = self.default_locale
        if tg_user is not None and not tg_user.is_bot:
            user, _created = await users.upsert_telegram_user(
                data["session"],
                telegram_id=tg_user.id,
                first_name=tg_user.first_name,
                last_name=tg_user.last_name,
                username=tg_user.username,
            )
            data["user"] = user
            user_id_var.set(user.id)
            locale = user.locale or normalize_locale(tg_user.language_code, self.default_locale)
        set_locale(locale)
        data["locale"] = locale
        return await handler(event, data)
