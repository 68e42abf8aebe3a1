"""Request and response bodies. Money is integer cents (``*_cents``, strict: no floats, no
strings); prices, indexes and coordinates are decimal strings; datetimes carry their offset."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

T = TypeVar("T")


DECIMAL_PATTERN = r"^-?\d{1,12}(\.\d{1,8})?$"
_DECIMAL = re.compile(DECIMAL_PATTERN)


def _decimal_string(value: Any) -> Decimal:
    """A decimal as the schema documents it: up to 12 digits, up to 8 decimals, no exponent
    (``1E+999999`` would overflow every computation made with it)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError('a decimal is sent as a string, e.g. "3.5120"')
    text = str(value).strip()
    if not _DECIMAL.fullmatch(text):
        raise ValueError('a decimal has up to 12 digits and 8 decimals, e.g. "3.5120"')
    return Decimal(text)


DecimalStr = Annotated[
    Decimal,
    BeforeValidator(_decimal_string),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": DECIMAL_PATTERN, "examples": ["3.5120"]}),
]

# Dates and times the ledger accepts. Far outside these years, the domain's calendar
# arithmetic overflows (year 10000, or year 0 once a time is converted to Paris time), and a
# charge "through" a date millennia ahead would price millions of days.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
DATE_RANGE = f"between {FIRST_DAY} and {LAST_DAY}"


