"""When the database goes away: what counts as "unavailable", and how long anything waits.

A request never hangs on a database that does not answer, and never fails with 500 for it:

- **Waits are bounded.** Every pool of PostgreSQL connections (the library's, the write
  locks', a key store's apart) waits ``database_wait_seconds`` for a connection (the
  library's default is 30 s); each attempt to open one gives up after ``connect_timeout``
  (libpq's, 2 s at least); a pool that cannot reconnect tries again at most
  ``RECONNECT_GIVE_UP`` seconds with its backoff, then afresh on the next request (so its
  backoff never grows to minutes during a long outage).
- **Retries are bounded.** The library retries a failed statement 10 times, 0.2 s apart,
  each try waiting for the pool: about 100 s in an outage. The ledger's recorders retry
  within half of ``database_wait_seconds`` only (``retrying``): enough for a connection
  that died while idle, not for an outage.
- **Idle connections are checked** before use (``IdleCheck``: the library's
  ``POSTGRES_PRE_PING``, for connections not used in the last second): after the database
  comes back, no request gets a connection that died with the old server.
- **Failures are classified** (``unavailable``): a lost or refused connection, a pool that
  gave none in time, SQLite's file or writer busy past its wait. The API answers them 503
  ``database_unavailable`` with ``Retry-After`` (``api/problems.py``). A write that failed
  so may or may not have been recorded (the connection may have died during its commit):
  retried with the same ``Idempotency-Key``, it answers the original outcome or runs once.
"""

from __future__ import annotations

import sqlite3
import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError
from psycopg_pool import ConnectionPool

T = TypeVar("T")

RECONNECT_GIVE_UP = 5.0
"""Seconds a pool keeps reconnecting one lost connection (backoff 1 s, 2 s, ...) before
giving it up; the next request that finds no connection starts again at once."""

RETRY_PAUSE = 0.05
"""Seconds between two tries of a statement whose connection failed."""

FAILURES: tuple[type[Exception], ...] = (
    OperationalError,  # the library's (its ConnectionUnavailableError is one)
    InterfaceError,
    psycopg.OperationalError,  # psycopg_pool.PoolTimeout is one
    psycopg.InterfaceError,
    sqlite3.OperationalError,
)
"""The exception classes among which ``unavailable`` picks."""

_SQLITE_BUSY = ("locked", "busy")


def unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be had now (and may be later), rather
    than that the program or the data is wrong: every PostgreSQL operational or interface
    error (a connection refused, lost, timed out; a lock or statement timeout), and from
    SQLite only a file or writer busy past its wait (a missing table is a fault)."""
    if isinstance(error, sqlite3.OperationalError):
        return any(word in str(error).lower() for word in _SQLITE_BUSY)
    if isinstance(error, OperationalError | InterfaceError):
        cause = error.__cause__
        if isinstance(cause, sqlite3.OperationalError):
            return unavailable(cause)
        return True
    return isinstance(error, FAILURES)


CHECK_IDLE = 1.0
"""Seconds since a connection was last handed out past which it is checked before use."""


class IdleCheck:
    """``ConnectionPool.check_connection`` (a round trip) for a connection not handed out in
    the last ``CHECK_IDLE`` seconds; one handed out since is taken as alive. Checking every
    connection at every use cost a fifth of the receipts' throughput over HTTP (issue 17,
    ``python -m bench http``). A connection that died under a request fails its statement,
    which ``retrying`` tries again and after which the pool discards it; one idle in the pool
    while the server was away is checked before it is given again."""

    def __init__(self) -> None:
        self._handed: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()

    def __call__(self, conn: Any) -> None:
        now = time.monotonic()
        last = self._handed.get(conn)
        if last is None or now - last >= CHECK_IDLE:
            ConnectionPool.check_connection(conn)
        self._handed[conn] = now


def tune_pool(pool: ConnectionPool[Any], *, wait: float, connect_timeout: int) -> None:
    """A pool made by the library (before it is opened), given the waits above and the
    check of idle connections (``IdleCheck``, in place of the library's
    ``POSTGRES_PRE_PING``, which checks every connection at every use)."""
    pool.timeout = wait
    pool.reconnect_timeout = RECONNECT_GIVE_UP
    if isinstance(pool.kwargs, dict):
        pool.kwargs["connect_timeout"] = connect_timeout
    pool._check = IdleCheck()  # the pool's ``check`` argument, which the library sets


def retrying(wait: float, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``call`` tried again while its connection fails, within half of ``wait`` (each try
    may itself wait up to ``wait`` for a connection: about 1.5 × ``wait`` at worst)."""
    started = time.monotonic()
    while True:
        try:
            return call(*args, **kwargs)
        except (InterfaceError, OperationalError):
            if time.monotonic() - started + RETRY_PAUSE > wait / 2:
                raise
            time.sleep(RETRY_PAUSE)


def unretried(method: Callable[..., T]) -> Callable[..., T]:
    """A (bound) method of the library's recorders without its retry decorator
    (``functools.wraps`` keeps the undecorated function as ``__wrapped__``)."""
    func = getattr(method, "__wrapped__", None)
    if func is None:
        return method
    owner = getattr(method, "__self__", None)
    bound: Callable[..., T] = func.__get__(owner) if owner is not None else func
    return bound


def probe(ledger: Any, timeout: float) -> int:
    """The ledger's last stream position, asked of the database within about ``timeout``
    seconds (``GET /ready``): a pooled connection waited for that long at most, then the
    statement given what is left (``statement_timeout``). Raises on any failure. SQLite:
    the position as usual (a file does not go away)."""
    if not ledger.settings.is_postgres:
        return int(ledger.last_position())
    recorder = ledger.recorder
    started = time.monotonic()
    with recorder.datastore.pool.connection(timeout=timeout) as conn, conn.transaction():
        left = max(0.05, timeout - (time.monotonic() - started))
        conn.execute(f"SET LOCAL statement_timeout = {int(left * 1000)}")
        row = conn.execute(recorder.max_notification_id_statement).fetchone()
    value = next(iter(row.values()), None) if row else None
    return int(value or 0)
