"""The figures of each report, read from the projections only (no event is replayed here).

An aire's identity (code, name, mode, collectivité, registers) comes from the ledger's
aggregates: it is reference data, not a figure. Every figure comes from a projection table:
``occupancy_*`` (occupancy, closures, extensions), ``revenue_monthly`` (receipts by revenue
type and method), ``cash_journal``, ``deposit_movements``, ``cash_counts`` and
``register_closures`` (cancellations, deposits, remittances, cash counts with their
handovers and régularisations, register closures by the period they close, chain heads)
and ``balances``/``postings``/``stays`` (receivables left unpaid at the end of the period).

The régie's standing at the period's end (``RegieMonthEnd``: the alerts then open, the cash
position and the cancellations still waiting for the régisseur) comes from each register
itself, as it stood at the last instant of the period (``application/regie.py``): it is
exact, and a projection holds no such state.

Cancellations (the month's register of cancellations) come from the cash journal: each one
with its reason, who asked and when, who approved and when; requests refused or withdrawn in
the month with the request they answer. Agents are named (``agents.Agents``).

The seals of the period's months (``MonthSeal``) come from the aire's seals
(``Audit.seal_events``) and, for a monthly report, the hash of the seal's attestation
(``Audit.attestation_hash``): they say which figures are final, and are no figures themselves.

A period's figures are counted **as of its last day** (Europe/Paris): a report is only
built for a period that is over, so building it again gives the same figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from hacienda_ledger.aggregates.aire import Regularisation
from hacienda_ledger.aggregates.errors import InvalidPeriod, RegisterNotFound
from hacienda_ledger.aggregates.register import PendingCancellation
from hacienda_ledger.aggregates.register_rules import Alert, MethodPosition, RegieRules
from hacienda_ledger.aggregates.values import PARIS, Mode, month_bounds
from hacienda_ledger.aggregates.vat import VatLine, vat_lines, vat_totals
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.projecting import ProjectionQueries
from hacienda_ledger.application.regie import standing
from hacienda_ledger.projections.balances import instant
from hacienda_ledger.projections.occupancy import (
    CLOSURES,
    EXTENSIONS,
    Alt2Month,
    OccupancyFacts,
    OccupancyMonth,
    occupancy_month,
    occupies,
)
from hacienda_ledger.projections.revenue import RevenueComparison
from hacienda_ledger.reports.agents import Agents


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


def _moment(recorded_at: str) -> datetime:
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

    @property
    def receipts_total_cents(self) -> int:
        return sum(m.amount_cents for m in self.money if m.revenue_type != "deposit")

    @property
    def unpaid_total_cents(self) -> int:
        return sum(u.balance_cents for u in self.unpaid)


@dataclass(frozen=True)
class Alt2Figures:
    aire: AireInfo
    period: Period
    months: tuple[Alt2Month, ...]
    heads: tuple[ChainHead, ...]
    regularisations: tuple[Regularisation, ...] = ()  # of the year's sealed months
    seals: tuple[MonthSeal, ...] = ()  # the year's sealed months; the others are provisional

    def total(self, attribute: str) -> int:
        return sum(int(getattr(m, attribute)) for m in self.months)


@dataclass(frozen=True)
class Alt2Summary:
    period: Period
    aires: tuple[Alt2Figures, ...]
    heads: tuple[ChainHead, ...] = field(default=())


@dataclass(frozen=True)
class DspFigures:
    aire: AireInfo
    period: Period
    revenue: tuple[RevenueComparison, ...]
    occupancy: tuple[OccupancyMonth, ...]
    heads: tuple[ChainHead, ...]
    regularisations: tuple[Regularisation, ...] = ()  # of the year's sealed months
    seals: tuple[MonthSeal, ...] = ()  # the year's sealed months; the others are provisional
    vat: tuple[VatLine, ...] = ()  # a dsp aire's receipts of the year, by type and rate


class Figures:
    """Reads the figures of every report for one ledger (through its projections).

    It keeps the receivables of the last period end asked about and each aire's ALT2 year,
    which several reports of one run share: use a fresh one for each run."""

    def __init__(self, ledger: Ledger, queries: ProjectionQueries) -> None:
        self.ledger = ledger
        self.queries = queries
        self.agents = Agents(ledger)
        self._receivables_cache: dict[str, dict[str, int]] = {}
        self._alt2_cache: dict[tuple[UUID, int], Alt2Figures] = {}

    # --- reference data -------------------------------------------------------------------

    def aire(self, aire_id: UUID) -> AireInfo:
        aire = self.ledger.aire(aire_id)
        collectivite = self.ledger.collectivite(aire.collectivite_id)
        return AireInfo(
            id=str(aire.id),
            code=aire.code,
            name=aire.name,
            mode=Mode(aire.mode).value,
            sector=aire.sector,
            collectivite_id=str(aire.collectivite_id),
            collectivite_name=collectivite.name,
            register_ids=tuple(str(r) for r in aire.register_ids),
        )

    def heads(self, register_ids: Sequence[str], period: Period) -> tuple[ChainHead, ...]:
        heads = []
        for register_id in register_ids:
            rows = self.queries.select(
                "cash_journal",
                "cash_journal",
                where={"register_id": register_id},
                between=("day", None, period.last),
            )
            if not rows:
                continue
            last = rows[-1]
            receipts = [r["receipt_number"] for r in rows if r["kind"] == "receipt"]
            heads.append(
                ChainHead(
                    register_id=register_id,
                    regie_ref=self.ledger.cash_register(UUID(register_id)).regie_ref,
                    version=last["version"],
                    chain_hash=last["chain_hash"],
                    last_receipt=max(receipts, default=0),
                    recorded_at=last["recorded_at"],
                )
            )
        return tuple(heads)

    def seals(self, aire_id: UUID, period: Period) -> tuple[MonthSeal, ...]:
        """The seals of the period's months, in month order (no attestation hash)."""
        return tuple(
            MonthSeal(seal.month, seal.hash)
            for seal in self.ledger.audit.seal_events(aire_id)
            if seal.month.startswith(period.text)
        )

    def month_seal(self, aire_id: UUID, period: Period) -> MonthSeal | None:
        """The seal of one month with its attestation's hash, or None if it is not sealed."""
        sealed = self.seals(aire_id, period)  # of a month: one seal at most
        if not sealed:
            return None
        month, seal_hash = sealed[0].month, sealed[0].seal_hash
        return MonthSeal(month, seal_hash, self.ledger.audit.attestation_hash(aire_id, month))

    def _regularisations(self, aire_id: UUID, year: int) -> tuple[Regularisation, ...]:
        """The régularisations of the year's (sealed) months, whenever recorded."""
        done = self.ledger.aire(aire_id).regularisations
        return tuple(r for r in done if r.month.startswith(f"{year:04d}-"))

    def _facts(self, aire_id: UUID) -> OccupancyFacts:
        return self.queries.occupancy_facts(aire_id)

    # --- monthly ------------------------------------------------------------------------

    def monthly(self, aire_id: UUID, month: str) -> MonthlyFigures:
        period = Period.month(month)
        info = self.aire(aire_id)
        facts = self._facts(aire_id)
        occupancy = occupancy_month(facts, aire_id, month, period.last)
        present = [
            s
            for s in facts.stays
            if s["aire_id"] == info.id and any(occupies(s, d.day) for d in occupancy.days)
        ]
        people = sum(s["adults"] + s["children"] for s in present)
        revenue = [
            r
            for r in self.queries.select("revenue", "revenue_monthly", where={"aire_id": info.id})
            if r["month"] == month
        ]
        money = tuple(
            MoneyLine(
                r["revenue_type"], r["method"], r["amount_cents"], r["receipts"], r["cancellations"]
            )
            for r in revenue
        )
        journal: list[JournalEvent] = []
        for register_id in info.register_ids:
            journal.extend(self._journal_events(register_id, period))
        aire_closures = tuple(
            (r["first_day"], r["last_day"])
            for r in self.queries.select("occupancy", CLOSURES, where={"aire_id": info.id})
            if r["first_day"] <= period.last and r["last_day"] >= period.first
        )
        extensions = tuple(
            (r["granted_on"], r["reason"], r["until"])
            for r in self.queries.select(
                "occupancy",
                EXTENSIONS,
                where={"aire_id": info.id},
            )
            if period.first <= r["granted_on"] <= period.last
        )
        regie = self.regie(info.register_ids, period)
        return MonthlyFigures(
            aire=info,
            period=period,
            occupancy=occupancy,
            households=len(present),
            people=people,
            arrivals=sum(d.arrivals for d in occupancy.days),
            departures=sum(d.departures for d in occupancy.days),
            money=money,
            cancellations=tuple(e for e in journal if e.kind == "cancellation"),
            deposits=self._deposits(info, period),
            remittances=tuple(e for e in journal if e.kind == "remittance"),
            counts=self._counts(info.register_ids, period),
            register_closures=self._closures(info.register_ids, period),
            aire_closures=tuple(sorted(aire_closures)),
            extensions=tuple(sorted(extensions)),
            unpaid=self._unpaid(info.id, period),
            heads=self.heads(info.register_ids, period),
            regularisations=tuple(
                r
                for r in self.ledger.aire(aire_id).regularisations
                if period.first <= r.recorded_on <= period.last
            ),
            seal=self.month_seal(aire_id, period),
            regie=regie,
            cancellation_requests=self._requests(journal, regie),
        )

    def regie(self, register_ids: Sequence[str], period: Period) -> tuple[RegieMonthEnd, ...]:
        """Each register's alerts and cash position at the period's last instant (a
        register opened after it is left out)."""
        found = []
        for register_id in register_ids:
            try:
                then = standing(self.ledger, UUID(register_id), period.end_instant())
            except RegisterNotFound:
                continue
            register = then.register
            pending = register.pending
            found.append(
                RegieMonthEnd(
                    register_id,
                    register.regie_ref,
                    register.rules,
                    then.alerts,
                    then.position,
                    pending,
                    tuple(register.open_receipts[str(p.number)].total_cents for p in pending),
                )
            )
        return tuple(found)

    def _journal_events(self, register_id: str, period: Period) -> list[JournalEvent]:
        rows = self.queries.select(
            "cash_journal",
            "cash_journal",
            where={"register_id": register_id},
            between=("day", period.first, period.last),
        )
        by_version: dict[int, list[dict[str, Any]]] = {}
        for row in rows:
            by_version.setdefault(row["version"], []).append(row)
        events: list[JournalEvent] = []
        for version, lines in sorted(by_version.items()):
            first = lines[0]
            kind = first["kind"]
            base: dict[str, Any] = dict(
                register_id=register_id, day=first["day"], version=version, kind=kind
            )
            if kind == "cancellation":
                asked = first["requested_at"]
                events.append(
                    JournalEvent(
                        **base,
                        receipt_number=first["receipt_number"],
                        method=first["method"],
                        amount_cents=sum(x["amount_out_cents"] for x in lines),
                        recorded_at=_moment(first["recorded_at"]),
                        reason=first["reason"],
                        # a row projected before these columns: who recorded it asked
                        requested_by=self.agents.name(first["requested_by"] or first["cashier"]),
                        requested_at=_moment(asked) if asked else None,
                        approved_by=self.agents.name(first["approved_by"]),
                    )
                )
            elif kind in ("cancellation_refused", "cancellation_withdrawn"):
                events.append(
                    JournalEvent(
                        **base,
                        receipt_number=first["receipt_number"],
                        recorded_at=_moment(first["recorded_at"]),
                        reason=first["reason"],
                        approved_by=self.agents.name(first["cashier"]),  # who decided
                    )
                )
            elif kind == "remittance":
                for line in lines:
                    events.append(
                        JournalEvent(
                            **base,
                            method=line["method"],
                            amount_cents=line["amount_out_cents"],
                            slip_number=line["slip_number"],
                            first_receipt=line["first_receipt"],
                            last_receipt=line["last_receipt"],
                        )
                    )
        return events

    def _counts(self, register_ids: Sequence[str], period: Period) -> tuple[CashCount, ...]:
        """The cash counts of the period (by the day counted), as they stand at its end:
        a régularisation recorded after the period's last day is not shown. Who counted and
        who the régie was handed over to are named (``agents``)."""
        found = []
        for register_id in register_ids:
            for row in self.queries.select(
                "cash_journal",
                "cash_counts",
                where={"register_id": register_id},
                between=("day", period.first, period.last),
            ):
                settled = row["regularised_on"] is not None and row["regularised_on"] <= period.last
                found.append(
                    CashCount(
                        register_id=register_id,
                        number=row["number"],
                        day=row["day"],
                        counted_cents=row["counted_cents"],
                        book_cents=row["book_cents"],
                        difference_cents=row["difference_cents"],
                        denominations=row["denominations"],
                        counted_by=self.agents.name(row["counted_by"]),
                        handed_over_to=self.agents.name(row["handed_over_to"]) or None,
                        regularised_on=row["regularised_on"] if settled else None,
                        regularisation=row["regularisation"] if settled else None,
                    )
                )
        return tuple(sorted(found, key=lambda c: (c.day, c.register_id, c.number)))

    def _closures(self, register_ids: Sequence[str], period: Period) -> tuple[RegisterClosure, ...]:
        """The register closures of the period's own days, month or year: selected by the
        period they close (its last day in the report's period), whenever recorded."""
        found = []
        for register_id in register_ids:
            for row in self.queries.select(
                "cash_journal",
                "register_closures",
                where={"register_id": register_id},
                between=("last_day", period.first, period.last),
            ):
                found.append(
                    RegisterClosure(
                        register_id=register_id,
                        period=row["period"],
                        first_day=row["first_day"],
                        last_day=row["last_day"],
                        day=row["day"],
                        revenue_cents=row["revenue_cents"],
                        third_party_cents=row["third_party_cents"],
                        perpetual_total_cents=row["perpetual_total_cents"],
                    )
                )
        return tuple(sorted(found, key=lambda c: (c.last_day, c.first_day, c.register_id)))

    def _requests(
        self, journal: Sequence[JournalEvent], regie: Sequence[RegieMonthEnd]
    ) -> tuple[CancellationRequest, ...]:
        """The month's refused and withdrawn requests, each with what it asked (the last
        request of its receipt before the decision), then those pending at the month's
        end."""
        found: list[CancellationRequest] = []
        for decided in journal:
            if decided.kind not in ("cancellation_refused", "cancellation_withdrawn"):
                continue
            assert decided.receipt_number is not None and decided.recorded_at is not None
            rows = self.queries.select(
                "cash_journal",
                "cash_journal",
                where={
                    "register_id": decided.register_id,
                    "receipt_number": decided.receipt_number,
                },
            )
            asked = max(
                (
                    r
                    for r in rows
                    if r["kind"] == "cancellation_requested" and r["version"] < decided.version
                ),
                key=lambda r: int(r["version"]),
            )
            refused = decided.kind == "cancellation_refused"
            found.append(
                CancellationRequest(
                    decided.register_id,
                    decided.receipt_number,
                    sum(r["amount_in_cents"] for r in rows if r["kind"] == "receipt"),
                    asked["reason"] or "",
                    self.agents.name(asked["requested_by"]),
                    _moment(asked["recorded_at"]),
                    "refused" if refused else "withdrawn",
                    decided.approved_by or "",
                    decided.recorded_at,
                    (decided.reason or "") if refused else "",
                )
            )
        for month_end in regie:
            for pending, cents in zip(month_end.pending, month_end.pending_cents, strict=True):
                found.append(
                    CancellationRequest(
                        month_end.register_id,
                        pending.number,
                        cents,
                        pending.reason,
                        self.agents.name(pending.requested_by),
                        pending.requested_at,
                        "pending",
                    )
                )
        return tuple(found)

    def _deposits(self, info: AireInfo, period: Period) -> Deposits:
        rows = [
            row
            for register_id in info.register_ids
            for row in self.queries.select(
                "cash_journal",
                "deposit_movements",
                where={"register_id": register_id},
                between=("day", None, period.last),
            )
            if row["aire_id"] == info.id
        ]
        totals = dict.fromkeys(("received", "cancelled", "refunded", "withheld"), 0)
        held = 0
        reasons: dict[str, int] = {}
        for row in rows:
            amount = row["amount_cents"]
            held += amount if row["kind"] == "received" else -amount
            if row["day"] >= period.first:
                totals[row["kind"]] += amount
                if row["kind"] == "withheld":
                    reasons[row["reason"]] = reasons.get(row["reason"], 0) + amount
        return Deposits(
            received_cents=totals["received"],
            cancelled_cents=totals["cancelled"],
            refunded_cents=totals["refunded"],
            withheld_cents=totals["withheld"],
            withheld_by_reason_cents=dict(sorted(reasons.items())),
            held_at_end_cents=held,
        )

    def _unpaid(self, aire_id: str, period: Period) -> tuple[Unpaid, ...]:
        stays = self.queries.select("balances", "stays", where={"aire_id": aire_id})
        owed = self._receivables(period.end_instant())
        unpaid = []
        for stay in stays:
            balance = owed.get(stay["stay_id"], 0)
            if balance > 0:
                unpaid.append(Unpaid(stay["stay_id"], stay["household_ref"], balance))
        return tuple(unpaid)

    def _receivables(self, end: datetime) -> dict[str, int]:
        """Every stay's receivable as of ``end`` (sum of the postings recorded up to it), read
        in one pass over the postings and kept for the other aires of the same period."""
        key = instant(end)
        if key not in self._receivables_cache:
            owed: dict[str, int] = {}
            for posting in self.queries.select(
                "balances", "postings", between=("recorded_at", None, key)
            ):
                account: str = posting["account"]
                if account.startswith("receivable/"):
                    stay = account.removeprefix("receivable/")
                    owed[stay] = owed.get(stay, 0) + posting["amount_cents"]
            self._receivables_cache = {key: owed}
        return self._receivables_cache[key]

    # --- annual -------------------------------------------------------------------------

    def alt2(self, aire_id: UUID, year: int) -> Alt2Figures:
        """One aire's ALT2 year (kept: the operator summary reads every aire's again)."""
        if (aire_id, year) not in self._alt2_cache:
            period = Period.year(year)
            info = self.aire(aire_id)
            months = self.queries.alt2(aire_id, year, period.last)
            self._alt2_cache[(aire_id, year)] = Alt2Figures(
                info,
                period,
                months,
                self.heads(info.register_ids, period),
                self._regularisations(aire_id, year),
                self.seals(aire_id, period),
            )
        return self._alt2_cache[(aire_id, year)]

    def dsp(self, aire_id: UUID, year: int) -> DspFigures:
        period = Period.year(year)
        info = self.aire(aire_id)
        facts = self._facts(aire_id)
        occupancy = tuple(
            occupancy_month(facts, aire_id, f"{year:04d}-{m:02d}", period.last)
            for m in range(1, 13)
        )
        return DspFigures(
            aire=info,
            period=period,
            revenue=self.queries.revenue(aire_id, year),
            occupancy=occupancy,
            heads=self.heads(info.register_ids, period),
            regularisations=self._regularisations(aire_id, year),
            seals=self.seals(aire_id, period),
            vat=self.vat(info, period),
        )

    def vat(self, info: AireInfo, period: Period) -> tuple[VatLine, ...]:
        """The VAT of a ``dsp`` aire's receipts in the period, net of cancellations: each
        journal line split by ``aggregates.vat`` (a cancellation's line is the negative of
        its receipt's), summed by revenue type and rate."""
        if info.mode != "dsp":
            return ()
        rows = self.queries.select(
            "cash_journal",
            "cash_journal",
            where={"aire_id": info.id},
            between=("day", period.first, period.last),
        )
        lines = [
            (r["revenue_type"], r["amount_in_cents"] - r["amount_out_cents"])
            for r in rows
            if r["kind"] in ("receipt", "cancellation")
        ]
        found = vat_totals(vat_lines(info.mode, lines, self.ledger.settings.dsp_vat_rates))
        return tuple(sorted(found, key=lambda v: (v.revenue_type, v.rate)))


def rate_of(occupied: int, available: int) -> Decimal | None:
    """Occupied ÷ available place-days to 0.0001, half-up (None when nothing was available)."""
    if not available:
        return None
    return Decimal(2 * occupied * 10000 + available) // (2 * available) / Decimal(10000)
