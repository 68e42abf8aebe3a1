"""The personal-data access log, hash-chained like the technical journal.

``household_access_log`` records every read of a household's personal data: the household,
when, who (user id and role) and the endpoint that read it. Each row written since the JET
carries ``seq`` (1, 2, 3… with no gap), ``prev_hash`` and ``hash`` = ``integrity.event_hash``
of its fields without ``hash`` under ``TOPIC``; rows are appended under the log's own lock
(``pg_advisory_xact_lock`` on PostgreSQL, the write lock on SQLite: ``BEGIN IMMEDIATE``).

**Rows from before the chain** (``seq``, ``prev_hash`` and ``hash`` NULL) are linked by their
content, in ``id`` order, as ``aggregates/chained.py`` links old events: each one's link is
the hash of its fields (its ``id`` included) with the link before it as ``prev_hash``,
starting from ``GENESIS``; the first chained row's ``prev_hash`` is the last of those links,
so it holds every one of them (edit or delete one and that row's link breaks).

**Retention** deletes the log's oldest rows, a prefix in chain order: the purge records the
link at the last row deleted in the technical journal (``access_log_purged``, in the same
transaction), and the chain then starts from it. The head is anchored by each month seal.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from hacienda_ledger.aggregates.integrity import (
    GENESIS,
    ChainLink,
    VerificationReport,
    event_hash,
    verify_chain,
)
from hacienda_ledger.aggregates.seal import ChainHead
from hacienda_ledger.aggregates.user import NAMESPACE
from hacienda_ledger.application.journal import (
    SYSTEM,
    Journal,
    Kind,
    last_link,
    link_at,
    utc_text,
)
from hacienda_ledger.application.sealing import Sql

TOPIC = "hacienda_ledger:household_access_log"
#: The access log's id in a seal's heads (``ChainHead.aggregate_id``).
ACCESS_LOG_ID = uuid5(NAMESPACE, "household_access_log")
LOCK = "SELECT pg_advisory_xact_lock(hashtext('hacienda_ledger_household_access_log'))"
_ORDER = "ORDER BY seq IS NOT NULL, seq, id"  # the rows before the chain first, by id
_COLUMNS = "id, household_id, at, user_id, role, endpoint, seq, prev_hash, hash"


@dataclass(frozen=True)
class Access:
    """One read of a household's personal data."""

    household_id: UUID
    at: datetime
    user_id: str
    role: str
    endpoint: str


def _content(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("household_id", "at", "user_id", "role", "endpoint")}


def _old_link(row: Mapping[str, Any], prev: str) -> str:
    """The link of a row from before the chain: its content (and id) with the link before."""
    return event_hash(TOPIC, dict(_content(row), id=int(row["id"]), prev_hash=prev))


def _fields(row: Mapping[str, Any]) -> dict[str, Any]:
    return dict(_content(row), seq=int(row["seq"]), prev_hash=row["prev_hash"])


