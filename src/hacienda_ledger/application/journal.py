"""The technical event journal (JET, *journal des événements techniques*): one append-only,
hash-chained sequence of what happened to the system rather than to the ledger's facts.

An entry is ``{sequence, kind, actor, subjects, collectivite_id, detail, at, version,
prev_hash, hash}``: its number (1, 2, 3… with no gap), a ``Kind`` of the closed list below,
who acted (a user id, or ``system``/``cli``/``bootstrap``/``retention`` for the service's
own acts), the ids it concerns (``{"aire": id, "household": id, …}``), the collectivité those
belong to (None: operator-wide, for admins only), a small detail of counts, names and codes,
the server's clock time (UTC) and the software version. **Never** a token, a key, a name or
any other personal datum: ids, kinds and counts only (``_check_detail``).

``hash`` is ``integrity.event_hash`` of the entry's fields without ``hash`` (the same
canonical serialisation as the ledger's events, under the topic ``TOPIC``); ``prev_hash`` is
the hash of the entry before (``GENESIS`` for the first). ``integrity.verify_chain`` checks
it: an entry edited (``hash_mismatch``), deleted or inserted (``version_gap``,
``broken_link``). The tail is anchored outside the table: each month seal records the
journal's head (``heads``) in its signed attestation (``Audit.verify_seals``).

**Linear under concurrency.** Appending reads the head and writes after it inside one
transaction that holds the journal's lock: ``pg_advisory_xact_lock`` on PostgreSQL; on
SQLite the database's one write lock (the transaction has written before it reads the head,
or began ``IMMEDIATE``). ``sequence`` is the primary key, so a fork could not even be
stored. An entry about a change is appended in the change's own transaction (``append``
with the caller's cursor: the recorders pass it for a save's events, ``KeyStore.destroy``
for a key); an entry about a read or a refusal is appended on its own (``record``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from hacienda_ledger import __version__
from hacienda_ledger.aggregates.integrity import (
    GENESIS,
    ChainLink,
    VerificationReport,
    event_hash,
    verify_chain,
)
from hacienda_ledger.aggregates.seal import ChainHead
from hacienda_ledger.aggregates.user import NAMESPACE
from hacienda_ledger.application.sealing import Sql

TOPIC = "hacienda_ledger:technical_journal"
#: The journal's id in a seal's heads (``ChainHead.aggregate_id``).
JOURNAL_ID = uuid5(NAMESPACE, "technical_journal")
LOCK = "SELECT pg_advisory_xact_lock(hashtext('hacienda_ledger_technical_journal'))"
SYSTEM = "system"


class Kind(StrEnum):
    """What an entry records: a closed list (a new kind is a change of this module)."""

    LOGIN_REFUSED = "login_refused"  # refusals coalesced: counts by reason, never a token
    USER_CREATED = "user_created"
    USER_ROLE_CHANGED = "user_role_changed"  # no command changes a role yet
    USER_SCOPE_CHANGED = "user_scope_changed"  # no command changes a scope yet
    TOKEN_CREATED = "token_created"
    TOKEN_REVOKED = "token_revoked"  # for revocation and rotation (``record``)
    TOKEN_ROTATED = "token_rotated"
    EXPORT = "export"  # a table, a journal or a household's data exported
    DOWNLOAD = "download"  # a stored report or a printed document
    ERASURE = "erasure"  # a household's personal data erased
    KEY_CREATED = "key_created"  # a household's key taken into use (its first event)
    KEY_DESTROYED = "key_destroyed"
    MONTH_SEALED = "month_sealed"
    REBUILD = "rebuild"  # projections rebuilt or checked (``hacienda-ledger rebuild``)
    SERVER_STARTED = "server_started"  # ``hacienda-ledger serve``
    ACCESS_LOG_PURGED = "access_log_purged"  # retention: the access log's new start
    DOCUMENTS_SWEPT = "documents_swept"  # retention: bytes no document names, deleted


#: What a detail may hold: plain scalars, and lists of them (no nested objects).
Scalar = str | int | bool | None
_MAX_DETAIL = 2000  # characters of JSON: a detail is small


@dataclass(frozen=True)
class Pending:
    """An entry about to be appended (its number and links come with the append)."""

    kind: Kind
    actor: str
    subjects: Mapping[str, str | list[str]]
    collectivite_id: str | None
    detail: Mapping[str, Any]
    at: str


@dataclass(frozen=True)
class Entry:
    """One stored entry of the journal."""

    sequence: int
    kind: str
    actor: str
    subjects: dict[str, Any]
    collectivite_id: str | None
    detail: dict[str, Any]
    at: str
    version: str
    prev_hash: str
    hash: str

    def fields(self) -> dict[str, Any]:
        """What the hash covers: every field but ``hash``."""
        return {
            "sequence": self.sequence,
            "kind": self.kind,
            "actor": self.actor,
            "subjects": self.subjects,
            "collectivite_id": self.collectivite_id,
            "detail": self.detail,
            "at": self.at,
            "version": self.version,
            "prev_hash": self.prev_hash,
        }


def last_link(sql: Sql, table: str, number: str, chain_id: UUID, kind: str) -> ChainHead | None:
    """A chained table's last row as a seal records it (None before the first)."""
    rows = sql.rows(
        f"SELECT {number} AS n, hash FROM {table} WHERE {number} IS NOT NULL "
        f"ORDER BY {number} DESC LIMIT 1"
    )
    return ChainHead(chain_id, kind, int(rows[0]["n"]), rows[0]["hash"]) if rows else None


