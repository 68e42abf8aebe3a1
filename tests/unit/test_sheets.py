"""CSV and XLSX files as a spreadsheet reads them: written by the ledger's writers, opened
back with the csv module and openpyxl.

Texts a spreadsheet would run as formulas (``=``, ``+``, ``-``, ``@``, tab, carriage return)
come back with a single quote before them, in every export table and every report section;
figures come back as numbers (negative amounts included) and days as dates; a workbook
keeps every row, value and type of what it was given."""

from __future__ import annotations

import ast
import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from hacienda_ledger.application.projecting import all_projections
from hacienda_ledger.projections.base import Table
from hacienda_ledger.reports.exports import EXPORTS, to_csv, to_xlsx
from hacienda_ledger.reports.render import Column, Kind, Report, Section
from hacienda_ledger.reports.render import to_csv as report_csv
from hacienda_ledger.reports.render import to_xlsx as report_xlsx
from hacienda_ledger.reports.sheets import FORMULA_STARTS, Book, csv_value, neutralised

AT = datetime(2025, 3, 5, 9, tzinfo=UTC)
HYPERLINK = '=HYPERLINK("http://evil.example/?x","Click")'
PAYLOADS = (
    HYPERLINK,
    "+33 6 12 34 56 78",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
)
SRC = Path(__file__).parents[2] / "src/hacienda_ledger"


def csv_cells(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=";"))


def xlsx_rows(content: bytes, sheet: str | None = None) -> list[tuple[Any, ...]]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    return [
        tuple(r) for r in (book[sheet] if sheet else book.worksheets[0]).iter_rows(values_only=True)
    ]


def table_spec(table: str) -> Table:
    projection = next(p for p in all_projections() if p.name == EXPORTS[table].projection)
    return projection.table(table)


def hostile_rows(spec: Table, count: int = len(PAYLOADS)) -> list[dict[str, Any]]:
    """Rows of the table's declared types: every text a payload, every figure negative."""
    rows = []
    for n in range(count):
        row: dict[str, Any] = {}
        for column in spec.columns:
            row[column.name] = {
                "text": PAYLOADS[n % len(PAYLOADS)],
                "int": -1234 - n,
                "decimal": Decimal("-1.5"),
                "date": date(2025, 2, 3),
                "bool": True,
            }[column.type]
        rows.append(row)
    return rows


# --- the rule ------------------------------------------------------------------------------


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_a_text_starting_a_formula_is_quoted_in_both_formats(start: str) -> None:
    """Each of OWASP's six first characters gets the quote, in a CSV cell and an XLSX one;
    a text that starts otherwise is left as it is."""
    text = f"{start}1+1"
    assert neutralised(text) == csv_value(text) == f"'{text}"
    assert neutralised("1+1") == csv_value("1+1") == "1+1"
    book = Book()
    book.sheet("s").row([text, "1+1"])
    assert xlsx_rows(book.save(AT)) == [(f"'{text}", "1+1")]


def test_numbers_are_never_quoted() -> None:
    """A number given as one, or a CSV text that is a number in French notation (a negative
    amount), is written as it is: it holds no formula and stays a number for Excel."""
    assert [csv_value(v) for v in (-5, Decimal("-1.50"), "-12,34", "-3", "0,00")] == [
        "-5",
        "-1.50",
        "-12,34",
        "-3",
        "0,00",
    ]
    assert [csv_value(v) for v in ("-12.34", "-1,", "-", "--1", "-1e3")] == [
        "'-12.34",
        "'-1,",
        "'-",
        "'--1",
        "'-1e3",
    ]


def test_every_csv_and_xlsx_of_the_ledger_is_written_here() -> None:
    """No module of the ledger writes CSV or XLSX but ``french.csv_text`` and ``sheets``: a
    new file format cannot bypass the rule (no other ``csv.writer``, no openpyxl)."""
    writers = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("writer", "DictWriter")
                and isinstance(node.value, ast.Name)
                and node.value.id == "csv"
            ):
                writers.append(f"{path.relative_to(SRC)}: csv.{node.attr}")
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                module = getattr(node, "module", None) or ""
                if any(n.startswith(("openpyxl", "xlsxwriter")) for n in [*names, module]):
                    writers.append(f"{path.relative_to(SRC)}: {module or names}")
    assert writers == ["reports/french.py: csv.writer"]


