"""One process of a deployment runs the reports due and the retention purge
(application/leader.py): on both backends the first to ask leads, the others skip, and the
lock passes on when the leader lets it go — or, on PostgreSQL, when its connection dies."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from hacienda_ledger.application import Ledger
from hacienda_ledger.application.leader import BackgroundLeader
from hacienda_ledger.application.retention import RetentionSchedule
from hacienda_ledger.reports.generate import Scheduler
from hacienda_ledger.settings import Settings


def test_one_leader_at_a_time_and_the_lock_passes_on(settings: Settings) -> None:
    first, second = BackgroundLeader(settings), BackgroundLeader(settings)
    try:
        assert first.lead() and first.lead()
        assert not second.lead()
        first.close()
        assert second.lead()
        assert not first.lead()
    finally:
        first.close()
        second.close()


def test_a_database_in_memory_has_one_process() -> None:
    leader = BackgroundLeader(Settings(database_url="sqlite:///:memory:"))
    assert leader.lead() and BackgroundLeader(Settings(database_url="sqlite:///:memory:")).lead()
    leader.close()


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_leader_whose_connection_died_is_followed(settings: Settings) -> None:
    first, second = BackgroundLeader(settings), BackgroundLeader(settings)
    try:
        assert first.lead()
        with psycopg.connect(settings.database_url, autocommit=True) as admin:
            pid = first._conn.info.backend_pid
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))  # waits for it
        assert second.lead()  # the server let the lock go with the connection
        assert not first.lead()  # finds its connection gone, and the lock taken
    finally:
        first.close()
        second.close()


def test_jobs_skip_their_run_when_another_process_leads(ledger: Ledger) -> None:
    class Reports:
        ledger = None
        runs = 0

        def run_due(self, today: date) -> list[object]:
            self.runs += 1
            return []

    reports = Reports()
    led = {"now": False}
    scheduler = Scheduler(
        reports,  # type: ignore[arg-type]
        interval=3600,
        delay=3600,
        today=lambda: date(2025, 2, 1),
        may_run=lambda: led["now"],
    )
    assert scheduler.tick() == [] and reports.runs == 0
    led["now"] = True
    scheduler.tick()
    assert reports.runs == 1

    purges: list[object] = []
    retention = RetentionSchedule(
        ledger, 0.01, on_run=purges.append, may_run=lambda: bool(purges) is False and led["now"]
    )
    led["now"] = False
    retention.start()
    retention.stopping.wait(0.1)
    assert purges == [] and retention.runs == 0
    led["now"] = True
    retention.stopping.wait(0.2)
    retention.stop()
    assert len(purges) == 1 and retention.runs == 1
