"""A stand-in Bot API server over real HTTP (aiohttp), for tests that exercise the app's
configured TELEGRAM_API_URL end to end: it records each call and answers like Telegram."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web


class FakeBotAPI:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.pending_updates: list[dict[str, Any]] = []  # handed out once by getUpdates
        self.failures: dict[str, int] = {}  # method -> how many more times it answers 500
        self.delays: dict[str, float] = {}  # method -> seconds it takes to answer
        # Called with (method, params) before a call is recorded; returning True drops the call
        # (it never reached Telegram: the connection was cut before Telegram read it).
        self.before: Callable[[str, dict[str, Any]], bool] | None = None
        # Several bots on one server (a town's own bot): calls by bot id, tokens Telegram
        # refuses (401), usernames getMe answers with, and chats a bot may not write to (403).
        self.bot_calls: list[tuple[int, str, dict[str, Any]]] = []
        self.refused_tokens: set[str] = set()
        self.usernames: dict[int, str] = {}
        self.not_started: dict[int, set[int]] = {}  # bot id -> chats that never opened it
        self.blocked: dict[int, set[int]] = {}  # bot id -> chats that blocked it
        self.pending_by_bot: dict[int, list[dict[str, Any]]] = {}  # getUpdates of one bot (else pending_updates)
        # Called with (method, params) for a recorded call; returning (error_code, description,
        # parameters) answers with that Bot API error instead (403 blocked, 429 retry_after, ...).
        self.refuse: Callable[[str, dict[str, Any]], tuple[int, str, dict[str, Any] | None] | None] | None = None
        self._ids = itertools.count(1)
        self.app = web.Application()
        self.app.router.add_post("/bot{token}/{method}", self._handle)
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        token = request.match_info["token"]
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 0
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            params = {k: (v if isinstance(v, str) else "<file>") for k, v in form.items()}
        else:
            params = dict(await request.post())
        if self.before is not None and self.before(method, params):
            return web.json_response({"ok": False, "error_code": 502, "description": "dropped"}, status=502)
        if method in self.delays:
            await asyncio.sleep(self.delays[method])
        self.calls.append((method, params))
        self.bot_calls.append((bot_id, method, params))
        if token in self.refused_tokens:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        if method.startswith("send") and int(params.get("chat_id", 0)) in self.blocked.get(bot_id, set()):
            return web.json_response({"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}, status=403)
        if method.startswith("send") and int(params.get("chat_id", 0)) in self.not_started.get(bot_id, set()):
            return web.json_response(
                {"ok": False, "error_code": 403, "description": "Forbidden: bot can't initiate conversation with a user"}, status=403
            )
        refusal = self.refuse(method, params) if self.refuse is not None else None
        if refusal is not None:
            code, description, parameters = refusal
            body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
            if parameters:
                body["parameters"] = parameters
            return web.json_response(body, status=code)
        if self.failures.get(method, 0) > 0:
            self.failures[method] -= 1
            return web.json_response({"ok": False, "error_code": 500, "description": "Internal Server Error"}, status=500)
        result: Any = True
        if method == "getMe":
            result = {"id": bot_id, "is_bot": True, "first_name": "Glocal", "username": self.usernames.get(bot_id, "glocal_test_bot")}
        elif method.startswith("send"):
            chat_id = int(params.get("chat_id", 0))
            result = {"message_id": next(self._ids), "date": int(time.time()), "chat": {"id": chat_id, "type": "private"}, "text": params.get("text", "")}
        elif method == "getUpdates" and bot_id in self.pending_by_bot:
            result, self.pending_by_bot[bot_id] = self.pending_by_bot[bot_id], []
            if not result:
                await asyncio.sleep(0.05)
        elif method == "getUpdates":
            result, self.pending_updates = self.pending_updates, []
            if not result:
                await asyncio.sleep(0.05)  # a short "long poll", so the loop doesn't spin
        return web.json_response({"ok": True, "result": result})

    async def start(self) -> str:
        self.runner = web.AppRunner(self.app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    def methods(self) -> list[str]:
        return [m for m, _ in self.calls]

    def sent_by(self, bot_id: int) -> list[dict[str, Any]]:
        """The parameters of every send… call this bot made."""
        return [p for b, m, p in self.bot_calls if b == bot_id and m.startswith("send")]

    @staticmethod
    def markup(params: dict[str, Any]) -> Any:
        return json.loads(params["reply_markup"]) if "reply_markup" in params else None
