"""Serialising writes to one aggregate before the optimistic version check.

Optimistic retries alone collapse under contention on one register (EVENTSOURCING-FACTS.md),
so a command first takes the aggregate's lock: a ``threading.Lock`` per aggregate within the
process and, on PostgreSQL, a session advisory lock across processes. The version check on
save stays as the safety net.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any
from uuid import UUID

from psycopg_pool import ConnectionPool, PoolTimeout

from hacienda_ledger.aggregates.errors import ConcurrencyConflict


class LocalLocks:
    """One lock per key, within this process."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[UUID, threading.Lock] = {}

    def _lock(self, key: UUID) -> threading.Lock:
        with self._guard:
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = threading.Lock()
            return lock

    @contextmanager
    def hold(self, key: UUID) -> Iterator[None]:
        with self._lock(key):
            yield

    @contextmanager
    def hold_all(self, keys: Sequence[UUID]) -> Iterator[None]:
        """Several locks, always taken in the same (sorted) order: no deadlock."""
        with ExitStack() as stack:
            for key in sorted(set(keys)):
                stack.enter_context(self.hold(key))
            yield

    def close(self) -> None:
        """Nothing to release."""


def advisory_key(key: UUID) -> int:
    """A signed 64-bit advisory-lock key from a UUID."""
    return int.from_bytes(key.bytes[:8], "big", signed=True)


class PostgresLocks(LocalLocks):
    """The process lock, then ``pg_advisory_lock`` on a connection of a small pool."""

    def __init__(self, conninfo: str, max_size: int = 16) -> None:
        super().__init__()
        self._pool = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=max_size,
            open=True,
            kwargs={"autocommit": True},
            timeout=30,
        )

    @contextmanager
    def hold(self, key: UUID) -> Iterator[None]:
        with super().hold(key), self._connection() as conn:
            k = advisory_key(key)
            conn.execute("SELECT pg_advisory_lock(%s)", (k,))
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (k,))

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        try:
            with self._pool.connection() as conn:
                yield conn
        except PoolTimeout:
            raise ConcurrencyConflict("too many writers: no lock connection within 30 s") from None

    def close(self) -> None:
        self._pool.close()
