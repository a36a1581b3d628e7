"""Results as SVG drawn on the server: one horizontal bar chart per question, text escaped,
sizes in the markup, no script. The miniapp and the Atlas embed it as it is; a browser, a
PDF printer or a chat preview all render it alike."""

from __future__ import annotations

from xml.sax.saxutils import escape

from backend.i18n import gettext as _
from backend.services.surveys.rules import QuestionResult

WIDTH = 640
ROW = 30
LABEL_W = 260
BAR_W = 270
PAD = 12
_MAX_LABEL = 38


def _attr(text: str) -> str:
    return escape(text, {'"': "&quot;"})


def _short(label: str) -> str:
    return label if len(label) <= _MAX_LABEL else label[: _MAX_LABEL - 1] + "…"


def bars(result: QuestionResult) -> list[tuple[str, int]]:
    """The rows a chart draws: options, marks, number ranges or months with their counts."""
    if result.options:
        return [(o.label, o.count) for o in result.options]
    return [(b.label, b.count) for b in result.buckets]


def question_svg(result: QuestionResult) -> str:
    """A bar per option (or mark, range, month): its label, its count and share of those who answered."""
    rows = bars(result)
    title = _short(result.text) if len(result.text) <= 80 else result.text[:79] + "…"
    subtitle = _("Answered: {n}").format(n=result.answered)
    if result.mean is not None:
        subtitle += " · " + _("mean {mean}, median {median}").format(mean=result.mean, median=result.median)
    height = PAD * 2 + 44 + ROW * max(len(rows), 1)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="system-ui, sans-serif" font-size="13">',
        f"<title>{escape(result.text)}</title>",
        f'<text x="{PAD}" y="{PAD + 14}" font-weight="600" font-size="15">{escape(title)}</text>',
        f'<text x="{PAD}" y="{PAD + 34}" fill="#667">{escape(subtitle)}</text>',
    ]
    top = PAD + 44
    most = max((c for _l, c in rows), default=0)
    if not rows:
        out.append(f'<text x="{PAD}" y="{top + 20}" fill="#667">{escape(_("No answers to chart."))}</text>')
    for i, (label, count) in enumerate(rows):
        y = top + i * ROW
        w = 0 if most == 0 else round(BAR_W * count / most)
        share = 0 if result.answered == 0 else round(100 * count / result.answered)
        out.append(
            f'<g class="bar" data-label="{_attr(label)}" data-count="{count}">'
            f'<text x="{PAD}" y="{y + 19}">{escape(_short(label))}</text>'
            f'<rect x="{PAD + LABEL_W}" y="{y + 6}" width="{max(w, 1) if count else 0}" height="{ROW - 10}" rx="3" fill="#2f80ed"/>'
            f'<text x="{PAD + LABEL_W + w + 6}" y="{y + 19}">{count} ({share}%)</text></g>'
        )
    out.append("</svg>")
    return "".join(out)