# --- every export table -------------------------------------------------------------------------


@pytest.mark.parametrize("table", sorted(EXPORTS))
def test_every_export_table_quotes_its_texts_and_keeps_its_figures(table: str) -> None:
    """Each exportable table (``EXPORTS``, so a new one is covered), with a payload in every
    text column and a negative value in every figure: the CSV and the XLSX give each text
    back quoted, amounts in euros as numbers (``-12,34`` in the CSV, -12.34 in the XLSX),
    other figures as numbers, days as days."""
    spec = table_spec(table)
    columns = list(spec.column_names)
    rows = hostile_rows(spec)

    def expected(column: str, value: Any, fmt: str) -> Any:
        kind = spec.columns[columns.index(column)].type
        if kind == "text":
            return "'" + value
        if column.endswith("_cents"):
            return f"-{-value // 100},{-value % 100:02d}" if fmt == "csv" else value / 100
        if kind == "decimal":
            return "-1,5" if fmt == "csv" else -1.5
        if kind == "date":
            return "03/02/2025" if fmt == "csv" else datetime(2025, 2, 3)
        if kind == "bool":
            return "oui" if fmt == "csv" else True
        return str(value) if fmt == "csv" else value

    body = csv_cells(to_csv(table, columns, rows, AT))
    data = body[body.index([]) + 2 :]
    assert data == [[expected(c, r[c], "csv") for c in columns] for r in rows]
    sheet = xlsx_rows(to_xlsx(table, columns, rows, AT), table[:31])
    assert len(sheet) == 1 + len(rows)
    for got, row in zip(sheet[1:], rows, strict=True):
        for value, column in zip(got, columns, strict=True):
            want = expected(column, row[column], "xlsx")
            assert value == pytest.approx(want) if isinstance(want, float) else value == want
            assert type(value) is type(want), (column, value)


# --- every report section -----------------------------------------------------------------------

KINDS: tuple[Kind, ...] = ("text", "int", "money", "rate", "date", "decimal")


def hostile_report() -> Report:
    """A report with a payload in its title, identity, section titles, notes, text cells and
    total's label, and a negative figure in every other column."""
    columns = tuple(Column(f"col {k}", k) for k in KINDS)
    figures = (-7, -1234, Decimal("-0.25"), date(2025, 2, 3), Decimal("-1.5"))
    rows = tuple((p, *figures) for p in PAYLOADS)
    return Report(
        title=HYPERLINK,
        identity=(("Collectivité", PAYLOADS[3]), (PAYLOADS[1], "valeur")),
        sections=(
            Section(PAYLOADS[2], columns, rows, total=(PAYLOADS[4], *figures), sheet="Table"),
            Section("Note", (), (), note=PAYLOADS[5]),
        ),
        generated_at=AT,
    )


def test_every_cell_of_a_report_csv_is_safe_and_its_figures_numbers() -> None:
    """The report's CSV: every text quoted wherever it stands (title, identity, section
    title, table, total, note), every negative figure in French notation, unquoted."""
    cells = csv_cells(report_csv(hostile_report()))
    assert cells[0] == ["'" + HYPERLINK]
    assert cells[1:3] == [["Collectivité", "'" + PAYLOADS[3]], ["'" + PAYLOADS[1], "valeur"]]
    start = cells.index(["'" + PAYLOADS[2]]) + 2  # the section's title, then its header
    table = cells[start : start + len(PAYLOADS) + 1]
    figures = ["-7", "-12,34", "-25,00", "03/02/2025", "-1,50"]
    assert table == [["'" + p, *figures] for p in (*PAYLOADS, PAYLOADS[4])]  # rows, total
    assert ["'" + PAYLOADS[5]] in cells
    for row in cells:
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS) or cell in figures, cell


