"""The HTTP API through the real ASGI app: auth, profile, consent, hub, tenant isolation."""

from __future__ import annotations

import json
import time

from sqlalchemy import select

from backend.core.privacy.models import Consent
from backend.core.users.models import Role, User
from tests.factories import make_town, make_user, seed, tma


async def test_me_requires_launch_data(client):
    r = await client.get("/api/v1/me")
    assert r.status_code == 401
    assert r.json() == {"error": "unauthorized", "message": "Откройте приложение из бота: нет данных запуска."}
    r = await client.get("/api/v1/me", headers={"Authorization": "Bearer x", "Accept-Language": "en"})
    assert r.status_code == 401
    assert r.json()["message"] == "Open this app from the bot: launch data is missing."


async def test_me_rejects_expired_wrong_token_and_future(client, runtime):
    tg = {"id": 801, "first_name": "Ян"}
    old = int(time.time()) - runtime.settings.AUTH_MAX_AGE - 5
    r = await client.get("/api/v1/me", headers=tma(runtime, tg, auth_date=old))
    assert r.status_code == 401 and "истёк" in r.json()["message"]
    r = await client.get("/api/v1/me", headers=tma(runtime, tg, token="987654321:ANOTHER-token-entirely_0000"))
    assert r.status_code == 401
    r = await client.get("/api/v1/me", headers=tma(runtime, tg, auth_date=int(time.time()) + 600))
    assert r.status_code == 401
    async with runtime.sessionmaker() as s:
        assert await s.scalar(select(User).where(User.telegram_id == 801)) is None


async def test_me_returns_user_and_memberships(client, runtime):
    async def data(s):
        a = await make_town(s, slug="alpha", name="Альфа")
        b = await make_town(s, slug="beta", name="Бета")
        u = await make_user(s, telegram_id=802, first_name="Лена", town=a, roles=(Role.RESIDENT, Role.CLERK))
        await make_user(s, telegram_id=802, town=b, roles=(Role.ORGANIZER,))
        return u

    await seed(runtime, data)
    r = await client.get("/api/v1/me", headers=tma(runtime, {"id": 802, "first_name": "Лена"}))
    assert r.status_code == 200
    body = r.json()
    assert body["telegram_id"] == 802 and body["first_name"] == "Лена" and body["locale"] == "ru"
    assert sorted((m["municipality"]["slug"], m["role"]) for m in body["memberships"]) == [
        ("alpha", "clerk"), ("alpha", "resident"), ("beta", "organizer"),
    ]
    assert body["current_municipality"]["slug"] == "beta"
    assert body["consent"] is None


async def test_first_contact_from_miniapp_creates_user(client, runtime):
    r = await client.get("/api/v1/me", headers=tma(runtime, {"id": 803, "first_name": "Новый", "language_code": "en"}))
    assert r.status_code == 200
    assert r.json()["memberships"] == [] and r.json()["first_name"] == "Новый"


async def test_patch_me_language_and_town(client, runtime):
    town = await seed(runtime, lambda s: make_town(s, slug="gamma", name="Гамма"))
    h = tma(runtime, {"id": 804, "first_name": "Ира"})
    r = await client.patch("/api/v1/me", json={"locale": "en", "municipality_id": town.id}, headers=h)
    assert r.status_code == 200
    assert r.json()["locale"] == "en"
    assert [m["role"] for m in r.json()["memberships"]] == ["resident"]
    r = await client.patch("/api/v1/me", json={"locale": "de"}, headers=h)
    assert r.status_code == 422
    assert r.json()["message"] == "Some fields are filled in incorrectly: locale."
    r = await client.patch("/api/v1/me", json={"municipality_id": 999999}, headers=h)
    assert r.status_code == 404 and r.json()["message"] == "Town not found."


