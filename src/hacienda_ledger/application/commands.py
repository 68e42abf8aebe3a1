"""Commands as values: one frozen dataclass per command, carrying every argument.

Every command names its ``actor`` and may carry an ``idempotency_key``; its other fields are
its arguments. Nothing else describes a command: the idempotency fingerprint is derived from
the fields (``fingerprint``), the business days it records from their values (``days``), and
the Ledger's command methods from the class itself (``Ledger.post_receipt(...)`` builds an
``IssueReceipt``). A field made when the command is built (the id of a stay about to be
opened, unless the caller names it) is marked ``generated``: left out of the fingerprint,
since a retry builds its command anew. A command on one aire, household, stay or register
derives from ``AireCommand`` (and its kin): the id of what it acts on is its one positional
field, its arguments are keywords.

Handlers, by aggregate: ``handlers/aires.py``, ``households.py``, ``registers.py``,
``stays.py``, ``users.py``. The pipeline that runs them all: ``pipeline.py``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar
from uuid import UUID, uuid4

from hacienda_ledger.aggregates.collectivite import Contact
from hacienda_ledger.aggregates.errors import AlreadyExists, InvalidValue
from hacienda_ledger.aggregates.household import DocumentKind, Profile
from hacienda_ledger.aggregates.integrity import canonical_bytes
from hacienda_ledger.aggregates.register import Cheque, Denomination
from hacienda_ledger.aggregates.register_rules import RemittanceFrequency
from hacienda_ledger.aggregates.user import Role
from hacienda_ledger.aggregates.values import (
    Composition,
    ExtensionReason,
    Meter,
    Mode,
    PaymentMethod,
    Period,
    Tariff,
    WithholdingReason,
    paris_day,
)

#: Field metadata: not part of what a request means (left out of the fingerprint).
GENERATED: Mapping[str, bool] = {"fingerprint": False}
#: Field metadata: added to a command after requests were recorded without it; left out of
#: the fingerprint while at its default, so that a retry of such a request, across the
#: upgrade, still matches its record.
ADDED: Mapping[str, bool] = {"omitted_at_default": True}


@dataclass(frozen=True, kw_only=True)
class Command:
    """What every command carries besides its arguments."""

    actor: str = field(metadata=GENERATED)
    idempotency_key: str | None = field(default=None, metadata=GENERATED)

    #: Fields not part of a request's content, in every command.
    NOT_CONTENT: ClassVar[frozenset[str]] = frozenset({"actor", "idempotency_key"})

    @property
    def command_name(self) -> str:
        """The command's stable name (kept in idempotency records)."""
        return type(self).__name__

    def content(self) -> dict[str, Any]:
        """Every argument that says what the request is (not who sent it, nor its key)."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.metadata.get("fingerprint", True)
            and not (f.metadata.get("omitted_at_default") and getattr(self, f.name) == f.default)
        }

    def arguments(self, *leave: str) -> dict[str, Any]:
        """The content less the fields named (those naming the aggregate acted on): what an
        aggregate's method of the same parameter names is called with."""
        return {k: v for k, v in self.content().items() if k not in leave}

    def fingerprint(self) -> str:
        """SHA-256 of the command's canonical content: same key, other content -> refused."""
        try:
            return hashlib.sha256(canonical_bytes(self.command_name, self.content())).hexdigest()
        except TypeError as exc:
            raise InvalidValue(f"unsupported value in the request: {exc}") from None

    def already_exists(self, created: UUID) -> AlreadyExists:
        """The refusal of a second creation of ``created``, naming what the caller gave
        that is taken: the code (ids derive from codes) or the id field whose value it is."""
        thing = " ".join(re.findall(r"[A-Z][a-z]*", self.command_name)[1:]).lower()
        content = self.content()
        if isinstance(content.get("code"), str):
            name, value = "code", content["code"]
        else:
            name, value = next(
                ((k, v) for k, v in vars(self).items() if v == created), ("id", created)
            )
        return AlreadyExists(
            f"a {thing} with this {name} exists already ({value}): choose another {name}",
            field=name,
        )

    def days(self) -> tuple[date, ...]:
        """The business days this command records something on (Paris days of its dates and
        times), in field order: what a sealed month will be checked against."""
        found: list[date] = []
        for value in self.content().values():
            if isinstance(value, datetime):
                found.append(paris_day(value))
            elif isinstance(value, date):
                found.append(value)
        return tuple(found)


# Commands on one aggregate: its id is their one positional field, the rest are keywords.


