"""The projections against the database, on SQLite and PostgreSQL: live tables equal a rebuild
and the in-memory fold, exactly once under SIGKILL, independent of how aires interleave, read
through the API, and rebuilt or checked from the command line.

Live tables are compared with a rebuild (``Follower.check``), with ``runner.fold`` over every
(position, event) pair of the stream, and, for balances, with ``aggregates.accounts.balances_of``
over every event: three ways to the same rows.
"""

from __future__ import annotations

import csv
import gc
import io
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast
from uuid import NAMESPACE_URL, UUID, uuid5

import hypothesis
import psycopg
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from hacienda_ledger.aggregates.accounts import balances_of, deposits, entry_for, receivable
from hacienda_ledger.aggregates.errors import LedgerError
from hacienda_ledger.aggregates.household import Profile
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.aggregates.stay import Stay
from hacienda_ledger.aggregates.values import Composition, paris_day
from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger, Outcome
from hacienda_ledger.application.projecting import (
    LedgerSource,
    all_projections,
    followers,
    projection_database,
    rebuild_all,
    shares,
)
from hacienda_ledger.projections.base import Key, Row, table
from hacienda_ledger.projections.gc_tuning import REBUILD_GC_THRESHOLD
from hacienda_ledger.projections.runner import (
    REBUILD,
    EventSource,
    Follower,
    Progress,
    Runner,
    _fold_all,
    _write_batch,
    fold,
    rebuild,
)
from hacienda_ledger.projections.store import COPY_FROM, PositionMoved, ProjectionDatabase
from hacienda_ledger.settings import Settings
from tests.conftest import Clock, Site, _truncate_postgres, standard_tariff
from tests.fixtures.make_events_v1 import scenario

ROOT = Path(__file__).resolve().parents[2]
METHODS = ("cash", "cheque", "card", "transfer")
Tables = dict[str, dict[Key, Row]]


# --- helpers --------------------------------------------------------------------------------


def all_events(ledger: Ledger) -> list[tuple[int, Any]]:
    """Every (position, event) of the stream, decoded as a follower decodes them."""
    source = LedgerSource(ledger)
    found: list[tuple[int, Any]] = []
    start = 1
    while True:
        batch = ledger.recorder.select_notifications(start=start, limit=500)
        if not batch:
            return found
        found.extend((n.id, source.decode(n)) for n in batch)
        start = batch[-1].id + 1


def live_tables(follower: Follower) -> Tables:
    """A projection's live rows, by table and key."""
    return {
        spec.name: {spec.key_of(r): r for r in follower.rows(spec.name)}
        for spec in follower.projection.tables
    }


def folded_tables(follower: Follower, events: Sequence[tuple[int, Any]]) -> Tables:
    """The same projection folded in memory over every event (not only its topics)."""
    memory = fold(type(follower.projection)(), events)
    return {
        spec.name: {spec.key_of(r): r for r in memory.rows(spec.name)}
        for spec in follower.projection.tables
    }


def by_name(chosen: Sequence[Follower]) -> dict[str, Follower]:
    return {f.projection.name: f for f in chosen}


def step_all(
    db: ProjectionDatabase,
    source: EventSource,
    cur: Any,
    works: Sequence[tuple[Follower, str]],
    limit: int,
) -> Progress:
    """One batch of several projections' rebuilds inside the caller's transaction, from each
    one's own position aside: each notification decoded once, each projection's rows and
    position written together (what a rebuild's batch does, without its writer thread)."""
    starts = {work: db.position(cur, work, lock=True) for _, work in works}
    progress, written = _fold_all(db, source, cur, works, limit, starts, None)
    _write_batch(db, cur, starts, written, progress.position)
    return progress


def receipt_line_counts(events: Sequence[tuple[int, Any]]) -> tuple[int, int]:
    """Lines of every receipt issued, and of every receipt cancelled."""
    issued = sum(len(e.lines) for _, e in events if isinstance(e, CashRegister.ReceiptIssued))
    cancelled = sum(len(e.lines) for _, e in events if isinstance(e, CashRegister.ReceiptCancelled))
    return issued, cancelled


def assert_counted_once(ledger: Ledger, chosen: Sequence[Follower]) -> None:
    """Nothing lost, nothing counted twice: every figure against the stream itself."""
    events = all_events(ledger)
    named = by_name(chosen)
    balances = {r["account"]: r["balance_cents"] for r in named["balances"].rows("balances")}
    assert balances == balances_of(e for _, e in events)
    assert sum(balances.values()) == 0
    postings = named["balances"].rows("postings")
    assert len(postings) == sum(len({p.account for p in entry_for(e)}) for _, e in events)
    net: Counter[tuple[int, str]] = Counter()
    for position, event in events:
        for p in entry_for(event):
            net[position, p.account] += p.amount_cents
    assert {(p["position"], p["account"]): p["amount_cents"] for p in postings} == net
    stays = {r["stay_id"] for r in named["balances"].rows("stays")}
    assert stays == {str(e.originator_id) for _, e in events if isinstance(e, Stay.Opened)}
    journal = named["cash_journal"].rows("cash_journal")
    kinds = Counter(r["kind"] for r in journal)
    issued, cancelled = receipt_line_counts(events)
    assert (kinds["receipt"], kinds["cancellation"]) == (issued, cancelled)
    heads = {r["register_id"]: r["version"] for r in named["cash_journal"].rows("journal_heads")}
    registers = {str(e.originator_id) for _, e in events if isinstance(e, CashRegister.Opened)}
    assert heads == {r: ledger.cash_register(UUID(r)).version for r in registers}
    # every register event has its journal line(s), and nothing else has any
    assert {(r["register_id"], r["version"]) for r in journal} == {
        (str(e.originator_id), e.originator_version)
        for _, e in events
        if isinstance(e, CashRegister.Event | CashRegister.Opened)
    }


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hacienda_ledger.cli", "--database-url", database_url, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
    )


class CatchingUp:
    """The ledger, with the followers caught up after a random fifth of its commands: the
    live tables are built step by step while the scenario runs, batches split anywhere."""

    def __init__(self, ledger: Ledger, chosen: Sequence[Follower], rng: random.Random) -> None:
        self._ledger = ledger
        self._followers = chosen
        self._rng = rng
        self.batches: Counter[int] = Counter()

    def catch_up(self) -> None:
        for follower in self._followers:
            follower.catch_up(on_batch=self._count)

    def _count(self, progress: Progress) -> None:
        self.batches[progress.events] += 1

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._ledger, name)
        if not callable(found):
            return found

        def call(*args: Any, **kwargs: Any) -> Any:
            result = found(*args, **kwargs)
            if isinstance(result, Outcome) and self._rng.random() < 0.2:
                self.catch_up()
            return result

        return call