async def test_hub_lists_services_and_hides_other_towns(client, runtime):
    async def data(s):
        a = await make_town(s, slug="town-a", name="Город А")
        b = await make_town(s, slug="town-b", name="Город Б")
        await make_user(s, telegram_id=805, town=a)
        return a, b

    a, b = await seed(runtime, data)
    h = tma(runtime, {"id": 805, "first_name": "Х"})
    r = await client.get(f"/api/v1/municipalities/{a.id}/services", headers=h)
    assert r.status_code == 200
    assert [(s["slug"], s["title"], s["path"]) for s in r.json()] == [("profile", "Профиль", "profile/")]
    r = await client.get(f"/api/v1/municipalities/{b.id}/services", headers=h)
    assert r.status_code == 404
    assert r.json() == {"error": "not_found", "message": "Город не найден."}


async def test_consent_and_export_and_forget(client, runtime):
    await seed(runtime, lambda s: make_town(s, slug="delta", name="Дельта"))
    h = tma(runtime, {"id": 806, "first_name": "Оля"})
    r = await client.get("/api/v1/privacy", headers=h)
    assert r.json()["accepted"] is False and "152-ФЗ" in r.json()["text"]
    r = await client.post("/api/v1/privacy/consent", headers=h)
    assert r.json()["accepted"] is True
    async with runtime.sessionmaker() as s:
        consent = await s.scalar(select(Consent))
        assert consent.channel == "miniapp" and consent.locale == "ru"

    r = await client.get("/api/v1/me/export", headers=h)
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    exported = json.loads(r.content)
    assert exported["user"]["telegram_id"] == 806 and exported["consents"][0]["channel"] == "miniapp"

    r = await client.delete("/api/v1/privacy/consent", headers=h)
    assert r.json()["accepted"] is False
    r = await client.delete("/api/v1/me", headers=h)
    assert r.status_code == 204
    async with runtime.sessionmaker() as s:
        assert await s.scalar(select(User).where(User.telegram_id == 806)) is None
        assert await s.scalar(select(User).where(User.anonymized_at.is_not(None))) is not None


async def test_health_ready_metrics(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status_code == 200 and r.json()["ready"] is True
    await client.get("/api/v1/me")
    text = (await client.get("/metrics")).text
    assert 'glocal_http_requests_total{method="GET",route="/api/v1/me",status="401"} 1.0' in text


async def test_metrics_label_plain_routes_by_their_path(client):
    """The webhook is a plain Starlette route, not a FastAPI one: it still gets its own label."""
    r = await client.post("/telegram/webhook", json={"update_id": 1}, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"})
    assert r.status_code == 401
    await client.get("/no/such/page")
    text = (await client.get("/metrics")).text
    assert 'glocal_http_requests_total{method="POST",route="/telegram/webhook",status="401"} 1.0' in text
    assert 'glocal_http_requests_total{method="GET",route="other",status="404"} 1.0' in text


async def test_i18n_catalog_for_miniapps(client):
    ru = (await client.get("/api/v1/i18n/ru")).json()
    assert ru["Profile"] == "Профиль"
    en = (await client.get("/api/v1/i18n/en")).json()
    assert en["Profile"] == "Profile"


async def test_miniapps_are_served(client):
    r = await client.get("/app/hub/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]


async def test_language_comes_from_profile_then_launch_data(client, runtime):
    town = await seed(runtime, lambda s: make_town(s, slug="lang", name="Язык"))
    en = {"id": 807, "first_name": "Tom", "language_code": "en"}
    r = await client.get(f"/api/v1/municipalities/{town.id}/services", headers=tma(runtime, en))
    assert r.json() == {"error": "not_found", "message": "Town not found."}
    await client.patch("/api/v1/me", json={"locale": "ru"}, headers=tma(runtime, en))
    r = await client.get(f"/api/v1/municipalities/{town.id}/services", headers=tma(runtime, en))
    assert r.json()["message"] == "Город не найден."
    r = await client.get("/api/v1/privacy", headers=tma(runtime, en))
    assert r.json()["given_at"] is None
