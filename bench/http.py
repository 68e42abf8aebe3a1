"""HTTP write benchmark: receipts posted by 8 concurrent clients to a real uvicorn server,
on one register and on eight, against the bare-route baseline in the same run.

    .venv/bin/python -m bench http [--requests N] [--rounds R] [--clients C] [--postgres URL]

Both servers run with the same settings (one process, uvloop, httptools, access log off):
the ledger (``hacienda_ledger.api.main:app``, projections running in the process as in
production) and ``bench/bare_app.py`` (one pydantic-parsed body, one insert-and-commit through
a psycopg pool). Each client is a thread with one keep-alive connection (``http.client``: a
light client, so that the 2 cores go to the servers). Throughput is requests ÷ wall time of
the round; latencies are measured by the clients; medians over the rounds, p50/p99 over every
request of every round.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from bench.scratch import scratch_postgres
from bench.write import open_registers
from hacienda_ledger.application import Ledger
from hacienda_ledger.settings import Settings

TOKEN = "bench-cashier-token"


@dataclass
class Round:
    seconds: float
    latencies: list[float]
    failures: int

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds


def _world(url: str, registers: int) -> list[uuid.UUID]:
    """``registers`` aires with one register each, and a cashier on all of them."""
    ledger = Ledger(Settings(database_url=url))
    try:
        aires, ids = open_registers(ledger, registers)
        ledger.create_user(name="Bench", role="cashier", aire_ids=aires, actor="b", token=TOKEN)
        return ids
    finally:
        ledger.close()


@contextmanager
def _server(app: str, env: dict[str, str]) -> Iterator[int]:
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        cmd, env={**os.environ, **env}, cwd=root, stdout=subprocess.DEVNULL, stderr=log
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/ready")
                if conn.getresponse().status == 200:
                    conn.close()
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"{app} did not start: {log.read().decode()[-2000:]}")
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _round(port: int, registers: list[uuid.UUID], clients: int, per_client: int) -> Round:
    body = json.dumps(
        {"method": "cash", "lines": [{"revenue_type": "pitch_fee", "amount_cents": 300}]}
    )
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures = [0] * clients
    barrier = threading.Barrier(clients + 1)
    run = uuid.uuid4().hex[:8]

    def client(c: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        path = f"/v1/registers/{registers[c % len(registers)]}/receipts"
        barrier.wait()
        for i in range(per_client):
            headers = {
                "Authorization": f"Bearer {TOKEN}",
                "Idempotency-Key": f"{run}-{c}-{i}",
                "Content-Type": "application/json",
            }
            started = time.perf_counter()
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            latencies[c].append(time.perf_counter() - started)
            if response.status != 201:
                failures[c] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    return Round(seconds, [x for xs in latencies for x in xs], sum(failures))


def _summary(rounds: list[Round]) -> tuple[float, float, float, int]:
    every = sorted(x for r in rounds for x in r.latencies)
    p = lambda q: every[min(len(every) - 1, int(q * len(every)))] * 1000  # noqa: E731
    return (
        statistics.median(r.rate for r in rounds),
        p(0.50),
        p(0.99),
        sum(r.failures for r in rounds),
    )


def _event_size(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT length(state) FROM ledger_events WHERE topic LIKE %s "
            "ORDER BY notification_id DESC LIMIT 1",
            ("%ReceiptIssued",),
        ).fetchone()
    return int(row[0]) if row else 600


@contextmanager
def _projector(env: dict[str, str]) -> Iterator[None]:
    """``hacienda-ledger project`` in its own process, following the stream."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "hacienda_ledger.cli", "project", "--interval", "0.05"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)


SCENARIOS = [
    ("bare", "bare route (baseline)"),
    ("in-one", "ledger, one register"),
    ("in-eight", "ledger, eight registers"),
    ("out-one", "ledger, one register"),
    ("out-eight", "ledger, eight registers"),
]


def run(requests: int, rounds: int, clients: int, postgres: str) -> list[str]:
    """The ledger served two ways, each against the bare route in the same run: with the
    projections followed inside the API process (the default: read-your-writes), and with
    them in a process of their own (``hacienda-ledger project``; the API started with
    ``HACIENDA_RUN_PROJECTIONS=false``), which is how a busy site deploys it."""
    per_client = max(1, requests // clients)
    lines = [
        f"http write benchmark, PostgreSQL, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{clients} clients x {per_client} requests x {rounds} rounds",
        f"{'scenario':40} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'failed':>6} {'ratio':>6}",
    ]
    results: dict[str, list[Round]] = {name: [] for name, _ in SCENARIOS}
    with scratch_postgres(postgres) as url:
        registers = _world(url, 8)
        base_env = {
            "HACIENDA_DATABASE_URL": url,
            "HACIENDA_CREATE_TABLES": "false",
            "HACIENDA_LOG_JSON": "true",
            "BENCH_BARE_URL": url,
        }
        size = 600
        for where in ("in", "out"):
            env = {**base_env, "HACIENDA_RUN_PROJECTIONS": "true" if where == "in" else "false"}
            with (
                _server("hacienda_ledger.api.main:app", env) as ledger_port,
                _projector(env) if where == "out" else nullcontext(),
            ):
                _round(ledger_port, registers, clients, 5)  # warm up
                size = _event_size(url)
                bare_env = {**env, "BENCH_BARE_SIZE": str(size)}
                with _server("bench.bare_app:app", bare_env) as bare_port:
                    _round(bare_port, registers, clients, 5)
                    for _ in range(rounds):
                        results["bare"].append(_round(bare_port, registers, clients, per_client))
                        results[f"{where}-one"].append(
                            _round(ledger_port, registers[:1], clients, per_client)
                        )
                        results[f"{where}-eight"].append(
                            _round(ledger_port, registers, clients, per_client)
                        )
        base = _summary(results["bare"])
        headers = {
            "in-one": "projections followed in the API process (default):",
            "out-one": "projections in their own process (hacienda-ledger project):",
        }
        for name, label in SCENARIOS:
            if name in headers:
                lines.append(headers[name])
            rate, p50, p99, failed = _summary(results[name])
            lines.append(
                f"  {label:38} {rate:7.0f} {p50:7.1f} {p99:7.1f} {failed:6d} {rate / base[0]:6.2f}"
            )
        lines.append(f"stored receipt event: {size} bytes (the bare route's row size)")
    return lines
