"""Warm starts, on SQLite and PostgreSQL: a process that has not got a register in hand (the
first command after a restart) loads it from its latest snapshot and replays at most
``snapshot_max_gap`` events after it, however large its state has grown; a restarted
process learns where that snapshot is from the load, and takes the next one on time
(application/snapshots.py). Snapshots stay a shortcut: the register loaded is its full
replay, chain and numbering included."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import reduce
from typing import Any
from uuid import UUID

from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.application import Ledger
from hacienda_ledger.application import commands as c
from hacienda_ledger.application.snapshots import state_size
from hacienda_ledger.settings import Settings
from tests.conftest import Clock, Site


def receipts(ledger: Ledger, register_id: UUID, n: int) -> None:
    for k in range(n):  # never remitted: the open receipts pile up in the state
        ledger.post_receipt(
            register_id, stay_id=None, method="cash", lines=[("pitch_fee", 100 + k)], actor="c"
        )


@contextmanager
def events_read(ledger: Ledger, aggregate_id: UUID) -> Iterator[list[int]]:
    """How many of the aggregate's events the ledger reads (the real recorder, its answers
    counted on the way)."""
    counts: list[int] = []
    select = ledger.recorder.select_events

    def counted(originator_id: Any, *args: Any, **kw: Any) -> Any:
        found = select(originator_id, *args, **kw)
        if originator_id == aggregate_id:
            counts.append(len(found))
        return found

    ledger.recorder.select_events = counted  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        del ledger.recorder.select_events


def full_replay(ledger: Ledger, register_id: UUID) -> CashRegister:
    register: CashRegister = reduce(
        lambda agg, e: e.mutate(agg), ledger.events.get(register_id), None
    )
    return register


def snapshot_versions(ledger: Ledger, register_id: UUID) -> list[int]:
    assert ledger.snapshot_writer is not None and ledger.snapshot_writer.flush()
    assert ledger.snapshots is not None
    return [s.originator_version for s in ledger.snapshots.get(register_id)]


def opened(settings: Settings, clock: Clock, **changes: Any) -> Ledger:
    return Ledger(settings.model_copy(update=changes), clock=clock)


def test_a_fresh_ledger_replays_at_most_max_gap_events_after_the_snapshot(
    settings: Settings, clock: Clock
) -> None:
    """600 receipts never remitted: the state grows an entry a receipt, so half of it soon
    exceeds the cap (100 here) and the snapshots come every 100 events instead of at
    doubling versions. A fresh ledger loads the register replaying at most 100 events."""
    writer = opened(settings, clock, snapshot_max_gap=100)
    try:
        register_id = Site(writer).register_id
        receipts(writer, register_id, 600)
        versions = snapshot_versions(writer, register_id)
        last = writer.cash_register(register_id)
    finally:
        writer.close()
    assert state_size(last) // 2 > 100  # the cap, not half the state, set the gaps
    gaps = [b - a for a, b in zip([0, *versions], versions, strict=False)]
    assert max(gaps) <= 100
    fresh = opened(settings, clock, snapshot_max_gap=100)
    try:
        with events_read(fresh, register_id) as counts:
            loaded = fresh.cash_register(register_id)
        assert sum(counts) <= 100
        assert loaded == full_replay(fresh, register_id)
        assert loaded.version == last.version and loaded.last_number == 600
        assert fresh.audit.verify_register(register_id).ok
    finally:
        fresh.close()


def test_a_restarted_ledger_snapshots_a_register_left_far_past_its_snapshot(
    settings: Settings, clock: Clock
) -> None:
    """Written under the old rule (no cap), a register is left hundreds of events past its
    latest snapshot. The first receipt of a restarted ledger loads it, learns that, and
    takes a snapshot at once: the next restart replays nothing."""
    old = opened(settings, clock, snapshot_max_gap=10_000)
    try:
        register_id = Site(old).register_id
        receipts(old, register_id, 390)
        before = snapshot_versions(old, register_id)
        version = old.cash_register(register_id).version
    finally:
        old.close()
    assert version - before[-1] > 100
    restarted = opened(settings, clock, snapshot_max_gap=100)
    try:
        receipts(restarted, register_id, 1)
        assert snapshot_versions(restarted, register_id) == [*before, version + 1]
    finally:
        restarted.close()
    again = opened(settings, clock, snapshot_max_gap=100)
    try:
        with events_read(again, register_id) as counts:
            assert again.cash_register(register_id).version == version + 1
        assert sum(counts) == 0
    finally:
        again.close()


def test_a_users_first_command_reads_the_aires_registration_alone(
    ledger: Ledger, clock: Clock
) -> None:
    """A restarted process checks a cashier's scope from the aire's registration and the
    register's opening (what never changes), not from the aire's whole history."""
    site = Site(ledger)
    for n in range(5, 45):
        ledger.add_emplacement(site.aire_id, number=str(n), actor="manager")
    token = ledger.create_user(
        name="Caisse", role="cashier", aire_ids=[site.aire_id], actor="admin"
    )[1]
    fresh = Ledger(ledger.settings, clock=clock)
    try:
        user = fresh.access.authenticate(token)
        with events_read(fresh, site.aire_id) as counts:
            receipt = c.IssueReceipt(
                register_id=site.register_id,
                stay_id=None,
                method="cash",
                lines=[("pitch_fee", 300)],
                actor=str(user.id),
            )
            outcome = fresh.handle(receipt, user)
        assert outcome.result["number"] == 1
        assert counts == [1]  # its registration, of 45 events
    finally:
        fresh.close()
