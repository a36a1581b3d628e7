"""The miniapps' static files, served so that a cold load is small and a warm one is free.

Every asset also answers under a content-hashed name (`glocal.js` -> `glocal.3f2a91c07b.js`)
that is cached for a year as immutable; HTML, which names those hashed URLs, is revalidated on
every load (ETag, 304). References inside HTML (`src`, `href`), JavaScript (relative `import`)
and CSS (`url()`) are rewritten to the hashed names, and a file's hash covers what it
references, so a change anywhere reaches every page that uses it. Brotli and gzip copies are
made once per build, not per request. No build step: the tree is read at start-up and again
when a file in it changes (an edit during development shows on the next page load).
"""

from __future__ import annotations

import gzip
import hashlib
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import brotli
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}
COMPRESSIBLE = {".html", ".js", ".css", ".json", ".svg"}
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
DIGEST_LEN = 10
HASHED_NAME = re.compile(r"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{%d})(?P<ext>\.[A-Za-z0-9]+)$" % DIGEST_LEN)

# Relative references only: absolute URLs (telegram.org) and API paths stay as written.
HTML_REF = re.compile(r"""(?P<pre>\b(?:src|href)=")(?P<ref>\.{0,2}/?[A-Za-z0-9_][^"#?:]*)(?P<post>")""")
JS_REF = re.compile(r"""(?P<pre>(?:\bfrom|\bimport)\s*\(?\s*["'])(?P<ref>\.{1,2}/[^"'?#]+)(?P<post>["'])""")
CSS_REF = re.compile(r"""(?P<pre>url\(\s*["']?)(?P<ref>\.{0,2}/?[A-Za-z0-9_][^"')?#:]*)(?P<post>["']?\s*\))""")
REFS = {".html": HTML_REF, ".js": JS_REF, ".css": CSS_REF}
META = re.compile(r"""(<meta name="(?P<name>[a-z0-9-]+)" content=")[^"]*(")""")


@dataclass
class Asset:
    path: str  # relative to the root, with "/" separators
    body: bytes
    media_type: str
    digest: str
    encoded: dict[str, bytes] = field(default_factory=dict)  # "br" / "gzip" -> body

    @property
    def hashed_path(self) -> str:
        stem, ext = posixpath.splitext(self.path)
        return f"{stem}.{self.digest}{ext}"

    @property
    def etag(self) -> str:
        return f'"{self.digest}"'


# Builds by (root, files, meta): every app made in one process (tests make many) shares one.
_builds: dict[tuple, dict[str, Asset]] = {}


def _accepted(header: str) -> set[str]:
    """Codings the client takes (q > 0) from an Accept-Encoding header."""
    out = set()
    for item in header.split(","):
        coding, _, params = item.partition(";")
        q = params.strip()
        if q.startswith("q="):
            try:
                if float(q[2:]) <= 0:
                    continue
            except ValueError:
                continue
        out.add(coding.strip().lower())
    return out


