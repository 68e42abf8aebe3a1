"""Audit and read models: the cash journal, a register's history as of an instant, a stay's
balance as of an instant, the technical journal (the audit trail)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from hacienda_ledger.api import schemas as s
from hacienda_ledger.api import views
from hacienda_ledger.api.deps import LedgerDep, UserDep
from hacienda_ledger.api.openapi import BINARY, CSV
from hacienda_ledger.api.pages import KeyedPageDep, keyed_cursor
from hacienda_ledger.api.params import AsOf, From, NumberPath, OptionalAsOf, To, in_order
from hacienda_ledger.api.routes.households import endpoint
from hacienda_ledger.api.schemas.common import MAX_NUMBER
from hacienda_ledger.application.access import Permission
from hacienda_ledger.application.journal import Kind
from hacienda_ledger.application.projecting import ProjectionQueries, stay_balances
from hacienda_ledger.reports import journal as cash_journal
from hacienda_ledger.reports.agents import Agents

router = APIRouter(tags=["audit"])


def queries(request: Request) -> ProjectionQueries:
    found: ProjectionQueries = request.app.state.queries
    return found


#: The journal's 200: a page of lines as JSON, or the whole period as a CSV file.
JOURNAL_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "a page of the journal's lines (JSON), or with ``format=csv`` the "
        "whole period as a CSV file",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["data", "count", "next_cursor", "summaries"],
                    "properties": {
                        "data": {"type": "array", "items": {"type": "object"}},
                        "count": {"type": "integer"},
                        "next_cursor": {"type": ["string", "null"]},
                        "summaries": {"type": ["object", "null"]},
                    },
                }
            },
            CSV.split(";")[0]: {"schema": BINARY},
        },
    }
}


@router.get(
    "/v1/registers/{register_id}/journal", response_class=Response, responses=JOURNAL_ANSWER
)
def journal(
    register_id: UUID,
    request: Request,
    ledger: LedgerDep,
    user: UserDep,
    page: KeyedPageDep,
    start: From = None,
    end: To = None,
    format: Literal["json", "csv"] = "json",
    payers: Annotated[
        bool,
        Query(
            description="name the payer on receipts and cancellations (each household whose "
            "name is read is logged in its access log)"
        ),
    ] = False,
) -> Response:
    """The cash journal: one line per register event (per line of a receipt), in sequence,
    with running balances by method. As JSON, paginated (``limit``, ``cursor``); the first
    page carries the daily and monthly summaries of the whole period asked (``null`` on the
    next ones). ``format=csv`` is the whole period (at most ``export_max_rows`` lines, 422
    ``export_too_large`` beyond) in French conventions (semicolon, decimal comma, UTF-8
    with BOM, dd/mm/yyyy) so that it opens cleanly in a French Excel, agents by name. A
    cancellation's lines carry ``reason``, ``requested_by``, ``requested_at`` and
    ``approved_by``; requests, refusals and withdrawals are lines of their own. Payers are
    named only when asked (``payers=true``), on the lines returned."""
    in_order(start, end)
    ledger.access.authorize(user, Permission.READ_REGISTERS, register_id=register_id)
    ledger.cash_register(register_id)
    found = queries(request)
    if format == "csv":
        limit = ledger.settings.export_max_rows
        rows = cash_journal.export_lines(found, register_id, start, end, limit)
        if payers:
            views.journal_payers(ledger, user, register_id, rows, endpoint(request))
        name = cash_journal.csv_filename(register_id, start, end)
        ledger.journalling.exported(
            user, {"register": register_id}, table="cash_journal", format="csv", rows=len(rows)
        )
        return Response(
            cash_journal.journal_csv(rows, payers=payers, agent=Agents(ledger).name),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    rows = found.journal(register_id, start, end, after=page.key(), limit=page.limit + 1)
    more, rows = len(rows) > page.limit, rows[: page.limit]
    next_cursor = keyed_cursor(rows[-1]["version"], rows[-1]["line"]) if more else None
    summaries = None
    if page.cursor is None:
        period = found.journal(register_id, start, end) if more else rows
        summaries = found.journal_summaries(period)
    if payers:
        views.journal_payers(ledger, user, register_id, rows, endpoint(request))
    body = views.journal(rows, summaries, next_cursor)
    return Response(json.dumps(body), media_type="application/json")


@router.get("/v1/registers/{register_id}/receipts/{number}", response_model=s.ReceiptDocumentPublic)
def get_receipt(
    register_id: UUID, number: NumberPath, request: Request, ledger: LedgerDep, user: UserDep
) -> s.ReceiptDocumentPublic:
    """A receipt (quittance) as given to the payer: lines, method, whether it was
    cancelled, and the payer's name (null once erased; the read is logged)."""
    ledger.access.authorize(user, Permission.READ_REGISTERS, register_id=register_id)
    event, cancelled = cash_journal.receipt(ledger, queries(request), register_id, number)
    names = (
        ledger.households.payer_names(user, [event.household_ref], endpoint=endpoint(request))
        if event.household_ref is not None
        else {}
    )
    return s.ReceiptDocumentPublic(
        register_id=register_id,
        number=event.number,
        issued_at=event.timestamp,
        aire_id=event.aire_id,
        stay_id=event.stay_id,
        payer=views.payer(event.household_ref, names),
        method=event.method,
        lines=[
            s.ReceiptLinePublic(revenue_type=x.revenue_type, amount_cents=x.amount_cents)
            for x in event.lines
        ],
        total_cents=event.total_cents,
        cancelled=cancelled,
        cashier=event.actor,
        hash=event.hash,
        version=event.originator_version,
    )


