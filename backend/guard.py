"""Request bodies are bounded before any route reads them: at most MAX_BODY_BYTES, and a JSON
body must be UTF-8 nested at most MAX_JSON_DEPTH deep.

Why: a body of 100,000 `[` makes `json.loads` raise RecursionError, which FastAPI turns into a
400 without our error body and routes that parse JSON themselves (Open311) into a 500; and
nothing else stopped a client from sending a gigabyte. No request here is legitimately
larger than a Telegram update or an appeal's text (files arrive through the bot).
"""

from __future__ import annotations

import re

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.i18n import N_, normalize_locale, translate

MAX_BODY_BYTES = 1 << 20
MAX_JSON_DEPTH = 32

TOO_LARGE = N_("The request is too large.")
UNREADABLE = N_("The request body cannot be read.")
TOO_DEEP = N_("The request body is nested too deeply.")

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def json_depth(text: str, *, limit: int) -> int:
    """How deep arrays and objects nest in a JSON text (strings skipped), or just `limit` when
    it plainly cannot be deeper; counting stops past `limit`. Not a parser: malformed JSON is left to the parser to refuse."""
    if text.count("[") + text.count("{") <= limit:
        return limit  # cannot nest deeper than it has brackets: the usual body, counted in C
    depth = deepest = 0
    for ch in _NOT_BRACKET.sub("", _STRING.sub("", text)):
        if ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        else:
            depth -= 1
    return deepest


def _is_json(content_type: str | None) -> bool:
    # FastAPI parses a body as JSON when it has no content type or an application/(*+)json one.
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


class BodyGuard:
    """Pure ASGI middleware: reads the body once, refuses it with 413 or 422 in the API's
    error shape, and hands the same bytes on to the app."""

    def __init__(
        self, app: ASGIApp, *, default_locale: str, max_bytes: int = MAX_BODY_BYTES, max_depth: int = MAX_JSON_DEPTH
    ) -> None:
        self.app = app
        self.default_locale = default_locale
        self.max_bytes = max_bytes
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send, headers, 413, "too_large", TOO_LARGE)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client is gone: nobody to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send, headers, 413, "too_large", TOO_LARGE)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body and _is_json(headers.get("content-type")):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                await self._refuse(scope, receive, send, headers, 422, "invalid", UNREADABLE)
                return
            if json_depth(text, limit=self.max_depth) > self.max_depth:
                await self._refuse(scope, receive, send, headers, 422, "invalid", TOO_DEEP)
                return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # later calls wait for the disconnect, as usual

        await self.app(scope, replay, send)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, headers: Headers, status: int, code: str, message: str
    ) -> None:
        locale = normalize_locale(headers.get("accept-language"), self.default_locale)
        response = JSONResponse({"error": code, "message": translate(message, locale)}, status_code=status)
        await response(scope, receive, send)
