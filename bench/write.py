"""Write benchmark: receipts per second through the application layer, against the raw
insert-and-commit of rows of the same size, measured side by side in one run; then receipts
that settle a stay's charges (the stay's event saved with the register's, the stay loaded
and locked), over 50 stays in turn, against the same baseline.

    .venv/bin/python -m bench write [--receipts N] [--rounds R] [--postgres URL]

The baseline is what the database alone can do for one committed row at a time (psycopg or
sqlite3, autocommit off, one INSERT + COMMIT per row, rows as large as a stored receipt
event). The ratio (ledger ÷ baseline) is the figure we track; absolute rates move with the
machine's load. Medians over the rounds.
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg

from bench.scratch import DEFAULT_POSTGRES, scratch_postgres
from hacienda_ledger.aggregates.values import MAX_CENTS
from hacienda_ledger.application import Ledger
from hacienda_ledger.settings import Settings


def _rate(n: int, run: Callable[[int], None]) -> float:
    started = time.perf_counter()
    run(n)
    return n / (time.perf_counter() - started)


def open_registers(
    ledger: Ledger, count: int, code: str = "B"
) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """A collectivité with ``count`` aires, one register each: (aire ids, register ids)."""
    coll = ledger.create_collectivite(code=code, name="Bench", siren="244900015", actor="b")
    aires, registers = [], []
    for k in range(count):
        aire = ledger.create_aire(
            code=f"{code}ENCH{k}",
            name=f"Aire {k}",
            collectivite_id=coll.aggregate_id,
            sector="S",
            mode="regie",
            insee_code="49007",
            departement="49",
            latitude=Decimal("47.4"),
            longitude=Decimal("-0.5"),
            actor="b",
        ).aggregate_id
        aires.append(aire)
        registers.append(
            ledger.open_register(
                aire,
                regie_ref=f"R{k}",
                float_cents=0,
                cash_ceiling_cents=MAX_CENTS,  # never reached: the ledger's ceiling
                payment_methods=["cash", "card"],
                revenue_types=["pitch_fee", "other"],
                actor="b",
            ).aggregate_id
        )
    return aires, registers


def _ledger_rounds(ledger: Ledger, n: int, rounds: int) -> tuple[list[float], int]:
    (register_id,) = open_registers(ledger, 1)[1]
    counter = iter(range(10**9))

    def post(k: int) -> None:
        for _ in range(k):
            i = next(counter)
            ledger.post_receipt(
                register_id,
                stay_id=None,
                method="cash",
                lines=[("pitch_fee", 300 + i % 100)],
                actor="bench",
                idempotency_key=f"bench-{i}",
            )

    post(20)  # warm up: caches, prepared statements, first snapshot
    rates = [_rate(n, post) for _ in range(rounds)]
    last = ledger.recorder.select_events(register_id, desc=True, limit=1)[0]
    return rates, len(last.state)


def _stays(ledger: Ledger, aire_id: uuid.UUID, count: int) -> list[uuid.UUID]:
    """``count`` stays on the aire, each charged a year ahead (a receipt then settles part
    of its pitch fee)."""
    from hacienda_ledger.aggregates.household import Profile
    from hacienda_ledger.aggregates.values import Composition, Tariff

    today = ledger.now().date()
    ledger.adopt_tariff(
        aire_id,
        Tariff(today, "DEL-BENCH", 300, Decimal("3.5"), Decimal("0.2"), 15000),
        actor="b",
    )
    stays = []
    for k in range(count):
        ledger.add_emplacement(aire_id, number=str(k), actor="b")
        household = ledger.record_household(
            aire_id=aire_id, profile=Profile(f"Famille {k}"), actor="b"
        ).aggregate_id
        stay = ledger.open_stay(
            aire_id,
            emplacement=str(k),
            household_ref=household,
            arrived_at=ledger.now(),
            composition=Composition(2),
            agreement_ref="C",
            entry_inspection_ref="E",
            water_index=Decimal(0),
            electricity_index=Decimal(0),
            actor="b",
        ).aggregate_id
        ledger.assess_charges(stay, through=today + timedelta(days=365), actor="b")
        stays.append(stay)
    return stays


def _stay_rounds(ledger: Ledger, n: int, rounds: int) -> list[float]:
    """Receipts that settle a stay's charges (the register's event and the stay's, saved
    together), over 50 stays in turn."""
    aires, registers = open_registers(ledger, 1, code="S")
    stays = _stays(ledger, aires[0], 50)
    counter = iter(range(10**9))

    def post(k: int) -> None:
        for _ in range(k):
            i = next(counter)
            ledger.post_receipt(
                registers[0],
                stay_id=stays[i % len(stays)],
                method="cash",
                lines=[("pitch_fee", 300 + i % 100)],
                actor="bench",
                idempotency_key=f"bench-stay-{i}",
            )

    post(20)
    return [_rate(n, post) for _ in range(rounds)]


def _sqlite_baseline(path: Path, size: int, n: int, rounds: int) -> list[float]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(
        "CREATE TABLE raw (originator TEXT, version INTEGER, topic TEXT, state BLOB, "
        "PRIMARY KEY (originator, version))"
    )
    payload = b"x" * size
    originator = uuid.uuid4().hex
    counter = iter(range(10**9))

    def insert(k: int) -> None:
        for _ in range(k):
            conn.execute("BEGIN")
            conn.execute(
                "INSERT INTO raw VALUES (?, ?, ?, ?)",
                (originator, next(counter), "bench:Receipt", payload),
            )
            conn.execute("COMMIT")

    insert(20)
    rates = [_rate(n, insert) for _ in range(rounds)]
    conn.close()
    return rates


def _postgres_baseline(url: str, size: int, n: int, rounds: int) -> list[float]:
    payload = b"x" * size
    originator = uuid.uuid4()
    counter = iter(range(10**9))
    with psycopg.connect(url) as conn:
        conn.execute(
            "CREATE TABLE raw (originator uuid, version int, topic text, state bytea, "
            "PRIMARY KEY (originator, version))"
        )
        conn.commit()

        def insert(k: int) -> None:
            for _ in range(k):
                conn.execute(
                    "INSERT INTO raw VALUES (%s, %s, %s, %s)",
                    (originator, next(counter), "bench:Receipt", payload),
                )
                conn.commit()

        insert(20)
        return [_rate(n, insert) for _ in range(rounds)]


def run(receipts: int = 300, rounds: int = 3, postgres: str = DEFAULT_POSTGRES) -> list[str]:
    lines = [
        f"write benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {receipts} receipts "
        f"x {rounds} rounds, medians (receipts/s; baseline rows/s)",
        f"{'backend':10} {'ledger':>9} {'baseline':>9} {'ratio':>6}  event bytes",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger(Settings(database_url=f"sqlite:///{tmp}/bench.sqlite3"))
        try:
            app_rates, size = _ledger_rounds(ledger, receipts, rounds)
            stay_rates = _stay_rounds(ledger, receipts, rounds)
        finally:
            ledger.close()
        raw = _sqlite_baseline(Path(tmp) / "raw.sqlite3", size, receipts, rounds)
        lines.append(_line("sqlite", app_rates, raw, size))
        lines.append(_line("  for stays", stay_rates, raw, size))
    with scratch_postgres(postgres) as url:
        ledger = Ledger(Settings(database_url=url))
        try:
            app_rates, size = _ledger_rounds(ledger, receipts, rounds)
            stay_rates = _stay_rounds(ledger, receipts, rounds)
        finally:
            ledger.close()
        raw = _postgres_baseline(url, size, receipts, rounds)
        lines.append(_line("postgres", app_rates, raw, size))
        lines.append(_line("  for stays", stay_rates, raw, size))
    return lines


def _line(backend: str, app: list[float], raw: list[float], size: int) -> str:
    a, b = statistics.median(app), statistics.median(raw)
    return f"{backend:10} {a:9.0f} {b:9.0f} {a / b:6.2f}  {size}"
