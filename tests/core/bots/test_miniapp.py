"""The platform administrator connects a town's own bot from the Administration Mini App, in
headless Chromium against the real app on a real port; getMe goes to a Bot API test server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.core.bots.models import TownBot
from backend.core.users.models import Role
from backend.settings import Settings
from tests.botapi import FakeBotAPI
from tests.conftest import make_settings
from tests.core.hub.test_miniapps_browser import (  # noqa: F401 - fixtures are found by name
    browser,
    launch_url,
    live,
    open_tab,
    sign,
    tg_user,
)
from tests.factories import make_town, make_user, seed

pytestmark = pytest.mark.browser

TOKEN = "7000000011:AAEkolomna-bot-from-miniapp-0123456789"
REFUSED = "7000000012:AAErevoked-bot-token-in-miniapp-01234"


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotAPI]:
    api = FakeBotAPI()
    api.usernames = {7000000011: "kolomna_city_bot"}
    api.refused_tokens = {REFUSED}
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
def settings(db_url: str, tmp_path: Path, bot_api: FakeBotAPI) -> Settings:
    return make_settings(db_url, tmp_path, TELEGRAM_API_URL=bot_api.url)


async def test_a_platform_admin_connects_and_disconnects_a_towns_bot(open_tab, live, runtime, settings, bot_api):
    async def _make(s):  # noqa: ANN001, ANN202
        town = await make_town(s, slug="kolomna", name="Коломна")
        admin = await make_user(s, first_name="Галина", town=town, roles=(Role.RESIDENT, Role.ADMIN))
        admin.is_platform_admin = True
        return town, admin

    town, admin = await seed(runtime, _make)
    tab = await open_tab()
    page = tab.page
    await page.goto(launch_url(live, "admin/", sign(settings, tg_user(admin, "en"))))
    await page.locator("#view-home[data-ready=true]").wait_for()
    await page.locator("a.card[data-view=platform]").click()
    await page.locator("#view-platform[data-ready=true]").wait_for()
    await page.locator(".row[data-slug=kolomna]").click()
    await page.locator("#town-actions [data-action=town-bot]").click()
    opened = page.locator("#town-bot-sheet")
    await opened.wait_for()
    assert await page.locator("#town-bot-none").is_visible()

    await page.fill("#town-bot-token", REFUSED)
    await opened.get_by_role("button", name="Connect").click()
    await opened.locator(".form-error").wait_for()
    assert (await opened.locator(".form-error").inner_text()).startswith("Check the bot's token: Telegram does not accept it")
    assert await page.locator("#town-bot-token").get_attribute("aria-invalid") == "true"

    await page.fill("#town-bot-token", TOKEN)
    await opened.get_by_role("button", name="Connect").click()
    await opened.wait_for(state="detached")
    assert await page.locator("#notice").inner_text() == "@kolomna_city_bot now serves the town."
    async with runtime.sessionmaker() as s:
        row = (await s.scalars(select(TownBot))).one()
        assert row.municipality_id == town.id and row.username == "kolomna_city_bot"

    # Opened again: the bot by name and a masked token, never the token.
    await page.locator(".row[data-slug=kolomna]").click()
    await page.locator("#town-actions [data-action=town-bot]").click()
    await opened.wait_for()
    assert await page.locator("#town-bot-username").inner_text() == "@kolomna_city_bot"
    assert "7000000011:…6789" in await page.locator("#town-bot-hint").inner_text()
    assert TOKEN.split(":")[1] not in await page.content()
    page.once("dialog", lambda d: d.accept())
    await page.locator("#town-bot-disconnect").click()
    await opened.wait_for(state="detached")
    async with runtime.sessionmaker() as s:
        assert (await s.scalars(select(TownBot))).first() is None
    assert tab.errors == []
