"""The town administration's API and the platform's, through the real ASGI app on real
SQLite/PostgreSQL: who may call it, how it refuses bad input (422, the field, a localized
message), what it audits, and that the rest of the app follows the settings it changes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select

from backend.core.audit.models import AuditLog
from backend.core.calendar import rules as calendar
from backend.core.municipalities import service as towns
from backend.core.municipalities.models import Municipality
from backend.core.users import service as users
from backend.core.users.models import Membership, Role, User
from backend.runtime import Runtime
from backend.services.appeals.models import AppealCategory
from backend.services.appeals.rules import Kind
from tests.factories import make_town, make_user, seed, tma
from tests.services.appeals.factories import make_appeal, make_category, make_resident


async def _world(runtime: Runtime) -> dict[str, Any]:
    """Коломна with an admin, a clerk, a resident and a category; Соседск with its own admin."""

    async def _make(s):  # noqa: ANN001, ANN202
        town = await make_town(s, slug="kolomna", name="Коломна")
        category = await make_category(s, town, code="roads", name="Дороги")
        admin = await make_user(s, first_name="Админ", town=town, roles=(Role.RESIDENT, Role.ADMIN))
        admin.full_name = "Админова Галина"
        clerk = await make_user(s, first_name="Клерк", town=town, roles=(Role.CLERK,))
        resident = await make_resident(s, town)
        other = await make_town(s, slug="sosedsk", name="Соседск")
        other_admin = await make_user(s, first_name="Сосед", town=other, roles=(Role.ADMIN,))
        return {"town": town, "category": category, "admin": admin, "clerk": clerk, "resident": resident,
                "other": other, "other_admin": other_admin}

    return await seed(runtime, _make)


def _h(runtime: Runtime, user: User, lang: str = "en") -> dict[str, str]:
    return {**tma(runtime, user), "Accept-Language": lang}


async def _audit(runtime: Runtime, town_id: int, action: str) -> list[AuditLog]:
    async with runtime.sessionmaker() as s:
        return list(await s.scalars(select(AuditLog).where(AuditLog.municipality_id == town_id, AuditLog.action == action).order_by(AuditLog.id)))


ADMIN_ROUTES = [
    ("GET", "/admin/settings", None),
    ("PATCH", "/admin/town", {"calendar_days": False}),
    ("PATCH", "/admin/components/appeals", {"enabled": False}),
    ("GET", "/admin/departments", None),
    ("POST", "/admin/departments", {"name": "Отдел кадров"}),
    ("GET", "/admin/staff", None),
    ("POST", "/admin/invites", {"role": "clerk"}),
    ("GET", "/admin/invites", None),
    ("GET", "/admin/audit", None),
    ("GET", "/appeal-categories/all", None),
    ("POST", "/appeal-categories", {"code": "parks", "name": "Парки"}),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES, ids=[f"{m} {p}" for m, p, _ in ADMIN_ROUTES])
async def test_only_the_towns_admin_gets_in(client, runtime, method, path, body):
    w = await _world(runtime)
    url = f"/api/v1/municipalities/{w['town'].id}{path}"

    clerk = await client.request(method, url, json=body, headers=_h(runtime, w["clerk"], "ru"))
    assert clerk.status_code == 403
    assert clerk.json() == {"error": "forbidden", "message": "У вас нет доступа к этому разделу."}
    stranger = await client.request(method, url, json=body, headers=_h(runtime, w["other_admin"]))
    assert stranger.status_code == 404
    anonymous = await client.request(method, url, json=body)
    assert anonymous.status_code == 401
    # Nothing was changed by the refused calls.
    async with runtime.sessionmaker() as s:
        assert (await s.get(Municipality, w["town"].id)).settings == {}
        assert await s.scalar(select(AuditLog.id).where(AuditLog.actor_id.in_([w["clerk"].id, w["other_admin"].id]))) is None

    own = await client.request(method, url, json=body, headers=_h(runtime, w["admin"]))
    assert own.status_code in (200, 201), own.text


# -- the town's calendar ------------------------------------------------------------------------


async def test_town_settings_are_validated_with_the_field_and_a_localized_message(client, runtime):
    w = await _world(runtime)
    url = f"/api/v1/municipalities/{w['town'].id}/admin/town"

    r = await client.patch(url, json={"timezone": "Mars/Olympus"}, headers=_h(runtime, w["admin"], "ru"))
    assert r.status_code == 422
    assert r.json() == {
        "error": "invalid", "fields": ["timezone"],
        "message": "Проверьте поля: Часовой пояс: неизвестный часовой пояс (пример: Europe/Moscow).",
    }
    r = await client.patch(url, json={"working_weekends": ["2026-03-04"]}, headers=_h(runtime, w["admin"]))
    assert r.status_code == 422
    assert r.json()["fields"] == ["working_weekends"]
    assert r.json()["message"] == "Check the fields: Worked weekends: may hold only Saturdays and Sundays."
    r = await client.patch(url, json={"holidays": ["2026-03-07"], "working_weekends": ["2026-03-07"]}, headers=_h(runtime, w["admin"]))
    assert r.status_code == 422 and r.json()["fields"] == ["working_weekends"]
    # Not a date at all: the body's own validation, naming the entry.
    r = await client.patch(url, json={"holidays": ["8 March"]}, headers=_h(runtime, w["admin"], "ru"))
    assert r.status_code == 422 and r.json()["fields"] == ["holidays.0"]
    assert r.json()["message"] == "Некоторые поля заполнены неверно: holidays.0."
    assert await _audit(runtime, w["town"].id, "town.settings") == []

    r = await client.patch(
        url, json={"name": "  Коломна  Московская ", "timezone": "Europe/Samara", "calendar_days": False,
                   "holidays": ["2026-03-09", "2026-03-09", "2026-01-01"], "working_weekends": ["2026-03-07"]},
        headers=_h(runtime, w["admin"]),
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "name": "Коломна Московская", "timezone": "Europe/Samara", "calendar_days": False,
        "holidays": ["2026-01-01", "2026-03-09"], "working_weekends": ["2026-03-07"],
    }
    [entry] = await _audit(runtime, w["town"].id, "town.settings")
    assert entry.actor_id == w["admin"].id
    assert entry.before == {"name": "Коломна", "timezone": "Europe/Moscow", "calendar_days": True, "holidays": [], "working_weekends": []}
    assert entry.after["holidays"] == ["2026-01-01", "2026-03-09"]
    # The hub and the bot read the same row: the town has its new name everywhere.
    me = (await client.get("/api/v1/me", headers=_h(runtime, w["admin"]))).json()
    assert me["current_municipality"]["name"] == "Коломна Московская"


async def _submit(runtime: Runtime, w: dict[str, Any], now: datetime) -> date:
    """A new appeal of the resident's, through the appeals service; its due date, local."""

    async def _make(s):  # noqa: ANN001, ANN202
        town = await s.get(Municipality, w["town"].id)
        resident = await s.get(User, w["resident"].id)
        category = await s.get(AppealCategory, w["category"].id)
        appeal = await make_appeal(s, town, category, resident, kind=Kind.STATEMENT, now=now)
        return appeal.due_at.astimezone(calendar.Calendar(town.timezone).tz).date()

    return await seed(runtime, _make)


