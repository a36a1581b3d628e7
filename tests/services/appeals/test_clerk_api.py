"""The clerk's API the appeals miniapp uses beyond the queue's basics, through the real ASGI
app: orders with their own cursors, departments, the resident's other appeals, answer drafts
kept on the server, and the export's safety."""

from __future__ import annotations

import base64
import csv
import io
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from backend.core.audit.models import AuditLog
from backend.core.municipalities import service as towns
from backend.core.users.models import Role
from backend.services.appeals.models import AppealAnswerDraft
from backend.services.appeals.rules import Kind
from tests.factories import make_town, make_user, seed, tma
from tests.services.appeals.factories import appeals_settings, make_appeal, make_category, make_resident

EN = {"Accept-Language": "en"}


async def _town(runtime):  # noqa: ANN001, ANN202
    """A town with two categories and a clerk; twelve appeals registered a day apart whose
    due dates run the other way for half of them (reports are due in 10 days, statements in 30)."""

    async def data(s):  # noqa: ANN001, ANN202
        town = await make_town(s, slug="orders", settings=appeals_settings(reg_prefix="OR"))
        roads = await make_category(s, town, code="roads", name="Дороги")
        parks = await make_category(s, town, code="parks", name="Парки")
        clerk = await make_user(s, first_name="Клерк", town=town, roles=(Role.CLERK,))
        colleague = await make_user(s, first_name="Коллега", town=town, roles=(Role.CLERK,))
        resident = await make_resident(s, town)
        start = datetime(2026, 2, 2, 9, tzinfo=UTC)
        made = []
        for i in range(12):
            kind = Kind.REPORT if i % 2 else Kind.STATEMENT
            made.append(await make_appeal(s, town, roads if i % 3 else parks, resident, kind=kind, text=f"Обращение № {i}",
                                          now=start + timedelta(days=i)))
        return {"town": town, "roads": roads, "parks": parks, "clerk": clerk, "colleague": colleague, "resident": resident, "made": made}

    return await seed(runtime, data)


async def _walk(client, url: str, headers: dict, **params) -> tuple[list[int], set[str]]:  # noqa: ANN001
    seen, orders, cursor = [], set(), None
    while True:
        r = await client.get(url, params={"limit": 5, **params, **({"cursor": cursor} if cursor else {})}, headers=headers)
        assert r.status_code == 200, r.text
        seen += [i["id"] for i in r.json()["items"]]
        orders.add(r.json()["sort"])
        cursor = r.json()["next_cursor"]
        if not cursor:
            return seen, orders


async def test_every_order_pages_by_its_own_keyset(client, runtime):
    w = await _town(runtime)
    h = tma(runtime, w["clerk"])
    url = f"/api/v1/municipalities/{w['town'].id}/appeals"
    made = w["made"]
    by_due = [a.id for a in sorted(made, key=lambda a: (a.due_at, a.id))]
    oldest = [a.id for a in sorted(made, key=lambda a: (a.registered_at, a.id))]
    assert by_due != oldest  # the orders differ, so a page in the wrong one would show

    assert await _walk(client, url, h) == (by_due, {"due"})
    assert await _walk(client, url, h, sort="due") == (by_due, {"due"})
    assert await _walk(client, url, h, sort="registered") == (oldest, {"registered"})
    assert await _walk(client, url, h, sort="-registered") == (oldest[::-1], {"-registered"})
    # Filters keep working in every order.
    ids, _ = await _walk(client, url, h, sort="-registered", kind="report")
    assert ids == [a.id for a in sorted(made, key=lambda a: (a.registered_at, a.id), reverse=True) if a.kind == "report"]

    # A cursor carries its order: used with another it is refused, not misread.
    first = (await client.get(url, params={"limit": 5}, headers=h)).json()
    r = await client.get(url, params={"limit": 5, "sort": "registered", "cursor": first["next_cursor"]}, headers={**h, **EN})
    assert r.status_code == 422
    assert r.json()["message"] == "The page link belongs to another order of the list; reload the list."
    r = await client.get(url, params={"sort": "oldest"}, headers=h)
    assert r.status_code == 422 and r.json()["fields"] == ["query.sort"]


async def test_cursors_that_are_not_ones_are_422(client, runtime):
    w = await _town(runtime)
    h = {**tma(runtime, w["clerk"]), **EN}
    url = f"/api/v1/municipalities/{w['town'].id}/appeals"

    def cursor(raw: str) -> str:
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    broken = [
        # Year 1 and year 9999 with an offset: outside datetime's range once in UTC.
        cursor("due|0001-01-01T00:00:00+05:00|1"), cursor("due|9999-12-31T23:59:59-05:00|1"),
        cursor("due|2026-01-01T00:00:00|1"),  # no offset
        cursor(f"due|2026-01-01T00:00:00+00:00|{2**31}"), cursor("due|2026-01-01T00:00:00+00:00|0"),
        cursor("sideways|2026-01-01T00:00:00+00:00|1"), cursor("2026-01-01T00:00:00+00:00|1"),  # the old shape
        "!!!", "\u00e9",
    ]
    for value in broken:
        r = await client.get(url, params={"cursor": value}, headers=h)
        assert r.status_code == 422, value
        assert r.json()["message"] == "The page link is broken; reload the list.", value
    # The edges of the range themselves are fine, in UTC.
    for edge in ("0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00"):
        r = await client.get(url, params={"cursor": cursor(f"due|{edge}|1")}, headers=h)
        assert r.status_code == 200, edge
    r = await client.get(url, params={"cursor": "a" * 201}, headers=h)
    assert r.status_code == 422 and r.json()["fields"] == ["query.cursor"]


