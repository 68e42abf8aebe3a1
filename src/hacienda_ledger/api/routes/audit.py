"""Audit and read models: the cash journal, a register's history as of an instant, a stay's
balance as of an instant."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime

from hacienda_ledger.aggregates.accounts import deposits, receivable
from hacienda_ledger.aggregates.errors import ReceiptNotFound
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.aggregates.user import User
from hacienda_ledger.aggregates.values import PARIS
from hacienda_ledger.api import schemas as s
from hacienda_ledger.api import views
from hacienda_ledger.api.deps import LedgerDep, UserDep
from hacienda_ledger.api.routes.households import endpoint
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.access import Permission
from hacienda_ledger.application.projecting import ProjectionQueries
from hacienda_ledger.reports.french import LABELS, euros

router = APIRouter(tags=["audit"])

AwareDatetimeQuery = Annotated[AwareDatetime, Query(description="ISO 8601 with offset")]
OptionalAwareDatetimeQuery = Annotated[
    AwareDatetime | None, Query(description="ISO 8601 with offset")
]

CSV_COLUMNS = [
    ("Date", "day"),
    ("Heure", "time"),
    ("N° quittance", "receipt_number"),
    ("Opération", "kind"),
    ("Nature", "revenue_type"),
    ("Mode", "method"),
    ("Recette (€)", "amount_in_cents"),
    ("Dépense (€)", "amount_out_cents"),
    ("Solde espèces (€)", "balance_cash_cents"),
    ("Solde chèques (€)", "balance_cheque_cents"),
    ("Solde carte (€)", "balance_card_cents"),
    ("Solde virement (€)", "balance_transfer_cents"),
    ("Bordereau", "slip_number"),
    ("Quittances versées", "receipts"),
    ("Grand total perpétuel (€)", "perpetual_total_cents"),
    ("Agent", "cashier"),
    ("Position", "position"),
    ("Empreinte", "chain_hash"),
]
PAYER_COLUMN = ("Payeur", "payer_name")


def queries(request: Request) -> ProjectionQueries:
    found: ProjectionQueries = request.app.state.queries
    return found


def journal_csv(rows: list[dict[str, Any]], *, payers: bool = False) -> str:
    columns = [*CSV_COLUMNS, PAYER_COLUMN] if payers else CSV_COLUMNS
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([title for title, _ in columns])
    for row in rows:
        local = datetime.fromisoformat(row["recorded_at"].replace("Z", "+00:00")).astimezone(PARIS)
        values = {
            **row,
            "day": row["day"].strftime("%d/%m/%Y"),
            "time": local.strftime("%H:%M:%S"),
            "receipts": (
                f"{row['first_receipt']}-{row['last_receipt']}"
                if row["slip_number"] is not None
                else ""
            ),
        }
        cells = []
        for _, key in columns:
            value = values.get(key)
            if key.endswith("_cents"):
                cells.append(euros(value))
            elif key in ("kind", "revenue_type", "method") and value is not None:
                cells.append(LABELS.get(value, value))
            else:
                cells.append("" if value is None else str(value))
        writer.writerow(cells)
    return out.getvalue()


def _payers(
    ledger: Ledger, user: User, register_id: UUID, rows: list[dict[str, Any]], endpoint: str
) -> None:
    """Name the payer on the journal lines of receipts and cancellations (``payer`` with the
    household id, its name or null once erased); every name read is logged."""
    versions = {r["version"] for r in rows if r["kind"] in ("receipt", "cancellation")}
    household_of = {
        v: getattr(ledger.register_event(register_id, v), "household_ref", None) for v in versions
    }
    names = ledger.payer_names(
        user, [h for h in household_of.values() if h is not None], endpoint=endpoint
    )
    for row in rows:
        found = views.payer(household_of.get(row["version"]), names)
        row["payer"] = found.model_dump(mode="json") if found else None
        row["payer_name"] = (
            "[données effacées]" if found and found.erased else (found.name if found else None)
        )


@router.get("/v1/registers/{register_id}/journal")
def journal(
    register_id: UUID,
    request: Request,
    ledger: LedgerDep,
    user: UserDep,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
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
    with running balances by method. ``format=csv`` follows French conventions (semicolon,
    decimal comma, UTF-8 with BOM, dd/mm/yyyy) so that it opens cleanly in a French Excel.
    Payers are named only when asked (``payers=true``)."""
    ledger.authorize(user, Permission.READ_REGISTERS, register_id=register_id)
    ledger.register(register_id)
    rows = queries(request).journal(register_id, start, end)
    if payers:
        _payers(ledger, user, register_id, rows, endpoint(request))
    if format == "csv":
        name = f"journal-{register_id}-{start or 'debut'}-{end or 'fin'}.csv"
        return Response(
            journal_csv(rows, payers=payers),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    for row in rows:
        row.pop("payer_name", None)
    body = {
        "data": [{**r, "day": r["day"].isoformat()} for r in rows],
        "count": len(rows),
        "summaries": queries(request).journal_summaries(rows),
    }
    return Response(json.dumps(body), media_type="application/json")


@router.get("/v1/registers/{register_id}/receipts/{number}", response_model=s.ReceiptDocumentPublic)
def get_receipt(
    register_id: UUID, number: int, request: Request, ledger: LedgerDep, user: UserDep
) -> s.ReceiptDocumentPublic:
    """A receipt (quittance) as given to the payer: lines, method, whether it was
    cancelled, and the payer's name (null once erased; the read is logged)."""
    ledger.authorize(user, Permission.READ_REGISTERS, register_id=register_id)
    lines = queries(request).receipt_lines(register_id, number)
    issued = [r for r in lines if r["kind"] == "receipt"]
    if not issued:
        raise ReceiptNotFound(f"register {register_id} has no receipt {number}")
    event = ledger.register_event(register_id, issued[0]["version"])
    assert isinstance(event, CashRegister.ReceiptIssued)
    names = (
        ledger.payer_names(user, [event.household_ref], endpoint=endpoint(request))
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
            s.ReceiptLine(revenue_type=x.revenue_type, amount_cents=x.amount_cents)
            for x in event.lines
        ],
        total_cents=event.total_cents,
        cancelled=any(r["kind"] == "cancellation" for r in lines),
        cashier=event.actor,
        hash=event.hash,
        version=event.originator_version,
    )


