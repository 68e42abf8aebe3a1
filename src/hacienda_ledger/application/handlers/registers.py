"""Handlers of the cash registers' commands: receipts and every cash movement.

Each runs under its register's lock, on the register kept by the pipeline; its answer
carries the register's head hash."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hacienda_ledger.aggregates.errors import Forbidden, NotAllowed, StayClosed, UserNotFound
from hacienda_ledger.aggregates.register import CashRegister, ReceiptLine
from hacienda_ledger.aggregates.stay import Stay
from hacienda_ledger.aggregates.user import User
from hacienda_ledger.aggregates.values import RevenueType
from hacienda_ledger.application.access import Permission, authorize
from hacienda_ledger.application.commands import (
    CancelReceipt,
    ClosePeriod,
    CountCash,
    HandOver,
    IssueReceipt,
    RecordReprint,
    RefundDeposit,
    RegulariseCashDifference,
    Remit,
    WithholdDeposit,
)
from hacienda_ledger.application.handling import Change, Unit, delegate, on

on_register = on("register_id", Permission.HANDLE_CASH)
#: The régisseur's acts (counts, handovers, régularisations): see ``Permission.SIGN_CASH``.
signed_on_register = on("register_id", Permission.SIGN_CASH)


def answer(register: CashRegister, **result: Any) -> Change:
    return Change(register, {**result, "hash": register.head_hash})


def stay_of(unit: Unit, register: CashRegister, stay_id: Any) -> Stay:
    """The stay, if the register collects for its aire."""
    stay = unit.stay(stay_id)
    if stay.aire_id != register.aire_id and register.id not in unit.aire(stay.aire_id).register_ids:
        raise NotAllowed("this register does not collect for that stay's aire", field="stay_id")
    return stay


@on_register(IssueReceipt)
def issue_receipt(command: IssueReceipt, unit: Unit) -> Change:
    """The next numbered receipt; ``remittance_due``: the cash ceiling is passed (the
    receipt stands, a remittance is due)."""
    register = unit.cash_register(command.register_id)
    lines = tuple(ReceiptLine(str(t), a) for t, a in command.lines)
    aire_id, household = register.aire_id, None
    if command.stay_id is not None:
        stay = stay_of(unit, register, command.stay_id)
        aire_id, household = stay.aire_id, stay.household_ref
        if not stay.is_open and any(x.revenue_type == RevenueType.DEPOSIT.value for x in lines):
            raise StayClosed("no deposit is taken for a stay that has ended", field="lines")
    number = register.issue_receipt(
        **command.arguments("register_id", "lines"),
        aire_id=aire_id,
        household_ref=household,
        lines=lines,
        actor=command.actor,
        at=unit.now(),
    )
    total = sum(x.amount_cents for x in lines)
    return answer(
        register, number=number, total_cents=total, remittance_due=register.remittance_due
    )


@on_register(CancelReceipt)
def cancel_receipt(command: CancelReceipt, unit: Unit) -> Change:
    """A reversal: the receipt stays in the sequence, marked cancelled."""
    register = unit.cash_register(command.register_id)
    receipt = register.open_receipts.get(str(command.number))
    household = None
    if receipt is not None and receipt.stay_id is not None:
        household = unit.stay(receipt.stay_id).household_ref
    register.cancel_receipt(
        **command.arguments("register_id"),
        household_ref=household,
        actor=command.actor,
        at=unit.now(),
    )
    return answer(register, number=command.number)


def _deposit_movement(method: Callable[..., None]) -> Callable[[Any, Unit], Change]:
    """A refund or a withholding of a stay's deposit, on a register collecting for its
    aire; the answer says what is still held."""

    def handle(command: Any, unit: Unit) -> Change:
        register = unit.cash_register(command.register_id)
        stay = stay_of(unit, register, command.stay_id)
        method(
            register,
            **command.arguments("register_id"),
            aire_id=stay.aire_id,
            actor=command.actor,
            at=unit.now(),
        )
        return answer(register, deposit_held_cents=register.deposit_held(command.stay_id))

    return handle


on_register(RefundDeposit)(_deposit_movement(CashRegister.refund_deposit))
on_register(WithholdDeposit)(_deposit_movement(CashRegister.withhold_deposit))


@signed_on_register(HandOver)
def hand_over(command: HandOver, unit: Unit) -> Change:
    """A remise de service to a user who may sign for this register's cash, on a count made
    together; the answer gives the count's number and difference."""
    register = unit.cash_register(command.register_id)
    try:
        incoming = unit.load(User, command.incoming, UserNotFound)
        authorize(incoming, Permission.SIGN_CASH, unit.ledger.access.aire_scope(register.aire_id))
    except UserNotFound:
        raise UserNotFound(f"no user {command.incoming}", field="incoming") from None
    except Forbidden as refused:
        raise NotAllowed(
            f"the incoming user may not hold this régie: {refused.detail}", field="incoming"
        ) from None
    number = register.hand_over(
        **command.arguments("register_id", "incoming"),
        incoming=str(command.incoming),
        actor=command.actor,
        at=unit.now(),
    )
    difference = register.open_difference_cents.get(number, 0)
    return answer(register, count_number=number, difference_cents=difference)


def _with_hash(
    result: Callable[[CashRegister, Any], dict[str, Any]],
) -> Callable[[CashRegister, Any], dict[str, Any]]:
    return lambda register, returned: {**result(register, returned), "hash": register.head_hash}


#: Commands that are one method of the register, called with the command's arguments, and
#: what each answers (with the register's head hash).
for _filing, _command, _method, _result in (
    (on_register, Remit, CashRegister.remit, lambda _, slip: {"slip_number": slip}),
    (
        signed_on_register,
        CountCash,
        CashRegister.count_cash,
        lambda register, difference: {
            "count_number": register.last_count_number,
            "difference_cents": difference,
        },
    ),
    (
        signed_on_register,
        RegulariseCashDifference,
        CashRegister.regularise_difference,
        lambda _, kind: {"kind": kind},
    ),
    (
        on_register,
        ClosePeriod,
        CashRegister.close_period,
        lambda register, _: {"perpetual_total_cents": register.perpetual_total_cents},
    ),
    # A print after the first (DUPLICATA); ``copy``: 1 for the first reprint.
    (on_register, RecordReprint, CashRegister.reprint, lambda _, copy: {"copy": copy}),
):
    _filing(_command)(delegate(Unit.cash_register, "register_id", _method, _with_hash(_result)))
