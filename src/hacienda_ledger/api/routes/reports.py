"""Reports: the stored reports (listed within the caller's scope, downloaded with their
SHA-256), receipts, deposit receipts and remittance slips as PDF (reprints marked
« DUPLICATA n°k » and recorded), and exports of projection tables."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from hacienda_ledger.aggregates.aire import Aire
from hacienda_ledger.aggregates.errors import InvalidValue, ReportNotFound
from hacienda_ledger.aggregates.household import Erased
from hacienda_ledger.aggregates.user import User
from hacienda_ledger.api.deps import LedgerDep, UserDep
from hacienda_ledger.api.routes.households import endpoint
from hacienda_ledger.api.schemas import ReportPublic, ReportsPublic
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.access import (
    AireScope,
    Permission,
    authorize,
    in_scope,
    may_read_report,
)
from hacienda_ledger.reports import exports
from hacienda_ledger.reports.documents import Documents, PayerName
from hacienda_ledger.reports.generate import Reports
from hacienda_ledger.reports.render import MEDIA_TYPES
from hacienda_ledger.reports.store import valid_id

router = APIRouter(tags=["reports"])

Document = Literal["receipt", "deposit_receipt", "slip"]
ReportKind = Literal["monthly", "alt2", "alt2_summary", "dsp"]
PeriodQuery = Annotated[
    str | None,
    Query(pattern=r"^(20\d\d|2100)(-(0[1-9]|1[0-2]))?$", description="YYYY-MM or YYYY"),
]


def reports_of(request: Request) -> Reports:
    found: Reports = request.app.state.reports
    return found


def _pdf(content: bytes, filename: str, **headers: str) -> Response:
    return Response(
        content,
        media_type=MEDIA_TYPES["pdf"],
        headers={"Content-Disposition": f'inline; filename="{filename}"', **headers},
    )


@router.get("/v1/reports", response_model=ReportsPublic)
def list_reports(
    request: Request,
    ledger: LedgerDep,
    user: UserDep,
    kind: ReportKind | None = None,
    aire_id: UUID | None = None,
    period: PeriodQuery = None,
) -> ReportsPublic:
    """The stored reports the caller may read: a collectivité's auditors see their own aires,
    managers their sectors, cashiers their aires, analysts the anonymised reports only
    (ALT2, DSP), admins everything. Filter by kind, aire and period (``YYYY-MM`` for
    monthly reports, ``YYYY`` for annual ones)."""
    authorize(user, Permission.READ_REPORTS)
    found = reports_of(request).store.list(
        kind=kind, aire_id=str(aire_id) if aire_id else None, period=period
    )
    visible = [
        r
        for r in found
        if may_read_report(user, r.kind, ledger.aire_scope(UUID(r.aire_id)) if r.aire_id else None)
    ]
    data = [ReportPublic.model_validate(r, from_attributes=True) for r in visible]
    return ReportsPublic(data=data, count=len(data))


@router.get("/v1/reports/{report_id}")
def download_report(report_id: str, request: Request, ledger: LedgerDep, user: UserDep) -> Response:
    """The report's file, with its SHA-256 in ``X-Content-SHA256`` (the digest stored when it
    was generated). A report outside the caller's scope is not found."""
    authorize(user, Permission.READ_REPORTS)
    stored, content = reports_of(request).store.get(valid_id(report_id))
    scope = ledger.aire_scope(UUID(stored.aire_id)) if stored.aire_id else None
    if not may_read_report(user, stored.kind, scope):
        raise ReportNotFound(f"no report {report_id}")
    return Response(
        content,
        media_type=stored.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{stored.filename}"',
            "X-Content-SHA256": stored.sha256,
        },
    )


def _payer_names(ledger: Ledger, user: User, request: Request) -> PayerName:
    """The payer's display name on a receipt (each read recorded in the household's access
    log), « [données effacées] » once its personal data is erased."""

    def name(household_id: UUID) -> str | None:
        names = ledger.payer_names(user, [household_id], endpoint=endpoint(request))
        found = names.get(household_id)
        if found is None:
            return None
        return "[données effacées]" if isinstance(found, Erased) else str(found)

    return name


