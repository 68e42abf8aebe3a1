"""One report model, three files: PDF to read, XLSX and CSV to reuse.

A report is a title, the lines that identify it (aire, period, generation time, software
version, chain head of each register) and sections of typed columns. The renderers write
the same figures: French text in the PDF and the CSV, numbers with a number format in the
XLSX (amounts in euros, rates as fractions shown in %, dates as dates). The CSV and the XLSX
never hold a text that runs as a formula, and the XLSX is written as a stream (``sheets``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from hacienda_ledger import __version__
from hacienda_ledger.reports.french import (
    csv_text,
    day_fr,
    decimal_fr,
    euros,
    instant_fr,
    money,
    percent,
)
from hacienda_ledger.reports.pdf import Document
from hacienda_ledger.reports.sheets import BOLD, Book, Style

Kind = Literal["text", "int", "money", "rate", "date", "decimal"]

MEDIA_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


@dataclass(frozen=True)
class Column:
    title: str
    kind: Kind = "text"
    width: float = 0  # PDF width in mm; 0 shares what is left


@dataclass(frozen=True)
class Section:
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    total: tuple[Any, ...] | None = None
    note: str = ""
    sheet: str = ""  # XLSX sheet name (default: the title, cut to 31 characters)


@dataclass(frozen=True)
class Chart:
    """Daily bars under a section of the PDF (the CSV and XLSX have the table)."""

    after: str  # title of the section it follows
    labels: tuple[str, ...]
    values: tuple[float, ...]
    maximum: float
    caption: str
    unit: str = ""


@dataclass(frozen=True)
class Picture:
    """A PNG drawn under a section of the PDF (the CSV and XLSX have the section's table):
    the analytics pictures of the annual reports (``kinds/territory.py``)."""

    after: str  # title of the section it follows
    png: bytes
    caption: str


@dataclass(frozen=True)
class Report:
    title: str
    identity: tuple[tuple[str, str], ...]
    sections: tuple[Section, ...]
    generated_at: datetime
    charts: tuple[Chart, ...] = field(default=())
    pictures: tuple[Picture, ...] = field(default=())
    landscape: bool = False
    stamp: str | None = None
    provisional: bool = False  # built from a month not sealed: marked on every page
    mark: str | None = None  # on every page and in the PDF's subject (« ANNULÉE »)


PROVISIONAL = "PROVISOIRE"


def provisional(report: Report, why: str) -> Report:
    """The report marked « PROVISOIRE »: in its title (the first line of every format, the
    PDF's and the workbook's metadata), its identification, and on every PDF page."""
    return dataclasses.replace(
        report,
        title=f"{PROVISIONAL} — {report.title}",
        identity=(("Statut", f"{PROVISIONAL} : {why}"), *report.identity),
        provisional=True,
    )


def identity_lines(
    *, subject: Sequence[tuple[str, str]], heads: Sequence[Any], generated_at: datetime
) -> tuple[tuple[str, str], ...]:
    """What every file names: what it covers, when and by what it was made, and the chain
    head of each register it covers (as of the end of the period)."""
    lines = [
        *subject,
        ("Généré le", instant_fr(generated_at)),
        ("Logiciel", f"hacienda-ledger {__version__}"),
    ]
    if not heads:
        lines.append(("Registres couverts", "aucun registre à la fin de la période"))
    for head in heads:
        lines.append(
            (
                f"Régie {head.regie_ref}",
                f"registre {head.register_id}, événement n°{head.version}, "
                f"dernière quittance n°{head.last_receipt}, empreinte {head.chain_hash}",
            )
        )
    return tuple(lines)


# --- text of a value -------------------------------------------------------------------


def _cell(value: Any, kind: Kind, formats: Mapping[str, Callable[[Any], Any]], blank: Any) -> Any:
    """A value as one file shows it: a label as it is, nothing as ``blank``, a figure
    through the format of its column's kind (left as it is for a kind with none)."""
    if isinstance(value, str):  # a label in a typed column (a total's title)
        return value
    if value is None or value == "":
        return blank
    format_ = formats.get(kind)
    return value if format_ is None else format_(value)


PDF_TEXT: dict[str, Callable[[Any], str]] = {
    "money": money,
    "rate": percent,
    "date": day_fr,
    "decimal": decimal_fr,
    "int": lambda value: f"{value:,}".replace(",", "\u202f"),
    "text": str,
}
CSV_TEXT: dict[str, Callable[[Any], str]] = {
    "money": euros,
    "rate": lambda value: decimal_fr(value * 100, 2),
    "date": day_fr,
    "decimal": decimal_fr,
    "int": str,
    "text": str,
}
XLSX_VALUE: dict[str, Callable[[Any], Any]] = {
    "money": lambda value: Decimal(value) / 100,
    "rate": Decimal,
    "decimal": Decimal,
}


def pdf_text(value: Any, kind: Kind) -> str:
    return str(_cell(value, kind, PDF_TEXT, ""))


def csv_cell(value: Any, kind: Kind) -> str:
    return str(_cell(value, kind, CSV_TEXT, ""))


def csv_title(column: Column) -> str:
    if column.kind == "money":
        return f"{column.title} (€)"
    if column.kind == "rate":
        return f"{column.title} (%)"
    return column.title


# --- PDF -------------------------------------------------------------------------------


def to_pdf(report: Report) -> bytes:
    doc = Document(
        report.title,
        report.identity,
        report.generated_at,
        landscape=report.landscape,
        stamp=report.stamp,
        mark=PROVISIONAL if report.provisional else report.mark,
    )
    usable = doc.w - doc.l_margin - doc.r_margin
    for section in report.sections:
        doc.heading(section.title)
        if section.note:
            doc.paragraph(section.note, size=8)
        if section.columns:
            fixed = sum(c.width for c in section.columns)
            free = [c for c in section.columns if not c.width]
            share = (usable - fixed) / len(free) if free else 0
            widths = [c.width or share for c in section.columns]
            align = "".join("L" if c.kind == "text" else "R" for c in section.columns)
            rows = [
                [pdf_text(v, c.kind) for v, c in zip(row, section.columns, strict=True)]
                for row in section.rows
            ]
            total = (
                [pdf_text(v, c.kind) for v, c in zip(section.total, section.columns, strict=True)]
                if section.total is not None
                else None
            )
            if rows or total:
                doc.grid([c.title for c in section.columns], rows, widths, align=align, total=total)
            else:
                doc.paragraph("Néant.", size=8)
        for chart in report.charts:
            if chart.after == section.title:
                doc.ln(2)
                doc.bar_chart(
                    chart.labels,
                    chart.values,
                    maximum=chart.maximum,
                    caption=chart.caption,
                    unit=chart.unit,
                )
        for picture in report.pictures:
            if picture.after == section.title:
                doc.ln(2)
                doc.picture(picture.png, caption=picture.caption)
    return doc.bytes()


# --- CSV -------------------------------------------------------------------------------


def to_csv(report: Report) -> bytes:
    blocks: list[list[list[Any]]] = [
        [[report.title], *[[k, v] for k, v in report.identity]],
    ]
    for section in report.sections:
        block: list[list[Any]] = [[section.title]]
        if section.columns:
            block.append([csv_title(c) for c in section.columns])
            for row in [*section.rows, *([section.total] if section.total else [])]:
                block.append(
                    [csv_cell(v, c.kind) for v, c in zip(row, section.columns, strict=True)]
                )
        elif section.note:
            block.append([section.note])
        blocks.append(block)
    return csv_text(blocks)


# --- XLSX ------------------------------------------------------------------------------

FORMATS = {
    "money": '#,##0.00\\ "€"',
    "rate": "0.00%",
    "date": "DD/MM/YYYY",
    "decimal": "0.00",
    "int": "0",
}


def xlsx_value(value: Any, kind: Kind) -> Any:
    return _cell(value, kind, XLSX_VALUE, None)


def to_xlsx(report: Report) -> bytes:
    """The identification sheet, then a sheet per section, written as a stream (``sheets``):
    figures as numbers in their kind's format, texts that could run as formulas
    neutralised."""
    book = Book()
    first = book.sheet("Identification", widths=(28, 110))
    first.row([report.title], [Style(bold=True, size=13)])
    for key, value in report.identity:
        first.row([key, value], [BOLD])
    header = Style(bold=True, fill="E8EEF5")
    used: set[str] = {"Identification"}
    for section in report.sections:
        name = _sheet_name(section.sheet or section.title, used)
        widths = [max(12, min(40, len(c.title) + 4)) for c in section.columns]
        sheet = book.sheet(name, widths=widths)
        sheet.row([section.title], [Style(bold=True, size=12)])
        if not section.columns:
            sheet.row([section.note])
            continue
        titles = [csv_title(c) if c.kind in ("money",) else c.title for c in section.columns]
        sheet.row(titles, [header] * len(titles))
        styles = [Style(FORMATS.get(c.kind)) for c in section.columns]
        for row in section.rows:
            sheet.row(_xlsx_row(row, section), styles)
        if section.total:
            bold = [Style(FORMATS.get(c.kind), bold=True) for c in section.columns]
            sheet.row(_xlsx_row(section.total, section), bold)
        if section.note:
            sheet.row([])
            sheet.row([section.note])
    return book.save(
        report.generated_at,
        title=report.title,
        keywords=PROVISIONAL if report.provisional else None,
    )


def _xlsx_row(row: tuple[Any, ...], section: Section) -> list[Any]:
    return [xlsx_value(v, c.kind) for v, c in zip(row, section.columns, strict=True)]


def _sheet_name(title: str, used: set[str]) -> str:
    base = "".join(ch for ch in title if ch not in "[]:*?/\\")[:31]
    name, n = base, 2
    while name in used:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(name)
    return name


def render(report: Report, fmt: str) -> bytes:
    if fmt == "pdf":
        return to_pdf(report)
    if fmt == "xlsx":
        return to_xlsx(report)
    if fmt == "csv":
        return to_csv(report)
    raise ValueError(f"unknown format {fmt!r}")
