"""Bodies of ``/v1/stays``: a stay's arrival, meter readings, extensions, charges and
departure."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field

from hacienda_ledger.aggregates.values import ExtensionReason, Meter
from hacienda_ledger.api.schemas.common import (
    Body,
    Day,
    DecimalStr,
    Moment,
    NonNegativeDecimalStr,
    Number,
    Text,
)

# What a stay's answer says of it. The domain has no enum for this: a stay is open or not
# (``Stay.is_open``), and ``views.stay`` names the two states.
StayStatus = Literal["open", "departed"]


class StayCreate(Body):
    emplacement: Annotated[str, Field(min_length=1, max_length=20)]
    household_ref: UUID
    arrived_at: Moment
    adults: Annotated[int, Field(strict=True, ge=1, le=50)]
    children: dict[
        Annotated[str, Field(min_length=1, max_length=20)],
        Annotated[int, Field(strict=True, ge=0, le=50)],
    ] = {}
    caravans: Annotated[int, Field(strict=True, ge=0, le=20)] = 1
    agreement_ref: Text
    entry_inspection_ref: Text
    water_index: NonNegativeDecimalStr
    electricity_index: NonNegativeDecimalStr


class MeterReadingCreate(Body):
    meter: Meter
    index: NonNegativeDecimalStr
    read_at: Moment
    corrects: Annotated[Number, Field(strict=True)] | None = None


class ExtensionCreate(Body):
    reason: ExtensionReason
    evidence_ref: Text
    until: Day


class ChargeCreate(Body):
    through: Day


class DepartureCreate(Body):
    departed_at: Moment
    exit_inspection_ref: Text
    water_index: NonNegativeDecimalStr
    electricity_index: NonNegativeDecimalStr


class ReadingPublic(BaseModel):
    seq: int
    meter: str
    index: DecimalStr
    read_at: AwareDatetime
    corrects: int | None


class ChargeLinePublic(BaseModel):
    revenue_type: str
    component: str
    start: date
    end: date
    quantity: DecimalStr
    unit_price: DecimalStr
    amount_cents: int
    tariff_ref: str


class SettledByPublic(BaseModel):
    """A movement that settled part of a charge: ``<register>/receipt/<n>`` or
    ``<register>/withholding/<version>``."""

    reference: str
    amount_cents: int


class DuePublic(BaseModel):
    """One charge line and what became of it: credited back, settled by which movements,
    and what remains due."""

    charge: str
    revenue_type: str
    start: date
    end: date
    amount_cents: int
    credited_cents: int
    settled_by: list[SettledByPublic]
    remaining_cents: int


class ExtensionPublic(BaseModel):
    """An extension granted. Its why (``reason``, ``evidence_ref``: personal data, sealed
    under the household's key) is shown to staff who read households, and null once the
    household's personal data is erased (or for a role that reads no household)."""

    reason: str | None
    evidence_ref: str | None
    until: date


class RulesPublic(BaseModel):
    """The aire's règlement intérieur the stay is bound to: the one in force on its arrival
    day (``GET /v1/aires/{aire_id}/documents/{document_id}?version=N`` reads it)."""

    document_id: UUID
    version: int
    sha256: str


class StayPublic(BaseModel):
    id: UUID
    aire_id: UUID
    emplacement: str
    household_ref: UUID
    arrived_at: AwareDatetime
    arrival_day: date
    adults: int
    children: dict[str, int]
    caravans: int
    agreement_ref: str
    entry_inspection_ref: str
    status: StayStatus
    departed_at: AwareDatetime | None
    exit_inspection_ref: str | None
    readings: list[ReadingPublic]
    charges: list[ChargeLinePublic]
    settlement: list[DuePublic]
    overpaid_cents: int
    charged_until: date
    charged_cents: int
    settled_cents: int
    balance_due_cents: int
    deposit_held_cents: int
    advance_held_cents: int = Field(
        description="paid ahead (advances) and still held for the stay: third-party funds"
    )
    advance_applied_cents: int = Field(
        description="advances applied to the stay's charges (settlements "
        "``<register>/advance/<version>``)"
    )
    advance_refunded_cents: int = Field(description="advances given back to the household")
    extensions: list[ExtensionPublic]
    allowed_through: date
    flagged: bool
    rules: RulesPublic | None = Field(
        default=None, description="the règlement intérieur in force on the arrival day, if any"
    )
    version: int
    position: int | None = None
