"""HTTP write benchmark: receipts posted by 8 concurrent clients to a real uvicorn server,
on one register and on eight, against the bare-route baseline in the same run.

    .venv/bin/python -m bench http [--requests N] [--rounds R] [--clients C] [--postgres URL]

Both servers run with the same settings (one API process, uvloop, httptools, access log off):
the ledger — as ``hacienda-ledger serve`` runs it on PostgreSQL (projections followed by a
process of its own beside the API), and with the projections in a thread of the API process
— and ``bench/bare_app.py`` (one pydantic-parsed body, one insert-and-commit through
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
from contextlib import contextmanager
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


def server_command(app: str, port: int, *options: str) -> list[str]:
    """The command line serving ``app`` on ``port``: uvicorn with the settings the bare route
    and the ledger are measured with (uvloop, httptools) and ``options``, or
    (``app == "serve"``) ``hacienda-ledger serve`` itself. The end-to-end tests start their
    servers with it too."""
    if app == "serve":
        return [sys.executable, "-m", "hacienda_ledger.cli", "serve", "--port", str(port)]
    return [
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
        *options,
    ]


@contextmanager
def _server(app: str, env: dict[str, str]) -> Iterator[int]:
    """``app`` served by uvicorn, or (``app == "serve"``) ``hacienda-ledger serve`` itself."""
    port = _free_port()
    cmd = server_command(app, port, "--no-access-log")
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


SCENARIOS = [
    ("bare", "bare route (baseline)"),
    ("served-one", "ledger, one register"),
    ("served-eight", "ledger, eight registers"),
    ("thread-one", "ledger, one register"),
    ("thread-eight", "ledger, eight registers"),
]


def run(requests: int, rounds: int, clients: int, postgres: str) -> list[str]:
    """The ledger served two ways, each against the bare route in the same run: as
    ``hacienda-ledger serve`` runs it on PostgreSQL (the projections followed by a process
    of their own beside the API; reads catch up themselves), and with the projections
    followed by a thread of the API process (``HACIENDA_RUN_PROJECTIONS=true``, what serve
    does on SQLite)."""
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
        for how in ("served", "thread"):
            app = "serve" if how == "served" else "hacienda_ledger.api.main:app"
            env = {**base_env, "HACIENDA_RUN_PROJECTIONS": "true"}
            with _server(app, env) as ledger_port:
                _round(ledger_port, registers, clients, 5)  # warm up
                size = _event_size(url)
                bare_env = {**env, "BENCH_BARE_SIZE": str(size)}
                with _server("bench.bare_app:app", bare_env) as bare_port:
                    _round(bare_port, registers, clients, 5)
                    for _ in range(rounds):
                        results["bare"].append(_round(bare_port, registers, clients, per_client))
                        results[f"{how}-one"].append(
                            _round(ledger_port, registers[:1], clients, per_client)
                        )
                        results[f"{how}-eight"].append(
                            _round(ledger_port, registers, clients, per_client)
                        )
        base = _summary(results["bare"])
        headers = {
            "served-one": "hacienda-ledger serve (projections in a process of their own):",
            "thread-one": "projections followed by a thread of the API process:",
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
