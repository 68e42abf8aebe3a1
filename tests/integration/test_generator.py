"""The generator: deterministic for a seed, the bulk path records exactly the events of the
command path, and a generated world verifies, rebuilds, balances and stays 50–95 % full."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from hacienda_ledger.aggregates.aire import Aire
from hacienda_ledger.aggregates.household import Household
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.bulk import BulkWriter
from hacienda_ledger.application.idempotency import IdempotencyRecord
from hacienda_ledger.application.projecting import ProjectionQueries, followers
from hacienda_ledger.cli import main
from hacienda_ledger.generator import (
    GenerationSummary,
    generate,
    register_with_history,
)
from hacienda_ledger.settings import Settings
from tests.conftest import _truncate_postgres

IDEMPOTENCY = IdempotencyRecord.__module__
HOUSEHOLD = Household.__module__


def fresh(database_url: str, tmp_path: Path, name: str) -> Settings:
    """An empty database: a new SQLite file, or the PostgreSQL test database emptied."""
    if database_url.startswith("sqlite"):
        return Settings(database_url=f"sqlite:///{tmp_path}/{name}.sqlite3")
    _truncate_postgres(database_url)
    return Settings(database_url=database_url)


def stored(settings: Settings) -> list[tuple[str, int, str, bytes]]:
    """Every stored event in stream order (originator, version, topic, state bytes), less
    idempotency records (the command path keeps one per keyed posting; they are not events
    of the world)."""
    ledger = Ledger(settings)
    try:
        return [
            (str(n.originator_id), n.originator_version, n.topic, _content(ledger, n))
            for n in ledger.recorder.select_notifications(start=1, limit=10**7)
            if not n.topic.startswith(IDEMPOTENCY)
        ]
    finally:
        ledger.close()


def _content(ledger: Ledger, stored: Any) -> bytes:
    """The stored bytes; for household events, the content they decrypt to (their personal
    fields are sealed with a random key and nonce, so their bytes differ run to run)."""
    if not stored.topic.startswith(HOUSEHOLD):
        return bytes(stored.state)
    event = ledger.mapper.to_domain_event(stored)
    return repr(sorted((k, repr(v)) for k, v in vars(event).items())).encode()


def snapshots(settings: Settings, summary: GenerationSummary) -> list[tuple[int, str, Any]]:
    """The registers' snapshots: version, topic and stored state, less the time the
    snapshot was taken (the library stamps it with the wall clock)."""
    ledger = Ledger(settings)
    try:
        assert ledger.snapshots is not None
        found = []
        for register_id in summary.registers:
            for s in ledger.snapshots.recorder.select_events(register_id):
                state = json.loads(bytes(s.state))
                del state["timestamp"]
                found.append((s.originator_version, s.topic, state))
        return found
    finally:
        ledger.close()


def kinds(events: list[tuple[str, int, str, bytes]]) -> Counter[str]:
    return Counter(topic.rsplit(".", 1)[-1] for _, _, topic, _ in events)


SMALL: dict[str, Any] = dict(
    aires=2, years=2, seed=8, start_year=2024, first_day=date(2024, 10, 20), days=100
)


@pytest.mark.slow
def test_bulk_path_records_the_events_of_the_command_path(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same seed, one world through the Ledger command by command (locks, idempotency, one
    transaction each) and one through the bulk path (a transaction per simulated day): the
    same events, byte for byte and in the same stream order, and the same snapshots. The
    world spans a year end: tariff changes, extensions, withholdings, cancellations, an
    emplacement out of service, cash differences, remittances, day/month/year closures."""
    normal_settings = fresh(database_url, tmp_path, "normal")
    normal = generate(normal_settings, bulk=False, **SMALL)
    by_command = stored(normal_settings)
    by_command_snapshots = snapshots(normal_settings, normal)

    bulk_settings = fresh(database_url, tmp_path, "bulk")
    # Days larger than the limit are saved in several transactions: the same events still.
    monkeypatch.setattr(BulkWriter, "FLUSH_LIMIT", 50)
    bulk = generate(bulk_settings, bulk=True, **SMALL)
    in_bulk = stored(bulk_settings)

    assert in_bulk == by_command
    assert snapshots(bulk_settings, bulk) == by_command_snapshots
    assert len(by_command_snapshots) >= 2
    assert bulk.events == normal.events == len(in_bulk)
    found = kinds(in_bulk)
    for kind in (
        "TariffAdopted",
        "Extended",
        "DepositWithheld",
        "DepositRefunded",
        "ReceiptCancelled",
        "EmplacementOutOfService",
        "EmplacementBackInService",
        "CashShort",
        "RemittanceMade",
        "DayClosed",
        "MonthClosed",
        "YearClosed",
        "Departed",
        "UnmetDemandRecorded",
    ):
        assert found[kind] >= 1, kind
    assert found["YearClosed"] == 2  # one per register, on 1 January


