"""Building the reports due and storing them: by command, or on its own in the API process.

``generate_month(ledger, "2025-03")`` builds the monthly activity report of every aire (or
of ``aires``) in service in that month as PDF, XLSX and CSV; ``Reports.year_jobs(2025)``
are the ALT2 declaration of every aire, the operator-wide ALT2 summary, and the DSP report
of every aire in ``dsp`` mode (only aires in service in that year: no declaration for a
year before an aire existed). A report already stored is skipped unless ``force``, or
unless it is provisional and every month it covers is now sealed: a new revision is then
stored next to the old one (revisions are kept, never overwritten). Only periods that are
over are built (Europe/Paris).

``due(today)`` says what the service builds on its own: the sealed months' monthly reports,
and last year's annual reports (ALT2 is due before 15 January, DSP before 1 June; both are
built from 1 January on). ``Scheduler`` runs ``run_due`` in a thread of the API process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

import structlog

from hacienda_ledger import __version__
from hacienda_ledger.aggregates.aire import Aire
from hacienda_ledger.aggregates.seal import Seals, service_start_month
from hacienda_ledger.aggregates.values import Mode, paris_day
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.analytics import Analytics
from hacienda_ledger.application.projecting import ProjectionQueries, projection_database
from hacienda_ledger.background import Background
from hacienda_ledger.reports import kinds
from hacienda_ledger.reports.figures import Figures
from hacienda_ledger.reports.figures.model import Alt2Summary, Period
from hacienda_ledger.reports.kinds import territory
from hacienda_ledger.reports.render import MEDIA_TYPES, Report, provisional, render
from hacienda_ledger.reports.store import ReportStore, StoredReport, report_id, sha256

FORMATS = ("pdf", "xlsx", "csv")
log = structlog.get_logger("hacienda_ledger.reports")


@dataclass(frozen=True)
class Job:
    """One report to build (its three files): kind, aire (None: operator-wide), period."""

    kind: str
    aire_id: UUID | None
    period: str


class Reports:
    """Builds and stores reports for one ledger."""

    def __init__(
        self,
        ledger: Ledger,
        queries: ProjectionQueries | None = None,
        store: ReportStore | None = None,
    ) -> None:
        self.ledger = ledger
        self.queries = queries or ProjectionQueries(ledger)
        self.figures = Figures(ledger, self.queries)
        self.store = store or ReportStore(projection_database(ledger))
        self.analytics = Analytics(self.queries, ledger.settings.analytics_threshold)

    def aire_ids(self, aires: Sequence[UUID] | None = None) -> list[UUID]:
        return list(aires) if aires is not None else list(self.ledger.ids_of(Aire.Registered))

    # --- what to build ------------------------------------------------------------------

    def month_jobs(
        self, month: str, aires: Sequence[UUID] | None = None, *, today: date | None = None
    ) -> list[Job]:
        """The month's report of each aire (all, or ``aires``) in service in it: none for a
        month before an aire entered service (it is never sealed, its report would stay
        provisional for ever)."""
        Period.month(month).require_over(today or paris_day(self.ledger.clock()))
        return [
            Job("monthly", a, month)
            for a in self.aire_ids(aires)
            if service_start_month(self.ledger.aire(a)) <= month
        ]

    def in_service(self, year: int, aires: Sequence[UUID] | None = None) -> list[UUID]:
        """The aires (all, or ``aires``) in service at some point of ``year``."""
        last = f"{year}-12"
        return [a for a in self.aire_ids(aires) if service_start_month(self.ledger.aire(a)) <= last]

    def year_jobs(
        self, year: int, aires: Sequence[UUID] | None = None, *, today: date | None = None
    ) -> list[Job]:
        """The year's declarations of the aires (all, or ``aires``) in service in it, and
        (for all aires) the operator's summary of those in service, when one was."""
        period = Period.year(year)
        period.require_over(today or paris_day(self.ledger.clock()))
        ids = self.in_service(year, aires)
        jobs = [Job("alt2", a, period.text) for a in ids]
        if aires is None and ids:
            jobs.append(Job("alt2_summary", None, period.text))
        jobs.extend(Job("dsp", a, period.text) for a in ids if self.ledger.aire(a).mode == Mode.DSP)
        return jobs

    # --- building -----------------------------------------------------------------------

    # --- sealed months -------------------------------------------------------------------

    def seals(self, aire_id: UUID) -> dict[str, Seals.MonthSealed]:
        """The aire's sealed months and their seals."""
        return {seal.month: seal for seal in self.ledger.audit.seal_events(aire_id)}

    def unsealed(self, aire_id: UUID, period: str) -> list[str]:
        """The months of ``period`` (``YYYY-MM`` or ``YYYY``) the aire has not sealed, from
        the month it entered service in (``service_start_month``)."""
        sealed = self.seals(aire_id)
        if len(period) == 7:
            return [] if period in sealed else [period]
        start = service_start_month(self.ledger.aire(aire_id))
        months = [f"{period}-{m:02d}" for m in range(1, 13)]
        return [m for m in months if m >= start and m not in sealed]

    def missing(self, job: Job) -> list[str]:
        """The months the job's report covers that are not sealed (any aire's, for the
        operator's summary)."""
        aires = [job.aire_id] if job.aire_id else self.in_service(int(job.period))
        return sorted({m for a in aires for m in self.unsealed(a, job.period)})

    def model(self, job: Job, generated_at: datetime) -> tuple[Report, str, str, str]:
        """The report model, with the aire id, collectivité id and sector it is filed under:
        marked « PROVISOIRE » unless every month it covers is sealed. The seals themselves
        are named by the report (``kinds``): a monthly report's seal and attestation hashes
        in its identification, each month's status in an annual report."""
        report, aire_id, collectivite_id, sector = self._model(job, generated_at)
        missing = self.missing(job)
        if missing:
            why = f"{'mois non scellés' if len(missing) > 1 else 'mois non scellé'} : "
            report = provisional(report, why + ", ".join(missing))
        return report, aire_id, collectivite_id, sector

    def _model(self, job: Job, generated_at: datetime) -> tuple[Report, str, str, str]:
        if job.kind == "alt2_summary":
            year = int(job.period)
            figures = [self.figures.alt2(a, year) for a in self.in_service(year)]
            summary = Alt2Summary(Period.year(year), tuple(figures))
            report = kinds.alt2_summary(summary, generated_at)
            return territory.with_france(report, self.analytics, year), "", "", ""
        assert job.aire_id is not None
        if job.kind == "monthly":
            monthly = self.figures.monthly(job.aire_id, job.period)
            aire = monthly.aire
            report = kinds.monthly(monthly, generated_at)
        elif job.kind == "alt2":
            alt2 = self.figures.alt2(job.aire_id, int(job.period))
            aire = alt2.aire
            report = kinds.alt2(alt2, generated_at)
        elif job.kind == "dsp":
            dsp = self.figures.dsp(job.aire_id, int(job.period))
            aire = dsp.aire
            report = kinds.dsp(dsp, generated_at)
            departement = self.ledger.aire(job.aire_id).departement
            report = territory.with_departement(
                report, self.analytics, departement, int(job.period)
            )
        else:
            raise ValueError(f"unknown report kind {job.kind!r}")
        return report, aire.id, aire.collectivite_id, aire.sector

    def build(
        self, job: Job, *, force: bool = False, generated_at: datetime | None = None
    ) -> list[StoredReport]:
        """Build and store one job's files; returns what was stored (nothing when they
        exist already and ``force`` is not set). A provisional file is not the job done once
        every month it covers is sealed: the final one is stored as its next revision."""
        aire_key = str(job.aire_id) if job.aire_id else ""
        latest = {fmt: self.store.latest(job.kind, aire_key, job.period, fmt) for fmt in FORMATS}
        revisions = {fmt: stored.revision if stored else 0 for fmt, stored in latest.items()}
        if any(s and s.provisional for s in latest.values()) and not self.missing(job):
            # every month it covers is sealed now: a provisional file is not the job done
            latest = {fmt: None if s and s.provisional else s for fmt, s in latest.items()}
        if not force and all(latest.values()):
            return []
        moment = generated_at or self.ledger.clock()
        report, aire_id, collectivite_id, sector = self.model(job, moment)
        stored = []
        for fmt in FORMATS:
            if latest[fmt] and not force:
                continue
            content = render(report, fmt)
            revision = revisions[fmt] + 1
            name = f"{job.kind}-{aire_key[:8] or 'operateur'}-{job.period}"
            if report.provisional:
                name += "-PROVISOIRE"
            added = self.store.add(
                StoredReport(
                    report_id=report_id(job.kind, aire_key, job.period, fmt, revision),
                    kind=job.kind,
                    aire_id=aire_id,
                    collectivite_id=collectivite_id,
                    sector=sector,
                    period=job.period,
                    format=fmt,
                    revision=revision,
                    generated_at=moment.isoformat(),
                    software_version=__version__,
                    sha256=sha256(content),
                    size=len(content),
                    filename=f"{name}{'' if revision == 1 else f'-r{revision}'}.{fmt}",
                    media_type=MEDIA_TYPES[fmt],
                ),
                content,
            )
            if added is not None:
                stored.append(added)
        return stored

    def run(
        self,
        jobs: Iterable[Job],
        *,
        force: bool = False,
        on_job: Callable[[Job, list[StoredReport]], None] | None = None,
    ) -> list[StoredReport]:
        # Figures keep what several reports of one run share (receivables at a period's end,
        # each aire's ALT2 year for the summary): a run starts with fresh ones.
        self.figures = Figures(self.ledger, self.queries)
        stored: list[StoredReport] = []
        for job in jobs:
            done = self.build(job, force=force)
            stored.extend(done)
            if on_job is not None:
                on_job(job, done)
        return stored

    def due(self, today: date) -> list[Job]:
        """The jobs the service builds on its own on ``today``: the monthly report of every
        month an aire sealed in the last twelve months, and last year's annual reports of
        every aire in service that year whose months of it are all sealed (the operator's
        summary once they all are). Nothing provisional is ever built on its own; a report
        built provisional by hand is built again, final, once its months are sealed."""
        first = f"{today.year - 1}-{today.month:02d}"
        jobs = [
            Job("monthly", aire_id, month)
            for aire_id in self.aire_ids()
            for month in sorted(self.seals(aire_id))
            if month >= first
        ]
        year = today.year - 1
        if year >= 2000:
            in_service = self.in_service(year)
            complete = [a for a in in_service if not self.unsealed(a, str(year))]
            annual = self.year_jobs(year, complete, today=today) if complete else []
            jobs += annual
            if complete and len(complete) == len(in_service):
                jobs.append(Job("alt2_summary", None, str(year)))
        return jobs

    def run_due(self, today: date) -> list[StoredReport]:
        """Build what is due and missing (what exists is skipped)."""
        return self.run(self.due(today))


