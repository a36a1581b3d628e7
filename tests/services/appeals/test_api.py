"""The clerk's API of appeals through the real ASGI app, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from aiogram.methods import SendDocument, SendMessage
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from backend.core.search import service as search
from backend.core.documents.models import Document
from backend.core.files.models import StoredFile
from backend.core.notifications.models import OutboxMessage
from backend.core.users.models import Role
from backend.services.appeals import jobs as appeal_jobs
from backend.services.appeals import letter
from backend.services.appeals import queries
from backend.services.appeals import service as appeals
from backend.services.appeals.models import Appeal, AppealCategory, AppealReminder
from backend.services.appeals.rules import Kind
from bot.services.appeals.callbacks import AppealRateCB
from tests.services.appeals.factories import appeals_settings, make_appeal, make_category, make_resident, make_world
from tests.factories import deliver_outbox, make_town, make_user, seed, tma


def _base(world: dict, key: str) -> str:
    return f"/api/v1/municipalities/{world[key]['town'].id}"


async def _deliver(harness) -> list:
    harness.session.calls.clear()
    rt = harness.runtime
    await deliver_outbox(rt)
    return harness.session.pop()


async def test_queue_lists_own_town_only(client, runtime):
    world = await seed(runtime, make_world)
    h = tma(runtime, world["a"]["clerk"])
    r = await client.get(f"{_base(world, 'a')}/appeals", headers=h)
    assert r.status_code == 200
    items = r.json()["items"]
    assert [i["reg_number"] for i in items] == [world["a"]["appeal"].reg_number]
    assert items[0]["reg_number"].startswith("TA-") and items[0]["deadline"] == "ok" and items[0]["category"] == "Дороги"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/appeals", None),
        ("GET", "/appeals/counts", None),
        ("GET", "/appeals/export", None),
        ("GET", "/appeals/staff", None),
        ("GET", "/appeals/{id}", None),
        ("GET", "/appeals/{id}/answer-draft", None),
        ("PUT", "/appeals/{id}/answer-draft", {"body": "Черновик"}),
        ("DELETE", "/appeals/{id}/answer-draft", None),
        ("POST", "/appeals/export/download-link", None),
        ("POST", "/appeals/{id}/assign", {}),
        ("POST", "/appeals/{id}/status", {"status": "in_progress"}),
        ("POST", "/appeals/{id}/comments", {"text": "заметка"}),
        ("POST", "/appeals/{id}/request-info", {"text": "Уточните адрес"}),
        ("POST", "/appeals/{id}/redirect", {"to": "Роспотребнадзор"}),
        ("POST", "/appeals/{id}/extend", {"days": 10, "reason": "проверка"}),
        ("POST", "/appeals/{id}/no-answer", {"reason": "obscene"}),
        ("POST", "/appeals/{id}/merge", {"into_id": 1}),
        ("POST", "/appeals/{id}/answer", {"body": "Ответ по существу обращения."}),
        ("GET", "/files/{file}", None),
        ("POST", "/files/{file}/download-link", None),
        ("GET", "/appeal-categories", None),
        ("GET", "/departments", None),
    ],
)
async def test_clerk_of_town_a_gets_404_for_town_b(client, runtime, method, path, body):
    """Every endpoint: town B's appeals, files and documents do not exist for town A's clerk."""
    world = await seed(runtime, make_world)
    b_appeal = world["b"]["appeal"]

    async def b_file(s):
        return await appeals.save_attachment(
            s, town=world["b"]["town"], user=world["b"]["resident"], data=b"%PDF-1.4 test", filename="x.pdf",
            mime="application/pdf", files_root=runtime.settings.files_dir,
        )

    f = await seed(runtime, b_file)
    await seed(runtime, lambda s: appeals._attach_files(s, appeal=b_appeal, file_ids=[f.id], user_id=world["b"]["resident"].id))
    url = _base(world, "b") + path.format(id=b_appeal.id, file=f.id)
    r = await client.request(method, url, json=body, headers=tma(runtime, world["a"]["clerk"]))
    assert r.status_code == 404, r.text
    # and through town A's own path, town B's appeal id is not found either
    if "{id}" in path:
        url = _base(world, "a") + path.format(id=b_appeal.id, file=f.id)
        r = await client.request(method, url, json=body, headers=tma(runtime, world["a"]["clerk"]))
        assert r.status_code == 404, r.text
    async with runtime.sessionmaker() as s:
        assert (await s.get(Appeal, b_appeal.id)).status == "registered"


async def test_resident_cannot_open_the_queue(client, runtime):
    world = await seed(runtime, make_world)
    r = await client.get(f"{_base(world, 'a')}/appeals", headers=tma(runtime, world["a"]["resident"]))
    assert r.status_code == 403
    assert r.json()["message"] == "У вас нет доступа к этому разделу."


async def test_filters_search_counts_and_keyset_pages(client, runtime):
    async def data(s):
        town = await make_town(s, slug="filt")
        roads = await make_category(s, town, code="roads", name="Дороги")
        parks = await make_category(s, town, code="parks", name="Парки")
        clerk = await make_user(s, town=town, roles=(Role.CLERK,))
        resident = await make_resident(s, town)
        base = datetime(2026, 1, 10, 9, tzinfo=UTC)
        made = []
        for i in range(12):
            cat = roads if i % 2 else parks
            kind = Kind.REPORT if i % 3 == 0 else Kind.STATEMENT
            text = "Яма на дороге" if i == 7 else f"Обращение номер {i} о благоустройстве"
            made.append(await make_appeal(s, town, cat, resident, kind=kind, text=text, now=base + timedelta(days=i)))
        return town, roads, clerk, made

    town, roads, clerk, made = await seed(runtime, data)
    h = tma(runtime, clerk)
    base = f"/api/v1/municipalities/{town.id}/appeals"
    seen, cursor = [], None
    while True:
        r = await client.get(base, params={"limit": 5, **({"cursor": cursor} if cursor else {})}, headers=h)
        body = r.json()
        seen += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    by_due = sorted(made, key=lambda a: (a.due_at, a.id))
    assert seen == [a.id for a in by_due]

    r = await client.get(base, params={"category_id": roads.id, "kind": "statement"}, headers=h)
    assert {i["id"] for i in r.json()["items"]} == {a.id for i, a in enumerate(made) if i % 2 and i % 3}
    r = await client.get(base, params={"q": "ЯМА"}, headers=h)
    assert [i["id"] for i in r.json()["items"]] == [made[7].id]
    r = await client.get(base, params={"q": made[3].reg_number}, headers=h)
    assert [i["id"] for i in r.json()["items"]] == [made[3].id]
    r = await client.get(base, params={"overdue": "true"}, headers=h)
    assert len(r.json()["items"]) == 12 and all(i["deadline"] == "overdue" for i in r.json()["items"])
    r = await client.get(f"{base}/counts", headers=h)
    assert r.json()["counts"]["registered"] == 12 and r.json()["overdue"] == 12
    r = await client.get(base, params={"assignee": "me"}, headers=h)
    assert r.json()["items"] == []
    r = await client.get(base, params={"cursor": "broken!"}, headers=h)
    assert r.status_code == 422 and r.json()["message"] == "Ссылка на страницу устарела; обновите список."


async def test_take_comment_request_info_and_resident_reply(client, runtime, harness):
    world = await seed(runtime, make_world)
    a = world["a"]
    h = tma(runtime, a["clerk"])
    url = f"{_base(world, 'a')}/appeals/{a['appeal'].id}"
    r = await client.post(f"{url}/assign", json={}, headers=h)
    assert r.json()["status"] == "in_progress" and r.json()["assignee_name"] == "Клерков A"
    r = await client.post(f"{url}/comments", json={"text": "Проверить на месте"}, headers=h)
    assert r.json()["comments"][0]["kind"] == "note"
    r = await client.post(f"{url}/request-info", json={"text": "Уточните номер подъезда"}, headers=h)
    assert r.json()["status"] == "info_requested"
    actions = [x["action"] for x in r.json()["history"]]
    assert actions[:3] == ["appeal.register", "appeal.assign", "appeal.status"]

    calls = await _deliver(harness)
    texts = [c.text for c in calls if isinstance(c, SendMessage)]
    assert any("статус" in t and "в работе" in t for t in texts)
    ask = [c for c in calls if isinstance(c, SendMessage) and "Уточните номер подъезда" in c.text][0]
    assert ask.chat_id == a["resident"].telegram_id
    assert ask.reply_markup.inline_keyboard[0][0].callback_data.startswith("areply:")

    async def reply(s):
        from backend.core.users.models import User

        user = await s.get(User, a["resident"].id)
        return await appeals.add_resident_reply(s, appeal_id=a["appeal"].id, user=user, text="Подъезд 3")

    await seed(runtime, reply)
    card = (await client.get(url, headers=h)).json()
    assert card["status"] == "in_progress"
    assert [(c["kind"], c["body"]) for c in card["comments"]][-1] == ("resident_reply", "Подъезд 3")


async def test_answer_is_a_registered_document_with_cyrillic_pdf_sent_to_chat(client, runtime, harness):
    world = await seed(runtime, make_world)
    a = world["a"]
    h = tma(runtime, a["clerk"])
    url = f"{_base(world, 'a')}/appeals/{a['appeal'].id}"
    draft = (await client.get(f"{url}/answer-draft", headers=h)).json()["body"]
    assert draft.startswith("Здравствуйте, Анна!") and a["appeal"].reg_number in draft and letter.ANSWER_TEXT_PLACEHOLDER in draft
    body = draft.replace(letter.ANSWER_TEXT_PLACEHOLDER, "Мусор вывезен, график вывоза восстановлен.")
    r = await client.post(f"{url}/answer", json={"body": body}, headers=h)
    assert r.status_code == 200, r.text
    card = r.json()
    assert card["status"] == "answered"
    doc = card["documents"][0]
    assert doc["number"].startswith("ИСХ-") and doc["file"]["mime"] == "application/pdf"

    pdf_resp = await client.get(doc["file"]["url"], headers=h)
    assert pdf_resp.status_code == 200 and pdf_resp.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf_resp.content)).pages)
    assert a["appeal"].reg_number in text
    assert "График вывоза восстановлен".lower() in text.lower()
    assert doc["number"] in text

    # the resident may fetch their own answer file; another resident may not
    assert (await client.get(doc["file"]["url"], headers=tma(runtime, a["resident"]))).status_code == 200
    stranger = await seed(runtime, lambda s: make_user(s, town=a["town"]))
    assert (await client.get(doc["file"]["url"], headers=tma(runtime, stranger))).status_code == 404

    async with runtime.sessionmaker() as s:
        d = await s.scalar(select(Document).where(Document.id == doc["id"]))
        assert (d.direction, d.status, d.origin_type, d.origin_id) == ("outgoing", "sent", "appeal", a["appeal"].id)
        assert d.requisites["appeal"] == a["appeal"].reg_number and d.requisites["signer"] == "Клерков A"

    calls = await _deliver(harness)
    kinds = [type(c) for c in calls]
    assert kinds == [SendMessage, SendDocument, SendMessage]
    assert calls[0].text.startswith(f"Ответ на ваше обращение {a['appeal'].reg_number}")
    assert calls[1].document.filename == f"{doc['number']}.pdf"
    stars = [b.callback_data for b in calls[2].reply_markup.inline_keyboard[0]]
    assert stars == [AppealRateCB(appeal_id=a["appeal"].id, stars=n).pack() for n in range(1, 6)]
    # answering twice is a conflict, told in words
    r = await client.post(f"{url}/answer", json={"body": body}, headers=h)
    assert r.status_code == 409 and "«отвечено»" in r.json()["message"]


async def test_redirect_window_and_single_extension(client, runtime):
    async def data(s):
        town = await make_town(s, slug="redir")
        cat = await make_category(s, town)
        clerk = await make_user(s, town=town, roles=(Role.CLERK,))
        resident = await make_resident(s, town)
        old = await make_appeal(s, town, cat, resident, now=datetime.now(UTC) - timedelta(days=9))
        fresh = await make_appeal(s, town, cat, resident)
        return town, clerk, old, fresh

    town, clerk, old, fresh = await seed(runtime, data)
    h = tma(runtime, clerk)
    base = f"/api/v1/municipalities/{town.id}/appeals"
    r = await client.post(f"{base}/{old.id}/redirect", json={"to": "Прокуратура"}, headers=h)
    assert r.status_code == 409 and "7 дней" in r.json()["message"]
    r = await client.post(f"{base}/{fresh.id}/redirect", json={"to": "Роспотребнадзор"}, headers=h)
    assert r.json()["status"] == "redirected" and r.json()["redirected_to"] == "Роспотребнадзор"

    due_before = old.due_at
    r = await client.post(f"{base}/{old.id}/extend", json={"days": 30, "reason": "Нужна экспертиза"}, headers=h)
    assert r.status_code == 200 and r.json()["extended"] is True
    assert datetime.fromisoformat(r.json()["due_at"]) - due_before == timedelta(days=30)
    r = await client.post(f"{base}/{old.id}/extend", json={"days": 5, "reason": "Ещё раз"}, headers=h)
    assert r.status_code == 409 and r.json()["message"] == "Срок ответа уже продлевался один раз."
    r = await client.post(f"{base}/{fresh.id}/extend", json={"days": 31, "reason": "x" * 5}, headers=h)
    assert r.status_code == 409  # fresh was redirected: its deadline no longer runs


async def test_no_answer_reasons_and_head_only_stop(client, runtime, harness):
    world = await seed(runtime, make_world)
    a = world["a"]
    url = f"{_base(world, 'a')}/appeals/{a['appeal'].id}"
    r = await client.post(f"{url}/no-answer", json={"reason": "correspondence_stopped"}, headers=tma(runtime, a["clerk"]))
    assert r.status_code == 403
    r = await client.post(f"{url}/no-answer", json={"reason": "obscene"}, headers=tma(runtime, a["clerk"]))
    assert r.json()["status"] == "no_answer_required" and r.json()["flagged_obscene"] is True
    calls = await _deliver(harness)
    assert "нецензурные" in calls[0].text and calls[0].chat_id == a["resident"].telegram_id


async def test_missing_reply_address_registers_without_answer(runtime):
    async def data(s):
        town = await make_town(s, slug="noaddr", settings=appeals_settings(require_contacts=False))
        cat = await make_category(s, town)
        resident = await make_resident(s, town)
        return await make_appeal(s, town, cat, resident, reply_address=None)

    appeal = await seed(runtime, data)
    assert (appeal.status, appeal.answer_required) == ("no_answer_required", False)
    assert appeal.no_answer_reason == "The appeal does not give an address for the answer."


async def test_repeated_appeal_is_linked_and_flagged(runtime):
    async def data(s):
        town = await make_town(s, slug="repeat")
        cat = await make_category(s, town)
        resident = await make_resident(s, town)
        earlier = []
        for _ in range(2):
            ap = await make_appeal(s, town, cat, resident, text="Прошу отремонтировать крышу дома 7 на улице Мира, она течёт.")
            ap.status, ap.answer_document_id = "answered", None
            earlier.append(ap)
        doc = Document(municipality_id=town.id, direction="outgoing", kind="appeal_answer", journal="outgoing", year=2026, title="t", body="b", requisites={})
        s.add(doc)
        await s.flush()
        for ap in earlier:
            ap.answer_document_id = doc.id
        return await make_appeal(s, town, cat, resident, text="Прошу отремонтировать крышу дома 7 на улице Мира, она течёт!")

    new = await seed(runtime, data)
    assert new.flagged_for_head is True
    async with runtime.sessionmaker() as s:
        assert len(await queries.linked(s, appeal_id=new.id)) == 2


async def test_duplicate_reports_merge_and_everyone_gets_the_answer(client, runtime, harness):
    async def data(s):
        town = await make_town(s, slug="dups")
        cat = await make_category(s, town)
        clerk = await make_user(s, town=town, roles=(Role.CLERK,))
        r1 = await make_resident(s, town, first_name="Первый")
        r2 = await make_resident(s, town, first_name="Второй")
        a1 = await make_appeal(s, town, cat, r1, kind=Kind.REPORT, text="Яма на дороге у школы", lat=56.1000, lon=40.4000)
        a2 = await make_appeal(s, town, cat, r2, kind=Kind.REPORT, text="Большая яма на дороге возле школы", lat=56.1003, lon=40.4002)
        return town, clerk, r1, r2, a1, a2

    town, clerk, r1, r2, a1, a2 = await seed(runtime, data)
    h = tma(runtime, clerk)
    base = f"/api/v1/municipalities/{town.id}/appeals"
    card = (await client.get(f"{base}/{a2.id}", headers=h)).json()
    assert [d["id"] for d in card["duplicates"]] == [a1.id]
    r = await client.post(f"{base}/{a2.id}/merge", json={"into_id": a1.id}, headers=h)
    assert r.json()["merged_into_id"] == a1.id
    queue = (await client.get(base, headers=h)).json()["items"]
    assert [i["id"] for i in queue] == [a1.id]
    await _deliver(harness)
    r = await client.post(f"{base}/{a1.id}/answer", json={"body": "Яма заделана, спасибо за сообщение."}, headers=h)
    assert r.status_code == 200
    calls = await _deliver(harness)
    answered = {c.chat_id for c in calls if isinstance(c, SendDocument)}
    assert answered == {r1.telegram_id, r2.telegram_id}


async def test_export_csv_and_xlsx(client, runtime):
    world = await seed(runtime, make_world)
    h = tma(runtime, world["a"]["clerk"])
    r = await client.get(f"{_base(world, 'a')}/appeals/export", params={"format": "csv"}, headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Регистрационный номер", "Вид", "Статус"]
    assert rows[1][0] == world["a"]["appeal"].reg_number and rows[1][1] == "Жалоба"
    assert len(rows) == 2
    r = await client.get(f"{_base(world, 'a')}/appeals/export", params={"format": "xlsx"}, headers=h)
    ws = load_workbook(io.BytesIO(r.content)).active
    values = list(ws.values)
    assert values[1][0] == world["a"]["appeal"].reg_number and len(values) == 2


async def test_reminders_on_a_fake_clock_fire_once(runtime, harness):
    async def data(s):
        town = await make_town(s, slug="remind")
        cat = await make_category(s, town)
        clerk = await make_user(s, town=town, roles=(Role.CLERK,))
        head = await make_user(s, town=town, roles=(Role.DEPARTMENT_HEAD,))
        resident = await make_resident(s, town)
        ap = await make_appeal(s, town, cat, resident, now=datetime(2026, 3, 2, 7, tzinfo=UTC))
        ap.assignee_id = clerk.id
        return clerk, head, ap

    clerk, head, ap = await seed(runtime, data)
    sent_kinds = []
    moment = datetime(2026, 3, 20, tzinfo=UTC)
    while moment < ap.due_at + timedelta(days=3):
        n = await seed(runtime, lambda s, at=moment: appeal_jobs.send_reminders(s, now=at))
        if n:
            async with runtime.sessionmaker() as s:
                kinds = {r.kind for r in await s.scalars(select(AppealReminder).where(AppealReminder.skipped.is_(False)))}
            sent_kinds.append((moment, sorted(kinds)))
        moment += timedelta(hours=6)
    assert [k for _, k in sent_kinds] == [["due_in_5_days"], ["due_in_1_day", "due_in_5_days"], ["due_in_1_day", "due_in_5_days", "overdue"]]
    async with runtime.sessionmaker() as s:
        msgs = list(await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    reminder_msgs = [m for m in msgs if m.kind in ("appeals.due_in_5_days", "appeals.due_in_1_day", "appeals.overdue")]
    assert {m.user_id for m in reminder_msgs} == {clerk.id, head.id}
    assert len(reminder_msgs) == 6
    calls = await _deliver(harness)
    assert any(isinstance(c, SendMessage) and c.text.startswith("Напоминание: ответ на обращение") for c in calls)


async def test_attachment_rules(runtime):
    world = await seed(runtime, make_world)
    a = world["a"]

    async def save(data, name, mime):
        return await seed(runtime, lambda s: appeals.save_attachment(s, town=a["town"], user=a["resident"], data=data, filename=name, mime=mime, files_root=runtime.settings.files_dir))

    ok = await save(b"\xff\xd8\xff\xe0fakejpeg", "../../etc/passwd.jpg", "image/jpeg")
    assert ok.filename == "passwd.jpg" and ok.size == 12
    from backend.errors import Invalid

    with pytest.raises(Invalid) as bad_type:
        await save(b"MZ\x90\x00", "virus.exe", "application/x-msdownload")
    assert bad_type.value.message.startswith("Files of this type are not accepted.")
    with pytest.raises(Invalid):
        await save(b"not a pdf", "fake.pdf", "application/pdf")
    async with runtime.sessionmaker() as s:
        assert await s.scalar(select(StoredFile).where(StoredFile.filename == "fake.pdf")) is None


async def test_category_answer_template_is_sandboxed_and_used(client, runtime):
    world = await seed(runtime, make_world)
    a = world["a"]
    head = await seed(runtime, lambda s: make_user(s, town=a["town"], roles=(Role.DEPARTMENT_HEAD,)))
    url = f"{_base(world, 'a')}/appeal-categories/{a['category'].id}/answer-template"
    r = await client.get(url, headers=tma(runtime, a["clerk"]))
    assert "{{ reg_number }}" in r.json()["body"] and "resident_name" in r.json()["fields"]
    r = await client.put(url, json={"body": "Ответ {{ reg_number }}"}, headers=tma(runtime, a["clerk"]))
    assert r.status_code == 403
    r = await client.put(url, json={"body": "{{ ''.__class__.__mro__ }}"}, headers=tma(runtime, head))
    assert r.status_code == 422 and r.json()["message"].startswith("В шаблоне ошибка:")  # the trial render refuses it
    r = await client.put(url, json={"body": "{{ 7 ** 6000000 }}"}, headers=tma(runtime, head))
    assert r.status_code == 422 and r.json()["message"].startswith("В шаблоне ошибка:")

    async def saved_before_checks(s):  # a template stored before trial renders existed
        (await s.get(AppealCategory, a["category"].id)).answer_template = "{{ ''.__class__.__mro__ }}"

    await seed(runtime, saved_before_checks)
    draft = await client.get(f"{_base(world, 'a')}/appeals/{a['appeal'].id}/answer-draft", headers=tma(runtime, a["clerk"]))
    assert draft.status_code == 422 and draft.json()["message"].startswith("В шаблоне ошибка:")
    r = await client.put(url, json={"body": "Ответ {{ secret_key }}"}, headers=tma(runtime, head))
    assert r.status_code == 422 and r.json()["message"] == "Шаблон использует неизвестное поле: secret_key"
    r = await client.put(url, json={"body": "Уважаемый(ая) {{ resident_name }}! По обращению {{ reg_number }}: {{ answer_text | default('') }}"}, headers=tma(runtime, head))
    assert r.status_code == 200
    draft = await client.get(f"{_base(world, 'a')}/appeals/{a['appeal'].id}/answer-draft", headers=tma(runtime, a["clerk"]))
    assert draft.json()["body"] == f"Уважаемый(ая) Жителева Анна! По обращению {a['appeal'].reg_number}: {letter.ANSWER_TEXT_PLACEHOLDER}"


async def test_forget_keeps_appeals_without_personal_data(client, runtime):
    world = await seed(runtime, make_world)
    a = world["a"]
    r = await client.get("/api/v1/me/export", headers=tma(runtime, a["resident"]))
    exported = r.json()
    assert exported["appeals"][0]["reg_number"] == a["appeal"].reg_number
    assert exported["appeals"][0]["reply_address"] == "anna@example.ru"
    assert (await client.delete("/api/v1/me", headers=tma(runtime, a["resident"]))).status_code == 204
    async with runtime.sessionmaker() as s:
        appeal = await s.get(Appeal, a["appeal"].id)
        assert (appeal.full_name, appeal.reply_address, appeal.phone) == (None, None, None)
        assert appeal.text.startswith("Не вывозят мусор") and appeal.reg_number == a["appeal"].reg_number
        # The search index forgets the name with the rest and still finds the appeal by its text.
        by_name = search.matching(s, owner_type="appeal", municipality_id=appeal.municipality_id, query="Анна")
        by_text = search.matching(s, owner_type="appeal", municipality_id=appeal.municipality_id, query="мусор")
        assert list(await s.scalars(by_name.ids)) == [] and appeal.id in list(await s.scalars(by_text.ids))