def _day_in_range(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError(f"dates lie {DATE_RANGE}")
    return value


def _moment_in_range(value: datetime) -> datetime:
    if not FIRST_DAY <= value.date() <= LAST_DAY:
        raise ValueError(f"datetimes lie {DATE_RANGE}")
    return value


Day = Annotated[
    date, AfterValidator(_day_in_range), Field(description=f"a calendar day {DATE_RANGE}")
]
Moment = Annotated[
    AwareDatetime,
    AfterValidator(_moment_in_range),
    Field(description=f"ISO 8601 with its offset, {DATE_RANGE}"),
]
Cents = Annotated[int, Field(strict=True, ge=0, le=10_000_000_000)]
PositiveCents = Annotated[int, Field(strict=True, gt=0, le=10_000_000_000)]
Text = Annotated[str, Field(min_length=1, max_length=200)]
Method = Literal["cash", "cheque", "card", "transfer"]
RevenueType = Literal["pitch_fee", "water", "electricity", "deposit", "other"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    """A list envelope."""

    data: list[T]
    count: int


class Recorded(BaseModel):
    """What every write answers besides the resource: its version and stream position."""

    version: int
    position: int


# --- collectivités --------------------------------------------------------------------


class ContactIn(Body):
    name: Text
    role: Text
    email: Annotated[str, Field(max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    phone: Annotated[str, Field(max_length=30, pattern=r"^[0-9+ ().-]{6,30}$")]


class CollectiviteCreate(Body):
    code: Annotated[str, Field(min_length=1, max_length=40)]
    name: Text
    siren: Annotated[str, Field(pattern=r"^\d{9}$")]
    contacts: list[ContactIn] = []


class CollectivitePublic(BaseModel):
    id: UUID
    code: str
    name: str
    siren: str
    contacts: list[ContactIn]
    version: int
    position: int | None = None


# --- aires ----------------------------------------------------------------------------


class AireCreate(Body):
    code: Annotated[str, Field(min_length=1, max_length=40)]
    name: Text
    collectivite_id: UUID
    sector: Text
    mode: Literal["regie", "marche", "dsp"]
    insee_code: Annotated[str, Field(pattern=r"^(\d{2}|2A|2B)\d{3}$")]
    departement: Annotated[str, Field(pattern=r"^(\d{2,3}|2A|2B)$")]
    latitude: DecimalStr
    longitude: DecimalStr


class EmplacementCreate(Body):
    number: Annotated[str, Field(min_length=1, max_length=20)]
    places: Annotated[int, Field(strict=True, ge=1, le=10)] = 2
    surface_m2: DecimalStr | None = None


class OutOfServiceIn(Body):
    start: Day
    reason: Text


class BackInServiceIn(Body):
    start: Day


class PersonRateIn(Body):
    age_band: Annotated[str, Field(min_length=1, max_length=20)]
    daily_cents: Cents


class SeasonIn(Body):
    start: date
    end: date
    pitch_fee_per_day_cents: Cents


class DurationBandIn(Body):
    from_day: Annotated[int, Field(strict=True, ge=2, le=3660)]
    pitch_fee_per_day_cents: Cents


class TariffCreate(Body):
    effective_from: Day
    deliberation_ref: Text
    pitch_fee_per_day_cents: Cents
    water_price_per_m3: DecimalStr
    electricity_price_per_kwh: DecimalStr
    deposit_cents: Cents
    person_rates: list[PersonRateIn] = []
    seasons: list[SeasonIn] = []
    duration_bands: list[DurationBandIn] = []


class TariffPublic(BaseModel):
    effective_from: date
    deliberation_ref: str
    pitch_fee_per_day_cents: int
    water_price_per_m3: DecimalStr
    electricity_price_per_kwh: DecimalStr
    deposit_cents: int
    person_rates: list[PersonRateIn]
    seasons: list[SeasonIn]
    duration_bands: list[DurationBandIn]


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


class StayRulesIn(Body):
    max_consecutive_days: Annotated[int, Field(strict=True, ge=1, le=366)]
    extension_cap_months: Annotated[int, Field(strict=True, ge=0, le=24)]


class OutOfServicePublic(BaseModel):
    start: date
    end: date | None
    reason: str


class EmplacementPublic(BaseModel):
    number: str
    places: int
    surface_m2: DecimalStr | None
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
    capacity_places: int
    emplacements: list[EmplacementPublic]
    current_tariff: TariffPublic | None
    tariffs: list[TariffPublic]
    closures: list[ClosurePublic]
    max_consecutive_days: int
    extension_cap_months: int
    register_ids: list[UUID]
    version: int
    position: int | None = None


class AireSummary(BaseModel):
    id: UUID
    code: str
    name: str
    collectivite_id: UUID
    sector: str
    mode: str
    departement: str
    capacity_places: int


# --- households (personal data; see docs/personal-data.md) ------------------------------

Relationship = Literal[
    "head",
    "partner",
    "child",
    "parent",
    "grandparent",
    "grandchild",
    "sibling",
    "other_relative",
    "other",
]
DocumentKind = Literal[
    "occupation_agreement",
    "rules_acknowledged",
    "entry_inspection",
    "exit_inspection",
    "identity_seen",
]
Phone = Annotated[str, Field(max_length=30, pattern=r"^[0-9+ ().-]{6,30}$")]
Email = Annotated[str, Field(max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Plate = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9 -]{1,20}$")]


class MemberIn(Body):
    name: Text
    birth_year: Annotated[int, Field(strict=True, ge=1900, le=2099)] | None = None
    age_band: (
        Annotated[str, Field(max_length=10, pattern=r"^(adult|\d{1,3}-\d{1,3}|\d{1,3}\+)$")] | None
    ) = None
    relationship: Relationship = "other"


class HouseholdContactIn(Body):
    phone: Phone | None = None
    email: Email | None = None


class FleetIn(Body):
    """Caravans or vehicles: how many, and the plates where the operator records them."""

    count: Annotated[int, Field(strict=True, ge=0, le=50)] = 0
    plates: Annotated[list[Plate], Field(max_length=50)] = []


class HouseholdCreate(Body):
    """A household, recorded at the aire where it arrives (the aire puts it in the scope of
    that aire's managers and cashiers; its later stays add theirs)."""

    aire_id: UUID
    display_name: Text
    members: Annotated[list[MemberIn], Field(max_length=30)] = []
    contact: HouseholdContactIn = HouseholdContactIn()
    caravans: FleetIn = FleetIn()
    vehicles: FleetIn = FleetIn()
    notes: Annotated[str, Field(max_length=2000)] = ""


class HouseholdPatch(Body):
    """The fields to change; those not sent stay as they are. ``members`` replaces the list."""

    display_name: Text | None = None
    members: Annotated[list[MemberIn], Field(max_length=30)] | None = None
    contact: HouseholdContactIn | None = None
    caravans: FleetIn | None = None
    vehicles: FleetIn | None = None
    notes: Annotated[str, Field(max_length=2000)] | None = None


class DocumentCreate(Body):
    """A document seen or signed. An identity document is only ever *seen*: its kind, the
    day and at most a reference are kept, never a copy."""

    kind: DocumentKind
    date: Day
    reference: Annotated[str, Field(max_length=200)] = ""
    stay_id: UUID | None = None


class DocumentPublic(BaseModel):
    seq: int
    kind: str
    date: date
    reference: str | None = Field(description="null once the personal data is erased")
    stay_id: UUID | None
    recorded_at: datetime


class HouseholdStayPublic(BaseModel):
    stay_id: UUID
    aire_id: UUID


class HouseholdPublic(BaseModel):
    """A household's record. Once erased, every personal field is null (``members`` empty)
    and ``erased`` is true; ids, stays and document kinds and days remain."""

    id: UUID
    aire_id: UUID
    erased: bool
    display_name: str | None
    members: list[MemberIn]
    contact: HouseholdContactIn | None
    caravans: FleetIn | None
    vehicles: FleetIn | None
    notes: str | None
    documents: list[DocumentPublic]
    stays: list[HouseholdStayPublic]
    registered_at: datetime
    erased_at: datetime | None
    version: int
    position: int | None = None


class ErasurePublic(BaseModel):
    household_id: UUID
    erased: bool
    erased_at: datetime | None
    reason: str | None
    key_destroyed: bool = Field(description="whether this request destroyed the key")
    version: int
    position: int | None = None


class AccessPublic(BaseModel):
    at: datetime
    user_id: str
    role: str
    endpoint: str


class PayerPublic(BaseModel):
    household_id: UUID
    name: str | None = Field(description="null once the household's personal data is erased")
    erased: bool


class StayExport(BaseModel):
    stay_id: UUID
    aire_id: UUID
    aire_name: str
    emplacement: str
    arrived_at: datetime
    departed_at: datetime | None
    adults: int
    children: dict[str, int]
    caravans: int
    charged_cents: int
    settled_cents: int
    balance_due_cents: int
    deposit_held_cents: int


class HouseholdExport(BaseModel):
    """What the ledger holds about one household (right of access)."""

    exported_at: datetime
    household: HouseholdPublic
    stays: list[StayExport]
    access_log: list[AccessPublic]


# --- stays ----------------------------------------------------------------------------


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
    water_index: DecimalStr
    electricity_index: DecimalStr


class MeterReadingIn(Body):
    meter: Literal["water", "electricity"]
    index: DecimalStr
    read_at: Moment
    corrects: Annotated[int, Field(strict=True, ge=1)] | None = None


class ExtensionIn(Body):
    reason: Literal["school", "training", "work", "hospitalisation"]
    evidence_ref: Text
    until: Day


class ChargesIn(Body):
    through: Day


class DepartureIn(Body):
    departed_at: Moment
    exit_inspection_ref: Text
    water_index: DecimalStr
    electricity_index: DecimalStr


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


class ExtensionPublic(BaseModel):
    reason: str
    evidence_ref: str
    until: date


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
    status: Literal["open", "departed"]
    departed_at: AwareDatetime | None
    exit_inspection_ref: str | None
    readings: list[ReadingPublic]
    charges: list[ChargeLinePublic]
    charged_until: date
    charged_cents: int
    settled_cents: int
    balance_due_cents: int
    deposit_held_cents: int
    extensions: list[ExtensionPublic]
    allowed_through: date
    flagged: bool
    version: int
    position: int | None = None


# --- registers ------------------------------------------------------------------------


class RegisterCreate(Body):
    regie_ref: Text
    float_cents: Cents
    cash_ceiling_cents: PositiveCents
    payment_methods: Annotated[list[Method], Field(min_length=1)]
    revenue_types: Annotated[list[RevenueType], Field(min_length=1)]


class RegisterAttach(Body):
    register_id: UUID


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


class ReceiptLineIn(Body):
    revenue_type: RevenueType
    amount_cents: PositiveCents


class ReceiptCreate(Body):
    stay_id: UUID | None = None
    method: Method
    lines: Annotated[list[ReceiptLineIn], Field(min_length=1, max_length=20)]


class ReceiptPublic(BaseModel):
    register_id: UUID
    number: int
    stay_id: UUID | None
    method: str
    lines: list[ReceiptLineIn]
    total_cents: int
    cancelled: bool
    remittance_due: bool
    hash: str
    version: int
    position: int


class ReceiptDocument(BaseModel):
    """A receipt (quittance) as given to the payer, naming the payer."""

    register_id: UUID
    number: int
    issued_at: datetime
    aire_id: UUID
    stay_id: UUID | None
    payer: PayerPublic | None
    method: str
    lines: list[ReceiptLineIn]
    total_cents: int
    cancelled: bool
    cashier: str
    hash: str
    version: int


class CancellationIn(Body):
    reason: Text


class DepositRefundIn(Body):
    stay_id: UUID
    amount_cents: PositiveCents
    method: Method


class WithholdingIn(Body):
    stay_id: UUID
    amount_cents: PositiveCents
    reason: Literal["damage", "unpaid_charges"]
    reference: Text


class RemittanceIn(Body):
    through_receipt: Annotated[int, Field(strict=True, ge=1)]
    amounts_by_method_cents: dict[Method, Cents]


class CashCountIn(Body):
    counted_cents: Cents


class PeriodClosureIn(Body):
    period: Literal["day", "month", "year"]
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


# --- users ----------------------------------------------------------------------------


class UserCreate(Body):
    name: Text
    role: Literal["admin", "manager", "cashier", "auditor", "analyst"]
    sectors: list[Text] = []
    aires: list[UUID] = []
    collectivite_id: UUID | None = None


class UserPublic(BaseModel):
    id: UUID
    name: str
    role: str
    sectors: list[str]
    aires: list[UUID]
    collectivite_id: UUID | None


class UserCreated(UserPublic):
    token: str = Field(description="the bearer token, shown once; only its hash is stored")
    version: int
    position: int


class ReportPublic(BaseModel):
    """A stored report file (download it at ``GET /v1/reports/{report_id}``)."""

    report_id: str
    kind: str = Field(description="monthly, alt2, alt2_summary or dsp")
    aire_id: str = Field(description="empty for the operator-wide ALT2 summary")
    collectivite_id: str
    sector: str
    period: str = Field(description="YYYY-MM (monthly) or YYYY (annual)")
    format: str = Field(description="pdf, xlsx or csv")
    revision: int = Field(description="1, then 2... when built again with --force")
    generated_at: str
    software_version: str
    sha256: str
    size: int
    filename: str
    media_type: str


class ReportList(BaseModel):
    data: list[ReportPublic]
    count: int
