"""Exports: a projection table, filtered by aires and period, as French CSV or XLSX.

Every table that names an aire (or a register) can be exported, within the caller's scope:
occupancy and revenue tables need the statistics permission, cash tables the registers one,
interventions' tables the interventions one;
cash rows are filtered register by register (a register's lines reach only those whose scope
holds the register), and an export holds at most ``export_max_rows`` rows.
Columns keep their names; ``*_cents`` columns are written in euros (a number with a decimal
comma in the CSV, a number with a euro format in the XLSX), dates as dates, decimals as
numbers. Texts that a spreadsheet would run as formulas are neutralised, numbers never
(``sheets``); the XLSX is written as a stream, in time linear in its rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from hacienda_ledger import __version__
from hacienda_ledger.aggregates.aire import Aire
from hacienda_ledger.aggregates.errors import ExportTooLarge, Forbidden, InvalidValue
from hacienda_ledger.aggregates.user import User
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.access import AireScope, Permission, authorize, in_scope
from hacienda_ledger.application.projecting import ProjectionQueries
from hacienda_ledger.reports.french import csv_text, day_fr, decimal_fr, euros, instant_fr
from hacienda_ledger.reports.render import MEDIA_TYPES
from hacienda_ledger.reports.sheets import BOLD, Book, Style

MONEY = Style('#,##0.00\\ "€"')


@dataclass(frozen=True)
class Exportable:
    projection: str
    table: str
    scope: str  # "aire_id" or "register_id": how rows are tied to the caller's scope
    period: str | None  # the date (or YYYY-MM text) column the period filters
    # "statistics" (anonymised), "registers" (cash, auditors), "interventions" (the aire's
    # work: managers, intervenants)
    audience: str
    #: a register's rows that each name the aire they concern (a deposit: its stay's aire),
    #: filtered by it when aires are named. Not the register's own ``aire_id`` column of the
    #: journal tables (account numbers): an attached register's lines concern the aire it
    #: collects for, whatever aire it was opened for.
    rows_name_their_aire: bool = False


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
        # a register's deposits, each for a stay of an aire (``aire_id``, filtered when named)
        Exportable("cash_journal", "deposit_movements", "register_id", "day", "registers", True),
        Exportable("cash_journal", "register_closures", "register_id", "last_day", "registers"),
        Exportable("cash_journal", "cash_counts", "register_id", "day", "registers"),
        Exportable("interventions", "interventions_monthly", "aire_id", "month", "interventions"),
        Exportable("interventions", "intervention_facts", "aire_id", "month", "interventions"),
    )
}

#: The permission each audience's tables need.
AUDIENCES = {
    "statistics": Permission.READ_STATISTICS,
    "registers": Permission.READ_REGISTERS,
    "interventions": Permission.READ_INTERVENTIONS,
}


@dataclass(frozen=True)
class Export:
    content: bytes
    media_type: str
    filename: str


def _spec(table: str) -> Exportable:
    spec = EXPORTS.get(table)
    if spec is None:
        raise InvalidValue(f"exportable tables: {', '.join(sorted(EXPORTS))}", field="table")
    return spec


@dataclass(frozen=True)
class ExportFilter:
    """Which rows an export holds: those of one aire, or of all (narrowed to a collectivité
    and a sector), in the period from ``start`` to ``end`` (days included)."""

    aire_id: UUID | None = None
    collectivite_id: UUID | None = None
    sector: str | None = None
    start: date | None = None
    end: date | None = None


def export(
    ledger: Ledger,
    queries: ProjectionQueries,
    user: User,
    table: str,
    where: ExportFilter = ExportFilter(),
    *,
    fmt: Literal["csv", "xlsx"] = "csv",
) -> Export:
    """A projection table as CSV or XLSX: the rows ``where`` says, of the aires in the
    user's scope and, for cash tables, of the registers in it (see ``export_scope``); at
    most ``export_max_rows`` of them (``export_too_large`` otherwise)."""
    spec = _spec(table)
    aire_ids, register_ids = export_scope(ledger, user, spec, where)
    narrowed = where.aire_id or where.collectivite_id or where.sector
    columns, rows = export_rows(
        queries,
        table,
        aire_ids=aire_ids,
        register_ids=register_ids,
        start=where.start,
        end=where.end,
        max_rows=ledger.settings.export_max_rows,
        of_aires=narrowed is not None,
    )
    moment = ledger.clock()
    content = (
        to_csv(table, columns, rows, moment)
        if fmt == "csv"
        else to_xlsx(table, columns, rows, moment)
    )
    return Export(content, MEDIA_TYPES[fmt], f"{table}.{fmt}")


def export_scope(
    ledger: Ledger, user: User, spec: Exportable, where: ExportFilter
) -> tuple[list[str], list[str]]:
    """The aires and the registers whose rows an export may hold, register by register.

    Aires: those in the user's scope, narrowed by ``where`` (an aire or a collectivité named
    outside the scope is 403, not an empty file). Registers: those collecting for these aires
    (their own and the ones attached to them) *whose own aire is in the user's scope* — the
    scope of ``GET /v1/registers/{id}/journal``. A register attached to an aire of the user's
    scope from another aire (a régie spanning aires) is not theirs to read: its lines, head
    and deposits stay out of their exports (issue 16, defect 3)."""
    permission = AUDIENCES[spec.audience]
    authorize(user, permission)
    access = ledger.access
    if where.aire_id is not None:
        authorize(user, permission, access.aire_scope(where.aire_id))
        aires = [ledger.aire(where.aire_id)]
    else:
        aires = [ledger.aire(a) for a in ledger.ids_of(Aire.Registered)]
    if where.collectivite_id is not None:
        mine = access.collectivites_in_scope(user)
        if mine is not None and where.collectivite_id not in mine:
            raise Forbidden("that collectivité is outside this user's scope")
    chosen = [
        a
        for a in aires
        if in_scope(user, AireScope(a.id, a.code, a.sector, a.collectivite_id))
        and (where.collectivite_id is None or a.collectivite_id == where.collectivite_id)
        and (where.sector is None or a.sector == where.sector)
    ]
    registers = {r for a in chosen for r in a.register_ids if access.register_in_scope(user, r)}
    return [str(a.id) for a in chosen], sorted(str(r) for r in registers)


def export_rows(
    queries: ProjectionQueries,
    table: str,
    *,
    aire_ids: Iterable[str],
    register_ids: Iterable[str],
    start: date | None,
    end: date | None,
    max_rows: int | None = None,
    of_aires: bool = False,
) -> tuple[list[str], list[dict[str, Any]]]:
    """The table's columns and the rows of the given aires (or registers) in the period; with
    ``of_aires``, a register's rows that name an aire (``deposit_movements``) only where it
    is one of the given aires. More than ``max_rows`` rows is ``export_too_large`` (no more
    than ``max_rows + 1`` are read)."""
    spec = _spec(table)
    aires = set(aire_ids)
    keys = sorted(aires if spec.scope == "aire_id" else set(register_ids))
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
    follower = queries.followers[spec.projection]
    columns = list(follower.projection.table(table).column_names)
    by_aire = of_aires and spec.rows_name_their_aire
    rows: list[dict[str, Any]] = []
    for key in keys:
        left = None if max_rows is None or by_aire else max_rows + 1 - len(rows)
        found = queries.select(
            spec.projection, table, where={spec.scope: key}, between=between, limit=left
        )
        rows.extend(r for r in found if not by_aire or r["aire_id"] in aires)
        if max_rows is not None and len(rows) > max_rows:
            raise ExportTooLarge(
                f"this export holds more than {max_rows} rows: narrow it by aire_id, "
                "collectivite_id, sector or period (from, to)"
            )
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
    """The rows as one sheet, written as a stream: amounts in euros with a euro format, dates
    as dates, texts that could run as formulas neutralised (``sheets``)."""
    book = Book()
    sheet = book.sheet(table[:31])
    sheet.row([_title(c) for c in columns], [BOLD] * len(columns))
    money = [c.endswith("_cents") for c in columns]
    styles = [MONEY if m else None for m in money]  # (days get the day format)
    for row in rows:
        values = [row[c] for c in columns]
        for n, value in enumerate(values):
            if money[n] and isinstance(value, int):
                values[n] = Decimal(value) / 100
        sheet.row(values, styles)
    return book.save(at)
