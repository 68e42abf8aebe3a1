"""Group commit: commands that queue together are run one after the other by the thread
that leads the batch, under their aggregates' locks, and saved in one transaction — on
SQLite and PostgreSQL. Each caller still gets its own outcome (number, version, position,
events), a refused command fails alone, and anything unusual falls back to one command at a
time (application/queue.py, application/pipeline.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import reduce
from typing import Any
from uuid import UUID

import pytest

from hacienda_ledger.aggregates.errors import (
    AlreadyExists,
    IdempotencyKeyReused,
    LedgerError,
    ReceiptNotFound,
)
from hacienda_ledger.aggregates.register import CashRegister, ReceiptLine
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.access import Permission, Scope
from hacienda_ledger.application.commands import Command
from hacienda_ledger.application.handling import Change, Unit, handles
from hacienda_ledger.application.ledger import Outcome
from hacienda_ledger.application.pipeline import Pipeline
from hacienda_ledger.settings import Settings
from tests.conftest import Clock, Site


class CountingLedger(Ledger):
    """A ledger that counts its saves (one save = one transaction)."""

    name = "Ledger"  # the same tables (the library names them after the application)

    def __init__(self, settings: Settings, clock: Clock) -> None:
        super().__init__(settings, clock=clock)
        self.saves = 0

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        self.saves += 1
        return super().save(*objs, **kwargs)


@pytest.fixture
def counting(settings: Settings, clock: Clock) -> Iterator[CountingLedger]:
    app = CountingLedger(settings, clock)
    yield app
    app.close()


def receipt(ledger: Ledger, register_id: UUID, key: str | None, cents: int = 500) -> Outcome:
    return ledger.post_receipt(
        register_id,
        stay_id=None,
        method="cash",
        lines=[("other", cents)],
        actor="c",
        idempotency_key=key,
    )


def queue_of(ledger: Ledger) -> Any:
    assert isinstance(ledger.writer, Pipeline)
    return ledger.writer.queue


@contextmanager
def queued(
    ledger: Ledger, register_id: UUID, calls: list[Callable[[], Outcome]]
) -> Iterator[list[Outcome | BaseException]]:
    """Hold the command queue while ``calls`` queue up in their threads, then let go: the
    first thread woken runs every queued command in one batch."""
    results: list[Outcome | BaseException] = [RuntimeError("not run")] * len(calls)

    def call(i: int) -> None:
        try:
            results[i] = calls[i]()
        except BaseException as error:
            results[i] = error

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(calls))]
    with queue_of(ledger).held():
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while queue_of(ledger).waiting < len(calls):
            assert time.monotonic() < deadline, "the commands did not queue"
            time.sleep(0.005)
    for t in threads:
        t.join(timeout=30)
    yield results


def test_queued_receipts_are_saved_in_one_transaction(counting: CountingLedger) -> None:
    site = Site(counting)
    register_id = site.register_id
    before = counting.saves
    calls = [lambda k=k: receipt(counting, register_id, f"g-{k}", 100 + k) for k in range(6)]
    with queued(counting, register_id, calls) as results:
        pass
    assert counting.saves - before == 1
    outcomes = [r for r in results if isinstance(r, Outcome)]
    assert len(outcomes) == 6
    # Each caller gets its own receipt: number, version, events and position of its event.
    stored = {e.originator_version: e for e in counting.events.get(register_id)}
    numbers = sorted(o.result["number"] for o in outcomes)
    assert numbers == [1, 2, 3, 4, 5, 6]
    for o in outcomes:
        (event,) = o.events
        assert isinstance(event, CashRegister.ReceiptIssued)
        assert event.number == o.result["number"]
        assert event.originator_version == o.version
        assert stored[o.version].number == event.number
        assert o.result["hash"] == event.hash
        assert counting.position_of(register_id, o.version) == o.position
    # The receipt of each key holds that key's amount: retries find their own receipt.
    for k in range(6):
        again = receipt(counting, register_id, f"g-{k}", 100 + k)
        assert again.replayed
        (mine,) = [o for o in outcomes if o.result["total_cents"] == 100 + k]
        assert again.result["number"] == mine.result["number"]
    assert counting.audit.verify_register(register_id).ok


def test_a_refused_command_fails_alone_in_its_batch(counting: CountingLedger) -> None:
    register_id = Site(counting).register_id
    before = counting.saves
    calls: list[Callable[[], Outcome]] = [
        lambda: receipt(counting, register_id, "r-1"),
        lambda: counting.cancel_receipt(
            register_id, number=99, reason="typo", actor="c", idempotency_key="r-2"
        ),
        lambda: receipt(counting, register_id, "r-3"),
    ]
    with queued(counting, register_id, calls) as results:
        pass
    assert isinstance(results[1], ReceiptNotFound)
    assert counting.saves - before == 1
    assert sorted(r.result["number"] for r in results if isinstance(r, Outcome)) == [1, 2]
    # The refused key was not recorded: the same request is refused again, not replayed.
    with pytest.raises(ReceiptNotFound):
        calls[1]()


def test_a_retried_key_in_a_batch_replays_and_the_others_are_recorded(
    counting: CountingLedger,
) -> None:
    site = Site(counting)
    register_id = site.register_id
    first = receipt(counting, register_id, "x-1")
    calls: list[Callable[[], Outcome]] = [
        lambda: receipt(counting, register_id, "x-2"),
        lambda: receipt(counting, register_id, "x-1"),  # a retry: replayed
        lambda: receipt(counting, register_id, "x-3"),
        lambda: receipt(counting, register_id, "x-3"),  # the same key twice in one batch
        lambda: receipt(counting, register_id, "x-2", cents=999),  # reused for another body
    ]
    with queued(counting, register_id, calls) as results:
        pass
    retried = results[1]
    assert isinstance(retried, Outcome) and retried.replayed
    assert retried.result["number"] == first.result["number"]
    x3 = [r for r in results[2:4] if isinstance(r, Outcome)]
    assert len(x3) == 2 and x3[0].result["number"] == x3[1].result["number"]
    assert isinstance(results[4], IdempotencyKeyReused)
    issued = [
        e for e in counting.events.get(register_id) if isinstance(e, CashRegister.ReceiptIssued)
    ]
    assert [e.number for e in issued] == [1, 2, 3]
    assert counting.audit.verify_register(register_id).ok


@dataclass(frozen=True)
class BreakHalfWay(Command):
    """A test double of a command: a receipt recorded, then a refusal."""

    register_id: UUID


@handles(
    BreakHalfWay,
    permission=Permission.HANDLE_CASH,
    scopes=lambda c: [Scope(register_id=c.register_id)],
    locks=lambda c, _: [c.register_id],
)
def break_half_way(command: BreakHalfWay, unit: Unit) -> Change:
    register = unit.cash_register(command.register_id)
    register.issue_receipt(
        aire_id=register.aire_id,
        stay_id=None,
        household_ref=None,
        method="cash",
        lines=(ReceiptLine("other", 100),),
        actor="c",
        at=unit.now(),
    )
    raise LedgerError("broke half way")


def test_a_batch_whose_command_broke_half_way_runs_one_by_one(counting: CountingLedger) -> None:
    """A command that recorded an event and then failed cannot be taken out of a batch: the
    batch is dropped and every command runs alone (the broken one fails alone)."""
    register_id = Site(counting).register_id
    before = counting.saves

    def broken() -> Outcome:
        return counting.handle(BreakHalfWay(register_id, actor="c", idempotency_key="b-2"))

    calls: list[Callable[[], Outcome]] = [
        lambda: receipt(counting, register_id, "b-1"),
        broken,
        lambda: receipt(counting, register_id, "b-3"),
    ]
    with queued(counting, register_id, calls) as results:
        pass
    assert counting.saves - before == 2  # one by one: the two receipts, each in its own
    assert isinstance(results[1], LedgerError) and str(results[1]) == "broke half way"
    assert sorted(r.result["number"] for r in results if isinstance(r, Outcome)) == [1, 2]
    assert counting.audit.verify_register(register_id).ok


@contextmanager
def saves_queued(ledger: Ledger, calls: list[Callable[[], Any]]) -> Iterator[list[Any]]:
    """Hold the command queue while ``calls`` queue, then let go: the first thread woken
    runs them all and records every save in one transaction."""
    results: list[Any] = [RuntimeError("not run")] * len(calls)

    def call(i: int) -> None:
        try:
            results[i] = calls[i]()
        except BaseException as error:
            results[i] = error

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(calls))]
    with queue_of(ledger).held():
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while queue_of(ledger).waiting < len(calls):
            assert time.monotonic() < deadline, "the saves did not queue"
            time.sleep(0.005)
    for t in threads:
        t.join(timeout=30)
    yield results


def test_saves_of_different_registers_share_one_transaction(counting: CountingLedger) -> None:
    ledger = counting
    registers = [Site(ledger, code=f"49007-{k}").register_id for k in range(4)]
    before = (counting.saves, queue_of(ledger).jobs)
    calls = [lambda r=r: receipt(ledger, r, f"m-{r}") for r in registers]
    with saves_queued(ledger, calls) as results:
        pass
    assert (counting.saves - before[0], queue_of(ledger).jobs - before[1]) == (1, 4)
    for register_id, outcome in zip(registers, results, strict=True):
        assert isinstance(outcome, Outcome)
        assert outcome.aggregate_id == register_id and outcome.result["number"] == 1
        (event,) = outcome.events
        assert event.originator_id == register_id
        assert ledger.position_of(register_id, outcome.version) == outcome.position
        assert ledger.audit.verify_register(register_id).ok
    positions = sorted(o.position for o in results)
    assert len(set(positions)) == 4


def test_a_refused_save_in_a_group_fails_alone(counting: CountingLedger) -> None:
    """A save the database refuses (here: a collectivité created again, its first event
    already stored) makes the batch record again command by command: the others are
    recorded, only the culprit fails (the database's refusal of a creation: AlreadyExists)."""
    ledger = counting
    sites = [Site(ledger, code=f"49007-{k}") for k in range(2)]
    registers = [site.register_id for site in sites]
    code = ledger.collectivite(ledger.aire(sites[0].aire_id).collectivite_id).code
    before = counting.saves
    calls: list[Callable[[], Any]] = [
        lambda: receipt(ledger, registers[0], "d-1"),
        lambda: ledger.create_collectivite(code=code, name="again", siren="244900015", actor="a"),
        lambda: receipt(ledger, registers[1], "d-2"),
    ]
    with saves_queued(ledger, calls) as results:
        pass
    assert isinstance(results[1], AlreadyExists)
    assert [r.result["number"] for r in (results[0], results[2])] == [1, 1]
    assert counting.saves - before == 1 + 3
    for register_id in registers:
        assert ledger.audit.verify_register(register_id).ok


def test_a_batch_crossing_the_snapshot_interval_snapshots_where_it_ends(
    counting: CountingLedger,
) -> None:
    """Snapshots are every 50 events in tests: a batch that goes from below 50 to past it is
    snapshotted at the version it reached (from the register in hand, no reload), and the
    register loaded from that snapshot equals its full replay."""
    register_id = Site(counting).register_id
    version = counting.cash_register(register_id).version
    for k in range(45 - version):
        receipt(counting, register_id, f"s-{k}")
    calls = [lambda k=k: receipt(counting, register_id, f"t-{k}") for k in range(10)]
    with queued(counting, register_id, calls):
        pass
    assert counting.snapshots is not None and counting.snapshot_writer is not None
    assert counting.snapshot_writer.flush()
    (snapshot,) = list(counting.snapshots.get(register_id))
    assert snapshot.originator_version == 55
    fresh = Ledger(counting.settings)
    try:
        loaded = fresh.cash_register(register_id)
        replayed = reduce(lambda agg, e: e.mutate(agg), fresh.events.get(register_id), None)
        assert loaded == replayed and loaded.version == 55
    finally:
        fresh.close()


class LockLostOnce:
    """The ledger's own locks, except that the first batch's lock cannot be had (a lost
    database connection, say)."""

    def __init__(self, locks: Any) -> None:
        self.locks = locks
        self.failed = threading.Event()
        self.release = threading.Event()

    @contextmanager
    def hold_all(self, keys: Any) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread() and not self.failed.is_set():
            self.release.wait(timeout=10)  # the others queue meanwhile
            self.failed.set()
            raise OSError("lock connection lost")
        with self.locks.hold_all(keys):
            yield

    def __getattr__(self, name: str) -> Any:
        return getattr(self.locks, name)


def test_a_leader_that_cannot_lock_fails_alone_and_hands_the_register_over(
    counting: CountingLedger,
) -> None:
    """The first caller leads, cannot get the register's lock and fails; the callers queued
    behind it are not left waiting: the oldest leads the next batch, which runs them all."""
    register_id = Site(counting).register_id
    lost = LockLostOnce(counting.locks)
    counting.locks = lost  # type: ignore[assignment]
    results: list[Outcome | BaseException] = [RuntimeError("not run")] * 4

    def call(i: int) -> None:
        try:
            results[i] = receipt(counting, register_id, f"l-{i}")
        except BaseException as error:
            results[i] = error

    first = threading.Thread(target=call, args=(0,))
    first.start()
    deadline = time.monotonic() + 10
    while not queue_of(counting).leading:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    others = [threading.Thread(target=call, args=(i,)) for i in (1, 2, 3)]
    for t in others:
        t.start()
    while queue_of(counting).waiting < 3:
        assert time.monotonic() < deadline, "the commands did not queue"
        time.sleep(0.005)
    before = counting.saves
    lost.release.set()
    for t in [first, *others]:
        t.join(timeout=30)
    assert isinstance(results[0], OSError)
    assert sorted(r.result["number"] for r in results[1:] if isinstance(r, Outcome)) == [1, 2, 3]
    assert counting.saves - before == 1  # the three in one batch
    assert not queue_of(counting).leading
    assert counting.audit.verify_register(register_id).ok


def test_a_batch_locking_more_aggregates_than_its_limit_runs_in_parts(
    counting: CountingLedger,
) -> None:
    """A batch holds one lock per aggregate it writes (a connection of the lock pool each on
    PostgreSQL): past ``Pipeline.MAX_LOCKS`` aggregates it is run in parts, each saved in
    one transaction."""
    registers = [Site(counting, code=f"49011-{k}").register_id for k in range(10)]
    assert Pipeline.MAX_LOCKS == 8
    before = counting.saves
    calls = [lambda r=r: receipt(counting, r, f"p-{r}") for r in registers]
    with saves_queued(counting, calls) as results:
        pass
    assert [r.result["number"] for r in results] == [1] * 10
    assert counting.saves - before == 2  # 8 registers, then 2
