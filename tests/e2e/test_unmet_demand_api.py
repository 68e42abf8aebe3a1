"""Unmet demand through HTTP (issue 19): a family turned away is recorded on the aire by who
receives it, with no personal data, counted in the aire's occupancy, refused in a sealed
month and on bad input, changing nothing then."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from hacienda_ledger.aggregates.aire import Aire
from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger
from hacienda_ledger.settings import Settings
from tests.conftest import Clock
from tests.e2e.api_world import World, assert_problem, build_world


@pytest.fixture
def world(settings: Settings, ledger: Ledger, clock: Clock) -> Iterator[World]:
    with TestClient(create_app(settings, ledger=ledger)) as client:
        yield build_world(client, ledger, clock)


def unmet(world: World, who: str = "cashier", aire: str | None = None, **body: object):  # type: ignore[no-untyped-def]
    values: dict[str, object] = {
        "day": world.clock().date().isoformat(),
        "reason": "full",
        "caravans": 2,
        "people": 6,
    }
    values.update(body)
    return world.post(who, f"/v1/aires/{aire or world.aire_a}/unmet-demand", values)


def test_a_family_turned_away_is_recorded_and_counted_in_the_occupancy(world: World) -> None:
    """Two requests not met (full, then group too large) on aire A: 201 each with what was
    recorded; the month's occupancy counts them, by reason, with caravans and people."""
    first = world.ok(unmet(world))
    assert (first["reason"], first["caravans"], first["people"]) == ("full", 2, 6)
    assert first["aire_id"] == world.aire_a and first["position"] == world.position()
    world.ok(unmet(world, who="manager", reason="group_too_large", caravans=5, people=14))
    month = world.clock().date().isoformat()[:7]
    occupancy = world.ok(
        world.get("analyst", f"/v1/aires/{world.aire_a}/occupancy?month={month}"), 200
    )
    assert occupancy["unmet_demand"] == {
        "requests": 2,
        "caravans": 7,
        "people": 20,
        "by_reason": {"full": 1, "group_too_large": 1},
    }
    other = world.ok(world.get("analyst", f"/v1/aires/{world.aire_b}/occupancy?month={month}"), 200)
    assert other["unmet_demand"]["requests"] == 0


def test_the_event_names_nobody(world: World) -> None:
    """What is stored holds the day, the reason, caravans and people, and the actor: no
    household, no name, no free text."""
    world.ok(unmet(world))
    aire = world.ledger.aire(UUID(world.aire_a))
    events = list(world.ledger.events.get(aire.id))  # type: ignore[attr-defined]
    (recorded,) = [e for e in events if isinstance(e, Aire.UnmetDemandRecorded)]
    own = set(vars(recorded)) - {"originator_id", "originator_version", "timestamp"}
    assert own == {"day", "reason", "caravans", "people", "actor", "prev_hash", "hash"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "no_reason_given"}, "reason"),
        ({"caravans": 0}, "caravans"),
        ({"people": 201}, "people"),
        ({"name": "Famille X"}, "name"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(world: World, body: dict, field: str) -> None:
    """A reason outside the closed list, counts out of range, or a field naming anyone: 422,
    nothing recorded."""
    before = world.position()
    problem = assert_problem(unmet(world, **body), 422, "validation_error")
    assert field in str(problem)
    assert world.position() == before


def test_a_day_after_today_is_refused(world: World) -> None:
    """The day a family asked cannot lie in the future: 422 ``invalid_period``."""
    before = world.position()
    tomorrow = (world.clock() + timedelta(days=1)).date().isoformat()
    assert_problem(unmet(world, day=tomorrow), 422, "invalid_period")
    assert world.position() == before


def test_only_who_manages_stays_on_the_aire_records_it(world: World) -> None:
    """A cashier of another aire, an auditor and an analyst are refused (403)."""
    for who in ("cashier_b", "auditor", "analyst"):
        assert_problem(unmet(world, who=who), 403, "forbidden")
    world.ok(unmet(world, who="cashier_b", aire=world.aire_b))


def test_a_sealed_month_refuses_it(world: World) -> None:
    """Once the aire's January is sealed, a request not met dated in January is refused
    (409 ``period_sealed``, from the command's ``day`` as every dated fact), and nothing is
    recorded; February's is accepted."""
    ledger, clock = world.ledger, world.clock
    clock.now = datetime(2025, 2, 3, 9, 0, tzinfo=clock.now.tzinfo)
    aire_id = UUID(world.aire_a)
    ledger.close_period(
        UUID(world.register_a), period="month", day=date(2025, 1, 31), actor="regisseur"
    )
    ledger.seal_month(aire_id, month="2025-01", actor="manager")
    before = world.position()
    assert_problem(unmet(world, day="2025-01-20"), 409, "period_sealed")
    assert world.position() == before
    world.ok(unmet(world, day="2025-02-01"))
