"""The administration's miniapp in a real headless Chromium against the real app on a real
port, opened from signed launch links as Telegram opens them (offline: telegram.org is
aborted). Invitations are redeemed by feeding /start inv_... through the real Dispatcher.
GLOCAL_SCREENSHOTS=<dir> keeps screenshots of every view at 390x844, light and dark."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from backend.core.calendar import rules as calendar
from backend.core.municipalities import service as towns
from backend.core.municipalities.models import Municipality
from backend.core.users import service as users
from backend.core.users.models import Membership, Role, User
from backend.demo import THEME as LIGHT
from backend.runtime import Runtime
from backend.services.appeals.models import AppealCategory
from backend.services.appeals.open311 import service as open311
from backend.services.appeals.rules import Kind
from backend.settings import Settings
from tests import updates as U
from tests.conftest import make_settings
from tests.core.hub.test_miniapps_browser import (  # noqa: F401 - fixtures are found by name
    SHOTS,
    browser,
    launch_url,
    live,
    open_tab,
    sign,
    telegram_stub,
    tg_user,
)
from tests.factories import make_town, make_user, seed
from tests.services.appeals.factories import make_appeal, make_category, make_resident

pytestmark = pytest.mark.browser

# Telegram's dark theme (Bot API 7.0+: with section and secondary colours).
DARK = {
    "bg_color": "#212121", "secondary_bg_color": "#0f0f0f", "section_bg_color": "#212121", "text_color": "#ffffff",
    "hint_color": "#aaaaaa", "link_color": "#8774e1", "button_color": "#8774e1", "button_text_color": "#ffffff",
    "section_header_text_color": "#8774e1", "subtitle_text_color": "#aaaaaa", "destructive_text_color": "#ff595a",
}


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    # With the bot's name, invitations are t.me links.
    return make_settings(db_url, tmp_path, BOT_USERNAME="glocal_test_bot")


async def _world(runtime: Runtime, *, locale: str = "en") -> dict[str, Any]:
    async def _make(s):  # noqa: ANN001, ANN202
        town = await make_town(s, slug="kolomna", name="Коломна")
        category = await make_category(s, town, code="roads", name="Дороги")
        admin = await make_user(s, first_name="Галина", town=town, roles=(Role.RESIDENT, Role.ADMIN))
        admin.full_name = "Админова Галина"
        await users.set_locale(s, user=admin, locale=locale)
        clerk = await make_user(s, first_name="Борис", town=town, roles=(Role.CLERK,))
        resident = await make_resident(s, town)
        dept = await towns.add_department(s, municipality_id=town.id, name="Отдел благоустройства")
        return {"town": town, "category": category, "admin": admin, "clerk": clerk, "resident": resident, "dept": dept}

    return await seed(runtime, _make)


async def _open(open_tab, live, settings, person: User, lang: str = "en", theme: dict[str, str] = LIGHT, page: str = "admin/"):  # noqa: ANN001, ANN202
    tab = await open_tab()
    await tab.page.goto(launch_url(live, page, sign(settings, tg_user(person, lang)), theme))
    return tab


async def _view(page: Any, view: str) -> None:
    await page.locator(f"a.card[data-view={view}]").click()
    await page.locator(f"#view-{view}[data-ready=true]").wait_for()


async def _shot(page: Any, name: str) -> None:
    if SHOTS:
        await page.screenshot(path=str(Path(SHOTS) / f"admin-{name}.png"), full_page=True)


async def test_a_clerk_is_invited_by_a_link_that_works_once(open_tab, live, runtime, settings, harness):
    w = await _world(runtime, locale="ru")
    tab = await _open(open_tab, live, settings, w["admin"], "ru")
    page = tab.page
    await page.locator("#view-home[data-ready=true]").wait_for()
    assert await page.locator("h1").inner_text() == "Администрирование"
    assert await page.locator("#town").inner_text() == "Коломна"
    await _view(page, "staff")
    staff = await page.locator("#staff .row strong").all_inner_texts()
    assert staff == ["Админова Галина", "Борис"]

    await page.get_by_role("button", name="Пригласить").click()
    invite = page.locator("#invite-sheet")
    await invite.wait_for()
    await page.select_option("#invite-role", "clerk")
    await page.select_option("#invite-department", str(w["dept"].id))
    await invite.get_by_role("button", name="Создать ссылку").click()
    issued = page.locator("#issued-sheet")
    await issued.wait_for()
    link = await page.locator("#copy-value").input_value()
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "t.me", "/glocal_test_bot")
    start = parse_qs(parts.query)["start"][0]
    assert start.startswith("inv_")
    assert "Роль: Сотрудник." in await issued.inner_text()
    await _shot(page, "invite-link")

    # The clerk opens the link: Telegram sends the bot /start with its payload.
    olga = U.tg_user(910_001, "Ольга")
    calls = await harness.feed(U.message(olga, f"/start {start}"))
    assert calls[0].text == "Коломна: теперь ваша роль — «Сотрудник», отдел: Отдел благоустройства."
    # Anyone else is refused.
    calls = await harness.feed(U.message(U.tg_user(910_002, "Пётр"), f"/start {start}"))
    assert calls[0].text == "Эта ссылка-приглашение уже использована. Попросите в администрации новую."

    await issued.get_by_role("button", name="Готово").click()
    await page.wait_for_function("document.querySelectorAll('#staff .row').length === 3")
    olga_row = page.locator("#staff .row", has_text="Ольга")
    assert await olga_row.locator(".tag").all_inner_texts() == ["Сотрудник · Отдел благоустройства"]
    assert await page.locator("#invites .section").inner_text() == "Неиспользованных ссылок нет."
    async with runtime.sessionmaker() as s:
        roles = set(await s.scalars(
            select(Membership.role).join(User, User.id == Membership.user_id).where(User.telegram_id.in_([910_001, 910_002]))
        ))
    assert roles == {"clerk", "resident"}
    assert tab.errors == []


async def _due(runtime: Runtime, w: dict[str, Any], now: datetime) -> date:
    """A new appeal filed through the appeals service; its due date in the town."""

    async def _make(s):  # noqa: ANN001, ANN202
        town = await s.get(Municipality, w["town"].id)
        appeal = await make_appeal(s, town, await s.get(AppealCategory, w["category"].id), await s.get(User, w["resident"].id), kind=Kind.STATEMENT, now=now)
        return appeal.due_at.astimezone(calendar.Calendar(town.timezone).tz).date()

    return await seed(runtime, _make)


async def test_the_answer_term_and_the_days_off_move_a_new_appeals_due_date(open_tab, live, runtime, settings):
    w = await _world(runtime)
    monday = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    assert await _due(runtime, w, monday) == date(2026, 4, 1)
    tab = await _open(open_tab, live, settings, w["admin"])
    page = tab.page
    await _view(page, "services")
    await page.locator(".row[data-slug=appeals]").click()
    await page.locator("#view-service[data-ready=true]").wait_for()
    days = page.locator("input[name=answer_days]")
    assert await days.input_value() == "30"
    assert await page.locator("label.field", has=days).locator(".hint").first.inner_text() == "Answer term for appeals, days"

    # Beyond what the law allows: the server's message, and the field is marked.
    await days.fill("45")
    await page.get_by_role("button", name="Save").click()
    error = page.locator("#service-form .form-error")
    await error.wait_for()
    assert await error.inner_text() == "Check the fields: Answer term for appeals, days: must be at most 30."
    assert await days.get_attribute("aria-invalid") == "true"
    await days.fill("5")
    await page.get_by_role("button", name="Save").click()
    await page.locator("#notice", has_text="Saved.").wait_for()
    assert await error.is_hidden()
    assert await _due(runtime, w, monday) == date(2026, 3, 7)

    # Working days, with Wednesday the 4th off: Tue 3, Thu 5, Fri 6, Mon 9, Tue 10.
    await page.go_back()
    await page.locator("#view-services[data-ready=true]").wait_for()
    await page.go_back()
    await _view(page, "town")
    await page.get_by_role("button", name="Working days").click()
    await page.fill("#holidays-date", "2026-03-04")
    await page.locator("#holidays-add").click()
    assert await page.locator("#holidays-list .date-chip").get_attribute("data-date") == "2026-03-04"
    await page.get_by_role("button", name="Save").click()
    await page.locator("#notice", has_text="Saved.").wait_for()
    assert await _due(runtime, w, monday) == date(2026, 3, 10)
    async with runtime.sessionmaker() as s:
        stored = (await s.get(Municipality, w["town"].id)).settings
    assert stored == {"calendar_days": False, "holidays": ["2026-03-04"], "services": {"appeals": {"answer_days": 5}}}
    assert tab.errors == []


async def test_a_service_switched_off_leaves_the_hub_and_its_api(open_tab, live, runtime, settings, client):
    from tests.factories import tma

    w = await _world(runtime)
    tab = await _open(open_tab, live, settings, w["admin"])
    page = tab.page
    await _view(page, "services")
    await page.locator(".row[data-slug=appeals]").click()
    await page.locator("#view-service[data-ready=true]").wait_for()
    assert await page.locator("#enabled").is_checked()
    await page.locator("#enabled").uncheck()
    await page.get_by_role("button", name="Save").click()
    await page.locator("#notice", has_text="Saved.").wait_for()

    # The clerk's hub no longer offers it, and its API answers 404.
    hub = await _open(open_tab, live, settings, w["clerk"], page="hub/")
    await hub.page.locator("a.card[data-slug=profile]").wait_for()
    assert await hub.page.locator("a.card[data-slug=appeals]").count() == 0
    queue = await client.get(f"/api/v1/municipalities/{w['town'].id}/appeals", headers=tma(runtime, w["clerk"]))
    assert queue.status_code == 404
    # The administration still lists it as off, and the categories section is gone from its home.
    await page.go_back()
    await page.locator("#view-services[data-ready=true]").wait_for()
    assert await page.locator(".row[data-slug=appeals]").get_attribute("data-enabled") == "false"
    await page.go_back()
    await page.locator("#view-home[data-ready=true]").wait_for()
    assert await page.locator("a.card[data-view=categories]").count() == 0
    assert tab.errors == [] and hub.errors == []


async def test_a_clerk_cannot_open_the_administration(open_tab, live, runtime, settings):
    w = await _world(runtime)
    tab = await _open(open_tab, live, settings, w["clerk"])
    alert = tab.page.get_by_role("alert")
    await alert.wait_for()
    assert await alert.locator("h1").inner_text() == "Not available to you"
    assert await alert.locator("p").inner_text() == "Only the town's administrators can open this section."
    assert tab.errors == []


@pytest.mark.parametrize("theme", ["light", "dark"])
async def test_every_view_follows_the_theme_on_a_phone(open_tab, live, runtime, settings, theme):
    w = await _world(runtime, locale="ru")

    async def _platform(s):  # noqa: ANN001, ANN202
        (await s.get(User, w["admin"].id)).is_platform_admin = True
        await open311.issue_key(s, municipality_id=w["town"].id, name="Городской дашборд", actor_id=w["admin"].id)

    await seed(runtime, _platform)
    colours = LIGHT if theme == "light" else DARK
    tab = await _open(open_tab, live, settings, w["admin"], "ru", colours)
    page = tab.page
    await page.locator("#view-home[data-ready=true]").wait_for()
    views = await page.locator("a.card").evaluate_all("cards => cards.map((c) => c.dataset.view)")
    assert views == ["town", "services", "departments", "categories", "staff", "keys", "audit", "platform"]
    page_bg = "rgb(239, 239, 243)" if theme == "light" else "rgb(15, 15, 15)"
    card_bg = "rgb(255, 255, 255)" if theme == "light" else "rgb(33, 33, 33)"
    assert await page.evaluate("getComputedStyle(document.body).backgroundColor") == page_bg
    await _shot(page, f"home-{theme}")
    for view in views:
        await _view(page, view)
        block = page.locator(".section, .audit-entry").first
        assert await block.evaluate("e => getComputedStyle(e).backgroundColor") == card_bg
        # Phone-first: nothing wider than the screen.
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        await _shot(page, f"{view}-{theme}")
        await page.go_back()
        await page.locator("#view-home[data-ready=true]").wait_for()
    await _view(page, "services")
    await page.locator(".row[data-slug=appeals]").click()
    await page.locator("#view-service[data-ready=true]").wait_for()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await _shot(page, f"service-appeals-{theme}")
    assert tab.errors == []


async def test_the_town_chooses_who_handles_the_queue(open_tab, live, runtime, settings, client):
    from tests.factories import tma

    w = await _world(runtime)
    tab = await _open(open_tab, live, settings, w["admin"])
    page = tab.page
    await _view(page, "services")
    await page.locator(".row[data-slug=appeals]").click()
    await page.locator("#view-service[data-ready=true]").wait_for()
    assert await page.locator("#actions .row[data-action=file] .hint").inner_text() == "Everyone"
    handle = page.locator("#actions .row[data-action=handle]")
    assert await handle.locator(".hint").inner_text() == "Clerk, Department head, Head of the municipality, Administrator"

    await handle.click()
    opened = page.locator("#action-sheet")
    await opened.wait_for()
    assert await opened.locator(".hint").last.inner_text() == "By default: Clerk, Department head, Head of the municipality, Administrator."
    # Nobody at all is refused, with the server's message.
    for role in ("clerk", "department_head", "head", "admin"):
        await opened.locator(f".chip[data-role={role}]").click()
    await opened.get_by_role("button", name="Save").click()
    await opened.locator(".form-error").wait_for()
    assert await opened.locator(".form-error").inner_text() == "Check the fields: Handle appeals in the queue: choose at least one role."
    await opened.locator(".chip[data-role=department_head]").click()
    await opened.get_by_role("button", name="Save").click()
    await opened.wait_for(state="detached")
    assert await handle.locator(".hint").inner_text() == "Department head"
    assert await handle.locator(".tag").inner_text() == "changed"
    queue = f"/api/v1/municipalities/{w['town'].id}/appeals"
    assert (await client.get(queue, headers=tma(runtime, w["clerk"]))).status_code == 403

    await handle.click()
    await page.locator("#reset-action").click()
    await page.locator("#action-sheet").wait_for(state="detached")
    assert await handle.locator(".tag").count() == 0
    assert (await client.get(queue, headers=tma(runtime, w["clerk"]))).status_code == 200
    assert tab.errors == []