def test_same_seed_same_events_and_another_seed_differs(database_url: str, tmp_path: Path) -> None:
    """Two generations with one seed into two databases store identical events (ids,
    versions, topics and state bytes, recorded times included), the second in another
    process with another string-hash seed; another seed gives other events."""
    world = dict(aires=3, years=1, start_year=2025, days=45)
    first = fresh(database_url, tmp_path, "first")
    generate(first, seed=11, **world)
    once = stored(first)
    second = fresh(database_url, tmp_path, "second")
    script = (
        "from hacienda_ledger.generator import generate\n"
        "from hacienda_ledger.settings import Settings\n"
        f"generate(Settings(database_url={second.database_url!r}), seed=11, **{world!r})\n"
    )
    subprocess.run(
        [sys.executable, "-c", script],
        check=True,
        timeout=300,
        env={**os.environ, "PYTHONHASHSEED": "4242"},
    )
    assert stored(second) == once
    assert len(once) > 1000
    other = fresh(database_url, tmp_path, "other")
    generate(other, seed=12, **world)
    differing = stored(other)
    assert differing != once
    assert {e[0] for e in differing}.isdisjoint({e[0] for e in once if "Stay" in e[2]})


def test_a_database_holding_a_world_is_refused(database_url: str, tmp_path: Path) -> None:
    """Generating twice into one database changes nothing the second time: it is refused
    as a mistake in what was given (exit 2)."""
    settings = fresh(database_url, tmp_path, "twice")
    world = dict(aires=1, years=1, seed=3, days=3)
    generate(settings, **world)
    before = stored(settings)
    args = ["demo", "generate", "--aires", "1", "--years", "1", "--seed", "3"]
    assert main(["--database-url", settings.database_url, *args]) == 2
    assert stored(settings) == before


@pytest.mark.slow
def test_a_generated_year_verifies_rebuilds_balances_and_is_50_to_95_percent_full(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`hacienda-ledger demo generate` for a year of 4 aires (8 to 38 emplacements, two
    summer closures, emplacements out of service), then `verify` (every chain intact) and
    `rebuild` (every projection builds from zero); the postings sum to zero; every aire's
    occupancy, read through the occupancy projection, is between 50 % and 95 % every
    month; some households pay ahead, and the advances the registers hold are what the
    advances accounts owe."""
    settings = fresh(database_url, tmp_path, "year")
    url = settings.database_url
    args = ["--database-url", url, "demo", "generate", "--aires", "4", "--years", "1"]
    assert main([*args, "--seed", "3", "--start-year", "2025"]) == 0
    out = capsys.readouterr().out
    assert "4 aires and registers" in out
    assert "events/s" in out

    assert main(["--database-url", url, "verify"]) == 0
    assert "4 registers verified, 0 broken" in capsys.readouterr().out
    assert main(["--database-url", url, "rebuild"]) == 0
    assert "occupancy: rebuilt" in capsys.readouterr().out
    found = kinds(stored(settings))
    assert found["ClosureScheduled"] == 2
    assert found["EmplacementOutOfService"] >= 1
    assert found["Extended"] >= 1
    # a few households pay ahead: advances received, applied by charges, the rest refunded
    assert found["AdvanceApplied"] >= 10
    assert found["AdvanceRefunded"] >= 1

    ledger = Ledger(settings)
    try:
        (balances,) = followers(ledger, ["balances"])
        spec = balances.projection.table("postings")
        with balances.db.transaction() as cur:
            postings = balances.db.select(cur, spec)
        assert len(postings) > 10_000
        assert sum(p["amount_cents"] for p in postings) == 0
        # what the registers hold as advances is the credit of the advances accounts
        held = sum(
            sum(ledger.cash_register(r).advances_by_method.values())
            for r in ledger.ids_of(CashRegister.Opened)
        )
        owed = -sum(p["amount_cents"] for p in postings if p["account"].startswith("advances/"))
        assert held == owed

        first_register = next(ledger.ids_of(CashRegister.Opened))
        # every slip pays in what its lines total (issue 15: 25 of 90 did not)
        slips = [
            e
            for e in ledger.events.get(first_register)
            if isinstance(e, CashRegister.RemittanceMade)
        ]
        assert len(slips) >= 12
        assert all(sum(x.amount_cents for x in s.lines or ()) == s.total_cents for s in slips)
        assert register_with_history(ledger, 1) == first_register
        with pytest.raises(ValueError, match="2 years"):
            register_with_history(ledger, 2)

        queries = ProjectionQueries(ledger)
        rates = []
        for aire_id in ledger.ids_of(Aire.Registered):
            for month in range(1, 13):
                figures = queries.occupancy(aire_id, f"2025-{month:02d}", date(2025, 12, 31))
                assert figures.occupancy_rate is not None
                rates.append(figures.occupancy_rate)
        assert len(rates) == 48
        assert all(0.5 <= rate <= 0.95 for rate in rates), rates
        assert max(rates) - min(rates) > 0.15  # seasons show
    finally:
        ledger.close()
