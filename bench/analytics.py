"""Analytics benchmarks (issue 19, point 6): the analytics projection built over a
generated operator, beside a raw baseline, and one published table read.

    .venv/bin/python -m bench analytics [--analytics-aires N] [--analytics-years Y]
                                        [--seed S] [--rounds R] [--postgres URL]

- **projection**: events the ``analytics`` projection follows ÷ seconds to rebuild it from
  zero, against a raw ``SELECT`` of the same rows (its topics, pages of 2,000 by position)
  plus ``json.loads`` of each stored state;
- **publication**: every table computed and suppressed as of the last generated day in
  memory (``Analytics.compute``: the raw baseline, what every read paid before
  publications were stored), then published (computed again and stored:
  ``Analytics.publish``), then published again (idempotent: nothing computed);
- **table read**: ``departement_month`` (one table of one level, every month of every
  year) read 50 times through ``Analytics.read`` as the API does, in a process started for
  it (the publication read from the database, each read on a connection of its own):
  median, p99 and the first read; then the same table filtered to one département (its
  months only: a read's cost beside the rows it returns).

The data is generated once per backend by the generator's bulk path (seeded: the same
world every run), from 1 January 2020.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench.replay import Raw
from bench.scratch import scratch_postgres
from hacienda_ledger.application import Ledger, projecting
from hacienda_ledger.application.analytics import Analytics
from hacienda_ledger.application.projecting import ProjectionQueries
from hacienda_ledger.generator import generate
from hacienda_ledger.projections.analytics import AnalyticsProjection
from hacienda_ledger.settings import Settings

START_YEAR = 2020
TABLE = "departement_month"
READS = 50


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


READER = """
import json, statistics, sys, time
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.analytics import Analytics
from hacienda_ledger.application.projecting import ProjectionQueries
from hacienda_ledger.settings import Settings

began = time.perf_counter()
ledger = Ledger(Settings(database_url=sys.argv[1]))
analytics = Analytics(ProjectionQueries(ledger), int(sys.argv[2]))
opened = time.perf_counter() - began
filters = json.loads(sys.argv[5])
reads = []
for _ in range(int(sys.argv[3])):
    began = time.perf_counter()
    rows = analytics.read(sys.argv[4], None, filters).rows
    reads.append((time.perf_counter() - began) * 1000)
ledger.close()
print(json.dumps({"opened": opened, "reads": reads, "rows": len(rows)}))
"""


def _fresh_reads(url: str, threshold: int, filters: dict[str, str]) -> dict[str, Any]:
    """``TABLE`` (its rows equal to ``filters``) read ``READS`` times from the stored
    publication in a process started for it (nothing of the publisher's kept), each read
    on a connection of its own."""
    done = subprocess.run(
        [sys.executable, "-c", READER, url, str(threshold), str(READS), TABLE, json.dumps(filters)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def _measure(settings: Settings, aires: int, years: int, seed: int, rounds: int) -> list[str]:
    # a publication is of a day that is over: the world's years all before this one
    start = min(START_YEAR, datetime.now(UTC).year - years)
    summary = generate(settings, aires=aires, years=years, seed=seed, start_year=start)
    ledger = Ledger(settings)
    raw = Raw(settings)
    topics = AnalyticsProjection.topics
    as_of = date(start + years - 1, 12, 31)
    lines = [
        f"  data: {aires} aires x {years} years, {ledger.last_position():,} positions, "
        f"generated in {summary.seconds:.0f} s ({summary.events_per_second:,.0f} events/s, "
        "bulk path)"
    ]
    try:
        projecting.rebuild_all(ledger)  # the publication reads occupancy and revenue too
        built, selected = [], []
        for _ in range(rounds):
            began = time.perf_counter()
            projecting.rebuild_all(ledger, ["analytics"])
            seconds = time.perf_counter() - began
            n = _select_topics(raw, topics)
            built.append(n / seconds)
            began = time.perf_counter()
            assert _select_topics(raw, topics) == n
            selected.append(n / (time.perf_counter() - began))
        a, b = statistics.median(built), statistics.median(selected)
        lines.append(
            f"  {'analytics projection':28} {a:9,.0f} ev/s   select+json {b:9,.0f} rows/s"
            f"   ratio {a / b:5.2f}   ({n:,} events)"
        )
        lines += _publication(ledger, settings, as_of)
    finally:
        ledger.close()
    return lines


def _publication(ledger: Ledger, settings: Settings, as_of: date) -> list[str]:
    """The publication: computed in memory (the raw baseline, what ``Analytics.publish``
    computes) then stored as it stores it; publishing it again (nothing computed); and
    ``TABLE`` read in a fresh process."""
    analytics = Analytics(ProjectionQueries(ledger), settings.analytics_threshold)
    began = time.perf_counter()
    tables = analytics.compute(as_of)
    computed = time.perf_counter() - began
    position = ledger.last_position()
    began = time.perf_counter()
    publication, made = analytics.store.add(
        tables,
        as_of=as_of,
        position=position,
        threshold=analytics.threshold,
        published_at=datetime.now(UTC).isoformat(),
    )
    stored = time.perf_counter() - began
    assert made
    began = time.perf_counter()
    assert not analytics.publish(as_of)[1]
    again = (time.perf_counter() - began) * 1000
    rows = sum(len(r) for r in tables.values())
    code = str(tables[TABLE][0]["code"]) if tables[TABLE] else "49"
    lines = []
    for label, filters in ((TABLE, {}), (f"{TABLE} code={code}", {"code": code})):
        fresh = _fresh_reads(settings.database_url, settings.analytics_threshold, filters)
        reads = sorted(fresh["reads"])
        lines.append(
            f"  {'read ' + label:28} median {statistics.median(reads):8.2f} ms   "
            f"p99 {reads[int(0.99 * (len(reads) - 1))]:8.2f} ms   first {fresh['reads'][0]:.2f} ms"
            f"   ({fresh['rows']} rows, {READS} reads in a fresh process)"
        )
    return [
        f"  {'compute (in memory, raw)':28} {computed:8.2f} s   ({len(tables)} tables, "
        f"{rows:,} rows, as of {as_of})",
        f"  {'store (rows, SHA-256)':28} {stored:8.2f} s   (publication = compute + "
        f"store: {computed + stored:.2f} s; {publication.row_count:,} rows)",
        f"  {'publish again (idempotent)':28} {again:8.2f} ms   (nothing computed)",
        *lines,
    ]


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
