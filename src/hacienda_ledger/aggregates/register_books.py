"""The cash register's books as values and pure functions; the aggregate is in ``register``.

What a ``CashRegister`` keeps (receipt lines, the receipts not yet remitted, the
cancellations waiting for the régisseur), how a deposit
leaves a stay's lot, and what a period closure covers: the span it may seal and the totals it
seals. Nothing here triggers an event; ``register`` decides and records.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from hacienda_ledger.aggregates.errors import (
    InsufficientFunds,
    InvalidAmount,
    InvalidPeriod,
    InvalidValue,
    NotAllowed,
    PeriodClosed,
)
from hacienda_ledger.aggregates.values import (
    PaymentMethod,
    Period,
    RevenueType,
    Totals,
    paris_day,
    period_bounds,
    require_cents,
)

DOCUMENTS = ("receipt", "deposit_receipt", "slip")


@dataclass(frozen=True)
class ReceiptLine:
    revenue_type: str
    amount_cents: int


@dataclass(frozen=True)
class OpenReceipt:
    """What the register keeps of a receipt until it is remitted (to cancel or remit it)."""

    number: int
    aire_id: UUID
    stay_id: UUID | None
    method: str
    lines: tuple[ReceiptLine, ...]
    cancelled: bool = False

    @property
    def total_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines)

    @property
    def deposit_cents(self) -> int:
        return sum(
            line.amount_cents
            for line in self.lines
            if line.revenue_type == RevenueType.DEPOSIT.value
        )


@dataclass(frozen=True)
class PendingCancellation:
    """A cancellation asked for and not yet decided: the receipt stands meanwhile (kept in
    the register's state as plain values, read through ``CashRegister.pending_cancellation``)."""

    number: int
    reason: str
    requested_by: str
    requested_at: datetime


def check_lines(
    lines: tuple[ReceiptLine, ...], collected: tuple[str, ...], stay_id: UUID | None
) -> None:
    """A receipt has lines of positive cents, of revenue types the register collects; a
    deposit line needs a stay."""
    if not lines:
        raise InvalidValue("a receipt has at least one line", field="lines")
    for i, line in enumerate(lines):
        require_cents(line.amount_cents, f"lines[{i}].amount_cents")
        if line.revenue_type not in collected:
            raise NotAllowed(
                f"revenue type {line.revenue_type!r} is not collected here",
                field=f"lines[{i}].revenue_type",
            )
        if line.revenue_type == RevenueType.DEPOSIT.value and stay_id is None:
            raise InvalidValue("a deposit is held for a stay", field="stay_id")


def accepted_method(method: PaymentMethod | str, accepted: tuple[str, ...]) -> str:
    """A payment method's value, if it is one the register accepts."""
    try:
        value = PaymentMethod(method).value
    except ValueError:
        raise InvalidValue("method is cash, cheque, card or transfer", field="method") from None
    if value not in accepted:
        raise NotAllowed(f"{value} is not accepted at this register", field="method")
    return value


def remittance_amounts(
    amounts_by_method: Mapping[str, int],
    accepted: tuple[str, ...],
    remittable: Callable[[str], int],
) -> dict[str, int]:
    """What a remittance pays in, by method in name order: accepted methods, whole cents, no
    more than each method's ``remittable`` amount, and something in all."""
    amounts: dict[str, int] = {}
    for name, amount in sorted(amounts_by_method.items()):
        method = accepted_method(name, accepted)
        require_cents(amount, f"amounts_by_method_cents.{method}", positive=False)
        if amount > remittable(method):
            raise InsufficientFunds(
                f"the register holds {remittable(method)} cents of {method} to remit",
                field=f"amounts_by_method_cents.{method}",
            )
        if amount:
            amounts[method] = amount
    if not amounts:
        raise InvalidAmount("a remittance pays something in", field="amounts_by_method_cents")
    return amounts


def receipts_by_method(
    receipts: Mapping[str, OpenReceipt], first: int, last: int
) -> dict[str, int]:
    """What receipts ``first`` to ``last`` (not cancelled) collected, by method in name order."""
    in_range: dict[str, int] = {}
    for number in range(first, last + 1):
        receipt = receipts[str(number)]
        if not receipt.cancelled:
            in_range[receipt.method] = in_range.get(receipt.method, 0) + receipt.total_cents
    return dict(sorted(in_range.items()))


def members(enum: type[StrEnum], values: tuple[str, ...], field: str) -> tuple[str, ...]:
    """The distinct values of ``enum`` named in ``values``, in the order given."""
    if not values:
        raise InvalidValue("at least one value", field=field)
    try:
        found = tuple(dict.fromkeys(enum(v).value for v in values))
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise InvalidValue(f"allowed values: {allowed}", field=field) from None
    return found


def lot_after_release(lot: Mapping[str, int], amount: int, first: str) -> dict[str, int]:
    """What is left of a stay's deposit lot (cents by method) once ``amount`` leaves it:
    taken from the given method first, then from the others in method order."""
    left = dict(lot)
    for method in [first, *(m.value for m in PaymentMethod if m.value != first)]:
        take = min(amount, left.get(method, 0))
        if take:
            left[method] -= take
            amount -= take
        if not amount:
            break
    return {m: c for m, c in left.items() if c}


def closure_span(
    period: Period | str,
    day: date,
    *,
    at: datetime,
    opened_at: datetime | None,
    closed_through: date | None,
    closed_months: tuple[str, ...],
    closed_years: tuple[int, ...],
) -> tuple[Period, date, date]:
    """The period a closure of ``day`` seals, with its first and last day, or why it cannot:
    not over yet, already closed, or before the register existed."""
    try:
        period = Period(period)
    except ValueError:
        raise InvalidValue("period is day, month or year", field="period") from None
    start, end = period_bounds(period, day)
    if end > paris_day(at):
        raise InvalidPeriod(f"the {period.value} is not over yet (it ends {end})", field="date")
    if start.year in closed_years:
        raise PeriodClosed(f"{start.year} is already closed", field="date")
    if period is Period.MONTH and start.isoformat()[:7] in closed_months:
        raise PeriodClosed(f"{start.isoformat()[:7]} is already closed", field="date")
    if period is Period.DAY and closed_through is not None and end <= closed_through:
        raise PeriodClosed(
            f"{day} is sealed: the register is closed through {closed_through}", field="date"
        )
    if opened_at is not None and end < paris_day(opened_at):
        raise InvalidValue("the register did not exist then", field="date")
    return period, start, end


def sealed_totals(daily_totals: Mapping[str, Totals], start: date, end: date) -> Totals:
    """The sum of the daily totals from ``start`` to ``end`` (inclusive), in day order."""
    totals = Totals()
    lo, hi = start.isoformat(), end.isoformat()
    for key in sorted(daily_totals):
        if lo <= key <= hi:
            totals = totals + daily_totals[key]
    return totals
