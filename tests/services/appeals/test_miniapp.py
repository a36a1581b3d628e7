"""The clerk's Appeals miniapp in a real headless Chromium against the real app on a real port.

Same rules as tests/test_miniapps_browser.py (its fixtures and launch helpers are reused):
offline, opened from signed launch links. Screenshots of the queue and a card at 390x844
go to GLOCAL_SCREENSHOTS=<dir> when it is set.
"""

from __future__ import annotations

import base64
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from backend.core.documents.models import Document
from backend.core.users import service as users
from backend.core.users.models import Role
from backend.db import utcnow
from backend.runtime import Runtime
from backend.services.appeals import letter
from backend.services.appeals import service as appeals
from backend.services.appeals.models import Appeal
from backend.services.appeals.rules import OPEN_STATUSES, Kind
from backend.services.appeals.schemas import AppealDraft
from backend.settings import Settings
from tests.services.appeals.factories import appeals_settings, make_appeal, make_category, make_resident
from tests.factories import make_town, make_user, seed
from tests.core.hub.test_miniapps_browser import (  # noqa: F401 - fixtures are found by name
    SHOTS,
    Tab,
    browser,
    launch_url,
    live,
    open_tab,
    sign,
    telegram_stub,
    tg_user,
)

pytestmark = pytest.mark.browser

# A 24x16 JPEG: what a resident's photo looks like to the file store.
JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAA0JCgsKCA0LCgsODg0PEyAVExISEyccHhcgLikxMC4pLSwzOko+MzZGNywtQFdBRkxOUlNSMj5aYVpQYEpRUk//2wBD"
    "AQ4ODhMREyYVFSZPNS01T09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT0//wAARCAAQABgDASIAAhEBAxEB/8QAHwAAAQUB"
    "AQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJico"
    "KSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ"
    "2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMi"
    "MoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOk"
    "paanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDOooorzD6kKKKKAP/Z"
)
FILLERS = 20  # with the four open appeals below: more than one page of 20


async def _seed(runtime: Runtime, settings: Settings) -> dict[str, Any]:
    """Коломна: a clerk (English), a colleague, and appeals of every deadline state, one with a
    photo and a point on the map; Соседск: an appeal the clerk must never see."""

    async def _make(s):  # noqa: ANN001, ANN202
        now = utcnow()
        town = await make_town(s, slug="kolomna", name="Коломна", settings=appeals_settings(reg_prefix="KOL"))
        roads = await make_category(s, town, code="roads", name="Дороги")
        trash = await make_category(s, town, code="trash", name="Мусор")
        light = await make_category(s, town, code="light", name="Освещение")
        clerk = await make_user(s, first_name="Ольга", town=town, roles=(Role.CLERK,))
        clerk.full_name = "Иванова Ольга"
        await users.set_locale(s, user=clerk, locale="en")
        colleague = await make_user(s, first_name="Пётр", town=town, roles=(Role.CLERK,))
        colleague.full_name = "Петров Пётр"
        anna = await make_resident(s, town, first_name="Анна")
        boris = await make_resident(s, town, first_name="Борис")

        overdue = await make_appeal(s, town, roads, anna, text="Яма на дороге у школы № 3 уже второй месяц.", now=now - timedelta(days=40))
        photo = await appeals.save_attachment(
            s, town=town, user=boris, data=JPEG, filename="площадка.jpg", mime="image/jpeg", files_root=settings.files_dir
        )
        draft = AppealDraft(
            kind=Kind.STATEMENT, category_id=trash.id, text="Контейнерная площадка переполнена,\nмусор не вывозят неделю.",
            full_name="Борисов Борис", reply_address="boris@example.ru", address="ул. Мира, 5", lat=55.0794, lon=38.7783,
            file_ids=[photo.id],
        )
        soon = await appeals.submit(s, town=town, draft=draft, author=boris, now=now - timedelta(days=27))
        report = await make_appeal(s, town, roads, None, kind=Kind.REPORT, text="Не работает светофор на перекрёстке Ленина и Мира.", now=now - timedelta(days=2),
            lat=55.0821, lon=38.7806,
        )
        fillers = [
            await make_appeal(s, town, light, None, kind=Kind.REPORT, text=f"Не горит фонарь у дома {i} на улице Садовой.", full_name=None, reply_address=None)
            for i in range(1, FILLERS + 1)
        ]
        later = await make_appeal(s, town, light, anna, kind=Kind.PROPOSAL, text="Предлагаю осветить аллею в парке Победы.")
        await appeals.assign(s, appeal=later, actor=colleague, assignee_id=colleague.id)  # in progress
        # Unreadable: registered straight as "left without an answer" (art. 11 p. 4).
        unanswerable = await make_appeal(s, town, roads, boris, text="?!?!?! ### !!! ???")

        other = await make_town(s, slug="sosedsk", name="Соседск", settings=appeals_settings(reg_prefix="SOS"))
        other_cat = await make_category(s, other, code="roads", name="Дороги")
        stranger = await make_resident(s, other, first_name="Чужой")
        foreign = await make_appeal(s, other, other_cat, stranger, text="Секретное обращение соседнего города.")
        return {
            "town": town, "roads": roads, "trash": trash, "light": light, "clerk": clerk, "colleague": colleague,
            "overdue": overdue, "soon": soon, "report": report, "fillers": fillers, "later": later,
            "unanswerable": unanswerable, "foreign": foreign, "photo": photo,
        }

    return await seed(runtime, _make)


