"""Each report's figures, read from the projections only (no event is replayed here): the
occupancy, revenue and receivables of an aire here, the registers' side in ``register.py``.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from hacienda_ledger.aggregates.aire import Regularisation
from hacienda_ledger.aggregates.values import Mode
from hacienda_ledger.aggregates.vat import VatLine, vat_lines, vat_totals
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.projecting import ProjectionQueries
from hacienda_ledger.projections.balances import instant
from hacienda_ledger.projections.base import Row
from hacienda_ledger.projections.interventions import month_lines
from hacienda_ledger.projections.occupancy import (
    CLOSURES,
    EXTENSIONS,
    OccupancyFacts,
    occupancy_month,
    occupies,
)
from hacienda_ledger.reports.agents import Agents
from hacienda_ledger.reports.figures.model import (
    AireInfo,
    Alt2Figures,
    AnnualFigures,
    DspFigures,
    InterventionLine,
    InterventionYear,
    JournalEvent,
    MoneyLine,
    MonthlyFigures,
    MonthSeal,
    Period,
    Unpaid,
)
from hacienda_ledger.reports.figures.register import RegisterFigures


class Figures:
    """Reads the figures of every report for one ledger (through its projections).

    It keeps the receivables of the last period end asked about and each aire's ALT2 year,
    which several reports of one run share: use a fresh one for each run."""

    def __init__(self, ledger: Ledger, queries: ProjectionQueries) -> None:
        self.ledger = ledger
        self.queries = queries
        self.agents = Agents(ledger)
        self.registers = RegisterFigures(ledger, queries, self.agents)
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
            journal.extend(self.registers.journal_events(register_id, period))
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
        regie = self.registers.regie(info.register_ids, period)
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
            deposits=self.registers.deposits(info, period),
            advances=self.registers.advances(info, period),
            remittances=tuple(e for e in journal if e.kind == "remittance"),
            counts=self.registers.counts(info.register_ids, period),
            register_closures=self.registers.closures(info.register_ids, period),
            aire_closures=tuple(sorted(aire_closures)),
            extensions=tuple(sorted(extensions)),
            unpaid=self._unpaid(info.id, period),
            heads=self.registers.heads(info.register_ids, period),
            regularisations=tuple(
                r
                for r in self.ledger.aire(aire_id).regularisations
                if period.first <= r.recorded_on <= period.last
            ),
            seal=self.month_seal(aire_id, period),
            regie=regie,
            cancellation_requests=self.registers.requests(journal, regie),
            interventions=self._interventions(info.id, month),
        )

    def _interventions(self, aire_id: str, month: str) -> tuple[InterventionLine, ...]:
        """The month's interventions by kind, each as it stood at the month's end (from the
        ``interventions`` projection's facts: nothing recorded later moves a sealed month)."""
        return tuple(
            InterventionLine(
                r["kind"],
                r["planned"],
                r["done"],
                r["cancelled"],
                r["cost_cents"],
                r["out_of_service_days"],
            )
            for r in month_lines(self._intervention_facts(aire_id), month)
        )

    def _intervention_facts(self, aire_id: str) -> list[Row]:
        return self.queries.select(
            "interventions", "intervention_facts", where={"aire_id": aire_id}
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

    def _annual(self, aire_id: UUID, period: Period) -> AnnualFigures:
        info = self.aire(aire_id)
        year = int(period.text)
        return AnnualFigures(
            info,
            period,
            self.registers.heads(info.register_ids, period),
            self._regularisations(aire_id, year),
            self.seals(aire_id, period),
        )

    def alt2(self, aire_id: UUID, year: int) -> Alt2Figures:
        """One aire's ALT2 year (kept: the operator summary reads every aire's again)."""
        if (aire_id, year) not in self._alt2_cache:
            period = Period.year(year)
            months = self.queries.alt2(aire_id, year, period.last)
            self._alt2_cache[(aire_id, year)] = Alt2Figures(
                **vars(self._annual(aire_id, period)), months=months
            )
        return self._alt2_cache[(aire_id, year)]

    def dsp(self, aire_id: UUID, year: int) -> DspFigures:
        period = Period.year(year)
        annual = self._annual(aire_id, period)
        facts = self._facts(aire_id)
        occupancy = tuple(
            occupancy_month(facts, aire_id, f"{year:04d}-{m:02d}", period.last)
            for m in range(1, 13)
        )
        return DspFigures(
            **vars(annual),
            revenue=self.queries.revenue(aire_id, year),
            occupancy=occupancy,
            vat=self.vat(annual.aire, period),
            interventions=self._interventions_year(annual.aire.id, year),
        )

    def _interventions_year(self, aire_id: str, year: int) -> tuple[InterventionYear, ...]:
        """The year's interventions by kind, beside the year before's (each month's as it
        stood at its end)."""
        facts = self._intervention_facts(aire_id)
        sums: dict[str, list[int]] = {}
        for before, y in ((0, year), (1, year - 1)):
            for m in range(1, 13):
                for r in month_lines(facts, f"{y:04d}-{m:02d}"):
                    found = sums.setdefault(r["kind"], [0] * 6)
                    for n, column in enumerate(("done", "cost_cents", "out_of_service_days")):
                        found[2 * n + before] += r[column]
        # each kind: [done, done before, cost, cost before, days, days before]
        return tuple(InterventionYear(kind, *v) for kind, v in sorted(sums.items()))

    def vat(self, info: AireInfo, period: Period) -> tuple[VatLine, ...]:
        """The VAT of a ``dsp`` aire's receipts in the period, net of cancellations: each
        journal line split by ``aggregates.vat`` (a cancellation's line is the negative of
        its receipt's), summed by revenue type and rate. An advance is taxed when it is
        applied to charges (``advance_applied`` lines, in the period applied, at the rate of
        the type it paid), not when received (its receipt line has no rate): the
        operator's choice, docs/accounts.md § VAT of a DSP aire."""
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
            if r["kind"] != "advance_applied"
            else (r["revenue_type"], r["applied_cents"] or 0)
            for r in rows
            if r["kind"] in ("receipt", "cancellation", "advance_applied")
        ]
        found = vat_totals(vat_lines(info.mode, lines, self.ledger.settings.dsp_vat_rates))
        return tuple(sorted(found, key=lambda v: (v.revenue_type, v.rate)))
