"""The ledger's recorders: PostgreSQL events inserted in one round trip, and on both
backends the technical journal's entries about a save written in the save's transaction.

The library's recorder stores a save's events in a pipeline: ``SET LOCAL lock_timeout``,
``LOCK TABLE … IN EXCLUSIVE MODE``, ``NOTIFY``, ``INSERT … FROM unnest(<composite>[])
RETURNING notification_id``, a sync (so that a conflict surfaces as such), then ``COMMIT``:
two round trips, and psycopg's pipeline machinery in Python. Measured here (issue 6): about
1.0–1.5 ms for a save of two events, where the same statements cost about 0.5 ms. The saves
of one register follow one another (its writes are serialised, and the table lock serialises
every save of the ledger), so that time is the write path's own limit.

``LedgerRecorder`` runs the same statements in one PL/pgSQL function, called with four
arrays in one statement and one round trip, in autocommit: the statement is its own
transaction, so the EXCLUSIVE lock is held until it commits and commit order is still
notification-id order (what a tailing reader relies on to never pass over an event). A
version conflict raises the library's ``IntegrityError``, as before (unique violation). The
library's path stays for what this one does not cover: saves with a tracking record (process
applications; the ledger has none), text originator ids, and a database whose function is
missing (created before it, and opened with ``CREATE_TABLE=n``).

**Outages.** The library retries a statement whose connection failed 10 times, 0.2 s
apart, each try waiting for its pool: a request then hung for a minute and more while the
server was away. ``BoundedRetries`` tries again within half of the pool's wait only, and
``LedgerFactory`` gives the pool the ledger's waits and its check of idle connections
(``application/outage.py``).

The function is created with the tables (``create_table``), only if absent (``CREATE OR
REPLACE`` on an existing function updates its row, and two at once fail with "tuple
concurrently updated"). A change to its body takes a new name (``_v2``).

Several processes opening the ledger at once each create the tables, and the library's
statements race the same way (its own ``CREATE OR REPLACE FUNCTION es_insert_events_uuid``):
every recorder of ``LedgerFactory`` creates its tables, this function included, holding the
schema lock (``hacienda_ledger.creation_lock``).

**The journal's entries.** A save whose events the technical journal records (a user, a
seal, an erasure: ``journalling.Journalling.for_events``) passes ``journal``, a function of a
cursor, with its events (``Ledger._record``): it runs in the save's transaction once the
events are inserted, so the entries commit with them or not at all. On PostgreSQL such a
save runs the library's statements (lock the events table, notify, insert) in a transaction
of its own, then the journal's append (which takes the journal's advisory lock: always after
the events table's, never before, so no deadlock); on SQLite, in the library's transaction,
whose inserts took the database's write lock before the journal's head is read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
    PostgresRecorder,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteFactory
from eventsourcing.utils import Environment
from psycopg.sql import SQL, Identifier, Literal

from hacienda_ledger import creation_lock
from hacienda_ledger.application import outage

T = TypeVar("T")

FUNCTION = "hacienda_insert_events_v1"


class SerialisedSchema(PostgresRecorder):
    """Tables created by one process at a time: a session advisory lock, held on a connection
    of its own while the library's statements run on others."""

    def create_table(self) -> None:
        with self.datastore.get_connection() as conn:
            conn.execute(creation_lock.LOCK_SESSION)
            try:
                super().create_table()
            finally:
                conn.execute(creation_lock.UNLOCK_SESSION)


