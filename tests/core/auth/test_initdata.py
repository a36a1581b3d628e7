"""Mini App launch data: aiogram's public test vector and every way it can be wrong."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

import pytest
from aiogram.utils.web_app import check_webapp_signature

from backend.core.auth import initdata
from backend.errors import Unauthorized

# aiogram's own test vector (tests/test_utils/test_web_app.py in aiogram/aiogram).
TOKEN = "42:TEST"
VECTOR = (
    "auth_date=1650385342"
    "&user=%7B%22id%22%3A42%2C%22first_name%22%3A%22Test%22%7D"
    "&query_id=test"
    "&hash=46d2ea5e32911ec8d30999b56247654460c0d20949b6277af519e76271182803"
)
VECTOR_TIME = datetime.fromtimestamp(1650385342, UTC)


def test_public_vector_verifies():
    data = initdata.verify(VECTOR, token=TOKEN, max_age=3600, now=VECTOR_TIME + timedelta(seconds=10))
    assert data.telegram_id == 42
    assert data.user.first_name == "Test"
    assert data.auth_date == VECTOR_TIME


def _flip(s: str, index: int) -> str:
    c = s[index]
    return s[:index] + ("0" if c != "0" else "1") + s[index + 1 :]


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(_flip(VECTOR, 10), id="changed byte in auth_date"),
        pytest.param(_flip(VECTOR, len(VECTOR) - 1), id="changed byte in hash"),
        pytest.param(VECTOR.replace("Test", "Tost"), id="changed user"),
        pytest.param(VECTOR.rsplit("&hash=", 1)[0], id="missing hash"),
        pytest.param(VECTOR + "&query_id=again", id="repeated key"),
        pytest.param("", id="empty"),
        pytest.param("test&foo=bar=baz", id="garbage"),
        pytest.param(VECTOR.rsplit("&hash=", 1)[0] + "&hash=%C3%A9%C3%A9", id="non-ascii hash"),
    ],
)
def test_tampered_data_is_rejected(case: str):
    assert initdata.signature_valid(TOKEN, case) is False
    with pytest.raises(Unauthorized):
        initdata.verify(case, token=TOKEN, max_age=10**9, now=VECTOR_TIME)


def test_wrong_token_is_rejected():
    assert initdata.signature_valid("42:INVALID", VECTOR) is False


def test_reordered_keys_still_verify():
    pairs = parse_qsl(VECTOR)
    reordered = urlencode(list(reversed(pairs)))
    assert reordered != VECTOR
    assert initdata.signature_valid(TOKEN, reordered) is True


def test_expired_and_future_auth_date():
    now = datetime.now(UTC)
    fresh = initdata.sign({"user": {"id": 7, "first_name": "A"}, "auth_date": int(now.timestamp())}, token=TOKEN)
    assert initdata.verify(fresh, token=TOKEN, max_age=60, now=now).telegram_id == 7
    with pytest.raises(Unauthorized) as expired:
        initdata.verify(fresh, token=TOKEN, max_age=60, now=now + timedelta(seconds=61))
    assert expired.value.message == "The app's session has expired. Open it again from the bot."
    with pytest.raises(Unauthorized) as future:
        initdata.verify(fresh, token=TOKEN, max_age=60, now=now - timedelta(minutes=5))
    assert future.value.message == "The app's launch data is not valid. Open it again from the bot."


def test_signature_without_user_is_rejected():
    data = initdata.sign({"auth_date": int(time.time()), "query_id": "x"}, token=TOKEN)
    assert initdata.signature_valid(TOKEN, data)
    with pytest.raises(Unauthorized):
        initdata.verify(data, token=TOKEN, max_age=60)


def _signed(user: object, **fields: object) -> str:
    """Launch data with a valid signature whatever its content (what a holder of the token could forge)."""
    pairs = {"query_id": "x", "auth_date": int(time.time()), **fields}
    pairs["user"] = user if isinstance(user, str) else json.dumps(user)
    return initdata.sign(pairs, token=TOKEN)


@pytest.mark.parametrize(
    ("user", "fields"),
    [
        pytest.param({"id": True, "first_name": "A"}, {}, id="boolean id signs in as user 1"),
        pytest.param({"id": 1.0, "first_name": "A"}, {}, id="float id"),
        pytest.param({"id": "7", "first_name": "A"}, {}, id="string id"),
        pytest.param({"id": 0, "first_name": "A"}, {}, id="zero id"),
        pytest.param({"id": -7, "first_name": "A"}, {}, id="negative id"),
        pytest.param({"id": 2**52, "first_name": "A"}, {}, id="id beyond 52 bits"),
        pytest.param({"id": 2**64, "first_name": "A"}, {}, id="id beyond 64 bits"),
        pytest.param({"first_name": "A"}, {}, id="no id"),
        pytest.param({"id": 7}, {}, id="no first name"),
        pytest.param({"id": 7, "first_name": ""}, {}, id="empty first name"),
        pytest.param({"id": 7, "first_name": "A" * 65}, {}, id="first name over 64"),
        pytest.param({"id": 7, "first_name": "A", "last_name": "B" * 65}, {}, id="last name over 64"),
        pytest.param({"id": 7, "first_name": "A", "username": "u" * 33}, {}, id="username over 32"),
        pytest.param({"id": 7, "first_name": "A\x00"}, {}, id="NUL in the name"),
        pytest.param({"id": 7, "first_name": "A", "username": "a\x00b"}, {}, id="NUL in the username"),
        pytest.param('{"id": 7, "first_name": "\\ud800"}', {}, id="lone surrogate"),
        pytest.param([7], {}, id="user is a list"),
        pytest.param("[" * 100_000 + "]" * 100_000, {}, id="deeply nested user"),
        pytest.param("{not json", {}, id="user is not JSON"),
        pytest.param({"id": 7, "first_name": "A"}, {"auth_date": 10**20}, id="auth_date 10^20"),
        pytest.param({"id": 7, "first_name": "A"}, {"auth_date": -(10**20)}, id="auth_date -10^20"),
        pytest.param({"id": 7, "first_name": "A"}, {"auth_date": "1_700_000_000"}, id="auth_date with underscores"),
        pytest.param({"id": 7, "first_name": "A"}, {"auth_date": " 1700000000"}, id="auth_date with a space"),
        pytest.param({"id": 7, "first_name": "A"}, {"auth_date": "1.7e9"}, id="auth_date as a float"),
    ],
)
def test_signed_but_malformed_launch_data_is_refused(user: object, fields: dict):
    """A valid signature is not enough: the fields must look like Telegram's, or it is a clear 401."""
    signed = _signed(user, **fields)
    assert initdata.signature_valid(TOKEN, signed)
    with pytest.raises(Unauthorized) as refused:
        initdata.verify(signed, token=TOKEN, max_age=10**12)
    assert refused.value.message == "The app's launch data is not valid. Open it again from the bot."


