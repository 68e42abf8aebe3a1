"""A cash register's receipts and their cancellation: the commands, and the checks they make.

Each command function here is a method of ``CashRegister`` (``register`` binds it by name,
so it is called as ``register.issue_receipt(...)``): it checks with the pure functions
below, then records its event. A cashier only asks for a cancellation
(``request_cancellation``); a régisseur approves or refuses it, or cancels on their own
authority (``cancel_receipt``); who asked may withdraw it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from hacienda_ledger.aggregates.errors import (
    AdvanceApplied,
    CancellationNotPending,
    CancellationPending,
    InsufficientFunds,
    InvalidValue,
    NotRequester,
    ReceiptAlreadyCancelled,
    ReceiptAlreadyRemitted,
    ReceiptNotFound,
    SelfApproval,
)
from hacienda_ledger.aggregates.register_books import (
    Cheque,
    OpenReceipt,
    PendingCancellation,
    ReceiptLine,
    accepted_method,
    check_cheque,
    check_lines,
)
from hacienda_ledger.aggregates.register_state import CashRegisterState
from hacienda_ledger.aggregates.values import PaymentMethod, within_ceiling

if TYPE_CHECKING:
    from hacienda_ledger.aggregates.register import CashRegister


# --- checks -----------------------------------------------------------------------------


def said_why(reason: str, message: str = "say why the receipt is cancelled") -> str:
    """A reason, which a cancellation (and its refusal) always gives."""
    if not reason.strip():
        raise InvalidValue(message, field="reason")
    return reason


def cancellable(register: CashRegisterState, number: int) -> OpenReceipt:
    """The receipt, if a cancellation could reverse it now: it exists, is not remitted
    nor cancelled, and the register still holds its money (and its deposit)."""
    if not 1 <= number <= register.last_number:
        raise ReceiptNotFound(f"no receipt {number} on this register", field="number")
    receipt = register.open_receipts.get(str(number))
    if receipt is None:
        raise ReceiptAlreadyRemitted(
            f"receipt {number} was remitted to the comptable; correct it there", field="number"
        )
    if receipt.cancelled:
        raise ReceiptAlreadyCancelled(f"receipt {number} is already cancelled", field="number")
    if receipt.stay_id is not None and receipt.deposit_cents > register.deposit_held(
        receipt.stay_id
    ):
        raise InsufficientFunds(
            "part of this deposit was already refunded or withheld", field="number"
        )
    if receipt.stay_id is not None and receipt.advance_cents > register.advance_held(
        receipt.stay_id
    ):
        raise AdvanceApplied(
            f"the advances held for this stay ({register.advance_held(receipt.stay_id)} "
            f"cents) no longer cover this receipt's {receipt.advance_cents}: the rest was "
            "applied to its charges (or refunded); refund what is still held instead",
            field="number",
        )
    if receipt.total_cents > register.balances.get(receipt.method, 0):
        raise InsufficientFunds(
            f"the register no longer holds this receipt's {receipt.method} "
            f"({register.balances.get(receipt.method, 0)} cents)",
            field="number",
        )
    return receipt


def not_pending(register: CashRegisterState, number: int, message: str) -> None:
    """``CancellationPending`` (saying ``message``) if a cancellation of ``number`` waits."""
    if register.pending_cancellation(number) is not None:
        raise CancellationPending(message, field="number")


def asked(register: CashRegisterState, number: int) -> PendingCancellation:
    """The pending cancellation of receipt ``number``, or why there is none."""
    found = register.pending_cancellation(number)
    if found is None:
        if 1 <= number <= register.last_number:
            raise CancellationNotPending(
                f"no cancellation of receipt {number} is pending", field="number"
            )
        raise ReceiptNotFound(f"no receipt {number} on this register", field="number")
    return found


# --- commands (methods of CashRegister) -------------------------------------------------


def issue_receipt(
    self: CashRegister,
    *,
    aire_id: UUID,
    stay_id: UUID | None,
    household_ref: UUID | None,
    method: PaymentMethod | str,
    lines: tuple[ReceiptLine, ...],
    actor: str,
    at: datetime,
    cheque: Cheque | None = None,
) -> int:
    """Issue the next numbered receipt; returns its number. A cheque payment may name
    its cheque (number and bank), which the slip that remits it lists."""
    method = accepted_method(method, self.payment_methods)
    check_lines(lines, self.revenue_types, stay_id)
    cheque = check_cheque(cheque, method)
    total = within_ceiling(sum(x.amount_cents for x in lines), "lines", "the receipt's total")
    number = self.last_number + 1
    self._append(
        self.ReceiptIssued,
        at,
        number=number,
        aire_id=aire_id,
        stay_id=stay_id,
        household_ref=household_ref,
        method=method,
        lines=tuple(lines),
        total_cents=total,
        actor=actor,
        cheque=cheque,
    )
    return number


def request_cancellation(
    self: CashRegister, *, number: int, reason: str, actor: str, at: datetime
) -> int:
    """Ask for a receipt to be cancelled (a cashier): nothing is reversed until a
    régisseur approves it; returns its number. Refused when the receipt could not be
    cancelled now, or when a cancellation of it is pending already."""
    said_why(reason)
    cancellable(self, number)
    not_pending(self, number, f"a cancellation of receipt {number} is already pending")
    self._append(self.CancellationRequested, at, number=number, reason=reason, actor=actor)
    return number


def cancel_receipt(
    self: CashRegister,
    *,
    number: int,
    reason: str,
    household_ref: UUID | None,
    actor: str,
    at: datetime,
) -> None:
    """Reverse a receipt on the régisseur's own authority (no second approval: they
    ask and approve); it stays in the sequence, marked cancelled. Once only. A
    cancellation a cashier asked for is approved or refused instead
    (``cancellation_pending``)."""
    said_why(reason)
    receipt = cancellable(self, number)
    not_pending(
        self,
        number,
        f"a cashier asked for receipt {number} to be cancelled: approve or refuse it",
    )
    _reverse(self, receipt, reason, household_ref, requested=(actor, at), actor=actor, at=at)


def approve_cancellation(
    self: CashRegister, *, number: int, household_ref: UUID | None, actor: str, at: datetime
) -> None:
    """The régisseur approves a pending cancellation: the receipt is reversed, with the
    reason given when it was asked for. Never by who asked (``self_approval``)."""
    found = asked(self, number)
    if found.requested_by == actor:
        raise SelfApproval(
            "a cancellation is approved by someone other than who asked for it",
            field="number",
        )
    receipt = cancellable(self, number)
    requested = (found.requested_by, found.requested_at)
    _reverse(self, receipt, found.reason, household_ref, requested=requested, actor=actor, at=at)


def refuse_cancellation(
    self: CashRegister, *, number: int, reason: str, actor: str, at: datetime
) -> int:
    """The régisseur refuses a pending cancellation, saying why: the receipt stands."""
    said_why(reason, "say why the cancellation is refused")
    asked(self, number)
    self._append(self.CancellationRefused, at, number=number, reason=reason, actor=actor)
    return number


def withdraw_cancellation(self: CashRegister, *, number: int, actor: str, at: datetime) -> int:
    """Who asked for a cancellation withdraws it (``not_requester`` for anyone else)."""
    if asked(self, number).requested_by != actor:
        raise NotRequester(
            "only who asked for a cancellation withdraws it; the régisseur refuses it",
            field="number",
        )
    self._append(self.CancellationWithdrawn, at, number=number, actor=actor)
    return number


def _reverse(
    self: CashRegister,
    receipt: OpenReceipt,
    reason: str,
    household_ref: UUID | None,
    *,
    requested: tuple[str, datetime],
    actor: str,
    at: datetime,
) -> None:
    """Record the receipt's reversal, asked for by ``requested`` (who, when), approved by
    the actor."""
    self._append(
        self.ReceiptCancelled,
        at,
        number=receipt.number,
        aire_id=receipt.aire_id,
        stay_id=receipt.stay_id,
        household_ref=household_ref,
        method=receipt.method,
        lines=receipt.lines,
        total_cents=receipt.total_cents,
        reason=reason,
        actor=actor,
        requested_by=requested[0],
        requested_at=requested[1],
        approved_by=actor,
    )
