"""``hacienda-ledger serve`` on PostgreSQL follows the projections in a process of its own
beside the API: the projector advances the projection tables with no request asking, a read
right after a write sees it (the API catches up itself when the projector is behind), and
stopping the server stops the projector."""

from __future__ import annotations

import os
import subprocess
import time

import httpx
import psycopg
import pytest

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
