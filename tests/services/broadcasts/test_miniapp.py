"""The organizers' Broadcasts miniapp in a real headless Chromium against the real app on a
real port: compose with formatting and a button, see the segment's size, send now, follow the
progress, pause and resume; and an invalid text answered with the server's message."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.core.users.models import Role
from backend.services.broadcasts.models import Broadcast
from tests.core.hub.test_miniapps_browser import (  # noqa: F401 - fixtures are found by name
    browser,
    launch_url,
    live,
    open_tab,
    sign,
    tg_user,
)
from tests.factories import make_town, make_user, seed
from tests.services.broadcasts.factories import make_residents

pytestmark = pytest.mark.browser


async def _world(runtime):  # noqa: ANN001, ANN202
    async def make(s):  # noqa: ANN001, ANN202
        town = await make_town(s, slug="kolomna", name="Коломна")
        org = await make_user(s, first_name="Olga", town=town, roles=(Role.ORGANIZER,))
        await make_residents(s, town, 7)
        await make_residents(s, town, 3, roles=(Role.ENTREPRENEUR,))
        return town, org
    return await seed(runtime, make)


async def test_compose_count_send_and_follow(open_tab, live, runtime, settings) -> None:
    town, org = await _world(runtime)
    tab = await open_tab()
    page = tab.page
    await page.goto(launch_url(live, "broadcasts/", sign(settings, tg_user(org, "en"))))
    await page.get_by_role("heading", name="Broadcasts").wait_for()
    assert await page.locator(".empty").inner_text() == "No broadcasts yet."

    await page.get_by_role("button", name="New broadcast").click()
    await page.get_by_role("heading", name="New broadcast").wait_for()
    await page.locator("#count").filter(has_text="Recipients now: 11").wait_for()
    await page.locator("#roles label", has_text="Entrepreneur").locator("input").check()
    await page.locator("#count").filter(has_text="Recipients now: 3").wait_for()
    await page.locator("#title").fill("Ярмарка")
    await page.locator("#text").fill("<b>Ярмарка</b> в субботу")
    await page.locator("#category").select_option("events")
    await page.locator("#add-button").click()
    await page.locator(".b-text").fill("Программа")
    await page.locator(".b-value").fill("https://example.ru/fair")

    await page.locator("#text").fill("<b>Ярмарка в субботу")
    await page.get_by_role("button", name="Save draft").click()
    await page.locator(".form-error").filter(has_text="The tag <b> is not closed.").wait_for()
    await page.locator("#text").fill("<b>Ярмарка</b> в субботу")

    await page.get_by_role("button", name="Send now").click()
    await page.locator("#status").filter(has_text="Sending").wait_for()
    assert "Sent" in await page.locator("#counts").inner_text()
    async with runtime.sessionmaker() as s:
        b = await s.scalar(select(Broadcast).where(Broadcast.municipality_id == town.id))
    assert (b.title, b.text, b.category, b.status, b.total) == ("Ярмарка", "<b>Ярмарка</b> в субботу", "events", "running", 3)
    assert b.segment == {"kind": "town", "roles": ["entrepreneur"], "audience": None, "ref": None}
    assert b.buttons == [[{"text": "Программа", "kind": "url", "value": "https://example.ru/fair"}]]

    await page.get_by_role("button", name="Pause").click()
    await page.locator("#status").filter(has_text="Paused").wait_for()
    await page.get_by_role("button", name="Resume").click()
    await page.locator("#status").filter(has_text="Sending").wait_for()
    assert tab.errors == []