async def _open_queue(open_tab, live, settings, world, **kw) -> tuple[Tab, str]:  # noqa: ANN001
    data = sign(settings, tg_user(world["clerk"], "en"))
    tab = await open_tab(**kw)
    await tab.page.goto(launch_url(live, "appeals/", data))
    await tab.page.wait_for_function("document.querySelectorAll('#list li').length > 0")
    return tab, data


async def _rows(page: Any) -> list[str]:
    return await page.locator("#list li .reg").all_inner_texts()


async def _wait_rows(page: Any, n: int) -> None:
    await page.wait_for_function(f"document.querySelectorAll('#list li').length === {n} && !document.querySelector('#queue .spinner')")


def _queue_requests(tab: Tab, town_id: int) -> list[dict[str, list[str]]]:
    path = f"/api/v1/municipalities/{town_id}/appeals"
    return [parse_qs(urlsplit(r.url).query) for r in tab.requests if r.method == "GET" and urlsplit(r.url).path == path]


def _day(at: datetime, town: Any) -> date:
    return at.astimezone(ZoneInfo(town.timezone)).date()


def _today(town: Any) -> date:
    return _day(utcnow(), town)


async def _appeal(runtime: Runtime, appeal_id: int) -> Appeal:
    async with runtime.sessionmaker() as s:
        return await s.get(Appeal, appeal_id)