@dataclass(frozen=True)
class AireCommand(Command):
    aire_id: UUID


@dataclass(frozen=True)
class HouseholdCommand(Command):
    household_id: UUID


@dataclass(frozen=True)
class StayCommand(Command):
    stay_id: UUID


@dataclass(frozen=True)
class RegisterCommand(Command):
    register_id: UUID


@dataclass(frozen=True, kw_only=True)
class ReceiptCommand(RegisterCommand):
    """A command on the register's receipt ``number`` (its cancellation)."""

    number: int


@dataclass(frozen=True, kw_only=True)
class PrintCommand(RegisterCommand):
    """A print of the register's ``document`` (``receipt``, ``deposit_receipt``, ``slip``)
    ``number``."""

    document: str
    number: int


#: What commands are made of, none a command itself.
BASES: tuple[type[Command], ...] = (
    Command,
    AireCommand,
    HouseholdCommand,
    StayCommand,
    RegisterCommand,
    ReceiptCommand,
    PrintCommand,
)


# --- users and collectivités ----------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CreateUser(Command):
    """A user and its bearer token (only the token's SHA-256 travels in the command)."""

    name: str
    role: Role | str
    token_sha256: str
    sectors: Sequence[str] = ()
    aire_ids: Sequence[UUID] = ()
    collectivite_id: UUID | None = None
    user_id: UUID = field(default_factory=uuid4, metadata=GENERATED)
    #: None: the token expires ``token_expiry_days`` after it is issued.
    token_expires_at: datetime | None = None


@dataclass(frozen=True)
class RevokeToken(Command):
    """A token refused from now on (its owner's act, or an admin's)."""

    token_id: UUID


@dataclass(frozen=True, kw_only=True)
class RotateToken(Command):
    """A new token for the token's user (only its SHA-256 travels here); the old one
    refused once the grace (``token_rotation_grace_seconds``) has passed."""

    token_id: UUID
    token_sha256: str


@dataclass(frozen=True, kw_only=True)
class CreateCollectivite(Command):
    code: str
    name: str
    siren: str
    contacts: Sequence[Contact] = ()


# --- aires ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CreateAire(Command):
    """An aire, in service from ``in_service_from`` (default: the day recorded)."""

    code: str
    name: str
    collectivite_id: UUID
    sector: str
    mode: Mode | str
    insee_code: str
    departement: str
    latitude: Decimal
    longitude: Decimal
    in_service_from: date | None = None


@dataclass(frozen=True, kw_only=True)
class AddEmplacement(AireCommand):
    """An emplacement, in service from ``in_service_from`` (default: the day recorded)."""

    number: str
    places: int = 2
    surface_m2: Decimal | None = None
    in_service_from: date | None = None


@dataclass(frozen=True, kw_only=True)
class PutOutOfService(AireCommand):
    number: str
    start: date
    reason: str


@dataclass(frozen=True, kw_only=True)
class PutBackInService(AireCommand):
    number: str
    start: date


@dataclass(frozen=True, kw_only=True)
class ScheduleClosure(AireCommand):
    start: date
    end: date
    reason: str
    prefect_derogation_ref: str | None = None
    urgent: bool = False


@dataclass(frozen=True)
class AdoptTariff(Command):
    aire_id: UUID
    tariff: Tariff

    def days(self) -> tuple[date, ...]:
        return (self.tariff.effective_from,)


@dataclass(frozen=True, kw_only=True)
class SetStayRules(AireCommand):
    max_consecutive_days: int
    extension_cap_months: int


@dataclass(frozen=True, kw_only=True)
class RecordUnmetDemand(AireCommand):
    """A request for a place on the aire that could not be met on ``day`` (issue 19): why,
    how many caravans and people; nothing naming the family."""

    day: date
    reason: str
    caravans: int
    people: int


@dataclass(frozen=True)
class AttachRegister(Command):
    """Let a register (régie) also collect for another aire of the same collectivité."""

    aire_id: UUID
    register_id: UUID


@dataclass(frozen=True, kw_only=True)
class SealMonth(AireCommand):
    """The aire's month sealed (its arrêté mensuel); ``month`` is ``YYYY-MM``."""

    month: str


@dataclass(frozen=True, kw_only=True)
class Regularise(AireCommand):
    """A correction of the aire's sealed ``month`` (``YYYY-MM``), recorded in the open month:
    place-days and an amount (cents) added to the sealed figures (negative: taken away)."""

    month: str
    place_days: int = 0
    amount_cents: int = 0
    reason: str


