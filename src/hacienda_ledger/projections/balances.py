"""Balances of every account of the chart, and the postings behind them (for "as of").

Each financial event's journal entry (``aggregates.accounts.entry_for``, as pairs:
``entry_lines``) becomes postings numbered by stream position: one per account the event
moves, its net amount there (a charge of three lines posts one debit to the stay's
receivable), numbered ``seq`` in the entry's order of first appearance; the entry's lines
themselves are the event's (and the cash journal's). ``balances`` is their running sum per
account. A balance as of an instant is the sum of the postings recorded up to it.
``stays`` links a stay to its household and aire, for receivables per household.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hacienda_ledger.aggregates.accounts import entry_lines
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.aggregates.stay import Stay
from hacienda_ledger.projections.base import (
    Projection,
    Row,
    Rows,
    last_one,
    paris_day,
    table,
    topics_of,
)

FINANCIAL = (
    Stay.ChargesAssessed,
    CashRegister.Opened,
    CashRegister.ReceiptIssued,
    CashRegister.ReceiptCancelled,
    CashRegister.DepositRefunded,
    CashRegister.DepositWithheld,
    CashRegister.AdvanceApplied,
    CashRegister.AdvanceRefunded,
    CashRegister.RemittanceMade,
    CashRegister.CashOver,
    CashRegister.CashShort,
    CashRegister.CashDifferenceRegularised,
)


@last_one
def instant(moment: datetime) -> str:
    """A recorded time as fixed-width UTC text, so that text order is time order
    (``%Y-%m-%dT%H:%M:%S.%fZ``, written by ``isoformat``, several times faster than
    ``strftime``; years before 1000, which ``isoformat`` pads, by ``strftime``).
    Remembered for the event being folded (``last_one``)."""
    utc = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    if utc.year < 1000:
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return utc.isoformat(timespec="microseconds")[:-6] + "Z"


class BalancesProjection(Projection):
    name = "balances"
    rebuild_cost = 5
    tables = (
        table("balances", {"account": "text"}, kind="text", scope="text", balance_cents="int"),
        table(
            "postings",
            {"position": "int", "seq": "int"},
            account="text",
            amount_cents="int",
            recorded_at="text",
            day="date",
        ).with_index("account", "recorded_at"),  # an account's balance as of an instant
        table("stays", {"stay_id": "text"}, household_ref="text", aire_id="text"),
    )
    topics = topics_of(Stay.Opened, *FINANCIAL)
    appended = frozenset({"postings"})

    def apply(self, event: Any, position: int, rows: Rows) -> None:
        if isinstance(event, Stay.Opened):
            rows.put(
                "stays",
                {
                    "stay_id": str(event.originator_id),
                    "household_ref": str(event.household_ref),
                    "aire_id": str(event.aire_id),
                },
            )
            return
        postings = entry_lines(event)
        if not postings:
            return
        recorded_at, day = instant(event.timestamp), paris_day(event.timestamp)
        totals: dict[str, int] = {}  # the event's amount per account, in posting order
        for account, amount in postings:
            totals[account] = totals.get(account, 0) + amount
        for seq, (account, amount) in enumerate(totals.items()):
            rows.add(
                "postings",
                {
                    "position": position,
                    "seq": seq,
                    "account": account,
                    "amount_cents": amount,
                    "recorded_at": recorded_at,
                    "day": day,
                },
            )
            current = rows.get("balances", (account,))
            if current is None:
                current = _new_balance(account)
            current["balance_cents"] += amount
            rows.put("balances", current)


def _new_balance(account: str) -> Row:
    """A balance row at zero: the account's kind and first scope come from its name."""
    kind, _, scope = account.partition("/")
    return {"account": account, "kind": kind, "scope": scope.split("/")[0], "balance_cents": 0}
