"""The miniapps in a real headless Chromium against the real app on a real port.

Pages are opened from signed launch links, as Telegram opens them; requests to telegram.org
are aborted (or answered with a stand-in of Telegram's script), so the run is offline and
deterministic. Set GLOCAL_SCREENSHOTS=<dir> to keep screenshots of the hub and profile.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, quote, urlencode, urlsplit

import httpx
import pytest
from sqlalchemy import select

from backend.core.auth import initdata
from backend.core.municipalities.models import Municipality
from backend.core.privacy.models import Consent
from backend.core.users import service as users
from backend.core.users.models import Membership, User
from backend.i18n import catalog_version
from backend.runtime import Runtime
from backend.settings import Settings
from tests.factories import make_town, make_user, seed
from tests.live import LiveServer

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
THEME = {
    "bg_color": "#123456",
    "text_color": "#f0f0f0",
    "hint_color": "#a0a8b0",
    "link_color": "#7cc4ff",
    "button_color": "#3d8bd9",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#1e4468",
}
SHOTS = os.environ.get("GLOCAL_SCREENSHOTS")


def _unavailable(reason: str) -> None:
    if os.environ.get("GLOCAL_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (GLOCAL_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    if not CHROMIUM.exists():
        _unavailable(f"no Chromium at {CHROMIUM}")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture
def live(runtime: Runtime, settings: Settings) -> Iterator[LiveServer]:
    # Depends on `runtime` so the server stops before that fixture cleans the database.
    with LiveServer(settings) as server:
        yield server


class Tab:
    """A page in a fresh browser context, with what it asked of the network and its JS errors."""

    def __init__(self, page: Any, live: LiveServer) -> None:
        self.page = page
        self.live = live
        self.requests: list[Any] = []
        self.errors: list[str] = []
        page.on("request", lambda request: self.requests.append(request))
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def api_calls(self, method: str, path: str) -> list[Any]:
        url = f"{self.live.url}/api/v1{path}"
        return [r for r in self.requests if r.method == method and r.url == url]


async def _offline(route: Any, live: LiveServer, telegram_js: str | None) -> None:
    url = route.request.url
    if url.startswith(live.url + "/"):
        await route.continue_()
    elif telegram_js is not None and url == "https://telegram.org/js/telegram-web-app.js":
        await route.fulfill(body=telegram_js, content_type="application/javascript")
    else:
        await route.abort()  # telegram.org and anything else outside: as if offline


@pytest.fixture
async def open_tab(browser: Any, live: LiveServer) -> AsyncIterator[Any]:
    contexts = []

    async def _open(*, telegram_js: str | None = None, webview: bool = False) -> Tab:
        # The browser's own language is English: Russian pages prove the app took Telegram's.
        context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US", accept_downloads=True)
        contexts.append(context)
        await context.route("**/*", lambda route: _offline(route, live, telegram_js))
        if webview:
            # What a Telegram mobile client injects; its presence means "drawn by Telegram".
            await context.add_init_script("window.TelegramWebviewProxy = { postEvent() {} };")
        return Tab(await context.new_page(), live)

    yield _open
    for context in contexts:
        await context.close()


def tg_user(user: User, language_code: str = "en") -> dict[str, Any]:
    return {"id": user.telegram_id, "first_name": user.first_name, "language_code": language_code, "allows_write_to_pm": True}


def sign(settings: Settings, tg: dict[str, Any], *, auth_date: int | None = None) -> str:
    fields = {"query_id": "AAHbrowser", "user": tg, "auth_date": auth_date if auth_date is not None else int(time.time())}
    return initdata.sign(fields, token=settings.signing_token)


def launch_url(live: LiveServer, page: str, init_data: str | None, theme: dict[str, str] = THEME) -> str:
    """A Mini App URL as Telegram builds it (see `launch_url` in backend/demo.py)."""
    params = {"tgWebAppVersion": "8.0", "tgWebAppPlatform": "android", "tgWebAppThemeParams": json.dumps(theme, separators=(",", ":"))}
    if init_data is not None:
        params = {"tgWebAppData": init_data, **params}
    fragment = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
    return f"{live.url}/app/{page}#{fragment}"


async def _db_user(runtime: Runtime, user_id: int) -> User:
    async with runtime.sessionmaker() as s:
        return await s.get(User, user_id)


async def _person(runtime: Runtime, *, town: Municipality | None = None, first_name: str = "Мария", locale: str | None = None) -> User:
    async def _make(s):  # noqa: ANN001, ANN202
        user = await make_user(s, first_name=first_name, town=town)
        if locale is not None:
            await users.set_locale(s, user=user, locale=locale)
        return user

    return await seed(runtime, _make)


async def test_hub_shows_town_and_services_in_telegram_language_and_theme(open_tab, live, runtime, settings):
    town = await seed(runtime, lambda s: make_town(s, slug="kolomna", name="Коломна"))
    person = await _person(runtime, town=town)
    data = sign(settings, tg_user(person, "ru"))
    tab = await open_tab()
    page = tab.page

    # /app/ is the front door: it forwards to the hub with the launch data.
    await page.goto(launch_url(live, "", data))
    await page.locator("#town").wait_for()

    hub_url = launch_url(live, "hub/", data)
    assert page.url == hub_url
    me_calls = tab.api_calls("GET", "/me")
    assert me_calls, "the hub did not ask for /api/v1/me"
    assert (await me_calls[0].all_headers())["authorization"] == f"tma {data}"
    # The page asked for Telegram's script (aborted here: offline) and works without it.
    assert "https://telegram.org/js/telegram-web-app.js" in [r.url for r in tab.requests]
    assert "Мария" in await page.locator("h1").inner_text()
    # Russian from the backend's catalog, although the browser is English: Telegram's language won.
    assert await page.locator("#town").inner_text() == "Ваш город: Коломна"
    assert await page.evaluate("document.documentElement.lang") == "ru"
    card = page.locator("a.card[data-slug=profile]")
    assert await card.locator("strong").inner_text() == "Профиль"
    assert await card.locator(".hint").inner_text() == "Язык, город, согласие, ваши данные"
    assert await card.get_attribute("href") == launch_url(live, "profile/", data)

    # Telegram's pattern: the page in secondary_bg_color, cards on it in section_bg_color (this
    # theme has none, as clients before Bot API 7.0: bg_color stands in).
    assert await page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(30, 68, 104)"
    assert await card.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(18, 52, 86)"
    assert await page.evaluate("document.documentElement.style.getPropertyValue('--tg-theme-bg-color')") == "#123456"
    assert await page.evaluate("getComputedStyle(document.body).color") == "rgb(240, 240, 240)"
    # Its files by content-hashed names, and only the hub's strings, pinned by the page's version.
    served = [urlsplit(r.url).path for r in tab.requests if r.url.startswith(live.url + "/app/")]
    assert any(re.fullmatch(r"/app/shared/glocal\.[0-9a-f]{10}\.js", p) for p in served), served
    catalog = [r for r in tab.requests if "/api/v1/i18n/" in r.url]
    assert len(catalog) == 1 and parse_qs(urlsplit(catalog[0].url).query) == {"app": ["hub"], "v": [catalog_version()]}
    if SHOTS:
        await page.screenshot(path=str(Path(SHOTS) / "hub.png"))

    # The card opens the profile, still authenticated by the same launch data.
    await card.click()
    await page.locator("#consent").wait_for()
    assert page.url == launch_url(live, "profile/", data)
    assert [await r.all_headers() for r in tab.api_calls("GET", "/privacy")][0]["authorization"] == f"tma {data}"
    assert tab.errors == []


async def test_hub_without_town_offers_the_towns_and_switches(open_tab, live, runtime, settings):
    kolomna = await seed(runtime, lambda s: make_town(s, slug="kolomna", name="Коломна"))
    sosedsk = await seed(runtime, lambda s: make_town(s, slug="sosedsk", name="Соседск"))
    person = await _person(runtime, first_name="Ivan")
    tab = await open_tab()
    page = tab.page

    await page.goto(launch_url(live, "hub/", sign(settings, tg_user(person, "en"))))
    await page.get_by_role("heading", name="Choose your town:").wait_for()
    assert await page.locator("h1").inner_text() == "Hello, Ivan!"
    await page.get_by_role("button", name="Соседск").click()

    await page.locator("#town").wait_for()
    assert await page.locator("#town").inner_text() == "Your town: Соседск"
    assert await page.locator("a.card[data-slug=profile] strong").inner_text() == "Profile"
    patch = tab.api_calls("PATCH", "/me")
    assert len(patch) == 1 and patch[0].post_data_json == {"municipality_id": sosedsk.id}
    assert (await _db_user(runtime, person.id)).current_municipality_id == sosedsk.id

    await page.get_by_role("button", name="Change town").click()
    await page.get_by_role("button", name="Коломна").click()
    await page.get_by_text("Your town: Коломна").wait_for()
    await page.locator("a.card[data-slug=profile]").wait_for()
    async with runtime.sessionmaker() as s:
        joined = set(await s.scalars(select(Membership.municipality_id).where(Membership.user_id == person.id)))
    assert joined == {kolomna.id, sosedsk.id}
    assert (await _db_user(runtime, person.id)).current_municipality_id == kolomna.id
    assert tab.errors == []


def _tampered(data: str) -> str:
    pairs = dict(parse_qsl(data))
    user = json.loads(pairs["user"])
    user["id"] += 1  # someone else's account, with the original signature
    pairs["user"] = json.dumps(user, separators=(",", ":"))
    return urlencode(pairs)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        pytest.param("expired", "Сеанс приложения истёк. Откройте его заново из бота.", id="expired"),
        pytest.param("tampered", "Данные запуска приложения недействительны. Откройте его заново из бота.", id="tampered"),
        # No launch data, so no Telegram language either: the browser's English applies.
        pytest.param("missing", "Open this app from the bot: launch data is missing.", id="missing"),
    ],
)
async def test_bad_launch_data_shows_the_servers_message(open_tab, live, runtime, settings, case, message):
    town = await seed(runtime, lambda s: make_town(s, slug="kolomna", name="Коломна"))
    person = await _person(runtime, town=town)
    tg = tg_user(person, "ru")
    data = {
        "expired": sign(settings, tg, auth_date=int(time.time()) - settings.AUTH_MAX_AGE - 60),
        "tampered": _tampered(sign(settings, tg)),
        "missing": None,
    }[case]
    tab = await open_tab()

    await tab.page.goto(launch_url(live, "hub/", data))
    alert = tab.page.get_by_role("alert")
    await alert.wait_for()

    assert await alert.locator("p").inner_text() == message
    assert await alert.locator("h1").inner_text() == ("Open the app again" if case == "missing" else "Откройте приложение заново")
    # Only reopening from the bot helps, and a browser tab has no Close: no buttons at all.
    assert await alert.get_by_role("button").count() == 0
    me = tab.api_calls("GET", "/me")
    assert len(me) == 1
    response = await me[0].response()
    assert response.status == 401
    assert tab.errors == []


async def test_profile_language_and_consent(open_tab, live, runtime, settings):
    town = await seed(runtime, lambda s: make_town(s, slug="kolomna", name="Коломна"))
    person = await _person(runtime, town=town, locale="ru")
    data = sign(settings, tg_user(person, "ru"))
    tab = await open_tab()
    page = tab.page
    consent = page.locator("#consent")

    await page.goto(launch_url(live, "profile/", data))
    await consent.wait_for()
    assert await page.locator("h1").inner_text() == "Профиль"
    assert await consent.get_attribute("data-accepted") == "false"
    assert await consent.locator(".status").inner_text() == "Вы ещё не дали согласие."
    assert (await consent.locator(".policy").inner_text()).startswith("Согласие на обработку персональных данных")
    assert await page.locator("#town").input_value() == str(town.id)
    assert await page.locator("a.back").get_attribute("href") == launch_url(live, "hub/", data)

    await page.get_by_role("button", name="English").click()
    await page.get_by_role("heading", name="Profile", exact=True).wait_for()
    assert await page.evaluate("document.documentElement.lang") == "en"
    assert await page.get_by_role("button", name="English").get_attribute("aria-pressed") == "true"
    assert await consent.locator(".status").inner_text() == "You have not given consent yet."
    assert (await consent.locator(".policy").inner_text()).startswith("Consent to the processing of personal data")
    assert (await _db_user(runtime, person.id)).locale == "en"

    await page.get_by_role("button", name="✅ I agree").click()
    await page.locator("#consent[data-accepted=true]").wait_for()
    assert await consent.locator(".status").inner_text() == "You have given consent."
    assert await page.locator("#notice").inner_text() == "Thank you, consent recorded."
    assert await page.get_by_role("button", name="✅ I agree").count() == 0
    # The notice does not stay: it goes by itself, or at once when tapped.
    await page.locator("#notice").wait_for(state="hidden", timeout=10_000)
    async with runtime.sessionmaker() as s:
        rows = list(await s.scalars(select(Consent).where(Consent.user_id == person.id)))
    assert [(c.channel, c.locale, c.withdrawn_at) for c in rows] == [("miniapp", "en", None)]
    if SHOTS:
        await page.screenshot(path=str(Path(SHOTS) / "profile.png"), full_page=True)

    await page.get_by_role("button", name="Withdraw consent").click()
    await page.locator("#consent[data-accepted=false]").wait_for()
    assert await page.locator("#notice").inner_text() == "Consent withdrawn."
    await page.locator("#notice").click()
    assert await page.locator("#notice").is_hidden()
    async with runtime.sessionmaker() as s:
        assert await s.scalar(select(Consent.withdrawn_at).where(Consent.user_id == person.id)) is not None
    assert tab.errors == []


async def test_profile_export_and_erasure(open_tab, live, runtime, settings):
    town = await seed(runtime, lambda s: make_town(s, slug="kolomna", name="Коломна"))
    person = await _person(runtime, town=town, locale="en")
    tab = await open_tab()
    page = tab.page
    data = sign(settings, tg_user(person, "en"))
    await page.goto(launch_url(live, "profile/", data))
    await page.locator("#data").wait_for()

    async with page.expect_download() as info:
        await page.get_by_role("button", name="Download my data").click()
    download = await info.value
    assert download.suggested_filename == "glocal-my-data.json"
    exported = json.loads(Path(await download.path()).read_text())
    assert exported["user"]["telegram_id"] == person.telegram_id
    assert [m["municipality"] for m in exported["memberships"]] == ["kolomna"]

    dialogs: list[str] = []

    async def _answer(dialog: Any, accept: bool) -> None:
        dialogs.append(dialog.message)
        await (dialog.accept() if accept else dialog.dismiss())

    page.once("dialog", lambda d: _answer(d, False))
    await page.get_by_role("button", name="Delete my personal data").click()
    await page.get_by_text("Nothing was deleted.").wait_for()
    assert (await _db_user(runtime, person.id)).telegram_id == person.telegram_id

    page.once("dialog", lambda d: _answer(d, True))
    await page.get_by_role("button", name="Delete my personal data").click()
    end = page.locator("#end")
    await end.wait_for()
    assert dialogs == [
        "Delete your personal data? Appeals and documents the law requires us to keep will stay, without your name."
    ] * 2
    gone = await _db_user(runtime, person.id)
    assert gone.telegram_id is None and gone.anonymized_at is not None
    assert len(tab.api_calls("DELETE", "/me")) == 1
    assert await end.locator("h1").inner_text() == "Your data has been deleted"
    assert await end.locator(".screen-text").inner_text() == "Your personal data has been deleted. Send /start if you want to come back."
    # No way back into the app from here: no back link, no buttons (a browser tab has no Close).
    assert await page.locator("a.back").count() == 0 and await page.get_by_role("button").count() == 0

    # Going to the hub in the same launch (what Telegram's back button used to do) shows the
    # same end, and never calls /me, which would sign the person up afresh.
    me_before = len(tab.api_calls("GET", "/me"))
    await page.goto(launch_url(live, "hub/", data))
    await page.locator("#end").wait_for()
    assert len(tab.api_calls("GET", "/me")) == me_before
    async with runtime.sessionmaker() as s:
        assert await s.scalar(select(User).where(User.telegram_id == person.telegram_id)) is None
    assert tab.errors == []


# A stand-in for telegram-web-app.js that records what the page asks of Telegram. Like the
# real script it is loaded from telegram.org (the route answers it) and reads the hash.
# `confirm` is how the person answers Telegram's yes/no dialogs.
TELEGRAM_STUB = """
(() => {
  const calls = (window.__tg = []);
  const log = (name) => (...args) => { calls.push([name, ...args]); };
  const hash = new URLSearchParams(location.hash.slice(1));
  const button = (name, slot) => ({
    setText: log(name + ".setText"), show: log(name + ".show"), hide: log(name + ".hide"),
    showProgress() {}, hideProgress() {},
    onClick(fn) { window[slot] = fn; }, offClick: log(name + ".offClick"),
  });
  window.Telegram = { WebApp: {
    initData: %(init_data)s,
    themeParams: %(theme)s,
    version: hash.get("tgWebAppVersion"),
    isVersionAtLeast: (v) => parseFloat(hash.get("tgWebAppVersion")) >= parseFloat(v),
    ready: log("ready"),
    expand: log("expand"),
    close: log("close"),
    onEvent: log("onEvent"),
    openLink: log("openLink"),
    setHeaderColor: log("setHeaderColor"), setBackgroundColor: log("setBackgroundColor"), setBottomBarColor: log("setBottomBarColor"),
    disableClosingConfirmation: log("disableClosingConfirmation"),
    downloadFile(params, callback) { calls.push(["downloadFile", params]); callback(true); },
    MainButton: button("MainButton", "__tgMain"),
    SecondaryButton: button("SecondaryButton", "__tgSecond"),
    BackButton: { show: log("BackButton.show"), hide: log("BackButton.hide"), onClick(fn) { window.__tgBack = fn; } },
    HapticFeedback: { notificationOccurred: log("haptic"), impactOccurred: log("impact") },
    showConfirm(message, callback) { calls.push(["showConfirm", message]); callback(%(confirm)s); },
  } };
})();
"""


def telegram_stub(init_data: str, theme: dict[str, str] | None = None, *, confirm: bool = False) -> str:
    return TELEGRAM_STUB % {"init_data": json.dumps(init_data), "theme": json.dumps(theme or {}), "confirm": json.dumps(confirm)}


async def _calls(page: Any) -> list[list[Any]]:
    return await page.evaluate("window.__tg")


async def test_inside_telegram_uses_its_controls(open_tab, live, runtime, settings):
    town = await seed(runtime, lambda s: make_town(s, slug="kolomna", name="Коломна"))
    person = await _person(runtime, town=town, locale="en")
    data = sign(settings, tg_user(person, "en"))
    # An older client's dark theme: no secondary or section colour, so the page is derived
    # darker than bg_color and the sections keep bg_color.
    dark = {"bg_color": "#202020", "text_color": "#ffffff", "button_color": "#8774e1"}
    # Telegram's script may hold launch data the hash no longer has (it keeps it across
    # in-app navigation): the page must prefer the script's.
    tab = await open_tab(telegram_js=telegram_stub(data, dark), webview=True)
    page = tab.page

    await page.goto(launch_url(live, "profile/", None))
    await page.locator("#consent").wait_for()

    assert (await tab.api_calls("GET", "/me")[0].all_headers())["authorization"] == f"tma {data}"
    calls = await _calls(page)
    names = [c[0] for c in calls]
    assert {"ready", "expand", "BackButton.show"} <= set(names)
    assert ["onEvent", "themeChanged"] in [c[:2] for c in calls]
    assert ["MainButton.setText", "✅ I agree"] in calls and "MainButton.show" in names
    assert await page.locator("a.back").count() == 0
    assert await page.locator(".main-button").count() == 0
    assert await page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(18, 18, 18)"
    assert await page.locator("#consent .section").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(32, 32, 32)"
    # Telegram's header, background and bottom bar take the page's colour, so they join up.
    for method in ("setHeaderColor", "setBackgroundColor", "setBottomBarColor"):
        assert [method, "#121212"] in calls

    # Telegram's bottom button accepts the policy.
    await page.evaluate("window.__tgMain()")
    await page.locator("#consent[data-accepted=true]").wait_for()
    assert ["haptic", "success"] in await _calls(page)
    async with runtime.sessionmaker() as s:
        assert await s.scalar(select(Consent.channel).where(Consent.user_id == person.id)) == "miniapp"

    # Telegram's own dialog asks before erasure; the stand-in answers "no".
    await page.get_by_role("button", name="Delete my personal data").click()
    await page.get_by_text("Nothing was deleted.").wait_for()
    assert ["showConfirm", "Delete your personal data? Appeals and documents the law requires us to keep will stay, without your name."] in await _calls(page)
    assert (await _db_user(runtime, person.id)).telegram_id == person.telegram_id

    # Telegram's back button returns to the hub.
    async with page.expect_navigation():
        await page.evaluate("window.__tgBack()")
    await page.locator("#town").wait_for()
    assert page.url.startswith(f"{live.url}/app/hub/")
    assert tab.errors == []


async def test_erasure_in_telegram_ends_with_close_only(open_tab, live, runtime, settings):
    town = await seed(runtime, lambda s: make_town(s, slug="kolomna", name="Коломна"))
    person = await _person(runtime, town=town, locale="ru")
    data = sign(settings, tg_user(person, "ru"))
    tab = await open_tab(telegram_js=telegram_stub(data, confirm=True), webview=True)
    page = tab.page
    await page.goto(launch_url(live, "profile/", data))
    await page.locator("#data").wait_for()
    assert ["BackButton.show"] in await _calls(page)

    await page.get_by_role("button", name="Удалить мои персональные данные").click()
    end = page.locator("#end")
    await end.wait_for()
    assert await end.locator("h1").inner_text() == "Ваши данные удалены"
    calls = await _calls(page)
    # Telegram's back and main buttons are gone; the only way on is Close.
    after = calls[[c[0] for c in calls].index("showConfirm"):]
    assert [c[0] for c in after if c[0].startswith("BackButton.")][-1] == "BackButton.hide"
    # ("✅ I agree" was on Telegram's main button: no consent had been given.)
    assert ["MainButton.setText", "✅ Согласен"] in calls
    assert [c[0] for c in after if c[0].startswith("MainButton.")][-1] == "MainButton.hide"
    assert ["disableClosingConfirmation"] in after
    assert await end.get_by_role("button").all_inner_texts() == ["Закрыть"]
    await end.get_by_role("button", name="Закрыть").click()
    assert ["close"] in await _calls(page)

    # Even if Telegram delivered a back press now, nothing leads back into the app.
    await page.evaluate("window.__tgBack()")
    assert page.url.startswith(f"{live.url}/app/profile/")
    assert (await _db_user(runtime, person.id)).anonymized_at is not None
    assert tab.errors == []


async def test_error_screen_has_a_title_and_close_in_telegram(open_tab, live, runtime, settings):
    town = await seed(runtime, lambda s: make_town(s, slug="kolomna", name="Коломна"))
    person = await _person(runtime, town=town)
    expired = sign(settings, tg_user(person, "en"), auth_date=int(time.time()) - settings.AUTH_MAX_AGE - 60)
    tab = await open_tab(telegram_js=telegram_stub(expired), webview=True)
    page = tab.page
    await page.goto(launch_url(live, "hub/", expired))
    alert = page.get_by_role("alert")
    await alert.wait_for()

    assert await alert.locator("h1").inner_text() == "Open the app again"
    assert await alert.locator("p").inner_text() == "The app's session has expired. Open it again from the bot."
    # Trying again cannot help an expired launch; closing and reopening can.
    assert await alert.get_by_role("button").all_inner_texts() == ["Close"]
    await alert.get_by_role("button", name="Close").click()
    assert ["close"] in await _calls(page)
    if SHOTS:
        await page.screenshot(path=str(Path(SHOTS) / "error-screen.png"))
    assert tab.errors == []


async def test_download_in_telegram_goes_through_download_file(open_tab, live, runtime, settings):
    """Telegram's mobile webviews ignore blob links: from Bot API 8.0 the page asks the server
    for a signed link and hands it to WebApp.downloadFile, which fetches it without our
    Authorization header."""
    town = await seed(runtime, lambda s: make_town(s, slug="kolomna", name="Коломна"))
    person = await _person(runtime, town=town, locale="en")
    data = sign(settings, tg_user(person, "en"))
    tab = await open_tab(telegram_js=telegram_stub(data), webview=True)
    page = tab.page
    await page.goto(launch_url(live, "profile/", data))
    await page.locator("#data").wait_for()
    await page.get_by_role("button", name="Download my data").click()
    await page.wait_for_function("window.__tg.some((c) => c[0] === 'downloadFile')")

    [params] = [c[1] for c in await _calls(page) if c[0] == "downloadFile"]
    link_calls = tab.api_calls("POST", "/me/export/download-link")
    assert len(link_calls) == 1 and (await link_calls[0].all_headers())["authorization"] == f"tma {data}"
    assert not tab.api_calls("GET", "/me/export")  # no blob was fetched
    # The link is absolute, on the configured public origin (MINIAPP_URL's), and names the file.
    assert params["file_name"] == "glocal-my-data.json"
    assert params["url"].startswith("https://glocal.test/api/v1/dl/")
    # What Telegram then does: a plain GET, no launch data, which downloads the person's data.
    async with httpx.AsyncClient(base_url=live.url) as http:
        r = await http.get(params["url"].removeprefix("https://glocal.test"))
    assert r.status_code == 200 and r.headers["content-disposition"] == 'attachment; filename="glocal-my-data.json"'
    assert r.json()["user"]["telegram_id"] == person.telegram_id
    assert tab.errors == []


async def test_download_in_an_older_telegram_opens_the_signed_link(open_tab, live, runtime, settings):
    """Before Bot API 8.0 there is no downloadFile: the signed link opens in the system browser."""
    town = await seed(runtime, lambda s: make_town(s, slug="kolomna", name="Коломна"))
    person = await _person(runtime, town=town, locale="en")
    data = sign(settings, tg_user(person, "en"))
    tab = await open_tab(telegram_js=telegram_stub(data), webview=True)
    page = tab.page
    await page.goto(launch_url(live, "profile/", data).replace("tgWebAppVersion=8.0", "tgWebAppVersion=7.10"))
    await page.locator("#data").wait_for()
    await page.get_by_role("button", name="Download my data").click()
    await page.wait_for_function("window.__tg.some((c) => c[0] === 'openLink')")

    [url] = [c[1] for c in await _calls(page) if c[0] == "openLink"]
    assert url.startswith("https://glocal.test/api/v1/dl/")
    assert not [c for c in await _calls(page) if c[0] == "downloadFile"] and not tab.api_calls("GET", "/me/export")
    assert tab.errors == []


async def test_download_in_telegram_falls_back_where_a_server_has_no_links(open_tab, live, runtime, settings):
    """A server from before signed links answers the link route with "no such route": the page
    then downloads through a blob, and asks no more."""
    town = await seed(runtime, lambda s: make_town(s, slug="kolomna", name="Коломна"))
    person = await _person(runtime, town=town, locale="en")
    data = sign(settings, tg_user(person, "en"))
    tab = await open_tab(telegram_js=telegram_stub(data), webview=True)
    page = tab.page
    # The older server's answer, as this app gives it for any unknown route.
    await page.route(
        f"{live.url}/api/v1/me/export/download-link",
        lambda route: route.fulfill(status=404, json={"error": "no_route", "message": "Not found."}),
    )
    await page.goto(launch_url(live, "profile/", data))
    await page.locator("#data").wait_for()

    async with page.expect_download() as info:
        await page.get_by_role("button", name="Download my data").click()
    assert (await info.value).suggested_filename == "glocal-my-data.json"
    assert not [c for c in await _calls(page) if c[0] == "downloadFile"]
    # Asked once per page: the second download goes straight to the blob.
    async with page.expect_download():
        await page.get_by_role("button", name="Download my data").click()
    assert len(tab.api_calls("POST", "/me/export/download-link")) == 1
    assert tab.errors == []
