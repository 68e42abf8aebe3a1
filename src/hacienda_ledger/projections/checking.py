"""``rebuild --check``: every projection rebuilt aside in one pass, compared in the database.

A check used to rebuild each projection aside on its own (one pass over the stream per
projection, reading back from the database every row its fold needed), then load both
sides of every table into dictionaries to compare them: 2 to 4 times the time of a rebuild
and 3 times its memory (issue 17). Here the tables aside are folded as a rebuild folds them
(``runner.fold_aside``: one pass, each event decoded once, rows kept in memory), and the
comparison is two ``EXCEPT`` queries per table, run by the database: only the rows that
differ come back to Python. What is reported is what the per-row comparison reported, a
line ``<table> <key>: live <row> rebuilt <row>`` per key whose rows differ (``None`` for a
row on one side only).

A projection whose live tables are of another shape is not compared (that it must be
rebuilt is its one difference), as before; one whose live tables cannot follow the stream
(a row forged where the stream writes one later) is checked on its own by
``Follower.check``, which compares them where they stand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hacienda_ledger.projections.base import Row, Table
from hacienda_ledger.projections.gc_tuning import fewer_collections
from hacienda_ledger.projections.runner import (
    CHECK,
    Follower,
    Progress,
    fold_aside,
)
from hacienda_ledger.projections.store import KEY_CONFLICTS, TRACKING, ProjectionDatabase


def check(
    chosen: Sequence[Follower],
    on_batch: Callable[[Progress], None] | None = None,
    *,
    batch_size: int | None = None,
    known_limit: int = 250_000,
) -> dict[str, list[str]]:
    """Each projection's differences between its live tables and a rebuild from position
    zero (none expected), by name, in the order chosen."""
    found: dict[str, list[str]] = {}
    together: list[Follower] = []
    for follower in chosen:
        name = follower.projection.name
        with follower.db.transaction() as cur:
            if follower._still_outdated(cur):
                found[name] = [str(follower.outdated)]
                continue
        try:
            follower.catch_up(stop=follower.source.max_position())
        except KEY_CONFLICTS:
            found[name] = follower.check(on_batch)  # compared where the live tables stand
            continue
        together.append(follower)
    if together:
        with fewer_collections():
            works = fold_aside(
                together, on_batch, batch_size=batch_size, known_limit=known_limit, suffix=CHECK
            )
        for follower, work in works:
            found[follower.projection.name] = compare(follower, work, on_batch)
    return {f.projection.name: found[f.projection.name] for f in chosen}


def compare(
    follower: Follower, work: str, on_batch: Callable[[Progress], None] | None = None
) -> list[str]:
    """In one transaction that holds the live tracking row (a live follower cannot move the
    live tables meanwhile): key the tables aside, bring both sides to one position, list
    the rows that differ, drop the tables aside."""
    db = follower.db
    with db.transaction() as cur:
        for spec in follower._unkeyed:  # before the catch-up: its batches upsert
            db.add_key(cur, spec, spec.name + CHECK)
        follower._unkeyed = []
        follower._align(cur, CHECK, work, on_batch)
        differences: list[str] = []
        for spec in follower.projection.tables:
            differences += _differences(db, cur, spec)
            db.drop(cur, spec.name + CHECK)
        cur.execute(f"DELETE FROM {TRACKING} WHERE name = {db.mark}", [work])
    return differences


def _differences(db: ProjectionDatabase, cur: Any, spec: Table) -> list[str]:
    """The rows of one table that differ between its live and rebuilt sides, by key."""
    live = _only_in(db, cur, spec, spec.name, spec.name + CHECK)
    rebuilt = _only_in(db, cur, spec, spec.name + CHECK, spec.name)
    lines = []
    for key in sorted(live.keys() | rebuilt.keys(), key=str):
        a, b = live.get(key), rebuilt.get(key)
        if a != b:  # stored apart (a decimal's text, say) yet the same value: no difference
            lines.append(f"{spec.name} {key}: live {a} rebuilt {b}")
    return lines


def _only_in(db: ProjectionDatabase, cur: Any, spec: Table, one: str, other: str) -> dict[Any, Row]:
    columns = ", ".join(spec.column_names)
    cur.execute(f"SELECT {columns} FROM {one} EXCEPT SELECT {columns} FROM {other}")
    rows = (
        {c.name: db.from_sql(c, v) for c, v in zip(spec.columns, r, strict=True)}
        for r in cur.fetchall()
    )
    return {spec.key_of(r): r for r in rows}