@router.get("/v1/registers/{register_id}/history")
def history(
    register_id: UUID, as_of: AwareDatetimeQuery, ledger: LedgerDep, user: UserDep
) -> dict[str, Any]:
    """The register rebuilt from its own events up to ``as_of`` (no projection read): last
    receipt number, receipts, balances, totals of the open year, last closure, chain head,
    and the chain verified up to there."""
    ledger.authorize(user, Permission.READ_REGISTERS, register_id=register_id)
    found = ledger.register_history(register_id, as_of)
    register = found["register"]
    totals = found["open_year_totals"]
    last_closure = None
    if register.last_closure is not None:
        period, first, last, version = register.last_closure
        last_closure = {"period": period, "start": first, "end": last, "version": version}
    return {
        "as_of": as_of.isoformat(),
        "version": register.version,
        "last_receipt_number": register.last_number,
        "receipt_count": register.last_number,
        "balances": {f"{m}_cents": c for m, c in register.balances.items()},
        "deposits_held_cents": sum(register.deposits_held.values()),
        "totals": {
            "by_revenue_type_cents": totals.by_revenue_type,
            "by_method_cents": totals.by_method,
            "receipts": totals.receipts,
            "cancellations": totals.cancellations,
            "perpetual_total_cents": register.perpetual_total_cents,
        },
        "last_closure": last_closure,
        "head_hash": register.head_hash,
        "verification": views.verification(register_id, found["verification"]).model_dump(
            mode="json"
        ),
    }


@router.get("/v1/stays/{stay_id}/balance")
def stay_balance(
    stay_id: UUID,
    request: Request,
    ledger: LedgerDep,
    user: UserDep,
    as_of: OptionalAwareDatetimeQuery = None,
) -> dict[str, Any]:
    """What the household owes on this stay (receivable) and the deposit held for it, now
    or as of an instant, from the balances projection."""
    ledger.authorize(user, Permission.READ_STAYS, stay_id=stay_id)
    ledger.stay(stay_id)
    found = queries(request).account_balances([receivable(stay_id), deposits(stay_id)], as_of)
    return {
        "stay_id": str(stay_id),
        "as_of": as_of.isoformat() if as_of else None,
        "balance_due_cents": found[receivable(stay_id)],
        "deposit_held_cents": -found[deposits(stay_id)],
    }