def link_at(sql: Sql, table: str, number: str, n: int) -> str | None:
    """The hash of a chained table's row ``n`` (None: no such row)."""
    rows = sql.rows(f"SELECT hash FROM {table} WHERE {number} = ?", (n,))
    return str(rows[0]["hash"]) if rows else None


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _check_detail(detail: Mapping[str, Any]) -> dict[str, Any]:
    """A detail of scalars and lists of scalars, small: nothing else is ever stored."""
    for key, value in detail.items():
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(v, Scalar) and not isinstance(v, float) for v in items):
            raise TypeError(f"journal detail {key!r} holds something other than scalars")
    if len(_text(dict(detail))) > _MAX_DETAIL:
        raise ValueError("a journal detail is small")
    return dict(detail)


def ids(values: Mapping[str, UUID | str | Iterable[UUID] | None]) -> dict[str, str | list[str]]:
    """Subjects as stored: each id as text, lists of ids as lists, None left out."""
    found: dict[str, str | list[str]] = {}
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, UUID | str):
            found[name] = str(value)
        else:
            found[name] = [str(v) for v in value]
    return found


def utc_text(at: datetime) -> str:
    """Instants in the journal and the access log: UTC ISO 8601 (text order is time order)."""
    return at.astimezone(UTC).isoformat()


