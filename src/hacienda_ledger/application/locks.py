"""Serialising writes to one aggregate before the optimistic version check.

Optimistic retries alone collapse under contention on one register (EVENTSOURCING-FACTS.md),
so a command first takes the aggregate's lock: a ``threading.Lock`` per aggregate within the
process and, on PostgreSQL, a session advisory lock across processes. The version check on
save stays as the safety net.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg
from psycopg_pool import ConnectionPool

from hacienda_ledger.application.outage import RECONNECT_GIVE_UP, IdleCheck


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
    idle_since: float = 0.0  # when the last holder left, while the lock lingers


class PostgresLocks(LocalLocks):
    """The process lock, then ``pg_advisory_lock`` on a connection of a small pool.

    The advisory lock is handed from one holder of this process to the next without being
    released: to threads queued for the key, and to the next command within ``linger``
    seconds of the last one (a janitor releases locks idle longer). After ``max_handoffs``
    holders it is released anyway, so that other processes get their turn (they wait at
    most ``linger`` for an idle key). The next holder then knows that no other process can
    have written in between (``continuous``), which spares it re-reading the aggregate, and
    nobody pays the lock and unlock round trips. Every writer of this database takes the
    advisory lock first, so the version check on save stays a safety net only.
    """

    def __init__(
        self,
        conninfo: str,
        max_size: int = 16,
        max_handoffs: int = 64,
        linger: float = 0.05,
        wait: float = 30.0,
    ) -> None:
        super().__init__()
        self.max_handoffs = max_handoffs
        self.linger = linger
        self._keys: dict[UUID, _Key] = {}
        self._lingering = 0  # keys idle with their advisory lock held (under the guard)
        self._max_lingering = max(0, max_size // 2)
        self._stop = threading.Event()
        self._janitor: threading.Thread | None = None
        self._pool = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=max_size,
            open=True,
            kwargs={"autocommit": True},
            timeout=wait,  # then PoolTimeout: 503 database_unavailable (application/outage.py)
            reconnect_timeout=RECONNECT_GIVE_UP,
            check=IdleCheck(),  # none dead after the database came back
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
        left = last = False
        try:
            with state.lock:
                if state.conn is None:
                    self._acquire(state, key)
                else:
                    if state.idle_since:  # picked up while lingering
                        with self._guard:
                            self._lingering -= 1
                    state.handoffs += 1
                    state.idle_since = 0.0
                try:
                    yield
                finally:
                    left = True
                    last = self._leave(state)
                    if state.handoffs >= self.max_handoffs or (last and not self._linger(state)):
                        self._release(state, key)
            if last:
                self._forget(key, state)
        finally:
            if not left:
                self._leave(state)
                self._forget(key, state)

    def _linger(self, state: _Key) -> bool:
        """Keep the idle key's advisory lock for a while, if lingering is on and room is
        left (each lingering key holds a connection of the pool)."""
        if self.linger <= 0:
            return False
        with self._guard:
            if self._lingering >= self._max_lingering:
                return False
            self._lingering += 1
        state.idle_since = time.monotonic()
        if self._janitor is None:
            self._janitor = threading.Thread(target=self._sweep, name="lock-janitor", daemon=True)
            self._janitor.start()
        return True

    def _forget(self, key: UUID, state: _Key) -> None:
        """Drop an unused key holding nothing (the table of keys would grow forever)."""
        with self._guard:
            if state.users == 0 and state.conn is None and self._keys.get(key) is state:
                del self._keys[key]

    def _sweep(self) -> None:
        """Release advisory locks idle for ``linger`` seconds."""
        while not self._stop.wait(self.linger / 2):
            now = time.monotonic()
            with self._guard:
                idle = [
                    (k, st)
                    for k, st in self._keys.items()
                    if st.users == 0 and st.conn is not None and st.idle_since
                ]
            for key, state in idle:
                if now - state.idle_since < self.linger or not state.lock.acquire(blocking=False):
                    continue
                try:
                    if state.users == 0 and state.conn is not None and state.idle_since:
                        with self._guard:
                            self._lingering -= 1
                        self._release(state, key)
                finally:
                    state.lock.release()
                self._forget(key, state)

    def continuous(self, key: UUID) -> bool:
        """Whether the advisory lock on ``key`` (held by the caller) was handed over from the
        previous holder in this process without being released in between."""
        state = self._keys.get(key)
        return state is not None and state.conn is not None and state.handoffs > 0

    def _acquire(self, state: _Key, key: UUID) -> None:
        conn = self._pool.getconn()  # PoolTimeout: the database is down, or too many writers
        try:
            conn.execute("SELECT pg_advisory_lock(%s)", (advisory_key(key),))
        except BaseException:
            self._pool.putconn(conn)
            raise
        state.conn, state.handoffs = conn, 0

    def _release(self, state: _Key, key: UUID) -> None:
        conn, state.conn, state.handoffs, state.idle_since = state.conn, None, 0, 0.0
        try:
            conn.execute("SELECT pg_advisory_unlock(%s)", (advisory_key(key),))
        except psycopg.Error:
            pass  # a lost connection: its session, and the lock with it, is gone already
        finally:
            # A connection that failed is discarded by the pool (its session locks end
            # with it).
            self._pool.putconn(conn)

    def close(self) -> None:
        self._stop.set()
        if self._janitor is not None:
            self._janitor.join(timeout=5)
        with self._guard:
            idle = [(k, st) for k, st in self._keys.items() if st.conn is not None]
        for key, state in idle:
            with state.lock:
                if state.conn is not None:
                    self._release(state, key)
        self._pool.close()
