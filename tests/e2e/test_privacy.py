"""Analysts read anonymised figures only; deposits never count as revenue."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger
from hacienda_ledger.settings import Settings
from tests.conftest import Clock
from tests.e2e.api_world import World, build_world


@pytest.fixture
def world(settings: Settings, ledger: Ledger, clock: Clock) -> Iterator[World]:
    with TestClient(create_app(settings, ledger=ledger)) as client:
        yield build_world(client, ledger, clock)


def test_an_analyst_sees_no_stay_behind_an_emplacement(world: World) -> None:
    """The aire's emplacements show which stay occupies them to staff, never to analysts."""
    stay_id = world.arrive()
    path = f"/v1/aires/{world.aire_a}"
    staff = world.ok(world.get("manager", path), 200)["emplacements"]
    seen = world.ok(world.get("analyst", path), 200)["emplacements"]
    assert stay_id in {e["occupied_by_stay"] for e in staff}
    assert {e["occupied_by_stay"] for e in seen} == {None}


def test_deposits_are_not_revenue(world: World) -> None:
    """A deposit receipt shows in no revenue figure; a pitch-fee receipt does."""
    stay_id = world.arrive()
    world.deposit(stay_id)
    world.charge(stay_id, days=3)
    world.ok(world.receipt([("pitch_fee", 900)], stay_id=stay_id))
    year = world.clock().year
    data = world.ok(world.get("analyst", f"/v1/aires/{world.aire_a}/revenue?year={year}"), 200)[
        "data"
    ]
    assert {row["revenue_type"] for row in data} == {"pitch_fee"}
    assert sum(row["amount_cents"] for row in data) == 900
