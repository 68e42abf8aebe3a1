"""The composition root: the one place that picks the adapters for SQLite or PostgreSQL.

The Ledger is the eventsourcing library's application: its recorder, mapper and snapshot
store come from the library's environment keys (``library_env``). Beside them it needs the
write locks (a lock per aggregate in the process; on PostgreSQL an advisory lock across
processes too), the household key store, the personal-data access log and the tokens' last
uses, all in the events' own database (``adapters``). Its clock is a constructor argument
(tests and the generator inject theirs), and so is its ``Writer``: the pipeline by default,
the generator's bulk writer where one process alone writes a new database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hacienda_ledger.application.locks import LocalLocks, PostgresLocks
from hacienda_ledger.application.sealing import AccessLog, KeyStore, Sql
from hacienda_ledger.application.tokens import TokenUses
from hacienda_ledger.settings import Settings


def library_env(settings: Settings) -> dict[str, str]:
    """The eventsourcing library's configuration (recorder, tables, snapshots)."""
    return settings.eventsourcing_env()


@dataclass(frozen=True)
class Adapters:
    locks: LocalLocks
    keys: KeyStore
    access_log: AccessLog
    token_uses: TokenUses


def adapters(settings: Settings, recorder: Any) -> Adapters:
    """Locks, key store, access log and tokens' last uses for the database the settings
    name, sharing the recorder's datastore; their tables are created when the settings say
    so."""
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
    keys, access_log, token_uses = KeyStore(sql), AccessLog(sql), TokenUses(sql)
    if settings.create_tables:
        keys.create_tables()
        access_log.create_tables()
        token_uses.create_tables()
    return Adapters(locks, keys, access_log, token_uses)