async def test_export_follows_the_order_and_neutralises_formulas(client, runtime):
    w = await _town(runtime)

    async def formula(s):  # noqa: ANN001, ANN202
        return await make_appeal(s, w["town"], w["roads"], w["resident"], text="=1+2 и @SUM(A1) -3 +7",
                                 now=datetime(2026, 3, 1, 9, tzinfo=UTC))

    tricky = await seed(runtime, formula)
    url = f"/api/v1/municipalities/{w['town'].id}/appeals/export"
    r = await client.get(url, params={"sort": "-registered"}, headers=tma(runtime, w["clerk"]))
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"].startswith('attachment; filename="appeals-')
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][4] == "Отдел"
    newest = sorted([*w["made"], tricky], key=lambda a: (a.registered_at, a.id), reverse=True)
    assert [row[0] for row in rows[1:]] == [a.reg_number for a in newest]
    assert rows[1][-1] == "'=1+2 и @SUM(A1) -3 +7" and rows[1][4] == "Отдел «Дороги»"


async def test_departments_of_the_town_for_its_members(client, runtime):
    w = await _town(runtime)

    async def extra(s):  # noqa: ANN001, ANN202
        await towns.add_department(s, municipality_id=w["town"].id, name="Архив")
        other = await make_town(s, slug="elsewhere")
        await towns.add_department(s, municipality_id=other.id, name="Чужой отдел")
        return await make_user(s, town=other)

    outsider = await seed(runtime, extra)
    url = f"/api/v1/municipalities/{w['town'].id}/departments"
    for member in (w["clerk"], w["resident"]):
        r = await client.get(url, headers=tma(runtime, member))
        assert r.status_code == 200
        assert [d["name"] for d in r.json()] == ["Архив", "Отдел «Дороги»", "Отдел «Парки»"]
        assert set(r.json()[0]) == {"id", "name"}
    assert (await client.get(url, headers=tma(runtime, outsider))).status_code == 404
    assert (await client.get(url)).status_code == 401


async def test_card_names_the_department_and_lists_the_residents_other_appeals(client, runtime):
    w = await _town(runtime)

    async def more(s):  # noqa: ANN001, ANN202
        # The same person writes to another town too: that one never shows here.
        other = await make_town(s, slug="other-town", settings=appeals_settings(reg_prefix="OT"))
        cat = await make_category(s, other)
        return await make_appeal(s, other, cat, w["resident"], text="В другом городе")

    elsewhere = await seed(runtime, more)
    h = tma(runtime, w["clerk"])
    base = f"/api/v1/municipalities/{w['town'].id}/appeals"
    made = w["made"]
    card = (await client.get(f"{base}/{made[4].id}", headers=h)).json()
    assert card["department"] == "Отдел «Дороги»" and card["department_id"] == made[4].department_id
    others = sorted((a for a in made if a.id != made[4].id), key=lambda a: (a.registered_at, a.id), reverse=True)[:10]
    assert [a["id"] for a in card["resident_appeals"]] == [a.id for a in others]
    assert elsewhere.id not in {a["id"] for a in card["resident_appeals"]}
    first = card["resident_appeals"][0]
    assert set(first) == {"id", "reg_number", "status", "registered_at", "excerpt"}
    assert first["reg_number"] == others[0].reg_number and first["excerpt"] == "Обращение № 11" and first["status"] == "registered"
    # The queue's rows name the department too.
    items = (await client.get(base, headers=h)).json()["items"]
    assert {i["department"] for i in items} == {"Отдел «Дороги»", "Отдел «Парки»"}

    # An anonymous report has no author: nobody's other appeals.
    async def anonymous(s):  # noqa: ANN001, ANN202
        return await make_appeal(s, w["town"], w["roads"], None, kind=Kind.REPORT, text="Аноним", full_name=None, reply_address=None)

    report = await seed(runtime, anonymous)
    assert (await client.get(f"{base}/{report.id}", headers=h)).json()["resident_appeals"] == []


