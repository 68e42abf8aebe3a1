"""The cash register's books as values and pure functions; the aggregate is in ``register``.

What a ``CashRegister`` keeps (receipt lines, the receipts not yet remitted, the other cash
movements not yet on a slip, the cancellations waiting for the régisseur), how a deposit
leaves a stay's lot, what a remittance slip lists and pays in, how a cash count is broken
down by denomination (and what a régularisation of its difference is), and what a period
closure covers: the span it may seal and the totals it seals, revenue apart from the funds
held for others. Nothing here triggers an event: the register's commands (``register`` and
the ``register_receipts``, ``register_cash`` and ``register_records`` it binds) decide and
record.
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

#: Revenue types of money held for others (third-party funds: recettes perçues pour le
#: compte de tiers), never revenue: kept apart in closures and in the perpetual grand total,
#: and never paid in: deposits, and advances (money paid ahead of any charge, held for the
#: stay until applied to its charges, when it becomes revenue, or refunded).
THIRD_PARTY = frozenset({RevenueType.DEPOSIT.value, RevenueType.ADVANCE.value})

#: The kinds of a count's régularisation: a shortfall made good, a surplus taken as revenue.
DEFICIT, EXCESS = "deficit", "excess"

#: Notes and coins of the euro, in cents, largest first (billetage).
DENOMINATIONS = (50000, 20000, 10000, 5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5, 2, 1)


def is_third_party(revenue_type: str) -> bool:
    return revenue_type in THIRD_PARTY


@dataclass(frozen=True)
class ReceiptLine:
    revenue_type: str
    amount_cents: int


def held_cents(lines: tuple[ReceiptLine, ...]) -> int:
    """What lines hold for others (deposits): third-party funds, not revenue."""
    return sum(line.amount_cents for line in lines if is_third_party(line.revenue_type))


@dataclass(frozen=True)
class Cheque:
    """A cheque as its receipt records it: its number and the bank it is drawn on."""

    number: str
    bank: str


def check_cheque(cheque: Cheque | None, method: str) -> Cheque | None:
    """A cheque's number and bank name, given with a cheque payment only."""
    if cheque is None:
        return None
    if method != PaymentMethod.CHEQUE.value:
        raise InvalidValue("only a cheque payment names a cheque", field="cheque")
    number, bank = cheque.number.strip(), cheque.bank.strip()
    if not number or len(number) > 32:
        raise InvalidValue("a cheque's number is 1 to 32 characters", field="cheque.number")
    if not bank or len(bank) > 80:
        raise InvalidValue("a cheque names its bank (1 to 80 characters)", field="cheque.bank")
    return Cheque(number, bank)


@dataclass(frozen=True)
class SlipLine:
    """One line of a remittance slip (bordereau de versement): a receipt, or another cash
    movement since the last slip, with what it brings to the amount paid in, in one method
    (negative: it takes away, as a shortfall does).

    ``kind`` and what ``reference`` names:

    - ``receipt``: the receipt's number; ``amount_cents`` is its revenue (its deposit,
      ``held_cents``, stays in the register for the household; a cancelled receipt brings
      nothing); a cheque names its number and bank;
    - ``cash_over``, ``cash_short``: the number of the cash count that found it;
    - ``deficit_made_good``: the count whose shortfall the régisseur made good;
    - ``deposit_refunded``, ``deposit_withheld``, ``adjustment``: the version of the register
      event (a deposit withheld becomes the aire's money; a refund in another method than
      the deposit was paid in moves money between methods);
    - ``carried_forward``: this slip's number: a method whose movements total less than
      nothing pays in nothing, and what it lacks is carried to the next slip, where it is a
      ``carried`` line naming this slip (a slip recorded before lines existed carries what
      it left unpaid the same way).
    """

    kind: str
    reference: int
    method: str
    amount_cents: int
    cheque_number: str | None = None
    bank: str | None = None
    cancelled: bool = False
    held_cents: int = 0

    @property
    def key(self) -> str:
        """What identifies a movement not yet on a slip."""
        return f"{self.kind}/{self.reference}/{self.method}"


def slip_totals(lines: tuple[SlipLine, ...] | list[SlipLine]) -> dict[str, int]:
    """What lines total by method (zero totals too), in method name order."""
    totals: dict[str, int] = {}
    for line in lines:
        totals[line.method] = totals.get(line.method, 0) + line.amount_cents
    return dict(sorted(totals.items()))


def compose_slip(
    number: int,
    *,
    receipts: Mapping[str, OpenReceipt],
    first: int,
    last: int,
    cheques: Mapping[str, Cheque],
    movements: Mapping[str, SlipLine],
) -> tuple[tuple[SlipLine, ...], dict[str, int]]:
    """Slip ``number``'s lines and what it pays in by method: receipts ``first`` to ``last``
    (one line each, so cheques one by one), then every movement not yet on a slip, in the
    order recorded. A method whose lines total less than zero pays in nothing: a
    ``carried_forward`` line brings it to zero and the next slip carries the rest."""
    lines: list[SlipLine] = []
    for n in range(first, last + 1):
        receipt = receipts[str(n)]
        held = 0 if receipt.cancelled else held_cents(receipt.lines)
        cheque = cheques.get(str(n))
        lines.append(
            SlipLine(
                "receipt",
                n,
                receipt.method,
                0 if receipt.cancelled else receipt.total_cents - held,
                cheque_number=cheque.number if cheque else None,
                bank=cheque.bank if cheque else None,
                cancelled=receipt.cancelled,
                held_cents=held,
            )
        )
    lines.extend(movements.values())
    totals = slip_totals(lines)
    for method, total in totals.items():
        if total < 0:
            lines.append(SlipLine("carried_forward", number, method, -total))
    return tuple(lines), {m: t for m, t in totals.items() if t > 0}


