"""Following the event stream: catch up in batches, exactly once; rebuild and check.

The follower reads notifications after its projection's position (only the topics the
projection needs), folds a batch into a buffer, and writes the buffer with the position of
the batch's last notification in one transaction. Notification ids have gaps (rolled-back
inserts burn sequence values): they are skipped, never waited for. When a read returns less
than a batch, every notification up to the stream's maximum read beforehand has been seen,
so the position moves there (commit order equals id order on both backends: the library
locks the events table on PostgreSQL, and SQLite has one writer).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext, suppress
from dataclasses import dataclass
from typing import Any, Protocol

from hacienda_ledger.background import Background
from hacienda_ledger.projections.base import MemoryRows, Projection, Row, Table
from hacienda_ledger.projections.gc_tuning import fewer_collections
from hacienda_ledger.projections.store import (
    KEY_CONFLICTS,
    TRACKING,
    BufferedRows,
    KnownRows,
    PositionMoved,
    ProjectionDatabase,
)

REBUILD = "__rebuild"  # tables being rebuilt, swapped in when done
CHECK = "__check"  # tables rebuilt aside by a check, dropped after the comparison
Failed = Callable[[Exception], None]  # a runner's ``on_error``
Recovered = Callable[[], None]  # its ``on_recovered``


class ProjectionOutdated(RuntimeError):
    """The live tables were built in another shape than the projection's: following them
    would leave them half old, half new. ``hacienda-ledger rebuild <name>`` rebuilds them."""


class Notification(Protocol):
    id: int
    topic: str


class EventSource(Protocol):
    """What a follower needs of the application: notifications, decoding, the maximum."""

    def select(self, start: int, limit: int, topics: Sequence[str]) -> Sequence[Any]: ...

    def decode(self, notification: Any) -> Any: ...

    def decode_once(self, notification: Any) -> Any:
        """Decode a notification no reader will ask for again (a rebuild's one pass): nothing
        is kept of it for other followers."""
        ...

    def max_position(self) -> int: ...


@dataclass
class Progress:
    position: int
    events: int
    more: bool = False  # the batch was full: the stream may go on past ``position``


class Follower:
    """Keeps one projection's tables up to date with the stream."""

    def __init__(
        self,
        projection: Projection,
        db: ProjectionDatabase,
        source: EventSource,
        *,
        batch_size: int = 1000,
    ) -> None:
        self.projection = projection
        self.db = db
        self.source = source
        self.batch_size = batch_size
        self._known: dict[str, int] = {}  # positions this follower committed, by name
        self._unkeyed: list[Table] = []  # tables aside still without their key (a rebuild)
        with db.transaction() as cur:
            found = {spec.name: db.columns(cur, spec.name) for spec in projection.tables}
            for spec in projection.tables:
                db.create(cur, spec)
            db.track(cur, projection.name)
            self.outdated = self._outdated(cur, found)

    def _outdated(self, cur: Any, found: dict[str, tuple[str, ...]] | None = None) -> str | None:
        """Why the live tables cannot be followed (None: they can), and record their shape
        when it was never recorded and they have it.

        Tables are built in the shape of the projection that wrote them (``shape``): the
        same events folded by another version give other rows or other columns, and
        following them would leave them half old, half new. A database from before shapes
        were recorded (``found``: the columns before anything was created) is in the
        projection's shape if every table had exactly its columns, or if nothing was
        folded yet; otherwise, or when the recorded shape is another, the projection must
        be rebuilt (``hacienda-ledger rebuild <name>``), which records the new shape."""
        name, shape = self.projection.name, self.projection.shape
        recorded = self.db.shape(cur, name)
        if recorded is None and found is not None:
            current = all(found[t.name] == t.column_names for t in self.projection.tables)
            if current or self.db.position(cur, name) == 0:
                self.db.set_shape(cur, name, shape)
                return None
            changed = [t.name for t in self.projection.tables if found[t.name] != t.column_names]
            return (
                f"projection {name}: its tables were built by an earlier version "
                f"({', '.join(changed)} changed or added): rebuild it (hacienda-ledger rebuild "
                f"{name})"
            )
        if recorded is None or recorded == shape:
            return None
        return (
            f"projection {name}: its tables were built in shape {recorded}, the projection's is "
            f"{shape}: rebuild it (hacienda-ledger rebuild {name})"
        )

    def _still_outdated(self, cur: Any) -> str | None:
        """Read again once outdated: another process may have rebuilt it since (and then
        recorded its shape)."""
        if self.outdated is not None and self.db.shape(cur, self.projection.name) == (
            self.projection.shape
        ):
            self.outdated = None
        return self.outdated

    def position(self) -> int:
        with self.db.transaction() as cur:
            return self.db.position(cur, self.projection.name)

    def step(
        self,
        *,
        suffix: str = "",
        name: str | None = None,
        stop: int | None = None,
        conn: Any = None,
    ) -> Progress:
        """Process one batch; returns the new position and how many events it folded.

        An idle poll costs no connection and no lock: when the stream has not moved past
        the position this follower last wrote, there is nothing to do (positions only
        grow; another follower that moved further is found at the next real step). ``conn``:
        a connection of the caller's to use (else one is opened for the batch)."""
        name = name or self.projection.name
        known = self._known.get(name)
        if known is not None and stop is None and self.source.max_position() <= known:
            return Progress(known, 0)
        opened = nullcontext(conn) if conn is not None else self.db.connect()
        with opened as used, self.db.transaction(used) as cur:
            progress = self._step(cur, suffix, name, stop)
        self._known[name] = progress.position
        return progress

    def _step(self, cur: Any, suffix: str, name: str, stop: int | None) -> Progress:
        """One batch inside the caller's transaction. The tracking row is locked first (on
        PostgreSQL; SQLite's transaction holds the database), so that followers, rebuilds
        and checks of one projection take their locks in one order and never deadlock."""
        start = self.db.position(cur, name, lock=True)
        if name == self.projection.name and self._still_outdated(cur):
            raise ProjectionOutdated(self.outdated)
        ceiling = self.source.max_position()
        if stop is not None:
            ceiling = min(ceiling, stop)
        if start >= ceiling:
            return Progress(start, 0)
        limit = self.batch_size
        batch = [
            n
            for n in self.source.select(start + 1, limit, self.projection.topics)
            if n.id <= ceiling
        ]
        rows = BufferedRows(self.db, cur, self.projection, suffix)
        for notification in batch:
            self.projection.apply(self.source.decode(notification), notification.id, rows)
        full = len(batch) == limit
        new_position = batch[-1].id if full else ceiling
        rows.flush()
        self.db.advance(cur, name, start, new_position)
        return Progress(new_position, len(batch), more=full)

    def catch_up(
        self,
        *,
        suffix: str = "",
        name: str | None = None,
        stop: int | None = None,
        on_batch: Callable[[Progress], None] | None = None,
        conn: Any = None,
    ) -> int:
        """Process batches until the stream's end as it was when the last batch was read
        (or ``stop``); returns the position. Events recorded meanwhile are left to the next
        call: under a steady stream of writes, waiting for an empty batch would never end."""
        while True:
            try:
                progress = self.step(suffix=suffix, name=name, stop=stop, conn=conn)
            except PositionMoved:
                continue
            if on_batch is not None and progress.events:
                on_batch(progress)
            if not progress.more and (
                stop is None or progress.position >= min(stop, self.source.max_position())
            ):
                return progress.position

    # --- rebuild ------------------------------------------------------------------------

    def _fresh_tables(self, suffix: str, *, unkeyed: bool = False) -> str:
        """Empty tables aside, and their position at zero. ``unkeyed`` (a rebuild whose
        batches only insert into them, ``rebuild()``): the appended tables are created
        without their key on PostgreSQL (``_swap`` keys them)."""
        work = f"{self.projection.name}{suffix}"
        deferred = []
        with self.db.transaction() as cur:
            for spec in self.projection.tables:
                keyed = (
                    not unkeyed
                    or spec.name not in self.projection.appended
                    or self.db.dialect != "postgres"
                )
                self.db.drop(cur, spec.name + suffix)
                self.db.create(cur, spec, spec.name + suffix, keyed=keyed)
                if not keyed:
                    deferred.append(spec)
            self.db.set_position(cur, work, 0)
        self._unkeyed = deferred
        return work

    def _align(
        self,
        cur: Any,
        suffix: str,
        work: str,
        on_batch: Callable[[Progress], None] | None = None,
        *,
        live_too: bool = True,
    ) -> int:
        """Inside one transaction that holds the live tracking row (the live followers wait),
        bring the tables aside up to the live position, and (``live_too``) the live tables
        up to the position aside when they are behind it. Returns the position aside."""
        live = self.projection.name
        while True:
            here = self.db.position(cur, live, lock=True)
            aside = self.db.position(cur, work, lock=True)
            if aside < here:
                progress = self._step(cur, suffix, work, here)
                if on_batch is not None and progress.events:
                    on_batch(progress)
            elif aside > here and live_too:
                self._step(cur, "", live, aside)
            else:
                return aside

    def rebuild(self, on_batch: Callable[[Progress], None] | None = None) -> int:
        """Rebuild from position zero into fresh tables, then swap them in atomically.

        The swap's transaction first catches the new tables up to the live position (the
        live followers wait for it), so the projection's position never moves back: a
        reader that waited for a position never reads tables from before it."""
        work = self._fresh_tables(REBUILD)
        self.catch_up(suffix=REBUILD, name=work, on_batch=on_batch)
        return self._swap(work, on_batch)

    def _swap(self, work: str, on_batch: Callable[[Progress], None] | None = None) -> int:
        """Swap the rebuilt tables in, in one transaction holding the live tracking row,
        after catching them up to the live position; returns the projection's position."""
        with self.db.transaction() as cur:
            for spec in self._unkeyed:  # before the catch-up: its batches upsert
                self.db.add_key(cur, spec, spec.name + REBUILD)
            self._unkeyed = []
            position = self._align(cur, REBUILD, work, on_batch, live_too=False)
            for spec in self.projection.tables:
                self.db.drop(cur, spec.name)
                self.db.rename(cur, spec, spec.name + REBUILD, spec.name)
            self.db.set_position(cur, self.projection.name, position)
            self.db.set_shape(cur, self.projection.name, self.projection.shape)
            cur.execute(f"DELETE FROM {TRACKING} WHERE name = {self.db.mark}", [work])
        self.outdated = None
        return position

    def check(self, on_batch: Callable[[Progress], None] | None = None) -> list[str]:
        """Rebuild aside up to the live position and list every difference (none expected).

        The comparison runs in one transaction that holds the live tracking row, after
        bringing both sides to one position there: a live follower running meanwhile (the
        API's, or ``hacienda-ledger project``) cannot move the live tables under it.
        Live tables of another shape are not compared (nor caught up): that they must be
        rebuilt is the one difference. Live tables that cannot follow the stream (a row
        inserted by hand where the stream writes one later: its key is taken) are compared
        where they stand, and that they cannot follow is a difference too."""
        with self.db.transaction() as cur:
            if self._still_outdated(cur):
                return [str(self.outdated)]
        differences: list[str] = []
        try:
            self.catch_up(stop=self.source.max_position())
        except KEY_CONFLICTS as exc:
            differences.append(
                f"{self.projection.name}: the live tables cannot follow the stream past "
                f"position {self.position()}: a row the stream writes later is there already "
                f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
            )
        work = self._fresh_tables(CHECK)
        self.catch_up(suffix=CHECK, name=work, stop=self.position(), on_batch=on_batch)
        with self.db.transaction() as cur:
            self._align(cur, CHECK, work, on_batch, live_too=not differences)
            for spec in self.projection.tables:
                live = {spec.key_of(r): r for r in self.db.select(cur, spec)}
                rebuilt = {spec.key_of(r): r for r in self.db.select(cur, spec, spec.name + CHECK)}
                for key in sorted(live.keys() | rebuilt.keys(), key=str):
                    a, b = live.get(key), rebuilt.get(key)
                    if a != b:
                        differences.append(f"{spec.name} {key}: live {a} rebuilt {b}")
                self.db.drop(cur, spec.name + CHECK)
            cur.execute(f"DELETE FROM {TRACKING} WHERE name = {self.db.mark}", [work])
        return differences

    def rows(self, table: str) -> list[Row]:
        with self.db.transaction() as cur:
            return self.db.select(cur, self.projection.table(table))


def rebuild(
    chosen: Sequence[Follower],
    on_batch: Callable[[Progress], None] | None = None,
    *,
    batch_size: int | None = None,
    known_limit: int = 250_000,
) -> dict[str, int]:
    """Rebuild several projections from position zero in one pass over the stream, then
    swap each one's fresh tables in (as ``Follower.rebuild`` does, one after the other).

    Each notification is read and decoded once, and folded by every projection whose topics
    name it; each batch writes every projection's rows and advances every projection's
    ``<name>__rebuild`` position in one transaction (exactly once, as a follower's batch).
    Every projection folds only the notifications after its own position aside, so a
    projection whose position aside moved (another rebuild of it) stays exact.
    Rows written are kept in memory across batches (up to ``known_limit`` per projection)
    so that the fold reads none of them back from the database.
    The followers must share one database and one event source. Returns the positions."""
    if not chosen:
        return {}
    db, source = chosen[0].db, chosen[0].source
    if any(f.db is not db or f.source is not source for f in chosen):
        raise ValueError("the followers of one rebuild share one database and one source")
    with fewer_collections():
        return _rebuild(chosen, on_batch, batch_size=batch_size, known_limit=known_limit)


def _rebuild(
    chosen: Sequence[Follower],
    on_batch: Callable[[Progress], None] | None,
    *,
    batch_size: int | None,
    known_limit: int,
) -> dict[str, int]:
    works = fold_aside(
        chosen, on_batch, batch_size=batch_size, known_limit=known_limit, suffix=REBUILD
    )
    # Each swap keys and indexes its appended tables (the server's work, not this
    # interpreter's), then catches up and renames: the projections' swaps are independent
    # (each holds its own tracking rows) and run side by side, a connection each.
    with ThreadPoolExecutor(len(works), "rebuild-swap") as swapping:
        swaps = {f.projection.name: swapping.submit(f._swap, work, on_batch) for f, work in works}
    return {name: swap.result() for name, swap in swaps.items()}


def fold_aside(
    chosen: Sequence[Follower],
    on_batch: Callable[[Progress], None] | None,
    *,
    batch_size: int | None,
    known_limit: int,
    suffix: str,
) -> list[tuple[Follower, str]]:
    """Fresh tables aside (``suffix``: a rebuild's, or a check's) for every projection
    chosen, folded from position zero to the stream's end in one pass; returns each
    follower with its name aside. The appended tables aside are left without their key on
    PostgreSQL (the caller keys them: ``Follower._swap``, ``checking.compare``).

    The batches are each folded while the one before it is written.

    A writer thread writes batch k (its rows and positions, in one transaction) while this
    thread reads, decodes and folds batch k + 1 from the rows kept in memory, which already
    hold batch k's. A batch is written only if every position aside is still the one it was
    folded from (locked, then compared): otherwise (another writer moved one) nothing kept is
    trusted, the batch folded meanwhile is dropped, and the rebuild goes on from the
    positions in the database. When a table is only partly kept in memory (more rows than
    ``known_limit``), its reads go to the database: the next batch is then folded only once
    the one before it is written."""
    db = chosen[0].db
    works = [(f, f._fresh_tables(suffix, unkeyed=True)) for f in chosen]
    known = {work: KnownRows(f.projection.tables, known_limit) for f, work in works}
    limit = batch_size or max(f.batch_size for f in chosen)
    with (
        db.connect() as reader,
        db.connect() as writing,  # the writer thread's, for every batch
        ThreadPoolExecutor(1, "rebuild-writer") as writer,
        ThreadPoolExecutor(1, "rebuild-reader") as ahead,
    ):
        source = ReadAhead(chosen[0].source, ahead)
        if db.dialect == "postgres":
            reader.autocommit = True  # reads only; no transaction left open on the tables
        reads = reader.cursor()
        pending: tuple[Future[None], Progress] | None = None
        starts: dict[str, int] | None = None  # positions aside once the last batch is written
        while True:
            if pending is not None and not all(k.all_complete for k in known.values()):
                starts = _settled(pending, on_batch, known, starts)
                pending = None
            if starts is None:
                starts = {work: db.position(reads, work) for _, work in works}
                for work, position in starts.items():
                    if known[work].position != position:
                        known[work].forget()  # another writer moved it: trust no row kept
            progress, written = _fold_all(db, source, reads, works, limit, starts, known)
            if pending is not None:
                if _settled(pending, on_batch, known, starts) is None:
                    starts = pending = None
                    continue  # the batch folded on top of it is dropped
                pending = None
            if not written:
                break
            for work, batch in written.items():
                batch.split()  # new rows, told apart before they are kept
                known[work].commit(batch, progress.position)  # before it is written: see above
            future = writer.submit(
                _write_batch, db, None, starts, written, progress.position, writing
            )
            pending = (future, progress)
            starts = {work: max(after, progress.position) for work, after in starts.items()}
            if not progress.more:
                starts = _settled(pending, on_batch, known, starts)
                pending = None
                if starts is not None:
                    break
    return works


class ReadAhead:
    """A rebuild's event source: while a page of notifications is folded, the next one is
    read (the database's time overlaps the fold's, instead of following it).

    The page read ahead is the one a full page leads to (from the position after its last
    notification, same limit and topics), and it is used only if that is what is asked
    next and it is full itself: a page that is not full ended at the stream's end as it
    was when it was read, and events recorded since then would be missing from it (the
    follower moves to the stream's end as it is when the batch is folded). Anything else
    is read when asked, as without it."""

    def __init__(self, source: EventSource, executor: ThreadPoolExecutor) -> None:
        self.source = source
        self.executor = executor
        self._next: tuple[tuple[int, int, tuple[str, ...]], Future[Sequence[Any]]] | None = None

    def select(self, start: int, limit: int, topics: Sequence[str]) -> Sequence[Any]:
        asked = (start, limit, tuple(topics))
        page: Sequence[Any] | None = None
        if self._next is not None:
            (read, future), self._next = self._next, None
            if read == asked:
                page = future.result()
                if len(page) < limit:
                    page = None
            else:
                future.cancel()
        if page is None:
            page = self.source.select(start, limit, topics)
        if page and len(page) == limit:
            following = (page[-1].id + 1, limit, asked[2])
            self._next = (following, self.executor.submit(self.source.select, *following))
        return page

    def decode(self, notification: Any) -> Any:
        return self.source.decode(notification)

    def decode_once(self, notification: Any) -> Any:
        return self.source.decode_once(notification)

    def max_position(self) -> int:
        return self.source.max_position()


def _settled(
    pending: tuple[Future[None], Progress],
    on_batch: Callable[[Progress], None] | None,
    known: dict[str, KnownRows],
    starts: dict[str, int] | None,
) -> dict[str, int] | None:
    """Wait for a batch's write. Once written (and reported), the positions aside are still
    ``starts``; when a position aside had moved (nothing written), nothing kept is trusted
    and they are unknown (None). Any other error is raised."""
    future, progress = pending
    try:
        future.result()
    except PositionMoved:
        for rows in known.values():
            rows.forget()
        return None
    if on_batch is not None and progress.events:
        on_batch(progress)
    return starts


def _fold_all(  # noqa: PLR0917 (the batch's inputs, all needed)
    db: ProjectionDatabase,
    source: EventSource,
    cur: Any,
    works: Sequence[tuple[Follower, str]],
    limit: int,
    starts: dict[str, int],
    known: dict[str, KnownRows] | None,
) -> tuple[Progress, dict[str, BufferedRows]]:
    """Read and fold the next batch after the positions aside ``starts`` (each notification
    decoded once, folded by every projection that reads it and has not yet); rows the folds
    read and do not hold come from ``cur``. Returns the progress and each projection's rows
    (by name aside; none when the stream has nothing after the positions)."""
    start = min(starts.values())
    ceiling = source.max_position()
    if start >= ceiling:
        return Progress(start, 0), {}
    every = any(not f.projection.topics for f, _ in works)
    topics = () if every else tuple(sorted({t for f, _ in works for t in f.projection.topics}))
    batch = [n for n in source.select(start + 1, limit, topics) if n.id <= ceiling]
    folds = []
    for follower, work in works:
        wanted = frozenset(follower.projection.topics)
        suffix = work.removeprefix(follower.projection.name)  # the rebuild's or the check's
        rows = BufferedRows(
            db, cur, follower.projection, suffix, None if known is None else known[work]
        )
        folds.append((follower.projection.apply, wanted, starts[work], rows))
    for notification in batch:
        event: Any = None
        for apply, wanted, after, rows in folds:
            if notification.id <= after or (wanted and notification.topic not in wanted):
                continue
            if event is None:
                event = source.decode_once(notification)
            apply(event, notification.id, rows)
    full = len(batch) == limit
    new_position = batch[-1].id if full else ceiling
    written = {work: rows for (_, work), (_, _, _, rows) in zip(works, folds, strict=True)}
    return Progress(new_position, len(batch), more=full), written


def _write_batch(  # noqa: PLR0917 (the batch, and where to write it)
    db: ProjectionDatabase,
    cur: Any,
    starts: dict[str, int],
    written: dict[str, BufferedRows],
    position: int,
    conn: Any = None,
) -> None:
    """Write a folded batch: every projection's rows, and its position aside moved from
    where the batch was folded (``starts``) to ``position``. With no cursor (the rebuild's
    writer thread), in a transaction of its own on ``conn`` that first locks every position
    aside and finds it unmoved (else ``PositionMoved``, nothing written)."""
    if cur is None:
        with db.transaction(conn) as own:
            found = db.lock_positions(own, list(starts))
            for work, after in starts.items():
                if found[work] != after:
                    raise PositionMoved(work)
            _write_batch(db, own, starts, written, position)
        return
    for rows in written.values():
        rows.cur = cur
        rows.flush()
    db.advance_many(
        cur, {work: (after, position) for work, after in starts.items() if after < position}
    )


class Runner(Background):
    """Followers of several projections in a background thread (the API process), with
    read-your-writes: ``wait(position)`` returns once every projection has processed it.

    The thread keeps one database connection for all its followers, from one batch to the
    next (a PostgreSQL connection per batch and follower was ~80 connections a second
    under load: a server process forked for each); it is dropped after any error and
    opened again at the next step."""

    thread_name = "projections"
    join_timeout = 10.0

    def __init__(self, followers: Sequence[Follower], interval: float = 0.05) -> None:
        super().__init__()
        self.followers = list(followers)
        self.interval = interval
        self._moved = threading.Condition()
        self._conn: Any = None
        self._connection: AbstractContextManager[Any] | None = None
        self.positions = {f.projection.name: 0 for f in self.followers}
        self.error: BaseException | None = None
        self.following = self.failing = ""  # the projection whose batch runs, which failed
        self.failing_since: float | None = None  # time.monotonic() of a failing run's first

    def run_once(self, conn: Any = None) -> None:
        """A batch of every follower. One that fails holds back none of the others (each
        batch is a transaction of its own, rolled back when it fails): the first error is
        raised once they have all run, ``following`` naming its projection."""
        failed: tuple[str, Exception] | None = None
        for follower in self.followers:
            name = follower.projection.name
            try:
                position = follower.catch_up(conn=conn)
            except Exception as exc:  # raised below, once the others have run
                failed = failed or (name, exc)
                continue
            with self._moved:
                self.positions[name] = position
                self._moved.notify_all()
        if failed is not None:
            self.following = failed[0]
            raise failed[1]

    def run(self, on_error: Failed | None = None, on_recovered: Recovered | None = None) -> None:
        """Follow in the calling thread until ``stop()``: a batch of every follower, then a
        pause of ``interval``. An error is kept (``error``; the projection that failed,
        ``failing``; since when, ``failing_since``), given to ``on_error``, and the step
        retried after the pause on a new connection. The first step that succeeds, and the
        first after errors, call ``on_recovered``."""
        recovering = True
        try:
            while not self._stop.is_set():
                try:
                    self.run_once(self._kept_connection())
                    self.error, self.failing_since, self.following = None, None, ""
                    if recovering and on_recovered is not None:
                        on_recovered()
                    recovering = False
                except Exception as exc:  # kept and retried: a follower must not die silently
                    self.error, self.failing, self.following, recovering = (
                        exc,
                        self.following,
                        "",
                        True,
                    )
                    self.failing_since = self.failing_since or time.monotonic()
                    self._drop_connection()
                    if on_error is not None:
                        on_error(exc)
                self._stop.wait(self.interval)
        finally:
            self._drop_connection()

    def _kept_connection(self) -> Any:
        """The thread's connection (None, each batch its own, when the followers do not
        share one database)."""
        if not self.followers or any(f.db is not self.followers[0].db for f in self.followers):
            return None
        if self._conn is None:
            self._connection = self.followers[0].db.connect()
            self._conn = self._connection.__enter__()
        return self._conn

    def _drop_connection(self) -> None:
        connection, self._connection, self._conn = self._connection, None, None
        if connection is not None:
            with suppress(Exception):
                connection.__exit__(None, None, None)

    def _loop(self) -> None:
        self.run()

    def wait(self, position: int, timeout: float = 10.0, name: str | None = None) -> bool:
        """Block until each projection (or ``name``) has processed ``position`` (or False)."""
        deadline = time.monotonic() + timeout
        names = list(self.positions) if name is None else [name]
        with self._moved:
            while min((self.positions[n] for n in names), default=position) < position:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._moved.wait(left)
        return True


def fold(projection: Projection, events: Sequence[tuple[int, Any]]) -> MemoryRows:
    """Fold (position, event) pairs in memory: the reference a live table must equal."""
    rows = MemoryRows(projection.tables)
    for position, event in events:
        projection.apply(event, position, rows)
    return rows
