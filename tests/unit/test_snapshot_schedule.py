"""SnapshotSchedule (application/snapshots.py): every ``interval`` events while the state is
small, half the state's entries apart as it grows, and never more than ``max_gap`` apart —
so that a load never replays more than ``max_gap`` events after the latest snapshot. Where
that snapshot is, the schedule learns from loads (``found``, ``lost``). No database."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID, uuid4

from eventsourcing.domain import Snapshot
from hypothesis import given
from hypothesis import strategies as st

from hacienda_ledger.application.snapshots import SnapshotSchedule


@dataclass
class Held:
    """An aggregate as the schedule sees it: an id, a version, a state of ``entries``."""

    version: int = 0
    id: UUID = field(default_factory=uuid4)
    entries: dict[int, int] = field(default_factory=dict)

    def grow(self, to: int) -> None:
        """The state holds ``to`` entries (added one by one: no rebuild of the whole)."""
        if to < len(self.entries):
            self.entries = {}
        for k in range(len(self.entries), to):
            self.entries[k] = 0


def written(schedule: SnapshotSchedule, held: Held, states: list[int], interval: int) -> list[int]:
    """The versions snapshotted while one event a save is written, the state growing to
    ``states[k]`` entries at the k-th event."""
    taken = []
    for size in states:
        held.version += 1
        held.grow(size)
        if schedule.due(held, interval, held.version):
            schedule.taken(held)
            taken.append(held.version)
    return taken


def test_the_gap_is_the_interval_then_half_the_state_then_the_cap() -> None:
    schedule = SnapshotSchedule(max_gap=300)
    held = Held()
    for entries, gap in [(10, 50), (100, 50), (101, 50), (240, 120), (600, 300), (10**5, 300)]:
        held.grow(entries)
        assert schedule.gap(held, 50) == gap
    assert SnapshotSchedule().gap(held, 50) == 50_000  # no cap: half the state


def test_a_growing_state_is_snapshotted_at_most_max_gap_events_apart() -> None:
    """A register whose open receipts pile up (an entry an event): without a cap the
    snapshots are taken at versions that double; with one, never more than the cap apart."""
    states = list(range(1, 3001))
    uncapped = written(SnapshotSchedule(), Held(), states, 50)
    capped = written(SnapshotSchedule(max_gap=400), Held(), states, 50)
    assert uncapped == [50, 100, 199, 397, 793, 1585]  # versions that double
    assert 3000 - uncapped[-1] > 1000  # what a load after a restart used to replay
    capped_gaps = [b - a for a, b in zip([0, *capped], capped, strict=False)]
    assert max(capped_gaps) == 400
    assert 3000 - capped[-1] < 400
    assert len(capped) < 3000 // 50  # still fewer snapshots than one per interval


@given(
    interval=st.integers(10, 200),
    max_gap=st.integers(10, 2000),
    growth=st.lists(st.integers(0, 40), min_size=1, max_size=1500),
)
def test_no_load_replays_more_than_the_larger_of_interval_and_cap(
    interval: int, max_gap: int, growth: list[int]
) -> None:
    """Whatever the state does, consecutive snapshots are at most max(interval, max_gap)
    events apart, and at least the interval."""
    states, size = [], 0
    for step in growth:
        size += step
        states.append(size)
    taken = written(SnapshotSchedule(max_gap=max_gap), Held(), states, interval)
    bound = max(interval, max_gap)
    for before, version in zip([0, *taken], taken, strict=False):
        assert interval <= version - before <= bound
    assert len(states) - (taken[-1] if taken else 0) < bound


def test_a_load_tells_where_the_latest_snapshot_is() -> None:
    """A process that has not snapshotted the register itself learns the latest snapshot's
    version from a load (instead of guessing the last multiple of the interval): a register
    loaded from a snapshot 900 events back is due at its next save."""
    schedule = SnapshotSchedule(max_gap=500)
    held = Held(version=10_000)
    held.grow(5000)
    assert not schedule.due(held, 100, 10_000)  # guessed: a snapshot at 9,900
    snapshot = Snapshot(
        originator_id=held.id, originator_version=9_100, timestamp=None, topic="x", state={}
    )  # type: ignore[arg-type]
    schedule.found(held.id, snapshot)
    assert schedule.due(held, 100, 10_000)
    schedule.taken(held)
    schedule.found(held.id, snapshot)  # an older load does not undo what was taken
    held.version += 1
    assert not schedule.due(held, 100, held.version)


def test_a_register_without_a_usable_snapshot_is_snapshotted_at_its_next_save() -> None:
    """Loaded from its first event (no snapshot stored), or its snapshot of an older shape
    (``lost``): the next save takes one in the current shape."""

    @dataclass
    class First:
        originator_version: int = 1

    schedule = SnapshotSchedule(max_gap=500)
    held = Held(version=700)
    schedule.found(held.id, First())
    assert schedule.due(held, 100, 701)
    other = Held(version=450)
    schedule.taken(other)
    other.version = 470
    assert not schedule.due(other, 100, 470)
    schedule.lost(other.id)
    assert schedule.due(other, 100, 470)
