"""Replay benchmarks on a generated operator: rebuild, verify and audit, each beside a raw
baseline measured in the same run on the same rows.

    .venv/bin/python -m bench replay [--aires N] [--years Y] [--seed S] [--postgres URL]
                                     [--replay-only rebuild|verify|chains|check]

- **rebuild**: events of the stream ÷ seconds to rebuild every projection from zero, against
  a raw ``SELECT`` of the same rows (pages of 2,000 by position) plus ``json.loads`` of each
  stored state; in one process, and shared between two (``rebuild_all(jobs=2)``, what
  ``hacienda-ledger rebuild --jobs 2`` does);
- **verify**: register events ÷ seconds to verify every register chain (a cold process: no
  checkpoint yet), against a raw ``SELECT`` of the same rows plus ``hashlib.sha256`` of
  their stored bytes; in one process, and shared between two (``verify_registers(jobs=2)``,
  what ``hacienda-ledger verify --jobs 2`` does);
- **audit**: median and p99 latency of a register's history as of a random instant (what
  ``GET /v1/registers/{id}/history`` computes: the register as of then, its chain verified up
  to there), for a register holding ``--years`` years of events; beside it, the raw read of
  that register's rows.

The data is generated once per backend by the generator's bulk path (seeded: the same
world every run). Rates are medians of ``--rounds`` rounds. ``--replay-only rebuild`` measures
the rebuild and its baseline alone (to iterate on it; the default runs all three);
``--replay-only verify`` the cold verification in one process, with the next register read
ahead and without, alternating (``2 × --rounds`` runs of each); ``--replay-only chains`` the
cold verification of every aire's and stay's chain, in one process and in two, and the
"orjson floor" (``Raw.select_and_reserialise``: the same read, then only the parse, the
compact-form check, the sorted dump and the SHA-256 that any orjson-based verification pays;
no walk, no link checked), the ratio no such path can exceed;
``--replay-only check`` ``hacienda-ledger rebuild --check`` against ``hacienda-ledger
rebuild``, each in a fresh process (one job each), alternating: wall time and peak memory
(the child's maximum resident set, from ``os.wait4``), medians and their ratios.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from uuid import UUID

import orjson
import psycopg

from bench.scratch import scratch_postgres
from hacienda_ledger.aggregates.aire import Aire
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.aggregates.stay import Stay
from hacienda_ledger.application import Ledger, projecting
from hacienda_ledger.application.verification import VerifiedPrefixes
from hacienda_ledger.generator import generate
from hacienda_ledger.settings import Settings


class Raw:
    """The baselines: plain driver reads of the ledger's own tables."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @contextmanager
    def _cursor(self) -> Iterator[tuple[object, str]]:
        if self.settings.is_postgres:
            with psycopg.connect(self.settings.database_url) as conn, conn.cursor() as cur:
                yield cur, "%s"
        else:
            conn = sqlite3.connect(self.settings.sqlite_path)
            try:
                yield conn.cursor(), "?"
            finally:
                conn.close()

    def select_and_decode(self) -> int:
        """Every row of the stream by pages of 2,000, its state decoded from JSON."""
        n = 0
        with self._cursor() as (cur, p):
            table, position = self._table_and_position()
            start = 0
            while True:
                cur.execute(  # type: ignore[attr-defined]
                    f"SELECT {position}, originator_id, originator_version, topic, state "
                    f"FROM {table} WHERE {position} > {p} ORDER BY {position} LIMIT 2000",
                    (start,),
                )
                rows = cur.fetchall()  # type: ignore[attr-defined]
                if not rows:
                    return n
                for row in rows:
                    json.loads(row[4])
                n += len(rows)
                start = rows[-1][0]

    def select_and_hash(self, originator_ids: list[UUID]) -> int:
        """Every row of the given aggregates, the SHA-256 of its stored bytes."""
        n = 0
        with self._cursor() as (cur, p):
            table, _ = self._table_and_position()
            for originator in originator_ids:
                key = originator if self.settings.is_postgres else originator.hex
                cur.execute(  # type: ignore[attr-defined]
                    f"SELECT originator_version, state FROM {table} "
                    f"WHERE originator_id = {p} ORDER BY originator_version",
                    (key,),
                )
                for row in cur.fetchall():  # type: ignore[attr-defined]
                    hashlib.sha256(row[1]).hexdigest()
                    n += 1
        return n

    def select_and_reserialise(self, originator_ids: list[UUID]) -> int:
        """The floor of any verification that re-serialises rows through orjson: the same
        read as ``select_and_hash``, then what ``verification.vouched`` cannot do without
        (parse, check the bytes are orjson's compact form, sorted dump of the canonical
        envelope, SHA-256), leaving out its walk of the wrapped values and every link check.
        Not a verification: a ceiling for the ratio such a path can reach."""
        n = 0
        sort = orjson.OPT_SORT_KEYS
        with self._cursor() as (cur, p):
            table, _ = self._table_and_position()
            for originator in originator_ids:
                key = originator if self.settings.is_postgres else originator.hex
                cur.execute(  # type: ignore[attr-defined]
                    f"SELECT originator_version, topic, state FROM {table} "
                    f"WHERE originator_id = {p} ORDER BY originator_version",
                    (key,),
                )
                text = str(originator)
                for version, topic, stored in cur.fetchall():  # type: ignore[attr-defined]
                    data = bytes(stored)
                    state = orjson.loads(data)
                    assert orjson.dumps(state) == data
                    state.pop("hash", None)
                    state.pop("class_version", None)
                    state["originator_id"], state["originator_version"] = text, version
                    envelope = {"topic": topic, "fields": state}
                    hashlib.sha256(orjson.dumps(envelope, option=sort)).hexdigest()
                    n += 1
        return n

    def _table_and_position(self) -> tuple[str, str]:
        if self.settings.is_postgres:
            return "ledger_events", "notification_id"
        return "stored_events", "rowid"


