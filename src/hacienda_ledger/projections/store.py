"""Projection tables in the events' own database, written with their tracking position.

One transaction per batch: every row change of the batch and the projection's new position
commit together, or not at all (exactly once: a crash anywhere replays the batch from the
last committed position). The position is advanced with a compare-and-set, so two followers
of one projection can never both apply a batch.

SQLite and PostgreSQL store the same values: columns are typed by the projection (int,
text, decimal, date, bool) and read back as the same Python values.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from operator import methodcaller
from typing import Any

import psycopg

from hacienda_ledger import creation_lock
from hacienda_ledger.projections.base import Column, Key, MemoryRows, Projection, Row, Table

TRACKING = "projection_tracking"
SHAPES = "projection_shapes"  # the shape (``Projection.shape``) its live tables were built in
HEARTBEAT = "projector_heartbeat"  # the projector's last beat (application/projector.py)
FAILURES = "projector_failures"  # a projection the projector fails to fold (same module)

SQL_TYPES = {
    "sqlite": {
        "int": "INTEGER",
        "text": "TEXT",
        "decimal": "TEXT",
        "date": "TEXT",
        "bool": "INTEGER",
    },
    "postgres": {
        "int": "BIGINT",
        "text": "TEXT",
        "decimal": "NUMERIC",
        "date": "DATE",
        "bool": "BOOLEAN",
    },
}


_SQLITE_IN: dict[str, Callable[[Any], Any]] = {
    "decimal": str,
    "date": methodcaller("isoformat"),  # as to_sql: the value's own isoformat
    "bool": int,
}


KEY_CONFLICTS = (sqlite3.IntegrityError, psycopg.IntegrityError)
"""What writing a row raises when its key is there already (a plain insert, ``insert_new``)."""

COPY_FROM = 500  # PostgreSQL: a table's batch of this many upserts or more goes through COPY

_PYTHON: dict[str, type] = {"int": int, "text": str, "decimal": Decimal, "date": date, "bool": bool}
_PG_COPY = {"int": "int8", "text": "text", "decimal": "numeric", "date": "date", "bool": "bool"}


def _only(values: list[Any], kind: type) -> bool:
    """Whether every value is None or exactly of the column's Python type (binary COPY)."""
    return {type(v) for v in values} <= {kind, type(None)}


def _one_type(values: list[Any]) -> bool:
    """Whether the values (None aside) are all of one Python type (what an array needs)."""
    return len({type(v) for v in values} - {type(None)}) <= 1


class PositionMoved(Exception):
    """Another follower advanced this projection first; reload the position and go on."""