@router.get("/v1/registers/{register_id}/history")
def history(register_id: UUID, as_of: AsOf, ledger: LedgerDep, user: UserDep) -> dict[str, Any]:
    """The register rebuilt from its own events up to ``as_of`` (no projection read): last
    receipt number, receipts, balances, totals of the open year, last closure, chain head,
    and the chain verified up to there."""
    ledger.access.authorize(user, Permission.READ_REGISTERS, register_id=register_id)
    found = ledger.audit.register_history(register_id, as_of)
    return views.register_history(register_id, as_of, found)


@router.get("/v1/stays/{stay_id}/balance")
def stay_balance(
    stay_id: UUID,
    request: Request,
    ledger: LedgerDep,
    user: UserDep,
    as_of: OptionalAsOf = None,
) -> dict[str, Any]:
    """What the household owes on this stay (receivable) and the deposit held for it, now
    or as of an instant, from the balances projection."""
    ledger.access.authorize(user, Permission.READ_STAYS, stay_id=stay_id)
    ledger.stay(stay_id)
    due, held = stay_balances(queries(request), stay_id, as_of)
    return {
        "stay_id": str(stay_id),
        "as_of": as_of.isoformat() if as_of else None,
        "balance_due_cents": due,
        "deposit_held_cents": held,
    }


@router.get("/v1/audit-trail", response_model=s.AuditTrailPublic)
def audit_trail(
    ledger: LedgerDep,
    user: UserDep,
    page: KeyedPageDep,
    start: From = None,
    end: To = None,
    kind: Annotated[list[Kind] | None, Query(description="entries of these kinds only")] = None,
) -> s.AuditTrailPublic:
    """The technical journal (JET), oldest first, paginated (``limit``, ``cursor``): logins
    refused, users and tokens created, exports and downloads, erasures, keys, seals,
    rebuilds, server starts. An admin reads every entry; an auditor those of their
    collectivité. Filtered by the Paris days ``from`` to ``to`` (included) and by kind.
    Each entry carries ``prev_hash`` and ``hash`` (docs/integrity.md)."""
    in_order(start, end)
    key = page.key()
    found = ledger.journalling.trail(
        user,
        after=min(key[0], MAX_NUMBER) if key else 0,  # past every entry: an empty page
        limit=page.limit + 1,
        kinds=[k.value for k in kind or ()],
        start=start,
        end=end,
    )
    more, found = len(found) > page.limit, found[: page.limit]
    data = [s.AuditEntryPublic.model_validate(e, from_attributes=True) for e in found]
    next_cursor = keyed_cursor(found[-1].sequence, 0) if more else None
    return s.AuditTrailPublic(data=data, count=len(data), next_cursor=next_cursor)
