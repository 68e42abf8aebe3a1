"""The PostgreSQL advisory locks that serialise writers of one aggregate across processes:
handed over within the process, kept a short while when idle, released for others."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest

from hacienda_ledger.application.locks import PostgresLocks, advisory_key

pytestmark = pytest.mark.postgres

LINGER = 0.2


@pytest.fixture
def locks(postgres_database: str) -> Iterator[PostgresLocks]:
    held = PostgresLocks(postgres_database, max_size=6, linger=LINGER)
    yield held
    held.close()


@pytest.fixture
def other(postgres_database: str) -> Iterator[psycopg.Connection]:
    """Another session, as another process would have."""
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        yield conn


def free_for_others(conn: psycopg.Connection, key: uuid.UUID) -> bool:
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (advisory_key(key),)).fetchone()
    assert row is not None
    if row[0]:
        conn.execute("SELECT pg_advisory_unlock(%s)", (advisory_key(key),))
    return bool(row[0])


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def test_an_idle_lock_lingers_then_is_released(
    locks: PostgresLocks, other: psycopg.Connection
) -> None:
    key = uuid.uuid4()
    with locks.hold(key):
        assert not locks.continuous(key)  # freshly taken
        assert not free_for_others(other, key)
    assert not free_for_others(other, key)  # kept for the next command here
    with locks.hold(key):
        assert locks.continuous(key)  # nobody else can have written in between
    assert eventually(lambda: free_for_others(other, key))
    with locks.hold(key):
        assert not locks.continuous(key)  # released in between: taken afresh
    assert eventually(lambda: not locks._keys)  # nothing kept for keys no longer used


def test_another_process_gets_an_idle_lock_within_the_linger(
    locks: PostgresLocks, other: psycopg.Connection
) -> None:
    key = uuid.uuid4()
    with locks.hold(key):
        pass
    started = time.monotonic()
    other.execute("SELECT pg_advisory_lock(%s)", (advisory_key(key),))  # waits for the janitor
    waited = time.monotonic() - started
    other.execute("SELECT pg_advisory_unlock(%s)", (advisory_key(key),))
    assert waited < LINGER * 10


def test_at_most_half_the_pool_lingers(locks: PostgresLocks, other: psycopg.Connection) -> None:
    keys = [uuid.uuid4() for _ in range(4)]
    for key in keys:
        with locks.hold(key):
            pass
    lingering = [k for k in keys if not free_for_others(other, k)]
    assert lingering == keys[:3]  # max_size 6: three keys may linger, the fourth is let go


def test_without_linger_a_lock_is_released_with_its_last_holder(
    postgres_database: str, other: psycopg.Connection
) -> None:
    locks = PostgresLocks(postgres_database, linger=0)
    try:
        key = uuid.uuid4()
        with locks.hold(key):
            assert not free_for_others(other, key)
        assert free_for_others(other, key)
        assert not locks._keys
    finally:
        locks.close()
