"""Handlers of the cash registers' commands: receipts and every cash movement.

Each runs under its register's lock, on the register kept by the pipeline; its answer
carries the register's head hash."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from hacienda_ledger.aggregates.errors import (
    BalanceUnsettled,
    Forbidden,
    InvalidValue,
    NotAllowed,
    NothingDue,
    OutsideCollectivite,
    StayClosed,
    StayNotDeparted,
    UserNotFound,
)
from hacienda_ledger.aggregates.register import CashRegister, ReceiptLine
from hacienda_ledger.aggregates.register_books import is_third_party
from hacienda_ledger.aggregates.settlement import Allocation
from hacienda_ledger.aggregates.stay import Stay
from hacienda_ledger.aggregates.user import User
from hacienda_ledger.aggregates.values import WithholdingReason
from hacienda_ledger.application.access import Permission, authorize
from hacienda_ledger.application.commands import (
    ApproveCancellation,
    CancelReceipt,
    ClosePeriod,
    CountCash,
    HandOver,
    IssueReceipt,
    PrintDocument,
    RecordReprint,
    RefundAdvance,
    RefundDeposit,
    RefuseCancellation,
    RegulariseCashDifference,
    Remit,
    RequestCancellation,
    SetRegisterRules,
    WithdrawCancellation,
    WithholdDeposit,
)
from hacienda_ledger.application.handling import Change, Unit, delegate, on

on_register = on("register_id", Permission.HANDLE_CASH)
#: The régisseur's acts (handovers, régularisations): see ``Permission.SIGN_CASH``.
signed_on_register = on("register_id", Permission.SIGN_CASH)


def _register_and_stay(command: Any, _: Any) -> list[Any]:
    """The register, and the stay whose charges the movement settles (if any)."""
    stay_id = getattr(command, "stay_id", None)
    return [command.register_id] if stay_id is None else [command.register_id, stay_id]


#: Movements that settle a stay's charges (or move its deposit): the stay is locked too.
on_register_and_stay = on("register_id", Permission.HANDLE_CASH, locks=_register_and_stay)


def answer(register: CashRegister, **result: Any) -> Change:
    return Change(register, {**result, "hash": register.head_hash})


def stay_of(unit: Unit, register: CashRegister, stay_id: Any) -> Stay:
    """The stay, if the register collects for its aire: a stay of another collectivité is
    ``outside_collectivite`` (403, whatever the role), one of another aire of the same
    collectivité that the register does not collect for ``not_allowed``."""
    stay = unit.stay(stay_id)
    if stay.aire_id != register.aire_id:
        aire = unit.aire(stay.aire_id)
        if aire.collectivite_id != unit.aire(register.aire_id).collectivite_id:
            raise OutsideCollectivite(
                "that stay is of another collectivité than this register", field="stay_id"
            )
        if register.id not in aire.register_ids:
            raise NotAllowed("this register does not collect for that stay's aire", field="stay_id")
    return stay


def unallocated(register: CashRegister, stay: Stay) -> int:
    """What the register collected for the stay that no settlement of the stay records:
    receipts recorded before settlements were."""
    return register.settled(stay.id) - stay.settlement.settled_through(f"{register.id}/")


@on_register_and_stay(IssueReceipt)
def issue_receipt(command: IssueReceipt, unit: Unit) -> Change:
    """The next numbered receipt. Paid for a stay, each line settles its charges of the
    same revenue type, oldest first, or the charges it names (``nothing_due`` /
    ``more_than_due`` / ``invalid_value`` otherwise, nothing recorded), recorded on the
    stay in the same transaction; ``settle_balance`` builds the lines from what is due.
    An ``advance`` line is held for the stay, whatever is due, and applied at once to what
    is open of the types the register collects (``apply_advances``): the receipt is then
    not the register's last event, ``receipt_version`` names it.
    ``remittance_due``: the cash ceiling is passed (the receipt stands, a remittance is
    due)."""
    register = unit.cash_register(command.register_id)
    pairs = list(command.lines)
    aire_id, household, stay, earlier = register.aire_id, None, None, 0
    if command.stay_id is not None:
        stay = stay_of(unit, register, command.stay_id)
        aire_id, household = stay.aire_id, stay.household_ref
        earlier = unallocated(register, stay)
        if command.settle_balance:
            pairs += _what_is_due(stay, earlier)
        if not stay.is_open and any(is_third_party(str(t)) for t, _ in pairs):
            raise StayClosed(
                "no deposit nor advance is taken for a stay that has ended", field="lines"
            )
    elif command.settle_balance:
        raise InvalidValue("a balance is settled for a stay: name it", field="stay_id")
    if stay is None and any(command.charges):
        raise InvalidValue("a line names charges of a stay: name the stay", field="stay_id")
    lines = tuple(ReceiptLine(str(t), a) for t, a in pairs)
    at = unit.now()
    number = register.issue_receipt(  # checks the lines
        **command.arguments("register_id", "lines", "settle_balance", "charges"),
        aire_id=aire_id,
        household_ref=household,
        lines=lines,
        actor=command.actor,
        at=at,
    )
    receipt_version = register.version  # an advance applied next records more events
    others: tuple[Stay, ...] = ()
    if stay is not None:
        _settle_receipt(command, unit, (register, stay), lines, (number, earlier))
        others = (stay,)
    total = sum(x.amount_cents for x in lines)
    return Change(
        register,
        {
            "number": number,
            "receipt_version": receipt_version,
            "total_cents": total,
            "remittance_due": register.remittance_due,
            "hash": register.head_hash,
        },
        others,
    )


def _settle_receipt(
    command: IssueReceipt,
    unit: Unit,
    held: tuple[CashRegister, Stay],
    lines: tuple[ReceiptLine, ...],
    numbers: tuple[int, int],
) -> None:
    """What receipt ``number``'s lines settle of the stay's charges (refused here, the
    receipt is dropped with the unit: nothing is recorded), then the advances the register
    holds for the stay applied to what is still open (``numbers``: the receipt's, and what
    the register collected for the stay before settlements were recorded)."""
    (register, stay), (number, earlier) = held, numbers
    paying = [i for i, x in enumerate(lines) if not is_third_party(x.revenue_type)]
    charges = [(lines[i].revenue_type, lines[i].amount_cents) for i in paying]
    named = [command.charges[i] if i < len(command.charges) else () for i in paying]
    if charges:
        allocations = stay.settlement.allocate(
            charges, unallocated=earlier, named=named, positions=paying
        )
        reference = f"{register.id}/receipt/{number}"
        stay.settle(
            reference=reference, allocations=allocations, actor=command.actor, at=unit.now()
        )
    apply_advances(unit, stay, [register.id], actor=command.actor)


def apply_advances(
    unit: Unit, stay: Stay, register_ids: list[Any], *, actor: str
) -> tuple[CashRegister, ...]:
    """Advances held for the stay settle its open charges, register by register (in the
    order given), each the oldest dues of the types it collects, in the unit's transaction:
    ``AdvanceApplied`` on the register, ``Stay.Settled`` (``<register>/advance/<version>``)
    on the stay. Returns the registers that applied some. Called wherever a charge may be
    open while an advance is held: charges assessed, a departure, an advance received, a
    receipt cancelled."""
    applied = []
    for register_id in register_ids:
        register = unit.cash_register(register_id)
        held = register.advance_held(stay.id)
        if not held:
            continue
        earlier = unallocated(register, stay)
        allocations = stay.settlement.allocate_advance(
            held, register.revenue_types, unallocated=earlier
        )
        if not allocations:
            continue
        by_type: dict[str, int] = {}
        for allocation in allocations:
            by_type[allocation.revenue_type] = (
                by_type.get(allocation.revenue_type, 0) + allocation.amount_cents
            )
        at = unit.now()
        version = register.apply_advance(
            aire_id=stay.aire_id,
            stay_id=stay.id,
            lines=tuple(ReceiptLine(t, c) for t, c in by_type.items()),
            actor=actor,
            at=at,
        )
        reference = f"{register.id}/advance/{version}"
        stay.settle(reference=reference, allocations=allocations, actor=actor, at=at)
        applied.append(register)
    return tuple(applied)


def _what_is_due(stay: Stay, earlier: int) -> list[tuple[str, int]]:
    """The lines that settle the stay's balance: what is due of each revenue type."""
    lines = list(stay.settlement.due_by_type(unallocated=earlier).items())
    if not lines:
        raise NothingDue("nothing is due on this stay", field="settle_balance")
    return lines


