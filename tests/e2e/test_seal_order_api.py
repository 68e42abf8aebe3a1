"""Months are sealed in order, through the HTTP API, on SQLite and PostgreSQL: a month after
one the aire has not sealed (since it entered service) is refused, so that no month is left
frozen without a seal. The world (``api_world``) starts on Monday 6 January 2025; the clock
walks to March; nothing sleeps."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger
from hacienda_ledger.reports.generate import Reports, generate_month
from hacienda_ledger.settings import Settings
from tests.conftest import Clock
from tests.e2e.api_world import World, assert_problem, build_world


@pytest.fixture
def world(settings: Settings, ledger: Ledger, clock: Clock) -> Iterator[World]:
    with TestClient(create_app(settings, ledger=ledger)) as client:
        yield build_world(client, ledger, clock)


def test_february_is_refused_before_january_then_the_months_are_sealed_in_order(
    world: World,
) -> None:
    """On 1 March, with the register's February closed and January not: sealing February
    is 409 ``earlier_month_not_sealed`` and records nothing; January is 409
    ``month_not_closed`` until the register closes it. Then January, February and (on
    1 April) March are sealed, each chained to the one before, and listed in order."""
    stay = world.arrive()
    seals = f"/v1/aires/{world.aire_a}/seals"
    closures = f"/v1/registers/{world.register_a}/closures"
    world.clock.now = datetime(2025, 3, 1, 9, tzinfo=UTC)
    world.ok(world.post("cashier", f"/v1/stays/{stay}/charges", {"through": "2025-02-28"}), 200)
    world.ok(world.post("cashier", closures, {"period": "month", "date": "2025-02-28"}))
    before = world.position()
    refused = world.post("manager", seals, {"month": "2025-02"})
    problem = assert_problem(refused, 409, "earlier_month_not_sealed")
    assert [{"field": "month", "reason": problem["detail"]}] == problem["errors"]
    assert_problem(world.post("manager", seals, {"month": "2025-01"}), 409, "month_not_closed")
    assert before == world.position()
    assert world.ok(world.get("manager", seals), 200)["data"] == []
    world.ok(world.post("cashier", closures, {"period": "month", "date": "2025-01-31"}))
    january = world.ok(world.post("manager", seals, {"month": "2025-01"}))
    february = world.ok(world.post("manager", seals, {"month": "2025-02"}))
    world.clock.now = datetime(2025, 4, 1, 9, tzinfo=UTC)
    world.ok(world.post("cashier", f"/v1/stays/{stay}/charges", {"through": "2025-03-31"}), 200)
    world.ok(world.post("cashier", closures, {"period": "month", "date": "2025-03-31"}))
    march = world.ok(world.post("manager", seals, {"month": "2025-03"}))
    listed = world.ok(world.get("manager", seals), 200)["data"]
    expected = [
        ("2025-01", "0" * 64),
        ("2025-02", january["hash"]),
        ("2025-03", february["hash"]),
    ]
    assert expected == [(s["month"], s["prev_hash"]) for s in listed]
    assert march["hash"] == listed[-1]["hash"]


def test_the_registers_month_alert_names_the_month_the_seal_refuses(world: World) -> None:
    """On 1 March, with the register's February closed and January not: GET .../alerts
    lists January ``month_not_closed`` (February's closure does not cover it) and sealing
    January is 409 ``month_not_closed``; once the register closes January, the alert is
    gone and the seal of January is recorded."""
    seals = f"/v1/aires/{world.aire_a}/seals"
    closures = f"/v1/registers/{world.register_a}/closures"
    alerts = f"/v1/registers/{world.register_a}/alerts"
    world.clock.now = datetime(2025, 3, 1, 9, tzinfo=UTC)
    world.ok(world.post("cashier", closures, {"period": "month", "date": "2025-02-28"}))

    def months() -> list[str]:
        body = world.ok(world.get("cashier", alerts), 200)
        return [a["since"] for a in body["data"] if a["kind"] == "month_not_closed"]

    assert months() == ["2025-01-31"]
    assert_problem(world.post("manager", seals, {"month": "2025-01"}), 409, "month_not_closed")
    world.ok(world.post("cashier", closures, {"period": "month", "date": "2025-01-31"}))
    assert months() == []
    assert world.ok(world.post("manager", seals, {"month": "2025-01"}))["month"] == "2025-01"


def test_a_month_before_the_aire_entered_service_has_no_seal_nor_monthly_report(
    world: World,
) -> None:
    """Aire A entered service on 6 January 2025. On 1 February, with January closed and
    every stay charged: sealing December 2024 is 422 ``invalid_period`` (field ``month``)
    and records nothing, before and after January is sealed; no monthly report of December
    is built (for the aire named, or for every aire: none was in service), so none is
    listed; January's is a job for every aire."""
    seals = f"/v1/aires/{world.aire_a}/seals"
    world.clock.now = datetime(2025, 2, 1, 9, tzinfo=UTC)
    closures = f"/v1/registers/{world.register_a}/closures"
    world.ok(world.post("cashier", closures, {"period": "month", "date": "2025-01-31"}))
    for _ in range(2):
        before = world.position()
        refused = world.post("manager", seals, {"month": "2024-12"})
        problem = assert_problem(refused, 422, "invalid_period")
        assert [{"field": "month", "reason": problem["detail"]}] == problem["errors"]
        assert before == world.position()
        if not world.ok(world.get("manager", seals), 200)["data"]:
            world.ok(world.post("manager", seals, {"month": "2025-01"}))
    assert [s["month"] for s in world.ok(world.get("manager", seals), 200)["data"]] == ["2025-01"]

    assert generate_month(world.ledger, "2024-12", [UUID(world.aire_a)]) == []
    assert generate_month(world.ledger, "2024-12") == []
    listed = world.get("admin", "/v1/reports?kind=monthly&period=2024-12")
    assert world.ok(listed, 200)["data"] == []
    reports = Reports(world.ledger)
    assert {j.aire_id for j in reports.month_jobs("2025-01")} == set(reports.aire_ids())
