"""The public page rendered: Jinja2 (autoescaped) with inline SVG charts and map, numbers and
dates in the reader's language, the open data as CSV and the share image as PNG."""

from __future__ import annotations

import io
import math
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, select_autoescape

from backend.core.components.manifest import FACTORS
from backend.core.exports import writers
from backend.i18n import N_, translate
from backend.services.atlas import charts
from backend.services.atlas.queries import FACTOR_HINTS, FACTOR_TITLES, Chart, Page, Row
from backend.services.atlas.settings import SECTIONS

TEMPLATES = Path(__file__).parent / "templates"
OG_SIZE = (1200, 630)
# The msgids atlas.html passes to `x.t()`, listed so the catalog's extractor finds them.
TEMPLATE_MSGIDS = (
    N_("An answer is not a solution: «answered» counts answers given, «resolved» the answers residents rated 4 or 5. The term is the one of law 59-FZ."),
    N_("Communities"), N_("Download CSV"), N_("Every figure on this page, with its source and date, is free to reuse."),
    N_("Figures as of"), N_("No figures yet."), N_("No places or communities yet."),
    N_("No stories yet. Residents can share theirs from the town's bot."), N_("Places"), N_("Source"),
    N_("The town has not given its population yet: participation per 1,000 residents will appear once it does."),
    N_("on the map"), N_("site"), N_("Map of places and communities"), N_("Open data (CSV)"), N_("Sections"),
)
CSV_HEADER = ("section", "service", "key", "title", "subject", "label", "value", "unit", "source", "as_of")


@cache
def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "svg"], default=True),
                      trim_blocks=True, lstrip_blocks=True)
    return env


@cache
def _css() -> str:
    return (TEMPLATES / "atlas.css").read_text(encoding="utf-8")


def number(value: float | int, locale: str) -> str:
    """A figure as its readers write numbers (ru: 48 200,5; en: 48,200.5)."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    return format_decimal(value, locale=locale, format="#,##0.##")


class Texts:
    """What the template needs of the reader's language."""

    def __init__(self, locale: str, timezone: str = "Europe/Moscow") -> None:
        self.locale = locale
        self.timezone = timezone

    def t(self, msgid: str) -> str:
        return translate(msgid, self.locale) if msgid else ""

    def title(self, row: Row) -> str:
        return self.t(row.title) if row.msgid else row.title

    def unit(self, row: Row) -> str:
        return self.t(row.unit) if row.msgid else row.unit

    def subject(self, row: Row) -> str:
        # A service's subject (a category, a question) is data; a factor's or service's name a msgid.
        return self.t(row.subject) if row.subject_msgid else row.subject

    def number(self, value: float | int) -> str:
        return number(value, self.locale)

    def date(self, value: date | None) -> str:
        return format_date(value, format="long", locale=self.locale) if value else ""

    def today(self, value: Any) -> str:
        # The day in the town, not the minute: the page's ETag then holds for the day.
        return format_date(value.astimezone(ZoneInfo(self.timezone)).date(), format="long", locale=self.locale) if value else ""


def drawn(items: list[Chart]) -> list[Chart]:
    """Charts worth drawing: a chart of nothing but zeros says less than its figures do."""
    return [c for c in items if any(value for _, _, value in c.points)]


def chart_view(chart: Chart, texts: Texts) -> charts.BarChart:
    points = [(texts.t(label) if is_msgid else label, value, texts.number(value)) for label, is_msgid, value in chart.points]
    return charts.bar_chart(key=chart.key, title=texts.t(chart.title), unit=texts.t(chart.unit), subject=chart.subject, points=points)


def osm_link(lat: float, lon: float) -> str:
    return f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=17/{lat:.6f}/{lon:.6f}"