async def test_answer_term_and_calendar_decide_a_new_appeals_due_date(client, runtime):
    w = await _world(runtime)
    base = f"/api/v1/municipalities/{w['town'].id}/admin"
    monday = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # 10:00 in Moscow
    assert await _submit(runtime, w, monday) == date(2026, 4, 1)  # 30 calendar days

    r = await client.patch(f"{base}/components/appeals", json={"settings": {"answer_days": 5}}, headers=_h(runtime, w["admin"]))
    assert r.status_code == 200, r.text
    assert r.json()["settings"]["answer_days"] == 5
    assert await _submit(runtime, w, monday) == date(2026, 3, 7)

    # Working days, Wednesday off: Tue 3, Thu 5, Fri 6, Mon 9, Tue 10.
    r = await client.patch(f"{base}/town", json={"calendar_days": False, "holidays": ["2026-03-04"]}, headers=_h(runtime, w["admin"]))
    assert r.status_code == 200
    assert await _submit(runtime, w, monday) == date(2026, 3, 10)
    # Saturday the 7th worked: Tue 3, Thu 5, Fri 6, Sat 7, Mon 9.
    await client.patch(f"{base}/town", json={"working_weekends": ["2026-03-07"]}, headers=_h(runtime, w["admin"]))
    assert await _submit(runtime, w, monday) == date(2026, 3, 9)


