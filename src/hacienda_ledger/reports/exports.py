"""Exports: a projection table, filtered by aires and period, as French CSV or XLSX.

Every table that names an aire (or a register) can be exported. Columns keep their names;
``*_cents`` columns are written in euros (a number with a decimal comma in the CSV, a
number with a euro format in the XLSX), dates as dates, decimals as numbers.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from hacienda_ledger import __version__
from hacienda_ledger.aggregates.errors import InvalidValue
from hacienda_ledger.aggregates.values import PARIS
from hacienda_ledger.application.projecting import ProjectionQueries
from hacienda_ledger.reports.french import csv_text, day_fr, decimal_fr, euros, instant_fr
from hacienda_ledger.reports.render import fixed_zip_times


@dataclass(frozen=True)
class Exportable:
    projection: str
    table: str
    scope: str  # "aire_id" or "register_id": how rows are tied to an aire
    period: str | None  # the date (or YYYY-MM text) column the period filters
    audience: str  # "statistics" (anonymised) or "registers" (cash, auditors)


EXPORTS = {
    e.table: e
    for e in (
        Exportable("revenue", "revenue_monthly", "aire_id", "month", "statistics"),
        Exportable("occupancy", "occupancy_emplacements", "aire_id", "added_on", "statistics"),
        Exportable("occupancy", "occupancy_out_of_service", "aire_id", "start_day", "statistics"),
        Exportable("occupancy", "occupancy_closures", "aire_id", "first_day", "statistics"),
        Exportable("occupancy", "occupancy_stays", "aire_id", "arrival_day", "statistics"),
        Exportable("occupancy", "occupancy_stay_people", "aire_id", None, "statistics"),
        Exportable("occupancy", "occupancy_extensions", "aire_id", "granted_on", "statistics"),
        Exportable("cash_journal", "cash_journal", "register_id", "day", "registers"),
        Exportable("cash_journal", "journal_heads", "register_id", None, "registers"),
        Exportable("cash_journal", "deposit_movements", "aire_id", "day", "registers"),
    )
}


def export_rows(
    queries: ProjectionQueries,
    table: str,
    *,
    aire_ids: Iterable[str],
    register_ids: Iterable[str],
    start: date | None,
    end: date | None,
) -> tuple[list[str], list[dict[str, Any]]]:
    """The table's columns and the rows of the given aires (or registers) in the period."""
    spec = EXPORTS.get(table)
    if spec is None:
        raise InvalidValue(f"exportable tables: {', '.join(sorted(EXPORTS))}", field="table")
    keys = sorted(set(aire_ids if spec.scope == "aire_id" else register_ids))
    between: tuple[str, Any, Any] | None = None
    if spec.period is not None and (start or end):
        if spec.period == "month":
            between = (
                "month",
                start.isoformat()[:7] if start else None,
                end.isoformat()[:7] if end else None,
            )
        else:
            between = (spec.period, start, end)
    rows: list[dict[str, Any]] = []
    for key in keys:
        rows.extend(
            queries.select(spec.projection, table, where={spec.scope: key}, between=between)
        )
    follower = queries.followers[spec.projection]
    columns = list(follower.projection.table(table).column_names)
    return columns, rows


def _title(column: str) -> str:
    return column[: -len("_cents")] + " (€)" if column.endswith("_cents") else column


def _csv(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column.endswith("_cents") and isinstance(value, int):
        return euros(value)
    if isinstance(value, date):
        return day_fr(value)
    if isinstance(value, Decimal):
        return decimal_fr(value, max(-value.as_tuple().exponent, 0))  # type: ignore[operator]
    if isinstance(value, bool):
        return "oui" if value else "non"
    return str(value)


def to_csv(table: str, columns: list[str], rows: list[dict[str, Any]], at: datetime) -> bytes:
    head = [
        [f"Export {table}"],
        ["Généré le", instant_fr(at)],
        ["Logiciel", f"hacienda-ledger {__version__}"],
    ]
    body = [[_title(c) for c in columns], *([_csv(c, r[c]) for c in columns] for r in rows)]
    return csv_text([head, body])


def to_xlsx(table: str, columns: list[str], rows: list[dict[str, Any]], at: datetime) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = table[:31]
    sheet.append([_title(c) for c in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        values = []
        for c in columns:
            value = row[c]
            if c.endswith("_cents") and isinstance(value, int):
                value = Decimal(value) / 100
            values.append(value)
        sheet.append(values)
        for n, c in enumerate(columns, start=1):
            cell = sheet.cell(sheet.max_row, n)
            if c.endswith("_cents"):
                cell.number_format = '#,##0.00\\ "€"'
            elif isinstance(row[c], date):
                cell.number_format = "DD/MM/YYYY"
    moment = at.astimezone(PARIS).replace(tzinfo=None, microsecond=0)
    book.properties.creator = f"hacienda-ledger {__version__}"
    book.properties.created = moment
    book.properties.modified = moment
    out = io.BytesIO()
    book.save(out)
    return fixed_zip_times(out.getvalue(), moment)