async def test_queue_filters_counts_pages_and_export(open_tab, live, runtime, settings):
    world = await _seed(runtime, settings)
    town_id = world["town"].id
    tab, data = await _open_queue(open_tab, live, settings, world)
    page = tab.page

    # The open appeals of this town, in the server's due-date order, twenty at a time.
    open_values = [s.value for s in OPEN_STATUSES]
    async with runtime.sessionmaker() as s:
        expected = list(await s.scalars(
            select(Appeal.reg_number).where(Appeal.municipality_id == town_id, Appeal.status.in_(open_values)).order_by(Appeal.due_at, Appeal.id)
        ))
    assert len(expected) == FILLERS + 4
    assert await _rows(page) == expected[:20]
    assert expected[:3] == [world["overdue"].reg_number, world["soon"].reg_number, world["report"].reg_number]
    assert await page.locator("h1").inner_text() == "Appeals"
    assert await page.locator("#town").inner_text() == "Коломна"

    def row(key: str) -> Any:
        return page.locator(f"#list li[data-id='{world[key].id}']")

    # Each row: number, the time left (coloured by the deadline state), the resident's name.
    assert await row("overdue").locator(".due").get_attribute("class") == "left due overdue"
    overdue_days = (_today(world["town"]) - _day(world["overdue"].due_at, world["town"])).days
    assert await row("overdue").locator(".due").inner_text() == f"Overdue by {overdue_days} days"
    soon_days = (_day(world["soon"].due_at, world["town"]) - _today(world["town"])).days
    assert await row("soon").locator(".due").get_attribute("class") == "left due due_soon"
    assert await row("soon").locator(".due").inner_text() == f"{soon_days} days left"
    assert await row("report").locator(".due").get_attribute("class") == "left due ok"
    assert await page.evaluate(
        "getComputedStyle(document.querySelector('#list li .due.overdue')).color"
    ) != await page.evaluate("getComputedStyle(document.querySelector('#list li .due.ok')).color")
    assert await row("soon").locator(".who").inner_text() == "Борисов Борис"
    assert await row("overdue").locator(".who").inner_text() == "Жителева Анна"
    assert await page.locator(f"#list li[data-id='{world['fillers'][0].id}'] .who").inner_text() == "Anonymous report"
    assert await row("soon").locator(".clip").inner_text() == "📎 1"
    assert await row("soon").locator(".category").inner_text() == "Мусор"
    assert await row("soon").locator(".kind").inner_text() == "Statement"
    assert await row("overdue").locator(".assignee").inner_text() == "Not assigned"
    assert "Контейнерная площадка переполнена" in await row("soon").locator(".excerpt").inner_text()

    # On a phone the filters fold into one bar: the list starts high enough to show four rows.
    assert await page.locator("#filters").count() == 0
    list_top = await page.locator("#list").evaluate("e => e.getBoundingClientRect().top")
    assert list_top < 240, list_top
    visible = await page.locator("#list li").evaluate_all("els => els.filter(e => e.getBoundingClientRect().bottom <= innerHeight).length")
    assert visible >= 4

    # The overdue count is red when something is overdue; counts per status are in the sheet.
    overdue_chip = page.locator("#overdue")
    assert await overdue_chip.locator(".count").inner_text() == "1"
    danger = await overdue_chip.locator(".count").evaluate("e => getComputedStyle(e).color")
    hint = await page.locator("#summary").evaluate("e => getComputedStyle(e).color")
    assert danger != hint
    assert await page.locator("#summary").inner_text() == f"Shown 20 of {FILLERS + 4}"
    first = _queue_requests(tab, town_id)[0]
    assert first == {"status": ["registered", "in_progress", "info_requested"], "limit": ["20"]}
    assert "SOS-" not in await page.locator("#queue").inner_text()

    if SHOTS:
        await page.screenshot(path=str(Path(SHOTS) / "appeals-queue.png"))

    async def count(status: str) -> str:
        return await page.locator(f"#filters .chip[data-status={status}] .count").inner_text()

    await page.locator("#filters-button").click()
    await page.locator("#filters").wait_for()
    assert [await count(s) for s in ("registered", "in_progress", "info_requested", "no_answer_required", "answered")] == [
        str(FILLERS + 3), "1", "0", "1", "0"
    ]
    pressed = await page.locator("#filters .chip[aria-pressed=true]").evaluate_all("els => els.map(e => e.dataset.status)")
    assert pressed == ["registered", "in_progress", "info_requested"]
    if SHOTS:
        await page.screenshot(path=str(Path(SHOTS) / "appeals-filters.png"))

    # CSV of the current filters, fetched with the launch data and saved under the server's name.
    async with page.expect_download() as info:
        await page.locator("#filters").get_by_role("button", name="CSV").click()
    download = await info.value
    assert download.suggested_filename.startswith("appeals-") and download.suggested_filename.endswith(".csv")
    exported = Path(await download.path()).read_text(encoding="utf-8-sig")
    assert all(number in exported for number in expected)
    assert world["unanswerable"].reg_number not in exported and "SOS-" not in exported
    export_call = next(r for r in tab.requests if "/appeals/export" in r.url)
    assert (await export_call.all_headers())["authorization"] == f"tma {data}"
    assert parse_qs(urlsplit(export_call.url).query)["format"] == ["csv"]
    await page.locator("#filters").get_by_role("button", name="Show appeals").click()
    await page.locator("#filters").wait_for(state="detached")

    # "Load more" asks for the next page by the cursor the first one gave.
    await page.get_by_role("button", name="Load more").click()
    await _wait_rows(page, FILLERS + 4)
    assert await _rows(page) == expected
    more = _queue_requests(tab, town_id)[-1]
    assert more["cursor"] and more["limit"] == ["20"]
    assert await page.locator("#more").is_hidden()

    # A card and back: the loaded pages and the scroll position are still there.
    last = page.locator("#list li").nth(FILLERS + 2)
    await last.scroll_into_view_if_needed()
    scrolled = await page.evaluate("window.scrollY")
    assert scrolled > 0
    await last.locator("a").click()
    await page.locator("#reg").wait_for()
    await page.locator("#card .back").click()
    await page.locator("#queue").wait_for()
    assert await page.evaluate("window.scrollY") == scrolled
    assert len(await _rows(page)) == FILLERS + 4

    # A category narrows the list; the request says so, and the bar counts the filter.
    await page.locator("#filters-button").click()
    await page.select_option("#filter-category", str(world["trash"].id))
    await _wait_rows(page, 1)
    assert await _rows(page) == [world["soon"].reg_number]
    assert _queue_requests(tab, town_id)[-1]["category_id"] == [str(world["trash"].id)]
    await page.wait_for_function("document.querySelector('#filters .chip[data-status=registered] .count').textContent === '1'")
    await page.keyboard.press("Escape")
    assert await page.locator("#filter-count").inner_text() == "1"
    # Nothing overdue under this filter: a zero is not painted red.
    await page.wait_for_function("document.querySelector('#overdue').dataset.count === '0'")
    assert await overdue_chip.locator(".count").evaluate("e => getComputedStyle(e).color") != danger
    await page.locator("#filters-button").click()
    await page.select_option("#filter-category", "")
    await _wait_rows(page, 20)
    await page.keyboard.press("Escape")
    assert await page.locator("#filter-count").inner_text() == ""

    # "Mine": the clerk's own appeals (none yet), then everyone's again.
    await page.locator("#view-mine").click()
    await page.get_by_text("No appeals match these filters.").wait_for()
    assert _queue_requests(tab, town_id)[-1]["assignee"] == ["me"]
    assert await page.locator("#view-mine").get_attribute("aria-pressed") == "true"
    await page.locator("#view-mine").click()
    await _wait_rows(page, 20)

    # The search box, debounced: one request for the whole word.
    before = len(_queue_requests(tab, town_id))
    await page.locator("#q").press_sequentially("школы", delay=30)
    await _wait_rows(page, 1)
    assert await _rows(page) == [world["overdue"].reg_number]
    searched = _queue_requests(tab, town_id)[before:]
    assert searched[-1]["q"] == ["школы"] and len(searched) < len("школы")  # debounced, not per key
    # The row shows the server's snippet with the found form marked ("школы" found "школы"
    # here; the form is the text's), best match first being the order a search gets.
    assert await page.locator(".appeal .snippet mark").all_inner_texts() == ["школы"]
    assert await page.locator(".appeal .snippet").inner_text() == "Яма на дороге у школы № 3 уже второй месяц."
    assert "sort" not in searched[-1]
    await page.locator("#q").fill("школа")
    await page.wait_for_function("document.querySelector('#sort-button').textContent.startsWith('Best match first')")
    assert await page.locator(".appeal .snippet mark").all_inner_texts() == ["школы"]
    await page.locator("#q").fill("")
    await _wait_rows(page, 20)

    # Only the closed-without-answer status: its deadline no longer runs (grey), the row says
    # how it ended instead.
    await page.locator("#filters-button").click()
    for status in ("registered", "in_progress", "info_requested", "no_answer_required"):
        await page.locator(f"#filters .chip[data-status={status}]").click()
    await _wait_rows(page, 1)
    assert await _rows(page) == [world["unanswerable"].reg_number]
    assert await row("unanswerable").locator(".due").get_attribute("class") == "left due none"
    assert await row("unanswerable").locator(".due").inner_text() == "Left without an answer"
    assert _queue_requests(tab, town_id)[-1]["status"] == ["no_answer_required"]

    # The overdue toggle, with the open statuses back.
    for status in ("registered", "in_progress", "info_requested", "no_answer_required"):
        await page.locator(f"#filters .chip[data-status={status}]").click()
    await page.keyboard.press("Escape")
    await page.locator("#overdue").click()
    await _wait_rows(page, 1)
    assert await _rows(page) == [world["overdue"].reg_number]
    assert _queue_requests(tab, town_id)[-1]["overdue"] == ["true"]

    # Nothing from the other town, ever; no JS errors.
    assert not [r for r in tab.requests if f"/municipalities/{world['foreign'].municipality_id}/" in r.url]
    assert tab.errors == []


