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
    assert data.user["first_name"] == "Test"
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
