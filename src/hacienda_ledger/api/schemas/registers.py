"""Bodies of ``/v1/registers`` (and of ``POST /v1/aires/{aire_id}/registers``): a cash
register, its receipts, its cash movements and the verification of its chain."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from hacienda_ledger.aggregates.values import (
    PaymentMethod,
    Period,
    RevenueType,
    WithholdingReason,
)
from hacienda_ledger.api.schemas.common import Body, Cents, Day, Number, PositiveCents, Text


class RegisterCreate(Body):
    regie_ref: Text
    float_cents: Cents
    cash_ceiling_cents: PositiveCents
    payment_methods: Annotated[list[PaymentMethod], Field(min_length=1)]
    revenue_types: Annotated[list[RevenueType], Field(min_length=1)]


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
    perpetual_total_cents: int
    remittance_due: bool
    closed_through: date | None
    head_hash: str
    version: int
    position: int | None = None


class ReceiptLine(Body):
    revenue_type: RevenueType
    amount_cents: PositiveCents


class ReceiptCreate(Body):
    """A receipt's lines, or ``settle_balance`` for a stay: the lines that pay what it owes,
    type by type (any ``lines`` given are added, such as a deposit)."""

    stay_id: UUID | None = None
    method: PaymentMethod
    lines: Annotated[list[ReceiptLine], Field(max_length=20)] = []
    settle_balance: bool = False

    @model_validator(mode="after")
    def _some_lines(self) -> ReceiptCreate:
        if not self.lines and not self.settle_balance:
            raise ValueError("a receipt has at least one line (or settle_balance)")
        return self


class ReceiptPublic(BaseModel):
    register_id: UUID
    number: int
    stay_id: UUID | None
    method: str
    lines: list[ReceiptLine]
    total_cents: int
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
    through_receipt: Annotated[Number, Field(strict=True)]
    amounts_by_method_cents: dict[PaymentMethod, Cents]


class CashCountCreate(Body):
    counted_cents: Cents


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