# --- households -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RecordHousehold(Command):
    """A household recorded at an aire, with a key of its own for its personal data."""

    aire_id: UUID
    profile: Profile
    household_id: UUID = field(default_factory=uuid4, metadata=GENERATED)


@dataclass(frozen=True, kw_only=True)
class AmendHousehold(HouseholdCommand):
    """Some fields of the profile changed (``changes``: field name -> new value)."""

    changes: Mapping[str, Any]


@dataclass(frozen=True, kw_only=True)
class RecordHouseholdDocument(HouseholdCommand):
    """A document seen or signed (an identity document is only ever *seen*)."""

    kind: DocumentKind | str
    on: date
    reference: str
    stay_id: UUID | None = None


@dataclass(frozen=True, kw_only=True)
class EraseHousehold(HouseholdCommand):
    reason: str


# --- stays ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OpenStay(AireCommand):
    emplacement: str
    household_ref: UUID
    arrived_at: datetime
    composition: Composition
    agreement_ref: str
    entry_inspection_ref: str
    water_index: Decimal
    electricity_index: Decimal
    stay_id: UUID = field(default_factory=uuid4, metadata=GENERATED)


@dataclass(frozen=True, kw_only=True)
class RecordMeterReading(StayCommand):
    meter: Meter | str
    index: Decimal
    read_at: datetime
    corrects: int | None = None


@dataclass(frozen=True, kw_only=True)
class ExtendStay(StayCommand):
    reason: ExtensionReason | str
    evidence_ref: str
    until: date


@dataclass(frozen=True, kw_only=True)
class AssessCharges(StayCommand):
    """Charge the days and consumption not yet charged, up to ``through``."""

    through: date


@dataclass(frozen=True, kw_only=True)
class Depart(StayCommand):
    """Close the stay, charge what remains, and free the emplacement."""

    departed_at: datetime
    exit_inspection_ref: str
    water_index: Decimal
    electricity_index: Decimal


# --- interventions and teams -----------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RecordIntervention(AireCommand):
    """What was done (or is planned) on the aire; ``days()`` are its start and end, so a
    sealed month refuses it."""

    kind: str
    started_at: datetime
    description: str
    label: str = ""
    ended_at: datetime | None = None
    who: Sequence[UUID] = ()
    emplacements: Sequence[str] = ()
    status: str = "done"
    cost_cents: int | None = None
    supplier_ref: str | None = None
    follows: UUID | None = None
    stay_id: UUID | None = None
    out_of_service: bool = False
    intervention_id: UUID = field(default_factory=uuid4, metadata=GENERATED)


@dataclass(frozen=True)
class SetInterventionStatus(Command):
    """``planned`` -> ``done`` or ``cancelled`` (refused in a sealed month of its start)."""

    intervention_id: UUID
    _: KW_ONLY
    status: str
    ended_at: datetime | None = None


@dataclass(frozen=True)
class AssignTeamMember(Command):
    """A user (cashier, régisseur, intervenant) joins the aire's team: the aire enters
    their scope."""

    aire_id: UUID
    user_id: UUID


@dataclass(frozen=True)
class WithdrawTeamMember(Command):
    aire_id: UUID
    user_id: UUID


@dataclass(frozen=True, kw_only=True)
class UploadDocument(AireCommand):
    """A document of the aire, its first version: bytes already stored under ``sha256``
    (``application/documents.py``). Its validity dates record nothing of a month's
    accounts: a sealed month does not refuse it (``days`` is empty)."""

    kind: str
    title: str
    sha256: str
    size: int
    media_type: str
    filename: str
    valid_from: date
    valid_to: date | None = None
    document_id: UUID = field(default_factory=uuid4, metadata=GENERATED)

    def days(self) -> tuple[date, ...]:
        return ()


@dataclass(frozen=True)
class UploadDocumentVersion(Command):
    """A new version of an aire's document; the older ones stay."""

    aire_id: UUID
    document_id: UUID
    _: KW_ONLY
    title: str | None
    sha256: str
    size: int
    media_type: str
    filename: str
    valid_from: date
    valid_to: date | None = None

    def days(self) -> tuple[date, ...]:
        return ()


# --- registers --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OpenRegister(AireCommand):
    regie_ref: str
    float_cents: int
    cash_ceiling_cents: int
    payment_methods: Sequence[str]
    revenue_types: Sequence[str]
    register_id: UUID = field(default_factory=uuid4, metadata=GENERATED)
    remittance_frequency: RemittanceFrequency | str = RemittanceFrequency.MONTHLY
    remittance_days: int | None = None
    cheque_working_days: int = 1


