"""Spreadsheet exports (CSV and XLSX) from rows of cells, safe to open in Excel, LibreOffice
or Google Sheets whatever residents wrote.

- Formula injection: a text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage
  return is what a spreadsheet runs as a formula (`=HYPERLINK(...)`, `=cmd|' /c calc'!A1`).
  As OWASP's "CSV Injection" page and ASVS 5.0 requirement 1.2.10 ask, such a cell is escaped
  with a single quote: in CSV a leading `'`; in XLSX the cell is written as a string with
  Excel's own "quote prefix" flag, which is that apostrophe without changing the text. Every
  CSV text field is also quoted (RFC 4180), so a delimiter inside a text cannot start a new
  cell. Numbers stay numbers.
- Characters XML 1.0 forbids (C0 controls other than tab, LF and CR: NUL, BEL, ESC ...; lone
  surrogates; U+FFFE/U+FFFF) are removed: openpyxl refuses them with IllegalCharacterError,
  and a lone surrogate cannot be encoded at all.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

Cell = str | int | float | Decimal | date | datetime | None

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# OWASP lists = + - @ tab CR; ASVS adds NUL (removed anyway, see clean). The full-width forms
# are a precaution: input methods type them, and Unicode normalisation (NFKC) makes them ASCII.
FORMULA_START = frozenset("=+-@\t\r＝＋－＠")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
XLSX_MAX_CELL = 32_767  # Excel's limit; a longer text makes Excel "repair" the file
_SHEET_FORBIDDEN = re.compile(r"[\\/?*\[\]:]")


def clean(text: str) -> str:
    """The text without characters a spreadsheet file cannot hold."""
    return _ILLEGAL.sub("", text)


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet would read this text as a formula."""
    return bool(text) and text[0] in FORMULA_START


def csv_cell(value: Cell) -> Cell:
    """One CSV cell: text cleaned and, when formula-like, escaped with a leading quote."""
    if isinstance(value, str):
        text = clean(value)
        return "'" + text if is_formula_like(text) else text
    return value


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Cell]], *, delimiter: str = ";") -> bytes:
    """A UTF-8 CSV with a BOM (so Excel reads Cyrillic right), every text field quoted.

    The delimiter defaults to `;`, which Excel expects where the decimal separator is a comma."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
    writer.writerow([csv_cell(h) for h in header])
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def sheet_title(title: str) -> str:
    """A worksheet name Excel accepts: at most 31 characters, none of \\ / ? * [ ] :."""
    name = " ".join(_SHEET_FORBIDDEN.sub(" ", clean(title)).split()).strip("'")[:31].strip(" '")
    return name or "Sheet1"


def _xlsx_cell(ws: object, value: Cell) -> object:
    if isinstance(value, str):
        text = clean(value)
        if len(text) > XLSX_MAX_CELL:
            text = text[: XLSX_MAX_CELL - 1] + "…"
        if not is_formula_like(text):
            return text
        cell = WriteOnlyCell(ws, value=text)
        cell.data_type = "s"  # openpyxl makes any text starting with "=" a formula
        cell.quotePrefix = True
        return cell
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)  # Excel has no time zones: the wall time as given
    return value


def xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence[Cell]], *, sheet: str) -> bytes:
    """An XLSX workbook of one sheet: the header row, then the rows (streamed by openpyxl)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet_title(sheet))
    ws.append([_xlsx_cell(ws, h) for h in header])
    for row in rows:
        ws.append([_xlsx_cell(ws, v) for v in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """A Content-Disposition value for a download, with an ASCII fallback name (RFC 6266)."""
    fallback = re.sub(r'[^A-Za-z0-9._-]+', "_", filename).strip("_") or "export"
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