def more_scenario(ledger: Ledger, clock: Clock) -> None:
    """A second aire after the fixture scenario: three stays, deposits, charges, receipts by
    every method, a cancellation (and two asked for: refused, withdrawn), a shortfall, a
    withholding, a remittance, departures, a receipt on the daylight-saving day, a day and a
    month closed; interventions (issue 18): a cleaning with its cost, a pest control planned
    then cancelled, an incident that keeps emplacement 4 out of service into April."""
    clock.now = datetime(2026, 3, 2, 8, tzinfo=UTC)
    site = Site(ledger, code="49099-B")
    reg = site.register_id
    stays = [
        site.arrive(n, composition=Composition(n_, (("0-3", 1),)))
        for n, n_ in (("1", 1), ("2", 2), ("3", 3))
    ]
    for stay, method in zip(stays, ("cash", "cheque", "cash"), strict=True):
        ledger.post_receipt(reg, stay_id=stay, method=method, lines=[("deposit", 15000)], actor="c")
        clock.advance(minutes=7)
    clock.advance(days=3)
    charged = [
        ledger.assess_charges(s, through=paris_day(clock()), actor="c").result["total_cents"]
        for s in stays
    ]
    assert all(c > 0 for c in charged)
    ledger.post_receipt(
        reg, stay_id=stays[0], method="card", lines=[("pitch_fee", charged[0])], actor="c"
    )
    wrong = ledger.post_receipt(
        reg, stay_id=stays[1], method="cheque", lines=[("pitch_fee", 900)], actor="c"
    ).result["number"]
    ledger.post_receipt(
        reg, stay_id=stays[2], method="transfer", lines=[("pitch_fee", 600)], actor="c"
    )
    ledger.post_receipt(
        reg, stay_id=None, method="cash", lines=[("other", 250), ("water", 175)], actor="c"
    )
    clock.advance(hours=2)
    ledger.cancel_receipt(reg, number=wrong, reason="chèque sans provision", actor="c")
    # cancellations asked for: one refused, one withdrawn (the receipts stand); an original
    ledger.request_cancellation(reg, number=wrong + 1, reason="doublon ?", actor="c")
    ledger.refuse_cancellation(reg, number=wrong + 1, reason="pas un doublon", actor="r")
    ledger.request_cancellation(reg, number=wrong + 2, reason="erreur", actor="c")
    ledger.withdraw_cancellation(reg, number=wrong + 2, actor="c")
    ledger.print_document(reg, document="receipt", number=wrong + 1, actor="c")
    book = ledger.cash_register(reg).balances["cash"]
    ledger.count_cash(reg, counted_cents=book - 50, actor="c")
    ledger.withhold_deposit(
        reg,
        stay_id=stays[1],
        amount_cents=charged[1],
        reason="unpaid_charges",
        reference="PV-1",
        actor="c",
    )
    register = ledger.cash_register(reg)
    last = register.last_number
    _, due = register.slip_preview(last)  # the slip pays in what its movements total
    assert (due["card"], due["transfer"]) == (charged[0], 600)
    ledger.remit(reg, through_receipt=last, amounts_by_method=due, actor="c")
    clock.advance(days=1)
    refunds = (
        (stays[0], 15000, "cash"),
        (stays[2], 15000, "cash"),
        (stays[1], 15000 - charged[1], "cheque"),
    )
    for stay, held, method in refunds:  # each leaves, settles its final bill, gets its deposit
        ledger.depart(
            stay,
            departed_at=clock(),
            exit_inspection_ref="EDL-S",
            water_index=Decimal("103.5"),
            electricity_index=Decimal("2042"),
            actor="c",
        )
        ledger.post_receipt(reg, stay_id=stay, method="card", settle_balance=True, actor="c")
        ledger.refund_deposit(reg, stay_id=stay, amount_cents=held, method=method, actor="c")
        clock.advance(minutes=30)
    ledger.record_reprint(reg, document="receipt", number=1, actor="c")
    ledger.record_reprint(reg, document="slip", number=1, actor="c")
    ledger.record_intervention(
        site.aire_id, kind="cleaning", started_at=clock(), description="sanitaires",
        cost_cents=4500, actor="m",
    )  # fmt: skip
    pest = ledger.record_intervention(
        site.aire_id, kind="pest_control", started_at=clock(), description="dératisation",
        status="planned", actor="m",
    ).aggregate_id  # fmt: skip
    ledger.set_intervention_status(pest, status="cancelled", actor="m")
    incident = ledger.record_intervention(
        site.aire_id, kind="incident", started_at=clock(), description="fuite",
        emplacements=["4"], status="planned", out_of_service=True, cost_cents=9000, actor="m",
    ).aggregate_id  # fmt: skip
    clock.advance(days=1)
    ledger.close_period(reg, period="day", day=paris_day(clock()) - timedelta(days=1), actor="c")
    # 29 March 2026 is the daylight-saving day in Paris: 01:30 UTC is 03:30 CEST that day
    clock.now = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    ledger.post_receipt(reg, stay_id=None, method="cheque", lines=[("other", 4200)], actor="c")
    clock.now = datetime(2026, 4, 1, 7, tzinfo=UTC)
    ledger.close_period(reg, period="month", day=date(2026, 3, 1), actor="c")
    clock.now = datetime(2026, 4, 3, 7, tzinfo=UTC)
    ledger.set_intervention_status(incident, status="done", actor="m")
    # issue 19: the first household moves on to the collectivité's aire in Loire-Atlantique
    far = ledger.create_aire(
        code="44109-C", name="Aire de Nantes", collectivite_id=site.collectivite_id,
        sector="Anjou", mode="regie", insee_code="44109", departement="44",
        latitude=Decimal("47.2184"), longitude=Decimal("-1.5536"), actor="m",
    ).aggregate_id  # fmt: skip
    ledger.add_emplacement(far, number="1", actor="m")
    ledger.open_stay(
        far, emplacement="1", household_ref=ledger.stay(stays[0]).household_ref,
        arrived_at=clock(), composition=Composition(2), agreement_ref="COT-9",
        entry_inspection_ref="EDL-E-9", water_index=Decimal(1), electricity_index=Decimal(1),
        actor="c",
    )  # fmt: skip


# --- 1. live equals rebuild equals fold ------------------------------------------------------


@pytest.mark.slow
def test_live_tables_built_during_a_long_scenario_equal_a_rebuild_and_the_fold(
    ledger: Ledger, clock: Clock
) -> None:
    """Caught up between commands in batches of 7, the live tables equal a fresh rebuild, the
    fold over every event, and (balances) the double entry over every event; ``rebuild`` gives
    the same rows and the live follower carries on over the swapped tables."""
    live = followers(ledger, batch_size=7)
    driver = CatchingUp(ledger, live, random.Random(20260101))
    scenario(cast(Ledger, driver), clock)
    more_scenario(cast(Ledger, driver), clock)
    driver.catch_up()
    # batches were cut at 7 events, and others ended at the stream's end
    assert driver.batches[7] > 0 and sum(n for k, n in driver.batches.items() if k < 7) > 0

    events = all_events(ledger)
    assert len(events) > 80
    end = ledger.last_position()
    built: dict[str, Tables] = {}
    for follower in live:
        name = follower.projection.name
        assert follower.position() == end, name
        built[name] = live_tables(follower)
        assert follower.check() == [], name
        assert built[name] == folded_tables(follower, events), name
        assert all(built[name].values()), f"{name}: an empty table"
    for follower in live:
        assert follower.rebuild() == end
    assert {f.projection.name: live_tables(f) for f in live} == built

    named = by_name(live)
    expected = balances_of(e for _, e in events)
    balances = {r["account"]: r["balance_cents"] for r in named["balances"].rows("balances")}
    assert sum(balances.values()) == 0
    checked = [a for a in expected if a.startswith(("receivable/", "deposits/"))]
    assert len(checked) >= 8
    for account in checked:
        assert balances[account] == expected[account], account
    assert balances == expected
    assert_counted_once(ledger, live)

    # the swapped-in tables are followed on: one more receipt, caught up, still no difference
    register = next(
        e.originator_id for _, e in reversed(events) if isinstance(e, CashRegister.Opened)
    )
    clock.now = datetime(2026, 4, 2, 9, tzinfo=UTC)
    ledger.post_receipt(register, stay_id=None, method="cash", lines=[("other", 100)], actor="c")
    for follower in live:
        assert follower.catch_up() == ledger.last_position()
        assert follower.check() == []
    assert_counted_once(ledger, live)


