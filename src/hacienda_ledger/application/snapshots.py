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
— or half the entries its state holds, when that is more (``SnapshotSchedule``). A register
that keeps few entries (receipts are remitted at least monthly) is snapshotted every
``interval`` events as before; one whose open receipts pile up is snapshotted at versions
that roughly double, so that snapshots never cost more than about two state entries per
event written, and loading replays no more events than twice the entries it starts from.

A snapshot already stored at that version (another process took it) is skipped; any other
failure is logged and the snapshot dropped. ``flush`` waits until everything taken is
stored; ``close`` flushes and stops the thread.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from eventsourcing.persistence import EventStore, IntegrityError

log = logging.getLogger(__name__)


def state_size(aggregate: Any) -> int:
    """How many entries the aggregate's collections hold (what its snapshot's size grows
    with); the library's own attributes (``_pending_events``...) are not state."""
    return sum(
        len(v)
        for k, v in vars(aggregate).items()
        if type(v) in (dict, list, tuple, set) and not k.startswith("_")
    )


class SnapshotSchedule:
    """When an aggregate is due a snapshot (see the module's docstring).

    The version of each aggregate's last snapshot is known for those this process
    snapshotted; for the others it is taken to be the last multiple of the interval before
    the save (where the library's own rule puts them). An aggregate is only saved under its
    write lock, so its entry is touched by one thread at a time."""

    def __init__(self) -> None:
        self._last: dict[Any, int] = {}

    def due(self, aggregate: Any, interval: int, first_new_version: int) -> bool:
        last = self._last.get(aggregate.id)
        if last is None:
            before = first_new_version - 1
            last = before - before % interval
        return bool(aggregate.version - last >= max(interval, state_size(aggregate) // 2))

    def taken(self, aggregate: Any) -> None:
        self._last[aggregate.id] = aggregate.version


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