# -- the services ---------------------------------------------------------------------------------


async def test_settings_list_every_component_with_its_schema_and_actions(client, runtime):
    w = await _world(runtime)
    r = await client.get(f"/api/v1/municipalities/{w['town'].id}/admin/settings", headers=_h(runtime, w["admin"], "ru"))
    assert r.status_code == 200
    data = r.json()
    assert data["town"]["calendar_days"] is True
    by_slug = {c["slug"]: c for c in data["components"]}
    assert {"profile", "admin", "appeals"} <= set(by_slug)
    appeals = by_slug["appeals"]
    assert appeals["title"] == "Обращения" and appeals["enabled"] is True and appeals["always_on"] is False
    # The manifest's model, titles in the person's language, values with defaults filled in.
    props = appeals["settings_schema"]["properties"]
    assert props["answer_days"]["title"] == "Срок ответа на обращения, дней"
    assert props["answer_days"]["maximum"] == 30
    assert props["identity"]["x-options"]["phone"] == "С подтверждённым телефоном"
    assert appeals["settings"]["answer_days"] == 30 and appeals["settings"]["identity"] == "phone"
    handle = next(a for a in appeals["actions"] if a["name"] == "handle")
    assert handle["title"] == "Работать с очередью обращений"
    assert handle["roles"] == handle["default_roles"] and handle["overridden"] is False
    assert by_slug["profile"]["always_on"] is True and by_slug["profile"]["settings_schema"] is None
    assert {"value": "clerk", "title": "Сотрудник"} in data["roles"]


async def test_service_settings_are_checked_by_the_manifests_model(client, runtime):
    w = await _world(runtime)
    url = f"/api/v1/municipalities/{w['town'].id}/admin/components/appeals"

    r = await client.patch(url, json={"settings": {"answer_days": 45, "reg_prefix": "kol", "bogus": 1}}, headers=_h(runtime, w["admin"], "ru"))
    assert r.status_code == 422
    body = r.json()
    assert body["fields"] == ["settings.reg_prefix", "settings.answer_days", "settings.bogus"]
    assert body["message"] == (
        "Проверьте поля: Префикс регистрационных номеров: неверный формат; "
        "Срок ответа на обращения, дней: не больше 30; bogus: такой настройки нет."
    )
    r = await client.patch(url, json={"settings": {"identity": "passport"}}, headers=_h(runtime, w["admin"]))
    assert r.status_code == 422 and r.json()["fields"] == ["settings.identity"]
    assert r.json()["message"] == "Check the fields: Who may file a formal appeal: must be one of: 'telegram', 'phone' or 'esia'."
    # A check across fields says what is wrong in the person's language, with no field's name.
    r = await client.patch(url, json={"settings": {"signer_name": "Главин Иван Иванович"}}, headers=_h(runtime, w["admin"], "ru"))
    assert r.status_code == 422 and r.json()["fields"] == ["settings"]
    assert r.json()["message"] == "Проверьте поля: имя и должность подписывающего указываются вместе или не указываются вовсе."
    r = await client.patch(url, json={"settings": {"open311_contact": "a\x00b"}}, headers=_h(runtime, w["admin"]))
    assert r.status_code == 422 and r.json()["fields"] == ["settings"]
    assert await _audit(runtime, w["town"].id, "town.component") == []

    r = await client.patch(url, json={"settings": {"answer_days": 20, "reg_prefix": "KOL"}}, headers=_h(runtime, w["admin"]))
    assert r.status_code == 200
    assert r.json()["settings"]["answer_days"] == 20 and r.json()["settings"]["reg_prefix"] == "KOL"
    async with runtime.sessionmaker() as s:
        assert (await s.get(Municipality, w["town"].id)).settings == {"services": {"appeals": {"answer_days": 20, "reg_prefix": "KOL"}}}
    [entry] = await _audit(runtime, w["town"].id, "town.component")
    assert (entry.object_id, entry.actor_id) == ("appeals", w["admin"].id)
    assert entry.before == {"settings": {"answer_days": 30, "reg_prefix": None}}
    assert entry.after == {"settings": {"answer_days": 20, "reg_prefix": "KOL"}}

    # The core pages cannot be switched off; an unknown service is not found.
    town = w["town"].id
    r = await client.patch(f"/api/v1/municipalities/{town}/admin/components/profile", json={"enabled": False}, headers=_h(runtime, w["admin"]))
    assert r.status_code == 422 and r.json()["fields"] == ["enabled"]
    r = await client.patch(f"/api/v1/municipalities/{town}/admin/components/nosuch", json={"enabled": False}, headers=_h(runtime, w["admin"]))
    assert r.status_code == 404


