"""POST /telegram/webhook: secret first, then deduplication, then each chat's updates in order.

Telegram may deliver a chat's updates over several connections at once, and with several
replicas they land on different processes. Each update is put in its chat's queue, sorted
by update_id, in the shared key-value engine (Redis when configured); whoever holds the
chat's claim drains that queue in order, so a chat's updates are handled one at a time and
in the order Telegram numbered them, whichever replica received them.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse

from backend.runtime import Runtime

log = logging.getLogger(__name__)

DEDUPE_TTL = 24 * 3600  # Telegram keeps undelivered updates for 24 hours
CHAT_CLAIM_TTL = 120  # longest a replica may hold a chat before another may take over


def chat_key(body: dict[str, Any]) -> int | None:
    """The chat (or, failing that, the person) an update belongs to."""
    for field in ("message", "edited_message", "channel_post", "edited_channel_post", "my_chat_member", "chat_member", "chat_join_request"):
        if isinstance(body.get(field), dict) and isinstance(body[field].get("chat"), dict):
            return body[field]["chat"].get("id")
    query = body.get("callback_query")
    if isinstance(query, dict):
        message = query.get("message") or {}
        return (message.get("chat") or {}).get("id") or (query.get("from") or {}).get("id")
    for value in body.values():
        if isinstance(value, dict) and isinstance(value.get("from"), dict):
            return value["from"].get("id")
    return None


def webhook_router(runtime: Runtime, dp: Dispatcher, bot: Bot) -> APIRouter:
    router = APIRouter()
    expected = runtime.settings.webhook_secret.encode()
    kv = runtime.kv

    async def handle(body: dict[str, Any]) -> None:
        try:
            await dp.feed_update(bot, Update.model_validate(body, context={"bot": bot}))
        except Exception:
            # The error handler answers every failure; reaching here means even that failed
            # (Telegram unreachable, say). Logged with the update; the chat's queue goes on.
            log.exception("update %s could not be handled", body.get("update_id"))

    async def drain(queue: str) -> None:
        # `take` releases the chat when its queue is empty, atomically: an update offered a
        # moment later finds the chat free and is drained by its own request.
        while (raw := await kv.take(queue)) is not None:
            await handle(json.loads(raw))

    async def telegram_webhook(request: Request) -> JSONResponse:
        received = request.headers.get("x-telegram-bot-api-secret-token", "").encode()
        if not hmac.compare_digest(received, expected):
            return JSONResponse({"ok": False}, status_code=401)
        try:
            raw = await request.body()
            body = json.loads(raw)
            update_id = int(body["update_id"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"ok": False}, status_code=400)
        if not await kv.claim(f"update:{bot.id}:{update_id}", ttl=DEDUPE_TTL):
            runtime.metrics.duplicates.inc()
            return JSONResponse({"ok": True})
        chat = chat_key(body)
        if chat is None:
            await handle(body)
            return JSONResponse({"ok": True})
        queue = f"chatq:{bot.id}:{chat}"
        if await kv.offer(queue, update_id, raw.decode(), ttl=DEDUPE_TTL, claim_ttl=CHAT_CLAIM_TTL):
            await drain(queue)
        # else: the request that holds the chat handles this update in its turn
        return JSONResponse({"ok": True})

    # A plain Starlette route: the hottest endpoint needs none of FastAPI's dependency
    # resolution or validation, and skipping it is a fifth of the per-update overhead.
    router.add_route("/telegram/webhook", telegram_webhook, methods=["POST"], include_in_schema=False)
    return router