def _reversal(
    method: Callable[..., None], status: str
) -> Callable[[CancelReceipt | ApproveCancellation, Unit], Change]:
    """A handler that reverses a receipt through the register's ``method``: what the
    receipt settled of its stay's charges is due again (the stay is not locked: a concurrent
    change of it makes the save conflict, and the command runs again)."""

    def handle(command: CancelReceipt | ApproveCancellation, unit: Unit) -> Change:
        register = unit.cash_register(command.register_id)
        receipt = register.open_receipts.get(str(command.number))
        household, stay = None, None
        if receipt is not None and receipt.stay_id is not None:
            stay = unit.stay(receipt.stay_id)
            household = stay.household_ref
        at = unit.now()
        method(
            register,
            **command.arguments("register_id"),
            household_ref=household,
            actor=command.actor,
            at=at,
        )
        result = {
            "number": command.number,
            "status": status,
            "event_version": register.version,  # an advance applied next records more
            "hash": register.head_hash,
        }
        if stay is None:
            return Change(register, result)
        reference = f"{register.id}/receipt/{command.number}"
        stay.reverse_settlement(reference=reference, actor=command.actor, at=at)
        apply_advances(unit, stay, [register.id], actor=command.actor)
        return Change(register, result, (stay,))

    handle.__doc__ = (
        f"``{method.__qualname__}``, and the stay's settlement reversed (what is due again "
        "taken first by an advance the register holds for the stay)."
    )
    return handle


