"""Personal data at rest: one key per household, sealed fields, the access log.

**Keys.** ``household_keys`` (in the events' own database, or in a database of its own:
``Settings.keys_url``) holds one random 256-bit AES key
per household. Erasure destroys the key: the row stays, with ``key`` set to NULL and the time
and author of the destruction, so that "erased" and "never existed" stay distinct.
SQLite overwrites the freed bytes (``PRAGMA secure_delete``) and the write-ahead log is
checkpointed and truncated afterwards; PostgreSQL rewrites the table (``VACUUM FULL``) so that
no dead tuple keeps the old key.

**Sealing.** ``SealingMapper`` is the library's ``Mapper`` with one more step. For an event
class that declares ``personal_fields``, each of those fields is encoded by the transcoder,
encrypted with AES-256-GCM under the household's key (96-bit random nonce; the associated
data binds the ciphertext to its household, version and field, so a sealed value copied to
another row does not open), and stored as ``{"_type_": "sealed", "_data_": <base64>}``. The
other fields of the event stay in clear. Reading reverses it; a field whose key is destroyed
reads as ``ERASED``. Domain code never sees a ciphertext.

The personal-data access log, chained, is in ``access_log.py``.
"""

from __future__ import annotations

import base64
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import Mapper, StoredEvent, Transcoding

from hacienda_ledger import creation_lock
from hacienda_ledger.aggregates.chained import Chained
from hacienda_ledger.aggregates.errors import PersonalDataErased
from hacienda_ledger.aggregates.household import ERASED
from hacienda_ledger.aggregates.stored_form import encoded_otherwise

KEY_BYTES = 32
NONCE_BYTES = 12


@dataclass(frozen=True)
class Sealed:
    """A personal field as stored: nonce followed by the AES-GCM ciphertext and tag."""

    blob: bytes


class SealedAsBase64(Transcoding):
    type = Sealed
    name = "sealed"

    def encode(self, obj: Sealed) -> str:
        return base64.b64encode(obj.blob).decode("ascii")

    def decode(self, data: str) -> Sealed:
        return Sealed(base64.b64decode(data))


class SealBroken(ValueError):
    """A sealed field did not authenticate under its household's key: the row was altered."""


def _aad(originator_id: object, version: int, field: str) -> bytes:
    return f"{originator_id}/{version}/{field}".encode()


def _rowcount(cursor: Any) -> int:
    """Rows changed by the last statement (the library wraps SQLite's cursor)."""
    return int(getattr(cursor, "sqlite_cursor", cursor).rowcount)


class StoredFormMismatch(RuntimeError):
    """A chained event whose stored bytes are not those its hash covers: the domain's
    stored form and the application's transcoder disagree (a bug, never stored)."""


class Sql:
    """The few statements the key store and the access log need, on either backend, in the
    events' own database. PostgreSQL: through the ledger's datastore. An SQLite file: through
    connections of our own (one per thread, autocommit), so that a statement waiting for
    SQLite's file lock never holds the library's single writer connection while a projection
    follower, holding that file lock, waits for a reader connection of the same pool."""

    def __init__(
        self, datastore: Any, *, postgres: bool, conninfo: str = "", sqlite_path: str = ""
    ) -> None:
        self.datastore = datastore
        self.postgres = postgres
        self.conninfo = conninfo
        self.sqlite_path = "" if sqlite_path == ":memory:" else sqlite_path
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def text(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.postgres else statement

    @property
    def blob(self) -> str:
        """The backend's column type for bytes."""
        return "bytea" if self.postgres else "BLOB"

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.sqlite_path, timeout=30, isolation_level=None, check_same_thread=False
            )
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
            with self._lock:
                self._opened.append(conn)
        return conn

    @contextmanager
    def cursor(self, *, commit: bool) -> Iterator[Any]:
        if not self.sqlite_path:
            with self.datastore.transaction(commit=commit) as cursor:
                yield cursor
            return
        conn = self._connection()
        cursor = conn.cursor()
        cursor.execute("BEGIN IMMEDIATE" if commit else "BEGIN")
        try:
            yield cursor
        except BaseException:
            conn.rollback()
            raise
        else:
            conn.commit() if commit else conn.rollback()
        finally:
            cursor.close()

    def create(self, *statements: str) -> None:
        """Tables and indexes, in one transaction holding the schema lock on PostgreSQL."""
        with self.cursor(commit=True) as cursor:
            if self.postgres:
                cursor.execute(creation_lock.LOCK)
            for statement in statements:
                cursor.execute(statement)

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        with self.cursor(commit=True) as cursor:
            cursor.execute(self.text(statement), tuple(params))

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.cursor(commit=False) as cursor:
            cursor.execute(self.text(statement), tuple(params))
            return [dict(row) for row in cursor.fetchall()]

    def checkpoint(self) -> None:
        """SQLite: copy the write-ahead log into the database file and truncate it."""
        if self.sqlite_path:
            self._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            with self.datastore.get_connection(commit=True) as conn, conn.cursor() as raw:
                raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self, *, datastore: bool = False) -> None:
        """Close the connections it opened (and its datastore, when it is its own)."""
        with self._lock:
            for conn in self._opened:
                conn.close()
            self._opened.clear()
        if datastore and self.datastore is not None:
            self.datastore.close()


class SqlTable:
    """A table reached through ``Sql``, made by one statement (``{blob}`` in it: the
    backend's column type for bytes)."""

    create_statement: ClassVar[str]

    def __init__(self, sql: Sql) -> None:
        self.sql = sql

    def create_tables(self) -> None:
        self.sql.create(self.create_statement.format(blob=self.sql.blob))