def carried(number: int, short_by_method: Mapping[str, int]) -> dict[str, SlipLine]:
    """The movements slip ``number`` leaves to the next one: what it lacked in each method
    (negative), keyed as movements."""
    lines = [SlipLine("carried", number, m, a) for m, a in sorted(short_by_method.items()) if a]
    return {line.key: line for line in lines}


@dataclass(frozen=True)
class Denomination:
    """How many notes or coins of one value (in cents) a cash count found."""

    value_cents: int
    count: int


def check_denominations(
    denominations: tuple[Denomination, ...], counted_cents: int | None
) -> tuple[tuple[Denomination, ...], int]:
    """A count's notes and coins (euro values only, each value once, counts of zero left
    out, largest first) and the total they make; without them, ``counted_cents`` as given
    (a count with no breakdown)."""
    if not denominations:
        if counted_cents is None:
            raise InvalidValue(
                "a cash count gives its notes and coins (or at least the amount counted)",
                field="denominations",
            )
        return (), require_cents(counted_cents, "counted_cents", positive=False)
    found: dict[int, int] = {}
    for i, item in enumerate(denominations):
        value = item.value_cents
        if isinstance(value, bool) or value not in DENOMINATIONS:
            raise InvalidValue(
                "a denomination is a euro note or coin, in cents (50000 ... 1)",
                field=f"denominations[{i}].value_cents",
            )
        if value in found:
            raise InvalidValue("each denomination once", field=f"denominations[{i}].value_cents")
        count = item.count
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 100_000:
            raise InvalidValue(
                "a count of notes or coins is a whole number, 0 to 100000",
                field=f"denominations[{i}].count",
            )
        found[value] = count
    kept = tuple(Denomination(v, found[v]) for v in DENOMINATIONS if found.get(v))
    total = sum(d.value_cents * d.count for d in kept)
    if counted_cents is not None and counted_cents != total:
        raise InvalidValue(
            f"the notes and coins make {total} cents, not {counted_cents}", field="counted_cents"
        )
    return kept, total


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

    def cents_of(self, revenue_type: RevenueType) -> int:
        """What its lines of ``revenue_type`` add up to."""
        return sum(
            line.amount_cents for line in self.lines if line.revenue_type == revenue_type.value
        )

    @property
    def deposit_cents(self) -> int:
        return self.cents_of(RevenueType.DEPOSIT)

    @property
    def advance_cents(self) -> int:
        return self.cents_of(RevenueType.ADVANCE)


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
    deposit or an advance line needs a stay. An advance is taken by a register that
    collects some charge of a stay (it is applied to those charges only)."""
    if not lines:
        raise InvalidValue("a receipt has at least one line", field="lines")
    for i, line in enumerate(lines):
        require_cents(line.amount_cents, f"lines[{i}].amount_cents")
        if line.revenue_type == RevenueType.ADVANCE.value:
            if stay_id is None:
                raise InvalidValue("an advance is held for a stay", field="stay_id")
            if not set(collected) - THIRD_PARTY:
                raise NotAllowed(
                    "this register collects no charge an advance could pay",
                    field=f"lines[{i}].revenue_type",
                )
            continue
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


def pair_up(lines: tuple[ReceiptLine, ...], taken: Mapping[str, int]) -> list[tuple[str, str, int]]:
    """(revenue type, method, cents): the amounts of ``lines`` (by revenue type) matched,
    in order, with the money ``taken`` by method (both total the same) — the methods an
    advance applied to charges of those types was paid in."""
    pairs: list[tuple[str, str, int]] = []
    left = dict(taken)
    for line in lines:
        cents = line.amount_cents
        for method in list(left):
            share = min(cents, left[method])
            if share:
                pairs.append((line.revenue_type, method, share))
                left[method] -= share
                cents -= share
            if not left[method]:
                del left[method]
            if not cents:
                break
    return pairs


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


def split_lines(
    lines: tuple[ReceiptLine, ...],
) -> tuple[tuple[tuple[str, int], ...], tuple[tuple[str, int], ...]]:
    """A receipt's lines as (revenue type, cents) pairs: its revenue, and what it holds for
    others (third-party funds)."""
    revenue = tuple(
        (x.revenue_type, x.amount_cents) for x in lines if not is_third_party(x.revenue_type)
    )
    held = tuple((x.revenue_type, x.amount_cents) for x in lines if is_third_party(x.revenue_type))
    return revenue, held


def sealed_totals(daily_totals: Mapping[str, Totals], start: date, end: date) -> Totals:
    """The sum of the daily totals from ``start`` to ``end`` (inclusive), in day order."""
    totals = Totals()
    lo, hi = start.isoformat(), end.isoformat()
    for key in sorted(daily_totals):
        if lo <= key <= hi:
            totals = totals + daily_totals[key]
    return totals