def _entry(row: Mapping[str, Any]) -> Entry:
    return Entry(
        sequence=int(row["sequence"]),
        kind=row["kind"],
        actor=row["actor"],
        subjects=json.loads(row["subjects"]),
        collectivite_id=row["collectivite_id"],
        detail=json.loads(row["detail"]),
        at=row["at"],
        version=row["version"],
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


_COLUMNS = "sequence, kind, actor, subjects, collectivite_id, detail, at, version, prev_hash, hash"


class Journal:
    """The JET in the events' database (table ``technical_journal``)."""

    def __init__(self, sql: Sql, clock: Callable[[], datetime]) -> None:
        self.sql = sql
        self.clock = clock

    def create_tables(self) -> None:
        self.sql.create(
            "CREATE TABLE IF NOT EXISTS technical_journal ("
            "sequence BIGINT PRIMARY KEY, kind TEXT NOT NULL, actor TEXT NOT NULL, "
            "subjects TEXT NOT NULL, collectivite_id TEXT, detail TEXT NOT NULL, "
            "at TEXT NOT NULL, version TEXT NOT NULL, prev_hash TEXT NOT NULL, "
            "hash TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS technical_journal_at ON technical_journal (at)",
        )

    # --- writing ------------------------------------------------------------------------------

    def entry(
        self,
        kind: Kind | str,
        *,
        actor: str,
        subjects: Mapping[str, str | list[str]] | None = None,
        detail: Mapping[str, Any] | None = None,
        collectivite_id: UUID | str | None = None,
    ) -> Pending:
        """An entry to append, timed by the server's clock now."""
        return Pending(
            Kind(kind),
            actor,
            dict(subjects or {}),
            None if collectivite_id is None else str(collectivite_id),
            _check_detail(detail or {}),
            utc_text(self.clock()),
        )

    def record(
        self,
        kind: Kind | str,
        *,
        actor: str = SYSTEM,
        subjects: Mapping[str, str | list[str]] | None = None,
        detail: Mapping[str, Any] | None = None,
        collectivite_id: UUID | str | None = None,
    ) -> Entry:
        """Append one entry in a transaction of its own (a read, a refusal, a start: what
        changes nothing else). Token revocation and rotation call this too."""
        pending = self.entry(
            kind, actor=actor, subjects=subjects, detail=detail, collectivite_id=collectivite_id
        )
        with self.sql.cursor(commit=True) as cursor:
            (appended,) = self.append(cursor, [pending])
        return appended

    def append(self, cursor: Any, pending: Sequence[Pending]) -> list[Entry]:
        """Append in the caller's transaction (``cursor``), under the journal's lock."""
        if not pending:
            return []
        if self.sql.postgres:
            cursor.execute(LOCK)
        cursor.execute(
            "SELECT sequence, hash FROM technical_journal ORDER BY sequence DESC LIMIT 1"
        )
        row = cursor.fetchone()
        sequence, prev = (int(row["sequence"]), row["hash"]) if row else (0, GENESIS)
        appended = []
        for p in pending:
            sequence += 1
            entry = Entry(
                sequence,
                p.kind.value,
                p.actor,
                dict(p.subjects),
                p.collectivite_id,
                dict(p.detail),
                p.at,
                __version__,
                prev,
                "",
            )
            entry = dataclasses.replace(entry, hash=event_hash(TOPIC, entry.fields()))
            appended.append(entry)
            prev = entry.hash
        cursor.executemany(
            self.sql.text(
                f"INSERT INTO technical_journal ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            [
                (
                    e.sequence,
                    e.kind,
                    e.actor,
                    _text(e.subjects),
                    e.collectivite_id,
                    _text(e.detail),
                    e.at,
                    e.version,
                    e.prev_hash,
                    e.hash,
                )
                for e in appended
            ],
        )
        return appended

    # --- reading ------------------------------------------------------------------------------

    def head(self) -> ChainHead | None:
        """The last entry as a seal records it (None while the journal is empty)."""
        return last_link(self.sql, "technical_journal", "sequence", JOURNAL_ID, "journal")

    def hash_at(self, sequence: int) -> str | None:
        """The hash of entry ``sequence`` (None: no such entry)."""
        return link_at(self.sql, "technical_journal", "sequence", sequence)

    def entries(
        self,
        *,
        after: int = 0,
        limit: int | None = None,
        kinds: Sequence[str] = (),
        start: datetime | None = None,
        end: datetime | None = None,
        collectivites: set[UUID] | None = None,
    ) -> list[Entry]:
        """Entries after ``after`` in sequence order: of ``kinds`` (all if none), recorded
        in [``start``, ``end``), of those collectivités (None: every entry)."""
        where: list[str] = ["sequence > ?"]
        params: list[Any] = [after]
        if kinds:
            where.append(f"kind IN ({', '.join('?' for _ in kinds)})")
            params += list(kinds)
        if start is not None:
            where.append("at >= ?")
            params.append(utc_text(start))
        if end is not None:
            where.append("at < ?")
            params.append(utc_text(end))
        if collectivites is not None:
            if not collectivites:
                return []
            where.append(f"collectivite_id IN ({', '.join('?' for _ in collectivites)})")
            params += sorted(str(c) for c in collectivites)
        sql = f"SELECT {_COLUMNS} FROM technical_journal WHERE {' AND '.join(where)}"
        sql += " ORDER BY sequence"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_entry(row) for row in self.sql.rows(sql, params)]

    # --- verification -------------------------------------------------------------------------

    def verify(self, anchor: ChainHead | None = None) -> VerificationReport:
        """Every entry's hash and link, numbered from 1 with no gap (``verify_chain``); with
        ``anchor`` (a head a seal recorded), the journal must still reach it unchanged."""
        rows = self.sql.rows(f"SELECT {_COLUMNS} FROM technical_journal ORDER BY sequence")
        links = []
        for row in rows:
            try:
                entry = _entry(row)
                links.append(ChainLink(entry.sequence, TOPIC, entry.fields(), entry.hash))
            except (ValueError, TypeError):  # a subjects or detail column that is not JSON
                links.append(ChainLink(int(row["sequence"]), TOPIC, None, row["hash"]))
        at = None if anchor is None else (anchor.version, anchor.digest)
        return verify_chain(links, anchor=at)


def report_lines(name: str, report: VerificationReport, count: int | None = None) -> list[str]:
    """What ``verify`` prints of a chain of ``count`` entries (default: the report's):
    intact, or its first broken entry and the rest."""
    entries = report.events if count is None else count
    if report.ok:
        return [f"{name}: {entries} entries, intact"]
    first = report.problems[0]
    lines = [
        f"{name}: {entries} entries, BROKEN at entry {first.version}: {first.kind}: {first.detail}"
    ]
    return lines + [f"  entry {p.version}: {p.kind}: {p.detail}" for p in report.problems[1:]]
