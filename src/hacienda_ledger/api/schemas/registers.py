"""Bodies of ``/v1/registers`` (and of ``POST /v1/aires/{aire_id}/registers``): a cash
register, its receipts, its cash movements and the verification of its chain."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, Field

from hacienda_ledger.aggregates.values import (
    PaymentMethod,
    Period,
    RevenueType,
    WithholdingReason,
)
from hacienda_ledger.api.schemas.common import Body, Cents, Day, PositiveCents, Text


class RegisterCreate(Body):
    regie_ref: Text
    float_cents: Cents
    cash_ceiling_cents: PositiveCents
    payment_methods: Annotated[list[PaymentMethod], Field(min_length=1)]
    revenue_types: Annotated[list[RevenueType], Field(min_length=1)]


class CashDifferencePublic(BaseModel):
    count_number: int
    difference_cents: int = Field(description="over (+) or short (-)")


class RegisterPublic(BaseModel):
    id: UUID
    aire_id: UUID
    regie_ref: str
    float_cents: int
    cash_ceiling_cents: int
    payment_methods: list[str]
    revenue_types: list[str]
    last_receipt_number: int
    last_remitted_receipt: int
    last_slip_number: int
    balances_cents: dict[str, int]
    deposits_held_cents: int
    perpetual_total_cents: int = Field(
        description="revenue received since the register opened, net of cancellations "
        "(deposits apart)"
    )
    remittance_due: bool
    last_count_number: int
    open_cash_differences: list[CashDifferencePublic] = Field(
        description="counts whose difference is not regularised yet"
    )
    holder: str | None = Field(description="who holds the régie since the last handover")
    closed_through: date | None
    head_hash: str
    version: int
    position: int | None = None


class ReceiptLine(Body):
    revenue_type: RevenueType
    amount_cents: PositiveCents


class Cheque(Body):
    """A cheque: its number and the bank it is drawn on (listed on the slip that remits it)."""

    number: Annotated[str, Field(min_length=1, max_length=32)]
    bank: Annotated[str, Field(min_length=1, max_length=80)]


class ReceiptCreate(Body):
    stay_id: UUID | None = None
    method: PaymentMethod
    lines: Annotated[list[ReceiptLine], Field(min_length=1, max_length=20)]
    cheque: Cheque | None = Field(default=None, description="for a cheque payment")


class ReceiptPublic(BaseModel):
    register_id: UUID
    number: int
    stay_id: UUID | None
    method: str
    lines: list[ReceiptLine]
    total_cents: int
    cheque: Cheque | None = None
    cancelled: bool
    remittance_due: bool
    hash: str
    version: int
    position: int


class CancellationCreate(Body):
    reason: Text


class DepositRefundCreate(Body):
    stay_id: UUID
    amount_cents: PositiveCents
    method: PaymentMethod


class WithholdingCreate(Body):
    stay_id: UUID
    amount_cents: PositiveCents
    reason: WithholdingReason
    reference: Text


class RemittanceCreate(Body):
    through_receipt: Annotated[int, Field(strict=True, ge=1)]
    amounts_by_method_cents: dict[PaymentMethod, Cents]


class DenominationCreate(Body):
    value_cents: Annotated[
        int,
        Field(
            strict=True,
            description="a euro note or coin in cents: 50000, 20000, 10000, 5000, 2000, 1000, "
            "500 (notes), 200, 100, 50, 20, 10, 5, 2, 1 (coins)",
        ),
    ]
    count: Annotated[int, Field(strict=True, ge=0, le=100_000)]


class CashCountCreate(Body):
    """The notes and coins counted (billetage); their total is the amount counted.
    ``counted_cents`` alone records a count without its breakdown; with both, they agree."""

    denominations: Annotated[list[DenominationCreate], Field(max_length=15)] = []
    counted_cents: Cents | None = None


class HandoverCreate(CashCountCreate):
    """A remise de service: the caller hands the régie over to ``incoming_user_id`` on the
    count they make together."""

    incoming_user_id: UUID


class CashRegularisationCreate(Body):
    """Names the régisseur's payment that makes a shortfall good, or the decision that takes
    a surplus as revenue."""

    reference: Text


class SlipLinePublic(BaseModel):
    kind: str
    reference: int
    method: str
    amount_cents: int
    cheque_number: str | None
    bank: str | None
    cancelled: bool
    held_cents: int


class SlipPreviewPublic(BaseModel):
    """The next slip covering receipts up to ``through_receipt``: its lines and the amounts
    by method to pay in (their total)."""

    register_id: UUID
    slip_number: int
    first_receipt: int
    through_receipt: int
    lines: list[SlipLinePublic]
    amounts_by_method_cents: dict[str, int]
    total_cents: int


class PeriodClosureCreate(Body):
    period: Period
    date: Day


class MovementPublic(BaseModel):
    """The answer to a cash movement: what it recorded, and the register after it."""

    register_id: UUID
    kind: str
    hash: str
    version: int
    position: int
    result: dict[str, Any]


class ProblemPublic(BaseModel):
    version: int
    kind: str
    detail: str


class VerificationPublic(BaseModel):
    register_id: UUID
    ok: bool
    events: int
    head_hash: str
    first_broken_version: int | None
    problems: list[ProblemPublic]
