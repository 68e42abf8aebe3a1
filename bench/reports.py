"""Reports benchmark: seconds to build one month of reports (PDF, XLSX and CSV of the
monthly activity report) for every aire of a generated operator.

    .venv/bin/python -m bench reports [--aires 250] [--postgres URL]

The operator is generated for January and February (the bulk path, seeded), the
projections are caught up, then ``generate_month(ledger, "<year>-01")`` is timed: figures
from the projections, rendering, SHA-256 and storage of every file. Beside it, the time of
the figures alone (the projection reads), so that the rendering's share is visible.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.scratch import scratch_postgres
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
    finally:
        ledger.close()
    per_aire = [seconds / max(1, summary.aires)]
    return [
        f"  data: {summary.aires} aires, {summary.events:,} events (Jan-Feb {YEAR}), "
        f"projections caught up in {projected:.0f} s",
        f"  one month of reports: {seconds:7.1f} s for {len(files)} files "
        f"({statistics.median(per_aire) * 1000:.0f} ms per aire; figures and models alone "
        f"{figures:.1f} s)",
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