@router.get("/v1/registers/{register_id}/documents/{document}/{number}")
def document_pdf(
    register_id: UUID,
    document: Document,
    number: int,
    request: Request,
    ledger: LedgerDep,
    user: UserDep,
) -> Response:
    """A receipt (``receipt``, by receipt number), deposit receipt (``deposit_receipt``, by
    the number of the receipt that took the deposit) or remittance slip (``slip``, by slip
    number) as PDF: the original print, identical every time it is asked for."""
    ledger.authorize(user, Permission.READ_REGISTERS, register_id=register_id)
    ledger.register(register_id)
    documents = Documents(reports_of(request).figures, _payer_names(ledger, user, request))
    printed = documents.render(register_id, document, number)
    return _pdf(printed.content, printed.filename)


@router.post("/v1/registers/{register_id}/documents/{document}/{number}/reprints")
def reprint(
    register_id: UUID,
    document: Document,
    number: int,
    request: Request,
    ledger: LedgerDep,
    user: UserDep,
) -> Response:
    """Print a document again: the same PDF marked « DUPLICATA n°k ». Each reprint is
    recorded on the register (``CashRegister.DocumentReprinted``, in its hash chain), which
    numbers the copies; ``X-Copy`` gives k."""
    ledger.authorize(user, Permission.HANDLE_CASH, register_id=register_id)
    ledger.register(register_id)
    documents = Documents(reports_of(request).figures, _payer_names(ledger, user, request))
    documents.check(register_id, document, number)
    outcome = ledger.record_reprint(
        register_id, document=document, number=number, actor=str(user.id)
    )
    copy = int(outcome.result["copy"])
    printed = documents.render(register_id, document, number, copy=copy)
    return _pdf(printed.content, printed.filename, **{"X-Copy": str(copy)})


@router.get("/v1/exports/{table}")
def export(
    table: str,
    request: Request,
    ledger: LedgerDep,
    user: UserDep,
    aire_id: UUID | None = None,
    collectivite_id: UUID | None = None,
    sector: str | None = None,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    format: Literal["csv", "xlsx"] = "csv",
) -> Response:
    """A projection table as CSV (French conventions) or XLSX, filtered by aire,
    collectivité, sector and period (``from``/``to``, days included), within the caller's
    scope. Occupancy and revenue tables need the statistics permission; cash tables
    (``cash_journal``, ``journal_heads``, ``deposit_movements``) the registers one."""
    spec = exports.EXPORTS.get(table)
    if spec is None:
        raise InvalidValue(
            f"exportable tables: {', '.join(sorted(exports.EXPORTS))}", field="table"
        )
    permission = (
        Permission.READ_STATISTICS if spec.audience == "statistics" else Permission.READ_REGISTERS
    )
    authorize(user, permission)
    if aire_id is not None:
        authorize(user, permission, ledger.aire_scope(aire_id))
        aires = [ledger.aire(aire_id)]
    else:
        aires = [ledger.aire(a) for a in ledger.ids_of(Aire.Registered)]
    chosen = [
        a
        for a in aires
        if in_scope(user, AireScope(a.id, a.code, a.sector, a.collectivite_id))
        and (collectivite_id is None or a.collectivite_id == collectivite_id)
        and (sector is None or a.sector == sector)
    ]
    columns, rows = exports.export_rows(
        reports_of(request).queries,
        table,
        aire_ids=[str(a.id) for a in chosen],
        register_ids=[str(r) for a in chosen for r in a.register_ids],
        start=start,
        end=end,
    )
    moment = ledger.clock()
    content = (
        exports.to_csv(table, columns, rows, moment)
        if format == "csv"
        else exports.to_xlsx(table, columns, rows, moment)
    )
    return Response(
        content,
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{table}.{format}"'},
    )