async def test_a_service_switched_off_is_gone_from_the_hub_and_its_api(client, runtime):
    w = await _world(runtime)
    town = w["town"].id
    url = f"/api/v1/municipalities/{town}/admin/components/appeals"
    hub = f"/api/v1/municipalities/{town}/services"
    slugs = [c["slug"] for c in (await client.get(hub, headers=_h(runtime, w["clerk"]))).json()]
    assert "appeals" in slugs
    assert (await client.get(f"/api/v1/municipalities/{town}/appeals", headers=_h(runtime, w["clerk"]))).status_code == 200

    r = await client.patch(url, json={"enabled": False}, headers=_h(runtime, w["admin"]))
    assert r.status_code == 200 and r.json()["enabled"] is False
    assert "appeals" not in [c["slug"] for c in (await client.get(hub, headers=_h(runtime, w["clerk"]))).json()]
    off = await client.get(f"/api/v1/municipalities/{town}/appeals", headers=_h(runtime, w["clerk"]))
    assert off.status_code == 404 and off.json()["message"] == "This service is not available in this town."
    # The administration still sees it, to switch it back on; and its own hub card stays.
    data = (await client.get(f"/api/v1/municipalities/{town}/admin/settings", headers=_h(runtime, w["admin"]))).json()
    assert next(c for c in data["components"] if c["slug"] == "appeals")["enabled"] is False
    assert "admin" in [c["slug"] for c in (await client.get(hub, headers=_h(runtime, w["admin"]))).json()]

    assert (await client.patch(url, json={"enabled": True}, headers=_h(runtime, w["admin"]))).status_code == 200
    assert (await client.get(f"/api/v1/municipalities/{town}/appeals", headers=_h(runtime, w["clerk"]))).status_code == 200
    entries = await _audit(runtime, town, "town.component")
    assert [(e.before, e.after) for e in entries] == [({"enabled": True}, {"enabled": False}), ({"enabled": False}, {"enabled": True})]


async def test_a_town_chooses_who_may_perform_an_action(client, runtime):
    w = await _world(runtime)
    town = w["town"].id
    url = f"/api/v1/municipalities/{town}/admin/components/appeals"
    queue = f"/api/v1/municipalities/{town}/appeals"

    r = await client.patch(url, json={"permissions": {"handle": ["department_head", "head"]}}, headers=_h(runtime, w["admin"]))
    assert r.status_code == 200
    handle = next(a for a in r.json()["actions"] if a["name"] == "handle")
    assert handle["roles"] == ["department_head", "head"] and handle["overridden"] is True
    assert (await client.get(queue, headers=_h(runtime, w["clerk"]))).status_code == 403
    [entry] = await _audit(runtime, town, "town.component")
    assert entry.after == {"permissions": {"handle": ["department_head", "head"]}}

    r = await client.patch(url, json={"permissions": {"handle": [], "fly": ["clerk"]}}, headers=_h(runtime, w["admin"]))
    assert r.status_code == 422 and r.json()["fields"] == ["permissions.fly"]
    r = await client.patch(url, json={"permissions": {"handle": []}}, headers=_h(runtime, w["admin"]))
    assert r.status_code == 422 and r.json()["fields"] == ["permissions.handle"]
    assert r.json()["message"] == "Check the fields: Handle appeals in the queue: choose at least one role."
    r = await client.patch(url, json={"permissions": {"handle": ["wizard"]}}, headers=_h(runtime, w["admin"]))
    assert r.status_code == 422 and r.json()["fields"] == ["permissions.handle.0"]

    # null: back to the manifest's default.
    r = await client.patch(url, json={"permissions": {"handle": None}}, headers=_h(runtime, w["admin"]))
    assert next(a for a in r.json()["actions"] if a["name"] == "handle")["overridden"] is False
    assert (await client.get(queue, headers=_h(runtime, w["clerk"]))).status_code == 200