def test_telegram_limits_are_accepted():
    """The longest names Telegram allows, a 52-bit id and extra fields still sign in."""
    user = {"id": 2**52 - 1, "first_name": "Я" * 64, "last_name": "Ж" * 64, "username": "u" * 32,
            "language_code": "en", "is_premium": True, "allows_write_to_pm": True, "photo_url": "https://t.me/i/u.jpg"}
    data = initdata.verify(_signed(user), token=TOKEN, max_age=60)
    assert (data.telegram_id, data.user.first_name, data.user.username, data.user.language_code) == (2**52 - 1, "Я" * 64, "u" * 32, "en")


@pytest.mark.parametrize("seed", range(20))
def test_agrees_with_aiogram(seed: int):
    """Our signer and verifier agree with aiogram's implementation, both ways."""
    user = {"id": 1000 + seed, "first_name": "Имя" * (seed % 3 + 1), "language_code": "ru", "is_premium": seed % 2 == 0}
    fields = {"query_id": f"q{seed}", "user": user, "auth_date": 1700000000 + seed, "start_param": f"town{seed}"}
    token = f"{seed + 1}:TOKEN{seed}"
    signed = initdata.sign(fields, token=token)
    assert check_webapp_signature(token, signed) is True
    assert check_webapp_signature(token + "x", signed) is False
    parsed = dict(parse_qsl(signed))
    assert json.loads(parsed["user"])["id"] == 1000 + seed
