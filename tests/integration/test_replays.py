"""A retried request is answered from its idempotency record alone, on SQLite and
PostgreSQL: before any lock is taken or anything loaded (application/pipeline.py), so a
replay costs the same whatever the register's length. A key used for another request is
refused just as early; two requests racing with one key still meet at the save
(tests/integration/test_group_commit.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import pytest

from hacienda_ledger.aggregates.errors import IdempotencyKeyReused
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.ledger import Outcome
from hacienda_ledger.settings import Settings
from tests.conftest import Clock, Site


def receipt(ledger: Ledger, register_id: UUID, key: str, cents: int = 500) -> Outcome:
    return ledger.post_receipt(
        register_id,
        stay_id=None,
        method="cash",
        lines=[("other", cents)],
        actor="c",
        idempotency_key=key,
    )


@contextmanager
def reads_of(ledger: Ledger) -> Iterator[list[UUID]]:
    """The aggregate ids whose events or snapshots the ledger reads while inside (the real
    recorders, their reads noted on the way)."""
    seen: list[UUID] = []
    recorders = [ledger.recorder]
    if ledger.snapshots is not None:
        recorders.append(ledger.snapshots.recorder)
    for recorder in recorders:
        select = recorder.select_events

        def noted(originator_id: Any, *args: Any, _select: Any = select, **kw: Any) -> Any:
            seen.append(originator_id)
            return _select(originator_id, *args, **kw)

        recorder.select_events = noted  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        for recorder in recorders:
            del recorder.select_events  # the class's own method again


@pytest.fixture
def fresh(settings: Settings, clock: Clock) -> Iterator[Any]:
    """Ledgers opened on the same database as a restarted process would: nothing kept."""
    opened: list[Ledger] = []

    def open_one() -> Ledger:
        opened.append(Ledger(settings, clock=clock))
        return opened[-1]

    yield open_one
    for ledger in opened:
        ledger.close()


def test_a_replay_reads_the_record_and_nothing_of_the_register(ledger: Ledger, fresh: Any) -> None:
    """After a restart (a fresh ledger: no register kept), a retried receipt answers the
    recorded outcome — same number, version, position — having read the record's one event
    and no event or snapshot of the register (which here has a snapshot and events after)."""
    site = Site(ledger)
    register_id = site.register_id
    for k in range(70):  # past the tests' snapshot interval (50)
        receipt(ledger, register_id, f"k-{k}", 100 + k)
    first = receipt(ledger, register_id, "retried", 4242)
    assert ledger.snapshot_writer is not None and ledger.snapshot_writer.flush()
    restarted = fresh()
    with reads_of(restarted) as seen:
        again = receipt(restarted, register_id, "retried", 4242)
    assert again.replayed
    assert (again.aggregate_id, again.version, again.position) == (
        first.aggregate_id,
        first.version,
        first.position,
    )
    assert again.result == first.result
    assert register_id not in seen
    assert len(seen) == 1  # the record's event, nothing else
    assert restarted.cash_register(register_id).version == first.version  # nothing new


def test_a_replay_answers_while_the_registers_lock_is_held(ledger: Ledger) -> None:
    """Another writer holds the register's write lock (a long command, another process):
    a retried request still answers at once, from its record."""
    register_id = Site(ledger).register_id
    first = receipt(ledger, register_id, "held")
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with ledger.locks.hold_all([register_id]):
            taken.set()
            release.wait(timeout=30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert taken.wait(timeout=10)
        answers: list[Outcome] = []
        retry = threading.Thread(
            target=lambda: answers.append(receipt(ledger, register_id, "held"))
        )
        retry.start()
        retry.join(timeout=5)
        assert not retry.is_alive(), "the replay waited for the register's lock"
        (again,) = answers
        assert again.replayed and again.result["number"] == first.result["number"]
    finally:
        release.set()
        holder.join(timeout=30)
    assert receipt(ledger, register_id, "after").result["number"] == 2


def test_a_key_reused_for_another_request_is_refused_before_any_load(
    ledger: Ledger, fresh: Any
) -> None:
    """The same key with another body is ``idempotency_key_reused``, found from the record
    alone (no read of the register), and changes nothing."""
    register_id = Site(ledger).register_id
    first = receipt(ledger, register_id, "mine", 500)
    restarted = fresh()
    with reads_of(restarted) as seen, pytest.raises(IdempotencyKeyReused):
        receipt(restarted, register_id, "mine", 999)
    assert register_id not in seen and len(seen) == 1
    assert restarted.cash_register(register_id).version == first.version
    assert receipt(restarted, register_id, "mine", 500).result == first.result