#: A reversal is the régisseur's: on their own authority (``CancelReceipt``: the receipt stays
#: in the sequence, marked cancelled), or approving what a cashier asked for.
on_approving = on("register_id", Permission.APPROVE_CANCELLATIONS)
on_approving(CancelReceipt)(_reversal(CashRegister.cancel_receipt, "cancelled"))
on_approving(ApproveCancellation)(_reversal(CashRegister.approve_cancellation, "cancelled"))


def _balance_due(unit: Unit, stay: Stay) -> int:
    """What the stay still owes, over every register of its aire (money collected before
    settlements were recorded included)."""
    registers = [unit.cash_register(r) for r in unit.aire(stay.aire_id).register_ids]
    return stay.settlement.outstanding() - sum(unallocated(r, stay) for r in registers)


@on_register_and_stay(RefundDeposit)
def refund_deposit(command: RefundDeposit, unit: Unit) -> Change:
    """A deposit goes back once the household has left (``stay_not_departed``) and its
    final bill is settled, or covered by a withholding (``balance_unsettled``)."""
    register = unit.cash_register(command.register_id)
    stay = stay_of(unit, register, command.stay_id)
    if stay.is_open:
        raise StayNotDeparted(
            "a deposit is refunded after the departure, once the final bill is settled",
            field="stay_id",
        )
    due = _balance_due(unit, stay)
    if due > 0:
        raise BalanceUnsettled(
            f"the stay still owes {due} cents: settle them, or withhold them from the "
            "deposit, before refunding it",
            field="stay_id",
        )
    register.refund_deposit(
        **command.arguments("register_id"),
        aire_id=stay.aire_id,
        actor=command.actor,
        at=unit.now(),
    )
    return answer(register, deposit_held_cents=register.deposit_held(command.stay_id))


