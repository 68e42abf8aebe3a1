"""Back-dated arrivals through the HTTP API, on SQLite and PostgreSQL: an arrival recorded
late is refused on a day its emplacement was occupied by a stay recorded on it (from that
stay's arrival to its departure, an open stay up to now: the new stay occupies it from its
arrival day up to now), with 409 ``emplacement_unavailable`` naming the day, and nothing
recorded. The days are walked with the test clock, from Monday 6 January 2025."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger
from hacienda_ledger.settings import Settings
from tests.conftest import Clock
from tests.e2e.api_world import World, assert_problem, build_world


@pytest.fixture
def world(settings: Settings, ledger: Ledger, clock: Clock) -> Iterator[World]:
    with TestClient(create_app(settings, ledger=ledger)) as client:
        yield build_world(client, ledger, clock)


def on(day: int, hour: int = 9) -> datetime:
    return datetime(2025, 1, day, hour, tzinfo=UTC)


def arrival(world: World, emplacement: str, day: int, household: str) -> Any:
    """A stay of ``household`` on ``emplacement``, arrived on ``day`` January at 10:00
    (recorded now)."""
    body = world.stay_body(emplacement, household_ref=household, arrived_at=on(day, 10).isoformat())
    return world.post("cashier", f"/v1/aires/{world.aire_a}/stays", body)


def admitted(world: World, emplacement: str, day: int) -> str:
    household = world.household(name=f"Famille {emplacement}-{day}")
    return str(world.ok(arrival(world, emplacement, day, household))["id"])


def departure(world: World, stay_id: str, day: int) -> None:
    """The household left on ``day`` January at 09:00 (recorded now)."""
    body = {
        "departed_at": on(day).isoformat(),
        "exit_inspection_ref": "EDL-S-001",
        "water_index": "100",
        "electricity_index": "2000",
    }
    world.ok(world.post("cashier", f"/v1/stays/{stay_id}/departure", body), 200)


def refused_on(world: World, emplacement: str, day: int) -> None:
    """An arrival on ``emplacement`` back-dated to ``day`` January: 409, naming the day,
    nothing recorded."""
    household = world.household(name=f"Famille {emplacement}-{day}")
    before = world.position()
    body = assert_problem(
        arrival(world, emplacement, day, household), 409, "emplacement_unavailable"
    )
    assert f"2025-01-{day:02d}" in body["detail"], body
    assert world.position() == before


def households_on(world: World, day: str) -> int:
    occupancy = world.ok(
        world.get("manager", f"/v1/aires/{world.aire_a}/occupancy?month=2025-01"), 200
    )
    (found,) = [d for d in occupancy["days"] if d["day"] == day]
    return int(found["households"])


def test_a_back_dated_arrival_on_a_day_its_emplacement_was_occupied_is_refused(
    world: World, clock: Clock
) -> None:
    """Emplacement 1: X from 6 January, left 20 January. Emplacement 2: Z from 6 January,
    its departure recorded on 25 January, back-dated to 15 January. Emplacement 3: A 6–8
    and B 12–14 January. On 25 January: arrivals back-dated to 10 or 19 January on 1, to
    14 January on 2, to 9 January on 3 (free that day, but the new stay would run through
    B's days) are refused, and 12 January still counts three households; back-dated to
    the day the last stay left (20 January on 1, 15 on 2, 14 on 3) they are admitted, and
    12 January still counts three."""
    x = world.arrive(emplacement="1")
    z = world.arrive(emplacement="2", household_ref=world.household(name="Famille Z"))
    a = world.arrive(emplacement="3", household_ref=world.household(name="Famille A"))
    clock.now = on(8, 12)
    departure(world, a, 8)
    clock.now = on(12, 12)
    b = admitted(world, "3", 12)
    clock.now = on(14, 12)
    departure(world, b, 14)
    clock.now = on(20, 12)
    departure(world, x, 20)
    clock.now = on(25, 12)
    departure(world, z, 15)

    for emplacement, day in (("1", 10), ("1", 19), ("2", 14), ("3", 9), ("3", 13)):
        refused_on(world, emplacement, day)
    assert households_on(world, "2025-01-12") == 3

    for emplacement, day in (("1", 20), ("2", 15), ("3", 14)):
        admitted(world, emplacement, day)
    assert households_on(world, "2025-01-12") == 3


def test_an_open_stay_holds_its_emplacement_from_its_arrival_day(
    world: World, clock: Clock
) -> None:
    """X arrived on emplacement 1 on 6 January and is still there: on 25 January an arrival
    back-dated to 10 January on 1 is refused (occupied); emplacement 2, never occupied,
    takes one back-dated to 10 January."""
    world.arrive(emplacement="1")
    clock.now = on(25, 12)
    refused_on(world, "1", 10)
    admitted(world, "2", 10)
