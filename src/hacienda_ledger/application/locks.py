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
from dataclasses import dataclass, field
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

    def continuous(self, key: UUID) -> bool:
        """Whether no other process can have written under ``key`` since this process last
        did. Within one process only: never assumed (SQLite may have other writers)."""
        return False

    def close(self) -> None:
        """Nothing to release."""


def advisory_key(key: UUID) -> int:
    """A signed 64-bit advisory-lock key from a UUID."""
    return int.from_bytes(key.bytes[:8], "big", signed=True)


@dataclass
class _Key:
    """One key's lock in this process, and the advisory lock it may be holding."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0  # threads holding or waiting for ``lock`` (under the guard)
    conn: Any = None  # the pooled connection holding the advisory lock, when held
    handoffs: int = 0  # holders served since the advisory lock was taken


class PostgresLocks(LocalLocks):
    """The process lock, then ``pg_advisory_lock`` on a connection of a small pool.

    When threads of this process queue for one key, the advisory lock is handed from one
    to the next without being released (up to ``max_handoffs`` holders, then released so
    that other processes get their turn). The next holder then knows that no other process
    can have written in between (``continuous``), which spares it re-reading the aggregate,
    and nobody pays the lock and unlock round trips. Every writer of this database takes the
    advisory lock first, so the version check on save stays a safety net only.
    """

    def __init__(self, conninfo: str, max_size: int = 16, max_handoffs: int = 64) -> None:
        super().__init__()
        self.max_handoffs = max_handoffs
        self._keys: dict[UUID, _Key] = {}
        self._pool = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=max_size,
            open=True,
            kwargs={"autocommit": True},
            timeout=30,
        )

    def _enter(self, key: UUID) -> _Key:
        with self._guard:
            state = self._keys.get(key)
            if state is None:
                state = self._keys[key] = _Key()
            state.users += 1
            return state

    def _leave(self, state: _Key) -> bool:
        """One user fewer; whether none is left."""
        with self._guard:
            state.users -= 1
            return state.users == 0

    @contextmanager
    def hold(self, key: UUID) -> Iterator[None]:
        state = self._enter(key)
        left = False
        try:
            with state.lock:
                if state.conn is None:
                    self._acquire(state, key)
                else:
                    state.handoffs += 1
                try:
                    yield
                finally:
                    left = True
                    if self._leave(state) or state.handoffs >= self.max_handoffs:
                        self._release(state, key)
        finally:
            if not left:
                self._leave(state)

    def continuous(self, key: UUID) -> bool:
        """Whether the advisory lock on ``key`` (held by the caller) was handed over from the
        previous holder in this process without being released in between."""
        state = self._keys.get(key)
        return state is not None and state.conn is not None and state.handoffs > 0

    def _acquire(self, state: _Key, key: UUID) -> None:
        try:
            conn = self._pool.getconn()
        except PoolTimeout:
            raise ConcurrencyConflict("too many writers: no lock connection within 30 s") from None
        try:
            conn.execute("SELECT pg_advisory_lock(%s)", (advisory_key(key),))
        except BaseException:
            self._pool.putconn(conn)
            raise
        state.conn, state.handoffs = conn, 0

    def _release(self, state: _Key, key: UUID) -> None:
        conn, state.conn, state.handoffs = state.conn, None, 0
        try:
            conn.execute("SELECT pg_advisory_unlock(%s)", (advisory_key(key),))
        finally:
            # A connection that failed is discarded by the pool (its session locks end
            # with it).
            self._pool.putconn(conn)

    def close(self) -> None:
        self._pool.close()
