"""Revenue: money collected per aire and month, by revenue type and payment method.

Folds the registers' receipts: ``CashRegister.ReceiptIssued`` adds each line's amount,
``CashRegister.ReceiptCancelled`` subtracts it, in the month (``YYYY-MM``) of the Europe/Paris
day of the event's recorded time (so a cancellation counts in the month it was made, as the
register's own closures count it). Rows go to the receipt's ``aire_id`` (a régie may collect
for several aires).

Deposits stay their own revenue type, ``deposit``: they are third-party funds, not revenue,
and the DSP report excludes them. Deposit refunds and withholdings are not receipts and are
not folded here. So are advances (``advance``) while held; an advance applied to charges
(``CashRegister.AdvanceApplied``) moves its amount, in the month applied, from ``advance`` to
the revenue types of the charges it settled, in the methods it was paid in (no receipt
counted); an advance refunded is not folded (it was never revenue).

Table ``revenue_monthly``, key ``(aire_id, month, revenue_type, method)``:
``amount_cents`` int (receipts less cancellations), ``receipts`` int (receipts with at least
one line of that type, in that method), ``cancellations`` int (the same for cancellations).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.aggregates.register_books import pair_up
from hacienda_ledger.aggregates.values import RevenueType
from hacienda_ledger.projections.base import (
    Projection,
    Row,
    Rows,
    month_of,
    paris_day,
    table,
    topics_of,
)

REVENUE = "revenue_monthly"


class RevenueProjection(Projection):
    """Receipts net of cancellations per aire, month, revenue type and payment method."""

    name = "revenue"
    tables = (
        table(
            REVENUE,
            {"aire_id": "text", "month": "text", "revenue_type": "text", "method": "text"},
            amount_cents="int",
            receipts="int",
            cancellations="int",
        ),
    )
    topics = topics_of(
        CashRegister.ReceiptIssued, CashRegister.ReceiptCancelled, CashRegister.AdvanceApplied
    )

    def apply(self, event: Any, position: int, rows: Rows) -> None:
        if isinstance(event, CashRegister.AdvanceApplied):
            month, aire_id = month_of(paris_day(event.timestamp)), str(event.aire_id)
            for revenue_type, method, cents in pair_up(tuple(event.lines), event.methods):
                for kind, amount in ((RevenueType.ADVANCE.value, -cents), (revenue_type, cents)):
                    key = (aire_id, month, kind, method)
                    row = rows.get(REVENUE, key) or _row(key)
                    row["amount_cents"] += amount
                    rows.put(REVENUE, row)
            return
        if isinstance(event, CashRegister.ReceiptIssued):
            sign, counter = 1, "receipts"
        elif isinstance(event, CashRegister.ReceiptCancelled):
            sign, counter = -1, "cancellations"
        else:
            return
        month = month_of(paris_day(event.timestamp))
        by_type: dict[str, int] = {}
        for line in event.lines:
            by_type[line.revenue_type] = by_type.get(line.revenue_type, 0) + line.amount_cents
        aire_id = str(event.aire_id)
        for revenue_type, amount in sorted(by_type.items()):
            key = (aire_id, month, revenue_type, event.method)
            row = rows.get(REVENUE, key) or _row(key)
            row["amount_cents"] += sign * amount
            row[counter] += 1
            rows.put(REVENUE, row)


def _row(key: tuple[str, str, str, str]) -> Row:
    """A row at zero for (aire, month, revenue type, method)."""
    aire_id, month, revenue_type, method = key
    return {
        "aire_id": aire_id,
        "month": month,
        "revenue_type": revenue_type,
        "method": method,
        "amount_cents": 0,
        "receipts": 0,
        "cancellations": 0,
    }


@dataclass(frozen=True)
class RevenueComparison:
    """One month and revenue type of a year, all payment methods together, with the same
    month of the year before: ``difference_cents`` = amount − previous year's amount."""

    month: str
    revenue_type: str
    amount_cents: int
    previous_year_cents: int
    difference_cents: int


def revenue_year(
    rows: Iterable[Row], aire_id: UUID | str, year: int
) -> tuple[RevenueComparison, ...]:
    """Per month of ``year`` and revenue type, the amount and the same month of ``year − 1``.

    ``rows`` are ``revenue_monthly`` rows (any aires and years; others are ignored). Every
    month 1..12 is listed for every revenue type the aire has in either year, with 0 where
    nothing was collected, ordered by month then type. ``deposit`` and ``advance`` are listed
    like the others (the DSP report leaves them out).
    """
    aire = str(aire_id)
    this_year, last_year = f"{year:04d}-", f"{year - 1:04d}-"
    current: dict[tuple[int, str], int] = {}
    previous: dict[tuple[int, str], int] = {}
    types: set[str] = set()
    for row in rows:
        month: str = row["month"]
        if row["aire_id"] != aire:
            continue
        if month.startswith(this_year):
            totals = current
        elif month.startswith(last_year):
            totals = previous
        else:
            continue
        key = (int(month[5:7]), row["revenue_type"])
        totals[key] = totals.get(key, 0) + row["amount_cents"]
        types.add(row["revenue_type"])
    lines = []
    for number in range(1, 13):
        for revenue_type in sorted(types):
            amount = current.get((number, revenue_type), 0)
            before = previous.get((number, revenue_type), 0)
            lines.append(
                RevenueComparison(
                    month=f"{year:04d}-{number:02d}",
                    revenue_type=revenue_type,
                    amount_cents=amount,
                    previous_year_cents=before,
                    difference_cents=amount - before,
                )
            )
    return tuple(lines)
