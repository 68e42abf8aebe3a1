"""The money a cash register gives back, pays in and counts: the commands, and their checks.

Each command function here is a method of ``CashRegister`` (``register`` binds it by name):
a deposit refunded or withheld, a remittance to the comptable under a balanced slip, a cash
count (arrêté de caisse) with its difference, a handover on a count (remise de service), and
the régularisation of a count's difference. Each checks with the pure functions below (and
``register_books``'), then records its events.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from hacienda_ledger.aggregates.errors import (
    CancellationPending,
    CashDifferenceNotOpen,
    CountNotFound,
    InsufficientFunds,
    InvalidValue,
    NoAdvanceHeld,
    SlipUnbalanced,
)
from hacienda_ledger.aggregates.register_books import (
    DEFICIT,
    EXCESS,
    Denomination,
    ReceiptLine,
    accepted_method,
    check_denominations,
    lot_after_release,
    receipts_by_method,
    remittance_amounts,
)
from hacienda_ledger.aggregates.register_state import CashRegisterState
from hacienda_ledger.aggregates.values import PaymentMethod, WithholdingReason, require_cents

if TYPE_CHECKING:
    from hacienda_ledger.aggregates.register import CashRegister


# --- checks -----------------------------------------------------------------------------


def require_held(register: CashRegisterState, stay_id: UUID, amount_cents: int) -> None:
    """``InsufficientFunds`` unless the register holds ``amount_cents`` for the stay."""
    if amount_cents > register.deposit_held(stay_id):
        raise InsufficientFunds(
            f"only {register.deposit_held(stay_id)} cents are held for this stay",
            field="amount_cents",
        )


def require_in_hand(register: CashRegisterState, method: str, amount_cents: int) -> None:
    """``InsufficientFunds`` unless the register holds ``amount_cents`` in ``method`` (what
    is given back leaves in the method it names)."""
    if amount_cents > register.balances.get(method, 0):
        raise InsufficientFunds(
            f"the register holds {register.balances.get(method, 0)} cents in {method}",
            field="method",
        )


def withholding(reason: WithholdingReason | str, reference: str) -> WithholdingReason:
    """Why a deposit is withheld: damage or unpaid charges, named by ``reference``."""
    try:
        reason = WithholdingReason(reason)
    except ValueError:
        raise InvalidValue("reason is damage or unpaid_charges", field="reason") from None
    if not reference.strip():
        raise InvalidValue(
            "a withholding references the damage report or the charge", field="reference"
        )
    return reason


def none_pending(register: CashRegisterState, first: int, last: int) -> None:
    """A slip lists no receipt whose cancellation waits for a decision: the régisseur
    approves or refuses it first (once remitted, a receipt can no longer be cancelled)."""
    waiting = [p.number for p in register.pending if first <= p.number <= last]
    if waiting:
        raise CancellationPending(
            f"receipt {waiting[0]} has a cancellation pending: approve or refuse it "
            "before remitting it",
            field="through_receipt",
        )


def balanced(amounts: dict[str, int], expected: Mapping[str, int]) -> None:
    """A slip pays in exactly what its lines total by method (``slip_unbalanced``)."""
    if amounts != expected:
        wrong = sorted(m for m in {*amounts, *expected} if amounts.get(m) != expected.get(m))
        raise SlipUnbalanced(
            f"the slip's movements total {expected or 'nothing'} by method (cents), "
            f"not {amounts}: {', '.join(wrong)} differ",
            expected=expected,
            given=amounts,
        )


def open_difference(register: CashRegisterState, count_number: int) -> int:
    """The difference count ``count_number`` found and nobody regularised yet."""
    if isinstance(count_number, bool) or not 1 <= count_number <= register.last_count_number:
        raise CountNotFound(f"no cash count {count_number} on this register", field="count")
    difference = register.open_differences.get(str(count_number))
    if difference is None:
        raise CashDifferenceNotOpen(
            f"count {count_number} found no difference, or it is already regularised",
            field="count",
        )
    return difference


# --- commands (methods of CashRegister) -------------------------------------------------


def refund_deposit(
    self: CashRegister,
    *,
    aire_id: UUID,
    stay_id: UUID,
    amount_cents: int,
    method: PaymentMethod | str,
    actor: str,
    at: datetime,
) -> None:
    method = accepted_method(method, self.payment_methods)
    require_cents(amount_cents, "amount_cents")
    require_held(self, stay_id, amount_cents)
    require_in_hand(self, method, amount_cents)
    self._append(
        self.DepositRefunded,
        at,
        aire_id=aire_id,
        stay_id=stay_id,
        amount_cents=amount_cents,
        method=method,
        actor=actor,
    )


def apply_advance(
    self: CashRegister,
    *,
    aire_id: UUID,
    stay_id: UUID,
    lines: tuple[ReceiptLine, ...],
    actor: str,
    at: datetime,
) -> int:
    """Apply advances held for the stay to its charges (``lines``: cents by revenue type,
    decided by the stay's settlement): never more than is held. Returns the event's
    version (the settlement's reference)."""
    amount = sum(line.amount_cents for line in lines)
    if not lines or amount <= 0 or any(line.amount_cents <= 0 for line in lines):
        raise InvalidValue("an advance is applied to some charge", field="lines")
    if amount > self.advance_held(stay_id):
        raise NoAdvanceHeld(
            f"only {self.advance_held(stay_id)} cents are held as an advance for this stay",
            field="amount_cents",
        )
    lot = self.advance_lots[str(stay_id)]
    left = lot_after_release(lot, amount, PaymentMethod.CASH.value)
    methods = {m: c - left.get(m, 0) for m, c in sorted(lot.items()) if c != left.get(m, 0)}
    self._append(
        self.AdvanceApplied,
        at,
        aire_id=aire_id,
        stay_id=stay_id,
        lines=tuple(lines),
        amount_cents=amount,
        methods=methods,
        actor=actor,
    )
    return self.version


def refund_advance(
    self: CashRegister,
    *,
    aire_id: UUID,
    stay_id: UUID,
    amount_cents: int | None,
    method: PaymentMethod | str,
    actor: str,
    at: datetime,
) -> int:
    """Give back advances held for the stay (all that is held when ``amount_cents`` is
    None): ``no_advance_held`` when none, or less, is held. Returns the amount."""
    method = accepted_method(method, self.payment_methods)
    held = self.advance_held(stay_id)
    amount = held if amount_cents is None else require_cents(amount_cents, "amount_cents")
    if held == 0 or amount > held:
        raise NoAdvanceHeld(
            f"{held} cents are held as an advance for this stay", field="amount_cents"
        )
    require_in_hand(self, method, amount)
    self._append(
        self.AdvanceRefunded,
        at,
        aire_id=aire_id,
        stay_id=stay_id,
        amount_cents=amount,
        method=method,
        actor=actor,
    )
    return amount


def withhold_deposit(
    self: CashRegister,
    *,
    aire_id: UUID,
    stay_id: UUID,
    amount_cents: int,
    reason: WithholdingReason | str,
    reference: str,
    actor: str,
    at: datetime,
) -> None:
    """Keep part of a deposit against damage or an unpaid charge (named by reference)."""
    require_cents(amount_cents, "amount_cents")
    reason = withholding(reason, reference)
    require_held(self, stay_id, amount_cents)
    self._append(
        self.DepositWithheld,
        at,
        aire_id=aire_id,
        stay_id=stay_id,
        amount_cents=amount_cents,
        reason=reason.value,
        reference=reference,
        actor=actor,
    )


def remit(
    self: CashRegister,
    *,
    through_receipt: int,
    amounts_by_method: dict[str, int],
    actor: str,
    at: datetime,
) -> int:
    """Pay collected money in to the comptable under the next numbered slip: it lists
    the receipts up to ``through_receipt`` and every other movement since the last slip,
    and pays in exactly what they total by method (``slip_unbalanced`` otherwise). It
    lists no receipt whose cancellation is pending (``cancellation_pending``)."""
    lines, expected = self.slip_preview(through_receipt)
    amounts = remittance_amounts(amounts_by_method, self.payment_methods, self.remittable)
    first = self.last_remitted_number + 1
    none_pending(self, first, through_receipt)
    balanced(amounts, expected)
    slip = self.last_slip_number + 1
    self._append(
        self.RemittanceMade,
        at,
        slip_number=slip,
        first_receipt=first,
        last_receipt=through_receipt,
        amounts_by_method=amounts,
        receipts_by_method=receipts_by_method(self.open_receipts, first, through_receipt),
        total_cents=sum(amounts.values()),
        actor=actor,
        lines=lines,
    )
    return slip


def count_cash(
    self: CashRegister,
    *,
    denominations: tuple[Denomination, ...] = (),
    counted_cents: int | None = None,
    actor: str,
    at: datetime,
) -> int:
    """Record a cash count (arrêté de caisse) against the book balance: the notes and
    coins counted, their total, and who counted (the actor signs it); a difference is
    its own event. Returns the difference (positive: over, negative: short)."""
    kept, counted = check_denominations(tuple(denominations), counted_cents)
    book = self.balances.get(PaymentMethod.CASH.value, 0)
    difference = counted - book
    self._append(
        self.CashCounted,
        at,
        counted_cents=counted,
        book_cents=book,
        difference_cents=difference,
        actor=actor,
        number=self.last_count_number + 1,
        denominations=kept,
    )
    if difference > 0:
        self._append(self.CashOver, at, amount_cents=difference, actor=actor)
    elif difference < 0:
        self._append(self.CashShort, at, amount_cents=-difference, actor=actor)
    return difference


def hand_over(
    self: CashRegister,
    *,
    incoming: str,
    denominations: tuple[Denomination, ...] = (),
    counted_cents: int | None = None,
    actor: str,
    at: datetime,
) -> int:
    """A remise de service: the actor hands the régie over to ``incoming`` on a count
    they make together (recorded first, with its difference if any). Returns the count's
    number."""
    if not incoming.strip() or incoming == actor:
        raise InvalidValue("the régie is handed over to someone else", field="incoming")
    self.count_cash(denominations=denominations, counted_cents=counted_cents, actor=actor, at=at)
    number = self.last_count_number
    self._append(
        self.HandedOver, at, count_number=number, outgoing=actor, incoming=incoming, actor=actor
    )
    return number


def regularise_difference(
    self: CashRegister, *, count_number: int, reference: str, actor: str, at: datetime
) -> str:
    """Settle the difference a count found: a shortfall (déficit) made good in cash by
    the régisseur, a surplus (excédent) taken as the aire's revenue; ``reference`` names
    the receipt of the payment or the decision. Returns ``deficit`` or ``excess``."""
    if not reference.strip():
        raise InvalidValue("a régularisation names its payment or decision", field="reference")
    difference = open_difference(self, count_number)
    kind = EXCESS if difference > 0 else DEFICIT
    self._append(
        self.CashDifferenceRegularised,
        at,
        count_number=count_number,
        kind=kind,
        amount_cents=abs(difference),
        aire_id=self.aire_id,
        reference=reference.strip(),
        actor=actor,
    )
    return kind
