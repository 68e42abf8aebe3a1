"""The régie's rules and their alerts through HTTP, on SQLite and PostgreSQL.

The world of ``api_world`` (aire A in Maine-et-Loire, its register opened with the default
rules on Monday 6 January 2025); the test clock is moved day by day, never slept on.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger
from hacienda_ledger.settings import Settings
from tests.conftest import Clock
from tests.e2e.api_world import World, assert_problem, build_world

DEFAULT_RULES = {
    "decision_ref": "AC-2024-07",
    "cash_ceiling_cents": 120000,
    "remittance_frequency": "monthly",
    "remittance_days": None,
    "cheque_working_days": 1,
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """This world's days run into April 2025: its users' tokens, issued in January, are
    issued for a year (90 days by default: they would expire on the way)."""
    return settings.model_copy(update={"token_expiry_days": 366})


@pytest.fixture
def world(settings: Settings, ledger: Ledger, clock: Clock) -> Iterator[World]:
    with TestClient(create_app(settings, ledger=ledger)) as client:
        yield build_world(client, ledger, clock)


def on(world: World, day: date, hour: int = 10) -> None:
    """The clock on that day (10:00 UTC: 11:00 or 12:00 in Paris)."""
    world.clock.now = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def alerts(world: World, who: str = "cashier", register: str | None = None) -> dict[str, Any]:
    path = f"/v1/registers/{register or world.register_a}/alerts"
    return world.ok(world.get(who, path), 200)


def kinds(body: dict[str, Any], *wanted: str) -> list[tuple[str, str]]:
    return [(a["kind"], a["status"]) for a in body["data"] if a["kind"] in wanted]


def test_a_register_is_opened_with_its_acts_rules_and_a_manager_changes_them(
    world: World,
) -> None:
    """Given a register opened with weekly remittances and 2 working days for cheques, when
    the manager records an amending act's rules (PUT .../rules), then the register shows
    them, ``RulesSet`` is recorded with its author, and nothing else moves; refused: a
    cashier, an auditor, a manager of another sector (403), rules that do not hold (422),
    an unknown register (404), all recording nothing."""
    body = {
        "regie_ref": "AC-2025-02",
        "float_cents": 2000,
        "cash_ceiling_cents": 50000,
        "payment_methods": ["cash", "cheque"],
        "revenue_types": ["pitch_fee", "deposit"],
        "remittance_frequency": "weekly",
        "cheque_working_days": 2,
    }
    created = world.ok(world.post("manager", f"/v1/aires/{world.aire_a}/registers", body))
    assert created["rules"] == {
        "decision_ref": "AC-2025-02",
        "cash_ceiling_cents": 50000,
        "remittance_frequency": "weekly",
        "remittance_days": None,
        "cheque_working_days": 2,
    }
    default = world.ok(world.get("auditor", f"/v1/registers/{world.register_a}"), 200)
    assert default["rules"] == DEFAULT_RULES
    path = f"/v1/registers/{created['id']}/rules"
    rules = {
        "decision_ref": "AM-2025-03",
        "cash_ceiling_cents": 80000,
        "remittance_frequency": "days",
        "remittance_days": 10,
        "cheque_working_days": 1,
    }
    changed = world.ok(world.put("manager", path, rules), 200)
    assert changed["rules"] == rules
    assert (changed["cash_ceiling_cents"], changed["version"]) == (80000, 2)
    assert changed["balances_cents"] == created["balances_cents"]
    assert changed["position"] == world.position()
    (event,) = world.ledger.events.get(UUID(created["id"]), gt=1)
    assert isinstance(event, CashRegister.RulesSet)
    assert event.actor == str(world.users["manager"]["id"])
    assert event.hash == changed["head_hash"]
    admin = world.ok(world.put("admin", path, rules | {"decision_ref": "AM-2025-04"}), 200)
    assert admin["rules"]["decision_ref"] == "AM-2025-04"
    before = world.position()
    for who in ("cashier", "auditor", "analyst"):
        assert_problem(world.put(who, path, rules), 403, "forbidden")
    assert_problem(
        world.put("manager", f"/v1/registers/{world.register_b}/rules", rules), 403, "forbidden"
    )
    without_days = rules | {"remittance_days": None}
    refused = world.put("manager", path, without_days)
    assert assert_problem(refused, 422, "invalid_value")["errors"][0]["field"] == "remittance_days"
    for bad in (
        {"cheque_working_days": 0},
        {"cheque_working_days": "1"},
        {"remittance_frequency": "yearly"},
        {"cash_ceiling_cents": 0},
        {"decision_ref": ""},
    ):
        assert_problem(world.put("manager", path, rules | bad), 422, "validation_error")
    unknown = world.put("admin", f"/v1/registers/{uuid4()}/rules", rules)
    assert_problem(unknown, 404, "register_not_found")
    assert world.position() == before


def test_a_cheque_is_due_by_the_next_working_day_over_easter_monday(world: World) -> None:
    """Given a cheque received on Friday 18 April 2025 in Maine-et-Loire, when the days
    pass, then GET .../alerts lists it as due through Tuesday 22 (the weekend and Easter
    Monday do not count) and late from Wednesday 23, with its number, amount, age and
    rule; once remitted it is gone. The months January to March, never closed, are listed
    late too."""
    on(world, date(2025, 4, 18))
    world.ok(world.receipt([("water", 4250)], method="cheque"))
    statuses = {}
    for offset in range(6):
        on(world, date(2025, 4, 18) + timedelta(days=offset))
        body = alerts(world)
        assert body["today"] == (date(2025, 4, 18) + timedelta(days=offset)).isoformat()
        statuses[offset] = kinds(body, "cheque_not_remitted")
    assert list(statuses.values()) == [[("cheque_not_remitted", "due")]] * 5 + [
        [("cheque_not_remitted", "late")]
    ]
    body = alerts(world, "auditor")
    cheque = next(a for a in body["data"] if a["kind"] == "cheque_not_remitted")
    assert cheque == {
        "kind": "cheque_not_remitted",
        "status": "late",
        "since": "2025-04-18",
        "due_on": "2025-04-22",
        "age_days": 5,
        "amount_cents": 4250,
        "rule": "cheques are remitted by the next working day (AC-2024-07)",
        "receipt_number": 1,
    }
    assert body["rules"] == DEFAULT_RULES and body["register_id"] == world.register_a
    months = [a["since"] for a in body["data"] if a["kind"] == "month_not_closed"]
    assert months == ["2025-01-31", "2025-02-28", "2025-03-31"]
    assert body["count"] == len(body["data"])
    remittance = {"through_receipt": 1, "amounts_by_method_cents": {"cheque": 4250}}
    path = f"/v1/registers/{world.register_a}/remittances"
    world.ok(world.post("regisseur", path, remittance, key=world.new_key()))
    assert kinds(alerts(world), "cheque_not_remitted", "remittance_overdue") == []


def test_the_cash_ceiling_and_a_month_without_remittance_are_noticed(world: World) -> None:
    """Given cash receipts on Friday 10 January 2025 reaching the 1,200.00 ceiling, then a
    remittance is due (the receipt's own answer says so too) through Monday 13 and late on
    Tuesday 14. Given a receipt kept unremitted, it is late on 11 February, the day after
    its month; a day not closed is late from the next day, until it is closed."""
    on(world, date(2025, 1, 10))
    first = world.ok(world.receipt([("pitch_fee", 60000)]))
    assert first["remittance_due"] is False
    assert kinds(alerts(world), "cash_ceiling_reached") == []
    second = world.ok(world.receipt([("pitch_fee", 60000)]))
    assert second["remittance_due"] is True
    body = alerts(world)
    (ceiling,) = [a for a in body["data"] if a["kind"] == "cash_ceiling_reached"]
    assert (ceiling["since"], ceiling["due_on"], ceiling["amount_cents"]) == (
        "2025-01-10",
        "2025-01-13",
        120000,
    )
    on(world, date(2025, 1, 13))
    assert kinds(alerts(world), "cash_ceiling_reached") == [("cash_ceiling_reached", "due")]
    on(world, date(2025, 1, 14))
    body = alerts(world, "manager")
    assert kinds(body, "cash_ceiling_reached", "day_not_closed") == [
        ("day_not_closed", "late"),
        ("cash_ceiling_reached", "late"),
    ]
    path = f"/v1/registers/{world.register_a}"
    remittance = {"through_receipt": 1, "amounts_by_method_cents": {"cash": 60000}}
    world.ok(world.post("regisseur", f"{path}/remittances", remittance, key=world.new_key()))
    closure = {"period": "day", "date": "2025-01-13"}
    world.ok(world.post("cashier", f"{path}/closures", closure))
    assert kinds(alerts(world), "cash_ceiling_reached", "day_not_closed") == []
    on(world, date(2025, 2, 10))
    assert kinds(alerts(world), "remittance_overdue") == []
    on(world, date(2025, 2, 11))
    (overdue,) = [a for a in alerts(world, "admin")["data"] if a["kind"] == "remittance_overdue"]
    assert overdue == {
        "kind": "remittance_overdue",
        "status": "late",
        "since": "2025-01-10",
        "due_on": "2025-02-10",
        "age_days": 32,
        "amount_cents": 60000,
        "rule": "receipts are remitted at least monthly (AC-2024-07)",
        "receipt_number": 2,
    }


def test_alerts_are_read_within_scope_only(world: World) -> None:
    """The roles that read registers read the alerts of those in their scope; the other
    aire's cashier and auditor, and the analyst, are refused; an unknown register is 404."""
    for who in ("admin", "manager", "cashier", "auditor"):
        assert alerts(world, who)["count"] == 0
    assert alerts(world, "cashier_b", world.register_b)["count"] == 0
    for who in ("cashier_b", "auditor_b", "analyst"):
        response = world.get(who, f"/v1/registers/{world.register_a}/alerts")
        assert_problem(response, 403, "forbidden")
    unknown = world.get("admin", f"/v1/registers/{uuid4()}/alerts")
    assert_problem(unknown, 404, "register_not_found")
