"""The organizers' API of broadcasts through the real ASGI app: compose, preview, count,
start, pause, resume, cancel, the report; every bad input a 4xx that names the field."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from aiogram.methods import SendMessage, SendPhoto
from sqlalchemy import select

from backend.core.users.models import Role
from backend.db import unit_of_work
from backend.services.broadcasts import service
from backend.services.broadcasts.models import Broadcast, BroadcastRecipient
from tests.factories import make_town, make_user, seed, tma
from tests.services.broadcasts.factories import make_residents
from tests.telegram import JPEG

TEXT = "<b>Субботник</b> в парке, <a href=\"https://example.ru\">подробнее</a>"


async def _world(runtime, *, paid: bool = False):  # noqa: ANN001, ANN202
    async def make(s):  # noqa: ANN001, ANN202
        town = await make_town(s, settings={"services": {"broadcasts": {"paid_enabled": paid}}})
        other = await make_town(s)
        org = await make_user(s, town=town, roles=(Role.ORGANIZER,))
        head = await make_user(s, town=town, roles=(Role.HEAD,))
        resident = await make_user(s, town=town)
        stranger = await make_user(s, town=other, roles=(Role.ORGANIZER,))
        await make_residents(s, town, 5)
        await make_residents(s, town, 2, roles=(Role.ENTREPRENEUR,))
        return {"town": town, "other": other, "org": org, "head": head, "resident": resident, "stranger": stranger}
    return await seed(runtime, make)


def _base(w) -> str:  # noqa: ANN001
    return f"/api/v1/municipalities/{w['town'].id}/broadcasts"


async def test_compose_count_preview_start_and_report(client, harness, runtime) -> None:
    w = await _world(runtime)
    h = tma(runtime, w["org"])
    r = await client.get(f"{_base(w)}/options", headers=h)
    assert r.status_code == 200 and "news" in [c["code"] for c in r.json()["categories"]] and r.json()["paid_allowed"] is False

    r = await client.post(f"{_base(w)}/count", json={"kind": "town", "roles": ["entrepreneur"]}, headers=h)
    assert r.json() == {"recipients": 2}
    r = await client.post(f"{_base(w)}/count", json={"kind": "town"}, headers=h)
    assert r.json() == {"recipients": 10}  # 5 + 2 + the organizer, the head, the resident

    body = {"title": "Субботник", "text": TEXT, "category": "events", "segment": {"roles": ["resident"]},
            "buttons": [[{"text": "Карта", "kind": "url", "value": "https://example.ru/map"}]]}
    r = await client.post(_base(w), json=body, headers=h)
    assert r.status_code == 201, r.text
    bid = r.json()["id"]
    assert r.json()["status"] == "draft" and r.json()["progress"]["total"] == 0

    harness.session.calls.clear()
    r = await client.post(f"{_base(w)}/{bid}/preview", headers=h)
    assert r.status_code == 202
    [sent] = harness.session.pop()
    assert isinstance(sent, SendMessage) and sent.chat_id == w["org"].telegram_id and sent.parse_mode == "HTML"
    assert sent.text == TEXT
    assert [b.text for b in sent.reply_markup.inline_keyboard[0]] == ["Карта"] and len(sent.reply_markup.inline_keyboard) == 1

    photo = {"filename": "park.jpg", "mime": "image/jpeg", "data": base64.b64encode(JPEG + b"park").decode()}
    r = await client.put(f"{_base(w)}/{bid}/photo", json=photo, headers=h)
    assert r.status_code == 200 and r.json()["has_photo"] is True
    r = await client.post(f"{_base(w)}/{bid}/preview", headers=h)
    [sent] = harness.session.pop()
    assert isinstance(sent, SendPhoto) and sent.caption == TEXT

    r = await client.post(f"{_base(w)}/{bid}/start", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "running"
    assert r.json()["progress"] == {"total": 6, "pending": 6, "sending": 0, "sent": 0, "blocked": 0, "failed": 0,
                                    "uncertain": 0, "muted": 0, "remaining": 6}
    r = await client.put(f"{_base(w)}/{bid}", json=body, headers=h)
    assert r.status_code == 409

    r = await client.post(f"{_base(w)}/{bid}/pause", headers=h)
    assert r.json()["status"] == "paused"
    r = await client.post(f"{_base(w)}/{bid}/resume", headers=h)
    assert r.json()["status"] == "running"
    async with unit_of_work(runtime.sessionmaker) as s:  # as a worker that died mid-call and one that went on leave them
        rows = list(await s.scalars(select(BroadcastRecipient).where(BroadcastRecipient.broadcast_id == bid).order_by(BroadcastRecipient.id)))
        rows[0].state, rows[0].error = "uncertain", "in flight when its worker stopped"
        rows[1].state = "sent"
    r = await client.get(f"{_base(w)}/{bid}", headers=h)
    report = r.json()
    assert report["broadcast"]["progress"]["uncertain"] == 1 and report["broadcast"]["progress"]["remaining"] == 4
    assert [u["chat_id"] for u in report["uncertain"]] == [rows[0].chat_id]
    r = await client.post(f"{_base(w)}/{bid}/cancel", headers=h)
    assert r.json()["status"] == "cancelled"
    r = await client.get(_base(w), headers=h)
    assert [b["id"] for b in r.json()] == [bid]


async def test_schedule_and_the_job_starts_it(client, runtime) -> None:
    w = await _world(runtime)
    h = tma(runtime, w["org"])
    r = await client.post(_base(w), json={"text": "Завтра ярмарка"}, headers=h)
    bid = r.json()["id"]
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    r = await client.post(f"{_base(w)}/{bid}/schedule", json={"at": past}, headers=h)
    assert r.status_code == 422 and r.json()["fields"] == ["at"]
    soon = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    r = await client.post(f"{_base(w)}/{bid}/schedule", json={"at": soon}, headers=h)
    assert r.json()["status"] == "scheduled"
    async with unit_of_work(runtime.sessionmaker) as s:
        assert await service.start_due(s, registry=runtime.registry) == []
        assert await service.start_due(s, registry=runtime.registry, now=datetime.now(UTC) + timedelta(minutes=6)) == [bid]
        assert (await s.get(Broadcast, bid)).total == 10


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "<script>alert(1)</script>"}, "text"),
        ({"text": "<b>не закрыт"}, "text"),
        ({"text": "</b>лишний"}, "text"),
        ({"text": "AT&T"}, "text"),
        ({"text": "<a href=\"javascript:alert(1)\">x</a>"}, "text"),
        ({"text": "<span class=\"big\">x</span>"}, "text"),
        ({"text": "x" * 4097}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "ok", "category": "gossip"}, "category"),
        ({"text": "ok", "buttons": [[{"text": "x", "kind": "url", "value": "ftp://x.ru"}]]}, "buttons"),
        ({"text": "ok", "buttons": [[{"text": "x", "kind": "deeplink", "value": "a b"}]]}, "buttons"),
        ({"text": "ok", "segment": {"kind": "audience", "audience": "events.registrants", "ref": 1}}, "segment.audience"),
        ({"text": "ok", "segment": {"kind": "audience"}}, "segment"),
        ({"text": "ok", "paid": True}, "paid"),
        ({"text": "ok\x00"}, "text"),
    ],
)
async def test_bad_drafts_are_422_naming_the_field(client, runtime, body, field) -> None:
    w = await _world(runtime)
    r = await client.post(_base(w), json=body, headers=tma(runtime, w["org"]))
    assert r.status_code == 422, r.text
    assert any(f == field or f.startswith(field) or f.endswith(field) for f in r.json()["fields"]), r.json()


async def test_paid_needs_the_town_and_the_role(client, runtime) -> None:
    w = await _world(runtime, paid=True)
    r = await client.post(_base(w), json={"text": "ok", "paid": True}, headers=tma(runtime, w["org"]))
    assert r.status_code == 422 and r.json()["fields"] == ["paid"]
    r = await client.post(_base(w), json={"text": "ok", "paid": True}, headers=tma(runtime, w["head"]))
    assert r.status_code == 201 and r.json()["paid"] is True


async def test_photo_caption_limit_and_bad_photo(client, runtime) -> None:
    w = await _world(runtime)
    h = tma(runtime, w["org"])
    bid = (await client.post(_base(w), json={"text": "д" * 1500}, headers=h)).json()["id"]
    photo = {"filename": "p.jpg", "mime": "image/jpeg", "data": base64.b64encode(JPEG + b"x").decode()}
    r = await client.put(f"{_base(w)}/{bid}/photo", json=photo, headers=h)
    assert r.status_code == 422 and r.json()["fields"] == ["text"]  # a caption holds 1,024
    r = await client.put(f"{_base(w)}/{bid}/photo", json={**photo, "data": base64.b64encode(b"not a jpeg").decode()}, headers=h)
    assert r.status_code == 422


async def test_who_may(client, runtime) -> None:
    w = await _world(runtime)
    r = await client.get(_base(w), headers=tma(runtime, w["resident"]))
    assert r.status_code == 403
    r = await client.get(_base(w), headers=tma(runtime, w["stranger"]))
    assert r.status_code == 404
    bid = (await client.post(_base(w), json={"text": "ok"}, headers=tma(runtime, w["org"]))).json()["id"]
    other = f"/api/v1/municipalities/{w['other'].id}/broadcasts/{bid}"
    r = await client.get(other, headers=tma(runtime, w["stranger"]))
    assert r.status_code == 404
    r = await client.post(f"{_base(w)}/{bid}/pause", headers=tma(runtime, w["org"]))
    assert r.status_code == 409
