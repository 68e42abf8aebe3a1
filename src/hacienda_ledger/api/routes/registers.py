"""Cash registers: receipts and every cash movement, and chain verification."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response, status

from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.api import schemas as s
from hacienda_ledger.api import views
from hacienda_ledger.api.deps import IdempotencyKeyDep, LedgerDep, MoneyWriteDep, UserDep
from hacienda_ledger.application import Outcome
from hacienda_ledger.application import commands as c
from hacienda_ledger.application.access import Permission

router = APIRouter(prefix="/v1/registers", tags=["registers"])


def _movement(
    ledger: LedgerDep, kind: str, outcome: Outcome, response: Response
) -> s.MovementPublic:
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    event = (
        outcome.events[-1]
        if outcome.events
        else ledger.register_event(outcome.aggregate_id, outcome.version)
    )
    result = {k: v for k, v in outcome.result.items() if k != "hash"}
    return s.MovementPublic(
        register_id=outcome.aggregate_id,
        kind=kind,
        hash=event.hash,
        version=outcome.version,
        position=outcome.position,
        result=result,
    )


@router.get("/{register_id}", response_model=s.RegisterPublic)
def get_register(register_id: UUID, ledger: LedgerDep, user: UserDep) -> s.RegisterPublic:
    """The register now: numbers, balances by method, deposits held, perpetual total, head."""
    ledger.access.authorize(user, Permission.READ_REGISTERS, register_id=register_id)
    return views.register(ledger.cash_register(register_id))


@router.post(
    "/{register_id}/receipts", status_code=status.HTTP_201_CREATED, response_model=s.ReceiptPublic
)
def post_receipt(register_id: UUID, body: s.ReceiptCreate, write: MoneyWriteDep) -> Response:
    """Issue the next numbered receipt (quittance). Requires ``Idempotency-Key``: a retry
    with the same key and body returns the same receipt. ``remittance_due`` says the cash
    ceiling is passed (the receipt stands)."""
    ledger = write.ledger
    outcome = ledger.handle(
        c.IssueReceipt(
            register_id,
            stay_id=body.stay_id,
            method=body.method,
            lines=[(x.revenue_type, x.amount_cents) for x in body.lines],
            actor=str(write.user.id),
            idempotency_key=write.key,
        ),
        write.user,
    )
    event = (
        outcome.events[-1]
        if outcome.events
        else ledger.register_event(register_id, outcome.version)
    )
    assert isinstance(event, CashRegister.ReceiptIssued)
    view = views.receipt(event, outcome.position, bool(outcome.result["remittance_due"]))
    # Serialised here, once: FastAPI would validate the model again on the way out (the
    # hottest route of the API; the declared response model still documents it).
    return Response(
        view.model_dump_json(),
        status_code=status.HTTP_201_CREATED,
        media_type="application/json",
        headers={"Idempotent-Replayed": "true"} if outcome.replayed else None,
    )


@router.post(
    "/{register_id}/receipts/{number}/cancellation",
    status_code=201,
    response_model=s.MovementPublic,
)
def cancel_receipt(
    register_id: UUID,
    number: int,
    body: s.CancellationCreate,
    ledger: LedgerDep,
    user: UserDep,
    key: IdempotencyKeyDep,
    response: Response,
) -> s.MovementPublic:
    """Cancel a receipt by reversal: it stays in the sequence, marked cancelled. Once only."""
    return _movement(
        ledger,
        "receipt_cancelled",
        ledger.handle(
            c.CancelReceipt(
                register_id,
                number=number,
                reason=body.reason,
                actor=str(user.id),
                idempotency_key=key,
            ),
            user,
        ),
        response,
    )


@router.post("/{register_id}/deposit-refunds", status_code=201, response_model=s.MovementPublic)
def refund_deposit(
    register_id: UUID,
    body: s.DepositRefundCreate,
    ledger: LedgerDep,
    user: UserDep,
    key: IdempotencyKeyDep,
    response: Response,
) -> s.MovementPublic:
    """Give back (part of) a stay's deposit; never more than is held for it."""
    return _movement(
        ledger,
        "deposit_refunded",
        ledger.handle(
            c.RefundDeposit(
                register_id,
                stay_id=body.stay_id,
                amount_cents=body.amount_cents,
                method=body.method,
                actor=str(user.id),
                idempotency_key=key,
            ),
            user,
        ),
        response,
    )


@router.post(
    "/{register_id}/deposit-withholdings", status_code=201, response_model=s.MovementPublic
)
def withhold_deposit(
    register_id: UUID,
    body: s.WithholdingCreate,
    ledger: LedgerDep,
    user: UserDep,
    key: IdempotencyKeyDep,
    response: Response,
) -> s.MovementPublic:
    """Keep part of a deposit against damage or unpaid charges, naming the reference."""
    return _movement(
        ledger,
        "deposit_withheld",
        ledger.handle(
            c.WithholdDeposit(
                register_id,
                stay_id=body.stay_id,
                amount_cents=body.amount_cents,
                reason=body.reason,
                reference=body.reference,
                actor=str(user.id),
                idempotency_key=key,
            ),
            user,
        ),
        response,
    )


@router.post("/{register_id}/remittances", status_code=201, response_model=s.MovementPublic)
def remit(
    register_id: UUID,
    body: s.RemittanceCreate,
    ledger: LedgerDep,
    user: UserDep,
    key: IdempotencyKeyDep,
    response: Response,
) -> s.MovementPublic:
    """Pay collected money in to the comptable under the next numbered slip (bordereau)."""
    return _movement(
        ledger,
        "remittance_made",
        ledger.handle(
            c.Remit(
                register_id,
                through_receipt=body.through_receipt,
                amounts_by_method={str(m): a for m, a in body.amounts_by_method_cents.items()},
                actor=str(user.id),
                idempotency_key=key,
            ),
            user,
        ),
        response,
    )


@router.post("/{register_id}/cash-counts", status_code=201, response_model=s.MovementPublic)
def count_cash(
    register_id: UUID, body: s.CashCountCreate, ledger: LedgerDep, user: UserDep, response: Response
) -> s.MovementPublic:
    """Record a cash count (arrêté de caisse); a difference is its own over/short event."""
    return _movement(
        ledger,
        "cash_counted",
        ledger.handle(
            c.CountCash(register_id, counted_cents=body.counted_cents, actor=str(user.id)), user
        ),
        response,
    )


@router.post("/{register_id}/closures", status_code=201, response_model=s.MovementPublic)
def close_period(
    register_id: UUID,
    body: s.PeriodClosureCreate,
    ledger: LedgerDep,
    user: UserDep,
    response: Response,
) -> s.MovementPublic:
    """Close a day, month or year: totals by revenue type and method, the perpetual grand
    total and the chain head are sealed; nothing can be recorded inside it afterwards."""
    return _movement(
        ledger,
        f"{body.period}_closed",
        ledger.handle(
            c.ClosePeriod(register_id, period=body.period, day=body.date, actor=str(user.id)), user
        ),
        response,
    )


@router.get("/{register_id}/verify", response_model=s.VerificationPublic)
def verify(register_id: UUID, ledger: LedgerDep, user: UserDep) -> s.VerificationPublic:
    """Verify the register's hash chain; every problem is listed, the first broken link named."""
    ledger.access.authorize(user, Permission.READ_REGISTERS, register_id=register_id)
    return views.verification(register_id, ledger.audit.verify_register(register_id))
