"""Reports: the stored reports (listed within the caller's scope, downloaded with their
SHA-256), receipts, deposit receipts and remittance slips as PDF (reprints marked
« DUPLICATA n°k » and recorded), and exports of projection tables."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from hacienda_ledger.aggregates.user import User
from hacienda_ledger.api.deps import LedgerDep, UserDep
from hacienda_ledger.api.openapi import CSV, PDF, XLSX, files
from hacienda_ledger.api.pages import PageDep
from hacienda_ledger.api.params import NumberPath, in_order
from hacienda_ledger.api.routes.households import endpoint
from hacienda_ledger.api.schemas import ReportPublic, ReportsPublic
from hacienda_ledger.api.schemas.common import PERIOD_PATTERN, Day, QueryText
from hacienda_ledger.application import Ledger
from hacienda_ledger.application import commands as c
from hacienda_ledger.application.access import Permission
from hacienda_ledger.application.journal import Kind
from hacienda_ledger.application.journalling import csv_rows
from hacienda_ledger.reports import exports, reading
from hacienda_ledger.reports.documents import Documents, payer_names
from hacienda_ledger.reports.generate import Reports
from hacienda_ledger.reports.render import MEDIA_TYPES

router = APIRouter(tags=["reports"])

Document = Literal["receipt", "deposit_receipt", "slip"]


class ReportsQuery(BaseModel):
    """The query parameters of ``GET /v1/reports``: which stored reports it lists."""

    kind: Literal["monthly", "alt2", "alt2_summary", "dsp"] | None = None
    aire_id: UUID | None = None
    period: str | None = Field(
        None, pattern=PERIOD_PATTERN, description="YYYY-MM or YYYY, 2000 to 2099"
    )


class ExportQuery(BaseModel):
    """The query parameters of ``GET /v1/exports/{table}``: which rows, in which format."""

    aire_id: UUID | None = None
    collectivite_id: UUID | None = None
    sector: QueryText | None = Field(None, max_length=200)
    start: Day | None = Field(None, alias="from")
    end: Day | None = Field(None, alias="to")
    format: Literal["csv", "xlsx"] = "csv"


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
    query: Annotated[ReportsQuery, Query()],
    page: PageDep,
) -> ReportsPublic:
    """The stored reports the caller may read: a collectivité's auditors see their own aires,
    managers their sectors, cashiers their aires, analysts the anonymised reports only
    (ALT2, DSP), admins everything. Filter by kind, aire (one outside the caller's scope is
    403) and period (``YYYY-MM`` for monthly reports, ``YYYY`` for annual ones); paginated."""
    store = reports_of(request).store
    visible, next_cursor = page.page(reading.readable(ledger, store, user, **query.model_dump()))
    data = [ReportPublic.model_validate(r, from_attributes=True) for r in visible]
    return ReportsPublic(data=data, count=len(data), next_cursor=next_cursor)


@router.get(
    "/v1/reports/{report_id}",
    response_class=Response,
    responses=files(
        "the report's file: PDF, XLSX or CSV, as it was generated",
        PDF,
        XLSX,
        CSV,
        headers={"X-Content-SHA256": "the file's SHA-256, stored when it was generated"},
    ),
)
def download_report(report_id: str, request: Request, ledger: LedgerDep, user: UserDep) -> Response:
    """The report's file, with its SHA-256 in ``X-Content-SHA256`` (the digest stored when it
    was generated). A report outside the caller's scope is not found."""
    stored, content = reading.read(ledger, reports_of(request).store, user, report_id)
    ledger.journalling.read(
        str(user.id),
        Kind.DOWNLOAD,
        {"report": report_id, "aire": stored.aire_id or None},
        collectivites={UUID(stored.collectivite_id)} if stored.collectivite_id else None,
        report=stored.kind,
        format=stored.format,
        bytes=len(content),
    )
    return Response(
        content,
        media_type=stored.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{stored.filename}"',
            "X-Content-SHA256": stored.sha256,
        },
    )


def _documents(
    request: Request, ledger: Ledger, user: User, permission: Permission, register_id: UUID
) -> Documents:
    """The register's documents, once ``permission`` on it is checked (and it exists)."""
    ledger.access.authorize(user, permission, register_id=register_id)
    ledger.cash_register(register_id)
    return Documents(reports_of(request).figures, payer_names(ledger, user, endpoint(request)))


def _downloaded(
    ledger: Ledger, user: User, register_id: UUID, document: str, number: int, printed: str
) -> None:
    """A document printed, in the technical journal."""
    ledger.journalling.read(
        str(user.id),
        Kind.DOWNLOAD,
        {"register": register_id},
        document=document,
        number=number,
        print=printed,
    )