class AccessLog:
    """Who read which household's personal data, when, through which endpoint."""

    def __init__(self, sql: Sql, journal: Journal) -> None:
        self.sql = sql
        self.journal = journal

    def create_tables(self) -> None:
        serial = "BIGSERIAL" if self.sql.postgres else "INTEGER"
        auto = "" if self.sql.postgres else " AUTOINCREMENT"
        self.sql.create(
            "CREATE TABLE IF NOT EXISTS household_access_log ("
            f"id {serial} PRIMARY KEY{auto}, household_id TEXT NOT NULL, at TEXT NOT NULL, "
            "user_id TEXT NOT NULL, role TEXT NOT NULL, endpoint TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS household_access_log_household "
            "ON household_access_log (household_id, id)",
        )
        index = (
            "CREATE UNIQUE INDEX IF NOT EXISTS household_access_log_seq "
            "ON household_access_log (seq)"
        )
        if self.sql.postgres:  # the chain's columns, added once, under the schema lock
            self.sql.create(
                *(
                    f"ALTER TABLE household_access_log ADD COLUMN IF NOT EXISTS {column}"
                    for column in ("seq BIGINT", "prev_hash TEXT", "hash TEXT")
                ),
                index,
            )
            return
        with self.sql.cursor(commit=True) as cursor:  # under SQLite's write lock
            cursor.execute("PRAGMA table_info(household_access_log)")
            present = {row["name"] for row in cursor.fetchall()}
            for column in ("seq INTEGER", "prev_hash TEXT", "hash TEXT"):
                if column.split()[0] not in present:
                    cursor.execute(f"ALTER TABLE household_access_log ADD COLUMN {column}")
            cursor.execute(index)

    # --- the chain ----------------------------------------------------------------------------

    def _start(self, cursor: Any) -> tuple[int, str]:
        """Where the chain starts: the link at the last row a purge deleted, or GENESIS."""
        cursor.execute(
            "SELECT detail FROM technical_journal WHERE kind = 'access_log_purged' "
            "ORDER BY sequence DESC LIMIT 1"
        )
        row = cursor.fetchone()
        if row is None:
            return 0, GENESIS
        detail = json.loads(row["detail"])
        return int(detail["through_seq"]), str(detail["link"])

    def _rows(self, cursor: Any, where: str = "") -> Iterator[Mapping[str, Any]]:
        cursor.execute(f"SELECT {_COLUMNS} FROM household_access_log {where} {_ORDER}")
        yield from cursor.fetchall()

    def _head(self, cursor: Any) -> tuple[int, str]:
        """The last link: the last chained row's, or else (first append) the start's carried
        over every row from before the chain."""
        cursor.execute(
            "SELECT seq, hash FROM household_access_log WHERE seq IS NOT NULL "
            "ORDER BY seq DESC LIMIT 1"
        )
        row = cursor.fetchone()
        if row is not None:
            return int(row["seq"]), row["hash"]
        seq, link = self._start(cursor)
        for old in self._rows(cursor, "WHERE seq IS NULL"):
            link = _old_link(old, link)
        return seq, link

    def record(self, entries: Sequence[Access]) -> None:
        if not entries:
            return
        with self.sql.cursor(commit=True) as cursor:
            if self.sql.postgres:
                cursor.execute(LOCK)
            seq, prev = self._head(cursor)
            rows = []
            for e in entries:
                seq += 1
                content = {
                    "household_id": str(e.household_id),
                    "at": utc_text(e.at),
                    "user_id": e.user_id,
                    "role": e.role,
                    "endpoint": e.endpoint,
                }
                link = event_hash(TOPIC, dict(content, seq=seq, prev_hash=prev))
                rows.append((*content.values(), seq, prev, link))
                prev = link
            cursor.executemany(
                self.sql.text(
                    "INSERT INTO household_access_log (household_id, at, user_id, role, "
                    "endpoint, seq, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                rows,
            )

    def head(self) -> ChainHead | None:
        """The last chained row as a seal records it (None before the first)."""
        return last_link(self.sql, "household_access_log", "seq", ACCESS_LOG_ID, "access_log")

    def hash_at(self, seq: int) -> str | None:
        """The hash of row ``seq`` (None: no such row)."""
        return link_at(self.sql, "household_access_log", "seq", seq)

    def purged_through(self) -> int:
        """The last row a purge deleted (0: none); rows up to it are gone by retention."""
        with self.sql.cursor(commit=False) as cursor:
            return self._start(cursor)[0]

    def verify(self, anchor: ChainHead | None = None) -> tuple[int, VerificationReport]:
        """How many rows there are, and the chain's report: the rows from before the chain
        folded into the first chained row's ``prev_hash``, then every chained row's hash,
        link and number (``verify_chain``); with ``anchor``, the log must still reach it."""
        with self.sql.cursor(commit=False) as cursor:
            seq, link = self._start(cursor)
            rows = list(self._rows(cursor))
        links = []
        for row in rows:
            if row["seq"] is None:
                link = _old_link(row, link)
            else:
                links.append(ChainLink(int(row["seq"]), TOPIC, _fields(row), row["hash"]))
        at = None if anchor is None else (anchor.version, anchor.digest)
        return len(rows), verify_chain(links, after=(seq, link), anchor=at)

    # --- reading and retention ----------------------------------------------------------------

    def of(self, household_id: UUID) -> list[Access]:
        return [
            Access(
                UUID(row["household_id"]),
                datetime.fromisoformat(row["at"]),
                row["user_id"],
                row["role"],
                row["endpoint"],
            )
            for row in self.sql.rows(
                "SELECT household_id, at, user_id, role, endpoint FROM household_access_log "
                "WHERE household_id = ? ORDER BY id",
                (str(household_id),),
            )
        ]

    def _due(self, cursor: Any, before: datetime) -> tuple[list[Mapping[str, Any]], int, str]:
        """The rows a purge deletes (those before the first row recorded at or after
        ``before``, in chain order: a prefix), and the chain's link after the last."""
        seq, link = self._start(cursor)
        gone = []
        cut = utc_text(before)
        for row in self._rows(cursor):
            if row["at"] >= cut:
                break
            gone.append(row)
            if row["seq"] is None:
                link = _old_link(row, link)
            else:
                seq, link = int(row["seq"]), row["hash"]
        return gone, seq, link

    def purge(self, before: datetime, actor: str = SYSTEM) -> int:
        """Delete the entries recorded before that instant (the prefix of the chain up to
        the first one recorded since); the link after the last one deleted is recorded in
        the technical journal, in the same transaction. Returns how many."""
        with self.sql.cursor(commit=True) as cursor:
            if self.sql.postgres:
                cursor.execute(LOCK)
            gone, seq, link = self._due(cursor, before)
            if not gone:
                return 0
            ids = [int(row["id"]) for row in gone]
            for k in range(0, len(ids), 500):
                part = ids[k : k + 500]
                cursor.execute(
                    self.sql.text(
                        "DELETE FROM household_access_log WHERE id IN "
                        f"({', '.join('?' for _ in part)})"
                    ),
                    part,
                )
            detail = {"rows": len(ids), "through_seq": seq, "link": link}
            self.journal.append(
                cursor, [self.journal.entry(Kind.ACCESS_LOG_PURGED, actor=actor, detail=detail)]
            )
            return len(ids)

    def due(self, before: datetime) -> int:
        with self.sql.cursor(commit=False) as cursor:
            return len(self._due(cursor, before)[0])