def render_html(data: Page, *, locale: str, base_url: str, page_url: str) -> str:
    """The whole page: one request, CSS inline, no script."""
    texts = Texts(locale, data.town.timezone)
    pinned = [p for p in [*data.places, *data.communities] if p.lat is not None and p.lon is not None]
    town_map = charts.pin_map([(f"place-{p.id}", p.kind, p.lat, p.lon) for p in pinned])  # type: ignore[misc]
    numbers = {p.id: i + 1 for i, p in enumerate(pinned)}
    factor_blocks = [
        {"key": f, "title": texts.t(FACTOR_TITLES[f]), "hint": texts.t(FACTOR_HINTS[f]), "rows": data.factors[f],
         "charts": [chart_view(c, texts) for c in drawn(data.factor_charts[f])]}
        for f in FACTORS
    ]
    blocks = [
        {"slug": b.slug, "title": texts.t(b.title), "icon": b.icon, "section": b.section, "rows": b.rows,
         "charts": [chart_view(c, texts) for c in drawn(b.charts)]}
        for b in data.blocks
    ]
    title = translate(N_("Atlas of Happiness: {town}"), locale).format(town=data.town.name)
    description = data.settings.tagline or translate(
        N_("The town's business card: employment, leisure and expectations in figures, appeals and how they are answered, residents' stories."), locale,
    )
    return _env().get_template("atlas.html").render(
        page=data, x=texts, locale=locale, css=_css(), title=title, description=description,
        page_url=page_url, base_url=base_url, og_image=f"{page_url}/og.png", path=f"/atlas/{data.town.slug}",
        factor_blocks=factor_blocks,
        appeals=[b for b in blocks if b["section"] == "appeals"], services=[b for b in blocks if b["section"] == "services"],
        participation_chart=chart_view(data.participation_chart, texts) if data.participation_chart else None,
        town_map=town_map, numbers=numbers, osm_link=osm_link, sections=SECTIONS,
        other_locale="en" if locale == "ru" else "ru",
    )


def csv_rows(data: Page, *, locale: str) -> list[tuple[Any, ...]]:
    """The page's figures and the bars of its charts, one row each (the open data)."""
    texts = Texts(locale)
    rows: list[tuple[Any, ...]] = [
        (r.section, r.service, r.key, texts.title(r), texts.subject(r), "", r.value, texts.unit(r), r.source, r.as_of.isoformat() if r.as_of else "")
        for r in data.rows()
    ]
    extra = [data.participation_chart] if data.participation_chart and data.shows("participation") else []
    for c in [*data.charts(), *extra]:
        for label, is_msgid, value in c.points:
            rows.append((c.section, c.service, c.key, texts.t(c.title), c.subject, texts.t(label) if is_msgid else label, value, texts.t(c.unit), "", ""))
    return rows


def render_csv(data: Page, *, locale: str) -> bytes:
    """The open data as CSV (formula-safe: backend/core/exports/writers.py)."""
    return writers.csv_bytes(CSV_HEADER, csv_rows(data, locale=locale))


def _font(path: Path | None, size: int) -> Any:
    from PIL import ImageFont

    if path is not None:
        try:
            return ImageFont.truetype(str(path), size)
        except OSError:
            pass
    return ImageFont.load_default(size)


def render_og_png(data: Page, *, locale: str, font: Path | None) -> bytes:
    """The share image Telegram and other chats show under the link: the town, the Atlas's
    name and up to three headline figures, 1200x630 as Open Graph asks."""
    from PIL import Image, ImageDraw

    texts = Texts(locale)
    image = Image.new("RGB", OG_SIZE, (250, 246, 238))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, OG_SIZE[0], 16), fill=(232, 118, 58))
    colours = [(232, 118, 58), (64, 146, 110), (70, 110, 190)]
    draw.text((64, 70), texts.t(N_("Atlas of Happiness")), font=_font(font, 44), fill=(120, 110, 100))
    name = data.town.name if len(data.town.name) <= 28 else data.town.name[:27] + "…"
    draw.text((64, 130), name, font=_font(font, 88), fill=(30, 30, 30))
    headline = [rows[0] for f in FACTORS if (rows := data.factors[f])] if data.shows("factors") else []
    if len(headline) < 3 and data.shows("appeals"):
        headline += [r for b in data.blocks if b.section == "appeals" for r in b.rows if r.key in ("received", "answered_on_time_percent")]
    for i, row in enumerate(headline[:3]):
        x = 64 + i * 370
        draw.rounded_rectangle((x, 300, x + 340, 560), radius=24, fill=(255, 255, 255), outline=colours[i], width=4)
        value = texts.number(row.value) + (" " + texts.unit(row) if texts.unit(row) else "")
        draw.text((x + 24, 330), value[:14], font=_font(font, 56), fill=colours[i])
        label = texts.title(row)
        lines = [label[k:k + 22] for k in range(0, min(len(label), 66), 22)]
        for n, line in enumerate(lines):
            draw.text((x + 24, 420 + n * 36), line, font=_font(font, 28), fill=(60, 60, 60))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