def test_one_pass_rebuild_of_every_projection_equals_their_rebuilds_one_by_one(
    ledger: Ledger, clock: Clock
) -> None:
    """``rebuild`` of every projection in one pass over the stream (each event decoded once,
    batches of 7) gives the rows and positions of rebuilding them one by one, and of the fold;
    it repairs a tampered live row; and a projection whose position aside is ahead of the
    others' folds only the events after it (nothing counted twice)."""
    scenario(ledger, clock)
    more_scenario(ledger, clock)
    events = all_events(ledger)
    end = ledger.last_position()
    one_by_one = followers(ledger, batch_size=7)
    for follower in one_by_one:
        assert follower.rebuild() == end
    expected = {f.projection.name: live_tables(f) for f in one_by_one}
    for follower in one_by_one:
        assert expected[follower.projection.name] == folded_tables(follower, events)
        assert all(expected[follower.projection.name].values())

    db = projection_database(ledger)
    with db.transaction() as cur:
        cur.execute("UPDATE balances SET balance_cents = balance_cents + 1")
        cur.execute("DELETE FROM cash_journal")
    batches: list[Progress] = []
    together = followers(ledger, batch_size=7)
    assert rebuild(together, batches.append) == {f.projection.name: end for f in together}
    assert {f.projection.name: live_tables(f) for f in together} == expected
    assert {f.projection.name: f.position() for f in together} == dict.fromkeys(expected, end)
    assert len(batches) >= 5 and batches[-1].position == end
    assert_counted_once(ledger, together)
    # keeping few rows in memory (tables demoted to reads from the database) changes nothing
    assert rebuild(together, batch_size=5, known_limit=10) == dict.fromkeys(expected, end)
    assert {f.projection.name: live_tables(f) for f in together} == expected
    with db.transaction() as cur:
        cur.execute("SELECT name FROM projection_tracking")
        assert sorted(r[0] for r in cur.fetchall()) == sorted(expected)

    # uneven positions aside: revenue's rebuild got ahead on its own; one pass finishes both
    named = by_name(together)
    revenue, balances = named["revenue"], named["balances"]
    works = [(f, f._fresh_tables(REBUILD)) for f in (balances, revenue)]
    middle = events[len(events) // 2][0]
    revenue.catch_up(suffix=REBUILD, name=works[1][1], stop=middle)
    source = LedgerSource(ledger)
    while True:
        with db.transaction() as cur:
            progress = step_all(db, source, cur, works, 5)
        if not progress.more:
            break
    for follower, work in works:
        assert follower._swap(work) == end
    assert {f.projection.name: live_tables(f) for f in together} == expected


def test_a_rebuild_shared_between_processes_equals_one_pass(ledger: Ledger, clock: Clock) -> None:
    """``rebuild_all(jobs=2)``: balances (the costliest), interventions and analytics (the
    lightest, each to the lighter share, the first on a tie) rebuilt in this process, the
    other four (intervention_list, issue 18, among them) in a forked one, each with its
    own connections — the same rows and positions as one pass, a tampered row repaired,
    nothing counted twice."""
    scenario(ledger, clock)
    more_scenario(ledger, clock)
    end = ledger.last_position()
    assert rebuild_all(ledger) == {p.name: end for p in all_projections()}
    expected = {f.projection.name: live_tables(f) for f in followers(ledger)}
    groups = shares(followers(ledger), 2)
    assert [[f.projection.name for f in g] for g in groups] == [
        ["balances", "interventions", "analytics"],
        ["cash_journal", "occupancy", "revenue", "intervention_list"],
    ]
    db = projection_database(ledger)
    with db.transaction() as cur:
        cur.execute("UPDATE balances SET balance_cents = balance_cents + 1")
        cur.execute("DELETE FROM cash_journal")
    batches: list[Progress] = []
    assert rebuild_all(ledger, on_batch=batches.append, jobs=2) == {
        p.name: end for p in all_projections()
    }
    chosen = followers(ledger)
    assert {f.projection.name: live_tables(f) for f in chosen} == expected
    assert batches and batches[-1].position == end  # this process's share reports
    assert_counted_once(ledger, chosen)
    for follower in chosen:
        assert follower.check() == []


def test_shares_balance_the_rebuild_cost() -> None:
    """The costliest projection first, each to the lightest group so far; never more groups
    than projections or than asked."""

    class Stub:
        def __init__(self, name: str, cost: int) -> None:
            self.projection = type("P", (), {"name": name, "rebuild_cost": cost})()

    stubs = [Stub("a", 1), Stub("b", 5), Stub("c", 3), Stub("d", 1)]
    named = lambda groups: [[f.projection.name for f in g] for g in groups]  # noqa: E731
    assert named(shares(stubs, 2)) == [["b"], ["c", "a", "d"]]  # type: ignore[arg-type]
    assert named(shares(stubs, 1)) == [["b", "c", "a", "d"]]  # type: ignore[arg-type]
    assert named(shares(stubs, 9)) == [["b"], ["c"], ["a"], ["d"]]  # type: ignore[arg-type]
    assert shares([], 2) == []


def test_a_position_aside_moved_during_a_one_pass_rebuild_drops_the_batch_folded_on_it(
    ledger: Ledger, clock: Clock
) -> None:
    """While a batch is written, the next is folded from the rows kept in memory. When
    another writer moves a position aside between two batches (here: the rebuild's own
    tables caught up by a follower, from the database), the next write finds it moved,
    writes nothing, and the rebuild goes on from the database's positions: the tables are
    those of rebuilding one by one, each event counted once."""
    scenario(ledger, clock)
    more_scenario(ledger, clock)
    end = ledger.last_position()
    one_by_one = followers(ledger, batch_size=7)
    for follower in one_by_one:
        assert follower.rebuild() == end
    expected = {f.projection.name: live_tables(f) for f in one_by_one}

    together = followers(ledger, batch_size=7)
    balances = by_name(together)["balances"]
    work = f"balances{REBUILD}"
    moved: list[int] = []

    def move_balances_aside(progress: Progress) -> None:
        if not moved and progress.position < end - 20:
            moved.append(balances.catch_up(suffix=REBUILD, name=work, stop=progress.position + 9))

    assert rebuild(together, move_balances_aside) == dict.fromkeys(expected, end)
    assert moved and moved[0] > 0
    assert {f.projection.name: live_tables(f) for f in together} == expected
    assert_counted_once(ledger, together)


def test_a_rebuild_collects_garbage_less_often_and_restores_the_collector(
    ledger: Ledger, clock: Clock
) -> None:
    """While ``rebuild`` runs, the young generation is collected every 100,000 allocations
    (not 700); the thresholds are restored afterwards, and a process tuned higher keeps its
    own."""
    scenario(ledger, clock)
    before = gc.get_threshold()
    seen: list[int] = []
    try:
        for start in (700, 200_000):
            gc.set_threshold(start, *before[1:])
            seen.clear()
            rebuild(followers(ledger, batch_size=7), lambda _: seen.append(gc.get_threshold()[0]))
            assert seen and set(seen) == {max(start, REBUILD_GC_THRESHOLD)}
            assert gc.get_threshold() == (start, *before[1:])
    finally:
        gc.set_threshold(*before)


def test_rows_copied_as_new_read_back_the_same_and_never_overwrite(ledger: Ledger) -> None:
    """``copy_new`` (PostgreSQL, enough rows of exact types) writes rows by COPY straight into
    the table; a key already there fails instead of being overwritten. Too few rows, values
    of another type (an int in a decimal column), or SQLite: nothing written, False."""
    db = projection_database(ledger)
    spec = table("copied_rows", {"k": "int"}, t="text", d="decimal", day="date", n="int")
    rows = [
        {"k": i, "t": f"t{i}", "d": Decimal(i) / 4, "day": date(2024, 1, 1 + i % 28), "n": None}
        for i in range(COPY_FROM)
    ]
    postgres = db.dialect == "postgres"
    with db.transaction() as cur:
        db.drop(cur, spec.name)
        db.create(cur, spec)
        assert not db.copy_new(cur, spec, rows[:-1])
        assert not db.copy_new(cur, spec, [{**r, "d": 1} for r in rows])
        assert db.copy_new(cur, spec, rows) == postgres
        assert db.select(cur, spec) == (rows if postgres else [])
    if postgres:
        with pytest.raises(psycopg.errors.UniqueViolation), db.transaction() as cur:
            db.copy_new(cur, spec, [{**r, "t": "again"} for r in rows])
        with db.transaction() as cur:
            assert db.select(cur, spec) == rows
    with db.transaction() as cur:
        db.drop(cur, spec.name)


def primary_keys(db: Any, names: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Each table's primary-key columns, as the database's catalog has them."""
    keys: dict[str, tuple[str, ...]] = {}
    with db.transaction() as cur:
        for name in names:
            if db.dialect == "postgres":
                cur.execute(
                    "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
                    "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                    "WHERE i.indrelid = to_regclass(%s) AND i.indisprimary "
                    "ORDER BY array_position(i.indkey::int2[], a.attnum)",
                    [name],
                )
                keys[name] = tuple(r[0] for r in cur.fetchall())
            else:
                cur.execute(f"PRAGMA table_info({name})")
                keyed = sorted((r[5], r[1]) for r in cur.fetchall() if r[5])
                keys[name] = tuple(n for _, n in keyed)
    return keys


def test_a_rebuild_keys_its_appended_tables_when_it_swaps_them_in(
    ledger: Ledger, clock: Clock
) -> None:
    """A one-pass rebuild on PostgreSQL fills the tables whose rows are only added
    (postings, journal lines, deposit movements) without their primary key, and keys them
    in the swap: while it runs they have none, afterwards every projection table has its
    own; the rows equal a rebuild one follower at a time (keyed all along)."""
    scenario(ledger, clock)
    db = projection_database(ledger)
    chosen = followers(ledger, batch_size=7)
    tables = {t.name: t.key for f in chosen for t in f.projection.tables}
    appended = {t for f in chosen for t in f.projection.appended}
    assert appended == {"postings", "cash_journal", "deposit_movements", "register_closures"}
    during: list[dict[str, tuple[str, ...]]] = []

    def look(progress: Progress) -> None:
        if not during:
            during.append(primary_keys(db, [t + REBUILD for t in tables]))

    rebuild(chosen, look)
    unkeyed = {t for t, key in during[0].items() if not key}
    if db.dialect == "postgres":
        assert unkeyed == {t + REBUILD for t in appended}
    else:  # SQLite cannot add a key to a table: its tables are keyed from the start
        assert unkeyed == set()
    assert primary_keys(db, list(tables)) == tables
    rebuilt = {f.projection.name: live_tables(f) for f in chosen}
    for follower in chosen:
        follower.rebuild()
    assert {f.projection.name: live_tables(f) for f in chosen} == rebuilt
    for follower in chosen:
        assert follower.check() == []


def test_a_journal_line_or_posting_is_never_written_twice(ledger: Ledger, clock: Clock) -> None:
    """Rows only added (journal lines, postings) are inserted, never upserted: a follower
    whose position was set back (a damaged tracking row) fails on the first line it would
    write again, and the rows stay as they were — nothing overwritten, nothing doubled."""
    scenario(ledger, clock)
    live = by_name(followers(ledger))
    journal = live["cash_journal"]
    journal.catch_up()
    before = live_tables(journal)
    db = projection_database(ledger)
    with db.transaction() as cur:
        db.set_position(cur, "cash_journal", 0)
    again = by_name(followers(ledger))["cash_journal"]
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        again.catch_up()
    assert live_tables(journal) == before
    with db.transaction() as cur:
        assert db.position(cur, "cash_journal") == 0


def indexes_of(db: Any, name: str) -> set[str]:
    """The secondary (non-unique) indexes of a table, by name."""
    with db.transaction() as cur:
        if db.dialect == "postgres":
            cur.execute(
                "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = to_regclass(%s) AND NOT i.indisunique",
                [name],
            )
            return {r[0] for r in cur.fetchall()}
        cur.execute(f"PRAGMA index_list({name})")
        return {r[1] for r in cur.fetchall() if not r[2]}


def test_an_accounts_postings_are_indexed_by_time_live_and_after_every_rebuild(
    ledger: Ledger, clock: Clock
) -> None:
    """``postings`` has an index on (account, recorded_at), what a balance as of an instant
    reads: created with the live table, built for the tables aside and renamed with them
    when they are swapped in (so a rebuild never finds the name taken), on both backends;
    on PostgreSQL the as-of query uses it."""
    scenario(ledger, clock)
    db = projection_database(ledger)
    name = "postings_account_recorded_at_idx"
    chosen = followers(ledger)
    assert indexes_of(db, "postings") == {name}
    for rebuilding in (lambda: rebuild(followers(ledger)), by_name(chosen)["balances"].rebuild):
        rebuilding()
        rebuilding()  # again: the names aside are free once swapped in
        assert indexes_of(db, "postings") == {name}
        assert indexes_of(db, "postings" + REBUILD) == set()
    assert by_name(chosen)["balances"].check() == []
    if db.dialect == "postgres":
        with db.transaction() as cur:
            cur.execute("SET LOCAL enable_seqscan = off")  # a small table: force the choice
            cur.execute(
                "EXPLAIN SELECT amount_cents FROM postings WHERE account = %s "
                "AND recorded_at <= %s",
                ["cash/x", "2025-01-01"],
            )
            plan = " ".join(r[0] for r in cur.fetchall())
        assert name in plan, plan


def test_positions_are_locked_and_advanced_together_or_not_at_all(ledger: Ledger) -> None:
    """A rebuild's batch locks and moves every position aside in one statement each
    (``lock_positions``, ``advance_many``): positions found where expected move, a name not
    tracked yet starts at zero, and one position moved by another writer fails the batch
    (``PositionMoved``), whose transaction then changes none of them."""
    db = projection_database(ledger)
    names = ["t_one", "t_two", "t_new"]
    with db.transaction() as cur:
        for name in names:
            cur.execute(f"DELETE FROM projection_tracking WHERE name = {db.mark}", [name])
        db.set_position(cur, "t_one", 5)
        db.set_position(cur, "t_two", 7)
    with db.transaction() as cur:
        assert db.lock_positions(cur, names) == {"t_one": 5, "t_two": 7, "t_new": 0}
        db.advance_many(cur, {"t_one": (5, 10), "t_two": (7, 10), "t_new": (0, 10)})
    with db.transaction() as cur:
        assert db.lock_positions(cur, names) == dict.fromkeys(names, 10)
    with pytest.raises(PositionMoved), db.transaction() as cur:
        db.advance_many(cur, {"t_one": (10, 20), "t_two": (9, 20), "t_new": (10, 20)})
    with db.transaction() as cur:
        assert db.lock_positions(cur, names) == dict.fromkeys(names, 10)
        for name in names:
            cur.execute(f"DELETE FROM projection_tracking WHERE name = {db.mark}", [name])


def test_rows_inserted_as_new_read_back_the_same_and_never_overwrite(ledger: Ledger) -> None:
    """``insert_new`` (a rebuild's added rows): by COPY from one row on PostgreSQL, by plain
    inserts where COPY cannot (SQLite, an int in a decimal column); into a table without
    its key as into a keyed one, where a key already there fails instead of being
    overwritten."""
    db = projection_database(ledger)
    spec = table("inserted_rows", {"k": "int"}, t="text", d="decimal", day="date")
    rows = [
        {"k": i, "t": f"t{i}", "d": Decimal(i) / 4, "day": date(2024, 1, 1 + i)} for i in range(3)
    ]
    mixed = [{**r, "k": r["k"] + 10, "d": 1} for r in rows]
    for keyed in (False, True):
        with db.transaction() as cur:
            db.drop(cur, spec.name)
            db.create(cur, spec, keyed=keyed)
            db.insert_new(cur, spec, rows[:1], spec.name)
            db.insert_new(cur, spec, rows[1:], spec.name)
            db.insert_new(cur, spec, mixed, spec.name)
            db.insert_new(cur, spec, [], spec.name)
            found = db.select(cur, spec)
        assert found == rows + [{**r, "d": Decimal(1)} for r in mixed]
        if keyed or db.dialect == "sqlite":
            with (
                pytest.raises(Exception, match=r"(?i)unique|duplicate"),
                db.transaction() as cur,
            ):
                db.insert_new(cur, spec, [{**rows[0], "t": "again"}], spec.name)
            with db.transaction() as cur:
                assert db.select(cur, spec) == found
    with db.transaction() as cur:
        db.drop(cur, spec.name)


def test_rows_written_in_one_statement_or_many_read_back_the_same(ledger: Ledger) -> None:
    """A batch of upserts reads back as written, None included, and updates rows that
    exist, whichever way PostgreSQL is given it: COPY into a stage for many rows, one
    statement of arrays for a few, one statement per row when a column mixes Python types
    (SQLite: one statement per row)."""
    db = projection_database(ledger)
    spec = table("typed_rows", {"k": "int"}, t="text", d="decimal", day="date", b="bool", n="int")
    many = [
        {
            "k": i,
            "t": f"t{i}",
            "d": Decimal(i) / 4,
            "day": date(2024, 1, 1 + i % 28),
            "b": i % 2 == 0,
            "n": None if i % 3 else i * 2**40,
        }
        for i in range(COPY_FROM + 10)
    ]
    few = [{**r, "k": -1 - r["k"]} for r in many[:20]]
    mixed = [{**r, "k": 10_000 + r["k"], "d": r["k"] if r["k"] % 2 else r["d"]} for r in many]
    again = [{**many[0], "t": "again", "n": None}, {**many[1], "b": None}]
    with db.transaction() as cur:
        db.drop(cur, spec.name)
        db.create(cur, spec)
        for rows in (many, few, mixed, again):
            db.write(cur, spec, [(spec.key_of(r), r) for r in rows])
        got = db.select(cur, spec)
        db.drop(cur, spec.name)
    expected = sorted([*few, *again, *many[2:], *mixed], key=lambda r: r["k"])
    assert got == [{**r, "d": Decimal(r["d"])} for r in expected]


# --- 2. exactly once under SIGKILL -----------------------------------------------------------


# The projection process of the crash test: follows the stream forever in small batches, each
# event slowed down so that a kill lands inside a batch as often as between two. (A script run
# with ``python -c``: it starts in a second, where a spawned process re-imports this module.)
FOLLOW_UNTIL_KILLED = """
import sys, time
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.projecting import followers
from hacienda_ledger.settings import Settings

url, batch_size, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
chosen = followers(Ledger(Settings(database_url=url, create_tables=False)), batch_size=batch_size)
for follower in chosen:
    def slowed(event, position, rows, apply=follower.projection.apply):
        time.sleep(delay)
        apply(event, position, rows)
    follower.projection.apply = slowed
while True:
    for follower in chosen:
        follower.catch_up()
    time.sleep(0.01)
"""


class Writer:
    """Random register and stay commands on one site, for the crash test."""

    def __init__(self, ledger: Ledger, clock: Clock, site: Site, rng: random.Random) -> None:
        self.ledger, self.clock, self.site, self.rng = ledger, clock, site, rng
        self.stays: list[UUID] = []
        self.commands = 0

    def step(self) -> None:
        ledger, reg, rng = self.ledger, self.site.register_id, self.rng
        self.clock.advance(minutes=rng.randint(1, 90))
        roll = rng.random()
        try:
            if roll < 0.55:
                stay = rng.choice([None, *self.stays])
                lines = [
                    (
                        rng.choice(("pitch_fee", "water", "electricity", "other")),
                        rng.randint(1, 999),
                    )
                    for _ in range(rng.randint(1, 3))
                ]
                ledger.post_receipt(
                    reg, stay_id=stay, method=rng.choice(METHODS), lines=lines, actor="c"
                )
            elif roll < 0.65:
                register = ledger.cash_register(reg)
                number = rng.randint(max(1, register.last_number - 5), max(1, register.last_number))
                ledger.cancel_receipt(reg, number=number, reason="erreur", actor="c")
            elif roll < 0.75 and len(self.stays) < 4:
                free = sorted({"1", "2", "3", "4"} - {self._place(s) for s in self.stays})
                stay = self.site.arrive(rng.choice(free))
                self.stays.append(stay)
                ledger.post_receipt(
                    reg, stay_id=stay, method="cash", lines=[("deposit", 15000)], actor="c"
                )
            elif roll < 0.85 and self.stays:
                stay = self.stays.pop(rng.randrange(len(self.stays)))
                ledger.assess_charges(stay, through=paris_day(self.clock()), actor="c")
                ledger.refund_deposit(
                    reg, stay_id=stay, amount_cents=15000, method="cash", actor="c"
                )
                ledger.depart(
                    stay,
                    departed_at=self.clock(),
                    exit_inspection_ref="EDL-S",
                    water_index=Decimal("101"),
                    electricity_index=Decimal("2010"),
                    actor="c",
                )
            elif roll < 0.93:
                book = ledger.cash_register(reg).balances["cash"]
                ledger.count_cash(reg, counted_cents=book + rng.randint(-200, 200), actor="c")
            else:
                register = ledger.cash_register(reg)
                _, amounts = register.slip_preview(register.last_number)
                ledger.remit(
                    reg,
                    through_receipt=register.last_number,
                    amounts_by_method=amounts or {"card": 0},
                    actor="c",
                )
        except LedgerError:
            pass
        self.commands += 1

    def _place(self, stay: UUID) -> str:
        return self.ledger.stay(stay).emplacement


@pytest.mark.slow
def test_a_projection_process_killed_at_random_moments_counts_every_event_once(
    ledger: Ledger, clock: Clock, site: Site, database_url: str
) -> None:
    """A follower process (batches of 3, slowed) is SIGKILLed three to five times at random
    moments while events are written, and restarted; ``hacienda-ledger project --once`` finishes.
    The tables equal a rebuild, and every figure equals the stream's: nothing lost, nothing
    counted twice."""
    started = time.monotonic()
    rng = random.Random(49007)
    writer = Writer(ledger, clock, site, rng)
    probe = by_name(followers(ledger))
    positions: list[int] = []
    kills_until = started + 40  # then no new kill is started: the test stays under a minute
    while len(positions) < 5 and (len(positions) < 3 or time.monotonic() < kills_until):
        proc = subprocess.Popen(
            [sys.executable, "-c", FOLLOW_UNTIL_KILLED, database_url, "3", "0.003"], cwd=ROOT
        )
        try:
            # let it get going (past where the last one died), then write for a random while
            # and kill it
            before = probe["cash_journal"].position()
            deadline = time.monotonic() + 15
            while probe["cash_journal"].position() <= before and time.monotonic() < deadline:
                writer.step()
                time.sleep(0.05)
            assert probe["cash_journal"].position() > before, "the follower never moved"
            until = time.monotonic() + rng.uniform(0.2, 1.0)
            while time.monotonic() < until:
                writer.step()
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        positions.append(probe["balances"].position())
    for _ in range(20):  # written while no follower runs
        writer.step()
    assert writer.commands > 40
    assert positions == sorted(positions) and 0 < positions[-1] < ledger.last_position()

    done = cli(database_url, "project", "--once")
    assert done.returncode == 0, done.stderr
    end = ledger.last_position()
    assert f"cash_journal: position {end}" in done.stdout
    chosen = followers(ledger)
    for follower in chosen:
        assert follower.position() == end
        assert follower.check() == [], follower.projection.name
    assert_counted_once(ledger, chosen)
    assert time.monotonic() - started < 60


# --- 3. interleaving across aires --------------------------------------------------------------

STAY = st.integers(0, 3)
ARRIVE = st.tuples(st.just("arrive"), st.sampled_from(("1", "2", "3", "4")))
OPS = st.one_of(
    ARRIVE,
    st.tuples(
        st.just("receipt"),
        st.none() | STAY,
        st.sampled_from(METHODS),
        st.sampled_from(("pitch_fee", "water", "electricity", "other")),
        st.integers(1, 5000),
    ),
    st.tuples(st.just("deposit"), STAY, st.sampled_from(METHODS)),
    st.tuples(st.just("cancel"), st.integers(1, 6)),
    st.tuples(st.just("refund"), STAY, st.integers(1, 15000), st.sampled_from(METHODS)),
    st.tuples(
        st.just("withhold"),
        STAY,
        st.integers(1, 15000),
        st.sampled_from(("damage", "unpaid_charges")),
    ),
    st.tuples(st.just("assess"), STAY),
    st.tuples(st.just("depart"), STAY),
    st.tuples(st.just("count"), st.integers(-500, 500)),
    st.tuples(st.just("remit")),
    st.tuples(st.just("close_day")),
)
START = datetime(2025, 3, 3, 7, tzinfo=UTC)


class Aire:
    """One aire of the interleaving test, its ids fixed by its label (so that two ledgers
    hold the same ids), its commands timed by their rank within the aire."""

    def __init__(self, ledger: Ledger, clock: Clock, label: str, minutes: int) -> None:
        self.ledger, self.clock, self.label, self.minutes = ledger, clock, label, minutes
        self.rank = 0
        self.stays: list[UUID] = []
        self.outcomes: list[str] = []
        code = f"HYP-{label}"
        self.tick()
        coll = ledger.create_collectivite(
            code=f"C-{code}", name=f"Collectivité {label}", siren="244900015", actor="admin"
        )
        self.aire_id = ledger.create_aire(
            code=code,
            name=f"Aire {label}",
            collectivite_id=coll.aggregate_id,
            sector="Anjou",
            mode="regie",
            insee_code="49007",
            departement="49",
            latitude=Decimal("47.4784"),
            longitude=Decimal("-0.5632"),
            actor="manager",
        ).aggregate_id
        for n in ("1", "2", "3", "4"):
            ledger.add_emplacement(self.aire_id, number=n, actor="manager")
        ledger.adopt_tariff(self.aire_id, standard_tariff(), actor="manager")
        self.register_id = ledger.open_register(
            self.aire_id,
            regie_ref=f"AC-{label}",
            float_cents=5000,
            cash_ceiling_cents=120000,
            payment_methods=list(METHODS),
            revenue_types=["pitch_fee", "water", "electricity", "deposit", "other"],
            actor="manager",
            register_id=uuid5(NAMESPACE_URL, f"register/{label}"),
        ).aggregate_id

    def tick(self) -> None:
        self.clock.now = START + timedelta(hours=5 * self.rank, minutes=self.minutes)
        self.rank += 1

    def stay(self, ref: int) -> UUID:
        if not self.stays:
            raise LookupError("no stay yet")
        return self.stays[ref % len(self.stays)]

    def run(self, op: tuple[Any, ...]) -> None:
        self.tick()
        try:
            self._run(op)
            self.outcomes.append("ok")
        except (LedgerError, LookupError) as exc:
            self.outcomes.append(getattr(exc, "code", "lookup"))

    def _run(self, op: tuple[Any, ...]) -> None:
        ledger, reg, kind = self.ledger, self.register_id, op[0]
        now = self.clock()
        if kind == "arrive":
            stay_id = uuid5(NAMESPACE_URL, f"stay/{self.label}/{self.rank}")
            household = uuid5(NAMESPACE_URL, f"household/{self.label}/{self.rank}")
            if not ledger.exists(household):
                ledger.record_household(
                    aire_id=self.aire_id,
                    profile=Profile(f"Famille {self.rank}"),
                    actor="cashier",
                    household_id=household,
                )
            ledger.open_stay(
                self.aire_id,
                emplacement=op[1],
                household_ref=household,
                arrived_at=now,
                composition=Composition(2, (("4-17", 1),)),
                agreement_ref="COT-1",
                entry_inspection_ref="EDL-E-1",
                water_index=Decimal("100"),
                electricity_index=Decimal("2000"),
                actor="cashier",
                stay_id=stay_id,
            )
            self.stays.append(stay_id)
        elif kind == "receipt":
            stay = None if op[1] is None else self.stay(op[1])
            ledger.post_receipt(reg, stay_id=stay, method=op[2], lines=[(op[3], op[4])], actor="c")
        elif kind == "deposit":
            ledger.post_receipt(
                reg, stay_id=self.stay(op[1]), method=op[2], lines=[("deposit", 15000)], actor="c"
            )
        elif kind == "cancel":
            ledger.cancel_receipt(reg, number=op[1], reason="erreur", actor="c")
        elif kind == "refund":
            ledger.refund_deposit(
                reg, stay_id=self.stay(op[1]), amount_cents=op[2], method=op[3], actor="c"
            )
        elif kind == "withhold":
            ledger.withhold_deposit(
                reg,
                stay_id=self.stay(op[1]),
                amount_cents=op[2],
                reason=op[3],
                reference="PV",
                actor="c",
            )
        elif kind == "assess":
            ledger.assess_charges(self.stay(op[1]), through=paris_day(now), actor="c")
        elif kind == "depart":
            ledger.depart(
                self.stay(op[1]),
                departed_at=now,
                exit_inspection_ref="EDL-S",
                water_index=Decimal("102.5"),
                electricity_index=Decimal("2031"),
                actor="c",
            )
        elif kind == "count":
            book = ledger.cash_register(reg).balances["cash"]
            ledger.count_cash(reg, counted_cents=max(0, book + op[1]), actor="c")
        elif kind == "remit":
            register = ledger.cash_register(reg)
            _, amounts = register.slip_preview(register.last_number)
            ledger.remit(
                reg,
                through_receipt=register.last_number,
                amounts_by_method=amounts or {"card": 0},
                actor="c",
            )
        else:
            ledger.close_period(
                reg, period="day", day=paris_day(now) - timedelta(days=1), actor="c"
            )


def project(
    ops_a: Sequence[tuple[Any, ...]], ops_b: Sequence[tuple[Any, ...]], order: Sequence[int]
) -> tuple[dict[str, list[tuple[tuple[str, str], ...]]], list[list[str]]]:
    """Run the two aires' commands in the given order on a fresh SQLite ledger; the rows of
    every projection table without their stream position (a multiset per table), and what
    each command answered."""
    with tempfile.TemporaryDirectory() as tmp:
        clock = Clock()
        ledger = Ledger(Settings(database_url=f"sqlite:///{tmp}/l.sqlite3"), clock=clock)
        try:
            aires = [Aire(ledger, clock, "A", 0), Aire(ledger, clock, "B", 7)]
            queues = [iter(ops_a), iter(ops_b)]
            for which in order:
                aires[which].run(next(queues[which]))
            tables: dict[str, list[tuple[tuple[str, str], ...]]] = {}
            for follower in followers(ledger, batch_size=5):
                follower.catch_up()
                for spec in follower.projection.tables:
                    tables[spec.name] = sorted(
                        tuple(sorted((k, repr(v)) for k, v in row.items() if k != "position"))
                        for row in follower.rows(spec.name)
                    )
            return tables, [a.outcomes for a in aires]
        finally:
            ledger.close()


@st.composite
def two_aires(
    draw: st.DrawFn,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[int]]:
    # each aire starts with an arrival, so that most commands have a stay to work on
    ops_a = [draw(ARRIVE), *draw(st.lists(OPS, min_size=1, max_size=12))]
    ops_b = [draw(ARRIVE), *draw(st.lists(OPS, min_size=1, max_size=12))]
    order = draw(st.permutations([0] * len(ops_a) + [1] * len(ops_b)))
    return ops_a, ops_b, list(order)


@pytest.mark.slow
@hypothesis.settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(two_aires())
def test_any_interleaving_of_two_aires_gives_the_rows_of_one_aire_after_the_other(
    case: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[int]],
) -> None:
    """Commands of aire A and aire B interleaved in any order give the same projection rows
    (but their positions) as A's commands then B's, every command answering the same."""
    ops_a, ops_b, order = case
    interleaved, answered = project(ops_a, ops_b, order)
    one_then_other, answered_in_sequence = project(
        ops_a, ops_b, [0] * len(ops_a) + [1] * len(ops_b)
    )
    assert answered == answered_in_sequence
    assert interleaved == one_then_other
    assert interleaved["cash_journal"] and interleaved["balances"]


# --- 4. the read routes ------------------------------------------------------------------------

ADMIN = {"Authorization": "Bearer t"}


def cents(text: str) -> int:
    """A French amount of the CSV ("1234,56", "-0,50") as cents."""
    assert re.fullmatch(r"-?\d+,\d\d", text), text
    return round(Decimal(text.replace(",", ".")) * 100)


@pytest.fixture
def client(settings: Settings, ledger: Ledger) -> Iterator[TestClient]:
    ledger.access.bootstrap_admin("t")
    with TestClient(create_app(settings, ledger=ledger)) as test_client:
        yield test_client


def test_journal_history_and_stay_balance_through_the_api(
    client: TestClient, ledger: Ledger, clock: Clock, site: Site
) -> None:
    """The cash journal in JSON and French CSV, filtered by Paris day; a register's history
    and a stay's balance as of instants between two movements; each write read back at once."""
    reg = site.register_id
    stay = site.arrive("1")
    keys = iter(range(1000))
    # money is the régisseur's (the admin handles no cash): its cancellation needs no approval
    regisseur = ledger.create_user(
        name="Régisseuse Anjou", role="regisseur", aire_ids=[site.aire_id], actor="t", token="r"
    )[0].aggregate_id

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = client.post(
            path,
            json=body,
            headers={"Authorization": "Bearer r", "Idempotency-Key": str(next(keys))},
        )
        assert response.status_code == 201, response.text
        found: dict[str, Any] = response.json()
        return found

    def journal(**params: str) -> list[dict[str, Any]]:
        response = client.get(f"/v1/registers/{reg}/journal", params=params, headers=ADMIN)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert body["count"] == len(body["data"])
        data: list[dict[str, Any]] = body["data"]
        return data

    posted: dict[int, list[tuple[str, int]]] = {}

    def receipt(at: datetime, stay_id: UUID | None, method: str, *lines: tuple[str, int]) -> int:
        clock.now = at
        body = {
            "stay_id": str(stay_id) if stay_id else None,
            "method": method,
            "lines": [{"revenue_type": t, "amount_cents": a} for t, a in lines],
        }
        number: int = post(f"/v1/registers/{reg}/receipts", body)["number"]
        posted[number] = list(lines)
        # read-your-writes: the journal answered right after the write holds it
        mine = [r for r in journal() if r["receipt_number"] == number and r["kind"] == "receipt"]
        assert [(r["revenue_type"], r["amount_in_cents"]) for r in mine] == list(lines)
        return number

    # Monday 6 January 2025 (Paris is UTC+1): the register opened at 09:00 Paris
    receipt(datetime(2025, 1, 6, 8, 10, tzinfo=UTC), stay, "cash", ("deposit", 15000))
    receipt(datetime(2025, 1, 6, 8, 30, tzinfo=UTC), None, "card", ("other", 1234), ("water", 567))
    # 23:30 in Paris, still the 6th; then 00:30 in Paris, already the 7th
    receipt(datetime(2025, 1, 6, 22, 30, tzinfo=UTC), None, "cheque", ("other", 1050))
    receipt(datetime(2025, 1, 6, 23, 30, tzinfo=UTC), None, "cash", ("electricity", 99))
    clock.now = datetime(2025, 1, 7, 9, tzinfo=UTC)
    post(f"/v1/registers/{reg}/receipts/3/cancellation", {"reason": "erreur de saisie"})
    (reversed_line,) = [r for r in journal() if r["kind"] == "cancellation"]
    assert (reversed_line["reason"], reversed_line["requested_at"]) == (
        "erreur de saisie",
        reversed_line["recorded_at"],
    )
    assert reversed_line["requested_by"] == reversed_line["approved_by"] == str(regisseur)
    clock.now = datetime(2025, 1, 9, 10, tzinfo=UTC)
    charged = ledger.assess_charges(stay, through=date(2025, 1, 8), actor="c").result["total_cents"]
    assert charged > 500
    receipt(datetime(2025, 1, 9, 11, tzinfo=UTC), stay, "card", ("pitch_fee", charged))
    clock.now = datetime(2025, 1, 9, 12, tzinfo=UTC)
    ledger.depart(  # the bill settled, the household leaves, and its deposit goes back
        stay,
        departed_at=clock(),
        exit_inspection_ref="EDL-S",
        water_index=Decimal("100"),
        electricity_index=Decimal("2000"),
        actor="c",
    )
    ledger.refund_deposit(reg, stay_id=stay, amount_cents=5000, method="cash", actor="c")

    # --- the journal in JSON: every line, filtered by Paris day -----------------------------
    rows = journal()
    assert [r["kind"] for r in rows] == [
        "opening",
        "receipt",
        "receipt",
        "receipt",
        "receipt",
        "receipt",
        "cancellation",
        "receipt",
        "deposit_refund",
    ]
    assert [r["version"] for r in rows] == sorted(r["version"] for r in rows)
    assert rows[-1]["balance_cash_cents"] == 5000 + 15000 + 99 - 5000
    assert rows[-1]["balance_card_cents"] == 1234 + 567 + charged
    assert rows[-1]["balance_cheque_cents"] == 0
    seventh = journal(**{"from": "2025-01-07", "to": "2025-01-07"})
    assert [(r["kind"], r["receipt_number"]) for r in seventh] == [
        ("receipt", 4),
        ("cancellation", 3),
    ]
    assert {r["day"] for r in seventh} == {"2025-01-07"}
    sixth = journal(to="2025-01-06")
    assert [r["receipt_number"] for r in sixth] == [None, 1, 2, 2, 3]
    assert {r["day"] for r in sixth} == {"2025-01-06"}
    assert [r["receipt_number"] for r in journal(**{"from": "2025-01-08"})] == [5, None]
    assert journal(**{"from": "2025-01-10"}) == []

    # --- the same journal in CSV, French conventions -----------------------------------------
    response = client.get(f"/v1/registers/{reg}/journal", params={"format": "csv"}, headers=ADMIN)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    text = response.content.decode("utf-8-sig")
    assert "\r\n" in text
    table = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    header, lines = table[0], table[1:]
    assert header[:8] == [
        "Date",
        "Heure",
        "N° quittance",
        "Opération",
        "Nature",
        "Mode",
        "Recette (€)",
        "Dépense (€)",
    ]
    assert len(lines) == len(rows) and all(len(line) == len(header) for line in lines)
    col = {name: header.index(name) for name in header}
    for line, row in zip(lines, rows, strict=True):
        assert re.fullmatch(r"\d\d/\d\d/\d{4}", line[col["Date"]])
        day, month, year = line[col["Date"]].split("/")
        assert f"{year}-{month}-{day}" == row["day"]
        assert cents(line[col["Recette (€)"]]) == row["amount_in_cents"]
        assert cents(line[col["Dépense (€)"]]) == row["amount_out_cents"]
        assert cents(line[col["Solde espèces (€)"]]) == row["balance_cash_cents"]
        assert line[col["Position"]] == str(row["position"])
    in_csv: dict[int, list[tuple[str, int]]] = {}
    for line in lines:
        if line[col["Opération"]] == "Quittance":
            in_csv.setdefault(int(line[col["N° quittance"]]), []).append(
                (line[col["Nature"]], cents(line[col["Recette (€)"]]))
            )
    natures = {
        "deposit": "Dépôt de garantie",
        "other": "Autre",
        "water": "Eau",
        "electricity": "Électricité",
        "pitch_fee": "Droit d'usage",
    }
    assert in_csv == {n: [(natures[t], a) for t, a in ls] for n, ls in posted.items()}
    assert [line[col["Recette (€)"]] for line in lines[1:4]] == ["150,00", "12,34", "5,67"]
    cancelled = next(line for line in lines if line[col["Opération"]].startswith("Annulation"))
    assert (cancelled[col["Date"]], cancelled[col["Dépense (€)"]]) == ("07/01/2025", "10,50")
    assert [
        cancelled[col[c]] for c in ("Motif", "Demandée par", "Demandée le", "Approuvée par")
    ] == [
        "erreur de saisie",
        "Régisseuse Anjou",
        "07/01/2025 10:00:00",
        "Régisseuse Anjou",
    ]
    assert cancelled[col["Agent"]] == "Régisseuse Anjou"
    late = next(line for line in lines if line[col["N° quittance"]] == "4")
    assert (late[col["Date"]], late[col["Heure"]]) == ("07/01/2025", "00:30:00")
    filtered = client.get(
        f"/v1/registers/{reg}/journal",
        params={"format": "csv", "from": "2025-01-07", "to": "2025-01-07"},
        headers=ADMIN,
    )
    assert len(list(csv.reader(io.StringIO(filtered.text.lstrip("\ufeff")), delimiter=";"))) == 3

    # --- the register as of an instant, replayed from its events -----------------------------
    def history(as_of: str) -> dict[str, Any]:
        response = client.get(
            f"/v1/registers/{reg}/history", params={"as_of": as_of}, headers=ADMIN
        )
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        assert found["verification"]["ok"] is True
        assert found["verification"]["problems"] == []
        return found

    noon = history("2025-01-06T12:00:00+01:00")  # between receipts 2 and 3
    assert (noon["receipt_count"], noon["last_receipt_number"]) == (2, 2)
    assert noon["balances"] == {
        "cash_cents": 20000,
        "cheque_cents": 0,
        "card_cents": 1801,
        "transfer_cents": 0,
    }
    assert noon["deposits_held_cents"] == 15000
    assert noon["verification"]["events"] == 3
    assert noon["head_hash"] == next(r["chain_hash"] for r in rows if r["receipt_number"] == 2)
    night = history("2025-01-07T00:45:00+01:00")  # after receipt 4, before the cancellation
    assert night["receipt_count"] == 4
    assert night["balances"]["cheque_cents"] == 1050
    later = history("2025-01-08T00:00:00Z")
    assert later["receipt_count"] == 4 and later["balances"]["cheque_cents"] == 0
    assert later["totals"]["cancellations"] == 1
    now = history("2025-02-01T00:00:00Z")
    assert now["head_hash"] == rows[-1]["chain_hash"]
    assert now["balances"] == {f"{m}_cents": rows[-1][f"balance_{m}_cents"] for m in METHODS}
    early = client.get(
        f"/v1/registers/{reg}/history", params={"as_of": "2025-01-01T00:00:00Z"}, headers=ADMIN
    )
    assert early.status_code == 404

    # --- a stay's balance as of an instant, and now ------------------------------------------
    def balance(as_of: str | None = None) -> tuple[int, int]:
        params = {"as_of": as_of} if as_of else {}
        response = client.get(f"/v1/stays/{stay}/balance", params=params, headers=ADMIN)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["stay_id"] == str(stay)
        return body["balance_due_cents"], body["deposit_held_cents"]

    assert balance("2025-01-06T08:05:00Z") == (0, 0)
    assert balance("2025-01-06T09:10:00+01:00") == (0, 15000)  # the deposit's very instant
    assert balance("2025-01-09T10:30:00Z") == (charged, 15000)
    assert balance("2025-01-09T11:00:00Z") == (0, 15000)  # the whole bill paid
    assert balance() == (0, 10000)
    account = ledger.stay_account(stay)
    assert balance() == (account["balance_due_cents"], account["deposit_held_cents"])
    assert receivable(stay) != deposits(stay)


# --- 5. the command line -----------------------------------------------------------------------


def test_rebuild_check_finds_a_tampered_row_and_rebuild_repairs_it(
    ledger: Ledger, clock: Clock, site: Site, database_url: str
) -> None:
    """Once followed, ``rebuild --check`` says 0 differences; after a live row is changed by
    SQL it exits 1
    and names the row; ``rebuild --jobs 2`` swaps fresh tables in and the check passes
    again."""
    reg = site.register_id
    stay = site.arrive("2")
    ledger.post_receipt(reg, stay_id=stay, method="cash", lines=[("deposit", 15000)], actor="c")
    clock.advance(days=2)
    ledger.assess_charges(stay, through=paris_day(clock()), actor="c")
    ledger.post_receipt(reg, stay_id=stay, method="card", lines=[("pitch_fee", 600)], actor="c")
    ledger.post_receipt(reg, stay_id=None, method="cheque", lines=[("other", 300)], actor="c")

    followed = cli(database_url, "project", "--once")  # a check compares live tables: build them
    assert followed.returncode == 0, followed.stdout + followed.stderr
    clean = cli(database_url, "rebuild", "--check")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "balances: 0 differences" in clean.stdout
    assert "cash_journal: 0 differences" in clean.stdout

    db = projection_database(ledger)
    account = f"cash/{reg}/card"
    with db.transaction() as cur:
        cur.execute(
            f"UPDATE balances SET balance_cents = balance_cents + 1 WHERE account = {db.mark}",
            [account],
        )
        assert cur.rowcount == 1
        cur.execute(
            f"DELETE FROM cash_journal WHERE register_id = {db.mark} AND receipt_number = 3",
            [str(reg)],
        )
        assert cur.rowcount == 1
    tampered = cli(database_url, "rebuild", "--check")
    assert tampered.returncode == 1, tampered.stdout + tampered.stderr
    assert "balances: 1 differences" in tampered.stdout
    assert "cash_journal: 1 differences" in tampered.stdout
    assert f"balances ('{account}',): live" in tampered.stdout
    assert "'balance_cents': 601" in tampered.stdout and "'balance_cents': 600" in tampered.stdout
    # receipt 3 is the register's fourth event (after its opening, receipts 1 and 2)
    assert f"cash_journal ('{reg}', 4, 0): live None rebuilt" in tampered.stdout

    repaired = cli(database_url, "rebuild", "--jobs", "2")  # shared between two processes
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    position = ledger.last_position()
    for name in ("balances", "cash_journal", "occupancy", "revenue"):
        assert f"{name}: rebuilt to position {position} and swapped in" in repaired.stdout
    again = cli(database_url, "rebuild", "--check")
    assert again.returncode == 0, again.stdout + again.stderr
    chosen = followers(ledger)
    named = by_name(chosen)
    card = [r for r in named["balances"].rows("balances") if r["account"] == account]
    assert [r["balance_cents"] for r in card] == [600]
    assert_counted_once(ledger, chosen)

    one = cli(database_url, "rebuild", "cash_journal", "--check")
    assert one.returncode == 0 and "balances" not in one.stdout


# --- the live followers' connection ------------------------------------------------------------


def test_the_live_followers_keep_one_connection_across_batches(
    ledger: Ledger, clock: Clock, site: Site
) -> None:
    """The follower thread of the API uses one connection for every follower and batch (a
    connection per batch and follower forked a PostgreSQL server process for each); after
    an error it drops it and opens a new one."""
    runner = Runner(followers(ledger, batch_size=4), interval=0.001)
    db = runner.followers[0].db
    opened = []
    connect = db.connect

    def counting_connect() -> Any:
        opened.append(1)
        return connect()

    db.connect = counting_connect  # type: ignore[method-assign]
    runner.start()
    try:
        for i in range(12):
            clock.advance(minutes=1)
            ledger.post_receipt(
                site.register_id, stay_id=None, method="cash", lines=[("other", 100 + i)], actor="c"
            )
            assert runner.wait(ledger.last_position(), timeout=10)
        assert len(opened) == 1
        source = runner.followers[0].source
        select = source.select
        failed = []

        def fail_once(*args: Any) -> Any:
            if not failed:
                failed.append(1)
                raise OSError("connection lost")
            return select(*args)

        source.select = fail_once  # type: ignore[method-assign]
        clock.advance(minutes=1)
        ledger.post_receipt(
            site.register_id, stay_id=None, method="cash", lines=[("other", 1)], actor="c"
        )
        assert runner.wait(ledger.last_position(), timeout=10)
    finally:
        runner.stop()
    assert runner.error is None and failed == [1]
    assert len(opened) == 2
    assert_counted_once(ledger, runner.followers)


@pytest.mark.postgres
def test_projection_commits_are_asynchronous_and_the_ledgers_are_not(
    postgres_database: str,
) -> None:
    """Projection rows are derived (a crash loses rows and tracking together, and the events
    are folded again), so their transactions do not wait for a WAL flush; the ledger's own
    commits — receipts — do, always."""
    _truncate_postgres(postgres_database)
    ledger = Ledger(Settings(database_url=postgres_database))
    try:
        db = followers(ledger)[0].db
        with db.transaction() as cur:
            cur.execute("SHOW synchronous_commit")
            assert cur.fetchone()[0] == "off"
        with ledger.recorder.datastore.get_connection() as conn:  # type: ignore[attr-defined]
            assert conn.execute("SHOW synchronous_commit").fetchone()["synchronous_commit"] == "on"
    finally:
        ledger.close()


# --- concurrency: check and rebuild while a live follower runs --------------------------------


def test_check_and_rebuild_while_the_live_followers_run(
    ledger: Ledger, clock: Clock, site: Site
) -> None:
    """The API's follower thread keeps the tables live while receipts are written; checks run
    meanwhile find no difference, and rebuilds swapped in meanwhile lose nothing and never
    move a projection's position back."""
    runner = Runner(followers(ledger, batch_size=4), interval=0.001)
    stop = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        rng = random.Random(7)
        try:
            while not stop.is_set():
                clock.advance(minutes=1)
                ledger.post_receipt(
                    site.register_id,
                    stay_id=None,
                    method=rng.choice(METHODS),
                    lines=[("other", rng.randint(1, 999))],
                    actor="c",
                )
                time.sleep(0.005)
        except BaseException as exc:  # reported below
            errors.append(exc)

    writer = threading.Thread(target=write)
    runner.start()
    writer.start()
    try:
        mine = followers(ledger, batch_size=50)
        for _ in range(3):
            for follower in mine:
                assert follower.check() == [], follower.projection.name
                before = follower.position()
                assert follower.rebuild() >= before
                assert follower.position() >= before
    finally:
        stop.set()
        writer.join(timeout=30)
        runner.stop()
    assert errors == []
    assert runner.error is None
    chosen = followers(ledger)
    for follower in chosen:
        assert follower.check() == []
    assert_counted_once(ledger, chosen)
