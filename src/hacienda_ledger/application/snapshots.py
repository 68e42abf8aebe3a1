"""Register snapshots written off the write path.

A snapshot is only a shortcut for loading: losing one costs a longer replay, never a fact.
Its cost, though, grows with the register's state (every receipt not yet remitted is in it:
a register holding 2,000 open receipts snapshots to about 550 kB of JSON, some 30 ms of
encoding), and it used to be encoded and committed inside the register's write lock, so the
next cashier's receipt waited for it (the one-register p99 of the HTTP benchmark).

``SnapshotWriter.take`` runs under the lock but only copies: the snapshot's state is the
aggregate's attributes with every mutable container (dict, list, set) copied, down to the
leaves, which are immutable (frozen dataclasses, tuples, strings, numbers, UUIDs, dates).
Encoding and inserting happen in one background thread, whatever is queued in one
transaction.

And a snapshot is due when the register has gone, since its last one, at least the interval
— or half the entries its state holds, when that is more, but never more than ``max_gap``
events (``SnapshotSchedule``; ``HACIENDA_SNAPSHOT_INTERVAL``, 100, and
``HACIENDA_SNAPSHOT_MAX_GAP``, 1,000). The two costs it weighs:

- **writing**: a snapshot costs about its state's entries (S) to copy, encode and store; taken
  every ``g`` events, that is S / g entries per event written, off the write path;
- **loading**: a process that has not got the register in hand (the first command after a
  restart, a reader) decodes the latest snapshot (about 3 ms for a state of 3,000 entries,
  157 kB) and replays every event after it, about 45 µs each on a quiet machine here (25 to
  read and decode, 20 to fold): the events replayed are what a warm start waits for.

A register that keeps few entries (receipts are remitted at least monthly) is snapshotted
every ``interval`` events. One whose state grows (open receipts piling up; years of daily
totals and of stays settled) goes half its entries between snapshots, so that a snapshot
costs at most about two entries per event written — up to the cap. Without it the gaps
grew with the state, and so did every reload after a restart: a generated register of ten
years (22,000 events, 3,000 entries) was 1,200 to 1,500 events past its latest snapshot
(about 90 ms to load here; a register of larger state, proportionally more — issue 17 saw
0.4–0.5 s). With the cap, no load replays more than ``max_gap`` events (about 45 ms at
1,000); a state of more than ``2 × max_gap`` entries pays S / ``max_gap`` entries per event
instead of two (a register holding 20,000 open receipts, far past any régie's rules, would
write a snapshot of about 5 MB every 1,000 events, in the background).

Where the latest snapshot is, the schedule learns as the register is loaded (``found``: a
load from a snapshot, or from the first event when none is stored); one of an outdated
shape counts as none (``lost``), so the next save takes one in the current shape.

A snapshot already stored at that version (another process took it) is skipped; any other
failure is logged and the snapshot dropped. ``flush`` waits until everything taken is
stored; ``close`` flushes and stops the thread.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from eventsourcing.domain import Snapshot
from eventsourcing.persistence import EventStore, IntegrityError

log = logging.getLogger(__name__)


def state_size(aggregate: Any) -> int:
    """How many entries the aggregate's collections hold (what its snapshot's size grows
    with); the library's own attributes (``_pending_events``...) are not state, nor the
    ids an aire links (``Aire.ID_TUPLES``: stored as text, a few µs a thousand to copy and
    encode, against its events' 60–100 µs each to replay), so that an aire is snapshotted
    every ``interval`` events however many interventions it holds."""
    cheap = getattr(aggregate, "ID_TUPLES", ())
    return sum(
        len(v)
        for k, v in vars(aggregate).items()
        if type(v) in (dict, list, tuple, set) and not k.startswith("_") and k not in cheap
    )


class SnapshotSchedule:
    """When an aggregate is due a snapshot (see the module's docstring).

    The version of each aggregate's last snapshot is known for those this process
    snapshotted or loaded; for the others (held in memory since they were created: the bulk
    writer's) it is taken to be the last multiple of the interval before the save. Taking
    and losing happen under the aggregate's write lock; a load only fills in what is not
    known yet."""

    def __init__(self, max_gap: int | None = None) -> None:
        self.max_gap = max_gap
        self._last: dict[Any, int] = {}

    def gap(self, aggregate: Any, interval: int) -> int:
        """Events due between two snapshots of the aggregate as it is now."""
        wanted = state_size(aggregate) // 2
        if self.max_gap is not None:
            wanted = min(wanted, self.max_gap)
        return max(interval, wanted)

    def due(self, aggregate: Any, interval: int, first_new_version: int) -> bool:
        last = self._last.get(aggregate.id)
        if last is None:
            before = first_new_version - 1
            last = before - before % interval
        return bool(aggregate.version - last >= self.gap(aggregate, interval))

    def taken(self, aggregate: Any) -> None:
        self._last[aggregate.id] = aggregate.version

    def found(self, aggregate_id: Any, first: Any) -> None:
        """A load of the aggregate's current version began with ``first``: its latest
        snapshot, or its first event when it has none."""
        if isinstance(first, Snapshot):
            self._last.setdefault(aggregate_id, first.originator_version)
        elif first.originator_version == 1:
            self._last.setdefault(aggregate_id, 0)

    def lost(self, aggregate_id: Any) -> None:
        """The latest snapshot cannot be used (an older shape): the next save takes one."""
        self._last[aggregate_id] = 0


def detached(value: Any) -> Any:
    """``value`` with every dict, list and set in it copied (leaves are immutable)."""
    kind = type(value)
    if kind is dict:
        return {k: detached(v) for k, v in value.items()}
    if kind is list:
        return [detached(v) for v in value]
    if kind is set:
        return set(value)
    return value


class SnapshotWriter:
    """Snapshots taken under the write lock, encoded and stored by a thread of their own."""

    def __init__(self, store: EventStore[Any]) -> None:
        self._store = store
        self._queue: list[Any] = []
        self._cond = threading.Condition()
        self._busy = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self.failures = 0

    def take(self, aggregate: Any) -> None:
        """Queue a snapshot of ``aggregate`` as it is now (later changes do not reach it)."""
        snapshot = type(aggregate).Snapshot.take(aggregate)
        state = snapshot.state
        for key, value in state.items():
            state[key] = detached(value)
        with self._cond:
            if self._closed:
                return  # a save after close: its events are stored; a snapshot is optional
            self._queue.append(snapshot)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="snapshot-writer", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every snapshot taken so far is stored (or dropped); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._closed)
                if not self._queue:
                    return
                batch, self._queue = self._queue, []
                self._busy = True
            try:
                self._store_all(batch)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _store_all(self, batch: list[Any]) -> None:
        try:
            self._store.put(batch)
            return
        except IntegrityError:
            pass  # one of them is stored already: store the others one by one
        except Exception:
            log.exception("snapshot_failed")
            self.failures += len(batch)
            return
        for snapshot in batch:
            try:
                self._store.put([snapshot])
            except IntegrityError:
                continue  # the same version was snapshotted elsewhere: same state
            except Exception:
                log.exception("snapshot_failed")
                self.failures += 1
