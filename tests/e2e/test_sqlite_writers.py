"""SQLite under many writers: 16 client threads posting receipts over real HTTP (4 registers,
4 clients each, each reading its register between two receipts), while another process
holds the file's write lock for 6 s (a rebuild, a backup, an operator's shell). A request
waits, or is answered 503 ``database_unavailable`` with ``Retry-After``, never 500: the
library's one writer connection waits for the file (busy timeout), the other writers wait
5 s for it and then fail with ``Timed out waiting for return of writer``, which was a 500.
Readers queued behind that waiting writer in the library's pool wait or are 503 too. A
503'd receipt posted again with its key is recorded once; every register numbers its
receipts 1..n."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from uuid import UUID

import httpx
from bench.write import open_registers
from fastapi.testclient import TestClient

from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger
from hacienda_ledger.settings import Settings
from tests.live_server import live_server

WRITERS = 16
REGISTERS = 4
RECEIPTS = 25  # per writer
TOKEN = "sqlite-cashier"
HOLD = 6.0  # seconds another process holds the file's write lock (the library waits 5 s)


def world_of(ledger: Ledger, registers: int) -> list[UUID]:
    """``registers`` aires with a register each, and a cashier of them all (``TOKEN``)."""
    aire_ids, register_ids = open_registers(ledger, registers)
    ledger.create_user(name="Caisse", role="cashier", aire_ids=aire_ids, actor="test", token=TOKEN)
    return register_ids


def world(url: str) -> list[UUID]:
    setup = Ledger(Settings(database_url=url))
    try:
        return world_of(setup, REGISTERS)
    finally:
        setup.close()


def writer(base: str, register_id: UUID, k: int, seen: list[tuple[str, int, str | None]]) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=base, timeout=60, headers=headers) as http:
        for i in range(RECEIPTS):
            key = f"w{k}-{i}"
            body = {"method": "cash", "lines": [{"revenue_type": "other", "amount_cents": 100}]}
            for _ in range(100):  # a 503 is posted again with the same key
                r = http.post(
                    f"/v1/registers/{register_id}/receipts",
                    headers={"Idempotency-Key": key},
                    json=body,
                )
                code = r.json().get("code") if r.status_code >= 400 else None
                seen.append((key, r.status_code, r.headers.get("Retry-After") or code))
                if r.status_code != 503:
                    break
                time.sleep(0.1)
            # a reader beside the writers (the register's state, from the file): it waits
            # too, or is 503 (the library's pool queues readers behind a waiting writer)
            read = http.get(f"/v1/registers/{register_id}")
            seen.append(("read", read.status_code, read.headers.get("Retry-After")))


def test_sixteen_writers_on_sqlite_wait_or_get_503_never_500(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ledger.sqlite3"
    register_ids = world(url)
    seen: list[tuple[str, int, str | None]] = []
    errors: list[BaseException] = []

    def run(k: int) -> None:
        try:
            writer(base, register_ids[k % REGISTERS], k, seen)
        except BaseException as exc:  # reported below
            errors.append(exc)

    def hold_the_file() -> None:
        time.sleep(1)
        with sqlite3.connect(f"{tmp_path}/ledger.sqlite3", timeout=30) as other:
            other.execute("BEGIN IMMEDIATE")
            time.sleep(HOLD)
            other.rollback()

    # snapshots every 10 events: the snapshot writer's thread is the library's other writer
    env = {"HACIENDA_DATABASE_URL": url, "HACIENDA_SNAPSHOT_INTERVAL": "10"}
    with live_server(env) as base:
        threads = [threading.Thread(target=run, args=(k,)) for k in range(WRITERS)]
        threads.append(threading.Thread(target=hold_the_file))
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    assert errors == []
    statuses = {status for _, status, _ in seen}
    assert statuses <= {200, 201, 503}, [s for s in seen if s[1] not in (200, 201, 503)][:5]
    assert {extra for _, status, extra in seen if status == 503} <= {"2"}  # Retry-After
    recorded = {k for k, status, _ in seen if status == 201}
    assert {k for k, status, _ in seen if status == 200} <= {"read"}
    assert len(recorded) == WRITERS * RECEIPTS
    reader = Ledger(Settings(database_url=url, create_tables=False))
    try:
        for register_id in register_ids:
            numbers = [
                e.number
                for e in reader.events.get(register_id)
                if isinstance(e, CashRegister.ReceiptIssued)
            ]
            assert numbers == list(range(1, RECEIPTS * WRITERS // REGISTERS + 1))
    finally:
        reader.close()


def test_the_one_writer_busy_past_its_wait_is_503_and_records_nothing(tmp_path: Path) -> None:
    """The library's one SQLite writer connection held elsewhere for longer than its pool
    waits (5 s): the receipt is 503 ``database_unavailable`` with ``Retry-After`` (it was
    500 ``internal_error``), nothing is recorded, and posted again with its key once the
    writer is free, it is recorded once, as number 1."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/ledger.sqlite3",
        run_projections=False,
        reports_auto=False,
        run_retention=False,
        verify_every_hours=0,
    )
    ledger = Ledger(settings)
    try:
        (register_id,) = world_of(ledger, 1)
        body = {"method": "cash", "lines": [{"revenue_type": "other", "amount_cents": 100}]}
        headers = {"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": "busy-1"}
        path = f"/v1/registers/{register_id}/receipts"
        with TestClient(create_app(settings, ledger=ledger)) as http:
            assert http.get(f"/v1/registers/{register_id}", headers=headers).status_code == 200
            with ledger.recorder.datastore.get_connection(commit=True):  # the one writer
                busy = http.post(path, headers=headers, json=body)
            numbers = [e.number for e in ledger.events.get(register_id) if hasattr(e, "number")]
            again = http.post(path, headers=headers, json=body)
            replayed = http.post(path, headers=headers, json=body)
    finally:
        ledger.close()
    assert (busy.status_code, busy.headers.get("Retry-After")) == (503, "2")
    assert busy.headers["content-type"] == "application/problem+json"
    assert busy.json()["code"] == "database_unavailable"
    assert numbers == []
    assert (again.status_code, again.json()["number"]) == (201, 1)
    assert (replayed.status_code, replayed.json()["number"]) == (201, 1)
