"""One gettext catalog (`locales/<lang>/LC_MESSAGES/messages.po`) for the bot, the API and
the miniapps.

The current language lives in a context variable set once per update or request, so
service code can call `_()` without passing the locale around.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from backend.settings import ROOT, SUPPORTED_LOCALES

LOCALES_DIR = ROOT / "locales"
MINIAPPS_DIR = ROOT / "miniapps"
SHARED_MINIAPP = "shared"  # the module every miniapp page imports
DOMAIN = "messages"

_current: ContextVar[str] = ContextVar("glocal_locale", default="ru")


@cache
def _catalog(locale: str) -> dict[str, str | tuple[str, ...]]:
    """msgid -> translation, read straight from the .po so no compile step is needed."""
    path: Path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    out: dict[str, str | tuple[str, ...]] = {}
    for msg in catalog:
        if not msg.id or msg.fuzzy:
            continue
        key = msg.id[0] if isinstance(msg.id, tuple) else msg.id
        if isinstance(msg.string, tuple):
            if all(msg.string):
                out[key] = tuple(msg.string)
        elif msg.string:
            out[key] = msg.string
    return out


def _ru_plural(n: int) -> int:
    if n % 10 == 1 and n % 100 != 11:
        return 0
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return 1
    return 2


def normalize_locale(code: str | None, default: str = "ru") -> str:
    """Map a Telegram `language_code` (e.g. `en-US`) to a supported locale."""
    if code:
        short = code.split("-")[0].split("_")[0].lower()
        if short in SUPPORTED_LOCALES:
            return short
    return default


def get_locale() -> str:
    return _current.get()


def set_locale(locale: str) -> None:
    _current.set(locale if locale in SUPPORTED_LOCALES else "ru")


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    token = _current.set(locale if locale in SUPPORTED_LOCALES else "ru")
    try:
        yield
    finally:
        _current.reset(token)


def translate(message: str, locale: str | None = None) -> str:
    value = _catalog(locale or _current.get()).get(message)
    if isinstance(value, tuple):
        return value[0]
    return value or message


def gettext(message: str) -> str:
    """Translate into the current language."""
    return translate(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    locale = _current.get()
    value = _catalog(locale).get(singular)
    if isinstance(value, tuple):
        idx = _ru_plural(n) if locale == "ru" else (0 if n == 1 else 1)
        return value[min(idx, len(value) - 1)]
    return singular if n == 1 else plural


def render(message: str, params: dict[str, Any], locale: str | None = None) -> str:
    """Translate `message` and fill in `params`; parameters named `*_msgid` are msgids
    themselves (a status, a reason) and are translated too."""
    filled = {k: translate(v, locale) if k.endswith("_msgid") and isinstance(v, str) else v for k, v in params.items()}
    return translate(message, locale).format(**filled)


def N_(message: str) -> str:  # noqa: N802 - gettext convention
    """Mark a msgid for extraction; translated later, where the language is known."""
    return message


def miniapps() -> list[str]:
    """The miniapps by folder name (hub, profile, appeals ...), without the shared module."""
    return sorted(p.name for p in MINIAPPS_DIR.iterdir() if p.is_dir() and p.name != SHARED_MINIAPP and (p / "index.html").exists())


@cache
def miniapp_msgids(app: str) -> frozenset[str]:
    """The msgids a miniapp's JavaScript and the shared module's pass to `_()`/`ngettext()`,
    found by the same Babel extractor that fills the catalog."""
    found: set[str] = set()
    for folder in (MINIAPPS_DIR / app, MINIAPPS_DIR / SHARED_MINIAPP):
        for path in sorted(folder.rglob("*.js")):
            for _line, message, _comments, _context in extract_from_file("javascript", str(path)):
                found.add(message if isinstance(message, str) else message[0])
    return frozenset(found)


@cache
def catalog_json(locale: str, app: str | None = None) -> dict[str, str | list[str]]:
    """A locale's translations for the miniapps' `_()` (plural forms as a list, for
    `ngettext()`); with `app`, only the msgids that miniapp's code uses."""
    entries = _catalog(locale)
    if app is not None and app in miniapps():
        wanted = miniapp_msgids(app)
        entries = {k: v for k, v in entries.items() if k in wanted}
    return {k: (v if isinstance(v, str) else list(v)) for k, v in entries.items()}


@cache
def catalog_version() -> str:
    """Changes whenever any miniapp's slice of the catalog may change: the .po files and
    the msgids the miniapps use."""
    digest = hashlib.sha256()
    for locale in SUPPORTED_LOCALES:
        path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
        digest.update(path.read_bytes() if path.exists() else b"")
    for app in miniapps():
        digest.update("\0".join([app, *sorted(miniapp_msgids(app))]).encode())
    return digest.hexdigest()[:12]


_ = gettext