async def test_card_take_answer_and_extend(open_tab, live, runtime, settings):
    world = await _seed(runtime, settings)
    town_id = world["town"].id
    soon = world["soon"]
    tab, data = await _open_queue(open_tab, live, settings, world)
    page = tab.page

    await page.locator(f"#list li[data-id='{soon.id}'] a").click()
    await page.locator("#reg").wait_for()
    assert await page.locator("#queue").is_hidden()
    assert parse_qs(urlsplit(page.url).query) == {"town": [str(town_id)], "appeal": [str(soon.id)]}
    assert await page.locator("#reg").inner_text() == soon.reg_number
    assert await page.locator("#text").inner_text() == "Контейнерная площадка переполнена,\nмусор не вывозят неделю."
    assert await page.locator("#status").inner_text() == "Registered"  # the msgid, capitalized by CSS
    resident = await page.locator("#resident").inner_text()
    for part in ("Борисов Борис", "boris@example.ru", "+79990001122", "ул. Мира, 5"):
        assert part in resident
    card = await (await page.request.get(f"{live.url}/api/v1/municipalities/{town_id}/appeals/{soon.id}", headers={"Authorization": f"tma {data}"})).json()
    map_link = page.locator("#map")
    assert await map_link.get_attribute("href") == card["map_url"]
    assert await map_link.get_attribute("target") == "_blank"
    assert await map_link.get_attribute("rel") == "noopener"

    # The photo is fetched with the launch data and shown from a blob.
    await page.wait_for_function("(() => { const i = document.querySelector('#files img'); return i && i.complete && i.naturalWidth === 24; })()")
    assert (await page.locator("#files img").get_attribute("src")).startswith("blob:")
    file_calls = tab.api_calls("GET", f"/municipalities/{town_id}/files/{world['photo'].id}")
    assert len(file_calls) == 1 and (await file_calls[0].all_headers())["authorization"] == f"tma {data}"
    assert (await file_calls[0].response()).status == 200

    if SHOTS:
        await page.screenshot(path=str(Path(SHOTS) / "appeals-card.png"))
        await page.screenshot(path=str(Path(SHOTS) / "appeals-card-full.png"), full_page=True)

    # The header keeps one fact per line: deadline with the time left, assignee, source.
    assert (await page.locator("#due").inner_text()).startswith("Due ")
    assert await page.locator("#left").inner_text() == await page.locator(f"#list li[data-id='{soon.id}'] .due").inner_text()
    assert await page.locator("#assignee").inner_text() == "Not assigned"
    assert await page.locator("#source").inner_text() == "Telegram bot"
    # The actions are buttons: tiles for the common ones, the rest in a sheet behind "More".
    assert await page.locator("#actions-bar .quick-action").all_inner_texts() == ["✍️\nAnswer", "👤\nAssign", "📝\nNote", "⋯\nMore"]
    assert await page.locator("details.action").count() == 0

    # Take it: the card and the database say "in progress", with the clerk as assignee.
    await page.get_by_role("button", name="Take the appeal").click()
    await page.locator("#status[data-status=in_progress]").wait_for()
    assert await page.locator("#assignee").inner_text() == "Иванова Ольга"
    assert await page.locator("#notice").inner_text() == "The appeal is yours now."
    taken = await _appeal(runtime, soon.id)
    assert (taken.status, taken.assignee_id) == ("in_progress", world["clerk"].id)

    # 40 days is more than the law allows: the server's message, and nothing typed is lost.
    await page.locator("#more-actions").click()
    actions = page.locator("#actions")
    await actions.wait_for()
    assert await actions.locator(".action-row").all_inner_texts() == [
        "❓\nAsk the resident", "⏳\nExtend the deadline", "🚫\nLeave without an answer",
    ]
    assert await actions.locator(".action-row.danger").all_inner_texts() == ["🚫\nLeave without an answer"]
    if SHOTS:
        await page.screenshot(path=str(Path(SHOTS) / "appeals-actions.png"))
    await actions.get_by_role("button", name="Extend the deadline").click()
    form = page.locator("#extend-form")
    await form.wait_for()
    await page.locator("#field-days").fill("40")
    await page.locator("#field-reason").fill("Нужна выездная проверка")
    await form.get_by_role("button", name="Extend").click()
    error = form.locator(".form-error")
    await error.wait_for()
    assert await error.inner_text() == "An extension can be at most 30 days."
    assert await page.locator("#field-reason").input_value() == "Нужна выездная проверка"
    assert await page.locator("#field-days").input_value() == "40"
    assert (await _appeal(runtime, soon.id)).extended_at is None
    await form.get_by_role("button", name="Close").click()
    await form.wait_for(state="detached")

    # The answer starts from the server's draft; what the clerk types is kept on the device.
    await page.get_by_role("button", name="Write an answer").click()
    body = page.locator("#field-answer")
    await page.wait_for_function("(number) => document.querySelector('#field-answer').value.includes(number)", arg=soon.reg_number)
    draft = await body.input_value()
    assert letter.ANSWER_TEXT_PLACEHOLDER in draft  # where the substance goes
    await body.fill(draft.replace(letter.ANSWER_TEXT_PLACEHOLDER, "Площадку очистят до пятницы."))
    await page.locator("#draft-state").filter(has_text="Draft saved at").wait_for()
    key = f"glocal:answer_{town_id}_{soon.id}"
    assert "Площадку очистят до пятницы." in await page.evaluate("(key) => JSON.parse(localStorage.getItem(key)).value", key)
    if SHOTS:
        await page.screenshot(path=str(Path(SHOTS) / "appeals-answer.png"))

    # The launch ends before it is sent (a new launch is a new page): the draft comes back.
    fresh = sign(settings, tg_user(world["clerk"], "en"))
    await page.goto("about:blank")
    await page.goto(launch_url(live, f"appeals/?town={town_id}&appeal={soon.id}", fresh))
    await page.get_by_role("button", name="Write an answer").click()
    await page.wait_for_function("document.querySelector('#field-answer') && document.querySelector('#field-answer').value.includes('Площадку очистят до пятницы.')")
    assert (await page.locator("#draft-state").inner_text()).startswith("Your unsent draft of ")

    dialogs: list[str] = []

    async def _accept(dialog: Any) -> None:
        dialogs.append(dialog.message)
        await dialog.accept()

    page.once("dialog", lambda d: _accept(d))
    await page.locator("#answer-form").get_by_role("button", name="Send answer").click()
    number = page.locator("#documents .doc-number")
    await number.wait_for()
    assert (await number.inner_text()).startswith("Outgoing No. ИСХ-")
    assert dialogs == ["Send the answer? It will be registered as an outgoing document and sent to the resident; it cannot be taken back."]
    assert await page.locator("#answer-form").count() == 0
    assert await page.locator("#status").get_attribute("data-status") == "answered"
    assert await page.get_by_role("button", name="Download PDF").count() == 1
    # Sent: the draft is gone from the device.
    assert await page.evaluate("(key) => localStorage.getItem(key)", key) is None
    if SHOTS:
        await page.locator("#documents").scroll_into_view_if_needed()
        await page.screenshot(path=str(Path(SHOTS) / "appeals-answered.png"))
    answered = await _appeal(runtime, soon.id)
    assert answered.status == "answered"
    async with runtime.sessionmaker() as s:
        doc = await s.scalar(select(Document).where(Document.origin_type == "appeal", Document.origin_id == soon.id))
    assert doc is not None and doc.number.startswith("ИСХ-") and doc.number in await number.inner_text()
    assert "Площадку очистят до пятницы." in doc.body
    answer_call = tab.api_calls("POST", f"/municipalities/{town_id}/appeals/{soon.id}/answer")
    assert len(answer_call) == 1 and "Площадку очистят до пятницы." in answer_call[0].post_data_json["body"]

    # Back: the queue (built now: the card was opened by its own link), its row "answered".
    await page.locator("#card .back").click()
    await page.locator("#queue").wait_for()
    await page.wait_for_function("document.querySelectorAll('#list li').length > 0")
    assert "appeal" not in parse_qs(urlsplit(page.url).query)
    assert tab.errors == []


