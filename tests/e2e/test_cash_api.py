"""Issue 15 through the API (points 3 and 7), on both backends: balanced slips and their
preview, cheques named on receipts, counts by denomination, régularisations of a count's
difference and handovers. Given → when → then; a refusal records nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from hacienda_ledger.aggregates.register import CashRegister, SlipLine
from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger
from hacienda_ledger.settings import Settings
from tests.conftest import Clock
from tests.e2e.api_world import World, assert_problem, build_world
from tests.e2e.test_api import records_nothing


@pytest.fixture
def world(settings: Settings, ledger: Ledger, clock: Clock) -> Iterator[World]:
    with TestClient(create_app(settings, ledger=ledger)) as client:
        yield build_world(client, ledger, clock)


def base(world: World) -> str:
    return f"/v1/registers/{world.register_a}"


def test_a_slip_that_does_not_balance_is_refused_with_what_it_should_pay(world: World) -> None:
    """Given receipts 1 to 5 for 24.00 € in cash, a slip paying in 0.01 € is 409
    slip_unbalanced, its problem document naming the amounts expected and given; nothing is
    recorded and receipt 5 can still be cancelled (by the régisseur). The preview lists the
    slip's lines; the slip that pays their total is made."""
    for amount in (400, 500, 600, 400, 500):
        world.ok(world.receipt([("other", amount)]))
    body = {"through_receipt": 5, "amounts_by_method_cents": {"cash": 1}}
    with records_nothing(world):
        refused = world.post("regisseur", f"{base(world)}/remittances", body, key="slip-1")
        problem = assert_problem(refused, 409, "slip_unbalanced")
    assert (problem["expected_cents"], problem["given_cents"]) == ({"cash": 2400}, {"cash": 1})
    assert problem["errors"][0]["field"] == "amounts_by_method_cents"
    preview = world.ok(
        world.get("auditor", f"{base(world)}/remittances/preview?through_receipt=5"), 200
    )
    assert (preview["slip_number"], preview["first_receipt"], preview["total_cents"]) == (
        1,
        1,
        2400,
    )
    assert preview["amounts_by_method_cents"] == {"cash": 2400}
    assert [(x["kind"], x["reference"], x["amount_cents"]) for x in preview["lines"]] == [
        ("receipt", n, a) for n, a in enumerate((400, 500, 600, 400, 500), start=1)
    ]
    cancellation = f"{base(world)}/receipts/5/cancellation"  # the régisseur's, at once
    world.ok(world.post("regisseur", cancellation, {"reason": "x"}, key="c"))
    body["amounts_by_method_cents"] = {"cash": 1900}
    made = world.ok(world.post("regisseur", f"{base(world)}/remittances", body, key="slip-2"))
    event = world.ledger.register_event(UUID(world.register_a), made["version"])
    assert isinstance(event, CashRegister.RemittanceMade)
    assert event.lines is not None and event.lines[-1] == SlipLine(
        "receipt", 5, "cash", 0, cancelled=True
    )


def test_a_cheque_is_named_on_its_receipt_and_listed_on_the_slip(world: World) -> None:
    path = f"{base(world)}/receipts"
    body = {
        "method": "cheque",
        "lines": [{"revenue_type": "other", "amount_cents": 900}],
        "cheque": {"number": "0012345", "bank": "Crédit Mutuel"},
    }
    receipt = world.ok(world.post("cashier", path, body, key="chq-1"))
    assert receipt["cheque"] == {"number": "0012345", "bank": "Crédit Mutuel"}
    with records_nothing(world):
        cash = world.post("cashier", path, body | {"method": "cash"}, key="chq-2")
        assert assert_problem(cash, 422, "invalid_value")["errors"][0]["field"] == "cheque"
    preview = world.ok(
        world.get("cashier", f"{base(world)}/remittances/preview?through_receipt=1"), 200
    )
    (line,) = preview["lines"]
    assert (line["cheque_number"], line["bank"], line["amount_cents"]) == (
        "0012345",
        "Crédit Mutuel",
        900,
    )


