"""Bodies of ``/v1/households``: a household's record, its documents, its erasure and what
the ledger holds about it (personal data; see docs/personal-data.md)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field

from hacienda_ledger.aggregates.household import DocumentKind, Relationship
from hacienda_ledger.api.schemas.common import Body, Day, Email, Page, Phone, Text
from hacienda_ledger.api.schemas.stays import ExtensionPublic, ReadingPublic, RulesPublic

Plate = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9 -]{1,20}$")]
Notes = Annotated[str, Field(max_length=2000)]


class Member(Body):
    name: Text
    birth_year: Annotated[int, Field(strict=True, ge=1900, le=2099)] | None = None
    age_band: (
        Annotated[str, Field(max_length=10, pattern=r"^(adult|\d{1,3}-\d{1,3}|\d{1,3}\+)$")] | None
    ) = None
    relationship: Relationship = Relationship.OTHER


Members = Annotated[list[Member], Field(max_length=30)]


class HouseholdContact(Body):
    phone: Phone | None = None
    email: Email | None = None


class Fleet(Body):
    """Caravans or vehicles: how many, and the plates where the operator records them."""

    count: Annotated[int, Field(strict=True, ge=0, le=50)] = 0
    plates: Annotated[list[Plate], Field(max_length=50)] = []


class HouseholdCreate(Body):
    """A household, recorded at the aire where it arrives (the aire puts it in the scope of
    that aire's managers and cashiers; its later stays add theirs)."""

    aire_id: UUID
    display_name: Text
    members: Members = []
    contact: HouseholdContact = HouseholdContact()
    caravans: Fleet = Fleet()
    vehicles: Fleet = Fleet()
    notes: Notes = ""

    multiline = frozenset({"notes"})


class HouseholdUpdate(Body):
    """The fields to change; those not sent stay as they are. ``members`` replaces the list."""

    display_name: Text | None = None
    members: Members | None = None
    contact: HouseholdContact | None = None
    caravans: Fleet | None = None
    vehicles: Fleet | None = None
    notes: Notes | None = None

    multiline = frozenset({"notes"})


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
    rules: RulesPublic | None = Field(
        default=None,
        description="a rules_acknowledged document of a stay: the règlement intérieur that "
        "stay is bound to (its document, version and SHA-256)",
    )


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
    members: list[Member]
    contact: HouseholdContact | None
    caravans: Fleet | None
    vehicles: Fleet | None
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


class StayExportPublic(BaseModel):
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
    advance_held_cents: int = Field(
        default=0, description="paid ahead of charges and not yet applied nor refunded"
    )
    advance_applied_cents: int = 0
    advance_refunded_cents: int = 0
    readings: list[ReadingPublic] = Field(description="every meter index read, in order")
    extensions: list[ExtensionPublic] = Field(
        description="extensions granted, with their reason and evidence (null once erased)"
    )


class ReceiptLineExportPublic(BaseModel):
    revenue_type: str
    amount_cents: int


class ReceiptExportPublic(BaseModel):
    """A receipt naming the household or one of its stays; ``cancelled`` with when and why."""

    register_id: UUID
    number: int
    issued_at: datetime
    stay_id: UUID | None
    method: str
    lines: list[ReceiptLineExportPublic]
    total_cents: int
    cancelled: bool
    cancelled_at: datetime | None
    cancellation_reason: str | None


class DepositMoveExportPublic(BaseModel):
    """A deposit of one of its stays refunded, or withheld (with the reason and reference)."""

    register_id: UUID
    stay_id: UUID
    at: datetime
    kind: str = Field(description="refunded or withheld")
    amount_cents: int
    method: str | None
    reason: str | None
    reference: str | None


class AdvanceChargeExportPublic(BaseModel):
    """A charge an advance paid: its name (as ``GET /v1/stays/{id}`` gives it), its type and
    the cents the advance paid of it."""

    charge: str
    revenue_type: str
    amount_cents: int


class AdvanceMoveExportPublic(BaseModel):
    """An advance of one of its stays (money paid ahead of charges): received or cancelled
    (the receipt's number and method), applied to charges (by revenue type, and the charges
    it paid) or refunded (the method)."""

    register_id: UUID
    stay_id: UUID
    at: datetime
    kind: str = Field(description="received, cancelled, applied or refunded")
    amount_cents: int
    method: str | None
    receipt_number: int | None
    by_revenue_type_cents: dict[str, int] = Field(description="an application: what it paid")
    charges: list[AdvanceChargeExportPublic] = Field(
        description="an application: each charge it paid"
    )
    reference: str | None = Field(
        description="an application: <register>/advance/<version>, as the stay's settled_by"
    )


class PrintedExportPublic(BaseModel):
    """A receipt of the household printed: the original (``duplicate`` 0) or a duplicate."""

    register_id: UUID
    document: str
    number: int
    duplicate: int
    printed_at: datetime


class HouseholdExportPublic(BaseModel):
    """What the ledger holds about one household (right of access)."""

    exported_at: datetime
    household: HouseholdPublic
    stays: list[StayExportPublic]
    access_log: list[AccessPublic]
    receipts: list[ReceiptExportPublic]
    deposits: list[DepositMoveExportPublic] = Field(
        description="its stays' deposits refunded and withheld"
    )
    advances: list[AdvanceMoveExportPublic] = Field(
        default=[],
        description="its stays' advances received, cancelled, applied (with the charges "
        "they paid) and refunded",
    )
    printed: list[PrintedExportPublic]


class HouseholdsPublic(Page[HouseholdPublic]):
    pass


class DocumentsPublic(Page[DocumentPublic]):
    pass


class AccessesPublic(Page[AccessPublic]):
    pass
