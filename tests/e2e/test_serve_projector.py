"""``hacienda-ledger serve`` on PostgreSQL follows the projections in a process of its own
beside the API: the projector advances the projection tables with no request asking, a read
right after a write sees it (the API catches up itself when the projector is behind), and
stopping the server stops the projector."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hacienda_ledger.application import Ledger
from hacienda_ledger.settings import Settings
from tests.conftest import _truncate_postgres
from tests.live_server import live_server, one_register


def children(pid: int) -> list[int]:
    command = ["pgrep", "-P", str(pid)]
    found = subprocess.run(command, check=False, capture_output=True, text=True).stdout
    return [int(p) for p in found.split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        state = stat.read().rsplit(")", 1)[1].split()[0]
    return state != "Z"


def journal_position(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT position FROM projection_tracking WHERE name = 'cash_journal'"
        ).fetchone()
    return int(row[0]) if row else 0


@pytest.mark.postgres
def test_serve_follows_the_projections_in_a_process_of_their_own(postgres_database: str) -> None:
    _truncate_postgres(postgres_database)
    register_id = one_register(postgres_database, "serve-cashier")
    pids: list[int] = []
    headers = {"Authorization": "Bearer serve-cashier"}
    env = {"HACIENDA_DATABASE_URL": postgres_database}
    with (
        live_server(env, serve=True, pids=pids) as base,
        httpx.Client(base_url=base, timeout=30, headers=headers) as http,
    ):
        (projector,) = children(pids[0])
        assert alive(projector)
        for i in range(5):
            r = http.post(
                f"/v1/registers/{register_id}/receipts",
                headers={"Idempotency-Key": f"k{i}"},
                json={"method": "cash", "lines": [{"revenue_type": "other", "amount_cents": 100}]},
            )
            assert r.status_code == 201, r.text
            # read-your-writes: the line is there at once
            journal = http.get(f"/v1/registers/{register_id}/journal")
            assert journal.status_code == 200, journal.text
            numbers = [
                line["receipt_number"]
                for line in journal.json()["data"]
                if line["receipt_number"] is not None
            ]
            assert numbers == list(range(1, i + 2))
        reader = Ledger(Settings(database_url=postgres_database, create_tables=False))
        try:
            last = reader.last_position()
        finally:
            reader.close()
        # the projector moves the tables on its own, no request asking
        r = http.post(
            f"/v1/registers/{register_id}/receipts",
            headers={"Idempotency-Key": "last"},
            json={"method": "cash", "lines": [{"revenue_type": "other", "amount_cents": 100}]},
        )
        assert r.status_code == 201
        deadline = time.monotonic() + 20
        while journal_position(postgres_database) <= last and time.monotonic() < deadline:
            time.sleep(0.1)
        assert journal_position(postgres_database) > last
    deadline = time.monotonic() + 20
    while alive(projector) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(projector)  # live_server stopped the server with SIGTERM


def tracked_positions(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT name, position FROM projection_tracking").fetchall()
    return {str(name): int(position) for name, position in rows}


def logged(path: Path, event: str) -> list[dict[str, Any]]:
    """The server's JSON log lines of one event."""
    found = []
    for line in path.read_text(errors="replace").splitlines():
        with suppress(ValueError):
            entry = json.loads(line)
            if isinstance(entry, dict) and entry.get("event") == event:
                found.append(entry)
    return found


@pytest.mark.postgres
def test_a_killed_projector_is_started_again_logged_and_catches_up(
    postgres_database: str, tmp_path: Path
) -> None:
    """Given ``serve`` on PostgreSQL and its projector child, when the projector is killed
    (SIGKILL) and receipts are posted meanwhile, then ``serve`` logs its death (exit code
    -9, SIGKILL) and starts a new one (logged with its pid), which catches every
    projection up to the stream's end with no read asking; /ready is 200 with no lag and
    /metrics says the projector is up; stopping the server stops the new projector."""
    _truncate_postgres(postgres_database)
    register_id = one_register(postgres_database, "serve-cashier")
    pids: list[int] = []
    log = tmp_path / "serve.log"
    headers = {"Authorization": "Bearer serve-cashier"}
    env = {"HACIENDA_DATABASE_URL": postgres_database}
    with (
        live_server(env, serve=True, pids=pids, log_path=log) as base,
        httpx.Client(base_url=base, timeout=30, headers=headers) as http,
    ):

        def post(key: str) -> None:
            r = http.post(
                f"/v1/registers/{register_id}/receipts",
                headers={"Idempotency-Key": key},
                json={"method": "cash", "lines": [{"revenue_type": "other", "amount_cents": 100}]},
            )
            assert r.status_code == 201, r.text

        (first,) = children(pids[0])
        post("before")
        os.kill(first, signal.SIGKILL)
        for i in range(20):  # while it is dead, then starting again
            post(f"k{i}")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            restarted = [p for p in children(pids[0]) if p != first and alive(p)]
            if restarted:
                break
            time.sleep(0.1)
        (second,) = restarted
        reader = Ledger(Settings(database_url=postgres_database, create_tables=False))
        try:
            last = reader.last_position()
        finally:
            reader.close()
        names = {
            "balances",
            "cash_journal",
            "occupancy",
            "revenue",
            "interventions",
            "intervention_list",
            "analytics",
        }
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            positions = tracked_positions(postgres_database)
            if all(positions.get(name, 0) >= last for name in names):
                break
            time.sleep(0.1)
        assert all(positions.get(name, 0) >= last for name in names), (positions, last)
        ready = http.get("/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["lags"] == dict.fromkeys(names, 0)
        assert ready.json()["projector"]["running"] is True
        assert 'hacienda_projector_up{mode="process"} 1.0' in http.get("/metrics").text
        died = logged(log, "projector_died")
        assert [(d["pid"], d["exit_code"], d["signal"]) for d in died] == [(first, -9, "SIGKILL")]
        assert died[0]["restart_in_s"] == 0.5
        assert [r["pid"] for r in logged(log, "projector_restarted")] == [second]
    deadline = time.monotonic() + 20
    while alive(second) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(second)


@pytest.mark.postgres
def test_metrics_add_up_the_workers_of_serve(postgres_database: str) -> None:
    """Given ``serve --workers 2`` (each worker a process with its own counters), when a
    cashier posts 6 receipts over new connections (spread over both workers), then every
    scrape of /metrics, whichever worker answers it, counts all 6 receipts and 6 POSTs on
    the receipts' route: the workers' counts are added up (multiprocess mode)."""
    _truncate_postgres(postgres_database)
    register_id = one_register(postgres_database, "serve-cashier")
    env = {"HACIENDA_DATABASE_URL": postgres_database}
    route = "/v1/registers/{register_id}/receipts"
    with live_server(env, serve=True, workers=2) as base:
        for i in range(6):
            r = httpx.post(  # a new connection each: the kernel spreads them over workers
                f"{base}/v1/registers/{register_id}/receipts",
                headers={"Authorization": "Bearer serve-cashier", "Idempotency-Key": f"w{i}"},
                json={"method": "cash", "lines": [{"revenue_type": "other", "amount_cents": 1}]},
                timeout=30,
            )
            assert r.status_code == 201, r.text
        for _ in range(4):
            page = httpx.get(f"{base}/metrics", timeout=10).text
            found = {
                (s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(page)
                for s in family.samples
            }
            assert found[("hacienda_receipts_issued_total", (("method", "cash"),))] == 6
            posts = (("method", "POST"), ("route", route), ("status", "2xx"))
            assert found[("hacienda_http_requests_total", posts)] == 6