class BoundedRetries(PostgresAggregateRecorder):
    """Statements whose connection fails tried again briefly (``outage.retrying``), not the
    library's 10 times 0.2 s apart, each waiting for the pool."""

    def _retrying(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return outage.retrying(self.datastore.pool.timeout, call, *args, **kwargs)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids: Sequence[int] | None = self._retrying(
            outage.unretried(super().insert_events), stored_events, **kwargs
        )
        return ids

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        method = outage.unretried(super().select_events)
        found: Sequence[StoredEvent] = self._retrying(
            method, originator_id, gt=gt, lte=lte, desc=desc, limit=limit
        )
        return found


class SnapshotRecorder(SerialisedSchema, BoundedRetries):
    """The library's aggregate recorder (snapshots), its table created under the lock."""


class LedgerRecorder(SerialisedSchema, BoundedRetries, PostgresApplicationRecorder):
    """The library's application recorder; events inserted by one function call."""

    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        schema = Identifier(datastore.schema)
        self._function = SQL("{schema}.{function}").format(
            schema=schema, function=Identifier(FUNCTION)
        )
        self._signature = f"{datastore.schema}.{FUNCTION}(uuid[],bigint[],text[],bytea[])"
        self._call = SQL("SELECT * FROM {function}(%s, %s, %s, %s)").format(function=self._function)
        self._ready: bool | None = None
        create = SQL(
            "CREATE FUNCTION {function}"
            "(ids uuid[], versions bigint[], topics text[], states bytea[]) "
            "RETURNS SETOF bigint LANGUAGE plpgsql AS $body$ "
            "BEGIN "
            "SET LOCAL lock_timeout = {lock_timeout}; "
            "LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
            "NOTIFY {channel}; "
            "RETURN QUERY INSERT INTO {schema}.{table} "
            "(originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(ids, versions, topics, states) RETURNING notification_id; "
            "END $body$"
        ).format(
            function=self._function,
            lock_timeout=Literal(f"{datastore.lock_timeout}s"),
            schema=schema,
            table=Identifier(self.events_table_name),
            channel=Identifier(self.channel_name),
        )
        if datastore.originator_id_type == "uuid":
            self.sql_create_statements.append(
                SQL(
                    "DO $do$ BEGIN "
                    "IF to_regprocedure({signature}) IS NULL THEN EXECUTE {create}; END IF; "
                    "END $do$"
                ).format(
                    signature=Literal(self._signature),
                    create=Literal(create.as_string()),
                )
            )

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        journal: Callable[[Any], object] | None = kwargs.pop("journal", None)
        if journal is not None and stored_events and kwargs.get("tracking") is None:
            ids: Sequence[int] | None = self._insert_journalled(stored_events, journal)
        elif not stored_events or kwargs.get("tracking") is not None or not self._has_function():
            ids = super().insert_events(stored_events, **kwargs)
        else:
            ids = self._retrying(self._insert_by_function, stored_events)
        return ids

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        method = outage.unretried(super().select_notifications)
        return self._retrying(
            method, start, limit, stop, topics, inclusive_of_start=inclusive_of_start
        )

    def max_notification_id(self) -> int | None:
        found: int | None = self._retrying(outage.unretried(super().max_notification_id))
        return found

    def _insert_by_function(self, stored_events: Sequence[StoredEvent]) -> list[int]:
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                self._call,
                (
                    [e.originator_id for e in stored_events],
                    [e.originator_version for e in stored_events],
                    [e.topic for e in stored_events],
                    [e.state for e in stored_events],
                ),
                prepare=True,
            ).fetchall()
        return [int(row[FUNCTION]) for row in rows]

    def _insert_journalled(
        self, stored_events: Sequence[StoredEvent], journal: Callable[[Any], object]
    ) -> Sequence[int] | None:
        """The library's statements and the journal's entries, in one transaction."""
        with self.datastore.transaction(commit=True) as curs:
            self._insert_stored_events(curs, stored_events)
            ids = self._fetch_ids_after_insert_events(curs, stored_events)
            journal(curs)
        return ids

    def _has_function(self) -> bool:
        if self._ready is None:
            if self.datastore.originator_id_type != "uuid":
                self._ready = False
            else:
                with self.datastore.get_connection() as conn:
                    row = conn.execute(
                        "SELECT to_regprocedure(%s) IS NOT NULL AS found", (self._signature,)
                    ).fetchone()
                self._ready = bool(row and row["found"])
        return self._ready


class LedgerFactory(PostgresFactory):
    """The library's PostgreSQL factory with the recorders above (``PERSISTENCE_MODULE``),
    its pool given the ledger's waits (``outage.tune_pool``: ``DATABASE_WAIT`` seconds for a
    connection, ``LIBPQ_CONNECT_TIMEOUT`` to open one)."""

    aggregate_recorder_class = SnapshotRecorder
    application_recorder_class = LedgerRecorder

    def __init__(self, env: Environment) -> None:
        super().__init__(env)
        outage.tune_pool(
            self.datastore.pool,
            wait=float(self.env.get("DATABASE_WAIT") or self.datastore.pool.timeout),
            connect_timeout=int(self.env.get("LIBPQ_CONNECT_TIMEOUT") or 2),
        )


class SQLiteLedgerRecorder(SQLiteApplicationRecorder):
    """The library's SQLite recorder; the journal's entries about a save in its transaction."""

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        journal = kwargs.get("journal")
        if journal is not None and stored_events:
            journal(c)
        return ids


class SQLiteLedgerFactory(SQLiteFactory):
    """The library's SQLite factory with the recorder above (``PERSISTENCE_MODULE``)."""

    application_recorder_class = SQLiteLedgerRecorder
