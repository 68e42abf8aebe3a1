"""The composition root: the one place that picks the adapters for SQLite or PostgreSQL.

The Ledger is the eventsourcing library's application: its recorder, mapper and snapshot
store come from the library's environment keys (``library_env``). Beside them it needs the
write locks (a lock per aggregate in the process; on PostgreSQL an advisory lock across
processes too), the household key store, the technical journal and the personal-data
access log, all in the events' own database (``adapters``). Its clock is a constructor
argument (tests and the generator inject theirs), and so is its ``Writer``: the pipeline by
default, the generator's bulk writer where one process alone writes a new database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hacienda_ledger.application.access_log import AccessLog
from hacienda_ledger.application.journal import Journal
from hacienda_ledger.application.locks import LocalLocks, PostgresLocks
from hacienda_ledger.application.sealing import KeyStore, Sql
from hacienda_ledger.settings import Settings


def library_env(settings: Settings) -> dict[str, str]:
    """The eventsourcing library's configuration (recorder, tables, snapshots)."""
    return settings.eventsourcing_env()


@dataclass(frozen=True)
class Adapters:
    locks: LocalLocks
    keys: KeyStore
    journal: Journal
    access_log: AccessLog


def adapters(settings: Settings, recorder: Any, clock: Callable[[], datetime]) -> Adapters:
    """Locks, key store, technical journal (timed by ``clock``) and access log for the
    database the settings name, sharing the recorder's datastore; their tables are created
    when the settings say so."""
    postgres = settings.is_postgres
    locks = (
        PostgresLocks(settings.postgres_conninfo, linger=settings.lock_linger_ms / 1000)
        if postgres
        else LocalLocks()
    )
    sql = Sql(
        recorder.datastore,
        postgres=postgres,
        conninfo=settings.postgres_conninfo if postgres else "",
        sqlite_path="" if postgres else str(settings.sqlite_path),
    )
    journal = Journal(sql, clock)
    keys, access_log = KeyStore(sql), AccessLog(sql, journal)
    if settings.create_tables:
        keys.create_tables()
        journal.create_tables()
        access_log.create_tables()
    return Adapters(locks, keys, journal, access_log)
