"""Bad input at the edges of the core is a clear 4xx in the API's error shape, never a 500:
ids beyond the database's integers, booleans for ids, NUL, forged launch data, deep or huge
bodies, unknown paths; and stored file names lose bidi overrides. Through the real ASGI app,
on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from backend.app import _field_name
from backend.core.auth import initdata
from backend.core.files.service import safe_filename
from backend.core.users.models import Role, User
from backend.guard import MAX_BODY_BYTES, MAX_JSON_DEPTH, json_depth
from tests.factories import make_town, make_user, seed, tma

BIG_IDS = [0, -1, 2**31, 2**63, 2**64, 10**30]


async def _member(runtime):
    async def data(s):
        town = await make_town(s)
        return town, await make_user(s, town=town, roles=(Role.RESIDENT,))

    return await seed(runtime, data)


def _is_error(r, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == code and isinstance(body["message"], str) and body["message"]


@pytest.mark.parametrize("big", BIG_IDS)
async def test_ids_outside_the_database_integer_range_are_422(client, runtime, big):
    town, user = await _member(runtime)
    h = tma(runtime, user)
    for path in (f"/api/v1/municipalities/{big}/services", f"/api/v1/municipalities/{town.id}/files/{big}",
                 f"/api/v1/municipalities/{big}/files/1"):
        r = await client.get(path, headers=h)
        _is_error(r, 422, "invalid")
    r = await client.patch("/api/v1/me", json={"municipality_id": big}, headers=h)
    _is_error(r, 422, "invalid")
    assert r.json()["fields"] == ["municipality_id"]


async def test_an_id_at_the_top_of_the_range_is_a_plain_404(client, runtime):
    town, user = await _member(runtime)
    r = await client.get(f"/api/v1/municipalities/{2**31 - 1}/services", headers=tma(runtime, user))
    _is_error(r, 404, "not_found")
    r = await client.get(f"/api/v1/municipalities/{town.id}/files/{2**31 - 1}", headers=tma(runtime, user))
    _is_error(r, 404, "not_found")


async def test_a_boolean_is_not_an_id(client, runtime):
    town, user = await _member(runtime)
    r = await client.patch("/api/v1/me", json={"municipality_id": True}, headers=tma(runtime, user))
    _is_error(r, 422, "invalid")
    r = await client.patch("/api/v1/me", json={"municipality_id": town.id}, headers=tma(runtime, user))
    assert r.status_code == 200 and r.json()["current_municipality"]["id"] == town.id


def _launch(runtime, user: object, **fields: object) -> dict[str, str]:
    pairs = {"query_id": "q", "auth_date": int(time.time()), **fields}
    pairs["user"] = user if isinstance(user, str) else json.dumps(user)
    return {"Authorization": "tma " + initdata.sign(pairs, token=runtime.settings.signing_token)}


@pytest.mark.parametrize(
    ("user", "fields"),
    [
        pytest.param({"id": True, "first_name": "Ева"}, {}, id="boolean id"),
        pytest.param({"id": 2**64, "first_name": "Ева"}, {}, id="id beyond 64 bits"),
        pytest.param({"id": 9001, "first_name": "Е" * 300}, {}, id="first name over Telegram's limit"),
        pytest.param({"id": 9002, "first_name": "Ева", "username": "u" * 300}, {}, id="username over Telegram's limit"),
        pytest.param({"id": 9003, "first_name": "Е\x00ва"}, {}, id="NUL in the name"),
        pytest.param({"id": 9004, "first_name": "Ева"}, {"auth_date": 10**20}, id="auth_date 10^20"),
        pytest.param("[" * 50_000 + "]" * 50_000, {}, id="deeply nested user"),
    ],
)
async def test_signed_but_malformed_launch_data_is_a_401(client, runtime, user, fields):
    r = await client.get("/api/v1/me", headers=_launch(runtime, user, **fields))
    _is_error(r, 401, "unauthorized")
    async with runtime.sessionmaker() as s:
        assert list(await s.scalars(select(User))) == []


async def test_launch_data_at_telegrams_limits_signs_in(client, runtime):
    user = {"id": 2**52 - 1, "first_name": "Е" * 64, "last_name": "Ж" * 64, "username": "u" * 32}
    r = await client.get("/api/v1/me", headers=_launch(runtime, user))
    assert r.status_code == 200
    assert (r.json()["telegram_id"], r.json()["first_name"], r.json()["username"]) == (2**52 - 1, "Е" * 64, "u" * 32)


async def test_deeply_nested_json_is_422_everywhere(client, runtime):
    """It was a 400 without the error body on the API and a 500 on Open311, which reads JSON itself."""
    town, user = await _member(runtime)
    deep = b"[" * 100_000 + b"]" * 100_000
    r = await client.patch("/api/v1/me", content=deep, headers={**tma(runtime, user), "Content-Type": "application/json"})
    _is_error(r, 422, "invalid")
    assert r.json()["message"] == "В теле запроса слишком глубокая вложенность."
    r = await client.post(f"/open311/v2/{town.slug}/requests.json", content=b'{"description": ' + deep + b"}",
                          headers={"Content-Type": "application/json", "Accept-Language": "en"})
    _is_error(r, 422, "invalid")
    assert r.json()["message"] == "The request body is nested too deeply."


async def test_json_nested_within_the_limit_reaches_the_route(client, runtime):
    _, user = await _member(runtime)
    body = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    r = await client.patch("/api/v1/me", content=body, headers={**tma(runtime, user), "Content-Type": "application/json"})
    _is_error(r, 422, "invalid")  # the route's own validation: not an object
    assert r.json()["message"] != "В теле запроса слишком глубокая вложенность."


async def test_oversized_and_unreadable_bodies(client, runtime):
    _, user = await _member(runtime)
    h = {**tma(runtime, user), "Content-Type": "application/json"}
    r = await client.patch("/api/v1/me", content=b" " * (MAX_BODY_BYTES + 1), headers=h)
    _is_error(r, 413, "too_large")

    async def chunks():  # no Content-Length: counted while streaming
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b" " * 65536

    r = await client.patch("/api/v1/me", content=chunks(), headers=h)
    _is_error(r, 413, "too_large")
    r = await client.patch("/api/v1/me", content=b'{"locale": "\xff"}', headers=h)
    _is_error(r, 422, "invalid")
    r = await client.patch("/api/v1/me", content=b'{"locale": ', headers=h)
    _is_error(r, 422, "invalid")


async def test_starlette_errors_use_the_error_body(client):
    r = await client.get("/api/v1/no-such-thing", headers={"Accept-Language": "en"})
    # "no_route", not a domain "not_found": a miniapp tells a server without a route from a missing object.
    assert r.status_code == 404 and r.json() == {"error": "no_route", "message": "Not found."}
    r = await client.put("/api/v1/me")
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed" and "GET" in r.headers["allow"]


def test_error_field_names_stay_short_and_encodable():
    """A field's location can hold a client's own dictionary key: a lone surrogate in it made
    the 422 itself fail to encode."""
    assert _field_name(("body", "settings", "a\ud800b")) == "settings.a?b"
    assert len(_field_name(("query", "x" * 1000))) == 100


def test_json_depth_skips_strings_and_stops_past_the_limit():
    assert json_depth('{"a": [1, {"b": "[[[[{{{{"}]}', limit=3) == 3
    assert json_depth('{"a": [1, {"b": "[[[[{{{{"}]}', limit=2) == 3  # strings' brackets not counted
    assert json_depth(r'["\"[[[", [[]]]', limit=2) == 3
    assert json_depth("[" * 10_000, limit=32) == 33
    assert json_depth("[]" * 100 + "[[[]]]", limit=2) == 3
    assert json_depth('"just a string"', limit=32) <= 32


@pytest.mark.parametrize(
    ("name", "mime", "stored"),
    [
        pytest.param("photo\u202egpj.exe", "image/jpeg", "photogpj.exe.jpg", id="right-to-left override"),
        pytest.param("\u2066report\u2069\u200f.pdf", "application/pdf", "report.pdf", id="isolates and RLM"),
        pytest.param("sc\u200ban\u200d\ufeff.pdf", "application/pdf", "scan.pdf", id="zero-width characters and BOM"),
        pytest.param("a\x85b\x9bc\u2028d.txt", "text/plain", "a_b_cd.txt", id="C1 controls and line separator"),
        pytest.param("\ud800bad.pdf", "application/pdf", "bad.pdf", id="lone surrogate"),
        pytest.param("\u202e", "application/pdf", "file.pdf", id="nothing left"),
        pytest.param("Фото двора.jpg", "image/jpeg", "Фото двора.jpg", id="an ordinary name stays"),
    ],
)
def test_safe_filename_drops_invisible_and_bidi_characters(name: str, mime: str, stored: str):
    assert safe_filename(name, mime) == stored
    stored.encode("utf-8")  # storable and sendable