async def test_answer_drafts_are_kept_per_appeal_last_writer_wins_and_the_answer_clears_them(client, runtime):
    w = await _town(runtime)
    appeal = w["made"][0]
    url = f"/api/v1/municipalities/{w['town'].id}/appeals/{appeal.id}/answer-draft"
    clerk, colleague = tma(runtime, w["clerk"]), tma(runtime, w["colleague"])

    start = (await client.get(url, headers=clerk)).json()
    assert start["saved_at"] is None and appeal.reg_number in start["body"]  # the template's text

    r = await client.put(url, json={"body": "Черновик ответа"}, headers=clerk)
    assert r.status_code == 200 and r.json()["body"] == "Черновик ответа" and r.json()["saved_at"]
    await client.put(url, json={"body": "Черновик ответа, дополненный"}, headers=clerk)
    got = (await client.get(url, headers=colleague)).json()
    assert got["body"] == "Черновик ответа, дополненный" and got["saved_at"] is not None
    # A colleague's save replaces it: one draft per appeal, the last writer wins.
    await client.put(url, json={"body": "Версия коллеги"}, headers=colleague)
    assert (await client.get(url, headers=clerk)).json()["body"] == "Версия коллеги"

    async def facts(s):  # noqa: ANN001, ANN202
        drafts = await s.scalar(select(func.count()).select_from(AppealAnswerDraft).where(AppealAnswerDraft.appeal_id == appeal.id))
        audited = list(await s.scalars(
            select(AuditLog.actor_id).where(AuditLog.object_type == "appeal_answer_draft", AuditLog.object_id == str(appeal.id))
            .order_by(AuditLog.id)
        ))
        return drafts, audited

    # Audited lightly: when started and when another clerk took it over, not on every save;
    # and not in the appeal's own history on the card.
    assert await seed(runtime, facts) == (1, [w["clerk"].id, w["colleague"].id])
    card = (await client.get(url.removesuffix("/answer-draft"), headers=clerk)).json()
    assert "appeal.answer_draft" not in {h["action"] for h in card["history"]}

    # Discarded: the template again.
    r = await client.delete(url, headers=clerk)
    assert r.status_code == 204
    assert (await client.get(url, headers=clerk)).json()["saved_at"] is None
    assert (await client.delete(url, headers=clerk)).status_code == 204  # nothing to discard is fine

    # The answer clears a saved draft, and a late save cannot bring it back.
    await client.put(url, json={"body": "Последняя версия"}, headers=clerk)
    r = await client.post(url.removesuffix("/answer-draft") + "/answer", json={"body": "Ответ по существу обращения."}, headers=clerk)
    assert r.status_code == 200 and r.json()["status"] == "answered"
    assert (await seed(runtime, facts))[0] == 0
    r = await client.put(url, json={"body": "Поздно"}, headers={**clerk, **EN})
    assert r.status_code == 409 and r.json()["message"] == "This appeal can no longer be answered, so its draft is not kept."
    # What a draft may hold: up to 20,000 characters of text without NUL.
    assert (await client.put(url, json={"body": "a\x00b"}, headers=clerk)).status_code == 422
    assert (await client.put(url, json={"body": "я" * 20_001}, headers=clerk)).status_code == 422


async def test_bad_ids_and_text_are_422_not_500(client, runtime):
    w = await _town(runtime)
    h = {**tma(runtime, w["clerk"]), **EN}
    base = f"/api/v1/municipalities/{w['town'].id}"
    appeal = w["made"][0]
    checks = [
        ("GET", f"{base}/appeals/{2**31}", None, None, "appeal_id"),
        ("GET", f"{base}/appeals/{2**63}", None, None, "appeal_id"),
        ("GET", f"{base}/appeals", {"category_id": 2**31}, None, "query.category_id"),
        ("GET", f"{base}/appeals", {"department_id": 0}, None, "query.department_id"),
        ("GET", f"{base}/appeals/counts", {"assignee": str(2**63)}, None, "query.assignee"),
        ("GET", f"{base}/appeals", {"q": "яма\x00"}, None, "query.q"),
        ("GET", f"{base}/appeal-categories/{2**31}/answer-template", None, None, "category_id"),
        ("POST", f"{base}/appeals/{appeal.id}/assign", None, {"assignee_id": 2**31}, "assignee_id"),
        ("POST", f"{base}/appeals/{appeal.id}/assign", None, {"assignee_id": True}, "assignee_id"),
        ("POST", f"{base}/appeals/{appeal.id}/comments", None, {"text": "a\x00b"}, "text"),
        ("POST", f"{base}/appeals/{appeal.id}/extend", None, {"days": 2**63, "reason": "проверка"}, "days"),
        ("POST", f"{base}/appeals/{appeal.id}/merge", None, {"into_id": 2**63}, "into_id"),
    ]
    for method, url, params, body, field in checks:
        r = await client.request(method, url, params=params, json=body, headers=h)
        assert r.status_code == 422, (method, url, params, body, r.text)
        assert any(f.endswith(field) for f in r.json()["fields"]), (field, r.json())
    # Within range and valid, the same filters answer.
    r = await client.get(f"{base}/appeals", params={"assignee": str(w["clerk"].id)}, headers=h)
    assert r.status_code == 200 and r.json()["items"] == []
    admin = await seed(runtime, lambda s: make_user(s, first_name="Админ", town=w["town"], roles=(Role.ADMIN,)))
    r = await client.delete(f"{base}/open311/keys/{2**31}", headers={**tma(runtime, admin), **EN})
    assert r.status_code == 422 and r.json()["fields"] == ["path.key_id"]