async def test_back_keeps_the_filtered_queue(open_tab, live, runtime, settings):
    world = await _seed(runtime, settings)
    soon = world["soon"]
    tab, _data = await _open_queue(open_tab, live, settings, world)
    page = tab.page
    await page.locator("#filters-button").click()
    await page.select_option("#filter-category", str(world["trash"].id))
    await _wait_rows(page, 1)
    await page.keyboard.press("Escape")
    await page.locator(f"#list li[data-id='{soon.id}'] a").click()
    await page.locator("#reg").wait_for()
    await page.get_by_role("button", name="Take the appeal").click()
    await page.locator("#status[data-status=in_progress]").wait_for()

    await page.locator("#card .back").click()
    await page.locator("#queue").wait_for()
    assert await page.locator("#filter-count").inner_text() == "1"
    assert await _rows(page) == [soon.reg_number]
    assert await page.locator(f"#list li[data-id='{soon.id}'] .assignee").inner_text() == "Иванова Ольга"
    await page.locator("#filters-button").click()
    assert await page.locator("#filter-category").input_value() == str(world["trash"].id)
    assert tab.errors == []


async def test_dark_theme_puts_sections_on_the_secondary_colour(open_tab, live, runtime, settings):
    """Telegram's dark theme: cards in section_bg_color on a page of secondary_bg_color, so
    they stand out instead of looking like holes."""
    world = await _seed(runtime, settings)
    dark = {
        "bg_color": "#212121", "secondary_bg_color": "#0f0f0f", "section_bg_color": "#1c1c1d", "text_color": "#ffffff",
        "hint_color": "#aaaaaa", "link_color": "#8774e1", "button_color": "#8774e1", "button_text_color": "#ffffff",
        "destructive_text_color": "#ff595a",
    }
    data = sign(settings, tg_user(world["clerk"], "ru"))
    tab = await open_tab()
    page = tab.page
    await page.goto(launch_url(live, "appeals/", data, dark))
    await page.wait_for_function("document.querySelectorAll('#list li').length > 0")
    assert await page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(15, 15, 15)"
    assert await page.locator("#list .appeal").first.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(28, 28, 29)"
    assert await page.locator("#overdue .count").evaluate("e => getComputedStyle(e).color") == "rgb(255, 89, 90)"
    if SHOTS:
        await page.screenshot(path=str(Path(SHOTS) / "appeals-queue-dark.png"))
    await page.locator(f"#list li[data-id='{world['soon'].id}'] a").click()
    await page.locator("#reg").wait_for()
    assert await page.locator("#handling .section").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(28, 28, 29)"
    assert await page.locator("#more-actions").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(28, 28, 29)"
    if SHOTS:
        await page.wait_for_function("(() => { const i = document.querySelector('#files img'); return i && i.complete; })()")
        await page.screenshot(path=str(Path(SHOTS) / "appeals-card-dark.png"))
    assert tab.errors == []