class KeyStore(SqlTable):
    """One AES key per household, in the events' database or one of its own."""

    create_statement = (
        "CREATE TABLE IF NOT EXISTS household_keys ("
        "household_id TEXT PRIMARY KEY, key {blob}, created_at TEXT NOT NULL, "
        "destroyed_at TEXT, destroyed_by TEXT)"
    )

    def create(self, household_id: UUID, at: datetime) -> None:
        self.sql.execute(
            "INSERT INTO household_keys (household_id, key, created_at) VALUES (?, ?, ?)",
            (str(household_id), AESGCM.generate_key(bit_length=KEY_BYTES * 8), at.isoformat()),
        )

    def forget_unused(self, household_id: UUID) -> None:
        """Drop a key created for a household whose first event was not saved."""
        self.sql.execute("DELETE FROM household_keys WHERE household_id = ?", (str(household_id),))

    def key(self, household_id: object) -> bytes | None:
        rows = self.sql.rows(
            "SELECT key FROM household_keys WHERE household_id = ?", (str(household_id),)
        )
        if not rows or rows[0]["key"] is None:
            return None
        return bytes(rows[0]["key"])

    def destroyed(self, household_id: UUID) -> tuple[str, str] | None:
        """When and by whom the key was destroyed, if it was."""
        rows = self.sql.rows(
            "SELECT destroyed_at, destroyed_by FROM household_keys WHERE household_id = ?",
            (str(household_id),),
        )
        if not rows or rows[0]["destroyed_at"] is None:
            return None
        return rows[0]["destroyed_at"], rows[0]["destroyed_by"]

    def destroy(
        self,
        household_id: UUID,
        *,
        at: datetime,
        actor: str,
        also: Callable[[Any], object] | None = None,
    ) -> bool:
        """Destroy the key (``False`` when it was already gone), then make sure no copy of it
        is left in the database files. ``also`` runs in the destruction's transaction, with
        its cursor, once the key is destroyed (the technical journal's entry)."""
        with self.sql.cursor(commit=True) as cursor:
            if not self.sql.postgres:
                cursor.execute("PRAGMA secure_delete = ON")
            cursor.execute(
                self.sql.text(
                    "UPDATE household_keys SET key = NULL, destroyed_at = ?, destroyed_by = ? "
                    "WHERE household_id = ? AND key IS NOT NULL"
                ),
                (at.isoformat(), actor, str(household_id)),
            )
            destroyed = bool(_rowcount(cursor))
            if destroyed and also is not None:
                also(cursor)
        if destroyed:
            self.scrub()
        return destroyed

    def scrub(self) -> None:
        """Leave no old copy of a destroyed key in the database's files (best effort: a
        busy SQLite reader can delay the checkpoint until the next erasure)."""
        if self.sql.postgres:
            import psycopg

            with psycopg.connect(self.sql.conninfo, autocommit=True) as conn:
                conn.execute("VACUUM FULL household_keys")
            return
        self.sql.checkpoint()


class SealingMapper(Mapper[UUID]):
    """The library's mapper, sealing the personal fields of household events with the
    household's key on the way in, and opening them on the way out."""

    keys: KeyStore | None = None  # set by the Ledger once its datastore exists

    def _store(self) -> KeyStore:
        if self.keys is None:
            raise RuntimeError("the key store is not attached to the mapper")
        return self.keys

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        fields: tuple[str, ...] = getattr(type(domain_event), "personal_fields", ())
        if not fields:
            stored = super().to_stored_event(domain_event)
            if isinstance(domain_event, Chained.Event) and domain_event.hash:
                self._check_link(domain_event, stored)
            return stored
        state = dict(vars(domain_event))
        household_id = state["originator_id"]
        key = self._store().key(household_id)
        if key is None:
            raise PersonalDataErased(f"household {household_id} has no key: nothing is recorded")
        cipher = AESGCM(key)
        for name in fields:
            nonce = os.urandom(NONCE_BYTES)
            plain = self.transcoder.encode(state[name])
            aad = _aad(household_id, state["originator_version"], name)
            state[name] = Sealed(nonce + cipher.encrypt(nonce, plain, aad))
        sealed = object.__new__(type(domain_event))
        object.__setattr__(sealed, "__dict__", state)
        return super().to_stored_event(sealed)

    def _check_link(self, event: Any, stored: StoredEvent) -> None:
        """A chained event is stored only if the row verifies: its hash, computed by the
        domain when it was built, is that of the bytes written here (``stored_form``)."""
        if self.compressor or self.cipher:
            return  # the transcoder's bytes are not the row's: verification decodes it
        if encoded_otherwise(event, stored.state):
            raise StoredFormMismatch(
                f"{stored.topic} {stored.originator_id} version {stored.originator_version}: "
                "the stored bytes are not those its hash was computed on; nothing is recorded"
            )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        event = super().to_domain_event(stored_event)
        fields: tuple[str, ...] = getattr(type(event), "personal_fields", ())
        state = vars(event)
        todo = [name for name in fields if isinstance(state.get(name), Sealed)]
        if not todo:
            return event
        key = self._store().key(stored_event.originator_id)
        for name in todo:
            if key is None:
                state[name] = ERASED
                continue
            blob = state[name].blob
            aad = _aad(stored_event.originator_id, stored_event.originator_version, name)
            try:
                plain = AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
            except InvalidTag:
                raise SealBroken(
                    f"field {name} of household {stored_event.originator_id} version "
                    f"{stored_event.originator_version} does not authenticate"
                ) from None
            state[name] = self.transcoder.decode(plain)
        return event
