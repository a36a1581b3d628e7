"""Rendering documents to PDF with Cyrillic text (fpdf2 and a system TrueType font).

The letter follows the layout of Russian official letters (ГОСТ Р 7.0.97-2016, a corner
letterhead): the body's name and reference data top left with the date and number under
them and the reference to the incoming document; the addressee top right; a heading; the
text; the signer's position on the left and their initials and surname on the right; the
executor in small print at the foot. A part that is empty is left out, never printed blank.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos

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

# Millimetres. GOST asks for at least 20 mm on the left (binding), 10 on the right.
LEFT, RIGHT, TOP, BOTTOM = 25.0, 15.0, 20.0, 20.0
CORNER_WIDTH = 80.0  # the letterhead block, top left
ADDRESSEE_X = 115.0  # the addressee block, top right
PARAGRAPH_INDENT = 12.5  # GOST: 1.25 cm


def find_font(configured: Path | None = None) -> Path | None:
    """The TrueType font with Cyrillic glyphs to embed, or None."""
    for candidate in ((configured,) if configured else ()) + tuple(Path(p) for p in FONT_CANDIDATES):
        if candidate and candidate.exists():
            return candidate
    return None


def bold_variant(font: Path) -> Path | None:
    """The bold face next to a regular one (DejaVuSans-Bold.ttf, LiberationSans-Bold.ttf,
    FreeSansBold.ttf), or None: headings are then set in the regular face."""
    stem = font.stem.removesuffix("-Regular")
    for name in (f"{stem}-Bold{font.suffix}", f"{stem}Bold{font.suffix}"):
        candidate = font.with_name(name)
        if candidate.exists():
            return candidate
    return None


@dataclass(frozen=True)
class Letterhead:
    """Who issues the document: the body's name, its department, its reference data."""

    name: str
    unit: str | None = None  # the department under the name
    details: tuple[str, ...] = ()  # address, phone, e-mail, site: only the lines that exist


@dataclass(frozen=True)
class Signature:
    position: str  # "Глава городского округа"
    name: str  # "И.И. Главин"


@dataclass(frozen=True)
class PdfContent:
    letterhead: Letterhead
    date: str  # "10.03.2026"
    number: str  # the outgoing registration number
    addressee: tuple[str, ...]  # lines: the person (dative), their address
    title: str  # the heading over the text: "О рассмотрении обращения"
    body: str  # paragraphs separated by blank lines
    signature: Signature
    reference: str | None = None  # "На № GLZ-2026-000123 от 02.03.2026"
    executor: tuple[str, ...] = ()  # small print at the foot: the executor, their unit
    footer: str = ""
    subject: str = ""  # the PDF's title in its properties (defaults to `title`)
    meta: dict[str, str] = field(default_factory=dict)  # author, keywords ... of the PDF


def paragraphs(text: str) -> list[str]:
    """The text's paragraphs: split at blank lines, lines inside joined, empties dropped."""
    out: list[str] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        lines = [line.strip() for line in block.split("\n")]
        joined = "\n".join(line for line in lines if line)
        if joined:
            out.append(joined)
    return out


def _is_salutation(paragraph: str) -> bool:
    # The opening address ("Уважаемая Анна Петровна!") is one short line ending in "!", set
    # in the middle as letters do.
    return "\n" not in paragraph and len(paragraph) <= 80 and paragraph.endswith("!")


def render(content: PdfContent, *, font: Path | None) -> bytes:
    """A one-page-or-more A4 letter laid out as a Russian official letter."""
    if font is None:
        raise Invalid(N_("No font with Cyrillic letters is installed on the server (install fonts-dejavu-core)."))
    pdf = FPDF(format="A4")
    pdf.set_margins(LEFT, TOP, RIGHT)
    pdf.set_auto_page_break(auto=True, margin=BOTTOM)
    pdf.add_font("Body", fname=str(font))
    bold = bold_variant(font)
    pdf.add_font("Body", style="B", fname=str(bold or font))
    pdf.set_title(content.subject or content.title)
    for key, value in content.meta.items():
        getattr(pdf, f"set_{key}")(value)
    pdf.set_creator("Glocal")
    pdf.add_page()
    width = pdf.w - LEFT - RIGHT

    # Top left: the letterhead, then the document's date and number.
    head = content.letterhead
    pdf.set_font("Body", style="B", size=11)
    pdf.multi_cell(CORNER_WIDTH, 5.5, head.name, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if head.unit:
        pdf.set_font("Body", size=10)
        pdf.multi_cell(CORNER_WIDTH, 5, head.unit, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if head.details:
        pdf.ln(1.5)
        pdf.set_font("Body", size=8)
        pdf.multi_cell(CORNER_WIDTH, 3.8, "\n".join(head.details), align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    pdf.set_font("Body", size=10)
    pdf.multi_cell(CORNER_WIDTH, 5, f"{content.date} № {content.number}", align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if content.reference:
        pdf.multi_cell(CORNER_WIDTH, 5, content.reference, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    left_end = pdf.get_y()

    # Top right: the addressee.
    pdf.set_xy(ADDRESSEE_X, TOP)
    pdf.set_font("Body", size=12)
    pdf.multi_cell(pdf.w - RIGHT - ADDRESSEE_X, 6, "\n".join(content.addressee), align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(left_end, pdf.get_y()) + 10)

    if content.title:
        pdf.set_font("Body", size=11)
        pdf.multi_cell(CORNER_WIDTH, 5.5, content.title, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(6)

    # The text: justified paragraphs with a first-line indent; the salutation centred.
    pdf.set_font("Body", size=12)
    parts = paragraphs(content.body)
    with pdf.text_columns(text_align=Align.J, line_height=1.25, l_margin=LEFT, r_margin=RIGHT) as cols:
        for i, part in enumerate(parts):
            if i == 0 and _is_salutation(part):
                with cols.paragraph(text_align=Align.C, bottom_margin=3) as p:
                    p.write(part)
                continue
            with cols.paragraph(first_line_indent=PARAGRAPH_INDENT, bottom_margin=2) as p:
                p.write(part)
    pdf.ln(12)

    # The signature: position on the left, initials and surname on the right, one line.
    sign = content.signature
    pdf.set_font("Body", size=12)
    if pdf.will_page_break(14):
        pdf.add_page()
    y = pdf.get_y()
    pdf.multi_cell(width * 0.6, 6, sign.position, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    after_position = pdf.get_y()
    pdf.set_xy(LEFT + width * 0.6, after_position - 6)
    pdf.cell(width * 0.4, 6, sign.name, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(after_position, y + 6))

    # The executor, in small print at the foot of the last page.
    small = [line for line in content.executor if line]
    if content.footer:
        small.append(content.footer)
    if small:
        pdf.set_font("Body", size=8)
        block = 3.6 * len(small) + (2 if content.footer and content.executor else 0)
        foot = pdf.h - BOTTOM - block - 1  # a millimetre of slack, or rounding breaks the page
        if pdf.get_y() + 8 > foot:
            pdf.add_page()
        pdf.set_y(max(pdf.get_y() + 8, foot))
        if content.executor:
            pdf.multi_cell(width, 3.6, "\n".join(line for line in content.executor if line), align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if content.footer:
            pdf.ln(2)
            pdf.multi_cell(width, 3.6, content.footer, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
