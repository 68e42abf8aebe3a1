"""Reports benchmark: seconds to build one month of reports (PDF, XLSX and CSV of the
monthly activity report) for every aire of a generated operator.

    .venv/bin/python -m bench reports [--aires 250] [--postgres URL]

The operator is generated for January and February (the bulk path, seeded), the
projections are caught up, then ``generate_month(ledger, "<year>-01")`` is timed: figures
from the projections, rendering, SHA-256 and storage of every file. Beside it, the time of
the figures alone (the projection reads), so that the rendering's share is visible.

Then January is sealed for every aire (every chain's head and digest, the figures' digests)
and every seal verified, each beside its raw baseline: a plain SELECT of the rows of every
aggregate a seal covers (aires, registers, stays) with the SHA-256 of each.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from bench.replay import Raw
from bench.scratch import scratch_postgres
from hacienda_ledger.aggregates.aire import Aire
from hacienda_ledger.aggregates.values import month_bounds
from hacienda_ledger.application import Ledger, projecting
from hacienda_ledger.generator import generate
from hacienda_ledger.reports.generate import Reports, generate_month
from hacienda_ledger.settings import Settings

YEAR = 2025


def _measure(settings: Settings, aires: int, seed: int) -> list[str]:
    summary = generate(settings, aires=aires, years=1, seed=seed, start_year=YEAR, days=59)
    ledger = Ledger(settings)
    try:
        started = time.perf_counter()
        for follower in projecting.followers(ledger):
            follower.catch_up()
        projected = time.perf_counter() - started
        queries = projecting.ProjectionQueries(ledger)
        month = f"{YEAR}-01"
        reports = Reports(ledger, queries)
        jobs = reports.month_jobs(month)
        started = time.perf_counter()
        for job in jobs:
            reports.model(job, datetime.now(UTC))
        figures = time.perf_counter() - started
        started = time.perf_counter()
        files = generate_month(ledger, month, queries=queries)
        seconds = time.perf_counter() - started
        sealing = _seal(ledger, queries, month)
    finally:
        ledger.close()
    per_aire = [seconds / max(1, summary.aires)]
    return [
        f"  data: {summary.aires} aires, {summary.events:,} events (Jan-Feb {YEAR}), "
        f"projections caught up in {projected:.0f} s",
        f"  one month of reports: {seconds:7.1f} s for {len(files)} files "
        f"({statistics.median(per_aire) * 1000:.0f} ms per aire; figures and models alone "
        f"{figures:.1f} s)",
        *sealing,
    ]


def _seal(ledger: Ledger, queries: projecting.ProjectionQueries, month: str) -> list[str]:
    """Seal ``month`` for every aire, then verify every seal; the raw baseline reads and
    hashes the rows of every aggregate the seals cover."""
    ledger.audit.use_queries(queries)
    aires = list(ledger.ids_of(Aire.Registered))
    last = month_bounds(month)[1]
    for aire_id in aires:  # the month end first: every stay charged through its last day
        for stay_id in ledger.audit.stays_of(aire_id):
            if ledger.stay(stay_id).uncharged_through(last):
                ledger.assess_charges(stay_id, through=last, actor="bench")
    started = time.perf_counter()
    for aire_id in aires:
        ledger.seal_month(aire_id, month=month, actor="bench")
    sealed = time.perf_counter() - started
    started = time.perf_counter()
    broken = sum(bool(ledger.audit.verify_seals(a)) for a in aires)
    verified = time.perf_counter() - started
    covered: list[UUID] = []
    for aire_id in aires:
        (seal,) = ledger.audit.seal_events(aire_id)
        covered += [head.aggregate_id for head in seal.heads]
    started = time.perf_counter()
    rows = Raw(ledger.settings).select_and_hash(covered)
    raw = time.perf_counter() - started
    return [
        f"  seal {month} for {len(aires)} aires: {sealed:6.1f} s ({rows:,} rows of "
        f"{len(covered):,} chains; raw select+sha256 of them {raw:.1f} s, ratio "
        f"{raw / sealed:.2f})",
        f"  verify every seal:       {verified:6.1f} s ({broken} broken; ratio "
        f"{raw / verified:.2f} of the raw baseline)",
    ]


def run(aires: int, seed: int, postgres: str) -> list[str]:
    lines = [f"reports benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"]
    with tempfile.TemporaryDirectory() as tmp:
        lines.append("sqlite")
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'reports.sqlite3'}")
        lines += _measure(settings, aires, seed)
    with scratch_postgres(postgres) as url:
        lines.append("postgresql")
        lines += _measure(Settings(database_url=url), aires, seed)
    return lines