def test_a_count_by_denomination_and_its_shortfall_regularised(world: World) -> None:
    """A cashier's count of 49.00 € in notes and coins against a 50.00 € book: count n°1,
    1.00 € short, open on the register. Its régularisation is the régisseur's (the cashier's
    is 403 forbidden), a money write (Idempotency-Key), and makes it good in cash; it is no
    longer open, and a second one is refused."""
    notes = [
        {"value_cents": 2000, "count": 2},
        {"value_cents": 500, "count": 1},
        {"value_cents": 200, "count": 2},
    ]
    counted = world.ok(
        world.post("regisseur", f"{base(world)}/cash-counts", {"denominations": notes})
    )
    assert counted["result"] == {"count_number": 1, "difference_cents": -100}
    register = world.ok(world.get("cashier", base(world)), 200)
    assert register["open_cash_differences"] == [{"count_number": 1, "difference_cents": -100}]
    path = f"{base(world)}/cash-counts/1/regularisation"
    with records_nothing(world):
        missing = world.client.post(
            path, json={"reference": "R"}, headers=world.headers("regisseur")
        )
        assert_problem(missing, 400, "idempotency_key_required")
        cashier = world.post("cashier", path, {"reference": "R"}, key="r-cashier")
        assert_problem(cashier, 403, "forbidden")
        bad = world.post(
            "regisseur",
            f"{base(world)}/cash-counts",
            {"denominations": [{"value_cents": 300, "count": 1}]},
        )
        assert assert_problem(bad, 422, "invalid_value")["errors"][0]["field"] == (
            "denominations[0].value_cents"
        )
        assert_problem(
            world.post(
                "regisseur",
                f"{base(world)}/cash-counts/9/regularisation",
                {"reference": "R"},
                key="r9",
            ),
            404,
            "count_not_found",
        )
    done = world.ok(world.post("regisseur", path, {"reference": "QUIT-REG-1"}, key="reg-1"))
    assert (done["kind"], done["result"]["kind"]) == ("cash_difference_regularised", "deficit")
    register = world.ok(world.get("cashier", base(world)), 200)
    assert register["open_cash_differences"] == []
    assert register["balances_cents"]["cash"] == 5000
    with records_nothing(world):
        again = world.post("regisseur", path, {"reference": "QUIT-REG-2"}, key="reg-2")
        assert_problem(again, 409, "cash_difference_not_open")


def test_a_handover_to_a_regisseur_of_the_aire(world: World) -> None:
    """The régisseur hands the régie over to another régisseur of aire A on a count: the
    register names its new holder. An unknown user is 404; a cashier of the aire and a
    régisseur of another aire may not hold it (not_allowed); a cashier may not hand it over
    (403); nothing is recorded by a refusal."""

    def user(name: str, role: str, aire: str) -> dict[str, Any]:
        body = {"name": name, "role": role, "aires": [aire]}
        return world.ok(world.post("admin", "/v1/users", body))

    second = user("regisseur2", "regisseur", world.aire_a)
    elsewhere_regisseur = user("regisseur_b", "regisseur", world.aire_b)
    path = f"{base(world)}/handovers"
    notes = [{"value_cents": 5000, "count": 1}]
    with records_nothing(world):
        unknown = world.post(
            "regisseur", path, {"incoming_user_id": str(uuid4()), "denominations": notes}
        )
        assert assert_problem(unknown, 404, "user_not_found")["errors"][0]["field"] == "incoming"
        for incoming in (
            world.users["cashier"]["id"],  # of the aire, but a cashier
            world.users["cashier_b"]["id"],
            elsewhere_regisseur["id"],
        ):
            refused = world.post(
                "regisseur", path, {"incoming_user_id": incoming, "denominations": notes}
            )
            assert assert_problem(refused, 422, "not_allowed")["errors"][0]["field"] == "incoming"
        by_cashier = world.post(
            "cashier", path, {"incoming_user_id": second["id"], "denominations": notes}
        )
        assert_problem(by_cashier, 403, "forbidden")
    handed = world.ok(
        world.post("regisseur", path, {"incoming_user_id": second["id"], "denominations": notes})
    )
    assert (handed["kind"], handed["result"]) == (
        "handed_over",
        {"count_number": 1, "difference_cents": 0},
    )
    register = world.ok(world.get("cashier", base(world)), 200)
    assert (register["holder"], register["last_count_number"]) == (second["id"], 1)
    event = world.ledger.register_event(UUID(world.register_a), handed["version"])
    assert isinstance(event, CashRegister.HandedOver)
    assert (event.outgoing, event.incoming) == (str(world.users["regisseur"]["id"]), second["id"])


