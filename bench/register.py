"""Long registers: a retried receipt's replay, and the first command after a restart, each
beside a baseline measured in the same run on the same register.

    .venv/bin/python -m bench register [--replay-years Y] [--start-years Y] [--replays N]
                                       [--rounds R] [--seed S] [--postgres URL]

The registers are a generated operator's (one aire, from 1 January 2016, seeded: the same
world every run; the generator's bulk path takes the snapshots the write path would). A
cashier of the aire sends every command, so the scope check is made as over HTTP.

- **idempotent replay**: on the register of ``--replay-years`` years (9: about 20,000
  events), ``--replays`` rounds of one new keyed receipt then the replay of a key posted
  earlier, picked at random; latencies of ``Ledger.handle`` plus, for a replay, the read
  of the receipt's event that ``POST …/receipts`` answers with. Median and p99 of each; the
  new receipt is the baseline.
- **warm start**: on the register of ``--start-years`` years (5: about 11,000 events),
  ``--rounds`` fresh processes each open a Ledger, authenticate the cashier and post one
  receipt (the first command: the register loaded from its latest snapshot and the events
  after it), then 30 more (the steady state, the register in hand). Median over the rounds
  of the first command, against the median of the steady-state receipts.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from bench.scratch import scratch_postgres
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.aggregates.user import User
from hacienda_ledger.application import Ledger
from hacienda_ledger.application import commands as c
from hacienda_ledger.generator import generate
from hacienda_ledger.settings import Settings

TOKEN = "bench-register-cashier"
STEADY = 30


def _world(url: str, years: int, seed: int) -> tuple[UUID, int, float]:
    """A generated operator of one aire over ``years`` years and a cashier of it: (the
    register, its events, seconds generating)."""
    summary = generate(Settings(database_url=url), aires=1, years=years, seed=seed)
    ledger = Ledger(Settings(database_url=url))
    try:
        register_id = next(iter(ledger.ids_of(CashRegister.Opened)))
        register = ledger.cash_register(register_id)
        ledger.create_user(
            name="Bench", role="cashier", aire_ids=[register.aire_id], actor="b", token=TOKEN
        )
        return register_id, register.version, summary.seconds
    finally:
        ledger.close()


def _receipt(register_id: UUID, user: User, key: str | None, cents: int) -> c.IssueReceipt:
    return c.IssueReceipt(
        register_id=register_id,
        stay_id=None,
        method="cash",
        lines=[("pitch_fee", cents)],
        actor=str(user.id),
        idempotency_key=f"{user.id}:{key}" if key else None,
    )


def _answered(ledger: Ledger, command: c.IssueReceipt, user: User) -> float:
    """Milliseconds to answer the command as ``POST …/receipts`` does (a replay reads the
    receipt's event)."""
    began = time.perf_counter()
    outcome = ledger.handle(command, user)
    if not outcome.events:
        ledger.register_event(outcome.aggregate_id, outcome.version)
    return (time.perf_counter() - began) * 1000


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.99 * (len(ordered) - 1))]


def _replays(url: str, register_id: UUID, replays: int, seed: int) -> list[str]:
    ledger = Ledger(Settings(database_url=url))
    try:
        user = ledger.access.authenticate(TOKEN)
        rng = random.Random(seed)
        keys: list[tuple[str, int]] = []
        for k in range(20):  # warm up: the register in hand, statements prepared
            keys.append((f"warm-{k}", 100 + k))
            _answered(ledger, _receipt(register_id, user, *keys[-1]), user)
        new, replayed = [], []
        for k in range(replays):
            keys.append((uuid.uuid4().hex, 100 + k % 500))
            new.append(_answered(ledger, _receipt(register_id, user, *keys[-1]), user))
            key = rng.choice(keys[:-1])
            replayed.append(_answered(ledger, _receipt(register_id, user, *key), user))
        version = ledger.cash_register(register_id).version
    finally:
        ledger.close()
    a, b = statistics.median(replayed), statistics.median(new)
    return [
        f"  {'idempotent replay':24} median {a:6.2f} ms   p99 {_p99(replayed):6.2f} ms   "
        f"(register of {version:,} events, {replays} replays)",
        f"  {'new receipt (baseline)':24} median {b:6.2f} ms   p99 {_p99(new):6.2f} ms   "
        f"replay / new {a / b:5.2f}",
    ]


def _warm_starts(url: str, register_id: UUID, rounds: int) -> list[str]:
    root = Path(__file__).resolve().parent.parent
    firsts, steady, opens = [], [], []
    for _ in range(rounds):
        out = subprocess.run(
            [sys.executable, "-m", "bench.register", "child", url, str(register_id)],
            cwd=root,
            env=os.environ.copy(),
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        child: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        firsts.append(child["first_ms"])
        opens.append(child["open_ms"])
        steady.append(statistics.median(child["steady_ms"]))
    a, b = statistics.median(firsts), statistics.median(steady)
    return [
        f"  {'warm start, 1st command':24} median {a:6.1f} ms   "
        f"(rounds: {', '.join(f'{x:.0f}' for x in firsts)} ms; opening the Ledger "
        f"{statistics.median(opens):.0f} ms more)",
        f"  {'steady state (baseline)':24} median {b:6.2f} ms   first / steady {a / b:6.1f}",
    ]


def child(url: str, register_id: UUID) -> dict[str, Any]:
    """One fresh process: open, authenticate, the first receipt, then the steady state."""
    began = time.perf_counter()
    ledger = Ledger(Settings(database_url=url))
    opened = (time.perf_counter() - began) * 1000
    try:
        user = ledger.access.authenticate(TOKEN)
        first = _answered(ledger, _receipt(register_id, user, uuid.uuid4().hex, 301), user)
        steady = [
            _answered(ledger, _receipt(register_id, user, uuid.uuid4().hex, 302), user)
            for _ in range(STEADY)
        ]
    finally:
        ledger.close()
    return {"open_ms": opened, "first_ms": first, "steady_ms": steady}


def _backend(
    urls: tuple[str, str], sizes: tuple[int, int], replays: int, rounds: int, seed: int
) -> list[str]:
    replay_years, start_years = sizes
    register_id, events, seconds = _world(urls[0], replay_years, seed)
    lines = [
        f"  replay data: {replay_years} years, register of {events:,} events ({seconds:.0f} s)"
    ]
    lines += _replays(urls[0], register_id, replays, seed)
    register_id, events, seconds = _world(urls[1], start_years, seed)
    lines.append(
        f"  start data: {start_years} years, register of {events:,} events ({seconds:.0f} s)"
    )
    return lines + _warm_starts(urls[1], register_id, rounds)


def run(
    *, replay_years: int, start_years: int, replays: int, rounds: int, seed: int, postgres: str
) -> list[str]:
    lines = [
        f"register benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{replays} replays, warm starts: medians of {rounds} processes"
    ]
    sizes = (replay_years, start_years)
    with tempfile.TemporaryDirectory() as tmp:
        lines.append("sqlite")
        urls = (f"sqlite:///{tmp}/replays.sqlite3", f"sqlite:///{tmp}/starts.sqlite3")
        lines += _backend(urls, sizes, replays, rounds, seed)
    with scratch_postgres(postgres) as first, scratch_postgres(postgres) as second:
        lines.append("postgresql")
        lines += _backend((first, second), sizes, replays, rounds, seed)
    return lines


if __name__ == "__main__" and sys.argv[1:2] == ["child"]:
    print(json.dumps(child(sys.argv[2], UUID(sys.argv[3]))), flush=True)