def generate_month(
    ledger: Ledger,
    month: str,
    aires: Sequence[UUID] | None = None,
    *,
    force: bool = False,
    queries: ProjectionQueries | None = None,
) -> list[StoredReport]:
    """Build and store the monthly reports of ``month`` (every aire, or ``aires``)."""
    reports = Reports(ledger, queries)
    return reports.run(reports.month_jobs(month, aires), force=force)


class Scheduler(Background):
    """In the API process: every ``interval`` seconds (the first look after ``delay``),
    once the projections have caught up, build the reports due and missing, then (given
    ``analytics``) the analytics publication due (``Analytics.publish_due``)."""

    thread_name = "reports"

    def __init__(
        self,
        reports: Reports,
        *,
        interval: float,
        delay: float,
        today: Callable[[], date],
        caught_up: Callable[[], bool] = lambda: True,
        may_run: Callable[[], bool] = lambda: True,
        analytics: Analytics | None = None,
    ) -> None:
        super().__init__()
        self.reports = reports
        self.analytics = analytics
        self.may_run = may_run  # one process of a deployment builds them (BackgroundLeader)
        self.interval, self.delay = interval, delay
        self.today = today
        self.caught_up = caught_up
        self.error: BaseException | None = None

    def tick(self) -> list[StoredReport]:
        if not self.may_run() or not self.caught_up():
            return []
        today = self.today()
        stored = self.reports.run_due(today)
        if stored:
            log.info("reports_generated", files=len(stored))
        # the analytics publication due (yesterday's, once a day; again after a seal)
        published = self.analytics.publish_due(today) if self.analytics else None
        if published is not None:
            log.info(
                "analytics_published",
                as_of=published.as_of.isoformat(),
                position=published.position,
                rows=published.row_count,
            )
        return stored

    def _loop(self) -> None:
        wait = self.delay
        while not self._stop.wait(wait):
            try:
                self.tick()
                self.error = None
            except Exception as exc:  # kept and retried at the next look
                self.error = exc
                log.warning("reports_failed", error=type(exc).__name__, detail=str(exc))
            wait = self.interval
