"""The organizers' check-in miniapp in a real headless Chromium against the real app on a
real port (the fixtures of tests/core/hub/test_miniapps_browser.py): Telegram's QR scanner
driven the way Telegram's script drives it (the client calls
`window.Telegram.WebView.receiveEvent("qr_text_received", {data})`), a second scan that says
when the ticket was first used, and check-ins queued while offline and sent when back online.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from backend.core.users import service as users
from backend.core.users.models import Role
from backend.runtime import Runtime
from backend.services.events import service as events
from backend.services.events.models import EventCheckIn
from tests.core.hub.test_miniapps_browser import (  # noqa: F401 - fixtures are found by name
    browser,
    launch_url,
    live,
    open_tab,
    sign,
    tg_user,
)
from tests.factories import make_town, make_user, seed
from tests.services.events.factories import make_event

pytestmark = pytest.mark.browser

# A stand-in for telegram-web-app.js with the parts this page uses. Its scanner works as the
# real script's does: showScanQrPopup posts `web_app_open_scan_qr_popup` to the client; the
# client answers with WebView.receiveEvent("qr_text_received", {data}); a callback returning
# true closes the popup (`web_app_close_scan_qr_popup`). Every posted event is recorded.
TELEGRAM_WEBVIEW = """
(() => {
  const calls = (window.__tg = []);
  const hash = new URLSearchParams(location.hash.slice(1));
  const version = hash.get("tgWebAppVersion") || "6.0";
  const handlers = {};
  const postEvent = (type, callback, data) => { calls.push(["postEvent", type, data === undefined ? null : data]); };
  const WebView = {
    initParams: Object.fromEntries(hash),
    onEvent(type, fn) { (handlers[type] = handlers[type] || []).push(fn); },
    offEvent(type, fn) { handlers[type] = (handlers[type] || []).filter((f) => f !== fn); },
    postEvent,
    receiveEvent(type, data) { for (const fn of handlers[type] || []) fn(type, data); },
  };
  let scanPopup = false;
  WebView.onEvent("qr_text_received", (type, data) => {
    if (!scanPopup) return;
    const text = data && data.data !== undefined ? data.data : null;
    if (scanPopup.callback && scanPopup.callback(text)) { scanPopup = false; postEvent("web_app_close_scan_qr_popup", false); }
  });
  WebView.onEvent("scan_qr_popup_closed", () => { scanPopup = false; });
  const at = (v) => { const a = version.split(".").map(Number), b = String(v).split(".").map(Number);
    for (let i = 0; i < Math.max(a.length, b.length); i++) { if ((a[i] || 0) !== (b[i] || 0)) return (a[i] || 0) > (b[i] || 0); } return true; };
  const log = (name) => (...args) => { calls.push([name, ...args]); };
  const button = (name) => ({ setText: log(name + ".setText"), show: log(name + ".show"), hide: log(name + ".hide"),
    showProgress() {}, hideProgress() {}, onClick() {}, offClick() {} });
  window.Telegram = { WebView, WebApp: {
    initData: %(init_data)s, initDataUnsafe: {}, version, platform: "android", themeParams: {},
    isVersionAtLeast: at, ready: log("ready"), expand: log("expand"), close: log("close"), onEvent() {}, openLink: log("openLink"),
    MainButton: button("MainButton"), SecondaryButton: button("SecondaryButton"),
    BackButton: { show: log("BackButton.show"), hide: log("BackButton.hide"), onClick(fn) { window.__tgBack = fn; } },
    HapticFeedback: { notificationOccurred: log("haptic"), impactOccurred: log("impact") },
    showScanQrPopup(params, callback) {
      if (!at("6.4")) throw new Error("WebAppMethodUnsupported");
      scanPopup = { callback };
      postEvent("web_app_open_scan_qr_popup", false, { text: params && params.text });
    },
    closeScanQrPopup() { scanPopup = false; postEvent("web_app_close_scan_qr_popup", false); },
  } };
})();
"""


async def _world(runtime: Runtime) -> dict[str, Any]:
    async def make(s):  # noqa: ANN001, ANN202
        town = await make_town(s, slug="kolomna", name="Коломна")
        organizer = await make_user(s, first_name="Вера", town=town, roles=(Role.RESIDENT, Role.ORGANIZER))
        await users.set_locale(s, user=organizer, locale="en")
        anna = await make_user(s, first_name="Анна", town=town)
        boris = await make_user(s, first_name="Борис", town=town)
        event = await make_event(s, town, capacity=10, reserved=0)
        reg_a = await events.register(s, event=event, user=anna, answers={"direction": "Tourism"}, accepted_terms=True)
        reg_b = await events.register(s, event=event, user=boris, answers={"direction": "Tourism"}, accepted_terms=True)
        return {"town": town, "organizer": organizer, "event": event, "reg_a": reg_a, "reg_b": reg_b}

    return await seed(runtime, make)


async def _check_ins(runtime: Runtime, registration_id: int) -> list[EventCheckIn]:
    async with runtime.sessionmaker() as s:
        return list(await s.scalars(select(EventCheckIn).where(EventCheckIn.registration_id == registration_id)))


def _page(live: Any, w: dict[str, Any]) -> str:
    return f"events/?town={w['town'].id}&event={w['event'].id}"


async def test_scanner_checks_in_and_a_second_scan_says_when(open_tab, live, runtime, settings):
    w = await _world(runtime)
    data = sign(settings, tg_user(w["organizer"], "en"))
    tab = await open_tab(telegram_js=TELEGRAM_WEBVIEW % {"init_data": json.dumps(data)}, webview=True)
    page = tab.page
    await page.goto(launch_url(live, _page(live, w), data))
    await page.locator("#scan").wait_for()
    assert await page.locator("h1").inner_text() == "Glocal City Game"
    assert await page.locator("#count").inner_text() == "0"
    await page.wait_for_function("document.querySelectorAll('#people li').length === 2")

    # The organizer presses Scan: Telegram's popup opens; the client reads the QR code.
    await page.locator("#scan").click()
    calls = await page.evaluate("window.__tg")
    assert ["postEvent", "web_app_open_scan_qr_popup", {"text": "Point the camera at the ticket's QR code"}] in calls
    await page.evaluate(f"window.Telegram.WebView.receiveEvent('qr_text_received', {{data: {json.dumps(w['reg_a'].code)}}})")
    await page.locator("#result[data-kind=checked_in]").wait_for()
    assert await page.locator("#result").inner_text() == "Checked in: Анна"
    assert ["postEvent", "web_app_close_scan_qr_popup", None] in await page.evaluate("window.__tg")
    await page.wait_for_function("document.querySelector('#count').textContent === '1'")
    assert ["haptic", "success"] in await page.evaluate("window.__tg")
    first = await _check_ins(runtime, w["reg_a"].id)
    assert len(first) == 1 and first[0].by_id == w["organizer"].id

    # The same ticket again: refused with the time of the first use; nothing new stored.
    await page.locator("#scan").click()
    await page.evaluate(f"window.Telegram.WebView.receiveEvent('qr_text_received', {{data: {json.dumps(w['reg_a'].code)}}})")
    await page.locator("#result[data-kind=already]").wait_for()
    local = first[0].at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Moscow"))
    assert await page.locator("#result").inner_text() == f"Already used at {local:%H:%M, %d.%m.%Y}: Анна"
    assert len(await _check_ins(runtime, w["reg_a"].id)) == 1
    assert await page.locator("#count").inner_text() == "1"
    # Someone else's QR code (not a ticket) is said to be so.
    await page.locator("#scan").click()
    await page.evaluate("window.Telegram.WebView.receiveEvent('qr_text_received', {data: 'https://example.com/'})")
    await page.locator("#result[data-kind=error]").wait_for()
    assert (await page.locator("#result").inner_text()).startswith("This is not a ticket code")
    assert await page.locator(f"#people li[data-code='{w['reg_a'].code}']").get_attribute("data-in") == "true"
    assert tab.errors == []


async def test_typed_codes_queue_offline_and_go_when_back_online(open_tab, live, runtime, settings):
    w = await _world(runtime)
    data = sign(settings, tg_user(w["organizer"], "en"))
    tab = await open_tab()  # a plain browser: no scanner, the code is typed
    page = tab.page
    await page.goto(launch_url(live, _page(live, w), data))
    await page.locator("#code").wait_for()
    assert await page.locator("#scan").count() == 0
    await page.wait_for_function("document.querySelectorAll('#people li').length === 2")

    await page.context.set_offline(True)
    code = w["reg_b"].code
    await page.locator("#code").fill(code.lower())
    await page.get_by_role("button", name="Check in").click()
    await page.locator("#result[data-kind=queued]").wait_for()
    assert await page.locator("#result").inner_text() == f"No connection: {code.lower()} will be checked in when the network is back."
    assert await page.locator("#queued").inner_text() == "Waiting for the network: 1. They are sent as soon as the connection is back."
    key = f"glocal:events:queue:{w['town'].id}:{w['event'].id}"
    stored = json.loads(await page.evaluate(f"localStorage.getItem({json.dumps(key)})"))
    assert [i["code"] for i in stored] == [code.lower()]
    assert await _check_ins(runtime, w["reg_b"].id) == []

    # A second one queues behind the first; both go, in order, once the network is back.
    await page.locator("#code").fill(w["reg_a"].code)
    await page.get_by_role("button", name="Check in").click()
    await page.wait_for_function("document.querySelector('#queued').textContent.startsWith('Waiting for the network: 2.')")
    await page.context.set_offline(False)
    await page.wait_for_function("document.querySelector('#queued').hidden", timeout=20000)
    await page.locator("#result[data-kind=checked_in]").wait_for()
    assert await page.locator("#result").inner_text() == "Checked in: Анна"
    await page.wait_for_function("document.querySelector('#count').textContent === '2'")
    assert await page.evaluate(f"localStorage.getItem({json.dumps(key)})") == "[]"
    used = await _check_ins(runtime, w["reg_b"].id)
    # It keeps the time it was scanned at, not the time it was sent.
    assert len(used) == 1 and used[0].at.isoformat(timespec="milliseconds").replace("+00:00", "Z") == stored[0]["at"]
    assert len(await _check_ins(runtime, w["reg_a"].id)) == 1
