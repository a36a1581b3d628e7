"""The one Bot API call the backend makes itself: getMe, to validate a town's token before it
is stored. Plain httpx against TELEGRAM_API_URL (the backend never imports aiogram); the
token is in the URL, so no error raised here carries the URL or the request."""

from __future__ import annotations

import re
from dataclasses import dataclass

TOKEN_RE = re.compile(r"^(\d{1,20}):[A-Za-z0-9_-]{30,64}$")
TIMEOUT = 10.0


@dataclass(frozen=True)
class BotIdentity:
    id: int
    username: str
    first_name: str


class TokenRefused(Exception):
    """Telegram does not know this token (revoked, mistyped) or it is not a bot's."""


class BotApiUnreachable(Exception):
    """The Bot API server did not answer usably: the token's validity is unknown."""


async def get_me(api_url: str, token: str, *, timeout: float = TIMEOUT) -> BotIdentity:
    """Who the token belongs to, by the Bot API's getMe."""
    import httpx  # here: only a platform admin connecting a bot needs it, not every start-up

    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.post(f"{api_url}/bot{token}/getMe")
    except httpx.HTTPError as exc:
        # `from None` and the class name only: httpx's messages can carry the request's URL.
        raise BotApiUnreachable(type(exc).__name__) from None
    if response.status_code in (401, 404):  # Telegram: 401 Unauthorized; a malformed token: 404
        raise TokenRefused()
    try:
        body = response.json()
    except ValueError:
        raise BotApiUnreachable(f"HTTP {response.status_code}, not JSON") from None
    if response.status_code != 200 or not isinstance(body, dict) or not body.get("ok"):
        raise BotApiUnreachable(f"HTTP {response.status_code}")
    me = body.get("result") or {}
    if not isinstance(me, dict) or not me.get("is_bot") or not isinstance(me.get("id"), int) or not me.get("username"):
        raise TokenRefused()
    return BotIdentity(id=me["id"], username=str(me["username"]), first_name=str(me.get("first_name") or ""))
