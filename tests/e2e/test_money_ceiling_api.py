"""Receipts and charges at the edge of what money can be, through the API, on SQLite and
PostgreSQL (red-team D1, D2, D3): an advance paid while charges are due answers its receipt
(and a retry replays it) instead of a 500 after recording it; a charge or a receipt past the
ledger's one ceiling (``MAX_CENTS``) is refused 422 ``amount_too_large`` before anything is
recorded, a mistyped reading is then corrected; a unit price is bounded, and the projections
keep up."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger
from hacienda_ledger.settings import Settings
from tests.conftest import Clock
from tests.e2e.api_world import TARIFF, World, assert_problem, build_world


@pytest.fixture
def world(settings: Settings, ledger: Ledger, clock: Clock) -> Iterator[World]:
    with TestClient(create_app(settings, ledger=ledger)) as client:
        yield build_world(client, ledger, clock)


def test_an_advance_paid_while_charges_are_due_answers_its_receipt(world: World) -> None:
    """Given a stay owing 3.00 € for its day, when the cashier takes a 5.00 € advance, then
    the answer is 201 with receipt 1 (the advance is applied at once: 3.00 € paid, 2.00 €
    held); the same key again replays the same receipt, and no second one is issued."""
    stay = world.arrive()
    world.charge(stay)
    key = world.new_key()
    first = world.client.post(
        f"/v1/registers/{world.register_a}/receipts",
        json={
            "stay_id": stay,
            "method": "cash",
            "lines": [{"revenue_type": "advance", "amount_cents": 500}],
        },
        headers=world.headers("cashier", key),
    )
    answered = world.ok(first)
    expected = (1, [{"revenue_type": "advance", "amount_cents": 500}], 500, 2)
    actual = (answered["number"], answered["lines"], answered["total_cents"], answered["version"])
    assert expected == actual
    got = world.ok(world.get("cashier", f"/v1/stays/{stay}"), 200)
    assert (
        got["balance_due_cents"],
        got["advance_held_cents"],
        got["advance_applied_cents"],
    ) == (0, 200, 300)
    position = world.position()
    again = world.receipt([("advance", 500)], stay_id=stay, key=key)
    assert (answered, "true") == (world.ok(again), again.headers.get("Idempotent-Replayed"))
    register = world.ok(world.get("cashier", f"/v1/registers/{world.register_a}"), 200)
    assert (1, position) == (register["last_receipt_number"], world.position())


def test_a_mistyped_reading_is_refused_at_charging_then_corrected(world: World) -> None:
    """Given an electricity index typed 999 999 999 999 (a valid index), when charges are
    assessed, then 422 ``amount_too_large`` and nothing is recorded: there is nothing to
    settle (409 ``nothing_due``, no receipt). Once a reading corrects it (2 010 kWh), the day
    and 10 kWh are charged (5.28 €), settled by a receipt that reads back."""
    stay = world.arrive(electricity_index="2000")
    typo = {"meter": "electricity", "index": "999999999999", "read_at": world.now()}
    world.ok(world.post("cashier", f"/v1/stays/{stay}/meter-readings", typo))
    position = world.position()
    charging = world.post("cashier", f"/v1/stays/{stay}/charges", {"through": "2025-01-06"})
    assert_problem(charging, 422, "amount_too_large")
    settle = {"stay_id": stay, "method": "cash", "settle_balance": True}
    receipts = f"/v1/registers/{world.register_a}/receipts"
    assert_problem(world.post("cashier", receipts, settle, world.new_key()), 409, "nothing_due")
    assert position == world.position()

    (seq,) = [
        r["seq"]
        for r in world.ok(world.get("cashier", f"/v1/stays/{stay}"), 200)["readings"]
        if r["index"] == "999999999999"
    ]
    correction = {**typo, "index": "2010", "corrects": seq}
    world.ok(world.post("cashier", f"/v1/stays/{stay}/meter-readings", correction))
    charged = world.ok(
        world.post("cashier", f"/v1/stays/{stay}/charges", {"through": "2025-01-06"}), 200
    )
    assert charged["balance_due_cents"] == 528
    paid = world.ok(world.post("cashier", receipts, settle, world.new_key()))
    read_back = world.ok(world.get("cashier", f"{receipts}/{paid['number']}"), 200)
    assert (paid["total_cents"], read_back["total_cents"]) == (528, 528)


def test_unit_prices_are_bounded_and_a_charge_past_the_ceiling_stalls_nothing(
    world: World,
) -> None:
    """A unit price past 1 000 € (the schema's old top, 999 999 999 999.99999999 €/kWh) is
    422 ``validation_error``; at 1 000 €/kWh, a reading at the top of the indexes makes a
    charge past the ceiling: 422 ``amount_too_large``, nothing recorded, and the journal, the
    revenue, the export and readiness still answer 200."""
    tariffs = f"/v1/aires/{world.aire_a}/tariffs"
    huge = {**TARIFF, "effective_from": "2025-01-06", "deliberation_ref": "DEL-HUGE"}
    top = {**huge, "electricity_price_per_kwh": "999999999999.99999999"}
    assert_problem(world.post("admin", tariffs, top), 422, "validation_error")
    world.ok(world.post("admin", tariffs, {**huge, "electricity_price_per_kwh": "1000"}))
    stay = world.arrive(electricity_index="0")
    reading = {"meter": "electricity", "index": "999999999999.99999999", "read_at": world.now()}
    world.ok(world.post("cashier", f"/v1/stays/{stay}/meter-readings", reading))
    position = world.position()
    charging = world.post("cashier", f"/v1/stays/{stay}/charges", {"through": "2025-01-06"})
    assert_problem(charging, 422, "amount_too_large")
    assert position == world.position()
    world.ok(world.receipt([("other", 123)]))
    answers = [
        world.get("auditor", f"/v1/registers/{world.register_a}/journal").status_code,
        world.get("manager", f"/v1/aires/{world.aire_a}/revenue?year=2025").status_code,
        world.get("manager", f"/v1/exports/cash_journal?aire_id={world.aire_a}").status_code,
        world.get("cashier", f"/v1/stays/{stay}").status_code,
        world.client.get("/ready").status_code,
    ]
    assert answers == [200, 200, 200, 200, 200]
