"""Register snapshots are copied under the write lock and stored by a thread of their own
(application/snapshots.py), on SQLite and PostgreSQL: what is stored is the register as it
was when the snapshot was taken, whatever happened to it since; a write does not wait for
the store; a snapshot already stored elsewhere is skipped; closing the ledger stores what
was queued."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from functools import reduce
from typing import Any
from uuid import UUID

import pytest

from hacienda_ledger.aggregates.aire import Aire
from hacienda_ledger.aggregates.errors import EmplacementUnavailable
from hacienda_ledger.aggregates.register import CashRegister, OutdatedSnapshot
from hacienda_ledger.aggregates.values import Composition
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.snapshots import SnapshotWriter, detached, state_size
from hacienda_ledger.settings import Settings
from tests.conftest import Clock, Site


class GatedStore:
    """The ledger's real snapshot store, whose writes wait until the gate opens."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.gate = threading.Event()
        self.writes = 0

    def put(self, snapshots: Sequence[Any]) -> Any:
        self.gate.wait(timeout=30)
        self.writes += 1
        return self.store.put(snapshots)


@contextmanager
def gated(ledger: Ledger) -> Iterator[GatedStore]:
    """The ledger's snapshot writer, on a store that holds its writes until released."""
    assert ledger.snapshots is not None and ledger.snapshot_writer is not None
    ledger.snapshot_writer.close()
    store = GatedStore(ledger.snapshots)
    ledger.snapshot_writer = SnapshotWriter(store)  # type: ignore[arg-type]
    try:
        yield store
    finally:
        store.gate.set()


def receipts(ledger: Ledger, register_id: UUID, n: int, cents: int = 300) -> None:
    for _ in range(n):
        ledger.post_receipt(
            register_id, stay_id=None, method="cash", lines=[("pitch_fee", cents)], actor="c"
        )


def replayed(ledger: Ledger, register_id: UUID, version: int) -> CashRegister:
    events = ledger.events.get(register_id, lte=version)
    register: CashRegister = reduce(lambda agg, e: e.mutate(agg), events, None)
    return register


def test_detached_copies_every_container_and_keeps_the_leaves() -> None:
    leaf = (1, "a")
    state = {"a": {"b": [leaf, {"c": {1, 2}}]}, "d": leaf}
    copy = detached(state)
    assert copy == state
    assert copy["a"] is not state["a"] and copy["a"]["b"] is not state["a"]["b"]
    assert copy["a"]["b"][1]["c"] is not state["a"]["b"][1]["c"]
    assert copy["d"] is leaf and copy["a"]["b"][0] is leaf


def test_the_snapshot_stored_is_the_register_when_taken_not_after(ledger: Ledger) -> None:
    """The writer is held while receipts go on being posted (the register's open receipts,
    balances and daily totals change in place): the write path does not wait for it, and the
    snapshot it stores at last is the register at the snapshot's version, equal to replaying
    its events up to there."""
    site = Site(ledger)
    register_id = site.register_id
    with gated(ledger) as store:
        version = ledger.cash_register(register_id).version
        receipts(ledger, register_id, 50 - version + 30)  # crosses 50: one snapshot queued
        assert store.writes == 0  # held, and the receipts went through
        store.gate.set()
        assert ledger.snapshot_writer is not None and ledger.snapshot_writer.flush()
    assert ledger.snapshots is not None
    (snapshot,) = list(ledger.snapshots.get(register_id))
    assert snapshot.originator_version == 50
    from_snapshot = snapshot.mutate(None)
    assert from_snapshot == replayed(ledger, register_id, 50)
    assert len(from_snapshot.open_receipts) < len(ledger.cash_register(register_id).open_receipts)


def test_a_snapshot_stored_already_is_skipped_and_the_others_stored(ledger: Ledger) -> None:
    """Two writers may snapshot the same version (each its own process): the second finds
    it stored, skips it, and still stores the other snapshots of its batch."""
    site = Site(ledger)
    register_id = site.register_id
    receipts(ledger, register_id, 60)
    writer = ledger.snapshot_writer
    assert writer is not None and writer.flush() and ledger.snapshots is not None
    register = ledger.cash_register(register_id)
    other = Site(ledger, code="49007-B").register_id
    receipts(ledger, other, 3)
    with gated(ledger) as store:
        assert ledger.snapshot_writer is not None
        ledger.snapshot_writer.take(ledger.cash_register(register_id, version=50))  # stored already
        ledger.snapshot_writer.take(register)
        ledger.snapshot_writer.take(ledger.cash_register(other))
        store.gate.set()
        assert ledger.snapshot_writer.flush()
        assert ledger.snapshot_writer.failures == 0
    versions = [s.originator_version for s in ledger.snapshots.get(register_id)]
    assert versions == [50, register.version]
    assert [s.originator_version for s in ledger.snapshots.get(other)] == [
        ledger.cash_register(other).version
    ]


def test_closing_the_ledger_stores_what_was_queued(ledger: Ledger) -> None:
    site = Site(ledger)
    with gated(ledger) as store:
        receipts(ledger, site.register_id, 60)
        store.gate.set()
        ledger.close()
    fresh = Ledger(ledger.settings)
    try:
        assert fresh.snapshots is not None
        assert [s.originator_version for s in fresh.snapshots.get(site.register_id)] == [50]
    finally:
        fresh.close()