@dataclass(frozen=True, kw_only=True)
class SetRegisterRules(RegisterCommand):
    """The régie's rules, as the act amending its acte constitutif (``decision_ref``) sets
    them: every rule is restated."""

    decision_ref: str
    cash_ceiling_cents: int
    remittance_frequency: RemittanceFrequency | str = RemittanceFrequency.MONTHLY
    remittance_days: int | None = None
    cheque_working_days: int = 1


@dataclass(frozen=True, kw_only=True)
class IssueReceipt(RegisterCommand):
    """The next numbered receipt; ``lines`` are (revenue type, amount in cents);
    ``charges[i]``, the stay's charges line i settles, in that order (none named: the
    oldest of its type). ``settle_balance``: add the lines that pay what the stay owes,
    type by type. A cheque payment may name its ``cheque`` (number and bank)."""

    stay_id: UUID | None
    method: PaymentMethod | str
    lines: Sequence[tuple[str, int]] = ()
    settle_balance: bool = False
    cheque: Cheque | None = None
    charges: Sequence[Sequence[str]] = field(default=(), metadata=ADDED)


@dataclass(frozen=True, kw_only=True)
class CancelReceipt(ReceiptCommand):
    """A receipt reversed on the régisseur's own authority (no second approval)."""

    reason: str


@dataclass(frozen=True, kw_only=True)
class RequestCancellation(ReceiptCommand):
    """A cashier asks for a receipt to be cancelled: pending until a régisseur decides."""

    reason: str


@dataclass(frozen=True, kw_only=True)
class ApproveCancellation(ReceiptCommand):
    """The régisseur approves the pending cancellation of receipt ``number``."""


@dataclass(frozen=True, kw_only=True)
class RefuseCancellation(ReceiptCommand):
    """The régisseur refuses the pending cancellation of receipt ``number``."""

    reason: str


@dataclass(frozen=True, kw_only=True)
class WithdrawCancellation(ReceiptCommand):
    """Who asked for the cancellation of receipt ``number`` withdraws it."""


@dataclass(frozen=True, kw_only=True)
class RefundDeposit(RegisterCommand):
    stay_id: UUID
    amount_cents: int
    method: PaymentMethod | str


@dataclass(frozen=True, kw_only=True)
class RefundAdvance(RegisterCommand):
    """Advances held for a stay given back (``amount_cents`` None: all that is held)."""

    stay_id: UUID
    method: PaymentMethod | str
    amount_cents: int | None = None


@dataclass(frozen=True, kw_only=True)
class WithholdDeposit(RegisterCommand):
    stay_id: UUID
    amount_cents: int
    reason: WithholdingReason | str
    reference: str


@dataclass(frozen=True, kw_only=True)
class Remit(RegisterCommand):
    through_receipt: int
    amounts_by_method: Mapping[str, int]


@dataclass(frozen=True, kw_only=True)
class CountCash(RegisterCommand):
    """An arrêté de caisse: the notes and coins counted (``denominations``), or only the
    amount counted; signed by the actor."""

    denominations: Sequence[Denomination] = ()
    counted_cents: int | None = None


@dataclass(frozen=True, kw_only=True)
class HandOver(RegisterCommand):
    """A remise de service: the actor (a régisseur) hands the régie over to ``incoming``
    (a user who may sign for its cash: a régisseur of its aire) on a count made together."""

    incoming: UUID
    denominations: Sequence[Denomination] = ()
    counted_cents: int | None = None


@dataclass(frozen=True, kw_only=True)
class RegulariseCashDifference(RegisterCommand):
    """The régularisation of count ``count_number``'s difference: a shortfall made good in
    cash, a surplus taken as revenue; ``reference`` names the payment or the decision."""

    count_number: int
    reference: str


@dataclass(frozen=True, kw_only=True)
class ClosePeriod(RegisterCommand):
    period: Period | str
    day: date


@dataclass(frozen=True, kw_only=True)
class PrintDocument(PrintCommand):
    """A document printed by who handles the register's cash: its original the first time
    (recorded), nothing recorded afterwards (a later print is a ``RecordReprint``)."""


@dataclass(frozen=True, kw_only=True)
class RecordReprint(PrintCommand):
    """A receipt, deposit receipt or slip printed again (``DUPLICATA``)."""
