"""POST /telegram/webhook: secret first, then deduplication, then the Dispatcher.

Per-chat order is kept by the Dispatcher's event isolation (a per-chat lock, in Redis when
configured), and the update is handled before the response, so Telegram only sees 200 for
updates we have handled.
"""

from __future__ import annotations

import hmac
import json

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from backend.runtime import Runtime

DEDUPE_TTL = 24 * 3600  # Telegram keeps undelivered updates for 24 hours


def webhook_router(runtime: Runtime, dp: Dispatcher, bot: Bot) -> APIRouter:
    router = APIRouter()
    expected = runtime.settings.webhook_secret.encode()

    @router.post("/telegram/webhook", include_in_schema=False)
    async def telegram_webhook(request: Request) -> JSONResponse:
        received = request.headers.get("x-telegram-bot-api-secret-token", "").encode()
        if not hmac.compare_digest(received, expected):
            return JSONResponse({"ok": False}, status_code=401)
        try:
            body = json.loads(await request.body())
            update_id = int(body["update_id"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"ok": False}, status_code=400)
        if not await runtime.kv.claim(f"update:{bot.id}:{update_id}", ttl=DEDUPE_TTL):
            runtime.metrics.duplicates.inc()
            return JSONResponse({"ok": True})
        update = Update.model_validate(body, context={"bot": bot})
        try:
            await dp.feed_update(bot, update)
        except BaseException:
            # The error handler answers every failure; reaching here means even that failed
            # (Telegram unreachable, say). Let Telegram redeliver instead of losing the update.
            await runtime.kv.release(f"update:{bot.id}:{update_id}")
            raise
        return JSONResponse({"ok": True})

    return router