def _timed(run: Callable[[], int]) -> tuple[int, float]:
    started = time.perf_counter()
    n = run()
    return n, time.perf_counter() - started


def _rebuild_all(ledger: Ledger, jobs: int = 1) -> int:
    projecting.rebuild_all(ledger, jobs=jobs)
    return ledger.last_position()


def _verify_all(ledger: Ledger, registers: list[UUID], jobs: int = 1) -> int:
    n = 0
    for _, report in ledger.audit.verify_registers(registers, jobs=jobs):
        assert report.ok, report.first_broken
        n += report.events
    return n


def _verify_kind(ledger: Ledger, ids: list[UUID], kind: str, jobs: int = 1) -> int:
    n = 0
    for _, report in ledger.audit.verify_registers(ids, kind=kind, jobs=jobs):
        assert report.ok, report.first_broken
        n += report.events
    return n


def _measure(
    settings: Settings, aires: int, years: int, seed: int, rounds: int, *, only: str = ""
) -> list[str]:
    summary = generate(settings, aires=aires, years=years, seed=seed, start_year=2020)
    ledger = Ledger(settings)
    raw = Raw(settings)
    registers = list(summary.registers)
    lines = [
        f"  data: {aires} aires x {years} years, {ledger.last_position():,} positions, "
        f"generated in {summary.seconds:.0f} s ({summary.events_per_second:,.0f} events/s, "
        "bulk path)"
    ]
    try:
        if only == "verify":
            return lines + _verify_ahead_or_not(ledger, raw, registers, rounds)
        if only == "chains":
            return lines + _verify_chains(ledger, raw, rounds, jobs=(1, 2))
        if only == "check":
            return lines + _check_against_rebuild(settings, rounds)
        rebuild, shared, select = [], [], []
        verify, verify_shared, warm, hashed = [], [], [], []
        for _ in range(rounds):
            n, s = _timed(lambda: _rebuild_all(ledger))
            rebuild.append(n / s)
            n, s = _timed(lambda: _rebuild_all(ledger, jobs=2))
            shared.append(n / s)
            n, s = _timed(raw.select_and_decode)
            select.append(n / s)
            if only == "rebuild":
                continue
            ledger.audit.verified = VerifiedPrefixes()  # cold: nothing vouched for yet
            n, s = _timed(lambda: _verify_all(ledger, registers, jobs=2))
            verify_shared.append(n / s)
            ledger.audit.verified = VerifiedPrefixes()
            n, s = _timed(lambda: _verify_all(ledger, registers))
            verify.append(n / s)
            n, s = _timed(lambda: _verify_all(ledger, registers))
            warm.append(n / s)
            n, s = _timed(lambda: raw.select_and_hash(registers))
            hashed.append(n / s)
        lines.append(_rate_line("rebuild (all projections)", rebuild, select, "select+json"))
        lines.append(_rate_line("rebuild, 2 processes", shared, select, "select+json"))
        if only == "rebuild":
            return lines
        lines.append(_rate_line("verify (every register)", verify, hashed, "select+sha256"))
        lines.append(_rate_line("verify, 2 processes", verify_shared, hashed, "select+sha256"))
        lines.append(_rate_line("verify again (checkpoints)", warm, hashed, "select+sha256"))
        lines += _verify_chains(ledger, raw, rounds)

        register_id = summary.register_with_history(years)
        first = ledger.cash_register(register_id, version=1)
        last = ledger.cash_register(register_id)
        assert isinstance(first, CashRegister) and isinstance(last, CashRegister)
        start, end = first.created_on, last.modified_on
        assert start is not None and end is not None
        rng = random.Random(seed)
        ledger.audit.verified = VerifiedPrefixes()
        began = time.perf_counter()
        ledger.audit.register_history(register_id, end)
        cold_ms = (time.perf_counter() - began) * 1000
        ledger.audit.verified = VerifiedPrefixes()
        latencies = []
        for _ in range(max(30, rounds * 10)):
            instant = start + (end - start) * rng.random()
            began = time.perf_counter()
            ledger.audit.register_history(register_id, instant)
            latencies.append((time.perf_counter() - began) * 1000)
        _, raw_s = _timed(lambda: raw.select_and_hash([register_id]))
        latencies.sort()
        lines.append(
            f"  {'audit (history as of)':28} median {statistics.median(latencies):7.1f} ms   "
            f"p99 {latencies[int(0.99 * (len(latencies) - 1))]:7.1f} ms   "
            f"({last.version:,} events; raw read+hash of them {raw_s * 1000:.1f} ms)"
        )
        lines.append(
            f"  {'':28} first history on a cold process (whole chain verified): {cold_ms:.0f} ms"
        )
    finally:
        ledger.close()
    return lines


