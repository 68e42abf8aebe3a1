"""The ledger's PostgreSQL recorder (application/recorders.py): a save's events inserted by
one function call, with the library's guarantees — the same rows as the library's own path,
a conflict refused as a whole, commit order equal to notification-id order (a reader
tailing the stream never passes over an event written later), and the library's path when
the function is missing."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder

from hacienda_ledger.application import Ledger
from hacienda_ledger.application.recorders import FUNCTION, LedgerRecorder
from hacienda_ledger.settings import Settings
from tests.conftest import _truncate_postgres

pytestmark = pytest.mark.postgres


@pytest.fixture
def ledger(postgres_database: str) -> Iterator[Ledger]:
    _truncate_postgres(postgres_database)
    app = Ledger(Settings(database_url=postgres_database))
    yield app
    app.close()


def events(n: int, version: int = 1, size: int = 300) -> list[StoredEvent]:
    return [
        StoredEvent(uuid.uuid4(), version, "tests:Event", bytes([65 + i % 26]) * size)
        for i in range(n)
    ]


def rows(ledger: Ledger) -> list[tuple[object, ...]]:
    return [
        (n.id, n.originator_id, n.originator_version, n.topic, n.state)
        for n in ledger.recorder.select_notifications(start=1, limit=10_000)
    ]


def test_the_function_stores_what_the_librarys_path_stores(ledger: Ledger) -> None:
    recorder = ledger.recorder
    assert isinstance(recorder, LedgerRecorder) and recorder._has_function()
    ours, theirs = events(3), events(3)
    ids = recorder.insert_events(ours)
    library_ids = PostgresApplicationRecorder.insert_events(recorder, theirs)
    assert ids is not None and library_ids is not None
    assert list(ids) == sorted(ids) and min(library_ids) > max(ids)
    stored = rows(ledger)
    assert [r[0] for r in stored] == [*ids, *library_ids]
    assert [r[1:] for r in stored] == [
        (e.originator_id, e.originator_version, e.topic, e.state) for e in ours + theirs
    ]


def test_a_conflict_is_an_integrity_error_and_stores_nothing(ledger: Ledger) -> None:
    first = events(1)
    ledger.recorder.insert_events(first)
    clash = [*events(2), StoredEvent(first[0].originator_id, 1, "tests:Event", b"other")]
    with pytest.raises(IntegrityError):
        ledger.recorder.insert_events(clash)
    assert [r[1] for r in rows(ledger)] == [first[0].originator_id]


def test_without_the_function_the_librarys_path_is_taken(
    ledger: Ledger, postgres_database: str
) -> None:
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute(f"DROP FUNCTION {FUNCTION}")
    try:
        fresh = Ledger(Settings(database_url=postgres_database, create_tables=False))
        try:
            assert isinstance(fresh.recorder, LedgerRecorder)
            assert not fresh.recorder._has_function()
            ids = fresh.recorder.insert_events(events(2))
            assert ids is not None and len(ids) == 2
        finally:
            fresh.close()
    finally:
        Ledger(Settings(database_url=postgres_database)).close()  # creates it again
    assert ledger.recorder._has_function()


def test_a_reader_tailing_the_stream_never_passes_over_an_event(ledger: Ledger) -> None:
    """Four writers save concurrently while a reader tails by position, as the projections
    do: every event written is read, none skipped because a lower position committed after
    a higher one had been read."""
    done = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for _ in range(60):
                ledger.recorder.insert_events(events(2, size=50))
        except BaseException as exc:  # reported below
            errors.append(exc)

    def tail() -> None:
        last = 0
        while True:
            finished = done.is_set()
            batch = ledger.recorder.select_notifications(start=last + 1, limit=1000)
            seen.extend(n.id for n in batch)
            if batch:
                last = batch[-1].id
            elif finished:
                return

    writers = [threading.Thread(target=write) for _ in range(4)]
    reader = threading.Thread(target=tail)
    reader.start()
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    reader.join(timeout=30)
    assert errors == []
    assert seen == [r[0] for r in rows(ledger)]
    assert len(seen) == 4 * 60 * 2


def test_processes_opening_the_ledger_at_once_all_succeed(postgres_database: str) -> None:
    """Six ledgers opened at the same instant, on an empty database and then on existing
    tables, all open: table creation takes the schema lock (``hacienda_ledger.creation_lock``).
    Without it the library's CREATE statements and ours raced — "tuple concurrently updated",
    "duplicate key … pg_type_typname_nsp_index" — in about half of the openings here."""
    parts = urlsplit(postgres_database)
    name = f"hacienda_open_{uuid.uuid4().hex[:8]}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(parts._replace(path=f"/{name}"))
    failures: list[BaseException] = []
    try:
        for _ in range(4):
            barrier = threading.Barrier(6)

            def open_ledger(barrier: threading.Barrier = barrier) -> None:
                barrier.wait()
                try:
                    Ledger(Settings(database_url=url)).close()
                except BaseException as exc:  # reported below
                    failures.append(exc)

            threads = [threading.Thread(target=open_ledger) for _ in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        assert failures == []
        with psycopg.connect(url) as conn:
            tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables").fetchall()}
        assert {"ledger_events", "ledger_snapshots", "household_keys"} <= tables
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