async def test_reminder_link_opens_the_card_with_telegram_controls(open_tab, live, runtime, settings):
    world = await _seed(runtime, settings)
    town_id = world["town"].id
    report = world["report"]  # two days old: it can still be redirected
    data = sign(settings, tg_user(world["clerk"], "en"))
    tab = await open_tab(telegram_js=telegram_stub(data), webview=True)
    page = tab.page

    async def calls() -> list[list[Any]]:
        return await page.evaluate("window.__tg")

    async def last_text(button: str) -> str:
        return [c[1] for c in await calls() if c[0] == button + ".setText"][-1]

    # What the bot's reminder button opens: the town and the appeal in the query string.
    await page.goto(launch_url(live, f"appeals/?town={town_id}&appeal={report.id}", data))
    await page.locator("#reg").wait_for()
    assert await page.locator("#reg").inner_text() == report.reg_number
    # Telegram's two bottom buttons: take it, or hand it on; and its back button.
    assert await last_text("MainButton") == "Take the appeal" and await last_text("SecondaryButton") == "Assign"
    assert ["BackButton.show"] in await calls()
    assert await page.locator(".main-button").count() == 0 and await page.locator("#card .back").count() == 0
    # The card was asked for beside the categories, not after them.
    card_path = f"/municipalities/{town_id}/appeals/{report.id}"
    assert len(tab.api_calls("GET", card_path)) == 1

    # The map opens in Telegram's browser, not inside the app.
    await page.locator("#map").click()
    assert ["openLink", (await page.locator("#map").get_attribute("href"))] in await calls()
    assert page.url.startswith(f"{live.url}/app/appeals/")

    # Telegram's bottom button takes the appeal, then offers the answer. An anonymous report
    # has nobody to ask, so the second button goes.
    await page.evaluate("window.__tgMain()")
    await page.locator("#status[data-status=in_progress]").wait_for()
    assert ["haptic", "success"] in await calls()
    assert await last_text("MainButton") == "Write an answer"
    assert [c[0] for c in await calls() if c[0].startswith("SecondaryButton.")][-1] == "SecondaryButton.hide"

    # Redirecting: a sheet whose action is Telegram's main button; Telegram's dialog asks
    # first and the stand-in says no, so nothing happens.
    await page.locator("#more-actions").click()
    await page.locator("#actions").get_by_role("button", name="Redirect to the competent body").click()
    await page.locator("#redirect-form").wait_for()
    assert await last_text("MainButton") == "Redirect"
    assert await page.locator("#redirect-form .main-button").count() == 0
    await page.locator("#field-redirect").fill("Роспотребнадзор")
    await page.evaluate("window.__tgMain()")
    await page.wait_for_function("window.__tg.some((c) => c[0] === 'showConfirm')")
    assert [
        "showConfirm", "Redirect the appeal to “Роспотребнадзор”? The resident will be told, and the appeal leaves your queue."
    ] in await calls()
    assert (await _appeal(runtime, report.id)).status == "in_progress"
    assert not tab.api_calls("POST", f"/municipalities/{town_id}/appeals/{report.id}/redirect")

    # Telegram's back button closes the sheet first, and the card's main button comes back.
    await page.evaluate("window.__tgBack()")
    await page.locator("#redirect-form").wait_for(state="detached")
    assert await last_text("MainButton") == "Write an answer"
    assert await page.locator("#card").is_visible()

    # Then it shows the queue (there was none behind the card: it is built now).
    await page.evaluate("window.__tgBack()")
    await page.wait_for_function("document.querySelectorAll('#list li').length === 20")
    assert await page.locator("#card").is_hidden()
    assert "appeal" not in parse_qs(urlsplit(page.url).query)
    assert await page.locator(f"#list li[data-id='{report.id}'] .assignee").inner_text() == "Иванова Ольга"
    assert tab.errors == []