def _verify_aires_and_stays(
    ledger: Ledger, aire_ids: list[UUID], stay_ids: list[UUID], jobs: int
) -> int:
    return _verify_kind(ledger, aire_ids, "aire", jobs) + _verify_kind(
        ledger, stay_ids, "stay", jobs
    )


def _verify_chains(
    ledger: Ledger, raw: Raw, rounds: int, jobs: tuple[int, ...] = (1,)
) -> list[str]:
    """Cold verification of every aire's and every stay's chain (in one process, and with
    ``jobs=(1, 2)`` also shared between two, as ``verify`` does on two cores), beside the
    raw read and hash of their rows (one query a chain)."""
    aire_ids = list(ledger.ids_of(Aire.Registered))
    stay_ids = list(ledger.ids_of(Stay.Opened))
    rates: dict[int, list[float]] = {j: [] for j in jobs}
    hashed, floor = [], []
    for _ in range(rounds):
        for j in jobs:
            ledger.audit.verified = VerifiedPrefixes()
            n, s = _timed(partial(_verify_aires_and_stays, ledger, aire_ids, stay_ids, j))
            rates[j].append(n / s)
        n, s = _timed(lambda: raw.select_and_hash(aire_ids + stay_ids))
        hashed.append(n / s)
        if len(jobs) > 1:
            n, s = _timed(lambda: raw.select_and_reserialise(aire_ids + stay_ids))
            floor.append(n / s)
    names = {1: "verify (aires and stays)", 2: "  the same, 2 processes"}
    lines = [_rate_line(names[j], rates[j], hashed, "select+sha256") for j in jobs]
    if floor:  # --replay-only chains: the ceiling of any orjson re-serialisation
        lines.append(_rate_line("  orjson floor (no walk)", floor, hashed, "select+sha256"))
    return lines


