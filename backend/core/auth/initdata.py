"""Telegram Mini App launch data (`initData`): verification and, for development links and
tests, signing.

The scheme (HMAC-SHA256 keyed by HMAC("WebAppData", bot_token) over the sorted `key=value`
lines) is Telegram's, and the Russian messenger MAX uses the same one; it lives here rather
than in aiogram so the backend stays messenger-agnostic. `tests/test_initdata.py` checks it
against aiogram's own implementation and public test vector.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from backend.errors import Unauthorized
from backend.i18n import N_

# Clocks of phones and servers drift; launch data a few seconds "from the future" is normal.
FUTURE_SKEW_SECONDS = 30


@dataclass(frozen=True)
class InitData:
    user: dict[str, Any]
    auth_date: datetime
    raw: dict[str, str] = field(repr=False)

    @property
    def telegram_id(self) -> int:
        return int(self.user["id"])

    @property
    def start_param(self) -> str | None:
        return self.raw.get("start_param")


def _secret(token: str) -> bytes:
    return hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()


def _check_string(pairs: dict[str, str]) -> str:
    return "\n".join(f"{k}={v}" for k, v in sorted(pairs.items()) if k != "hash")


def signature_valid(token: str, init_data: str) -> bool:
    """True when `init_data` carries a valid hash for this bot token (age not checked)."""
    try:
        items = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return False
    pairs = dict(items)
    if len(pairs) != len(items):  # a repeated key could smuggle a second value
        return False
    received = pairs.get("hash")
    if not received:
        return False
    expected = hmac.new(_secret(token), _check_string(pairs).encode(), hashlib.sha256).hexdigest()
    try:
        return hmac.compare_digest(expected, received)
    except TypeError:  # non-ASCII hash
        return False


def verify(init_data: str, *, token: str, max_age: int, now: datetime | None = None) -> InitData:
    """Parse launch data after checking its signature and age; Unauthorized otherwise."""
    if not init_data or not signature_valid(token, init_data):
        raise Unauthorized(N_("The app's launch data is not valid. Open it again from the bot."))
    pairs = dict(parse_qsl(init_data, keep_blank_values=True))
    try:
        auth_date = datetime.fromtimestamp(int(pairs["auth_date"]), UTC)
        user = json.loads(pairs["user"])
        int(user["id"])
    except (KeyError, ValueError, TypeError):
        raise Unauthorized(N_("The app's launch data is not valid. Open it again from the bot.")) from None
    now = now or datetime.now(UTC)
    age = (now - auth_date).total_seconds()
    if age > max_age:
        raise Unauthorized(N_("The app's session has expired. Open it again from the bot."))
    if age < -FUTURE_SKEW_SECONDS:
        raise Unauthorized(N_("The app's launch data is not valid. Open it again from the bot."))
    return InitData(user=user, auth_date=auth_date, raw=pairs)


def sign(fields: dict[str, Any], *, token: str) -> str:
    """Build signed launch data exactly as Telegram does (used for demo links and tests)."""
    pairs = {k: (json.dumps(v, ensure_ascii=False, separators=(",", ":")) if isinstance(v, dict) else str(v)) for k, v in fields.items()}
    pairs["hash"] = hmac.new(_secret(token), _check_string(pairs).encode(), hashlib.sha256).hexdigest()
    return urlencode(pairs)
