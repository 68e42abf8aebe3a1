"""Bodies of ``/v1/registers`` (and of ``POST /v1/aires/{aire_id}/registers``): a cash
register, its receipts, its cash movements and the verification of its chain."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hacienda_ledger.aggregates.register_rules import (
    MAX_CHEQUE_WORKING_DAYS,
    MAX_REMITTANCE_DAYS,
    AlertKind,
    AlertStatus,
    RemittanceFrequency,
)
from hacienda_ledger.aggregates.values import (
    PaymentMethod,
    Period,
    RevenueType,
    WithholdingReason,
)
from hacienda_ledger.api.schemas.common import (
    Body,
    Cents,
    Day,
    Number,
    Page,
    PositiveCents,
    Text,
)

RemittanceDays = Annotated[
    int | None,
    Field(
        strict=True,
        ge=1,
        le=MAX_REMITTANCE_DAYS,
        description="with remittance_frequency days only: remitted at least every N days",
    ),
]
ChequeWorkingDays = Annotated[
    int,
    Field(
        strict=True,
        ge=1,
        le=MAX_CHEQUE_WORKING_DAYS,
        description="cheques are remitted by the N-th working day after receipt (1: the next)",
    ),
]


#: What ``RegieRules.checked`` requires, said in the document: remitted every N days names N,
#: and only then.
#: (``if``/``then`` rather than ``anyOf``: a generated client keeps one body class.)
DAYS_NAME_THEIR_NUMBER: dict[str, Any] = {
    "if": {
        "required": ["remittance_frequency"],
        "properties": {"remittance_frequency": {"const": "days"}},
    },
    "then": {
        "required": ["remittance_days"],
        "properties": {"remittance_days": {"type": "integer", "minimum": 1, "maximum": 92}},
    },
    "else": {"properties": {"remittance_days": {"type": "null"}}},
}


class RegisterCreate(Body):
    """The register as its acte constitutif (``regie_ref``) sets it up, the régie's rules
    included (by default: remitted at least monthly, cheques by the next working day)."""

    model_config = ConfigDict(json_schema_extra=DAYS_NAME_THEIR_NUMBER)

    regie_ref: Text
    float_cents: Cents
    cash_ceiling_cents: PositiveCents
    payment_methods: Annotated[list[PaymentMethod], Field(min_length=1)]
    revenue_types: Annotated[list[RevenueType], Field(min_length=1)]
    remittance_frequency: RemittanceFrequency = RemittanceFrequency.MONTHLY
    remittance_days: RemittanceDays = None
    cheque_working_days: ChequeWorkingDays = 1


class RegisterRulesUpdate(Body):
    """Every rule, as the act amending the acte constitutif (``decision_ref``) sets them."""

    model_config = ConfigDict(json_schema_extra=DAYS_NAME_THEIR_NUMBER)

    decision_ref: Text
    cash_ceiling_cents: PositiveCents
    remittance_frequency: RemittanceFrequency = RemittanceFrequency.MONTHLY
    remittance_days: RemittanceDays = None
    cheque_working_days: ChequeWorkingDays = 1


class RegisterRulesPublic(BaseModel):
    """The régie's rules in force, and the act that set them."""

    decision_ref: str
    cash_ceiling_cents: int
    remittance_frequency: RemittanceFrequency
    remittance_days: int | None
    cheque_working_days: int


class CashDifferencePublic(BaseModel):
    count_number: int
    difference_cents: int = Field(description="over (+) or short (-)")


class PendingCancellationPublic(BaseModel):
    """A cancellation a cashier asked for, waiting for the régisseur: the receipt stands."""

    number: int
    reason: str
    requested_by: str
    requested_at: datetime


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
    deposits_held_by_method_cents: dict[str, int] = Field(
        description="the deposits held, by the method they are reserved in"
    )
    advances_held_cents: int = Field(
        description="money paid ahead of any charge and not yet applied nor refunded: "
        "third-party funds held for the households, never revenue nor « recettes à verser »"
    )
    advances_held_by_method_cents: dict[str, int] = Field(
        description="the advances held, by the method they were paid in (reserved there)"
    )
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
    rules: RegisterRulesPublic
    head_hash: str
    version: int
    position: int | None = None
    pending_cancellations: list[PendingCancellationPublic] = []


