"""Stored analytics publications (issue 19, point 6): every table ``publish`` gives, computed
and jointly suppressed once by a job, kept in the projections' database (SQLite and
PostgreSQL alike) so that a read is one indexed query and never a computation.

Tables:

``analytics_publications`` key ``publication_id`` (1, 2, ... in the order made)
    ``as_of`` (the Paris day, ISO), ``position`` (the stream position its facts stand at:
    they are the fold of exactly the events up to it), ``threshold``, ``published_at`` (UTC, ISO),
    ``sha256`` (of the content, below), ``row_count``; unique ``(as_of, position,
    threshold)``: publishing again for the same three stores nothing.
``analytics_published_rows`` key ``(publication_id, table_name, seq)``
    ``seq``: the row's place in its table as ``publish`` ordered it; ``content``: the row
    as JSON (decimals as text); beside it, the columns a read filters on (``code``,
    ``period``, ``commune``, ``collectivite``, ``departement``, ``region``, ``from_code``,
    ``to_code``), indexed with the key's first two.

Publications are kept (what was released: an auditor asks what a table said on a day).
The SHA-256 is of the lines ``<table>\\t<seq>\\t<content>\\n``, tables in ``table_names()``
order, encoded in UTF-8: ``content_sha256`` computes it again from the rows read back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from hacienda_ledger.projections.analytics_cells import table_names
from hacienda_ledger.projections.base import Row
from hacienda_ledger.projections.store import ProjectionDatabase

PUBLICATIONS = "analytics_publications"
ROWS = "analytics_published_rows"
#: The columns a read may filter on, kept beside each row's content.
FILTERED = (
    "code",
    "period",
    "commune",
    "collectivite",
    "departement",
    "region",
    "from_code",
    "to_code",
)
#: The published columns that are decimals (JSON text, read back as ``Decimal``).
DECIMALS = frozenset(
    {"occupancy_rate", "revenue_per_occupied_place_day_cents", "latitude", "longitude"}
)
INDEXED = ("code", "period", "departement")
_META = ("publication_id", "as_of", "position", "threshold", "published_at", "sha256", "row_count")


class Raced(Exception):
    """Another publication was stored while this one was computed (``PublicationStore.add``
    with ``continues``): compute it again, continuing that one."""


@dataclass(frozen=True)
class Publication:
    """One stored publication: what it is as of, and which state of the stream."""

    publication_id: int
    as_of: date
    position: int
    threshold: int
    published_at: str
    sha256: str
    row_count: int


def _content(row: Row) -> str:
    return json.dumps(row, default=str, separators=(",", ":"), ensure_ascii=False)


def _row(content: str) -> Row:
    row: Row = json.loads(content)
    for column in DECIMALS & row.keys():
        if row[column] is not None:
            row[column] = Decimal(row[column])
    return row


Line = tuple[str, int, Row, str]  # (table, seq, row, content)


def _lines(tables: Mapping[str, list[Row]]) -> Iterator[Line]:
    for name, rows in tables.items():
        for seq, row in enumerate(rows):
            yield name, seq, row, _content(row)


def content_sha256(tables: Mapping[str, list[Row]]) -> str:
    """The SHA-256 of a publication's tables (in the order given: ``table_names()``'s)."""
    digest = hashlib.sha256()
    for name, seq, _, content in _lines(tables):
        digest.update(f"{name}\t{seq}\t{content}\n".encode())
    return digest.hexdigest()


class PublicationStore:
    """The publications in the projections' database."""

    def __init__(self, db: ProjectionDatabase) -> None:
        self.db = db
        filtered = ", ".join(f"{c} TEXT" for c in FILTERED)
        with db.transaction() as cur:
            db.lock_schema(cur)
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {PUBLICATIONS} (publication_id BIGINT PRIMARY KEY, "
                "as_of TEXT NOT NULL, position BIGINT NOT NULL, threshold INTEGER NOT NULL, "
                "published_at TEXT NOT NULL, sha256 TEXT NOT NULL, row_count BIGINT NOT NULL, "
                "UNIQUE (as_of, position, threshold))"
            )
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {ROWS} (publication_id BIGINT NOT NULL, "
                f"table_name TEXT NOT NULL, seq INTEGER NOT NULL, {filtered}, "
                "content TEXT NOT NULL, PRIMARY KEY (publication_id, table_name, seq))"
            )
            for column in INDEXED:
                cur.execute(
                    f"CREATE INDEX IF NOT EXISTS {ROWS}_{column} "
                    f"ON {ROWS} (publication_id, table_name, {column}, seq)"
                )

    # --- which publication ---------------------------------------------------------------

    def _one(self, where: str, params: list[Any], cur: Any = None) -> Publication | None:
        if cur is None:
            with self.db.transaction() as fresh:
                return self._one(where, params, fresh)
        cur.execute(
            f"SELECT {', '.join(_META)} FROM {PUBLICATIONS} WHERE {where} "
            "ORDER BY as_of DESC, position DESC, publication_id DESC LIMIT 1",
            params,
        )
        found = cur.fetchone()
        return None if found is None else _publication(found)

    def find(self, as_of: date, position: int, threshold: int) -> Publication | None:
        """The publication of exactly that day, stream position and threshold."""
        m = self.db.mark
        return self._one(
            f"as_of = {m} AND position = {m} AND threshold = {m}",
            [as_of.isoformat(), position, threshold],
        )

    def latest(
        self, threshold: int, day: date | None = None, cur: Any = None
    ) -> Publication | None:
        """The latest publication (by as-of day, then position) as of ``day`` or before."""
        m = self.db.mark
        if day is None:
            return self._one(f"threshold = {m}", [threshold], cur)
        return self._one(f"threshold = {m} AND as_of <= {m}", [threshold, day.isoformat()], cur)

    def publications(self) -> list[Publication]:
        """Every publication, in the order made."""
        with self.db.transaction() as cur:
            cur.execute(f"SELECT {', '.join(_META)} FROM {PUBLICATIONS} ORDER BY publication_id")
            return [_publication(r) for r in cur.fetchall()]

    # --- storing -------------------------------------------------------------------------

    def add(
        self,
        tables: Mapping[str, list[Row]],
        *,
        as_of: date,
        position: int,
        threshold: int,
        published_at: str,
        continues: int | None = None,
    ) -> tuple[Publication, bool]:
        """Store a publication, rows and record in one transaction; (the one stored, True),
        or (the one there already for that day, position and threshold, False). With
        ``continues`` (the id of the publication it continues, 0 for none), ``Raced`` if
        another publication of the threshold was stored since: the two would release the
        same periods twice, each suppressed on its own."""
        m = self.db.mark
        lines = list(_lines(tables))
        sha = content_sha256(tables)
        with self.db.transaction() as cur:
            if self.db.dialect == "postgres":  # one publisher at a time: ids in order
                cur.execute(f"LOCK TABLE {PUBLICATIONS} IN EXCLUSIVE MODE")
            cur.execute(
                f"SELECT publication_id FROM {PUBLICATIONS} WHERE as_of = {m} "
                f"AND position = {m} AND threshold = {m}",
                [as_of.isoformat(), position, threshold],
            )
            if cur.fetchone() is None:
                if continues is not None:
                    cur.execute(
                        f"SELECT COUNT(*) FROM {PUBLICATIONS} WHERE threshold = {m} "
                        f"AND publication_id > {m}",
                        [threshold, continues],
                    )
                    if int(cur.fetchone()[0]):
                        raise Raced(
                            f"a publication of threshold {threshold} was stored since "
                            f"publication {continues}, which this one continues"
                        )
                cur.execute(f"SELECT COALESCE(MAX(publication_id), 0) + 1 FROM {PUBLICATIONS}")
                number = int(cur.fetchone()[0])
                record = (number, as_of.isoformat(), position, threshold, published_at)
                cur.execute(
                    f"INSERT INTO {PUBLICATIONS} ({', '.join(_META)}) "
                    f"VALUES ({', '.join([m] * len(_META))})",
                    [*record, sha, len(lines)],
                )
                self._write_rows(cur, number, lines)
                return Publication(number, as_of, position, threshold, published_at, sha,
                                   len(lines)), True  # fmt: skip
        found = self.find(as_of, position, threshold)
        assert found is not None
        return found, False

    def _write_rows(self, cur: Any, number: int, lines: Iterable[Line]) -> None:
        columns = ("publication_id", "table_name", "seq", *FILTERED, "content")
        values = (
            (number, name, seq, *(_text(row.get(c)) for c in FILTERED), content)
            for name, seq, row, content in lines
        )
        if self.db.dialect == "postgres":
            with cur.copy(f"COPY {ROWS} ({', '.join(columns)}) FROM STDIN") as copy:
                for value in values:
                    copy.write_row(value)
        else:
            marks = ", ".join([self.db.mark] * len(columns))
            cur.executemany(f"INSERT INTO {ROWS} ({', '.join(columns)}) VALUES ({marks})", values)

    # --- reading -------------------------------------------------------------------------

    def latest_rows(
        self,
        threshold: int,
        day: date | None,
        table: str,
        filters: Mapping[str, str] | None = None,
        codes: Collection[str] | None = None,
        *,
        offset: int = 0,
        limit: int | None = None,
    ) -> tuple[Publication | None, list[Row]]:
        """``latest`` and its ``rows`` on one connection, in one transaction (a read)."""
        with self.db.transaction() as cur:
            publication = self.latest(threshold, day, cur)
            if publication is None:
                return None, []
            found = self.rows(
                publication, table, filters, codes, offset=offset, limit=limit, cur=cur
            )
            return publication, found

    def rows(
        self,
        publication: Publication,
        table: str,
        filters: Mapping[str, str] | None = None,
        codes: Collection[str] | None = None,
        *,
        offset: int = 0,
        limit: int | None = None,
        cur: Any = None,
    ) -> list[Row]:
        """One table's rows of a publication, in its order: those equal to every filter
        (columns of ``FILTERED``) and, with ``codes``, whose code is one of them; from
        ``offset``, at most ``limit``. One query on the key or an index."""
        m = self.db.mark
        conditions = [f"publication_id = {m}", f"table_name = {m}"]
        params: list[Any] = [publication.publication_id, table]
        for column, value in (filters or {}).items():
            if column not in FILTERED:
                raise ValueError(f"no filter {column}")
            conditions.append(f"{column} = {m}")
            params.append(value)
        if codes is not None:
            if not codes:
                return []
            conditions.append(f"code IN ({', '.join([m] * len(codes))})")
            params.extend(sorted(codes))
        sql = f"SELECT content FROM {ROWS} WHERE {' AND '.join(conditions)} ORDER BY seq"
        if limit is not None:
            sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
        elif offset:
            raise ValueError("an offset needs a limit")
        if cur is None:
            with self.db.transaction() as fresh:
                fresh.execute(sql, params)
                return [_row(r[0]) for r in fresh.fetchall()]
        cur.execute(sql, params)
        return [_row(r[0]) for r in cur.fetchall()]

    def tables(self, publication: Publication) -> dict[str, list[Row]]:
        """Every table of a publication, whole (as ``publish`` gave them)."""
        found: dict[str, list[Row]] = {name: [] for name in table_names()}
        with self.db.transaction() as cur:
            cur.execute(
                f"SELECT table_name, content FROM {ROWS} WHERE publication_id = {self.db.mark} "
                "ORDER BY table_name, seq",
                [publication.publication_id],
            )
            for name, content in cur.fetchall():
                found[name].append(_row(content))
        return found


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _publication(row: Any) -> Publication:
    number, as_of, position, threshold, published_at, sha, count = row
    return Publication(
        int(number),
        date.fromisoformat(str(as_of)),
        int(position),
        int(threshold),
        str(published_at),
        str(sha),
        int(count),
    )
