"""One report model, three files: PDF to read, XLSX and CSV to reuse.

A report is a title, the lines that identify it (aire, period, generation time, software
version, chain head of each register) and sections of typed columns. The renderers write
the same figures: French text in the PDF and the CSV, numbers with a number format in the
XLSX (amounts in euros, rates as fractions shown in %, dates as dates).
"""

from __future__ import annotations

import dataclasses
import io
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from hacienda_ledger import __version__
from hacienda_ledger.aggregates.values import PARIS
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
class Report:
    title: str
    identity: tuple[tuple[str, str], ...]
    sections: tuple[Section, ...]
    generated_at: datetime
    charts: tuple[Chart, ...] = field(default=())
    landscape: bool = False
    stamp: str | None = None
    provisional: bool = False  # built from a month not sealed: marked on every page


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
        mark=PROVISIONAL if report.provisional else None,
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
    book = Workbook()
    first = book.active
    first.title = "Identification"
    bold = Font(bold=True)
    first.append([report.title])
    first["A1"].font = Font(bold=True, size=13)
    for key, value in report.identity:
        first.append([key, value])
        first.cell(first.max_row, 1).font = bold
    first.column_dimensions["A"].width = 28
    first.column_dimensions["B"].width = 110
    fill = PatternFill("solid", fgColor="E8EEF5")
    used: set[str] = {"Identification"}
    for section in report.sections:
        name = _sheet_name(section.sheet or section.title, used)
        sheet = book.create_sheet(name)
        sheet.append([section.title])
        sheet["A1"].font = Font(bold=True, size=12)
        if not section.columns:
            sheet.append([section.note])
            continue
        sheet.append([csv_title(c) if c.kind in ("money",) else c.title for c in section.columns])
        for cell in sheet[2]:
            cell.font = bold
            cell.fill = fill
        for row in [*section.rows, *([section.total] if section.total else [])]:
            sheet.append([xlsx_value(v, c.kind) for v, c in zip(row, section.columns, strict=True)])
            for n, column in enumerate(section.columns, start=1):
                if column.kind in FORMATS:
                    sheet.cell(sheet.max_row, n).number_format = FORMATS[column.kind]
        if section.total:
            for cell in sheet[sheet.max_row]:
                cell.font = bold
        for n, column in enumerate(section.columns, start=1):
            letter = sheet.cell(2, n).column_letter
            sheet.column_dimensions[letter].width = max(12, min(40, len(column.title) + 4))
        if section.note:
            sheet.append([])
            sheet.append([section.note])
    moment = report.generated_at.astimezone(PARIS).replace(tzinfo=None, microsecond=0)
    book.properties.creator = f"hacienda-ledger {__version__}"
    book.properties.title = report.title
    if report.provisional:
        book.properties.keywords = PROVISIONAL
    book.properties.created = moment
    book.properties.modified = moment
    out = io.BytesIO()
    book.save(out)
    return fixed_zip_times(out.getvalue(), moment)


def _sheet_name(title: str, used: set[str]) -> str:
    base = "".join(ch for ch in title if ch not in "[]:*?/\\")[:31]
    name, n = base, 2
    while name in used:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(name)
    return name


_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def fixed_zip_times(data: bytes, moment: datetime) -> bytes:
    """Rewrite the archive with every member dated at the generation time (openpyxl dates
    them with the clock, and sets the document's modified time to the clock when it saves),
    so the same report at the same time gives the same bytes."""
    stamp = (max(moment.year, 1980), moment.month, moment.day, moment.hour, moment.minute, 0)
    when = moment.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=stamp)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = info.external_attr
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _MODIFIED.sub(rb"\g<1>" + when + rb"\g<2>", content)
            target.writestr(member, content)
    return out.getvalue()


def render(report: Report, fmt: str) -> bytes:
    if fmt == "pdf":
        return to_pdf(report)
    if fmt == "xlsx":
        return to_xlsx(report)
    if fmt == "csv":
        return to_csv(report)
    raise ValueError(f"unknown format {fmt!r}")
