"""Refresh the catalogs: extract every msgid from the bot, the backend and the miniapps,
merge into ru and en, and fill English from the msgid (msgids are written in English).
Run it as `make locales`; then translate what it lists as missing in Russian."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
POT = HERE / "messages.pot"


def run(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True, cwd=ROOT, capture_output=True)


def main() -> int:
    run("extract", "-F", str(HERE / "babel.cfg"), "-k", "N_", "--no-location", "--sort-output",
        "--project=glocal", "--copyright-holder=Glocal", "-o", str(POT), ".")
    run("update", "-D", "messages", "-i", str(POT), "-d", str(HERE), "--no-fuzzy-matching", "--ignore-obsolete")
    missing: list[str] = []
    for locale in ("en", "ru"):
        path = HERE / locale / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        for msg in catalog:
            if not msg.id:
                continue
            unfilled = not msg.string or (isinstance(msg.string, tuple) and not all(msg.string))
            if locale == "en" and unfilled:
                msg.string = msg.id  # for plurals (singular, plural): English's two forms
            elif locale == "ru" and unfilled:
                missing.append(msg.id if isinstance(msg.id, str) else msg.id[0])
        with path.open("wb") as fh:
            write_po(fh, catalog, width=100, omit_header=False, sort_output=True)
    for msgid in missing:
        print(f"ru: untranslated: {msgid!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