# -- departments ------------------------------------------------------------------------------------


async def test_departments_are_created_renamed_archived_and_deleted_when_unused(client, runtime):
    w = await _world(runtime)
    town = w["town"].id
    base = f"/api/v1/municipalities/{town}/admin/departments"
    h = _h(runtime, w["admin"])

    r = await client.post(base, json={"name": "  Отдел   кадров "}, headers=h)
    assert r.status_code == 201
    hr = r.json()
    assert hr == {"id": hr["id"], "name": "Отдел кадров", "archived": False, "uses": 0}
    clash = await client.post(base, json={"name": "отдел КАДРОВ"}, headers=h)
    assert clash.status_code == 409
    assert (await client.post(base, json={"name": ""}, headers=h)).status_code == 422

    r = await client.patch(f"{base}/{hr['id']}", json={"name": "Отдел кадров и наград"}, headers=h)
    assert r.status_code == 200 and r.json()["name"] == "Отдел кадров и наград"

    listed = {d["name"]: d for d in (await client.get(base, headers=h)).json()}
    roads = listed["Отдел «Дороги»"]
    assert roads["uses"] == 1  # the category routes to it
    # In use: it can only be archived. Archived, it leaves the pickers but keeps its name.
    refused = await client.delete(f"{base}/{roads['id']}", headers=_h(runtime, w["admin"], "ru"))
    assert refused.status_code == 409
    assert refused.json()["message"].startswith("Отдел используется")
    r = await client.patch(f"{base}/{roads['id']}", json={"archived": True}, headers=h)
    assert r.json() == {**roads, "archived": True}
    picker = (await client.get(f"/api/v1/municipalities/{town}/departments", headers=_h(runtime, w["clerk"]))).json()
    assert [d["name"] for d in picker] == ["Отдел кадров и наград"]
    assert (await client.patch(f"{base}/{roads['id']}", json={"archived": False}, headers=h)).json()["archived"] is False

    assert (await client.delete(f"{base}/{hr['id']}", headers=h)).status_code == 204
    assert (await client.delete(f"{base}/{hr['id']}", headers=h)).status_code == 404
    # Another town's department is not found, even by its admin's neighbour.
    other = await client.patch(f"{base}/{roads['id']}", json={"name": "X"}, headers=_h(runtime, w["other_admin"]))
    assert other.status_code == 404

    actions = [e.action for e in await _all_audit(runtime, town) if e.object_type == "department"]
    assert actions == ["department.create", "department.rename", "department.archive", "department.restore", "department.delete"]


async def _all_audit(runtime: Runtime, town_id: int) -> list[AuditLog]:
    async with runtime.sessionmaker() as s:
        return list(await s.scalars(select(AuditLog).where(AuditLog.municipality_id == town_id).order_by(AuditLog.id)))


# -- categories (the appeals service's routes) -----------------------------------------------------------