class StaticSite:
    """A directory served with hashed names, revalidated HTML and precompressed bodies.

    `meta` gives values for `<meta name=... content="">` tags in the HTML (for instance the
    translation catalog's version), filled in when the tree is read.
    """

    def __init__(self, root: Path, *, meta: Callable[[], Mapping[str, str]] = dict) -> None:
        self.root = root
        self.meta = meta
        self._signature: tuple = ()
        self.assets: dict[str, Asset] = {}
        self._by_hashed: dict[str, Asset] = {}
        self.refresh()

    # -- building ----------------------------------------------------------------------------

    def _scan(self) -> tuple:
        files = sorted(p for p in self.root.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.relative_to(self.root).parts))
        return tuple((p.relative_to(self.root).as_posix(), p.stat().st_mtime_ns, p.stat().st_size) for p in files)

    def refresh(self) -> None:
        """Rebuild when a file was added, removed or changed since the last build."""
        signature = self._scan()
        if signature == self._signature:
            return
        meta = dict(self.meta())
        key = (str(self.root), signature, tuple(sorted(meta.items())))
        if key not in _builds:
            _builds.clear()  # only the newest build is ever served
            _builds[key] = self._build(signature, meta)
        self.assets = _builds[key]
        self._by_hashed = {a.hashed_path: a for a in self.assets.values()}
        self._signature = signature

    def _build(self, signature: tuple, meta: dict[str, str]) -> dict[str, Asset]:
        sources = {path: (self.root / path).read_bytes() for path, _, _ in signature}
        built: dict[str, Asset] = {}

        def build(path: str, visiting: frozenset[str]) -> Asset | None:
            if path in built:
                return built[path]
            if path not in sources or path in visiting:
                return None  # not ours, or an import cycle: that edge keeps the plain name
            ext = posixpath.splitext(path)[1].lower()
            body = sources[path]
            if ext in REFS:
                text = body.decode("utf-8")
                here = posixpath.dirname(path)

                def hashed(match: re.Match[str]) -> str:
                    ref = match["ref"]
                    target = posixpath.normpath(posixpath.join(here, ref))
                    if target.endswith("/") or not posixpath.splitext(target)[1]:
                        return match[0]  # a directory or an API path, not a file
                    dep = build(target, visiting | {path})
                    if dep is None:
                        return match[0]
                    return match["pre"] + posixpath.join(posixpath.dirname(ref), posixpath.basename(dep.hashed_path)) + match["post"]

                text = REFS[ext].sub(hashed, text)
                if ext == ".html":
                    text = META.sub(lambda m: m[1] + meta.get(m["name"], "") + m[3] if m["name"] in meta else m[0], text)
                body = text.encode("utf-8")
            asset = Asset(path=path, body=body, media_type=MEDIA_TYPES.get(ext, "application/octet-stream"),
                          digest=hashlib.sha256(body).hexdigest()[:DIGEST_LEN])
            if ext in COMPRESSIBLE and len(body) > 256:
                for coding, packed in (("br", brotli.compress(body, quality=11)), ("gzip", gzip.compress(body, 9, mtime=0))):
                    if len(packed) < len(body):
                        asset.encoded[coding] = packed
            built[path] = asset
            return asset

        for path in sources:
            build(path, frozenset())
        return built

    # -- serving -----------------------------------------------------------------------------

    def lookup(self, path: str) -> tuple[Asset | None, bool]:
        """The asset for a request path and whether the path named its current content hash."""
        asset = self._by_hashed.get(path)
        if asset is not None:
            return asset, True
        match = HASHED_NAME.match(path)
        if match:
            # A hash from an older build (a page loaded before a deploy): today's content,
            # but not under a promise that it never changes.
            plain = match["stem"] + match["ext"]
            if plain in self.assets:
                return self.assets[plain], False
        return self.assets.get(path), False

    async def endpoint(self, request: Request) -> Response:
        """GET/HEAD of one file under the mount, or its directory's index.html."""
        path = request.path_params.get("path", "")
        if not HASHED_NAME.match(posixpath.basename(path)) or path not in self._by_hashed:
            self.refresh()  # entry points and plain names; hashed URLs never need a rebuild
        if path == "" or path.endswith("/"):
            path += "index.html"
        elif path + "/index.html" in self.assets:
            # Relative URLs in the page resolve against its directory, so it needs the slash.
            return RedirectResponse(request.url.path + "/", status_code=307)
        asset, current = self.lookup(path)
        if asset is None:
            return Response("Not Found", status_code=404, media_type="text/plain")
        headers = {
            "Cache-Control": IMMUTABLE if current else REVALIDATE,
            "ETag": asset.etag,
            "Vary": "Accept-Encoding",
            "X-Content-Type-Options": "nosniff",
        }
        if asset.etag in [t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")]:
            return Response(status_code=304, headers=headers)
        body = asset.body
        accepted = _accepted(request.headers.get("accept-encoding", ""))
        for coding in ("br", "gzip"):
            if coding in accepted and coding in asset.encoded:
                body = asset.encoded[coding]
                headers["Content-Encoding"] = coding
                break
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(body))
            return Response(status_code=200, headers=headers, media_type=asset.media_type)
        return Response(body, headers=headers, media_type=asset.media_type)
