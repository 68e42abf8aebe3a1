"""What counts as the database being unavailable (503, not 500); how ``serve`` waits for a
server that does not answer: attempts, backoff and the one line said for each, on an
injected clock (no real waiting); and the command queue failing at once the jobs queued
behind a batch that the database failed."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence

import psycopg
import pytest
from eventsourcing.persistence import (
    ConnectionUnavailableError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
)
from psycopg_pool import PoolTimeout

from hacienda_ledger.application import outage
from hacienda_ledger.application.database import DatabaseUnreachable, reach
from hacienda_ledger.application.queue import CommandQueue, Job
from hacienda_ledger.settings import Settings
from tests.live_server import free_port


def wrapped(error: Exception, cause: Exception) -> Exception:
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("connection refused"),
        InterfaceError("the connection is closed"),
        ConnectionUnavailableError("Timed out waiting for return of writer"),
        PoolTimeout("couldn't get a connection after 1.00 sec"),
        psycopg.OperationalError("server closed the connection unexpectedly"),
        psycopg.InterfaceError("the connection is lost"),
        sqlite3.OperationalError("database is locked"),
        wrapped(OperationalError("database is locked"), sqlite3.OperationalError("locked")),
    ],
)
def test_a_database_that_cannot_be_had_is_unavailable(error: Exception) -> None:
    assert outage.unavailable(error)


@pytest.mark.parametrize(
    "error",
    [
        sqlite3.OperationalError("no such table: stored_events"),
        wrapped(OperationalError("no such table: x"), sqlite3.OperationalError("no such table")),
        IntegrityError("duplicate key"),
        ProgrammingError("syntax error"),
        ValueError("a fault of the program"),
    ],
)
def test_a_fault_is_not_unavailable(error: Exception) -> None:
    assert not outage.unavailable(error)


def test_retrying_tries_again_within_half_the_wait_only() -> None:
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("lost")
        return "done"

    assert outage.retrying(1.0, flaky) == "done"
    assert len(calls) == 3
    calls.clear()

    def down() -> str:
        calls.append(1)
        raise OperationalError("refused")

    with pytest.raises(OperationalError):
        outage.retrying(0.2, down)
    assert 1 <= len(calls) <= 3  # 0.1 s of retries, 0.05 s apart


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def unreachable() -> Settings:
    """A PostgreSQL URL on a port nothing listens on: refused at once."""
    return Settings(database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/ledger")


def test_serve_waits_with_backoff_saying_one_line_per_attempt() -> None:
    clock, said = Clock(), []
    settings = unreachable().model_copy(update={"start_wait_seconds": 20})
    with pytest.raises(DatabaseUnreachable) as raised:
        reach(settings, said.append, sleep=clock.sleep, clock=clock)
    assert clock.slept == [0.5, 1, 2, 4, 8]  # then 16 would pass the 20 s allowed
    assert [line.split(":")[0] for line in said] == [f"attempt {n}" for n in range(1, 6)]
    assert all("Connection refused" in line for line in said)
    assert said[0].endswith("trying again in 0.5 s")
    assert "gave up after 6 attempts in 16 s (HACIENDA_START_WAIT_SECONDS=20)" in str(raised.value)


def test_serve_waits_as_long_as_it_takes_by_default() -> None:
    """0 (the default): no end; the delay stops growing at 30 s. Interrupted here by the
    sleep itself after a dozen attempts."""
    clock, said = Clock(), []

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.slept) == 12:
            raise TimeoutError("enough")

    with pytest.raises(TimeoutError):
        reach(unreachable(), said.append, sleep=sleep, clock=clock)
    assert clock.slept == [0.5, 1, 2, 4, 8, 16, 30, 30, 30, 30, 30, 30]
    assert len(said) == 12


def test_a_reachable_database_is_one_attempt(tmp_path: object) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/ledger.sqlite3")
    assert reach(settings, pytest.fail) == 1


def queued_behind_a_failing_batch(error: Exception) -> tuple[list[list[str]], dict[str, str]]:
    """Job ``a`` leads a batch that fails with ``error`` once ``b`` and ``c`` queued behind
    it; returns the batches run and what each caller got."""
    ran: list[list[str]] = []
    leading, release = threading.Event(), threading.Event()

    def run_batch(jobs: Sequence[Job[str]]) -> None:
        ran.append([job.work for job in jobs])
        if len(ran) == 1:
            leading.set()
            release.wait(10)
            for job in jobs:
                job.fail(error)
        else:
            for job in jobs:
                job.succeed("done")

    queue: CommandQueue[str] = CommandQueue(run_batch, outage.unavailable)
    got: dict[str, str] = {}

    def call(work: str) -> None:
        try:
            got[work] = str(queue.run(work))
        except Exception as exc:
            got[work] = type(exc).__name__

    first = threading.Thread(target=call, args=("a",))
    first.start()
    assert leading.wait(10)
    others = [threading.Thread(target=call, args=(w,)) for w in ("b", "c")]
    for t in others:
        t.start()
    while queue.waiting < 2:
        time.sleep(0.001)
    release.set()
    for t in [first, *others]:
        t.join(10)
    return ran, got


def test_a_batch_failed_by_the_database_fails_the_jobs_queued_behind_it() -> None:
    """They would each wait for it, then lead a batch of their own that waits as long to
    fail: they fail with it at once, never run."""
    ran, got = queued_behind_a_failing_batch(OperationalError("refused"))
    assert ran == [["a"]]
    assert got == {"a": "OperationalError", "b": "OperationalError", "c": "OperationalError"}


def test_a_batch_failed_otherwise_leaves_the_queue_running() -> None:
    ran, got = queued_behind_a_failing_batch(ValueError("this command's own fault"))
    assert ran == [["a"], ["b", "c"]]
    assert got == {"a": "ValueError", "b": "done", "c": "done"}
