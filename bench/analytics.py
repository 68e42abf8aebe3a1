"""Analytics benchmarks (issue 19, point 6): the analytics projection built over a
generated operator, beside a raw baseline, and one published table read.

    .venv/bin/python -m bench analytics [--analytics-aires N] [--analytics-years Y]
                                        [--seed S] [--rounds R] [--postgres URL]

- **projection**: events the ``analytics`` projection follows ÷ seconds to rebuild it from
  zero, against a raw ``SELECT`` of the same rows (its topics, pages of 2,000 by position)
  plus ``json.loads`` of each stored state;
- **publication**: every published table computed and suppressed as of the last generated
  day (what the first read after a new stream position pays: ``Analytics.tables``), in a
  fresh ``Analytics`` each round — its median over ``--rounds``;
- **table read**: ``departement_year`` (one table of one level over every year) read 20
  times through ``Analytics.table`` as the API does, the publication kept: median and p99.

The data is generated once per backend by the generator's bulk path (seeded: the same
world every run), from 1 January 2020.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from bench.replay import Raw
from bench.scratch import scratch_postgres
from hacienda_ledger.application import Ledger, projecting
from hacienda_ledger.application.analytics import Analytics
from hacienda_ledger.application.projecting import ProjectionQueries
from hacienda_ledger.generator import generate
from hacienda_ledger.projections.analytics import AnalyticsProjection
from hacienda_ledger.settings import Settings

START_YEAR = 2020
TABLE = "departement_year"
READS = 20


def _select_topics(raw: Raw, topics: tuple[str, ...]) -> int:
    """The rows of the given topics by pages of 2,000, each state decoded from JSON."""
    n = 0
    with raw._cursor() as (cur, p):
        table, position = raw._table_and_position()
        marks = ", ".join([p] * len(topics))
        start = 0
        while True:
            cur.execute(  # type: ignore[attr-defined]
                f"SELECT {position}, topic, state FROM {table} WHERE {position} > {p} "
                f"AND topic IN ({marks}) ORDER BY {position} LIMIT 2000",
                (start, *topics),
            )
            rows = cur.fetchall()  # type: ignore[attr-defined]
            if not rows:
                return n
            for row in rows:
                json.loads(row[2])
            n += len(rows)
            start = rows[-1][0]


def _measure(settings: Settings, aires: int, years: int, seed: int, rounds: int) -> list[str]:
    summary = generate(settings, aires=aires, years=years, seed=seed, start_year=START_YEAR)
    ledger = Ledger(settings)
    raw = Raw(settings)
    topics = AnalyticsProjection.topics
    as_of = date(START_YEAR + years - 1, 12, 31)
    lines = [
        f"  data: {aires} aires x {years} years, {ledger.last_position():,} positions, "
        f"generated in {summary.seconds:.0f} s ({summary.events_per_second:,.0f} events/s, "
        "bulk path)"
    ]
    try:
        projecting.rebuild_all(ledger)  # the publication reads occupancy and revenue too
        built, selected, published = [], [], []
        for _ in range(rounds):
            began = time.perf_counter()
            projecting.rebuild_all(ledger, ["analytics"])
            seconds = time.perf_counter() - began
            n = _select_topics(raw, topics)
            built.append(n / seconds)
            began = time.perf_counter()
            assert _select_topics(raw, topics) == n
            selected.append(n / (time.perf_counter() - began))
            analytics = Analytics(ProjectionQueries(ledger), settings.analytics_threshold)
            began = time.perf_counter()
            tables = analytics.tables(as_of)
            published.append(time.perf_counter() - began)
        a, b = statistics.median(built), statistics.median(selected)
        lines.append(
            f"  {'analytics projection':28} {a:9,.0f} ev/s   select+json {b:9,.0f} rows/s"
            f"   ratio {a / b:5.2f}   ({n:,} events)"
        )
        cells = sum(len(rows) for rows in tables.values())
        lines.append(
            f"  {'publication (every table)':28} median {statistics.median(published):8.2f} s"
            f"   ({len(tables)} tables, {cells:,} rows, as of {as_of})"
        )
        reads = []
        for _ in range(READS):
            began = time.perf_counter()
            rows = analytics.table(TABLE, as_of, {})
            reads.append((time.perf_counter() - began) * 1000)
        reads.sort()
        lines.append(
            f"  {'read ' + TABLE:28} median {statistics.median(reads):8.2f} ms   "
            f"p99 {reads[int(0.99 * (len(reads) - 1))]:8.2f} ms   ({len(rows)} rows, "
            f"{READS} reads, the publication kept)"
        )
    finally:
        ledger.close()
    return lines


def run(aires: int, years: int, seed: int, rounds: int, postgres: str) -> list[str]:
    lines = [
        f"analytics benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, medians of {rounds} rounds"
    ]
    with tempfile.TemporaryDirectory() as tmp:
        lines.append("sqlite")
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'analytics.sqlite3'}")
        lines += _measure(settings, aires, years, seed, rounds)
    with scratch_postgres(postgres) as url:
        lines.append("postgresql")
        lines += _measure(Settings(database_url=url), aires, years, seed, rounds)
    return lines
