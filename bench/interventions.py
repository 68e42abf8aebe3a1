"""Interventions on one aire at scale (issue 18): recording them, and the aire's list.

One aire, ``N`` interventions (default 1,000; kinds, emplacements and statuses varied)
recorded through the Ledger, then through the ASGI app (one ``TestClient``, an admin's
token, the projections caught up by the request itself — read-your-writes):

- **record**: interventions recorded per second over the last 100, in a warm process (the
  aire in hand), and the first one recorded by a fresh process (it loads the aire: from its
  latest snapshot, against a replay of all its events, the *baseline* measured in the same
  run);
- **page of 100**: ``GET …/interventions?limit=100`` at the first page and at the last
  one, medians of 20 — against its **baseline**: a raw SELECT of the same rows (the page's
  ids from ``intervention_list``, then those interventions' events) with the database's own
  driver;
- **filtered**: ``?kind=repair`` and ``?emplacement=2&status=done`` pages of 100;
- **before**: what the list did before (the aire loaded, then each intervention one by
  one), for the first page and the kind filter (every intervention loaded).

SQLite in a temporary folder, or the PostgreSQL database named (its tables empty or
absent)::

    PYTHONPATH=src .venv/bin/python -m bench.interventions [N] [postgresql://...]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient

from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger, chain_rows
from hacienda_ledger.settings import Settings

TOKEN = "bench-interventions-admin-token"
KINDS = ("cleaning", "repair", "meter_round", "inspection", "maintenance")
START = datetime(2025, 1, 6, 8, tzinfo=UTC)


def median_ms(fn: Callable[[], Any], runs: int = 20) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def record(ledger: Ledger, aire: UUID, n: int) -> None:
    ledger.record_intervention(
        aire,
        kind=KINDS[n % len(KINDS)],
        started_at=START + timedelta(hours=n),
        ended_at=START + timedelta(hours=n, minutes=30),
        emplacements=[str(1 + n % 4)] if n % 3 else [],
        status="planned" if n % 4 == 0 else "done",
        description=f"passage {n}",
        actor="bench",
    )


def settings_for(url: str) -> Settings:
    return Settings(
        database_url=url,
        run_projections=False,
        reports_auto=False,
        run_retention=False,
        verify_every_hours=0,
    )


def run(url: str, count: int) -> list[str]:
    settings = settings_for(url)
    ledger = Ledger(settings)
    ledger.access.bootstrap_admin(TOKEN)
    coll = ledger.create_collectivite(code="B", name="B", siren="244900015", actor="bench")
    aire = ledger.create_aire(
        code="49007-B", name="Bench", collectivite_id=coll.aggregate_id, sector="S",
        mode="regie", insee_code="49007", departement="49", latitude=Decimal("47.4"),
        longitude=Decimal("-0.5"), actor="bench",
    ).aggregate_id  # fmt: skip
    for number in ("1", "2", "3", "4"):
        ledger.add_emplacement(aire, number=number, actor="bench")
    for n in range(count - 100):
        record(ledger, aire, n)
    started = time.perf_counter()
    for n in range(count - 100, count):
        record(ledger, aire, n)
    warm = 100 / (time.perf_counter() - started)
    assert ledger.snapshot_writer is not None and ledger.snapshot_writer.flush()
    lines = [f"{count} interventions on one aire ({settings.database_url.split(':')[0]})"]
    lines.append(f"record, warm process: {warm:.0f}/s over the last 100")

    fresh = Ledger(settings_for(url) if not url.startswith("sqlite") else settings)
    started = time.perf_counter()
    record(fresh, aire, count)
    cold = (time.perf_counter() - started) * 1000
    events = len(list(fresh.events.get(aire)))
    replay = median_ms(lambda: fresh.replayed(aire), runs=5)
    from_snapshot = median_ms(lambda: fresh.repository.get(aire, projector_func=fresh._fold), 5)
    fresh.close()
    lines.append(
        f"record the {count + 1}th, fresh process: {cold:.1f} ms; the aire ({events} events) "
        f"loaded from its snapshot {from_snapshot:.1f} ms, replayed (baseline) {replay:.1f} ms"
    )

    headers = {"Authorization": f"Bearer {TOKEN}"}
    base = f"/v1/aires/{aire}/interventions"
    with TestClient(create_app(settings, ledger=ledger)) as client:

        def get(query: str, expected: int = 100) -> None:
            answer = client.get(base + query, headers=headers)
            assert answer.status_code == 200, answer.text
            assert answer.json()["count"] == expected, (query, answer.json()["count"])

        mark = "%s" if settings.is_postgres else "?"
        page_sql = (
            f"SELECT intervention_id FROM intervention_list WHERE aire_id = {mark} "
            f"ORDER BY aire_id, position LIMIT 100 OFFSET {mark}"
        )

        def raw(offset: int) -> None:
            """The baseline: the same rows read by SQL alone (the page's ids, then their
            events), no catching up, no decoding."""
            with ledger.recorder.datastore.transaction(commit=False) as curs:  # type: ignore[attr-defined]
                curs.execute(page_sql, [str(aire), offset])
                ids = [
                    UUID(str(next(iter(dict(r).values())) if isinstance(r, dict) else r[0]))
                    for r in curs.fetchall()
                ]
            rows = chain_rows.rows_of_each(ledger, ids)
            assert len(rows) == 100

        get("?limit=100")  # catches the projections up
        last = f"?limit=100&cursor=o{count + 1 - 100}"
        for label, query, offset in (("first", "?limit=100", 0), ("last", last, count - 99)):
            api, sql = median_ms(lambda q=query: get(q)), median_ms(lambda o=offset: raw(o))
            lines.append(
                f"page of 100, {label}: {api:.1f} ms (raw SELECT of the same rows {sql:.1f} ms, "
                f"ratio {api / sql:.1f})"
            )
        for query in ("?limit=100&kind=repair", "?limit=100&emplacement=2&status=done"):
            lines.append(f"filtered {query[11:]}: {median_ms(lambda q=query: get(q)):.1f} ms")

        def before(kind: str | None) -> None:
            """The list as it was: the aire, then each intervention loaded one by one."""
            ids = ledger.replayed(aire).intervention_ids
            if kind is None:
                found = [ledger.repository.get(i) for i in ids[:100]]
            else:
                found = [i for i in map(ledger.repository.get, ids) if i.kind == kind][:100]
            assert len(found) == 100

        for label, kind in (("first page", None), ("kind=repair", "repair")):
            took = median_ms(lambda k=kind: before(k), 5)
            lines.append(f"before (aggregates one by one), {label}: {took:.0f} ms")
    ledger.close()
    return lines


def main() -> None:
    args = sys.argv[1:]
    count = int(args.pop(0)) if args and args[0].isdigit() else 1000
    if args:
        lines = run(args[0], count)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            lines = run(f"sqlite:///{tmp}/bench.sqlite3", count)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
