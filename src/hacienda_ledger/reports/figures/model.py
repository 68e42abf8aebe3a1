"""The figures themselves: each report's as a value, and the pieces they are made of (an
aire's identity, a register's chain head, a month's seal, the period). ``read.Figures``
and ``register.RegisterFigures`` read them from the projections."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from hacienda_ledger.aggregates.aire import Regularisation
from hacienda_ledger.aggregates.errors import InvalidPeriod
from hacienda_ledger.aggregates.register import PendingCancellation
from hacienda_ledger.aggregates.register_rules import Alert, MethodPosition, RegieRules
from hacienda_ledger.aggregates.values import PARIS, month_bounds
from hacienda_ledger.aggregates.vat import VatLine
from hacienda_ledger.projections.occupancy import Alt2Month, OccupancyMonth
from hacienda_ledger.projections.revenue import RevenueComparison


@dataclass(frozen=True)
class AireInfo:
    id: str
    code: str
    name: str
    mode: str
    sector: str
    collectivite_id: str
    collectivite_name: str
    register_ids: tuple[str, ...]


@dataclass(frozen=True)
class ChainHead:
    """A register's last event on or before the end of the period: what the report can be
    checked against (``GET /v1/registers/{id}/verify`` and the cash journal)."""

    register_id: str
    regie_ref: str
    version: int
    chain_hash: str
    last_receipt: int
    recorded_at: str


@dataclass(frozen=True)
class MonthSeal:
    """A month's arrêté mensuel as the reports name it: the seal's hash (the ``hash`` of its
    ``Seals.MonthSealed`` event, in full) and, on a monthly report, the SHA-256 of the seal's
    attestation (``attestations.attestation_hash``; None when no attestation key is
    configured, or not asked for)."""

    month: str
    seal_hash: str
    attestation_hash: str | None = None


@dataclass(frozen=True)
class Period:
    """A report's period: ``2025-03`` (a month) or ``2025`` (a year)."""

    text: str
    first: date
    last: date

    @classmethod
    def month(cls, month: str) -> Period:
        try:
            first, last = month_bounds(month)
        except ValueError:
            raise InvalidPeriod(f"a month is YYYY-MM, not {month!r}", field="month") from None
        return cls(month, first, last)

    @classmethod
    def year(cls, year: int) -> Period:
        if not 2000 <= year <= 2100:
            raise InvalidPeriod("a year is 2000 to 2100", field="year")
        return cls(f"{year:04d}", date(year, 1, 1), date(year, 12, 31))

    def end_instant(self) -> datetime:
        """The last moment of the period's last Paris day."""
        return datetime.combine(self.last + timedelta(days=1), time(), tzinfo=PARIS) - timedelta(
            microseconds=1
        )

    def require_over(self, today: date) -> None:
        if self.last >= today:
            raise InvalidPeriod(
                f"{self.text} is not over yet (it ends {self.last.isoformat()})", field="period"
            )


def moment(recorded_at: str) -> datetime:
    """A recorded time as the projection keeps it (ISO text, ``Z`` for UTC)."""
    return datetime.fromisoformat(recorded_at.replace("Z", "+00:00"))


@dataclass(frozen=True)
class MoneyLine:
    revenue_type: str
    method: str
    amount_cents: int
    receipts: int
    cancellations: int


@dataclass(frozen=True)
class JournalEvent:
    """One register event of the period, as the cash journal shows it."""

    register_id: str
    day: date
    version: int
    kind: str
    receipt_number: int | None = None
    method: str | None = None
    amount_cents: int = 0
    slip_number: int | None = None
    first_receipt: int | None = None
    last_receipt: int | None = None
    # a cancellation: when recorded (approved), why, who asked and when, who approved
    recorded_at: datetime | None = None
    reason: str | None = None
    requested_by: str | None = None
    requested_at: datetime | None = None
    approved_by: str | None = None


@dataclass(frozen=True)
class CancellationRequest:
    """A cancellation asked for that did not reverse its receipt: refused or withdrawn in
    the month, or still waiting for the régisseur at its end (``decided_at`` None)."""

    register_id: str
    receipt_number: int
    amount_cents: int
    reason: str
    requested_by: str
    requested_at: datetime
    outcome: str  # "refused", "withdrawn", "pending"
    decided_by: str = ""
    decided_at: datetime | None = None
    decision: str = ""  # why it was refused


@dataclass(frozen=True)
class CashCount:
    """An arrêté de caisse of the period: what was counted against the book, by whom, the
    notes and coins (``value×count``, or None for a count given as a sum), the user the
    régie was handed over to (a handover), and its difference's régularisation, if any
    (``deficit`` made good, ``excess`` taken as revenue): without one, the difference is
    still open."""

    register_id: str
    number: int
    day: date
    counted_cents: int
    book_cents: int
    difference_cents: int
    denominations: str | None
    counted_by: str
    handed_over_to: str | None = None
    regularised_on: date | None = None
    regularisation: str | None = None

    @property
    def open(self) -> bool:
        return bool(self.difference_cents) and self.regularisation is None


