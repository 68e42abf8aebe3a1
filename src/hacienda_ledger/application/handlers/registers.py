"""Handlers of the cash registers' commands: receipts and every cash movement.

Each runs under its register's lock, on the register kept by the pipeline; its answer
carries the register's head hash."""

from __future__ import annotations

from typing import Any

from hacienda_ledger.aggregates.errors import NotAllowed, StayClosed
from hacienda_ledger.aggregates.register import CashRegister, ReceiptLine
from hacienda_ledger.aggregates.stay import Stay
from hacienda_ledger.aggregates.values import RevenueType
from hacienda_ledger.application.access import Permission
from hacienda_ledger.application.commands import (
    CancelReceipt,
    ClosePeriod,
    CountCash,
    IssueReceipt,
    RecordReprint,
    RefundDeposit,
    Remit,
    WithholdDeposit,
)
from hacienda_ledger.application.handling import C, Change, Filing, Scope, Unit, handles


def _register_scope(command: Any) -> list[Scope]:
    return [Scope(register_id=command.register_id)]


def _register_lock(command: Any, _: Any) -> list[Any]:
    return [command.register_id]


def on_register(command: type[C]) -> Filing[C]:
    """File a handler of a command on one register (handle cash, its lock)."""
    return handles(
        command, permission=Permission.HANDLE_CASH, scopes=_register_scope, locks=_register_lock
    )


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
        aire_id=aire_id,
        stay_id=command.stay_id,
        household_ref=household,
        method=command.method,
        lines=lines,
        actor=command.actor,
        at=unit.now(),
    )
    return answer(
        register,
        number=number,
        total_cents=sum(x.amount_cents for x in lines),
        remittance_due=register.remittance_due,
    )


@on_register(CancelReceipt)
def cancel_receipt(command: CancelReceipt, unit: Unit) -> Change:
    register = unit.cash_register(command.register_id)
    receipt = register.open_receipts.get(str(command.number))
    household = None
    if receipt is not None and receipt.stay_id is not None:
        household = unit.stay(receipt.stay_id).household_ref
    register.cancel_receipt(
        number=command.number,
        reason=command.reason,
        household_ref=household,
        actor=command.actor,
        at=unit.now(),
    )
    return answer(register, number=command.number)


@on_register(RefundDeposit)
def refund_deposit(command: RefundDeposit, unit: Unit) -> Change:
    register = unit.cash_register(command.register_id)
    stay = stay_of(unit, register, command.stay_id)
    register.refund_deposit(
        aire_id=stay.aire_id,
        stay_id=command.stay_id,
        amount_cents=command.amount_cents,
        method=command.method,
        actor=command.actor,
        at=unit.now(),
    )
    return answer(register, deposit_held_cents=register.deposit_held(command.stay_id))


@on_register(WithholdDeposit)
def withhold_deposit(command: WithholdDeposit, unit: Unit) -> Change:
    register = unit.cash_register(command.register_id)
    stay = stay_of(unit, register, command.stay_id)
    register.withhold_deposit(
        aire_id=stay.aire_id,
        stay_id=command.stay_id,
        amount_cents=command.amount_cents,
        reason=command.reason,
        reference=command.reference,
        actor=command.actor,
        at=unit.now(),
    )
    return answer(register, deposit_held_cents=register.deposit_held(command.stay_id))


@on_register(Remit)
def remit(command: Remit, unit: Unit) -> Change:
    register = unit.cash_register(command.register_id)
    slip = register.remit(
        through_receipt=command.through_receipt,
        amounts_by_method=dict(command.amounts_by_method),
        actor=command.actor,
        at=unit.now(),
    )
    return answer(register, slip_number=slip)


@on_register(CountCash)
def count_cash(command: CountCash, unit: Unit) -> Change:
    register = unit.cash_register(command.register_id)
    difference = register.count_cash(
        counted_cents=command.counted_cents, actor=command.actor, at=unit.now()
    )
    return answer(register, difference_cents=difference)


@on_register(ClosePeriod)
def close_period(command: ClosePeriod, unit: Unit) -> Change:
    register = unit.cash_register(command.register_id)
    register.close_period(
        period=command.period, day=command.day, actor=command.actor, at=unit.now()
    )
    return answer(register, perpetual_total_cents=register.perpetual_total_cents)


@on_register(RecordReprint)
def record_reprint(command: RecordReprint, unit: Unit) -> Change:
    """A print after the first (``DUPLICATA``); ``copy``: 1 for the first reprint."""
    register = unit.cash_register(command.register_id)
    copy = register.reprint(
        document=command.document, number=command.number, actor=command.actor, at=unit.now()
    )
    return answer(register, copy=copy)
