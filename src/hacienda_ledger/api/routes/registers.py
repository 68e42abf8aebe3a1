"""Cash registers: receipts and every cash movement, and chain verification."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response, status
from fastapi.types import DecoratedCallable

from hacienda_ledger.aggregates.register import CashRegister, Cheque, Denomination
from hacienda_ledger.api import schemas as s
from hacienda_ledger.api import views
from hacienda_ledger.api.deps import Act, ActDep, LedgerDep, MoneyWriteDep, UserDep
from hacienda_ledger.api.pages import PageDep
from hacienda_ledger.api.params import NumberPath, ThroughReceiptQuery
from hacienda_ledger.application import Outcome
from hacienda_ledger.application import commands as c
from hacienda_ledger.application.access import Permission, grants
from hacienda_ledger.application.regie import standing

router = APIRouter(prefix="/v1/registers", tags=["registers"])


def _event_at(ledger: LedgerDep, outcome: Outcome, version: int) -> CashRegister.Event:
    """The register's event at ``version``: among those the write recorded, or read back
    (a replay)."""
    found = [e for e in outcome.events if e.originator_version == version]
    event: CashRegister.Event = (
        found[0] if found else ledger.register_event(outcome.aggregate_id, version)
    )
    return event


def _receipt_event(ledger: LedgerDep, outcome: Outcome) -> CashRegister.ReceiptIssued:
    """The receipt a write issued: among the events it recorded, or read back (a replay).
    Not always the last: an advance paid while charges are due is applied at once after it.
    (A key recorded before the result named the receipt's version names the receipt.)"""
    event = _event_at(ledger, outcome, outcome.result.get("receipt_version", outcome.version))
    assert isinstance(event, CashRegister.ReceiptIssued)
    return event


#: Members of a command's result that are not the movement's: its hash is answered beside
#: it, ``event_version`` names the event answered.
_UNANSWERED = frozenset({"hash", "event_version"})


def _movement_route(path: str, **more: Any) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """A register movement's route: it answers 201 with the movement recorded."""
    return router.post(path, status_code=201, response_model=s.MovementPublic, **more)


def _movement(
    ledger: LedgerDep, kind: str, outcome: Outcome, response: Response
) -> s.MovementPublic:
    """The movement's answer: its event's version and hash (the register's last event, or
    the one the result names as ``event_version`` when the command recorded more after
    it), the stream position of the last event it recorded."""
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    version = outcome.result.get("event_version", outcome.version)
    event = _event_at(ledger, outcome, version)
    result = {k: v for k, v in outcome.result.items() if k not in _UNANSWERED}
    return s.MovementPublic(
        register_id=outcome.aggregate_id,
        kind=kind,
        hash=event.hash,
        version=version,
        position=outcome.position,
        result=result,
    )


@router.get("/{register_id}", response_model=s.RegisterPublic)
def get_register(register_id: UUID, ledger: LedgerDep, user: UserDep) -> s.RegisterPublic:
    """The register now: numbers, balances by method, deposits held, perpetual total, head."""
    ledger.access.authorize(user, Permission.READ_REGISTERS, register_id=register_id)
    return views.register(ledger.cash_register(register_id))


@router.put("/{register_id}/rules", response_model=s.RegisterPublic)
def set_rules(register_id: UUID, body: s.RegisterRulesUpdate, act: ActDep) -> s.RegisterPublic:
    """Record the régie's rules as an act amending its acte constitutif sets them
    (``decision_ref``): cash ceiling, remittance frequency (``monthly``, ``weekly``, or every
    ``remittance_days`` days) and the working days allowed for cheques. Managers and the
    admin; every rule is restated."""
    outcome = act(c.SetRegisterRules, register_id, **dict(body))
    return views.register(act.ledger.cash_register(register_id), outcome.position)


@router.get("/{register_id}/alerts", response_model=s.AlertsPublic)
def get_alerts(
    register_id: UUID, ledger: LedgerDep, user: UserDep, page: PageDep
) -> s.AlertsPublic:
    """What is due or late today (Europe/Paris) under the régie's rules, computed from the
    register itself: ``cash_ceiling_reached`` (remit by the next working day),
    ``remittance_overdue`` (receipts kept past the remittance period),
    ``cheque_not_remitted`` (each cheque, due by the rule's working day), ``day_not_closed``
    and ``month_not_closed``. Each with its status (``due``, ``late``), the day it arose,
    the last day allowed, its age, amount, rule and receipt. Paginated, by ``due_on``."""
    ledger.access.authorize(user, Permission.READ_REGISTERS, register_id=register_id)
    found = views.alerts(standing(ledger, register_id))
    data, next_cursor = page.page(found.data)
    return found.model_copy(update={"data": data, "count": len(data), "next_cursor": next_cursor})


@router.post(
    "/{register_id}/receipts", status_code=status.HTTP_201_CREATED, response_model=s.ReceiptPublic
)
def post_receipt(register_id: UUID, body: s.ReceiptCreate, act: MoneyWriteDep) -> Response:
    """Issue the next numbered receipt (quittance). Requires ``Idempotency-Key``: a retry
    with the same key and body returns the same receipt. ``remittance_due`` says the cash
    ceiling is passed (the receipt stands)."""
    lines = [(x.revenue_type, x.amount_cents) for x in body.lines]
    named = tuple(tuple(x.charges) for x in body.lines)  # the charges each line names
    cheque = Cheque(body.cheque.number, body.cheque.bank) if body.cheque else None
    outcome = act(
        c.IssueReceipt,
        register_id,
        stay_id=body.stay_id,
        method=body.method,
        lines=lines,
        settle_balance=body.settle_balance,
        cheque=cheque,
        charges=named if any(named) else (),  # none named: left out of the fingerprint
    )
    event = _receipt_event(act.ledger, outcome)
    view = views.receipt(event, outcome.position, bool(outcome.result["remittance_due"]))
    # Serialised here, once: FastAPI would validate the model again on the way out (the
    # hottest route of the API; the declared response model still documents it).
    return Response(
        view.model_dump_json(),
        status_code=status.HTTP_201_CREATED,
        media_type="application/json",
        headers={"Idempotent-Replayed": "true"} if outcome.replayed else None,
    )


#: What each step of a cancellation is called in a movement's ``kind``, by the ``status``
#: its handler answers (kept in the key's record: a replay answers the same, records kept
#: before the result named its event included).
CANCELLATION_KINDS = {
    "pending": "cancellation_requested",
    "cancelled": "receipt_cancelled",
    "refused": "cancellation_refused",
    "withdrawn": "cancellation_withdrawn",
}


def _cancellation(act: Act, outcome: Outcome, response: Response) -> s.MovementPublic:
    """A cancellation step's answer, named by the event it recorded (not always the last:
    a receipt cancelled re-opens charges that an advance held pays at once): 202 while the
    cancellation waits for the régisseur, 201 once the receipt is reversed (or the request
    decided)."""
    kind = CANCELLATION_KINDS[outcome.result["status"]]
    if kind == "cancellation_requested":
        response.status_code = status.HTTP_202_ACCEPTED
    return _movement(act.ledger, kind, outcome, response)


@_movement_route(
    "/{register_id}/receipts/{number}/cancellation",
    responses={202: {"model": s.MovementPublic, "description": "asked: pending approval"}},
)
def cancel_receipt(
    register_id: UUID,
    number: NumberPath,
    body: s.CancellationCreate,
    act: MoneyWriteDep,
    response: Response,
) -> s.MovementPublic:
    """Cancel a receipt by reversal: it stays in the sequence, marked cancelled. A
    régisseur's cancellation is recorded at once (201, ``receipt_cancelled``: no second
    approval); a cashier's is a request (202, ``cancellation_requested``): the receipt stands,
    nothing is reversed, until a régisseur approves it. Once only; 409
    ``cancellation_pending`` while one waits."""
    command = (
        c.CancelReceipt
        if grants(act.user, Permission.APPROVE_CANCELLATIONS)
        else c.RequestCancellation
    )
    outcome = act(command, register_id, number=number, **dict(body))
    return _cancellation(act, outcome, response)


@_movement_route("/{register_id}/receipts/{number}/cancellation/approval")
def approve_cancellation(
    register_id: UUID, number: NumberPath, act: MoneyWriteDep, response: Response
) -> s.MovementPublic:
    """The régisseur approves a pending cancellation: the receipt is reversed
    (``receipt_cancelled``, naming who asked and who approved). Never by who asked (409
    ``self_approval``); 409 ``cancellation_not_pending`` when none waits."""
    outcome = act(c.ApproveCancellation, register_id, number=number)
    return _cancellation(act, outcome, response)


@_movement_route("/{register_id}/receipts/{number}/cancellation/refusal")
def refuse_cancellation(
    register_id: UUID,
    number: NumberPath,
    body: s.CancellationRefusalCreate,
    act: ActDep,
    response: Response,
) -> s.MovementPublic:
    """The régisseur refuses a pending cancellation, saying why: the receipt stands."""
    outcome = act(c.RefuseCancellation, register_id, number=number, **dict(body))
    return _cancellation(act, outcome, response)


@_movement_route("/{register_id}/receipts/{number}/cancellation/withdrawal")
def withdraw_cancellation(
    register_id: UUID, number: NumberPath, act: ActDep, response: Response
) -> s.MovementPublic:
    """Who asked for a cancellation withdraws it before it is decided (409
    ``not_requester`` for anyone else: the régisseur refuses it instead)."""
    outcome = act(c.WithdrawCancellation, register_id, number=number)
    return _cancellation(act, outcome, response)


@_movement_route("/{register_id}/deposit-refunds")
def refund_deposit(
    register_id: UUID, body: s.DepositRefundCreate, act: MoneyWriteDep, response: Response
) -> s.MovementPublic:
    """Give back (part of) a stay's deposit; never more than is held for it."""
    outcome = act(c.RefundDeposit, register_id, **dict(body))
    return _movement(act.ledger, "deposit_refunded", outcome, response)


@_movement_route("/{register_id}/advance-refunds")
def refund_advance(
    register_id: UUID, body: s.AdvanceRefundCreate, act: MoneyWriteDep, response: Response
) -> s.MovementPublic:
    """Give back what the register holds for a stay as an advance (paid ahead, not yet
    applied to its charges): all of it, or ``amount_cents``; 409 ``no_advance_held`` when
    nothing (or less) is held."""
    outcome = act(c.RefundAdvance, register_id, **dict(body))
    return _movement(act.ledger, "advance_refunded", outcome, response)


@_movement_route("/{register_id}/deposit-withholdings")
def withhold_deposit(
    register_id: UUID, body: s.WithholdingCreate, act: MoneyWriteDep, response: Response
) -> s.MovementPublic:
    """Keep part of a deposit against damage or unpaid charges, naming the reference."""
    outcome = act(c.WithholdDeposit, register_id, **dict(body))
    return _movement(act.ledger, "deposit_withheld", outcome, response)


@router.get("/{register_id}/remittances/preview", response_model=s.SlipPreviewPublic)
def slip_preview(
    register_id: UUID, through_receipt: ThroughReceiptQuery, ledger: LedgerDep, user: UserDep
) -> s.SlipPreviewPublic:
    """The next slip covering receipts up to ``through_receipt``: every line it will list
    (receipts, cheques one by one, cash over or short, deposits withheld...) and the
    amounts by method it must pay in."""
    ledger.access.authorize(user, Permission.READ_REGISTERS, register_id=register_id)
    return views.slip_preview(ledger.cash_register(register_id), through_receipt)


@_movement_route("/{register_id}/remittances")
def remit(
    register_id: UUID, body: s.RemittanceCreate, act: MoneyWriteDep, response: Response
) -> s.MovementPublic:
    """Pay collected money in to the comptable under the next numbered slip (bordereau). The
    slip lists the receipts up to ``through_receipt`` and every other cash movement since the
    last slip; the amounts by method must be their total (409 ``slip_unbalanced`` otherwise,
    with ``expected_cents``: see the preview)."""
    amounts = {str(m): a for m, a in body.amounts_by_method_cents.items()}
    outcome = act(
        c.Remit, register_id, through_receipt=body.through_receipt, amounts_by_method=amounts
    )
    return _movement(act.ledger, "remittance_made", outcome, response)


@_movement_route("/{register_id}/cash-counts")
def count_cash(
    register_id: UUID, body: s.CashCountCreate, act: ActDep, response: Response
) -> s.MovementPublic:
    """Record a cash count (arrêté de caisse) by its notes and coins, signed by the caller;
    a difference is its own over/short event, open until regularised. The result gives the
    count's number and difference."""
    outcome = act(
        c.CountCash,
        register_id,
        denominations=_denominations(body),
        counted_cents=body.counted_cents,
    )
    return _movement(act.ledger, "cash_counted", outcome, response)


def _denominations(body: s.CashCountCreate) -> tuple[Denomination, ...]:
    return tuple(Denomination(d.value_cents, d.count) for d in body.denominations)


@_movement_route("/{register_id}/cash-counts/{count_number}/regularisation")
def regularise_cash_difference(
    register_id: UUID,
    count_number: NumberPath,
    body: s.CashRegularisationCreate,
    act: MoneyWriteDep,
    response: Response,
) -> s.MovementPublic:
    """Regularise the difference count ``count_number`` found: a shortfall made good in cash
    by the régisseur, a surplus taken as revenue (``kind``: ``deficit`` or ``excess``). It is
    no longer open afterwards."""
    outcome = act(
        c.RegulariseCashDifference,
        register_id,
        count_number=count_number,
        reference=body.reference,
    )
    return _movement(act.ledger, "cash_difference_regularised", outcome, response)


@_movement_route("/{register_id}/handovers")
def hand_over(
    register_id: UUID, body: s.HandoverCreate, act: ActDep, response: Response
) -> s.MovementPublic:
    """A remise de service: the caller hands the régie over to ``incoming_user_id`` (a user
    who may sign for its cash) on the count they make together."""
    outcome = act(
        c.HandOver,
        register_id,
        incoming=body.incoming_user_id,
        denominations=_denominations(body),
        counted_cents=body.counted_cents,
    )
    return _movement(act.ledger, "handed_over", outcome, response)


@_movement_route("/{register_id}/closures")
def close_period(
    register_id: UUID, body: s.PeriodClosureCreate, act: ActDep, response: Response
) -> s.MovementPublic:
    """Close a day, month or year: totals by revenue type and method, the perpetual grand
    total and the chain head are sealed; nothing can be recorded inside it afterwards."""
    outcome = act(c.ClosePeriod, register_id, period=body.period, day=body.date)
    return _movement(act.ledger, f"{body.period}_closed", outcome, response)


@router.get("/{register_id}/verify", response_model=s.VerificationPublic)
def verify(register_id: UUID, ledger: LedgerDep, user: UserDep) -> s.VerificationPublic:
    """Verify the register's hash chain; every problem is listed, the first broken link named."""
    ledger.access.authorize(user, Permission.READ_REGISTERS, register_id=register_id)
    return views.verification(register_id, ledger.audit.verify_register(register_id))
