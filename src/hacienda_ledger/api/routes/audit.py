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
from hacienda_ledger.aggregates.values import PARIS
from hacienda_ledger.api import views
from hacienda_ledger.api.deps import LedgerDep, UserDep
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


def queries(request: Request) -> ProjectionQueries:
    found: ProjectionQueries = request.app.state.queries
    return found


def journal_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([title for title, _ in CSV_COLUMNS])
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
        for _, key in CSV_COLUMNS:
            value = values.get(key)
            if key.endswith("_cents"):
                cells.append(euros(value))
            elif key in ("kind", "revenue_type", "method") and value is not None:
                cells.append(LABELS.get(value, value))
            else:
                cells.append("" if value is None else str(value))
        writer.writerow(cells)
    return out.getvalue()


@router.get("/v1/registers/{register_id}/journal")
def journal(
    register_id: UUID,
    request: Request,
    ledger: LedgerDep,
    user: UserDep,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    format: Literal["json", "csv"] = "json",
) -> Response:
    """The cash journal: one line per register event (per line of a receipt), in sequence,
    with running balances by method. ``format=csv`` follows French conventions (semicolon,
    decimal comma, UTF-8 with BOM, dd/mm/yyyy) so that it opens cleanly in a French Excel."""
    ledger.authorize(user, Permission.READ_REGISTERS, register_id=register_id)
    ledger.register(register_id)
    rows = queries(request).journal(register_id, start, end)
    if format == "csv":
        name = f"journal-{register_id}-{start or 'debut'}-{end or 'fin'}.csv"
        return Response(
            journal_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    body = {
        "data": [{**r, "day": r["day"].isoformat()} for r in rows],
        "count": len(rows),
        "summaries": queries(request).journal_summaries(rows),
    }
    return Response(json.dumps(body), media_type="application/json")


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