def test_snapshots_grow_apart_as_the_registers_state_grows(ledger: Ledger) -> None:
    """Snapshots are every 50 events in tests while a register holds few entries. One whose
    open receipts pile up (never remitted: each receipt adds an entry) is snapshotted once
    it has gone half its entries past the last snapshot: versions that roughly double, so
    that a snapshot costs about two entries per event written — four snapshots over 400
    receipts instead of eight."""
    site = Site(ledger)
    register_id = site.register_id
    receipts(ledger, register_id, 400)
    writer = ledger.snapshot_writer
    assert writer is not None and writer.flush() and ledger.snapshots is not None
    versions = [s.originator_version for s in ledger.snapshots.get(register_id)]
    assert versions[0] == 50 and len(versions) <= 4
    for before, version in zip([0, *versions], versions, strict=False):
        register = ledger.cash_register(register_id, version=version)
        assert version - before == max(50, state_size(register) // 2)


def test_an_aire_is_snapshotted_and_loads_from_its_snapshot_as_replayed(
    ledger: Ledger, site: Site
) -> None:
    """Given an aire with a team, a closure, an emplacement out of service and 60
    interventions (one event each on the aire; interval 50), when it is loaded afresh,
    then it starts from its snapshot (what a restart replays is the events after it) and
    equals the aire replayed from its events: team (keyed by user id), mode, emplacements,
    tuples, chain head."""
    from datetime import UTC, datetime

    from hacienda_ledger.aggregates.aire import Aire

    aire_id = site.aire_id
    worker, _ = ledger.create_user(
        name="intervenant X", role="intervenant", actor="admin", aire_ids=[aire_id]
    )  # in the aire's team from their creation (assigning them again: already_exists)
    today = ledger.clock().date()
    ledger.put_out_of_service(aire_id, number="2", start=today, reason="fuite", actor="m")
    at = datetime(2025, 1, 6, 8, tzinfo=UTC)
    for n in range(60):
        ledger.record_intervention(
            aire_id, kind="cleaning", started_at=at, description=f"tour {n}", actor="m"
        )
    writer = ledger.snapshot_writer
    assert writer is not None and writer.flush() and ledger.snapshots is not None
    stored = list(ledger.snapshots.get(aire_id))
    assert stored, "the aire was snapshotted"
    latest = stored[-1]
    aire = ledger.repository.get(aire_id)
    events = list(ledger.events.get(aire_id))
    assert aire.version - latest.originator_version < 50
    from_snapshot = latest.mutate(None)
    assert isinstance(from_snapshot, Aire)
    by_replay: Aire = reduce(
        lambda agg, e: e.mutate(agg), events[: latest.originator_version], None
    )
    assert vars(from_snapshot) == vars(by_replay)
    assert from_snapshot.team == {worker.aggregate_id: "intervenant"}
    assert len(aire.intervention_ids) == 60
    assert vars(aire) == vars(reduce(lambda agg, e: e.mutate(agg), events, None))


def test_an_aire_snapshot_knows_the_stay_that_left_each_emplacement_last(
    ledger: Ledger, site: Site, settings: Settings, clock: Clock
) -> None:
    """Stays left emplacements 1 (on 20 January) and 2 (on 15 January), then 60
    interventions (interval 50): the aire's snapshot holds which stay left each last and
    loads as replayed. A snapshot of the state before it (v1: no ``last_stays``, no class
    version) is not used (``OutdatedSnapshot``): a fresh ledger loads the aire from its
    events, and still refuses an arrival back-dated to a day a stay occupied emplacement 1."""
    aire_id = site.aire_id
    first, second = site.arrive("1"), site.arrive("2")
    for stay_id, day in ((second, 15), (first, 20)):
        clock.now = datetime(2025, 1, day, 9, tzinfo=UTC)
        ledger.depart(
            stay_id,
            departed_at=clock(),
            exit_inspection_ref="EDL-S-1",
            water_index=Decimal("100"),
            electricity_index=Decimal("2000"),
            actor="c",
        )
    for n in range(60):
        ledger.record_intervention(
            aire_id, kind="cleaning", started_at=clock(), description=f"tour {n}", actor="m"
        )
    writer = ledger.snapshot_writer
    assert writer is not None and writer.flush() and ledger.snapshots is not None
    latest = list(ledger.snapshots.get(aire_id))[-1]
    events = list(ledger.events.get(aire_id))
    by_replay: Aire = reduce(
        lambda agg, e: e.mutate(agg), events[: latest.originator_version], None
    )
    from_snapshot = latest.mutate(None)
    assert vars(from_snapshot) == vars(by_replay)
    assert from_snapshot.last_stays == {"1": first, "2": second}

    ledger.record_intervention(
        aire_id, kind="cleaning", started_at=clock(), description="once more", actor="m"
    )
    now = ledger.repository.get(aire_id)
    old = Aire.Snapshot.take(now)
    del old.state["last_stays"], old.state["class_version"]  # as a v1 ledger stored it
    ledger.snapshots.put([old])
    (stored_old,) = [
        s for s in ledger.snapshots.get(aire_id) if s.originator_version == now.version
    ]
    with pytest.raises(OutdatedSnapshot):
        stored_old.mutate(None)

    clock.now = datetime(2025, 1, 25, 9, tzinfo=UTC)
    fresh = Ledger(settings, clock=clock)
    try:
        aire = fresh.aire(aire_id)
        replayed = reduce(lambda agg, e: e.mutate(agg), fresh.events.get(aire_id), None)
        assert vars(aire) == vars(replayed)
        assert aire.last_stays == {"1": first, "2": second}
        with pytest.raises(EmplacementUnavailable) as refused:
            fresh.open_stay(
                aire_id,
                emplacement="1",
                household_ref=site.household("Famille Deux"),
                arrived_at=datetime(2025, 1, 10, 10, tzinfo=UTC),
                composition=Composition(2, ()),
                agreement_ref="COT-2",
                entry_inspection_ref="EDL-E-2",
                water_index=Decimal("100"),
                electricity_index=Decimal("2000"),
                actor="cashier",
            )
        assert "2025-01-10" in refused.value.detail
    finally:
        fresh.close()
