"""Bytes a miniapp screen costs a phone on a cold load, compressed and not.

    .venv/bin/python bench/miniapp_bytes.py

Each screen (hub, profile, the clerk's queue, one appeal's card) is opened in a fresh
headless Chromium context - an empty cache, as on a first launch - from a signed demo launch
link against the real app on a real port (a fresh SQLite file with the demo town). The page is
drawn when its own content is on screen and the network has been idle for 500 ms.

Counted: every response from the app's own origin - HTML, JS, CSS, the translation catalog and
the API answers the screen needed. Excluded: Telegram's telegram-web-app.js (it comes from
telegram.org, not from us, and Telegram's clients cache it): Chromium is started with
telegram.org unresolvable, so that request fails at once; nothing else leaves the origin. Per response the bench takes the body as it crossed the wire
(Chromium's encoded body size) and the decoded body (what an uncompressed server sends).

Baseline, measured in the same run: the same screens' decoded bytes (no compression), plus
what the full translation catalog would have added (every page loaded all ~50 KB of it before
it was split per miniapp). Chromium offers brotli and zstd only over HTTPS, so over this
plain-HTTP port each screen is loaded twice, with `Accept-Encoding` set: once `gzip, deflate`
(an old webview) and once `br, gzip`, as Telegram's webviews over HTTPS send it.

A second visit in the same context shows the warm cost: hashed files come from the cache
(immutable), the HTML is revalidated (304) and only the API is fetched again.

Target: at most 40 KB of a screen's own bytes, cold and compressed. Exit status 0 either way
(a measurement, not a test); 1 when a screen did not draw; 2 without Chromium.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if sys.path and sys.path[0] and Path(sys.path[0]).resolve() == _HERE:
    # `python bench/x.py` puts bench/ first on sys.path, where a sibling script named like a
    # stdlib module (bench/queue.py) would shadow it; the project root goes there instead.
    sys.path[0] = str(_HERE.parent)

import argparse
import asyncio
import json
import tempfile
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from backend import demo
from backend.db import unit_of_work
from backend.migrate import upgrade
from backend.runtime import Runtime
from backend.services.appeals.models import Appeal
from backend.settings import load_settings
from tests.live import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
TARGET_KB = 40
# telegram-web-app.js is Telegram's, not ours: its host does not resolve, so the request
# fails at once (as offline) and the page carries on without it, as it does in a browser.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP telegram.org ~NOTFOUND, MAP *.telegram.org ~NOTFOUND"]


@dataclass
class Screen:
    name: str
    person: str  # a demo person's key
    page: str  # path under /app/
    ready: str  # a selector that is there once the screen is drawn


@dataclass
class Load:
    wire: dict[str, int] = field(default_factory=dict)  # kind -> bytes as sent
    raw: dict[str, int] = field(default_factory=dict)  # kind -> bytes decoded
    requests: int = 0
    cached: int = 0
    encodings: set[str] = field(default_factory=set)

    @property
    def wire_total(self) -> int:
        return sum(self.wire.values())

    @property
    def raw_total(self) -> int:
        return sum(self.raw.values())


def kind_of(path: str) -> str:
    if path.startswith("/api/v1/i18n/"):
        return "catalog"
    if path.startswith("/api/"):
        return "api"
    return "static"


async def prepare(tmp: Path) -> tuple[Any, dict[str, int]]:
    db = tmp / "glocal.db"
    url = f"sqlite+aiosqlite:///{db}"
    await asyncio.to_thread(upgrade, url)
    settings = load_settings(DATABASE_URL=url, DATA_DIR=tmp, SCHEDULER=False, DEMO=False, LOG_JSON=False, LOG_LEVEL="WARNING")
    runtime = Runtime.build(settings)
    async with unit_of_work(runtime.sessionmaker) as session:
        await demo.seed(session)
    async with runtime.sessionmaker() as session:
        appeal = await session.scalar(select(Appeal).order_by(Appeal.id))
        ids = {"appeal": appeal.id, "town": appeal.municipality_id}
    await runtime.close()
    return settings, ids


async def measure(browser: Any, live: LiveServer, settings: Any, screen: Screen, *, brotli: bool) -> tuple[Load, Load, int]:
    """Cold and warm loads of one screen; also the full catalog's size for the baseline."""
    headers = {"Accept-Encoding": "br, gzip" if brotli else "gzip, deflate"}
    context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="ru-RU", extra_http_headers=headers)
    responses: list[Any] = []
    # No page.route(): Playwright turns the HTTP cache off while it intercepts, and the cache is
    # half of what is measured. Telegram's host is unresolvable instead (see CHROMIUM_ARGS).
    page = await context.new_page()
    page.on("response", lambda response: responses.append(response))
    # Which answers came from the browser's cache (nothing crossed the wire): Chromium says so
    # over the DevTools protocol, by URL.
    cached: set[str] = set()
    urls: dict[str, str] = {}
    cdp = await context.new_cdp_session(page)
    await cdp.send("Network.enable")
    cdp.on("Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))
    cdp.on("Network.requestServedFromCache", lambda e: cached.add(urls.get(e["requestId"], "")))
    cdp.on("Network.responseReceived", lambda e: (e["response"].get("fromDiskCache") or e["response"].get("fromPrefetchCache")) and cached.add(e["response"]["url"]))
    person = next(p for p in demo.PEOPLE if p.key == screen.person)
    url = demo.launch_url(settings, person, page=screen.page).replace(settings.local_url, live.url)

    async def visit() -> Load:
        responses.clear()
        cached.clear()
        await page.goto("about:blank")  # the launch URL again would only move the hash
        await page.goto(url)
        await page.locator(screen.ready).first.wait_for(timeout=30_000)
        await page.wait_for_load_state("networkidle")
        load = Load()
        for response in list(responses):
            if not response.url.startswith(live.url + "/"):
                continue
            path = response.url[len(live.url):]
            kind = kind_of(path)
            sizes = await response.request.sizes()
            body = b"" if response.status in (204, 304) else await response.body()
            load.requests += 1
            wire = 0 if response.url in cached else sizes["responseBodySize"]
            load.wire[kind] = load.wire.get(kind, 0) + wire
            load.cached += response.url in cached
            load.raw[kind] = load.raw.get(kind, 0) + len(body)
            encoding = (await response.all_headers()).get("content-encoding")
            if encoding:
                load.encodings.add(encoding)
        return load

    cold = await visit()
    warm = await visit()
    # What the page would have loaded before the catalog was split: all of it.
    full = await page.evaluate("async (base) => (await (await fetch(base + '/api/v1/i18n/ru', {headers: {'Accept-Encoding': 'identity'}})).arrayBuffer()).byteLength", live.url)
    await context.close()
    return cold, warm, full


def kb(n: float) -> str:
    return f"{n / 1024:.1f}"


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.parse_args()
    if not CHROMIUM.exists():
        print(f"no Chromium at {CHROMIUM} (apt-get install chromium)", file=sys.stderr)
        return 2
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory() as tmp_name:
        settings, ids = await prepare(Path(tmp_name))
        screens = [
            Screen("hub", "resident", "hub/", "a.card"),
            Screen("profile", "resident", "profile/", "#consent"),
            Screen("queue", "clerk", "appeals/", "#list li"),
            Screen("card", "clerk", f"appeals/?town={ids['town']}&appeal={ids['appeal']}", "#reg"),
        ]
        rows = []
        with LiveServer(settings) as live:
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
                for screen in screens:
                    gz_cold, gz_warm, full = await measure(browser, live, settings, screen, brotli=False)
                    br_cold, br_warm, _ = await measure(browser, live, settings, screen, brotli=True)
                    if not br_cold.requests:
                        print(f"{screen.name}: nothing was loaded", file=sys.stderr)
                        return 1
                    rows.append((screen, gz_cold, br_cold, br_warm, full))
                await browser.close()

    print("Cold load of each screen at 390x844, own origin only (telegram-web-app.js excluded), KB")
    print(f"{'screen':8} {'reqs':>4} {'raw':>7} {'old':>7} {'gzip':>7} {'br':>7} {'br/raw':>7} {'static':>7} {'catalog':>7} {'api':>6} {'warm':>6}")
    worst = 0
    ratios = []
    for screen, gz, br, warm, full in rows:
        # The old page: these bytes, uncompressed, with the whole catalog instead of its slice.
        old = br.raw_total - br.raw.get("catalog", 0) + full
        ratio = br.wire_total / br.raw_total
        ratios.append(br.wire_total / old)
        worst = max(worst, br.wire_total)
        print(
            f"{screen.name:8} {br.requests:>4} {kb(br.raw_total):>7} {kb(old):>7} {kb(gz.wire_total):>7} {kb(br.wire_total):>7} "
            f"{ratio:>7.2f} {kb(br.wire.get('static', 0)):>7} {kb(br.wire.get('catalog', 0)):>7} {kb(br.wire.get('api', 0)):>6} {kb(warm.wire_total):>6} ({warm.cached}/{warm.requests} cached)"
        )
    print("raw: decoded bytes (no compression); old: raw with the full catalog, as before the split;")
    print("gzip / br: bytes on the wire with gzip only / brotli offered; static, catalog, api: the br column split;")
    print("warm: a second visit in the same context (hashed files cached, HTML revalidated).")
    encodings = sorted({e for _, _, br, _, _ in rows for e in br.encodings})
    print(f"encodings seen with br offered: {', '.join(encodings)}; target {TARGET_KB} KB per screen cold and compressed")
    summary = {s.name: round(br.wire_total / 1024, 1) for s, _, br, _, _ in rows}
    ratio_vs_old = max(ratios)
    print(
        "RESULT "
        + " ".join(f"{name}_kb={value}" for name, value in summary.items())
        + f" max_kb={worst / 1024:.1f} worst_ratio_vs_uncompressed_old={ratio_vs_old:.3f}"
        + f" target_kb={TARGET_KB} met={'yes' if worst <= TARGET_KB * 1024 else 'no'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
