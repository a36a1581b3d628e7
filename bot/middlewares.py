"""Outer middlewares on every update, in this order: observability, the update's transaction
(exactly once, replies after commit), throttling, the person and their language; aiogram's
FSM context comes last, so dialog state is read inside the transaction."""

from __future__ import annotations

import time
from datetime import timedelta
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.types import TelegramObject, Update
from aiogram.types import User as TgUser

from backend.core.users import service as users
from backend.core.dialogs import service as dialogs
from backend.core.transport import service as transport
from backend.i18n import gettext as _
from backend.i18n import normalize_locale, set_locale, use_locale
from backend.logs import update_id_var, user_id_var
from backend.runtime import Runtime
from bot import replies
from bot.inbox import Delivery, Requeue
from bot.replies import Capture, Replies
from bot.storage import update_session

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


class UpdateTransaction(BaseMiddleware):
    """One transaction per update, and exactly one effect per update.

    The transaction's first statement takes the chat and asks whether the update was handled
    already (backend/core/transport). A handled one ends here (Telegram redelivered it). A chat
    held elsewhere, or with an earlier update waiting, sends the update to its chat's queue
    (`Requeue`, caught by the inbox). Otherwise the handlers run; dialog state goes through this
    session (bot/storage.py); replies are captured (bot/replies.py). The update is recorded as
    handled and its replies stored in the same transaction; after commit the replies are sent.
    """

    def __init__(self, runtime: Runtime, replies: Replies, dialog_key: Callable[[Bot, dict[str, Any]], str | None]) -> None:
        self.sessionmaker = runtime.sessionmaker
        self.dialog_key = dialog_key  # the FSM storage's key of the update's dialog, if it has one
        self.metrics = runtime.metrics
        self.replies = replies
        self.lease = timedelta(seconds=runtime.settings.REPLY_LEASE)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        bot = data["bot"]
        delivery: Delivery = data.get("delivery") or Delivery.of(bot, event)
        dialog_key = self.dialog_key(bot, data)
        capture = Capture()
        async with self.sessionmaker() as session:
            try:
                gate = await transport.begin(
                    session, account=delivery.account, update_id=delivery.update_id, chat=delivery.chat, dialog_key=dialog_key
                )
                if gate.handled:
                    await session.rollback()
                    delivery.duplicate = True
                    self.metrics.duplicates.inc()
                    return None
                if not gate.locked or (gate.earlier_waiting and not delivery.queued):
                    await session.rollback()
                    raise Requeue(delivery)
                if gate.dialog is not None:
                    dialogs.prime(session, gate.dialog)
                data["session"] = session
                capture_token, session_token = replies.current.set(capture), update_session.set(session)
                try:
                    result = await handler(event, data)
                finally:
                    replies.current.reset(capture_token)
                    update_session.reset(session_token)
                await transport.finish(
                    session, account=delivery.account, update_id=delivery.update_id, chat=delivery.chat,
                    replies=[replies.dump(c) for c in capture.calls] or None, lease=self.lease,
                )
                await session.commit()
            except BaseException:
                await session.rollback()
                session.info.pop("after_commit", None)
                raise
            delivery.committed = True
            for callback in session.info.pop("after_commit", []):
                await callback()
        if capture.calls:
            await self.replies.send(bot, (delivery.account, delivery.update_id), capture.calls)
        return result


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