async def test_order_departments_link_export_earlier_appeals_and_a_draft_on_another_device(open_tab, live, runtime, settings):
    """What the newer API gives the page: the orders, the departments, exports through signed
    links in Telegram, the resident's other appeals on the card, and drafts kept on the server."""
    world = await _seed(runtime, settings)
    town_id = world["town"].id
    soon = world["soon"]
    data = sign(settings, tg_user(world["clerk"], "en"))
    tab = await open_tab(telegram_js=telegram_stub(data), webview=True)
    page = tab.page
    await page.goto(launch_url(live, "appeals/", data))
    await page.wait_for_function("document.querySelectorAll('#list li').length > 0")

    # The server said which order it applied, so the page offers the others; newest first is
    # the server's order by registration.
    await page.locator("#sort-button:not([hidden])").click()
    await page.locator("#sort").get_by_role("button", name="Newest first").click()
    await page.wait_for_function("(n) => document.querySelectorAll('#list li').length === n", arg=20)
    await page.wait_for_function("!document.querySelector('#queue .spinner')")
    assert _queue_requests(tab, town_id)[-1]["sort"] == ["-registered"]
    async with runtime.sessionmaker() as s:
        newest = list(await s.scalars(
            select(Appeal.reg_number).where(Appeal.municipality_id == town_id, Appeal.status.in_([v.value for v in OPEN_STATUSES]))
            .order_by(Appeal.registered_at.desc(), Appeal.id.desc()).limit(20)
        ))
    assert await _rows(page) == newest

    # The town's departments are a filter.
    await page.locator("#filters-button").click()
    await page.locator("#filters").wait_for()
    trash_department = next(d["id"] for d in (await _api(live, data, f"/municipalities/{town_id}/departments")) if d["name"] == "Отдел «Мусор»")
    await page.select_option("#filter-department", str(trash_department))
    await page.wait_for_function("(id) => [...document.querySelectorAll('#list li')].map(e => e.dataset.id).join() === String(id)", arg=soon.id)

    # The export goes to Telegram's downloadFile as a signed link, which downloads the CSV of
    # these filters without launch data.
    await page.locator("#filters").get_by_role("button", name="CSV").click()
    await page.wait_for_function("window.__tg.some((c) => c[0] === 'downloadFile')")
    [params] = [c[1] for c in await page.evaluate("window.__tg") if c[0] == "downloadFile"]
    assert params["url"].startswith("https://glocal.test/api/v1/dl/") and params["file_name"].endswith(".csv")
    assert not tab.api_calls("GET", f"/municipalities/{town_id}/appeals/export")
    # The link is signed for the rows as the clerk sees them: these filters, in this order.
    [signing] = [r for r in tab.requests if r.method == "POST" and "/appeals/export/download-link" in r.url]
    signed = parse_qs(urlsplit(signing.url).query)
    assert signed["sort"] == ["-registered"] and signed["department_id"] == [str(trash_department)]
    async with httpx.AsyncClient(base_url=live.url) as http:
        r = await http.get(params["url"].removeprefix("https://glocal.test"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith("attachment;")
    exported = r.content.decode("utf-8-sig")
    assert soon.reg_number in exported and world["overdue"].reg_number not in exported and "Отдел «Мусор»" in exported
    await page.evaluate("window.__tgBack()")  # Telegram's back button closes the sheet
    await page.locator("#filters").wait_for(state="detached")

    # The card names the department and lists the resident's other appeal in the town.
    await page.locator(f"#list li[data-id='{soon.id}'] a").click()
    await page.locator("#reg").wait_for()
    assert await page.locator("#department").inner_text() == "Отдел «Мусор»"
    assert await page.locator("#earlier li").evaluate_all("els => els.map(e => e.dataset.id)") == [str(world["unanswerable"].id)]
    assert world["unanswerable"].reg_number in await page.locator("#earlier").inner_text()

    # What the clerk types is saved on the server as well as on the device...
    await page.locator("#actions-bar .quick-action[data-action=answer]").click()
    await page.wait_for_function("(number) => document.querySelector('#field-answer').value.includes(number)", arg=soon.reg_number)
    await page.locator("#field-answer").fill("Уважаемый Борис! Площадку очистят до пятницы.")
    await page.locator("#draft-state").filter(has_text="Draft saved at").wait_for()
    draft_path = f"/municipalities/{town_id}/appeals/{soon.id}/answer-draft"
    await page.wait_for_function("(url) => performance.getEntriesByType('resource').some((e) => e.name === url)", arg=f"{live.url}/api/v1{draft_path}")
    saved = await _api(live, data, draft_path)
    assert saved["body"] == "Уважаемый Борис! Площадку очистят до пятницы." and saved["saved_at"] is not None

    # ...so another device (a browser with nothing stored) finds it, and sending clears it.
    other = await open_tab()
    fresh = sign(settings, tg_user(world["clerk"], "en"))
    await other.page.goto(launch_url(live, f"appeals/?town={town_id}&appeal={soon.id}", fresh))
    await other.page.locator("#actions-bar .quick-action[data-action=answer]").click()
    await other.page.wait_for_function("document.querySelector('#field-answer') && document.querySelector('#field-answer').value.endsWith('до пятницы.')")
    assert (await other.page.locator("#draft-state").inner_text()).startswith("Your unsent draft of ")
    other.page.once("dialog", lambda d: d.accept())
    await other.page.locator("#answer-form").get_by_role("button", name="Send answer").click()
    await other.page.locator("#documents .doc-number").wait_for()
    after = await _api(live, fresh, draft_path)
    assert after["saved_at"] is None  # the answer discarded the draft: the template again
    assert tab.errors == [] and other.errors == []


async def _api(live, data: str, path: str) -> Any:  # noqa: ANN001
    async with httpx.AsyncClient(base_url=live.url) as http:
        r = await http.get(f"/api/v1{path}", headers={"Authorization": f"tma {data}"})
    assert r.status_code == 200, r.text
    return r.json()