def test_a_receipt_line_settles_the_charges_it_names(world: World) -> None:
    """Issue 15, point 1: given a stay charged one day, then another day (two pitch-fee
    charges of 3.00 €), when a receipt's line of 3.00 € names the second charge, then that
    one is settled and the first is still due (not the oldest first). A line naming a charge
    the stay does not have, or one of another type, or more than is left of what it names,
    is 422/409 with the line's field, and records nothing; naming charges without a stay is
    422 on ``stay_id``."""
    stay_id = world.arrive()
    world.charge(stay_id)
    world.clock.advance(days=1)
    world.charge(stay_id)
    stay = world.ok(world.get("cashier", f"/v1/stays/{stay_id}"), 200)
    fees = [d["charge"] for d in stay["settlement"] if d["revenue_type"] == "pitch_fee"]
    assert len(fees) == 2
    first, second = fees
    path = f"{base(world)}/receipts"

    def pay(cents: int, charges: list[str], stay: str | None = stay_id) -> Any:
        line = {"revenue_type": "pitch_fee", "amount_cents": cents, "charges": charges}
        body: dict[str, Any] = {"method": "cash", "lines": [line]}
        if stay is not None:
            body["stay_id"] = stay
        return world.post("cashier", path, body, key=world.new_key())

    with records_nothing(world):
        unknown = assert_problem(pay(300, ["99.0"]), 422, "invalid_value")
        assert unknown["errors"][0]["field"] == "lines.0.charges"
        assert_problem(pay(301, [second]), 409, "more_than_due")
        assert_problem(pay(300, ["bad"]), 422, "validation_error")
        assert_problem(pay(300, [second], stay=None), 422, "invalid_value")
    paid = world.ok(pay(300, [second]))
    stay = world.ok(world.get("cashier", f"/v1/stays/{stay_id}"), 200)
    by_charge = {d["charge"]: d for d in stay["settlement"]}
    assert by_charge[second]["remaining_cents"] == 0
    assert by_charge[second]["settled_by"] == [
        {"reference": f"{world.register_a}/receipt/{paid['number']}", "amount_cents": 300}
    ]
    assert by_charge[first]["remaining_cents"] == 300
    with records_nothing(world):
        assert_problem(pay(300, [second]), 409, "nothing_due")


def test_an_advance_is_held_applied_to_later_charges_and_refunded(world: World) -> None:
    """Issue 15, point 1, through HTTP: given a stay with nothing due (a pitch fee line is
    409 nothing_due), when 20.00 € are paid as an ``advance``, then ``GET /v1/stays/{id}``
    shows them held; when a day (3.00 €) is charged, the advance settles it
    (``settled_by`` names ``<register>/advance/<version>``) and 17.00 € stay held; ``POST
    …/advance-refunds`` gives them back (all of it, no amount given), and a second refund is
    409 no_advance_held, recording nothing."""
    stay_id = world.arrive()
    with records_nothing(world):
        assert_problem(world.receipt([("pitch_fee", 300)], stay_id=stay_id), 409, "nothing_due")
    paid = world.ok(world.receipt([("advance", 2000)], stay_id=stay_id))
    assert paid["total_cents"] == 2000
    stay = world.ok(world.get("cashier", f"/v1/stays/{stay_id}"), 200)
    assert (stay["advance_held_cents"], stay["balance_due_cents"]) == (2000, 0)
    world.charge(stay_id)
    stay = world.ok(world.get("cashier", f"/v1/stays/{stay_id}"), 200)
    assert (stay["advance_held_cents"], stay["advance_applied_cents"]) == (1700, 300)
    assert (stay["charged_cents"], stay["settled_cents"], stay["balance_due_cents"]) == (
        300,
        300,
        0,
    )
    (due,) = stay["settlement"]
    (settled_by,) = due["settled_by"]
    assert settled_by["reference"].startswith(f"{world.register_a}/advance/")
    assert (settled_by["amount_cents"], due["remaining_cents"]) == (300, 0)
    path = f"{base(world)}/advance-refunds"
    refund = world.ok(world.post("cashier", path, {"stay_id": stay_id, "method": "cash"}, "r1"))
    assert refund["kind"] == "advance_refunded"
    assert refund["result"] == {"amount_cents": 1700, "advance_held_cents": 0}
    stay = world.ok(world.get("cashier", f"/v1/stays/{stay_id}"), 200)
    assert (stay["advance_held_cents"], stay["advance_refunded_cents"]) == (0, 1700)
    with records_nothing(world):
        again = world.post("cashier", path, {"stay_id": stay_id, "method": "cash"}, "r2")
        assert assert_problem(again, 409, "no_advance_held")["errors"][0]["field"] == (
            "amount_cents"
        )
