"""What a ``CashRegister`` holds, how its events change it, and what it answers.

``CashRegisterState`` is the aggregate's base class: its state (what a snapshot stores),
declared attribute by attribute; the bookkeeping its events' ``evolve`` methods call
(balances by method, the deposits held for stays, the daily totals, what is to be paid in,
counts' open differences, pending cancellations); and the queries that commands, the
application and the reports read. Nothing here triggers an event: the events, their chain
and the commands are ``CashRegister``'s (``register``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime
from typing import Any
from uuid import UUID

from hacienda_ledger.aggregates.errors import InvalidValue
from hacienda_ledger.aggregates.register_books import (
    Cheque,
    OpenReceipt,
    PendingCancellation,
    ReceiptLine,
    SlipLine,
    carried,
    compose_slip,
    lot_after_release,
    pair_up,
    slip_totals,
    split_lines,
)
from hacienda_ledger.aggregates.register_rules import RegieRules
from hacienda_ledger.aggregates.values import PaymentMethod, Period, RevenueType, Totals, paris_day


class CashRegisterState:
    """A cash register's state, set by its created event and changed by its events only."""

    def __init__(self) -> None:
        """State is set by the created event's ``apply``; declared here for readers."""
        self.aire_id: UUID
        self.regie_ref: str
        self.float_cents: int
        self.cash_ceiling_cents: int
        self.payment_methods: tuple[str, ...]
        self.revenue_types: tuple[str, ...]
        self.last_number: int
        self.open_receipts: dict[str, OpenReceipt]
        self.last_remitted_number: int
        self.last_slip_number: int
        self.balances: dict[str, int]
        self.deposits_held: dict[str, int]
        self.deposits_by_method: dict[str, int]
        self.deposit_lots: dict[str, dict[str, int]]
        self.settled_by_stay: dict[str, int]
        # advances (paid ahead of charges): held per stay by method, reserved by method,
        # and what was applied to the stay's charges or refunded, per stay
        self.advance_lots: dict[str, dict[str, int]]
        self.advances_by_method: dict[str, int]
        self.advances_applied: dict[str, int]
        self.advances_refunded: dict[str, int]
        self.daily_totals: dict[str, Totals]  # revenue, per Paris day
        self.daily_third_party: dict[str, Totals]  # deposits, per Paris day
        self.perpetual_total_cents: int  # revenue only, since the register opened
        self.unremitted: dict[str, SlipLine]  # movements for the next slip, by key
        self.cheques: dict[str, Cheque]  # receipt number -> cheque, until remitted
        self.last_count_number: int
        self.open_differences: dict[str, int]  # count number -> over (+) / short (-)
        self.holder: str | None  # who holds the régie since the last handover
        self.closed_through: date | None
        self.closed_months: tuple[str, ...]
        self.closed_years: tuple[int, ...]
        self.last_closure: tuple[str, str, str, int] | None
        # "receipt/12" -> duplicatas printed so far (0: only the original), for every
        # document printed at least once
        self.reprints: dict[str, int]
        # receipt number -> {"reason", "requested_by", "requested_at"}: cancellations asked
        # for and not yet decided (see ``pending_cancellation``)
        self.pending_cancellations: dict[str, dict[str, Any]]
        self.head_hash: str
        self.rules: RegieRules
        self.receipt_days: dict[str, str]  # first receipt number of a Paris day -> the day
        self.ceiling_reached_at: datetime | None  # since when cash in hand >= the ceiling

    # --- state helpers (used only by events) --------------------------------------------

    def _set_rules(self, rules: RegieRules) -> None:
        """The régie's rules, set at opening and by an amending act."""
        self.cash_ceiling_cents = rules.cash_ceiling_cents
        self.rules = rules

    def _open_books(self, payment_methods: tuple[str, ...], revenue_types: tuple[str, ...]) -> None:
        """A register just opened: the float in cash, nothing else held, nothing closed."""
        self.receipt_days = {}
        self.ceiling_reached_at = None
        self.payment_methods = tuple(payment_methods)
        self.revenue_types = tuple(revenue_types)
        self.last_number = 0
        self.open_receipts = {}
        self.last_remitted_number = 0
        self.last_slip_number = 0
        self.balances = dict.fromkeys(payment_methods, 0)
        self.balances[PaymentMethod.CASH.value] = self.float_cents
        self.deposits_held = {}
        self.deposits_by_method = {}
        self.deposit_lots = {}
        self.settled_by_stay = {}
        self._no_advances()
        self.daily_totals = {}
        self.daily_third_party = {}
        self.perpetual_total_cents = 0
        self.unremitted = {}
        self.cheques = {}
        self.last_count_number = 0
        self.open_differences = {}
        self.holder = None
        self.closed_through = None
        self.closed_months = ()
        self.closed_years = ()
        self.last_closure = None
        self.reprints = {}
        self.pending_cancellations = {}

    def _no_advances(self) -> None:
        """No advance held, applied or refunded (a register opened, or snapshotted before
        advances existed)."""
        self.advance_lots = {}
        self.advances_by_method = {}
        self.advances_applied = {}
        self.advances_refunded = {}

    def _move(self, method: str, amount: int) -> None:
        self.balances[method] = self.balances.get(method, 0) + amount

    def _mark_cancelled(self, number: int) -> None:
        """Receipt ``number`` is cancelled: no longer pending, kept as cancelled until the
        slip that remits it."""
        self._drop_pending(number)
        key = str(number)
        self.open_receipts[key] = replace(self.open_receipts[key], cancelled=True)

    def _add_pending(self, number: int, reason: str, requested_by: str, at: datetime) -> None:
        """A cancellation of receipt ``number`` is asked for."""
        pending = dict(self.pending_cancellations)
        pending[str(number)] = {"reason": reason, "requested_by": requested_by, "requested_at": at}
        self.pending_cancellations = pending

    def _drop_pending(self, number: int) -> None:
        """A pending cancellation is decided (approved, refused) or withdrawn."""
        pending = dict(self.pending_cancellations)
        pending.pop(str(number), None)
        self.pending_cancellations = pending

    def _deposit_in(self, stay_id: UUID, amount: int, method: str) -> None:
        """A deposit is held for its stay, reserved in the method it was paid with."""
        key = str(stay_id)
        lot = self.deposit_lots.setdefault(key, {})
        lot[method] = lot.get(method, 0) + amount
        self.deposits_by_method[method] = self.deposits_by_method.get(method, 0) + amount
        self.deposits_held[key] = self.deposits_held.get(key, 0) + amount

    def _deposit_out(self, stay_id: UUID, amount: int, *, first: str) -> None:
        """A deposit leaves (refund, withholding, cancellation): see ``lot_after_release``."""
        key = str(stay_id)
        lot = self.deposit_lots.get(key, {})
        left = lot_after_release(lot, amount, first)
        for method, held in lot.items():
            taken = held - left.get(method, 0)
            if taken:
                self.deposits_by_method[method] -= taken
        if left:
            self.deposits_held[key] = sum(left.values())
            self.deposit_lots[key] = left
        else:
            self.deposits_held.pop(key, None)
            self.deposit_lots.pop(key, None)

    def _advance_in(self, stay_id: UUID, amount: int, method: str) -> None:
        """An advance is held for its stay, reserved in the method it was paid with."""
        lot = self.advance_lots.setdefault(str(stay_id), {})
        lot[method] = lot.get(method, 0) + amount
        self.advances_by_method[method] = self.advances_by_method.get(method, 0) + amount

    def _advance_out(self, stay_id: UUID, amount: int, *, first: str) -> dict[str, int]:
        """An advance leaves its stay's lot (applied, refunded, cancelled), taken from
        ``first`` then the other methods (``lot_after_release``): what left each method."""
        key = str(stay_id)
        lot = self.advance_lots.get(key, {})
        left = lot_after_release(lot, amount, first)
        taken = {m: held - left.get(m, 0) for m, held in lot.items() if held != left.get(m, 0)}
        for method, cents in taken.items():
            self.advances_by_method[method] -= cents
        if left:
            self.advance_lots[key] = left
        else:
            self.advance_lots.pop(key, None)
        return taken

    def _advance_applied(self, stay_id: UUID, lines: tuple[ReceiptLine, ...], day: str) -> None:
        """Advances held for the stay settle its charges (``lines``: by revenue type):
        they leave the funds held for others and become revenue of the day, in the
        methods they were paid in (cash first), in the day's totals and the grand total."""
        amount = sum(line.amount_cents for line in lines)
        taken = self._advance_out(stay_id, amount, first=PaymentMethod.CASH.value)
        self._settled(stay_id, amount)
        key = str(stay_id)
        self.advances_applied[key] = self.advances_applied.get(key, 0) + amount
        held = self.daily_third_party.get(day, Totals())
        revenue = self.daily_totals.get(day, Totals())
        for revenue_type, method, cents in pair_up(lines, taken):
            held = held.add(((RevenueType.ADVANCE.value, cents),), method, -1, counted=False)
            revenue = revenue.add(((revenue_type, cents),), method, +1, counted=False)
        self.daily_third_party[day], self.daily_totals[day] = held, revenue
        self.perpetual_total_cents += amount

    def _advance_refunded(self, stay_id: UUID, amount: int, method: str) -> None:
        """An advance held for the stay goes back to the household in ``method``."""
        self._move(method, -amount)
        self._advance_out(stay_id, amount, first=method)
        key = str(stay_id)
        self.advances_refunded[key] = self.advances_refunded.get(key, 0) + amount

    def _settle(
        self, stay_id: UUID | None, lines: tuple[ReceiptLine, ...], method: str, sign: int
    ) -> None:
        """Deposit and advance lines are held for the stay (and reserved in the method
        they were paid with); other lines settle its charges."""
        if stay_id is None:
            return
        for line in lines:
            if line.revenue_type == RevenueType.ADVANCE.value:
                if sign > 0:
                    self._advance_in(stay_id, line.amount_cents, method)
                else:
                    self._advance_out(stay_id, line.amount_cents, first=method)
            elif line.revenue_type == RevenueType.DEPOSIT.value:
                if sign > 0:
                    self._deposit_in(stay_id, line.amount_cents, method)
                else:
                    self._deposit_out(stay_id, line.amount_cents, first=method)
            else:
                self._settled(stay_id, sign * line.amount_cents)

    def _settled(self, stay_id: UUID, amount: int) -> None:
        """``amount`` more collected against the stay's charges."""
        key = str(stay_id)
        self.settled_by_stay[key] = self.settled_by_stay.get(key, 0) + amount

    def _count(
        self, timestamp: datetime, lines: tuple[ReceiptLine, ...], method: str, sign: int
    ) -> None:
        """A receipt (+1) or a cancellation (-1) in its day's totals: revenue in
        ``daily_totals`` and the perpetual grand total, deposits apart."""
        day = paris_day(timestamp).isoformat()
        revenue, held = split_lines(lines)
        if revenue:
            totals = self.daily_totals.get(day, Totals())
            self.daily_totals[day] = totals.add(revenue, method, sign)
            self.perpetual_total_cents += sign * sum(amount for _, amount in revenue)
        if held:
            totals = self.daily_third_party.get(day, Totals())
            self.daily_third_party[day] = totals.add(held, method, sign)

    def _open_difference(self, amount: int) -> None:
        """The count just recorded found ``amount`` over (+) or short (-)."""
        self.open_differences = {
            **self.open_differences,
            str(self.last_count_number): amount,
        }

    def _close_difference(self, count_number: int) -> None:
        """Count ``count_number``'s difference is regularised: no longer open."""
        key = str(count_number)
        self.open_differences = {k: v for k, v in self.open_differences.items() if k != key}

    def _closed(self, period: Period, start: date, end: date, version: int) -> None:
        """A closure of ``start`` to ``end``, the register's event ``version``."""
        if self.closed_through is None or end > self.closed_through:
            self.closed_through = end
        self.last_closure = (period.value, start.isoformat(), end.isoformat(), version)

    def _closed_year(self, year: int) -> None:
        """A year is closed: its daily totals, sealed, are no longer kept."""
        self.closed_years = (*self.closed_years, year)
        prefix = f"{year}-"
        self.daily_totals = {d: t for d, t in self.daily_totals.items() if not d.startswith(prefix)}
        self.daily_third_party = {
            d: t for d, t in self.daily_third_party.items() if not d.startswith(prefix)
        }

    def _reprinted(self, key: str, copy: int | None) -> None:
        """A document's print: ``copy`` None for its original, else the duplicata's number.
        Registers snapshotted before reprints existed have no ``reprints`` yet."""
        reprints = dict(getattr(self, "reprints", {}))
        if copy is None:
            reprints.setdefault(key, 0)
        else:
            reprints[key] = copy
        self.reprints = reprints

    # --- what is to be paid in ----------------------------------------------------------

    def _unremitted(self) -> dict[str, int]:
        """By method: the balance less the funds held in it for others and, for cash, the
        float. What the movements not yet on a slip (and the receipts not yet remitted)
        add up to; negative when a shortfall ate into the float."""
        due = {}
        for method in {*self.balances, *self.deposits_by_method, *self.advances_by_method}:
            amount = (
                self.balances.get(method, 0)
                - self.deposits_by_method.get(method, 0)
                - self.advances_by_method.get(method, 0)
            )
            due[method] = amount - (self.float_cents if method == PaymentMethod.CASH.value else 0)
        return due

    def _remitted(
        self,
        slip_number: int,
        receipts: tuple[int, int],
        amounts_by_method: Mapping[str, int],
        lines: tuple[SlipLine, ...] | None,
    ) -> None:
        """Slip ``slip_number`` remitted ``receipts`` (the first and last numbers) and paid
        in ``amounts_by_method``: the movements it lists are no longer to be paid in, and
        what it lacked is carried to the next slip. A v1 slip (``lines`` None) covered every
        movement then, and paid what it paid: what it left unpaid is carried."""
        first, last = receipts
        self.last_slip_number = slip_number
        if lines is None:
            listed, _ = self._slip(slip_number, last)
            totals = slip_totals([x for x in listed if x.kind != "carried_forward"])
            for method, amount in amounts_by_method.items():
                totals[method] = totals.get(method, 0) - amount
            self.unremitted = carried(slip_number, totals)
        else:
            for line in lines:
                if line.kind == "carried_forward":
                    short = {line.method: -line.amount_cents}
                    self.unremitted.update(carried(slip_number, short))
                elif line.kind != "receipt":
                    self.unremitted.pop(line.key, None)
        self.last_remitted_number = last
        for number in range(first, last + 1):
            self.open_receipts.pop(str(number), None)
            self.cheques.pop(str(number), None)
        for method, amount in amounts_by_method.items():
            self._move(method, -amount)

    def _slip(self, number: int, through: int) -> tuple[tuple[SlipLine, ...], dict[str, int]]:
        """Slip ``number`` covering receipts up to ``through``: its lines and what it pays."""
        first = self.last_remitted_number + 1
        return compose_slip(
            number,
            receipts=self.open_receipts,
            first=first,
            last=through,
            cheques=self.cheques,
            movements=self.unremitted,
        )

    # --- queries ------------------------------------------------------------------------

    def pending_cancellation(self, number: int) -> PendingCancellation | None:
        """The cancellation of receipt ``number`` asked for and not yet decided, if any."""
        found = self.pending_cancellations.get(str(number))
        return None if found is None else PendingCancellation(number=number, **found)

    @property
    def pending(self) -> tuple[PendingCancellation, ...]:
        """Every cancellation waiting for the régisseur, by receipt number."""
        numbers = sorted(int(n) for n in self.pending_cancellations)
        return tuple(p for p in map(self.pending_cancellation, numbers) if p is not None)

    def deposit_held(self, stay_id: UUID) -> int:
        return self.deposits_held.get(str(stay_id), 0)

    def advance_held(self, stay_id: UUID) -> int:
        """What the register holds for the stay as an advance, not applied nor refunded."""
        return sum(self.advance_lots.get(str(stay_id), {}).values())

    def advance_applied(self, stay_id: UUID) -> int:
        return self.advances_applied.get(str(stay_id), 0)

    def advance_refunded(self, stay_id: UUID) -> int:
        return self.advances_refunded.get(str(stay_id), 0)

    def settled(self, stay_id: UUID) -> int:
        """What this register collected against the stay's charges (receipts net of
        cancellations, plus deposit withheld for unpaid charges)."""
        return self.settled_by_stay.get(str(stay_id), 0)

    def remittable(self, method: str) -> int:
        """What can be paid in: the balance of a method, less the deposits held in it
        (third-party funds kept to refund them) and, for cash, less the float."""
        return max(0, self._unremitted().get(method, 0))

    def slip_preview(self, through_receipt: int) -> tuple[tuple[SlipLine, ...], dict[str, int]]:
        """The next slip covering receipts up to ``through_receipt``: its lines and the
        amounts by method it must pay in (their total)."""
        if not self.last_remitted_number <= through_receipt <= self.last_number:
            raise InvalidValue(
                f"the slip covers receipts up to one of {self.last_remitted_number} "
                f"(none new) to {self.last_number}",
                field="through_receipt",
            )
        return self._slip(self.last_slip_number + 1, through_receipt)

    def printed(self, document: str, number: int) -> bool:
        """Whether the document was printed already (its original, or a duplicata)."""
        return f"{document}/{number}" in getattr(self, "reprints", {})

    @property
    def open_difference_cents(self) -> dict[int, int]:
        """Each count whose difference is not regularised yet: over (+) or short (-)."""
        return {
            int(k): v for k, v in sorted(self.open_differences.items(), key=lambda x: int(x[0]))
        }

    @property
    def cash_in_hand_cents(self) -> int:
        """Cash and cheques held, less the float: what the ceiling is checked against."""
        return (
            self.balances.get(PaymentMethod.CASH.value, 0)
            - self.float_cents
            + self.balances.get(PaymentMethod.CHEQUE.value, 0)
        )

    @property
    def remittance_due(self) -> bool:
        return self.cash_in_hand_cents >= self.cash_ceiling_cents
