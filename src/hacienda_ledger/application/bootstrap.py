"""The composition root: the one place that picks the adapters for SQLite or PostgreSQL.

The Ledger is the eventsourcing library's application: its recorder, mapper and snapshot
store come from the library's environment keys (``library_env``). Beside them it needs the
write locks (a lock per aggregate in the process; on PostgreSQL an advisory lock across
processes too), the household key store, the technical journal, the personal-data access
log and the tokens' last uses (``adapters``): the journal, the access log and the last uses
in the events' own database, the keys there too unless ``keys_url`` names a database of
their own (an SQLite file or a PostgreSQL database). Its clock is a constructor argument
(tests and the generator inject theirs), and so is its ``Writer``: the pipeline by default,
the generator's bulk writer where one process alone writes a new database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.postgres import PostgresDatastore

from hacienda_ledger.application import outage
from hacienda_ledger.application.access_log import AccessLog
from hacienda_ledger.application.documents import DocumentContents
from hacienda_ledger.application.journal import Journal
from hacienda_ledger.application.locks import LocalLocks, PostgresLocks
from hacienda_ledger.application.sealing import KeyStore, Sql
from hacienda_ledger.application.tokens import TokenUses
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
    token_uses: TokenUses
    documents: DocumentContents


def sql_for(settings: Settings, datastore: Any) -> Sql:
    """Statements on the database ``settings`` names (through ``datastore`` on PostgreSQL)."""
    postgres = settings.is_postgres
    if not postgres and str(settings.sqlite_path) != ":memory:" and settings.create_tables:
        settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    return Sql(
        datastore,
        postgres=postgres,
        conninfo=settings.postgres_conninfo if postgres else "",
        sqlite_path="" if postgres else str(settings.sqlite_path),
    )


def keys_datastore(settings: Settings) -> Any:
    """A datastore of its own for a PostgreSQL key store apart (a small pool); none for an
    SQLite file, which ``Sql`` opens itself."""
    if not settings.is_postgres:
        return None
    env = settings.eventsourcing_env()
    datastore = PostgresDatastore(
        env["POSTGRES_DBNAME"],
        env["POSTGRES_HOST"],
        env["POSTGRES_PORT"],
        env["POSTGRES_USER"],
        env["POSTGRES_PASSWORD"],
        pool_size=2,
        max_overflow=2,
        pre_ping=True,
    )
    wait, timeout = settings.database_wait_seconds, settings.connect_timeout_seconds
    outage.tune_pool(datastore.pool, wait=wait, connect_timeout=timeout)
    return datastore


def adapters(settings: Settings, recorder: Any, clock: Callable[[], datetime]) -> Adapters:
    """Locks, key store, technical journal (timed by ``clock``), access log, tokens' last
    uses and documents' bytes for the database the settings name, sharing the recorder's
    datastore (the key store: a database of its own when ``keys_url`` says so); their tables
    are created when the settings say so."""
    postgres = settings.is_postgres
    locks = (
        PostgresLocks(
            settings.postgres_conninfo,
            linger=settings.lock_linger_ms / 1000,
            wait=settings.database_wait_seconds,
        )
        if postgres
        else LocalLocks()
    )
    sql = sql_for(settings, recorder.datastore)
    apart = settings.keys_database()
    keys_sql = sql if apart is settings else sql_for(apart, keys_datastore(apart))
    journal = Journal(sql, clock)
    keys, access_log = KeyStore(keys_sql), AccessLog(sql, journal)
    token_uses = TokenUses(sql)
    documents = DocumentContents(sql)
    if settings.create_tables:
        keys.create_tables()
        journal.create_tables()
        access_log.create_tables()
        token_uses.create_tables()
        documents.create_tables()
    return Adapters(locks, keys, journal, access_log, token_uses, documents)