async def test_categories_are_created_changed_and_archived(client, runtime):
    w = await _world(runtime)
    town = w["town"].id
    h = _h(runtime, w["admin"])
    base = f"/api/v1/municipalities/{town}/appeal-categories"
    dept = (await client.post(f"/api/v1/municipalities/{town}/admin/departments", json={"name": "Отдел парков"}, headers=h)).json()
    other_dept = await seed(runtime, lambda s: towns.add_department(s, municipality_id=w["other"].id, name="Чужой отдел"))

    r = await client.post(base, json={"code": "parks", "name": "Парки", "department_id": dept["id"]}, headers=h)
    assert r.status_code == 201
    parks = r.json()
    assert parks == {"id": parks["id"], "code": "parks", "name": "Парки", "description": "", "department_id": dept["id"],
                     "sort": 100, "active": True, "has_template": False}
    assert (await client.post(base, json={"code": "parks", "name": "Ещё парки"}, headers=h)).status_code == 409
    bad = await client.post(base, json={"code": "Парки!", "name": "Парки"}, headers=h)
    assert bad.status_code == 422 and bad.json()["fields"] == ["code"]
    foreign = await client.post(base, json={"code": "x", "name": "X", "department_id": other_dept.id}, headers=h)
    assert foreign.status_code == 422 and foreign.json()["fields"] == ["department_id"]

    r = await client.patch(f"{base}/{parks['id']}", json={"name": "Парки и скверы", "department_id": None}, headers=h)
    assert r.status_code == 200 and (r.json()["name"], r.json()["department_id"]) == ("Парки и скверы", None)
    r = await client.patch(f"{base}/{parks['id']}", json={"active": False}, headers=h)
    assert r.json()["active"] is False
    # Archived: residents no longer see it; the administration still does, to bring it back.
    visible = [c["code"] for c in (await client.get(base, headers=_h(runtime, w["resident"]))).json()]
    assert visible == ["roads"]
    everything = [c["code"] for c in (await client.get(f"{base}/all", headers=h)).json()]
    assert sorted(everything) == ["parks", "roads"]
    assert (await client.patch(f"{base}/{parks['id']}", json={"active": True}, headers=h)).json()["active"] is True

    # The answer template goes through the appeals' own route.
    tpl = await client.put(f"{base}/{parks['id']}/answer-template", json={"body": "Уважаемый(ая) {{ resident_name }}! {{ answer_text }}"}, headers=h)
    assert tpl.status_code == 200
    assert next(c for c in (await client.get(f"{base}/all", headers=h)).json() if c["code"] == "parks")["has_template"] is True

    entries = [e for e in await _all_audit(runtime, town) if e.object_type == "appeal_category"]
    assert [e.action for e in entries] == ["appeal_category.create", "appeal_category.update", "appeal_category.update",
                                           "appeal_category.update", "appeal_category.template"]
    assert entries[1].before == {"name": "Парки", "department_id": dept["id"]}
    assert entries[1].after == {"name": "Парки и скверы", "department_id": None}


# -- staff and invitations ------------------------------------------------------------------------------