class ProjectionDatabase:
    """Connections and SQL dialect for projection tables (SQLite file or PostgreSQL)."""

    def __init__(self, *, sqlite_path: str | None = None, conninfo: str | None = None) -> None:
        if (sqlite_path is None) == (conninfo is None):
            raise ValueError("one of sqlite_path or conninfo")
        self.sqlite_path = sqlite_path
        self.conninfo = conninfo
        self.dialect = "sqlite" if sqlite_path is not None else "postgres"
        self.mark = "?" if self.dialect == "sqlite" else "%s"
        with self.transaction() as cur:
            self.lock_schema(cur)
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {TRACKING} "
                "(name TEXT PRIMARY KEY, position BIGINT NOT NULL)"
            )
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {SHAPES} (name TEXT PRIMARY KEY, shape TEXT NOT NULL)"
            )
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {HEARTBEAT} "
                "(name TEXT PRIMARY KEY, beat DOUBLE PRECISION NOT NULL, pid BIGINT NOT NULL)"
            )
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {FAILURES} "
                "(name TEXT PRIMARY KEY, since DOUBLE PRECISION NOT NULL, error TEXT NOT NULL)"
            )

    @contextmanager
    def connect(self) -> Iterator[Any]:
        if self.sqlite_path is not None:
            # Used by one thread at a time, not always the one that opened it (a rebuild's
            # writer thread writes every batch on the connection the rebuild opened).
            conn = sqlite3.connect(
                self.sqlite_path, timeout=30, isolation_level=None, check_same_thread=False
            )
            try:
                yield conn
            finally:
                conn.close()
        else:
            assert self.conninfo is not None
            # Asynchronous commit: projection rows are derived data. A crash may lose the last
            # few projection transactions, rows and tracking together (the database stays
            # consistent), and the follower then folds those events again: nothing lost or
            # counted twice. What it saves is a WAL flush per batch, which the ledger's own
            # commits — durable, synchronous — would otherwise queue behind.
            with psycopg.connect(self.conninfo, options="-c synchronous_commit=off") as pg:
                yield pg

    @contextmanager
    def transaction(self, conn: Any = None) -> Iterator[Any]:
        """A cursor in one transaction (BEGIN IMMEDIATE on SQLite: one writer at a time)."""
        if conn is None:
            with self.connect() as fresh, self.transaction(fresh) as cur:
                yield cur
            return
        if self.dialect == "sqlite":
            cur = conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
        else:
            with conn.transaction(), conn.cursor() as cur:
                yield cur

    # --- schema -------------------------------------------------------------------------

    def lock_schema(self, cur: Any) -> None:
        """PostgreSQL: create tables one process at a time (``creation_lock``)."""
        if self.dialect == "postgres":
            cur.execute(creation_lock.LOCK)

    def create(self, cur: Any, spec: Table, name: str | None = None, *, keyed: bool = True) -> None:
        """The table and its indexes (if absent); ``keyed=False``: without its primary key
        and indexes yet (PostgreSQL, a rebuild's appended tables: ``add_key`` when they are
        swapped in)."""
        self.lock_schema(cur)
        name = name or spec.name
        types = SQL_TYPES[self.dialect]
        cols = ", ".join(f"{c.name} {types[c.type]}" for c in spec.columns)
        keyed = keyed or self.dialect == "sqlite"
        key = f", PRIMARY KEY ({', '.join(spec.key)})" if keyed else ""
        cur.execute(f"CREATE TABLE IF NOT EXISTS {name} ({cols}{key})")
        if keyed:
            self._create_indexes(cur, spec, name)

    def _create_indexes(self, cur: Any, spec: Table, name: str) -> None:
        for columns in spec.indexes:
            cur.execute(
                f"CREATE INDEX IF NOT EXISTS {spec.index_name(columns, name)} "
                f"ON {name} ({', '.join(columns)})"
            )

    def add_key(self, cur: Any, spec: Table, name: str) -> None:
        """Give a table created with ``keyed=False`` its primary key and indexes (a
        duplicate key, which a correct rebuild never writes, fails here)."""
        cur.execute(f"ALTER TABLE {name} ADD PRIMARY KEY ({', '.join(spec.key)})")
        self._create_indexes(cur, spec, name)

    def columns(self, cur: Any, name: str) -> tuple[str, ...]:
        """The columns of a table as the database has it, in order (none if it is absent)."""
        if self.dialect == "sqlite":
            cur.execute(f"PRAGMA table_info({name})")
            return tuple(row[1] for row in cur.fetchall())
        cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = "
            "current_schema() AND table_name = %s ORDER BY ordinal_position",
            [name],
        )
        return tuple(row[0] for row in cur.fetchall())

    def shape(self, cur: Any, name: str) -> str | None:
        """The shape a projection's live tables were built in (None: never recorded)."""
        cur.execute(f"SELECT shape FROM {SHAPES} WHERE name = {self.mark}", [name])
        row = cur.fetchone()
        return None if row is None else str(row[0])

    def set_shape(self, cur: Any, name: str, shape: str) -> None:
        cur.execute(
            f"INSERT INTO {SHAPES} (name, shape) VALUES ({self.mark}, {self.mark}) "
            "ON CONFLICT (name) DO UPDATE SET shape = excluded.shape",
            [name, shape],
        )

    def drop(self, cur: Any, name: str) -> None:
        cur.execute(f"DROP TABLE IF EXISTS {name}")

    def rename(self, cur: Any, spec: Table, old: str, new: str) -> None:
        """Rename a table aside to ``new`` (whose table was dropped), its indexes too."""
        cur.execute(f"ALTER TABLE {old} RENAME TO {new}")
        for columns in spec.indexes:
            if self.dialect == "postgres":
                cur.execute(
                    f"ALTER INDEX {spec.index_name(columns, old)} "
                    f"RENAME TO {spec.index_name(columns, new)}"
                )
            else:  # SQLite renames no index: build it again under its name
                cur.execute(f"DROP INDEX IF EXISTS {spec.index_name(columns, old)}")
                cur.execute(
                    f"CREATE INDEX {spec.index_name(columns, new)} ON {new} ({', '.join(columns)})"
                )

    # --- values -------------------------------------------------------------------------

    def to_sql(self, column: Column, value: Any) -> Any:
        if value is None or self.dialect == "postgres":
            return value
        if column.type == "decimal":
            return str(value)
        if column.type == "date":
            return value.isoformat()
        if column.type == "bool":
            return int(value)
        return value

    def from_sql(self, column: Column, value: Any) -> Any:
        if value is None:
            return None
        if column.type == "decimal":
            return value if isinstance(value, Decimal) else Decimal(str(value))
        if column.type == "date":
            return value if isinstance(value, date) else date.fromisoformat(value)
        if column.type == "bool":
            return bool(value)
        if column.type == "int":
            return int(value)
        return value

    # --- rows ---------------------------------------------------------------------------

    def select(
        self,
        cur: Any,
        spec: Table,
        name: str | None = None,
        *,
        where: dict[str, Any] | None = None,
        order: bool = True,
        between: tuple[str, Any, Any] | None = None,
        after: Key | None = None,
        limit: int | None = None,
    ) -> list[Row]:
        """Rows, filtered by equal columns and an inclusive range on one column (a bound of
        None is open); with ``after``, only those whose key comes after it, and at most
        ``limit`` of them (a page, in key order)."""
        sql = f"SELECT {', '.join(spec.column_names)} FROM {name or spec.name}"
        cols = {c.name: c for c in spec.columns}
        conditions = [f"{k} = {self.mark}" for k in where or {}]
        params: list[Any] = [self.to_sql(cols[k], v) for k, v in (where or {}).items()]
        if between is not None:
            column, lo, hi = between
            if lo is not None:
                conditions.append(f"{column} >= {self.mark}")
                params.append(self.to_sql(cols[column], lo))
            if hi is not None:
                conditions.append(f"{column} <= {self.mark}")
                params.append(self.to_sql(cols[column], hi))
        if after is not None:
            marks = ", ".join([self.mark] * len(spec.key))
            conditions.append(f"({', '.join(spec.key)}) > ({marks})")
            params.extend(self.to_sql(cols[k], v) for k, v in zip(spec.key, after, strict=True))
        if conditions:
            sql += " WHERE " + " AND ".join(conditions)
        if order or after is not None:
            sql += f" ORDER BY {', '.join(spec.key)}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        cur.execute(sql, params)
        return [
            {c.name: self.from_sql(c, v) for c, v in zip(spec.columns, r, strict=True)}
            for r in cur.fetchall()
        ]

    def get(self, cur: Any, spec: Table, key: Key, name: str | None = None) -> Row | None:
        rows = self.select(
            cur, spec, name, where=dict(zip(spec.key, key, strict=True)), order=False
        )
        return rows[0] if rows else None

    def write(
        self,
        cur: Any,
        spec: Table,
        changes: Sequence[tuple[Key, Row | None]],
        name: str | None = None,
    ) -> None:
        target = name or spec.name
        deletes = [k for k, r in changes if r is None]
        upserts = [r for _, r in changes if r is not None]
        if deletes:
            key_columns = [c for c in spec.columns if c.name in spec.key]
            key_columns.sort(key=lambda c: spec.key.index(c.name))
            cond = " AND ".join(f"{k} = {self.mark}" for k in spec.key)
            cur.executemany(
                f"DELETE FROM {target} WHERE {cond}",
                [
                    [self.to_sql(c, v) for c, v in zip(key_columns, key, strict=True)]
                    for key in deletes
                ],
            )
        if upserts:
            names = spec.column_names
            marks = ", ".join(self.mark for _ in names)
            others = [n for n in names if n not in spec.key]
            update = (
                f"DO UPDATE SET {', '.join(f'{n} = excluded.{n}' for n in others)}"
                if others
                else "DO NOTHING"
            )
            conflict = f"ON CONFLICT ({', '.join(spec.key)}) {update}"
            columns = [[r[n] for r in upserts] for n in names]
            if (
                self.dialect == "postgres"
                and len(upserts) >= COPY_FROM
                and all(
                    _only(c, _PYTHON[col.type])
                    for c, col in zip(columns, spec.columns, strict=True)
                )
            ):
                # many rows: binary COPY into a stage, then one upsert from it
                stage = f"{target}__stage"
                listed = ", ".join(names)
                cur.execute(f"CREATE TEMP TABLE {stage} (LIKE {target})")
                with cur.copy(f"COPY {stage} ({listed}) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types([_PG_COPY[c.type] for c in spec.columns])
                    for values in zip(*columns, strict=True):
                        copy.write_row(values)
                cur.execute(
                    f"INSERT INTO {target} ({listed}) SELECT {listed} FROM {stage} {conflict}"
                )
                cur.execute(f"DROP TABLE {stage}")
            elif self.dialect == "postgres" and all(_one_type(c) for c in columns):
                # one statement per table and batch: a column of values per array (the keys
                # of a batch's changes are distinct, as ON CONFLICT DO UPDATE requires)
                types = SQL_TYPES["postgres"]
                arrays = ", ".join(f"%b::{types[c.type]}[]" for c in spec.columns)
                cur.execute(
                    f"INSERT INTO {target} ({', '.join(names)}) "
                    f"SELECT * FROM unnest({arrays}) {conflict}",
                    columns,
                )
            else:  # SQLite, or values of mixed Python types in a column (int and Decimal)
                cur.executemany(
                    f"INSERT INTO {target} ({', '.join(names)}) VALUES ({marks}) {conflict}",
                    self._parameters(spec, columns),
                )

    def insert_new(self, cur: Any, spec: Table, rows: Sequence[Row], name: str) -> None:
        """Insert rows whose keys the table does not hold (a rebuild's added rows): by COPY
        where it can, else by plain inserts; never an upsert (a key that was there after
        all fails the batch), so that the table need not be keyed yet."""
        if rows and not self.copy_new(cur, spec, rows, name, at_least=1):
            columns = [[row[c] for row in rows] for c in spec.column_names]
            cur.executemany(
                f"INSERT INTO {name} ({', '.join(spec.column_names)}) "
                f"VALUES ({', '.join(self.mark for _ in spec.columns)})",
                self._parameters(spec, columns),
            )

    def copy_new(
        self,
        cur: Any,
        spec: Table,
        rows: Sequence[Row],
        name: str | None = None,
        *,
        at_least: int = COPY_FROM,
    ) -> bool:
        """Write rows whose keys the table does not hold (a rebuild's fresh tables, keys it
        never wrote) by binary COPY straight into the table, when there are ``at_least`` of
        them (PostgreSQL): no stage and no upsert; a key that was there after all fails the
        batch, it is never overwritten. False, and nothing written, otherwise."""
        if self.dialect != "postgres" or len(rows) < at_least:
            return False
        values = list(map(spec.values_getter, rows))  # each row as a tuple, in column order
        kinds = [set(map(type, column)) for column in zip(*values, strict=True)]
        if not all(
            k <= {_PYTHON[c.type], type(None)} for k, c in zip(kinds, spec.columns, strict=True)
        ):
            return False
        target = name or spec.name
        with cur.copy(
            f"COPY {target} ({', '.join(spec.column_names)}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types([_PG_COPY[c.type] for c in spec.columns])
            for row in values:
                copy.write_row(row)
        return True

    def _parameters(self, spec: Table, columns: list[list[Any]]) -> list[tuple[Any, ...]]:
        """Rows as statement parameters, from their columns of values (PostgreSQL takes the
        values as they are; SQLite takes decimals as text, dates ISO, bools as ints)."""
        if self.dialect == "sqlite":
            columns = [
                values if convert is None else [None if v is None else convert(v) for v in values]
                for values, convert in zip(
                    columns, [_SQLITE_IN.get(c.type) for c in spec.columns], strict=True
                )
            ]
        return list(zip(*columns, strict=True))

    # --- tracking -----------------------------------------------------------------------

    def position(self, cur: Any, name: str, *, lock: bool = False) -> int:
        """The tracked position; ``lock`` holds the row to the end of the transaction on
        PostgreSQL (on SQLite, the writing transaction holds the whole database)."""
        sql = f"SELECT position FROM {TRACKING} WHERE name = {self.mark}"
        if lock and self.dialect == "postgres":
            sql += " FOR UPDATE"
        cur.execute(sql, [name])
        row = cur.fetchone()
        return int(row[0]) if row else 0

    def tracked(self, cur: Any, name: str) -> bool:
        """Whether ``name`` has a tracking row: a follower of it was ever made here."""
        cur.execute(f"SELECT 1 FROM {TRACKING} WHERE name = {self.mark}", [name])
        return cur.fetchone() is not None

    def advance(self, cur: Any, name: str, expected: int, position: int) -> None:
        """Compare-and-set the tracking position inside the batch's transaction."""
        if expected == 0:
            cur.execute(
                f"INSERT INTO {TRACKING} (name, position) VALUES ({self.mark}, "
                f"{self.mark}) ON CONFLICT (name) DO NOTHING",
                [name, position],
            )
            if cur.rowcount == 1:
                return
        cur.execute(
            f"UPDATE {TRACKING} SET position = {self.mark} WHERE name = {self.mark} "
            f"AND position = {self.mark}",
            [position, name, expected],
        )
        if cur.rowcount != 1:
            raise PositionMoved(name)

    def lock_positions(self, cur: Any, names: Sequence[str]) -> dict[str, int]:
        """Several tracked positions, each row held to the end of the transaction (one
        statement on PostgreSQL, rows locked in name order; zero for a name not tracked)."""
        if self.dialect != "postgres":
            return {name: self.position(cur, name, lock=True) for name in names}
        cur.execute(
            f"SELECT name, position FROM {TRACKING} WHERE name = ANY(%s) ORDER BY name FOR UPDATE",
            [list(names)],
        )
        found = {row[0]: int(row[1]) for row in cur.fetchall()}
        return {name: found.get(name, 0) for name in names}

    def advance_many(self, cur: Any, moves: dict[str, tuple[int, int]]) -> None:
        """``advance`` for several names, ``{name: (expected, position)}``: on PostgreSQL one
        statement for the rows that exist and are where expected, then ``advance`` for the
        others (a row to create at zero, or ``PositionMoved``)."""
        if not moves:
            return
        done: set[str] = set()
        if self.dialect == "postgres":
            values = ", ".join("(%s, %s::bigint, %s::bigint)" for _ in moves)
            cur.execute(
                f"UPDATE {TRACKING} AS t SET position = v.new "
                f"FROM (VALUES {values}) AS v(name, old, new) "
                "WHERE t.name = v.name AND t.position = v.old RETURNING t.name",
                [x for name, (old, new) in moves.items() for x in (name, old, new)],
            )
            done = {row[0] for row in cur.fetchall()}
        for name, (expected, position) in moves.items():
            if name not in done:
                self.advance(cur, name, expected, position)

    def set_position(self, cur: Any, name: str, position: int) -> None:
        """Set a position outright (an update of the row when it exists, so that a follower
        waiting on the row's lock reads the new position, not a deleted row)."""
        cur.execute(
            f"INSERT INTO {TRACKING} (name, position) VALUES ({self.mark}, {self.mark}) "
            "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
            [name, position],
        )

    def track(self, cur: Any, name: str) -> None:
        """Start tracking a projection at position zero (its row then exists to be locked)."""
        cur.execute(
            f"INSERT INTO {TRACKING} (name, position) VALUES ({self.mark}, 0) "
            "ON CONFLICT (name) DO NOTHING",
            [name],
        )


class KnownRows:
    """What a rebuild knows of its fresh tables across batches, so that a batch reads no
    row it wrote itself before.

    The tables start empty and only the rebuild writes them, so a table whose every write
    is kept here is *complete*: a key not here has no row. Past ``limit`` rows in all, the
    largest tables are demoted to *partial* (tables never read first): only the keys
    already here are kept up to date, the others are read from the database again.
    ``commit`` is called once a batch's transaction has committed (a rolled-back batch
    changes nothing here); ``forget`` when another writer may have touched the tables (the
    position aside is not the one the rebuild last committed)."""

    def __init__(self, tables: tuple[Table, ...], limit: int = 250_000) -> None:
        self.limit = limit
        self.position = 0  # the position aside these rows are as of (fresh tables: zero)
        self.rows: dict[str, dict[Key, Row | None]] = {t.name: {} for t in tables}
        self.complete = set(self.rows)
        self.used: set[str] = set()

    @property
    def all_complete(self) -> bool:
        """Whether every table is complete (a fold then reads nothing from the database)."""
        return len(self.complete) == len(self.rows)

    def lookup(self, table: str, key: Key) -> tuple[bool, Row | None]:
        """(known, row): a row (or None, no row) when known, else (False, None)."""
        self.used.add(table)
        rows = self.rows[table]
        if key in rows:
            return True, rows[key]
        return table in self.complete, None

    def split_new(
        self, table: str, changes: list[tuple[Key, Row | None]]
    ) -> tuple[list[Row], list[tuple[Key, Row | None]]]:
        """A batch's changes of a table as (rows of keys the table surely does not hold,
        the other changes): a complete table holds no key but those kept here."""
        if table not in self.complete:
            return [], changes
        kept = self.rows[table]
        new: list[Row] = []
        rest: list[tuple[Key, Row | None]] = []
        for key, row in changes:
            if row is not None and kept.get(key) is None:
                new.append(row)
            else:
                rest.append((key, row))
        return new, rest

    def commit(self, batch: BufferedRows, position: int) -> None:
        self.position = position
        for table, known in self.rows.items():
            changes = batch.data[table]
            if table in self.complete:
                known.update(changes)
                continue
            for key, row in batch.read[table].items():
                known.setdefault(key, row)
            for key, row in changes.items():
                if key in known:
                    known[key] = row
        total = sum(len(r) for r in self.rows.values())
        for table in sorted(self.rows, key=lambda t: (t in self.used, -len(self.rows[t]))):
            if total <= self.limit:
                break
            total -= len(self.rows[table])
            self.rows[table].clear()
            self.complete.discard(table)

    def forget(self) -> None:
        for rows in self.rows.values():
            rows.clear()
        self.complete.clear()


class BufferedRows(MemoryRows):
    """A batch's rows: reads fall through to the tables (in the batch's transaction),
    writes stay in memory until the batch is written. A rebuild passes what it knows of
    its fresh tables (``known``) so that reads of rows it wrote need no query."""

    def __init__(
        self,
        db: ProjectionDatabase,
        cur: Any,
        projection: Projection,
        suffix: str = "",
        known: KnownRows | None = None,
    ) -> None:
        super().__init__(projection.tables)
        self.db, self.cur, self.suffix, self.known = db, cur, suffix, known
        self.read: dict[str, dict[Key, Row | None]] = {t.name: {} for t in projection.tables}
        self.added: dict[str, list[Row]] = {t.name: [] for t in projection.tables}
        self._split: dict[str, tuple[list[Row], list[tuple[Key, Row | None]]]] | None = None

    def get(self, table: str, key: Key) -> Row | None:
        if key in self.data[table]:
            return super().get(table, key)
        cache = self.read[table]
        if key in cache:
            row = cache[key]
        else:
            found, row = (False, None) if self.known is None else self.known.lookup(table, key)
            if not found:
                row = cache[key] = self.db.get(
                    self.cur, self.tables[table], key, table + self.suffix
                )
        return dict(row) if row is not None else None

    def add(self, table: str, row: Row) -> None:
        """A row no fold reads back is only listed, to be inserted with the batch
        (``insert_new``): never an upsert, so that a key written twice fails instead of
        overwriting a row, and a rebuild's appended tables need no key while they fill; in a
        rebuild, neither keyed nor kept across batches (``KnownRows``)."""
        self.added[table].append(row)

    def split(self) -> None:
        """Tell the batch's new rows apart (``flush``) from what is kept now: a rebuild
        calls it before keeping the batch's rows, to write the batch meanwhile."""
        self._split = {
            name: self._new_and_rest(name, list(self.data[name].items())) for name in self.tables
        }

    def _new_and_rest(
        self, name: str, changes: list[tuple[Key, Row | None]]
    ) -> tuple[list[Row], list[tuple[Key, Row | None]]]:
        """(Rows of keys the fresh tables surely do not hold yet, the other changes), when
        there are enough changes to copy; else (none, every change)."""
        if self.known is None or len(changes) < COPY_FROM or not self.known.complete:
            return [], changes
        return self.known.split_new(name, changes)

    def flush(self) -> None:
        """Write the batch's changes; in a rebuild, many rows of keys its fresh tables surely
        do not hold yet are copied in without an upsert (``ProjectionDatabase.copy_new``)."""
        for name, spec in self.tables.items():
            if self._split is not None:
                new, changes = self._split[name]
            else:
                new, changes = self._new_and_rest(name, list(self.data[name].items()))
            self.db.insert_new(self.cur, spec, self.added[name], name + self.suffix)
            if self.db.copy_new(self.cur, spec, new, name + self.suffix):
                new = []
            changes = changes + [(spec.key_of(r), r) for r in new]
            if changes:
                self.db.write(self.cur, spec, changes, name + self.suffix)