def _verify_ahead_or_not(ledger: Ledger, raw: Raw, registers: list[UUID], rounds: int) -> list[str]:
    """Cold verification in one process as ``verify_registers`` runs it (the next register
    read ahead, ``verify_each``) and each register read then verified in turn, alternating
    which runs first, beside the raw read and hash."""
    ahead, in_turn, hashed = [], [], []

    def each_in_turn() -> int:
        return sum(ledger.audit.verify_register(r).events for r in registers)

    for k in range(rounds * 2):
        runs = [(ahead, lambda: _verify_all(ledger, registers)), (in_turn, each_in_turn)]
        for rates, run in runs if k % 2 else runs[::-1]:
            ledger.audit.verified = VerifiedPrefixes()
            n, s = _timed(run)
            rates.append(n / s)
        n, s = _timed(lambda: raw.select_and_hash(registers))
        hashed.append(n / s)
    return [
        _rate_line("verify, read ahead", ahead, hashed, "select+sha256"),
        _rate_line("verify, each read in turn", in_turn, hashed, "select+sha256"),
        f"  {'':28} read ahead / in turn: "
        f"{statistics.median(ahead) / statistics.median(in_turn):.2f}",
    ]


def _cli_run(settings: Settings, *args: str) -> tuple[float, int]:
    """``hacienda-ledger ARGS`` in a fresh process: its wall time (s) and peak RSS (kB)."""
    command = [sys.executable, "-m", "hacienda_ledger.cli", "--database-url"]
    command += [settings.database_url, *args]
    began = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - began
    child.returncode = os.waitstatus_to_exitcode(status)
    assert child.returncode == 0, (args, child.returncode)
    return seconds, usage.ru_maxrss


def _check_against_rebuild(settings: Settings, rounds: int) -> list[str]:
    """Issue 17: ``rebuild --check`` within 1.5 x the time and memory of ``rebuild``."""
    _cli_run(settings, "project", "--once")  # a check compares live tables: build them
    rebuilt, checked = [], []
    for _ in range(rounds):
        rebuilt.append(_cli_run(settings, "rebuild", "--jobs", "1"))
        checked.append(_cli_run(settings, "rebuild", "--check", "--jobs", "1"))
    lines = []
    for label, index, unit in (("time", 0, "s"), ("peak memory", 1, "MB")):
        scale = 1 if index == 0 else 1 / 1024
        a = statistics.median(c[index] for c in checked) * scale
        b = statistics.median(r[index] for r in rebuilt) * scale
        lines.append(
            f"  {'rebuild --check, ' + label:28} {a:9,.1f} {unit}   rebuild {b:9,.1f} {unit}"
            f"   ratio {a / b:5.2f}"
        )
    return lines


def _rate_line(name: str, ours: list[float], base: list[float], label: str) -> str:
    a, b = statistics.median(ours), statistics.median(base)
    return f"  {name:28} {a:9,.0f} ev/s   {label} {b:9,.0f} rows/s   ratio {a / b:5.2f}"


def run(
    aires: int, years: int, seed: int, rounds: int, postgres: str, *, only: str = ""
) -> list[str]:
    lines = [
        f"replay benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, medians of {rounds} rounds"
    ]
    with tempfile.TemporaryDirectory() as tmp:
        lines.append("sqlite")
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'replay.sqlite3'}")
        lines += _measure(settings, aires, years, seed, rounds, only=only)
    with scratch_postgres(postgres) as url:
        lines.append("postgresql")
        lines += _measure(Settings(database_url=url), aires, years, seed, rounds, only=only)
    return lines
