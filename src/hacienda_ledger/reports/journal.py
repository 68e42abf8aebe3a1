"""The cash journal as an auditor downloads it, and a receipt found in it.

Each line names the numbers of its debit and credit accounts (M57 for a régie or a marché,
the PCG for a DSP delegate: ``aggregates/chart.py``). The CSV follows French conventions
(semicolon, decimal comma, UTF-8 with BOM, dd/mm/yyyy, times in Europe/Paris) so that it
opens cleanly in a French Excel, and is written by ``french.csv_text``: no text in it (a
payer's name) runs as a formula. The payer's column is there only when payers are named
(« [données effacées] » once a household is erased).

A cancellation says why, who asked, when, and who approved it (``Motif``, ``Demandée par``,
``Demandée le``, ``Approuvée par``); a request, a refusal or a withdrawal is a line of its
own. Agents are named by ``agent`` (a user's name for a user's id, see ``agents``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from uuid import UUID

from hacienda_ledger.aggregates.errors import ExportTooLarge, ReceiptNotFound
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.aggregates.values import PARIS
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.projecting import ProjectionQueries
from hacienda_ledger.reports.french import LABELS, csv_text, euros

CSV_COLUMNS = [
    ("Date", "day"),
    ("Heure", "time"),
    ("N° quittance", "receipt_number"),
    ("Opération", "kind"),
    ("Nature", "revenue_type"),
    ("Mode", "method"),
    ("Recette (€)", "amount_in_cents"),
    ("Dépense (€)", "amount_out_cents"),
    ("Avance imputée (€)", "applied_cents"),
    ("Compte débit", "debit_account"),
    ("Compte crédit", "credit_account"),
    ("Solde espèces (€)", "balance_cash_cents"),
    ("Solde chèques (€)", "balance_cheque_cents"),
    ("Solde carte (€)", "balance_card_cents"),
    ("Solde virement (€)", "balance_transfer_cents"),
    ("Bordereau", "slip_number"),
    ("Quittances versées", "receipts"),
    ("Grand total perpétuel (€)", "perpetual_total_cents"),
    ("Agent", "cashier"),
    ("Motif", "reason"),
    ("Demandée par", "requested_by"),
    ("Demandée le", "requested_at"),
    ("Approuvée par", "approved_by"),
    ("Position", "position"),
    ("Empreinte", "chain_hash"),
]
PAYER_COLUMN = ("Payeur", "payer_name")


def _payer_name(payer: dict[str, Any] | None) -> str | None:
    if payer is None:
        return None
    name: str | None = "[données effacées]" if payer["erased"] else payer["name"]
    return name


AGENT_KEYS = ("cashier", "requested_by", "approved_by")


def _local(instant: str) -> datetime:
    return datetime.fromisoformat(instant.replace("Z", "+00:00")).astimezone(PARIS)


def journal_csv(
    rows: list[dict[str, Any]],
    *,
    payers: bool = False,
    agent: Callable[[str | None], str] | None = None,
) -> bytes:
    """Journal lines as CSV; with ``payers``, the payer named on each line (``payer``);
    ``agent`` names the agents (as recorded without it)."""
    columns = [*CSV_COLUMNS, PAYER_COLUMN] if payers else CSV_COLUMNS
    lines: list[list[Any]] = [[title for title, _ in columns]]
    for row in rows:
        local = _local(row["recorded_at"])
        asked = row.get("requested_at")
        values = {
            **row,
            "day": row["day"].strftime("%d/%m/%Y"),
            "time": local.strftime("%H:%M:%S"),
            "receipts": (
                f"{row['first_receipt']}-{row['last_receipt']}"
                if row["slip_number"] is not None
                else ""
            ),
            "requested_at": _local(asked).strftime("%d/%m/%Y %H:%M:%S") if asked else None,
        }
        if agent is not None:
            values.update({key: agent(row.get(key)) or None for key in AGENT_KEYS})
        if payers:
            values["payer_name"] = _payer_name(row.get("payer"))
        cells: list[Any] = []
        for _, key in columns:
            value = values.get(key)
            if key.endswith("_cents"):
                cells.append(euros(value))
            elif key in ("kind", "revenue_type", "method") and value is not None:
                cells.append(LABELS.get(value, value))
            else:
                cells.append(value)
        lines.append(cells)
    return csv_text([lines])


def export_lines(
    queries: ProjectionQueries,
    register_id: UUID,
    start: date | None,
    end: date | None,
    max_rows: int,
) -> list[dict[str, Any]]:
    """Every journal line of the period, for the CSV: at most ``max_rows`` of them (no more
    than ``max_rows + 1`` are read), ``export_too_large`` past them."""
    rows = queries.journal(register_id, start, end, limit=max_rows + 1)
    if len(rows) > max_rows:
        raise ExportTooLarge(
            f"this journal holds more than {max_rows} lines: narrow it by period (from, to)"
        )
    return rows


def csv_filename(register_id: UUID, start: date | None, end: date | None) -> str:
    return f"journal-{register_id}-{start or 'debut'}-{end or 'fin'}.csv"


def receipt(
    ledger: Ledger, queries: ProjectionQueries, register_id: UUID, number: int
) -> tuple[CashRegister.ReceiptIssued, bool]:
    """The event that issued a receipt, and whether the receipt was cancelled since (a
    cancellation asked for and not approved leaves it standing)."""
    lines = queries.receipt_lines(register_id, number)
    issued = [r for r in lines if r["kind"] == "receipt"]
    if not issued:
        raise ReceiptNotFound(f"register {register_id} has no receipt {number}")
    event = ledger.register_event(register_id, issued[0]["version"])
    assert isinstance(event, CashRegister.ReceiptIssued)
    return event, any(r["kind"] == "cancellation" for r in lines)