async def test_staff_roles_change_and_the_town_keeps_an_administrator(client, runtime):
    w = await _world(runtime)
    town = w["town"].id
    h = _h(runtime, w["admin"])
    base = f"/api/v1/municipalities/{town}/admin/staff"
    dept = (await client.post(f"/api/v1/municipalities/{town}/admin/departments", json={"name": "Отдел парков"}, headers=h)).json()

    staff = {p["name"]: p for p in (await client.get(base, headers=h)).json()}
    assert set(staff) == {"Админова Галина", "Клерк"}  # residents are not staff
    assert [r["role"] for r in staff["Админова Галина"]["roles"]] == ["admin"]

    clerk = w["clerk"].id
    r = await client.put(f"{base}/{clerk}", json={"roles": ["clerk", "department_head"], "department_id": dept["id"]}, headers=h)
    assert r.status_code == 200
    assert r.json()["roles"] == [
        {"role": "clerk", "title": "Clerk", "department_id": dept["id"]},
        {"role": "department_head", "title": "Department head", "department_id": dept["id"]},
    ]
    assert (await client.put(f"{base}/{clerk}", json={"roles": ["resident"]}, headers=h)).status_code == 422
    assert (await client.put(f"{base}/{w['other_admin'].id}", json={"roles": ["clerk"]}, headers=h)).status_code == 404

    # Nobody takes away their own administrator role; another administrator may.
    own = await client.delete(f"{base}/{w['admin'].id}", headers=_h(runtime, w["admin"], "ru"))
    assert own.status_code == 409
    assert own.json()["message"] == "Нельзя снять с себя роль администратора: попросите другого администратора."
    r = await client.put(f"{base}/{clerk}", json={"roles": ["admin"]}, headers=h)
    assert [x["role"] for x in r.json()["roles"]] == ["admin"]
    assert (await client.delete(f"{base}/{w['admin'].id}", headers=_h(runtime, w["clerk"]))).status_code == 204
    assert (await client.get(base, headers=h)).status_code == 403  # no longer an admin
    # The resident role stays: the person is still in the town.
    async with runtime.sessionmaker() as s:
        left = set(await s.scalars(select(Membership.role).where(Membership.user_id == w["admin"].id, Membership.municipality_id == town)))
    assert left == {"resident"}

    entries = [(e.action, e.before, e.after) for e in await _all_audit(runtime, town) if e.action.startswith("membership.") and e.object_id == str(clerk)]
    assert entries == [
        ("membership.grant", None, {"role": "clerk"}),  # the factory's
        ("membership.department", {"role": "clerk", "department_id": None}, {"role": "clerk", "department_id": dept["id"]}),
        ("membership.grant", None, {"role": "department_head"}),
        ("membership.revoke", {"role": "clerk"}, None),
        ("membership.revoke", {"role": "department_head"}, None),
        ("membership.grant", None, {"role": "admin"}),
    ]


async def test_invitations_are_listed_until_used_and_can_be_revoked(client, runtime, settings):
    settings.BOT_USERNAME = "glocal_town_bot"
    w = await _world(runtime)
    town = w["town"].id
    h = _h(runtime, w["admin"])
    base = f"/api/v1/municipalities/{town}/admin/invites"

    r = await client.post(base, json={"role": "clerk", "department_id": None, "days": 3}, headers=h)
    assert r.status_code == 201
    issued = r.json()
    assert issued["start"].startswith("inv_") and len(issued["start"]) <= 64
    assert issued["link"] == f"https://t.me/glocal_town_bot?start={issued['start']}"
    assert issued["title"] == "Clerk"
    assert (await client.post(base, json={"role": "resident"}, headers=h)).status_code == 422
    assert (await client.post(base, json={"role": "clerk", "days": 31}, headers=h)).status_code == 422

    pending = (await client.get(base, headers=h)).json()
    assert [i["id"] for i in pending] == [issued["id"]]
    assert "start" not in pending[0]  # the code is shown once
    assert (await client.delete(f"{base}/{issued['id']}", headers=_h(runtime, w["other_admin"]))).status_code == 404
    assert (await client.delete(f"{base}/{issued['id']}", headers=h)).status_code == 204
    assert (await client.get(base, headers=h)).json() == []
    # A revoked link gives nothing.
    async with runtime.sessionmaker() as s:
        resident = await s.get(User, w["resident"].id)
        with pytest.raises(Exception) as refused:
            await users.redeem_invite(s, user=resident, code=issued["start"].removeprefix("inv_"))
    assert refused.value.status == 404
    assert [e.action for e in await _all_audit(runtime, town) if e.object_type == "staff_invite"] == ["invite.create", "invite.revoke"]


# -- the audit log --------------------------------------------------------------------------------------