@router.get(
    "/v1/registers/{register_id}/documents/{document}/{number}",
    response_class=Response,
    responses=files(
        "the document as PDF",
        PDF,
        headers={"X-Print": "`original` (the one original, now given) or `copie`"},
    ),
)
def document_pdf(
    register_id: UUID,
    document: Document,
    number: NumberPath,
    request: Request,
    ledger: LedgerDep,
    user: UserDep,
) -> Response:
    """A receipt (``receipt``, by receipt number), deposit receipt (``deposit_receipt``, by
    the number of the receipt that took the deposit) or remittance slip (``slip``, by slip
    number) as PDF. Its **original** is given once: to the first who asks among those who
    handle the register's cash, and that print is recorded on the register
    (``DocumentPrinted``). Every other answer is a **copy for consultation**, marked
    « COPIE », the same bytes every time, recorded nowhere; a duplicata to hand over again
    is ``POST …/reprints``. ``X-Print`` says which: ``original`` or ``copie``."""
    documents = _documents(request, ledger, user, Permission.READ_REGISTERS, register_id)
    documents.check(register_id, document, number)
    original = False
    if ledger.access.permits(user, Permission.HANDLE_CASH, register_id=register_id):
        first = c.PrintDocument(register_id, document=document, number=number, actor=str(user.id))
        original = bool(ledger.handle(first, user).result["original"])
    printed = documents.render(register_id, document, number, consultation=not original)
    _downloaded(ledger, user, register_id, document, number, "original" if original else "copie")
    return _pdf(
        printed.content, printed.filename, **{"X-Print": "original" if original else "copie"}
    )


@router.post(
    "/v1/registers/{register_id}/documents/{document}/{number}/reprints",
    response_class=Response,
    responses=files(
        "the document as PDF, marked « DUPLICATA n°k »",
        PDF,
        headers={"X-Copy": "k, the number of this duplicata"},
    ),
)
def reprint(
    register_id: UUID,
    document: Document,
    number: NumberPath,
    request: Request,
    ledger: LedgerDep,
    user: UserDep,
) -> Response:
    """Print a document again: the same PDF marked « DUPLICATA n°k ». Each reprint is
    recorded on the register (``CashRegister.DocumentReprinted``, in its hash chain), which
    numbers the copies; ``X-Copy`` gives k."""
    documents = _documents(request, ledger, user, Permission.HANDLE_CASH, register_id)
    documents.check(register_id, document, number)
    reprint = c.RecordReprint(register_id, document=document, number=number, actor=str(user.id))
    outcome = ledger.handle(reprint, user)
    copy = int(outcome.result["copy"])
    printed = documents.render(register_id, document, number, copy=copy)
    _downloaded(ledger, user, register_id, document, number, f"duplicata {copy}")
    return _pdf(printed.content, printed.filename, **{"X-Copy": str(copy)})


@router.get(
    "/v1/exports/{table}",
    response_class=Response,
    responses=files("the rows as CSV (`format=csv`) or XLSX (`format=xlsx`)", CSV, XLSX),
)
def export(
    table: Annotated[
        str,
        Path(
            description="the projection table",
            json_schema_extra={"enum": sorted(exports.EXPORTS)},
        ),
    ],
    request: Request,
    ledger: LedgerDep,
    user: UserDep,
    query: Annotated[ExportQuery, Query()],
) -> Response:
    """A projection table as CSV (French conventions) or XLSX, filtered by aire,
    collectivité, sector and period (``from``/``to``, days included), within the caller's
    scope. Occupancy and revenue tables need the statistics permission; cash tables
    (``cash_journal``, ``journal_heads``, ``deposit_movements``) the registers one, and hold
    only the rows of registers in the caller's scope; the interventions' tables
    (``interventions_monthly``, ``intervention_facts``) the interventions one. An aire or a
    collectivité named outside the scope is 403; more than ``export_max_rows`` rows is 422
    ``export_too_large``."""
    in_order(query.start, query.end)
    where = exports.ExportFilter(**query.model_dump(exclude={"format"}))
    found = exports.export(
        ledger, reports_of(request).queries, user, table, where, fmt=query.format
    )
    ledger.journalling.exported(
        user,
        {"aire": query.aire_id, "collectivite": query.collectivite_id},
        table=table,
        format=query.format,
        rows=csv_rows(found.content) if query.format == "csv" else None,
        bytes=len(found.content),
    )
    return Response(
        found.content,
        media_type=found.media_type,
        headers={"Content-Disposition": f'attachment; filename="{found.filename}"'},
    )
