"""What a projection is: tables, the topics it reads, and a pure fold ``apply``.

A projection never touches a database itself. ``apply(event, position, rows)`` reads and
writes rows through ``Rows``; the view (``projections/store.py``) gives it a buffer over its
tables, and writes the buffer and the tracking position in one transaction per batch. Tests
give it ``MemoryRows`` and need no database.

Values in rows are ``int``, ``str``, ``bool``, ``Decimal``, ``date`` or ``None``; a column
declares which (``Column.type``), so that SQLite and PostgreSQL store and return the same.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from functools import cached_property, update_wrapper
from operator import itemgetter
from typing import Any, Literal, Protocol, TypeVar, cast

from hacienda_ledger.aggregates import values
from hacienda_ledger.aggregates.integrity import topic_of

Row = dict[str, Any]
Key = tuple[Any, ...]
ColumnType = Literal["int", "text", "decimal", "date", "bool"]


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...] = ()  # secondary indexes, by their columns

    def with_index(self, *columns: str) -> Table:
        """The table with one more secondary index, on these columns."""
        return replace(self, indexes=(*self.indexes, columns))

    def index_name(self, columns: tuple[str, ...], table: str | None = None) -> str:
        """An index's name: its table's (as named now: aside, ``postings__rebuild``) and
        its columns, so that the tables aside and the live one never share a name."""
        return f"{table or self.name}_{'_'.join(columns)}_idx"

    def key_of(self, row: Row) -> Key:
        if len(self.key) == 1:
            return (row[self.key[0]],)
        return self._key_getter(row)  # type: ignore[no-any-return]

    @cached_property
    def _key_getter(self) -> itemgetter[Any]:
        return itemgetter(*self.key)

    @cached_property
    def values_getter(self) -> Callable[[Row], tuple[Any, ...]]:
        """A row's values as a tuple, in column order."""
        if len(self.columns) == 1:
            name = self.columns[0].name
            return lambda row: (row[name],)
        return itemgetter(*self.column_names)

    @cached_property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @cached_property
    def column_set(self) -> frozenset[str]:
        return frozenset(self.column_names)


def table(name: str, key: Mapping[str, ColumnType], **columns: ColumnType) -> Table:
    """``table("balances", {"account": "text"}, balance_cents="int")``: the key's columns,
    each named once with its type, then the others."""
    if key.keys() & columns.keys():
        raise ValueError(f"{name}: a key column is declared once, in the key")
    every = {**key, **columns}
    return Table(name, tuple(Column(n, t) for n, t in every.items()), tuple(key))


def topics_of(*events: type) -> tuple[str, ...]:
    """The topics of these event classes, in this order: what a projection reads
    (``Projection.topics``)."""
    return tuple(topic_of(cls) for cls in events)


class Rows(Protocol):
    """What a fold reads and writes: rows by table and key."""

    def get(self, table: str, key: Key) -> Row | None: ...

    def put(self, table: str, row: Row) -> None: ...

    def add(self, table: str, row: Row) -> None:
        """A row of a key never written before, that no fold reads back (a journal line, a
        posting), of exactly the table's columns; the dict is given away (not copied)."""
        ...

    def delete(self, table: str, key: Key) -> None: ...


class Projection(ABC):
    """A read model: a deterministic function of the event stream."""

    name: str
    tables: tuple[Table, ...]
    topics: tuple[str, ...] = ()  # topics read; empty means every event
    # Tables whose rows the fold only adds (``Rows.add``): a rebuild on PostgreSQL creates
    # them without their primary key, and keys them when they are swapped in (one sorted
    # build of the index instead of an insertion into it per row).
    appended: frozenset[str] = frozenset()
    # Relative cost of rebuilding it (measured: docs/performance.md), for sharing a rebuild
    # between processes.
    rebuild_cost: int = 1
    # What the fold writes, beyond its tables' columns: changed whenever the same events
    # would now give other rows (the live tables are then outdated: ``shape``).
    version: str = "1"

    @property
    def shape(self) -> str:
        """A digest of the tables (names, keys, columns and their types) and ``version``:
        live tables built in another shape must be rebuilt before they are followed."""
        tables = [[t.name, list(t.key), [[c.name, c.type] for c in t.columns]] for t in self.tables]
        text = json.dumps([self.name, self.version, tables], separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def table(self, name: str) -> Table:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)

    @abstractmethod
    def apply(self, event: Any, position: int, rows: Rows) -> None:
        """Fold one event (at its stream position) into the rows."""


class MemoryRows:
    """Rows in memory: the fold's view in tests, and the write buffer of a batch."""

    def __init__(self, tables: tuple[Table, ...]) -> None:
        self.tables = {t.name: t for t in tables}
        self.data: dict[str, dict[Key, Row | None]] = {t.name: {} for t in tables}

    def get(self, table: str, key: Key) -> Row | None:
        row = self.data[table].get(key)
        return dict(row) if row is not None else None

    def put(self, table: str, row: Row) -> None:
        """Keep a copy of the row (the fold may reuse its dict), of the table's columns only.
        A row of exactly the table's columns, as folds build them, is copied whole."""
        spec = self.tables[table]
        if row.keys() == spec.column_set:
            self.data[table][spec.key_of(row)] = dict(row)
            return
        if not spec.column_set <= row.keys():
            missing = spec.column_set - row.keys()
            raise KeyError(f"{table}: missing columns {sorted(missing)}")
        self.data[table][spec.key_of(row)] = {c: row[c] for c in spec.column_names}

    def add(self, table: str, row: Row) -> None:
        spec = self.tables[table]
        if row.keys() != spec.column_set:
            raise KeyError(f"{table}: columns {sorted(row)} are not {sorted(spec.column_set)}")
        key = spec.key_of(row)
        if self.data[table].get(key) is not None:
            raise KeyError(f"{table}: {key} added twice")
        self.data[table][key] = row

    def delete(self, table: str, key: Key) -> None:
        self.data[table][key] = None

    def rows(self, table: str) -> list[Row]:
        """Every live row of a table, in key order."""
        return [
            dict(r) for k, r in sorted(self.data[table].items(), key=_sort_key) if r is not None
        ]

    def changes(self, table: str) -> Iterator[tuple[Key, Row | None]]:
        """Puts (row) and deletes (None) since the buffer was made, by key."""
        yield from self.data[table].items()


def _sort_key(item: tuple[Key, Row | None]) -> tuple[tuple[int, Any], ...]:
    """Keys in their columns' own order (numbers as numbers), None last."""
    return tuple((1, "") if v is None else (0, v) for v in item[0])


_A = TypeVar("_A")
_R = TypeVar("_R")


def last_one(function: Callable[[_A], _R]) -> Callable[[_A], _R]:
    """``function`` (pure, of one argument) remembering its last argument, by identity, and
    its result. The projections of a process fold one event after the other, several of
    them deriving the same values from its recorded time (its UTC text, its Paris day):
    the second asks with the very same object. A cache by value cost more than it saved
    (measured: hashing an aware datetime, for times that are each new). The pair is
    replaced in one assignment: threads sharing it at worst compute again."""
    last: tuple[Any, Any] = (_NOTHING, None)

    def remembered(argument: _A) -> _R:
        nonlocal last
        seen = last
        if seen[0] is argument:
            return cast("_R", seen[1])
        result = function(argument)
        last = (argument, result)
        return result

    return update_wrapper(remembered, function)


_NOTHING = object()

paris_day = last_one(values.paris_day)
"""``aggregates.values.paris_day``, remembered for the event being folded (``last_one``)."""


def month_of(day: date) -> str:
    return day.isoformat()[:7]


ZERO = Decimal(0)