@dataclass(frozen=True)
class RegisterClosure:
    """A register closure whose period ends in the report's period: the revenue received
    in it apart from the third-party funds (deposits), and the perpetual grand total."""

    register_id: str
    period: str
    first_day: date
    last_day: date
    day: date  # recorded
    revenue_cents: int
    third_party_cents: int
    perpetual_total_cents: int


@dataclass(frozen=True)
class Deposits:
    received_cents: int
    cancelled_cents: int
    refunded_cents: int
    withheld_cents: int
    withheld_by_reason_cents: dict[str, int]
    held_at_end_cents: int


@dataclass(frozen=True)
class Advances:
    """Advances (money paid ahead of any charge, third-party funds until applied) of an
    aire's stays in a month: received (net of receipts cancelled), applied to charges (then
    revenue, by the type they paid), refunded, and held at the month's end."""

    received_cents: int = 0
    cancelled_cents: int = 0
    applied_cents: int = 0
    applied_by_type_cents: dict[str, int] = field(default_factory=dict)
    refunded_cents: int = 0
    held_at_end_cents: int = 0


@dataclass(frozen=True)
class Unpaid:
    stay_id: str
    household_ref: str
    balance_cents: int


@dataclass(frozen=True)
class RegieMonthEnd:
    """A register at the last instant of a month: its rules, the alerts then open and its
    cash position."""

    register_id: str
    regie_ref: str
    rules: RegieRules
    alerts: tuple[Alert, ...]
    position: tuple[MethodPosition, ...]
    pending: tuple[PendingCancellation, ...] = ()  # cancellations waiting for the régisseur
    pending_cents: tuple[int, ...] = ()  # each pending receipt's amount


@dataclass(frozen=True)
class InterventionLine:
    """The aire's interventions of one kind that started in the month (``interventions``
    projection): by status, the done ones' cost, and the emplacement-days incidents kept out
    of service in the month."""

    kind: str
    planned: int
    done: int
    cancelled: int
    cost_cents: int
    out_of_service_days: int


@dataclass(frozen=True)
class InterventionYear:
    """One kind of intervention over a year and the year before: how many were done, what
    they cost, the emplacement-days incidents kept out of service."""

    kind: str
    done: int
    done_before: int
    cost_cents: int
    cost_before_cents: int
    out_of_service_days: int
    out_of_service_days_before: int


@dataclass(frozen=True)
class MonthlyFigures:
    aire: AireInfo
    period: Period
    occupancy: OccupancyMonth
    households: int
    people: int
    arrivals: int
    departures: int
    money: tuple[MoneyLine, ...]
    cancellations: tuple[JournalEvent, ...]
    deposits: Deposits
    remittances: tuple[JournalEvent, ...]
    counts: tuple[CashCount, ...]
    register_closures: tuple[RegisterClosure, ...]
    aire_closures: tuple[tuple[date, date], ...]
    extensions: tuple[tuple[date, str, date], ...]
    unpaid: tuple[Unpaid, ...]
    heads: tuple[ChainHead, ...]
    regularisations: tuple[Regularisation, ...] = ()  # recorded in the month
    seal: MonthSeal | None = None  # None: the month is not sealed
    regie: tuple[RegieMonthEnd, ...] = ()  # each register that existed at the month's end
    # cancellations refused or withdrawn in the month, and those pending at its end
    cancellation_requests: tuple[CancellationRequest, ...] = ()
    interventions: tuple[InterventionLine, ...] = ()  # by kind (issue 18)
    advances: Advances = Advances()  # third-party funds beside the deposits

    @property
    def receipts_total_cents(self) -> int:
        return sum(
            m.amount_cents for m in self.money if m.revenue_type not in ("deposit", "advance")
        )

    @property
    def unpaid_total_cents(self) -> int:
        return sum(u.balance_cents for u in self.unpaid)


@dataclass(frozen=True)
class AnnualFigures:
    """What an annual report of one aire names besides its figures: the aire, the year, the
    registers' chain heads at its end, the régularisations of its sealed months and its
    seals (the months not sealed are provisional)."""

    aire: AireInfo
    period: Period
    heads: tuple[ChainHead, ...]
    regularisations: tuple[Regularisation, ...] = ()
    seals: tuple[MonthSeal, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Alt2Figures(AnnualFigures):
    months: tuple[Alt2Month, ...]

    def total(self, attribute: str) -> int:
        return sum(int(getattr(m, attribute)) for m in self.months)


@dataclass(frozen=True)
class Alt2Summary:
    period: Period
    aires: tuple[Alt2Figures, ...]
    heads: tuple[ChainHead, ...] = field(default=())


@dataclass(frozen=True, kw_only=True)
class DspFigures(AnnualFigures):
    revenue: tuple[RevenueComparison, ...]
    occupancy: tuple[OccupancyMonth, ...]
    vat: tuple[VatLine, ...] = ()  # a dsp aire's receipts of the year, by type and rate
    interventions: tuple[InterventionYear, ...] = ()  # by kind, with the year before


def rate_of(occupied: int, available: int) -> Decimal | None:
    """Occupied ÷ available place-days to 0.0001, half-up (None when nothing was available)."""
    if not available:
        return None
    return Decimal(2 * occupied * 10000 + available) // (2 * available) / Decimal(10000)
