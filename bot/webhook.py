"""POST /telegram/webhook: the secret first, then the update, handled exactly once.

Every bot has its own route, `/telegram/webhook/<bot id>`, checked against that bot's secret
(a town's own bot: bot/bots.py); `/telegram/webhook` stays the platform bot's.

The answer is 200 only once the update is settled (bot/inbox.py): handled and committed, a
duplicate of one that was, or failed with the failure recorded. A replica that dies before
answering leaves Telegram to redeliver the update, and its handling had not committed. A
body that is not a Telegram update is a 400 and changes nothing.
"""

from __future__ import annotations

import hmac
import json
import logging

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from fastapi import APIRouter
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from backend.runtime import Runtime
from bot.bots import BotPool
from bot.inbox import Inbox

log = logging.getLogger(__name__)

OK = JSONResponse({"ok": True})
UNKNOWN = JSONResponse({"ok": False, "error": "no such bot"}, status_code=404)


def webhook_router(runtime: Runtime, dp: Dispatcher, bot: Bot, inbox: Inbox, *, pool: BotPool | None = None) -> APIRouter:
    router = APIRouter()
    expected = runtime.settings.webhook_secret.encode()

    async def telegram_webhook(request: Request) -> JSONResponse:
        return await _receive(request, bot, inbox, expected)

    async def town_webhook(request: Request) -> JSONResponse:
        served = await pool.get(request.path_params["bot_id"]) if pool is not None else None
        if served is None:
            return UNKNOWN
        return await _receive(request, served.bot, served.inbox, served.secret.encode())

    # A plain Starlette route: the hottest endpoint needs none of FastAPI's dependency
    # resolution or validation, and skipping it is a fifth of the per-update overhead.
    router.add_route("/telegram/webhook", telegram_webhook, methods=["POST"], include_in_schema=False)
    router.add_route("/telegram/webhook/{bot_id:int}", town_webhook, methods=["POST"], include_in_schema=False)
    return router


async def _receive(request: Request, bot: Bot, inbox: Inbox, expected: bytes) -> JSONResponse:
    received = request.headers.get("x-telegram-bot-api-secret-token", "").encode()
    if not hmac.compare_digest(received, expected):
        return JSONResponse({"ok": False, "error": "wrong secret token"}, status_code=401)
    raw = await request.body()
    try:
        # Telegram sends UTF-8 JSON without a byte-order mark; json.loads(bytes) would
        # also guess UTF-16 or skip a BOM, which nothing legitimate needs.
        text = raw.decode("utf-8")
        if text.startswith("\ufeff"):
            raise ValueError("byte-order mark")
        update = Update.model_validate(json.loads(text), context={"bot": bot})
    except (ValueError, ValidationError, TypeError):
        return JSONResponse({"ok": False, "error": "not a Telegram update"}, status_code=400)
    await inbox.handle(update)
    return OK