@on_register_and_stay(WithholdDeposit)
def withhold_deposit(command: WithholdDeposit, unit: Unit) -> Change:
    """Part of a deposit kept: for unpaid charges, never more than the stay owes, settling
    its oldest charges; for damage, once the household has left, naming the exit
    inspection (état des lieux de sortie) that found it."""
    register = unit.cash_register(command.register_id)
    stay = stay_of(unit, register, command.stay_id)
    at = unit.now()
    allocations: tuple[Allocation, ...] = ()
    if command.reason == WithholdingReason.UNPAID_CHARGES.value:
        earlier = sum(
            unallocated(unit.cash_register(r), stay) for r in unit.aire(stay.aire_id).register_ids
        )
        allocations = stay.settlement.allocate_any(command.amount_cents, unallocated=earlier)
    elif command.reason == WithholdingReason.DAMAGE.value:
        if stay.is_open:
            raise StayNotDeparted(
                "damage is withheld after the departure, from the exit inspection",
                field="reason",
            )
        if command.reference.strip() != stay.exit_inspection_ref:
            raise InvalidValue(
                f"a withholding for damage names the exit inspection ({stay.exit_inspection_ref})",
                field="reference",
            )
    register.withhold_deposit(
        **command.arguments("register_id"), aire_id=stay.aire_id, actor=command.actor, at=at
    )
    others: tuple[Stay, ...] = ()
    if allocations:
        reference = f"{register.id}/withholding/{register.version}"
        stay.settle(reference=reference, allocations=allocations, actor=command.actor, at=at)
        others = (stay,)
    result = {"deposit_held_cents": register.deposit_held(stay.id), "hash": register.head_hash}
    return Change(register, result, others)


@on_register_and_stay(RefundAdvance)
def refund_advance(command: RefundAdvance, unit: Unit) -> Change:
    """What the register holds for the stay as an advance (not applied to its charges)
    goes back to the household, on request or after the departure; all of it when no
    amount is given (``no_advance_held`` when nothing, or less, is held)."""
    register = unit.cash_register(command.register_id)
    stay = stay_of(unit, register, command.stay_id)
    amount = register.refund_advance(
        **command.arguments("register_id"),
        aire_id=stay.aire_id,
        actor=command.actor,
        at=unit.now(),
    )
    return answer(register, amount_cents=amount, advance_held_cents=register.advance_held(stay.id))


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


def _status(status: str) -> Callable[[CashRegister, Any], dict[str, Any]]:
    """The answer to a step of a cancellation: the receipt's number, where it stands, and
    the version of the event that says so."""
    return lambda register, number: {
        "number": number,
        "status": status,
        "event_version": register.version,
    }


def _with_hash(
    result: Callable[[CashRegister, Any], dict[str, Any]],
) -> Callable[[CashRegister, Any], dict[str, Any]]:
    return lambda register, returned: {**result(register, returned), "hash": register.head_hash}


#: Commands that are one method of the register, called with the command's arguments, and
#: what each answers (with the register's head hash).
for _filing, _command, _method, _result in (
    # a cashier asks; the receipt stands until a régisseur decides
    (
        on_register,
        RequestCancellation,
        CashRegister.request_cancellation,
        _status("pending"),
    ),
    (on_approving, RefuseCancellation, CashRegister.refuse_cancellation, _status("refused")),
    (
        on_register,
        WithdrawCancellation,
        CashRegister.withdraw_cancellation,
        _status("withdrawn"),
    ),
    # The first print of a document by who handles the cash; ``original``: it was that one.
    (
        on_register,
        PrintDocument,
        CashRegister.print_original,
        lambda _, original: {"original": original},
    ),
    # paying in to the comptable, and signing a count (arrêté de caisse), are the
    # régisseur's: they answer personally for the cash (a cashier's count is not a signature)
    (signed_on_register, Remit, CashRegister.remit, lambda _, slip: {"slip_number": slip}),
    (
        signed_on_register,
        CountCash,
        CashRegister.count_cash,
        lambda register, difference: {
            "count_number": register.last_count_number,
            "difference_cents": difference,
        },
    ),
    # making a count's difference good is the régisseur's (personally liable for the cash)
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


#: The régie's rules are configuration: a manager (or the admin) sets them, as the act
#: amending the acte constitutif says; the answer restates them.
on("register_id", Permission.CONFIGURE_AIRE)(SetRegisterRules)(
    delegate(
        Unit.cash_register,
        "register_id",
        CashRegister.set_rules,
        _with_hash(lambda _, rules: {"rules": dataclasses.asdict(rules)}),
    )
)