def test_every_cell_of_a_report_xlsx_is_safe_and_its_figures_numbers() -> None:
    """The report's XLSX: every text quoted, figures numbers (money in euros, rates as
    fractions), days as dates, each with its kind's format; the total row bold."""
    content = report_xlsx(hostile_report())
    book = openpyxl.load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["Identification", "Table", "Note"]
    assert xlsx_rows(content, "Identification") == [
        ("'" + HYPERLINK, None),
        ("Collectivité", "'" + PAYLOADS[3]),
        ("'" + PAYLOADS[1], "valeur"),
    ]
    table = xlsx_rows(content, "Table")
    assert table[0][0] == "'" + PAYLOADS[2]
    assert table[1] == tuple(f"col {k}" if k != "money" else "col money (€)" for k in KINDS)
    figures = (-7, -12.34, -0.25, datetime(2025, 2, 3), -1.5)
    for got, payload in zip(table[2:], (*PAYLOADS, PAYLOADS[4]), strict=True):
        assert got == ("'" + payload, *figures)
        assert [type(v) for v in got[1:]] == [int, float, float, datetime, float]
    sheet = book["Table"]
    formats = [sheet.cell(3, n).number_format for n in range(2, 7)]
    assert formats == ["0", '#,##0.00\\ "€"', "0.00%", "DD/MM/YYYY", "0.00"]
    total = len(table)
    assert all(sheet.cell(total, n).font.b for n in range(1, 7))
    assert not sheet.cell(3, 1).font.b and sheet.cell(2, 1).font.b
    assert sheet.cell(2, 1).fill.fgColor.rgb == "FFE8EEF5"
    assert xlsx_rows(content, "Note") == [("Note",), ("'" + PAYLOADS[5],)]
    assert book.properties.creator.startswith("hacienda-ledger ")


# --- the workbook itself ------------------------------------------------------------------------


def test_a_large_export_comes_back_row_for_row_with_its_types() -> None:
    """3,000 cash-journal rows written as XLSX and loaded back: one header and 3,000 rows,
    every value equal to what was given (amounts in euros, negative ones too), numbers as
    numbers, days as dates, texts as texts, and the money and day formats on them."""
    spec = table_spec("cash_journal")
    columns = list(spec.column_names)
    rows = []
    for n in range(3000):
        row: dict[str, Any] = dict.fromkeys(columns)
        row.update(
            register_id="r-1",
            version=n + 1,
            line=n % 3,
            position=10 + n,
            recorded_at=f"2025-02-03T10:{n % 60:02d}:00Z",
            day=date(2025, 1, 1 + n % 31),
            receipt_number=n + 1 if n % 4 else None,
            kind="receipt",
            amount_in_cents=n * 7,
            balance_cash_cents=-n * 3,
            cashier="Caissière <&> « Lucie »",
            chain_hash=f"{n:064x}",
        )
        rows.append(row)
    content = to_xlsx("cash_journal", columns, rows, AT)
    book = openpyxl.load_workbook(io.BytesIO(content))
    sheet = book["cash_journal"]
    assert sheet.max_row == 3001 and sheet.max_column == len(columns)
    loaded = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(loaded) == 3000
    for got, row in zip(loaded, rows, strict=True):
        want = []
        for c in columns:
            value = row[c]
            if c.endswith("_cents") and value is not None:
                value = Decimal(value) / 100
            elif isinstance(value, date):
                value = datetime(value.year, value.month, value.day)
            want.append(value)
        assert [Decimal(str(v)) if isinstance(v, float) else v for v in got] == want
    money = columns.index("amount_in_cents") + 1
    day = columns.index("day") + 1
    assert sheet.cell(5, money).number_format == '#,##0.00\\ "€"'
    assert sheet.cell(5, day).number_format == "DD/MM/YYYY"
    assert sheet.cell(5, columns.index("version") + 1).number_format == "General"
    assert isinstance(sheet.cell(5, money).value, int | float)
    assert sheet.cell(1, 1).font.b


def test_characters_xml_cannot_hold_do_not_break_the_workbook() -> None:
    """A control character (which XML cannot hold) comes back as U+FFFD, a carriage return
    and spaces around a text come back as they were given."""
    book = Book()
    book.sheet("s").row(["a\x01b", "x\ry", "  padded  ", "é € ✓"])
    assert xlsx_rows(book.save(AT)) == [("a\ufffdb", "x\ry", "  padded  ", "é € ✓")]


def test_the_same_workbook_at_the_same_time_is_the_same_bytes() -> None:
    """Nothing in the file depends on the clock or the order of a dict: written twice, it
    is the same bytes."""
    report = hostile_report()
    assert report_xlsx(report) == report_xlsx(report)
