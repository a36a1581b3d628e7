"""How the miniapps reach a phone: content-hashed files cached for good, HTML revalidated,
everything compressed, and each miniapp's own slice of the translation catalog."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import brotli
import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from backend.i18n import catalog_version
from backend.static import StaticSite

BR = {"Accept-Encoding": "br, gzip"}


def _hashed(html: str, name: str) -> str:
    """The hashed URL the page gives for `name` (e.g. "../shared/glocal.css")."""
    stem, ext = name.rsplit(".", 1)
    match = re.search(re.escape(stem) + r"\.[0-9a-f]{10}\." + ext, html)
    assert match, f"{name} is not referenced by a hashed name"
    return match[0]


async def test_pages_name_hashed_files_cached_for_good(client):
    page = await client.get("/app/appeals/", headers=BR)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    # HTML is what names the versions, so it is revalidated on every load.
    assert page.headers["cache-control"] == "no-cache"
    assert page.headers["content-encoding"] == "br" and "accept-encoding" in page.headers["vary"].lower()
    html = page.text
    assert f'<meta name="glocal-i18n" content="{catalog_version()}">' in html
    script, css, shared = _hashed(html, "appeals.js"), _hashed(html, "../shared/glocal.css"), _hashed(html, "../shared/glocal.js")
    assert 'rel="modulepreload"' in html and "https://telegram.org/js/telegram-web-app.js" in html

    js = await client.get("/app/appeals/" + script, headers=BR)
    assert js.status_code == 200 and js.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert js.headers["content-type"].startswith("text/javascript")
    # The page's module imports the shared one by the same hashed name the page preloads.
    assert f'from "{shared}"' in js.text
    assert (await client.get("/app/appeals/" + css)).headers["cache-control"].endswith("immutable")

    # Revalidation costs a 304 and no body.
    again = await client.get("/app/appeals/", headers={"If-None-Match": page.headers["etag"], **BR})
    assert again.status_code == 304 and again.content == b""

    # The plain name still works (a bookmarked or cached old page), but is not immutable.
    plain = await client.get("/app/shared/glocal.js")
    assert plain.status_code == 200 and plain.headers["cache-control"] == "no-cache"
    # A hash from an older build: today's file, without the promise.
    stale = await client.get("/app/shared/glocal.0123456789.js")
    assert stale.status_code == 200 and stale.headers["cache-control"] == "no-cache"
    assert stale.content == plain.content


async def test_compression_follows_accept_encoding(client):
    identity = await client.get("/app/shared/glocal.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in identity.headers
    raw = identity.content
    br = await client.get("/app/shared/glocal.js", headers={"Accept-Encoding": "br"})
    assert br.headers["content-encoding"] == "br"
    # httpx decodes what it can; the length on the wire is the compressed one.
    assert int(br.headers["content-length"]) < len(raw) / 3
    gz = await client.get("/app/shared/glocal.js", headers={"Accept-Encoding": "gzip"})
    assert gz.headers["content-encoding"] == "gzip" and gz.content == raw
    refused = await client.get("/app/shared/glocal.js", headers={"Accept-Encoding": "br;q=0, gzip"})
    assert refused.headers["content-encoding"] == "gzip"

    # API answers are compressed on the way out too (the full catalog is ~50 KB of JSON).
    for coding in ("br", "gzip", "zstd"):
        api = await client.get("/api/v1/i18n/ru", headers={"Accept-Encoding": coding})
        assert api.headers["content-encoding"] == coding
        assert api.json()["Profile"] == "Профиль"
    plain = await client.get("/api/v1/i18n/ru", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers


async def test_hosting_redirects_and_refuses(client):
    r = await client.get("/app", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/app/"
    r = await client.get("/app/hub", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/app/hub/"
    assert (await client.get("/app/")).text.count("location.replace") == 1
    assert (await client.get("/app/nothing.js")).status_code == 404
    assert (await client.get("/app/%2e%2e/backend/settings.py")).status_code == 404
    head = await client.head("/app/hub/", headers={"Accept-Encoding": "identity"})
    get = await client.get("/app/hub/", headers={"Accept-Encoding": "identity"})
    assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == str(len(get.content))


async def test_each_miniapp_gets_only_its_strings(client):
    full = (await client.get("/api/v1/i18n/ru")).json()
    hub = await client.get("/api/v1/i18n/ru", params={"app": "hub"})
    appeals = (await client.get("/api/v1/i18n/ru", params={"app": "appeals"})).json()
    strings = hub.json()
    assert strings["Hello!"] == "Здравствуйте!"  # the hub's own
    assert strings["Try again"] == "Попробовать ещё раз"  # the shared module's
    assert "Take the appeal" not in strings and "Take the appeal" in appeals
    assert len(hub.content) * 10 < len(str(full).encode())
    # Plural forms come whole, for the page's ngettext().
    assert appeals["{n} day left"] == ["Остался {n} день", "Осталось {n} дня", "Осталось {n} дней"]
    assert hub.headers["cache-control"] == "public, max-age=300"
    # The version the pages name makes the answer immutable; an unknown app gets everything.
    pinned = await client.get("/api/v1/i18n/en", params={"app": "hub", "v": catalog_version()})
    assert pinned.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert pinned.json()["Hello!"] == "Hello!"
    assert (await client.get("/api/v1/i18n/en", params={"app": "nope"})).json().keys() == (await client.get("/api/v1/i18n/en")).json().keys()
    again = await client.get("/api/v1/i18n/ru", params={"app": "hub"}, headers={"If-None-Match": hub.headers["etag"]})
    assert again.status_code == 304
    assert (await client.get("/api/v1/i18n/ru", params={"app": "../etc"})).status_code == 422


def _site(root: Path) -> httpx.AsyncClient:
    site = StaticSite(root, meta=lambda: {"version": "v1"})
    app = Starlette(routes=[Route("/{path:path}", site.endpoint, methods=["GET", "HEAD"])])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://site.test")


async def test_a_change_reaches_every_page_that_uses_it(tmp_path: Path):
    """A page's script is renamed when only the shared module it imports changed, and an edit
    is served on the next load without a restart."""
    (tmp_path / "shared").mkdir()
    (tmp_path / "app").mkdir()
    (tmp_path / "shared" / "lib.js").write_text("export const x = 1;\n")
    (tmp_path / "app" / "main.js").write_text('import { x } from "../shared/lib.js";\nconsole.log(x);\n')
    (tmp_path / "app" / "index.html").write_text(
        '<meta name="version" content=""><script type="module" src="main.js"></script>'
        '<a href="https://example.org/x.js">out</a><a href="../">up</a>'
    )
    async with _site(tmp_path) as client:
        first = (await client.get("/app/")).text
        assert '<meta name="version" content="v1">' in first
        assert 'href="https://example.org/x.js"' in first and 'href="../"' in first
        main_v1 = _hashed(first, "main.js")
        lib_v1 = re.search(r"lib\.[0-9a-f]{10}\.js", (await client.get("/app/" + main_v1)).text)[0]

        (tmp_path / "shared" / "lib.js").write_text("export const x = 2; // changed\n")
        second = (await client.get("/app/")).text
        main_v2 = _hashed(second, "main.js")
        assert main_v2 != main_v1  # main.js itself did not change, what it imports did
        lib_v2 = re.search(r"lib\.[0-9a-f]{10}\.js", (await client.get("/app/" + main_v2)).text)[0]
        assert lib_v2 != lib_v1
        assert (await client.get("/shared/" + lib_v2)).text == "export const x = 2; // changed\n"
        # The old names still answer with today's content, revalidated.
        old = await client.get("/app/" + main_v1)
        assert old.headers["cache-control"] == "no-cache" and lib_v2 in old.text


@pytest.mark.parametrize("coding", ["br", "gzip"])
async def test_precompressed_bodies_decode_to_the_file(tmp_path: Path, coding: str):
    body = "export const words = " + repr(["слово"] * 200) + ";\n"
    (tmp_path / "big.js").write_text(body)
    async with _site(tmp_path) as client:
        response = await client.get("/big.js", headers={"Accept-Encoding": coding})
        assert response.headers["content-encoding"] == coding
        assert response.text == body
    site = StaticSite(tmp_path)
    packed = site.assets["big.js"].encoded[coding]
    assert (brotli.decompress(packed) if coding == "br" else gzip.decompress(packed)).decode() == body
