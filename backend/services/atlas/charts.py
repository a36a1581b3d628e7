"""Chart and map geometry for the public page, as plain numbers: the template draws them as
inline SVG (autoescaped), so the page needs no script and prints as it shows."""

from __future__ import annotations

import math
from dataclasses import dataclass

WIDTH = 320  # the viewBox width; the SVG scales to the column
ROW = 34  # a label line and a bar under it
BAR_MAX = 250  # the longest bar; the value is written after it


@dataclass(frozen=True)
class Bar:
    label: str
    value: str  # formatted
    y: float  # the label's baseline; the bar sits under it
    width: float


@dataclass(frozen=True)
class BarChart:
    key: str
    title: str
    unit: str
    subject: str
    height: int
    bars: tuple[Bar, ...]


def bar_chart(*, key: str, title: str, unit: str, subject: str, points: list[tuple[str, float, str]]) -> BarChart:
    """Horizontal bars, longest value full width: one row per (label, value, formatted)."""
    top = max((abs(v) for _, v, _ in points), default=0) or 1
    bars = tuple(
        Bar(label=label, value=text, y=14 + i * ROW, width=max(2.0, round(BAR_MAX * abs(v) / top, 1)) if v else 0.0)
        for i, (label, v, text) in enumerate(points)
    )
    return BarChart(key=key, title=title, unit=unit, subject=subject, height=max(ROW, len(points) * ROW), bars=bars)


@dataclass(frozen=True)
class Pin:
    number: int
    anchor: str  # the list item's id on the page
    x: float
    y: float
    kind: str


@dataclass(frozen=True)
class Map:
    width: int
    height: int
    pins: tuple[Pin, ...]
    box: tuple[float, float, float, float]  # south, west, north, east


def pin_map(points: list[tuple[str, str, float, float]], *, width: int = WIDTH, height: int = 220, pad: float = 16) -> Map | None:
    """Pins (anchor, kind, lat, lon) inside the bounding box of the points, the box padded,
    east-west scaled by the cosine of the latitude so the town keeps its shape."""
    if not points:
        return None
    lats = [p[2] for p in points]
    lons = [p[3] for p in points]
    south, north, west, east = min(lats), max(lats), min(lons), max(lons)
    # One point, or points on a line: a box of about a kilometre around them.
    if north - south < 0.004:
        mid = (north + south) / 2
        south, north = mid - 0.004, mid + 0.004
    if east - west < 0.006:
        mid = (east + west) / 2
        west, east = mid - 0.006, mid + 0.006
    k = math.cos(math.radians((north + south) / 2))
    span_x, span_y = (east - west) * k, north - south
    scale = min((width - 2 * pad) / span_x, (height - 2 * pad) / span_y)
    off_x = (width - span_x * scale) / 2
    off_y = (height - span_y * scale) / 2
    pins = tuple(
        Pin(number=i + 1, anchor=anchor, kind=kind,
            x=round(off_x + (lon - west) * k * scale, 1), y=round(off_y + (north - lat) * scale, 1))
        for i, (anchor, kind, lat, lon) in enumerate(points)
    )
    return Map(width=width, height=height, pins=pins, box=(south, west, north, east))
