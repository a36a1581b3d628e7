"""Open311 GeoReport v2 through the real ASGI app: discovery, services, public reports without
personal data, filing with a town's API key into the clerks' queue, and the keys themselves."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from urllib.parse import urlencode

from sqlalchemy import select

from backend.core.audit.models import AuditLog
from backend.core.municipalities import service as towns
from backend.core.users.models import Role
from backend.db import utcnow
from backend.services.appeals import queries, service
from backend.services.appeals.models import Appeal, Open311Key
from backend.services.appeals.rules import Kind
from backend.services.appeals.schemas import AppealDraft
from tests.factories import make_town, make_user, seed, tma
from tests.services.appeals.factories import appeals_settings

# Every field GeoReport v2 defines for a service request, and no other.
REQUEST_KEYS = {
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
    "address", "address_id", "zipcode", "lat", "long", "media_url",
}
SERVICE_KEYS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
EN = {"Accept-Language": "en"}
FORM = {"Content-Type": "application/x-www-form-urlencoded", **EN}
PERSON = ("Иванов", "Иван", "ivan@example.ru", "+79990001122")


async def _world(s):
    """Town A with two live categories (one routed to a department), a retired one, reports
    and a formal complaint; town B with a report of its own; staff of both."""
    a = await make_town(s, slug="o311-a", name="Город А", settings=appeals_settings(reg_prefix="OA"))
    b = await make_town(s, slug="o311-b", name="Город Б", settings=appeals_settings(reg_prefix="OB"))
    dept = await towns.add_department(s, municipality_id=a.id, name="Отдел дорог")
    roads = await service.create_category(
        s, municipality_id=a.id, code="roads", name="Дороги", department_id=dept.id, description="Ямы и разметка", sort=1
    )
    light = await service.create_category(s, municipality_id=a.id, code="light", name="Освещение", sort=2)
    old = await service.create_category(s, municipality_id=a.id, code="old", name="Старое")
    old.is_active = False
    b_roads = await service.create_category(s, municipality_id=b.id, code="roads", name="Дороги Б")

    resident = await make_user(s, first_name="Иван", town=a)
    resident.phone, resident.identity_level, resident.full_name = PERSON[3], "phone", "Иванов Иван"
    clerk = await make_user(s, first_name="Клерк", town=a, roles=(Role.CLERK,))
    admin = await make_user(s, first_name="Админ", town=a, roles=(Role.ADMIN,))
    admin_b = await make_user(s, first_name="АдминБ", town=b, roles=(Role.ADMIN,))

    def draft(kind, cat, text, **kw):
        person = {"full_name": "Иванов Иван", "reply_address": PERSON[2], "phone": PERSON[3]}
        return AppealDraft(kind=kind, category_id=cat.id, text=text, **{**person, **kw})

    now = utcnow()
    pothole = await service.submit(
        s, town=a, author=resident, now=now - timedelta(days=2),
        draft=draft(Kind.REPORT, roads, "Яма на Ленина, 5", address="ул. Ленина, 5", lat=55.75, lon=37.61),
    )
    lamp = await service.submit(s, town=a, author=None, now=now - timedelta(days=1), draft=draft(Kind.REPORT, light, "Не горит фонарь"))
    await service.redirect(s, appeal=lamp, actor=clerk, to="АО «Горсвет»")
    ancient = await service.submit(s, town=a, author=resident, now=now - timedelta(days=120), draft=draft(Kind.REPORT, roads, "Старая яма"))
    complaint = await service.submit(s, town=a, author=resident, now=now - timedelta(days=1), draft=draft(Kind.COMPLAINT, roads, "Жалоба на дороги"))
    b_report = await service.submit(s, town=b, author=None, now=now - timedelta(days=1), draft=draft(Kind.REPORT, b_roads, "Яма в Б"))
    return {
        "a": a, "b": b, "clerk": clerk, "admin": admin, "admin_b": admin_b,
        "pothole": pothole.reg_number, "lamp": lamp.reg_number, "ancient": ancient.reg_number,
        "complaint": complaint.reg_number, "b_report": b_report.reg_number,
    }


async def _issue_key(client, runtime, w, name="Городской портал") -> str:
    r = await client.post(f"/api/v1/municipalities/{w['a'].id}/open311/keys", json={"name": name}, headers=tma(runtime, w["admin"]))
    assert r.status_code == 201, r.text
    return r.json()["key"]


def _assert_error(r, code: int) -> list[dict]:
    assert r.status_code == code, r.text
    body = r.json()
    assert isinstance(body, list) and body
    assert all(set(e) == {"code", "description"} and e["code"] == code and e["description"] for e in body)
    return body


async def test_discovery(client, runtime):
    w = await seed(runtime, _world)
    r = await client.get("/open311/v2/o311-a/discovery.json", headers=EN)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"changeset", "contact", "key_service", "endpoints"}
    assert "Город А" in body["contact"] and "Город А" in body["key_service"]
    (endpoint,) = body["endpoints"]
    assert endpoint == {
        "specification": "http://wiki.open311.org/GeoReport_v2",
        "url": "http://glocal.test/open311/v2/o311-a",
        "changeset": body["changeset"],
        "type": "production",
        "formats": ["application/json"],
    }
    assert body["changeset"][:4].isdigit() and "T" in body["changeset"]
    assert r.headers["access-control-allow-origin"] == "*"

    _assert_error(await client.get("/open311/v2/nowhere/discovery.json"), 404)
    await seed(runtime, lambda s: _deactivate(s, w["b"].id))
    _assert_error(await client.get("/open311/v2/o311-b/discovery.json"), 404)
    _assert_error(await client.get("/open311/v2/o311-b/requests.json"), 404)


async def _deactivate(s, town_id):
    town = await towns.get(s, municipality_id=town_id)
    town.is_active = False


async def test_services(client, runtime):
    await seed(runtime, _world)
    r = await client.get("/open311/v2/o311-a/services.json")
    assert r.status_code == 200
    services = r.json()
    assert all(set(s) == SERVICE_KEYS for s in services)
    assert services == [
        {"service_code": "roads", "service_name": "Дороги", "description": "Ямы и разметка", "metadata": False,
         "type": "realtime", "keywords": "", "group": "Отдел дорог"},
        {"service_code": "light", "service_name": "Освещение", "description": "", "metadata": False,
         "type": "realtime", "keywords": "", "group": ""},
    ]
    r = await client.get("/open311/v2/o311-a/services/roads.json")
    assert r.status_code == 200 and r.json() == {"service_code": "roads", "attributes": []}
    body = _assert_error(await client.get("/open311/v2/o311-a/services/old.json", headers=EN), 404)
    assert body[0]["description"] == "There is no service with the code “old”."
    _assert_error(await client.get("/open311/v2/o311-a/services/nope.json"), 404)


async def test_requests_follow_the_spec_and_hide_people_and_formal_appeals(client, runtime):
    w = await seed(runtime, _world)
    r = await client.get("/open311/v2/o311-a/requests.json", headers=EN)
    assert r.status_code == 200
    requests = r.json()
    # Newest first; the 120-day-old report is outside the default 90 days; no formal appeal.
    assert [x["service_request_id"] for x in requests] == [w["lamp"], w["pothole"]]
    assert all(set(x) == REQUEST_KEYS for x in requests)
    assert not any(p in r.text for p in PERSON)
    assert w["complaint"] not in r.text and "Жалоба" not in r.text

    lamp, pothole = requests
    assert pothole["status"] == "open" and pothole["status_notes"] is None
    assert (pothole["service_code"], pothole["service_name"], pothole["agency_responsible"]) == ("roads", "Дороги", "Отдел дорог")
    assert (pothole["description"], pothole["address"], pothole["lat"], pothole["long"]) == ("Яма на Ленина, 5", "ул. Ленина, 5", 55.75, 37.61)
    assert pothole["media_url"] is None and pothole["address_id"] is None and pothole["zipcode"] is None
    assert pothole["service_notice"] is None
    assert pothole["requested_datetime"].endswith("+03:00") and pothole["expected_datetime"] > pothole["requested_datetime"]
    assert lamp["status"] == "closed" and lamp["status_notes"] == "Redirected to АО «Горсвет»."
    assert lamp["agency_responsible"] == "Город А" and lamp["service_code"] == "light"

    r = await client.get(f"/open311/v2/o311-a/requests/{w['pothole']}.json")
    assert r.status_code == 200 and [x["service_request_id"] for x in r.json()] == [w["pothole"]]
    assert set(r.json()[0]) == REQUEST_KEYS and not any(p in r.text for p in PERSON)
    _assert_error(await client.get(f"/open311/v2/o311-a/requests/{w['complaint']}.json"), 404)
    _assert_error(await client.get("/open311/v2/o311-a/requests/OA-2020-000999.json"), 404)
    r = await client.get("/open311/v2/o311-a/requests.json", params={"service_request_id": w["complaint"]})
    assert r.json() == []


async def test_request_filters(client, runtime):
    w = await seed(runtime, _world)
    url = "/open311/v2/o311-a/requests.json"

    async def ids(**params):
        r = await client.get(url, params=params, headers=EN)
        assert r.status_code == 200, r.text
        return [x["service_request_id"] for x in r.json()]

    assert await ids(service_code="roads") == [w["pothole"]]
    assert await ids(service_code="roads,light") == [w["lamp"], w["pothole"]]
    assert await ids(service_code="nope") == []
    assert await ids(status="open") == [w["pothole"]]
    assert await ids(status="closed") == [w["lamp"]]
    assert await ids(status="open,closed") == [w["lamp"], w["pothole"]]

    now = utcnow()
    old_window = {"start_date": (now - timedelta(days=150)).isoformat(), "end_date": (now - timedelta(days=100)).isoformat()}
    assert await ids(**old_window) == [w["ancient"]]
    assert await ids(start_date=(now - timedelta(days=1, hours=12)).isoformat()) == [w["lamp"]]
    assert await ids(end_date=(now - timedelta(days=1, hours=12)).strftime("%Y-%m-%dT%H:%M:%SZ")) == [w["pothole"], w["ancient"]]
    # service_request_id overrides everything else, and lists are comma-delimited.
    assert sorted(await ids(service_request_id=f"{w['ancient']},{w['lamp']}", status="open", service_code="roads")) == sorted([w["ancient"], w["lamp"]])

    body = _assert_error(await client.get(url, params={"start_date": "yesterday"}, headers=EN), 400)
    assert body[0]["description"] == "start_date is not a date and time in ISO 8601 (w3c) form."
    _assert_error(await client.get(url, params={"start_date": now.isoformat(), "end_date": (now - timedelta(days=1)).isoformat()}), 400)
    _assert_error(await client.get(url, params={"start_date": (now - timedelta(days=200)).isoformat(), "end_date": now.isoformat()}), 400)
    _assert_error(await client.get(url, params={"status": "pending"}), 400)


async def test_post_with_a_key_files_a_report_into_the_clerks_queue(client, runtime):
    w = await seed(runtime, _world)
    key = await _issue_key(client, runtime, w)
    form = {
        "api_key": key, "service_code": "roads", "lat": "55.7512", "long": "37.6184", "address_string": "ул. Мира, 1",
        "email": "petr@example.ru", "first_name": "Пётр", "last_name": "Петров", "phone": "+79995554433",
        "description": "Провал асфальта у остановки", "device_id": "dev-1", "media_url": "https://example.org/p.jpg",
        "attribute[size]": "big",
    }
    r = await client.post("/open311/v2/o311-a/requests.json", content=urlencode(form), headers=FORM)
    assert r.status_code == 200, r.text
    (created,) = r.json()
    assert set(created) == {"service_request_id", "token", "service_notice", "account_id"}
    number, token = created["service_request_id"], created["token"]
    assert number.startswith("OA-") and token and created["account_id"] is None
    assert number in created["service_notice"]

    r = await client.get(f"/open311/v2/o311-a/tokens/{token}.json")
    assert r.status_code == 200 and r.json() == [{"service_request_id": number, "token": token}]
    _assert_error(await client.get("/open311/v2/o311-a/tokens/not-a-token.json"), 404)

    # The clerk sees it in the queue, with the person's details; the public does not.
    clerk_h = tma(runtime, w["clerk"])
    r = await client.get(f"/api/v1/municipalities/{w['a'].id}/appeals", headers=clerk_h)
    assert r.status_code == 200
    (item,) = [i for i in r.json()["items"] if i["reg_number"] == number]
    assert item["kind"] == "report" and item["full_name"] == "Пётр Петров"
    card = (await client.get(f"/api/v1/municipalities/{w['a'].id}/appeals/{item['id']}", headers=clerk_h)).json()
    assert card["history"][0]["details"]["source"] == "open311"
    assert (card["reply_address"], card["phone"], card["lat"], card["lon"]) == ("petr@example.ru", "+79995554433", 55.7512, 37.6184)
    async with runtime.sessionmaker() as s:
        appeal = await s.scalar(select(Appeal).where(Appeal.reg_number == number))
        assert (appeal.source, appeal.kind, appeal.author_id, appeal.open311_token) == ("open311", "report", None, token)
        assert appeal.text == "Провал асфальта у остановки" and appeal.address == "ул. Мира, 1"

    r = await client.get(f"/open311/v2/o311-a/requests/{number}.json")
    assert r.json()[0]["description"] == "Провал асфальта у остановки" and r.json()[0]["status"] == "open"
    assert not any(p in r.text for p in ("Петров", "petr@example.ru", "+79995554433"))

    # A JSON body works too, and an address alone is a location; the key may ride in the query.
    r = await client.post(
        f"/open311/v2/o311-a/requests.json?api_key={key}",
        json={"service_code": "light", "address_string": "ул. Мира, 3", "description": "Темно во дворе"},
    )
    assert r.status_code == 200, r.text
    async with runtime.sessionmaker() as s:
        appeal = await s.scalar(select(Appeal).where(Appeal.reg_number == r.json()[0]["service_request_id"]))
        assert (appeal.full_name, appeal.reply_address, appeal.phone, appeal.lat) == (None, None, None, None)


async def test_post_refuses_bad_other_towns_and_revoked_keys(client, runtime):
    w = await seed(runtime, _world)
    key = await _issue_key(client, runtime, w)
    r = await client.post(f"/api/v1/municipalities/{w['b'].id}/open311/keys", json={"name": "Б"}, headers=tma(runtime, w["admin_b"]))
    b_key = r.json()["key"]
    form = {"service_code": "roads", "lat": "55.7", "long": "37.6", "description": "Яма"}
    url = "/open311/v2/o311-a/requests.json"

    async def count():
        async with runtime.sessionmaker() as s:
            return len(list(await s.scalars(select(Appeal.id))))

    before = await count()
    for bad in ({}, {"api_key": "wrong"}, {"api_key": b_key}):
        body = _assert_error(await client.post(url, content=urlencode({**form, **bad}), headers=FORM), 403)
        assert body[0]["description"] == "The API key is not valid for this town."
    # Town B's key works only in town B.
    r = await client.post("/open311/v2/o311-b/requests.json", content=urlencode({**form, "api_key": b_key}), headers=FORM)
    assert r.status_code == 200
    assert await count() == before + 1

    key_id = (await client.get(f"/api/v1/municipalities/{w['a'].id}/open311/keys", headers=tma(runtime, w["admin"]))).json()[0]["id"]
    r = await client.delete(f"/api/v1/municipalities/{w['a'].id}/open311/keys/{key_id}", headers=tma(runtime, w["admin"]))
    assert r.status_code == 204
    _assert_error(await client.post(url, content=urlencode({**form, "api_key": key}), headers=FORM), 403)
    assert await count() == before + 1


async def test_post_missing_or_invalid_fields(client, runtime):
    w = await seed(runtime, _world)
    key = await _issue_key(client, runtime, w)
    url = "/open311/v2/o311-a/requests.json"

    async def post(**fields):
        return await client.post(url, content=urlencode({"api_key": key, **fields}), headers=FORM)

    body = _assert_error(await post(), 400)
    assert [e["description"] for e in body] == [
        "The parameter service_code is required.",
        "The parameter description is required.",
        "Give the location: lat and long, or address_string.",
    ]
    body = _assert_error(await post(service_code="roads", description="Яма", lat="55.7"), 400)
    assert [e["description"] for e in body] == ["Give the location: lat and long, or address_string."]
    body = _assert_error(await post(service_code="roads", description="Яма", lat="north", long="37.6"), 400)
    assert [e["description"] for e in body] == ["The parameter lat has an invalid value."]
    _assert_error(await post(service_code="roads", description="Яма", lat="95", long="37.6"), 400)
    body = _assert_error(await post(service_code="old", description="Яма", address_string="ул. Мира"), 400)
    assert body[0]["description"] == "There is no service with the code “old”."
    _assert_error(await post(service_code="roads", description="я" * 10_001, address_string="ул. Мира"), 400)
    r = await client.post(url, content=b"[1, 2]", headers={"Content-Type": "application/json"})
    _assert_error(r, 400)
    async with runtime.sessionmaker() as s:
        assert await s.scalar(select(Appeal).where(Appeal.source == "open311")) is None


async def test_keys_are_for_the_towns_admins_and_shown_once(client, runtime):
    w = await seed(runtime, _world)
    base = f"/api/v1/municipalities/{w['a'].id}/open311/keys"
    admin_h = tma(runtime, w["admin"])
    r = await client.post(base, json={"name": "Клерк"}, headers=tma(runtime, w["clerk"]))
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert (await client.get(base, headers=tma(runtime, w["clerk"]))).status_code == 403
    r = await client.post(base, json={"name": "Чужой"}, headers=tma(runtime, w["admin_b"]))
    assert r.status_code == 404
    assert (await client.post(base, json={"name": "Аноним"})).status_code == 401
    assert (await client.post(base, json={"name": ""}, headers=admin_h)).status_code == 422

    r = await client.post(base, json={"name": "Портал  города"}, headers=admin_h)
    assert r.status_code == 201
    issued = r.json()
    assert set(issued) == {"id", "name", "created_at", "revoked_at", "key"} and issued["name"] == "Портал города"
    secret = issued["key"]
    assert len(secret) >= 40

    r = await client.get(base, headers=admin_h)
    assert r.status_code == 200
    assert r.json() == [{k: v for k, v in issued.items() if k != "key"}]
    assert secret not in r.text
    async with runtime.sessionmaker() as s:
        stored = await s.get(Open311Key, issued["id"])
        assert stored.key_hash == hashlib.sha256(secret.encode()).hexdigest()
        rows = [json.dumps([getattr(stored, c.key) for c in Open311Key.__table__.columns], default=str)]
        rows += [json.dumps([e.before, e.after]) for e in await s.scalars(select(AuditLog))]
        assert not any(secret in row for row in rows)

    # Another town's admin cannot revoke it; its own admin can, twice without harm.
    assert (await client.delete(f"{base}/{issued['id']}", headers=tma(runtime, w["admin_b"]))).status_code == 404
    b_base = f"/api/v1/municipalities/{w['b'].id}/open311/keys"
    assert (await client.delete(f"{b_base}/{issued['id']}", headers=tma(runtime, w["admin_b"]))).status_code == 404
    assert (await client.delete(f"{base}/{issued['id']}", headers=admin_h)).status_code == 204
    assert (await client.delete(f"{base}/{issued['id']}", headers=admin_h)).status_code == 204
    assert (await client.delete(f"{base}/999999", headers=admin_h)).status_code == 404
    (listed,) = (await client.get(base, headers=admin_h)).json()
    assert listed["revoked_at"] is not None

    async with runtime.sessionmaker() as s:
        actions = [
            (e.action, e.actor_id, e.municipality_id)
            for e in await s.scalars(select(AuditLog).where(AuditLog.object_type == "open311_key").order_by(AuditLog.id))
        ]
    assert actions == [("open311_key.issue", w["admin"].id, w["a"].id), ("open311_key.revoke", w["admin"].id, w["a"].id)]


async def test_towns_never_see_each_others_reports(client, runtime):
    w = await seed(runtime, _world)
    key = await _issue_key(client, runtime, w)
    r = await client.post(
        "/open311/v2/o311-a/requests.json",
        content=urlencode({"api_key": key, "service_code": "roads", "address_string": "ул. Мира", "description": "Яма А"}),
        headers=FORM,
    )
    number, token = r.json()[0]["service_request_id"], r.json()[0]["token"]

    r = await client.get("/open311/v2/o311-b/requests.json")
    assert [x["service_request_id"] for x in r.json()] == [w["b_report"]]
    r = await client.get("/open311/v2/o311-b/requests.json", params={"service_request_id": f"{number},{w['pothole']}"})
    assert r.json() == []
    _assert_error(await client.get(f"/open311/v2/o311-b/requests/{w['pothole']}.json"), 404)
    _assert_error(await client.get(f"/open311/v2/o311-b/tokens/{token}.json"), 404)
    r = await client.get("/open311/v2/o311-b/services.json")
    assert [s["service_name"] for s in r.json()] == ["Дороги Б"]
    r = await client.get("/open311/v2/o311-a/requests.json")
    assert w["b_report"] not in r.text


async def test_other_paths_and_formats_answer_in_georeport_form(client, runtime):
    await seed(runtime, _world)
    body = _assert_error(await client.get("/open311/v2/o311-a/services.xml", headers=EN), 400)
    assert body[0]["description"] == "Only the JSON format is supported."
    _assert_error(await client.get("/open311/v2/o311-a/nothing-here.json"), 404)
    _assert_error(await client.get("/open311/v2/nowhere/nothing-here.json"), 404)
    # The suffix-less forms are accepted as well.
    assert (await client.get("/open311/v2/o311-a/services")).status_code == 200
    assert (await client.get("/open311/v2/o311-a/requests")).status_code == 200
    assert set((await client.get("/open311/v2/o311-a/")).json()) == {"changeset", "contact", "key_service", "endpoints"}


async def test_a_report_found_obscene_keeps_its_text_off_the_public_feed(client, runtime):
    w = await seed(runtime, _world)

    async def obscene(s):
        town = await towns.get(s, municipality_id=w["a"].id)
        cat = (await queries.categories(s, municipality_id=town.id))[0]
        report = await service.submit(s, town=town, author=None, draft=AppealDraft(kind=Kind.REPORT, category_id=cat.id, text="Грубые слова"))
        clerk = await s.get(type(w["clerk"]), w["clerk"].id)
        await service.mark_no_answer(s, appeal=report, actor=clerk, reason="obscene")
        return report.reg_number

    number = await seed(runtime, obscene)
    r = await client.get(f"/open311/v2/o311-a/requests/{number}.json", headers=EN)
    (shown,) = r.json()
    assert shown["description"] is None and "Грубые" not in r.text
    assert shown["status"] == "closed"
    assert shown["status_notes"] == "The appeal contains obscene or insulting language or threats."


async def test_bad_input_anywhere_is_a_georeport_400_not_a_500(client, runtime):
    """Dates at the ends of the calendar, NUL and lone surrogates in paths, filters and bodies:
    each is GeoReport's 400 (a list of {code, description}), never a server error."""
    w = await seed(runtime, _world)
    key = await _issue_key(client, runtime, w)
    url = "/open311/v2/o311-a/requests.json"
    # Year 1 and year 9999 with an offset leave datetime's range in UTC; a bare date at the
    # very start is read on the town's clock (UTC+3), which leaves it too.
    for moment in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "0001-01-01"):
        for name in ("start_date", "end_date"):
            body = _assert_error(await client.get(url, params={name: moment}, headers=EN), 400)
            assert body[0]["description"] == f"{name} is not a date and time in ISO 8601 (w3c) form."
    assert (await client.get(url, params={"start_date": "9999-12-31T00:00:00+00:00"})).json() == []

    for params in ({"service_code": "roads\x00"}, {"service_request_id": "OA\x00"}, {"status": "open\x00"}, {"start_date": "2026\x00"}):
        body = _assert_error(await client.get(url, params=params, headers=EN), 400)
        assert body[0]["description"] == f"The parameter {next(iter(params))} has an invalid value."
    for path in ("/open311/v2/o311-a%00/services.json", "/open311/v2/o311-a/services/roads%00.json",
                 "/open311/v2/o311-a/requests/OA%00.json", "/open311/v2/o311-a/tokens/x%00.json"):
        _assert_error(await client.get(path, headers=EN), 400)

    form = {"api_key": key, "service_code": "roads", "address_string": "ул. Мира, 1", "description": "Яма"}
    for name in ("description", "address_string", "first_name", "email", "service_code", "api_key"):
        body = _assert_error(await client.post(url, content=urlencode({**form, name: "a\x00b"}), headers=FORM), 400)
        assert [e["description"] for e in body] == [f"The parameter {name} has an invalid value."]
        # JSON can carry a lone surrogate, which no database can store.
        raw = json.dumps({**form, name: "a\ud800b"})
        r = await client.post(url, content=raw, headers={"Content-Type": "application/json", **EN})
        assert [e["description"] for e in _assert_error(r, 400)] == [f"The parameter {name} has an invalid value."]
    # A wrong value is told before the key is checked; a wrong key before what is missing.
    body = _assert_error(await client.post(url, content=urlencode({"lat": "north"}), headers=FORM), 400)
    assert [e["description"] for e in body] == ["The parameter lat has an invalid value."]
    _assert_error(await client.post(url, content=urlencode({"service_code": "roads"}), headers=FORM), 403)
    async with runtime.sessionmaker() as s:
        assert await s.scalar(select(Appeal).where(Appeal.source == "open311")) is None