class ReceiptLinePublic(Body):
    revenue_type: RevenueType
    amount_cents: PositiveCents


#: A charge line of a stay, as ``GET /v1/stays/{id}`` names it: ``<version>.<line>``.
ChargeName = Annotated[str, Field(pattern=r"^[0-9]{1,9}\.[0-9]{1,4}$", max_length=14)]


class ReceiptLineCreate(ReceiptLinePublic):
    """A line of a receipt to post; ``charges``: the stay's charges it settles, in that
    order (as ``GET /v1/stays/{id}`` names them); none: the oldest of its type."""

    charges: Annotated[list[ChargeName], Field(max_length=50)] = []


class Cheque(Body):
    """A cheque: its number and the bank it is drawn on (listed on the slip that remits it)."""

    number: Annotated[str, Field(min_length=1, max_length=32)]
    bank: Annotated[str, Field(min_length=1, max_length=80)]


class ReceiptCreate(Body):
    """A receipt's lines, or ``settle_balance`` for a stay: the lines that pay what it owes,
    type by type (any ``lines`` given are added, such as a deposit)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"method": "cash", "lines": [{"revenue_type": "pitch_fee", "amount_cents": 900}]},
                {
                    "stay_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
                    "method": "card",
                    "settle_balance": True,
                },
            ],
            # what ``_some_lines`` checks, said in the document
            "if": {
                "required": ["settle_balance"],
                "properties": {"settle_balance": {"const": True}},
            },
            "else": {"required": ["lines"], "properties": {"lines": {"minItems": 1}}},
        }
    )

    stay_id: UUID | None = None
    method: PaymentMethod
    lines: Annotated[list[ReceiptLineCreate], Field(max_length=20)] = []
    settle_balance: bool = False
    cheque: Cheque | None = Field(default=None, description="for a cheque payment")

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
    lines: list[ReceiptLinePublic]
    total_cents: int
    cheque: Cheque | None = None
    cancelled: bool
    remittance_due: bool
    hash: str
    version: int
    position: int


class CancellationCreate(Body):
    reason: Text


class CancellationRefusalCreate(Body):
    """Why the régisseur refuses a pending cancellation."""

    reason: Text


class DepositRefundCreate(Body):
    stay_id: UUID
    amount_cents: PositiveCents
    method: PaymentMethod


class AdvanceRefundCreate(Body):
    """Advances held for a stay given back: ``amount_cents`` of them, or all that is
    held when it is left out."""

    stay_id: UUID
    method: PaymentMethod
    amount_cents: PositiveCents | None = None


class WithholdingCreate(Body):
    stay_id: UUID
    amount_cents: PositiveCents
    reason: WithholdingReason
    reference: Text


class RemittanceCreate(Body):
    through_receipt: Annotated[Number, Field(strict=True)]
    amounts_by_method_cents: dict[PaymentMethod, Cents]


class DenominationCreate(Body):
    value_cents: Annotated[
        int,
        Field(
            strict=True,
            ge=1,
            le=50000,
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


class AlertPublic(BaseModel):
    """One obligation of the régie due or late today."""

    kind: AlertKind
    status: AlertStatus = Field(description="due: by due_on, today or later; late: past it")
    since: date = Field(description="the Paris day it arose")
    due_on: date = Field(description="the last day allowed (working days counted)")
    age_days: int = Field(description="days from since to today")
    amount_cents: int
    rule: str
    receipt_number: int | None = Field(
        description="the receipt concerned (for remittance_overdue: the oldest overdue)"
    )


class AlertsPublic(Page[AlertPublic]):
    """What is due or late on ``today`` (Europe/Paris) under the register's rules."""

    register_id: UUID
    today: date
    rules: RegisterRulesPublic
