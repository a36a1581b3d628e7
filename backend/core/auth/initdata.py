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
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from pydantic import BaseModel, ConfigDict, ValidationError

from backend.errors import Unauthorized
from backend.fields import TelegramId, Text
from backend.i18n import N_

# Clocks of phones and servers drift; launch data a few seconds "from the future" is normal.
FUTURE_SKEW_SECONDS = 30
# auth_date is a Unix time in whole seconds; ten digits until the year 2286.
_AUTH_DATE_RE = re.compile(r"^[0-9]{1,11}$")
INVALID = N_("The app's launch data is not valid. Open it again from the bot.")


class TelegramUser(BaseModel):
    """The `user` of launch data (Telegram's WebAppUser), within Telegram's own limits: a
    first and last name of up to 64 characters, a username of up to 32, a positive id."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: TelegramId
    first_name: Text(64, min_length=1)
    last_name: Text(64) | None = None
    username: Text(32) | None = None
    language_code: Text(35) | None = None


@dataclass(frozen=True)
class InitData:
    user: TelegramUser
    auth_date: datetime
    raw: dict[str, str] = field(repr=False)

    @property
    def telegram_id(self) -> int:
        return self.user.id

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
        raise Unauthorized(INVALID)
    pairs = dict(parse_qsl(init_data, keep_blank_values=True))
    # A valid signature only proves the bot's token signed it: the shape is checked as strictly
    # as any other input (a boolean id, a year-10^12 date or a 300-character name are refused).
    if not _AUTH_DATE_RE.match(pairs.get("auth_date", "")) or "user" not in pairs:
        raise Unauthorized(INVALID)
    try:
        user = TelegramUser.model_validate_json(pairs["user"])
    except ValidationError:
        raise Unauthorized(INVALID) from None
    auth_date = datetime.fromtimestamp(int(pairs["auth_date"]), UTC)
    now = now or datetime.now(UTC)
    age = (now - auth_date).total_seconds()
    if age > max_age:
        raise Unauthorized(N_("The app's session has expired. Open it again from the bot."))
    if age < -FUTURE_SKEW_SECONDS:
        raise Unauthorized(INVALID)
    return InitData(user=user, auth_date=auth_date, raw=pairs)


def sign(fields: dict[str, Any], *, token: str) -> str:
    """Build signed launch data exactly as Telegram does (used for demo links and tests)."""
    pairs = {k: (json.dumps(v, ensure_ascii=False, separators=(",", ":")) if isinstance(v, dict) else str(v)) for k, v in fields.items()}
    pairs["hash"] = hmac.new(_secret(token), _check_string(pairs).encode(), hashlib.sha256).hexdigest()
    return urlencode(pairs)
