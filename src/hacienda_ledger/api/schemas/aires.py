"""Bodies of ``/v1/aires``: an aire, its emplacements, tariffs, closures and stay rules."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field, WithJsonSchema

from hacienda_ledger.aggregates.values import Mode, UnmetReason
from hacienda_ledger.api.schemas.common import (
    Body,
    Cents,
    Code,
    Day,
    DecimalStr,
    Month,
    Page,
    PositiveDecimalStr,
    Text,
    UnitPriceStr,
)
from hacienda_ledger.api.schemas.interventions import TeamMemberPublic
from hacienda_ledger.api.schemas.registers import ProblemPublic

# The ranges the aire checks (-90 to 90, -180 to 180), as decimal strings' patterns.
LATITUDE = {"type": "string", "pattern": r"^-?(90(\.0{1,8})?|[0-8]?[0-9](\.[0-9]{1,8})?)$"}
LONGITUDE = {
    "type": "string",
    "pattern": r"^-?(180(\.0{1,8})?|(1[0-7][0-9]|[0-9]?[0-9])(\.[0-9]{1,8})?)$",
}


class AireCreate(Body):
    code: Code
    name: Text
    collectivite_id: UUID
    sector: Text
    mode: Mode
    insee_code: Annotated[str, Field(pattern=r"^(\d{2}|2A|2B)\d{3}$")]
    departement: Annotated[str, Field(pattern=r"^(\d{2,3}|2A|2B)$")]
    latitude: Annotated[DecimalStr, WithJsonSchema(LATITUDE)]
    longitude: Annotated[DecimalStr, WithJsonSchema(LONGITUDE)]
    in_service_from: Day | None = Field(
        default=None,
        description="the day the aire entered service (default: today); an earlier day "
        "records its history: months before it read « not in service »",
    )


class EmplacementCreate(Body):
    number: Annotated[str, Field(min_length=1, max_length=20)]
    places: Annotated[int, Field(strict=True, ge=1, le=10)] = 2
    surface_m2: PositiveDecimalStr | None = None
    in_service_from: Day | None = Field(
        default=None,
        description="the day it entered service (default: today); an earlier day records "
        "the aire's history, never a day in a sealed month",
    )


class OutOfServiceCreate(Body):
    start: Day
    reason: Text


class UnmetDemandCreate(Body):
    """A request for a place that could not be met: no name, no free text (issue 19)."""

    day: Day  # the day the family asked: not after today
    reason: UnmetReason
    caravans: Annotated[int, Field(ge=1, le=50)]
    people: Annotated[int, Field(ge=1, le=200)]


class UnmetDemandPublic(BaseModel):
    aire_id: UUID
    day: date
    reason: UnmetReason
    caravans: int
    people: int
    version: int
    position: int | None = None


class BackInServiceCreate(Body):
    start: Day


class PersonRate(Body):
    age_band: Annotated[str, Field(min_length=1, max_length=20)]
    daily_cents: Cents


class Season(Body):
    start: Day
    end: Day
    pitch_fee_per_day_cents: Cents


class DurationBand(Body):
    from_day: Annotated[int, Field(strict=True, ge=2, le=3660)]
    pitch_fee_per_day_cents: Cents


class TariffCreate(Body):
    effective_from: Day
    deliberation_ref: Text
    pitch_fee_per_day_cents: Cents
    water_price_per_m3: UnitPriceStr
    electricity_price_per_kwh: UnitPriceStr
    deposit_cents: Cents
    person_rates: list[PersonRate] = []
    seasons: list[Season] = []
    duration_bands: list[DurationBand] = []
    deliberation_date: Day | None = Field(default=None, description="the council's vote")
    executory_from: Day | None = Field(
        default=None,
        description="the day the délibération became executory: the tariff applies from "
        "then at the earliest",
    )


class TariffPublic(BaseModel):
    effective_from: date
    deliberation_ref: str
    pitch_fee_per_day_cents: int
    water_price_per_m3: DecimalStr
    electricity_price_per_kwh: DecimalStr
    deposit_cents: int
    person_rates: list[PersonRate]
    seasons: list[Season]
    duration_bands: list[DurationBand]
    deliberation_date: date | None = None
    executory_from: date | None = None


class ClosureCreate(Body):
    start: Day
    end: Day
    reason: Text
    prefect_derogation_ref: Annotated[str, Field(max_length=100)] | None = None
    urgent: bool = False


class ClosurePublic(BaseModel):
    start: date
    end: date
    reason: str
    prefect_derogation_ref: str | None
    notified_on: date
    urgent: bool


class StayRulesUpdate(Body):
    max_consecutive_days: Annotated[int, Field(strict=True, ge=1, le=366)]
    extension_cap_months: Annotated[int, Field(strict=True, ge=0, le=24)]


class AttachedRegisterCreate(Body):
    register_id: UUID


class OutOfServicePublic(BaseModel):
    start: date
    end: date | None
    reason: str


class EmplacementPublic(BaseModel):
    number: str
    places: int
    surface_m2: DecimalStr | None
    in_service_from: date | None = None
    in_service_today: bool
    out_of_service: list[OutOfServicePublic]
    occupied_by_stay: UUID | None


class AirePublic(BaseModel):
    id: UUID
    code: str
    name: str
    collectivite_id: UUID
    sector: str
    mode: str
    insee_code: str
    departement: str
    latitude: DecimalStr
    longitude: DecimalStr
    in_service_from: date
    capacity_places: int
    emplacements: list[EmplacementPublic]
    current_tariff: TariffPublic | None
    tariffs: list[TariffPublic]
    closures: list[ClosurePublic]
    max_consecutive_days: int
    extension_cap_months: int
    register_ids: list[UUID]
    team: list[TeamMemberPublic] = Field(
        default=[],
        description="its users assigned aire by aire (cashiers, régisseurs, "
        "intervenants), in the order they joined",
    )
    version: int
    position: int | None = None


class AireSummaryPublic(BaseModel):
    id: UUID
    code: str
    name: str
    collectivite_id: UUID
    sector: str
    mode: str
    departement: str
    capacity_places: int


class AiresPublic(Page[AireSummaryPublic]):
    pass


class SealCreate(Body):
    month: Month


class ChainHeadPublic(BaseModel):
    aggregate_id: UUID
    kind: str
    version: int
    digest: str


class SealPublic(BaseModel):
    """An aire's arrêté mensuel: the month, when and by whom it was sealed, the seal's hash
    and the one before it, the chains' heads and the figures' digests."""

    aire_id: UUID
    month: str
    sealed_at: str
    actor: str
    hash: str
    prev_hash: str
    heads: list[ChainHeadPublic]
    digests: dict[str, str]
    version: int
    position: int | None = None


class SealsPublic(Page[SealPublic]):
    pass


class RegularisationCreate(Body):
    month: Month
    place_days: Annotated[int, Field(strict=True, ge=-100_000, le=100_000)] = 0
    amount_cents: Annotated[int, Field(strict=True, ge=-100_000_000, le=100_000_000)] = 0
    reason: Text


class RegularisationPublic(BaseModel):
    """A correction of a sealed month, recorded in the open month."""

    aire_id: UUID
    month: str
    recorded_on: date
    place_days: int
    amount_cents: int
    reason: str
    version: int
    position: int | None = None


class ChainVerificationPublic(BaseModel):
    """One chain of the aire: its kind (``aire``, ``register``, ``stay``, ``intervention``,
    ``document``), its aggregate, and what verification found; ``first_broken_version``
    names the first broken link."""

    kind: str
    id: UUID
    ok: bool
    events: int
    head_hash: str
    first_broken_version: int | None
    problems: list[ProblemPublic]


class SealFindingPublic(BaseModel):
    month: str
    aggregate_id: UUID
    kind: str
    detail: str


class AireVerificationPublic(BaseModel):
    """Every chain of the aire and its seals checked against the store."""

    aire_id: UUID
    ok: bool
    chains: list[ChainVerificationPublic]
    seals: list[SealFindingPublic]
