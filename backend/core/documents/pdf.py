"""Rendering documents to PDF with Cyrillic text (fpdf2 and a system TrueType font)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF

from backend.errors import Invalid
from backend.i18n import N_

# Debian/Ubuntu (fonts-dejavu-core), Fedora, Alpine, macOS: the first that exists is used.
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
)


def find_font(configured: Path | None = None) -> Path | None:
    """The TrueType font with Cyrillic glyphs to embed, or None."""
    for candidate in ((configured,) if configured else ()) + tuple(Path(p) for p in FONT_CANDIDATES):
        if candidate and candidate.exists():
            return candidate
    return None


@dataclass(frozen=True)
class PdfContent:
    header: str  # the body issuing the document (the town's administration)
    number: str
    date: str
    addressee: str
    title: str
    body: str
    signature: str  # position and name of the signer
    footer: str = ""


def render(content: PdfContent, *, font: Path | None) -> bytes:
    """A one-column A4 letter: header, requisites, title, body, signature."""
    if font is None:
        raise Invalid(N_("No font with Cyrillic letters is installed on the server (install fonts-dejavu-core)."))
    pdf = FPDF(format="A4")
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_font("Body", fname=str(font))
    pdf.add_page()
    pdf.set_title(content.title)
    pdf.set_font("Body", size=13)
    pdf.multi_cell(0, 7, content.header, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("Body", size=10)
    pdf.multi_cell(0, 5, f"{content.number}\n{content.date}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(110)
    pdf.multi_cell(80, 5, content.addressee, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    pdf.set_font("Body", size=12)
    pdf.multi_cell(0, 6, content.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Body", size=11)
    pdf.multi_cell(0, 6, content.body, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(10)
    pdf.multi_cell(0, 6, content.signature, new_x="LMARGIN", new_y="NEXT")
    if content.footer:
        pdf.ln(6)
        pdf.set_font("Body", size=8)
        pdf.multi_cell(0, 4, content.footer, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