async def test_the_audit_log_pages_through_the_administrations_entries(client, runtime):
    w = await _world(runtime)
    town = w["town"].id
    h = _h(runtime, w["admin"], "ru")
    for name in ("Первый", "Второй", "Третий"):
        await client.post(f"/api/v1/municipalities/{town}/admin/departments", json={"name": name}, headers=h)
    # An appeal's own history is not the administration's: it stays out of this log.
    await _submit(runtime, w, datetime(2026, 3, 2, 7, 0, tzinfo=UTC))

    first = (await client.get(f"/api/v1/municipalities/{town}/admin/audit?limit=2", headers=h)).json()
    assert [(i["title"], i["after"]) for i in first["items"]] == [
        ("Отдел создан", {"name": "Третий"}), ("Отдел создан", {"name": "Второй"}),
    ]
    assert first["items"][0]["actor"] == "Админова Галина"
    second = (await client.get(f"/api/v1/municipalities/{town}/admin/audit?limit=2&cursor={first['next_cursor']}", headers=h)).json()
    titles = [i["after"].get("name") or i["after"].get("role") for i in second["items"]]
    assert titles[0] == "Первый"
    everything = []
    cursor = None
    while True:
        page = (await client.get(f"/api/v1/municipalities/{town}/admin/audit?limit=2" + (f"&cursor={cursor}" if cursor else ""), headers=h)).json()
        everything += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert "appeal.register" not in {i["action"] for i in everything}
    assert [i["id"] for i in everything] == sorted((i["id"] for i in everything), reverse=True)
    # Another town's log is not even found.
    assert (await client.get(f"/api/v1/municipalities/{w['other'].id}/admin/audit", headers=h)).status_code == 404


# -- the platform ---------------------------------------------------------------------------------------------


async def test_a_platform_admin_creates_a_town_and_invites_its_first_admin(client, runtime, harness):
    w = await _world(runtime)

    async def _promote(s):  # noqa: ANN001, ANN202
        user = await s.get(User, w["resident"].id)
        user.is_platform_admin = True
        return user

    platform = await seed(runtime, _promote)
    # A town's admin is not the platform's.
    assert (await client.get("/api/v1/platform/towns", headers=_h(runtime, w["admin"]))).status_code == 403
    assert (await client.post("/api/v1/platform/towns", json={"slug": "novy", "name": "Новый"}, headers=_h(runtime, w["admin"]))).status_code == 403

    me = (await client.get("/api/v1/me", headers=_h(runtime, platform))).json()
    assert me["is_platform_admin"] is True
    h = _h(runtime, platform, "ru")
    bad = await client.post("/api/v1/platform/towns", json={"slug": "Новый город", "name": "Новый"}, headers=h)
    assert bad.status_code == 422 and bad.json()["fields"] == ["slug"]
    assert bad.json()["message"].startswith("Проверьте поля: Адрес в ссылках:")
    zone = await client.post("/api/v1/platform/towns", json={"slug": "novy", "name": "Новый", "timezone": "Moon/Base"}, headers=h)
    assert zone.status_code == 422 and zone.json()["fields"] == ["timezone"]
    assert (await client.post("/api/v1/platform/towns", json={"slug": "kolomna", "name": "Ещё Коломна"}, headers=h)).status_code == 409

    r = await client.post("/api/v1/platform/towns", json={"slug": "novy", "name": "Новый", "timezone": "Asia/Yekaterinburg"}, headers=h)
    assert r.status_code == 201
    created = r.json()
    assert created["town"]["slug"] == "novy" and created["town"]["admins"] == 0
    assert created["invite"]["role"] == "admin" and created["invite"]["link"] is None  # no BOT_USERNAME here
    listed = {t["slug"]: t["admins"] for t in (await client.get("/api/v1/platform/towns", headers=h)).json()}
    assert listed == {"kolomna": 1, "sosedsk": 1, "novy": 0}

    # The first admin opens the link in the bot: the town then has its administrator.
    from tests import updates as U

    await harness.feed(U.message(U.tg_user(880_001, "Вера"), f"/start {created['invite']['start']}"))
    listed = {t["slug"]: t["admins"] for t in (await client.get("/api/v1/platform/towns", headers=h)).json()}
    assert listed["novy"] == 1
    again = await client.post(f"/api/v1/platform/towns/{created['town']['id']}/invites", headers=h)
    assert again.status_code == 201 and again.json()["role"] == "admin"
    async with runtime.sessionmaker() as s:
        new_id = created["town"]["id"]
        assert [e.action for e in await s.scalars(select(AuditLog).where(AuditLog.municipality_id == new_id).order_by(AuditLog.id))] == [
            "town.create", "invite.create", "membership.grant", "membership.grant", "invite.use", "invite.create",
        ]
