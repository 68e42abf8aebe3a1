"""Issue 16 through the API, on SQLite and PostgreSQL: an extension's why (reason and
evidence, health data among others) is read by the stay's staff and the household, never by
analysts, and goes with the household's key; the right-of-access export holds every stay,
reading, extension, receipt, deposit movement and printed receipt, as JSON and as PDF."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.projecting import followers
from hacienda_ledger.settings import Settings
from tests.conftest import Clock
from tests.e2e.api_world import World, assert_problem, build_world
from tests.integration.test_reports import pdf_text

WHY = {"reason": "hospitalisation", "evidence_ref": "certificat-Dr-Xavier", "until": "2025-06-30"}


@pytest.fixture
def world(settings: Settings, ledger: Ledger, clock: Clock) -> Iterator[World]:
    with TestClient(create_app(settings, ledger=ledger)) as client:
        yield build_world(client, ledger, clock)


def extended(world: World) -> tuple[str, str]:
    """A household on aire A whose stay is extended for a hospitalisation."""
    household = world.household()
    stay = world.arrive(household_ref=household)
    world.ok(world.post("manager", f"/v1/stays/{stay}/extensions", WHY))
    return household, stay


def test_an_extension_s_why_is_staff_s_and_the_household_s_never_analysts_and_goes_with_the_key(
    world: World,
) -> None:
    """The stay's staff read why (and the read is logged); the analysts' export of
    extensions says ``granted`` only; after erasure the why reads null everywhere, and the
    stay's chain still verifies."""
    household, stay = extended(world)
    for who in ("manager", "cashier"):
        got = world.ok(world.get(who, f"/v1/stays/{stay}"), 200)
        assert got["extensions"] == [WHY]
    log = world.ok(world.get("manager", f"/v1/households/{household}/access-log"), 200)
    assert ("cashier", "GET /v1/stays/{stay_id}") in {
        (a["role"], a["endpoint"]) for a in log["data"]
    }
    for follower in followers(world.ledger):
        follower.catch_up()
    exported = world.get("analyst", "/v1/exports/occupancy_extensions")
    assert exported.status_code == 200, exported.text
    assert "granted" in exported.text and "30/06/2025" in exported.text
    for secret in ("hospitalisation", "Hospitalisation", "certificat-Dr-Xavier"):
        assert secret not in exported.text
    export = world.ok(world.get("manager", f"/v1/households/{household}/export"), 200)
    assert export["stays"][0]["extensions"] == [WHY]

    world.ok(
        world.client.delete(
            f"/v1/households/{household}/personal-data", headers=world.headers("manager")
        ),
        200,
    )
    erased = {"reason": None, "evidence_ref": None, "until": "2025-06-30"}
    assert world.ok(world.get("cashier", f"/v1/stays/{stay}"), 200)["extensions"] == [erased]
    export = world.ok(world.get("manager", f"/v1/households/{household}/export"), 200)
    assert export["stays"][0]["extensions"] == [erased]
    assert "certificat-Dr-Xavier" not in json.dumps(export)
    verified = world.ok(world.get("auditor", f"/v1/aires/{world.aire_a}/verify"), 200)
    assert verified["ok"] is True
    # an extension granted after erasure: granted, with no why recorded anywhere
    again = world.post("manager", f"/v1/stays/{stay}/extensions", WHY | {"until": "2025-07-31"})
    assert world.ok(again)["extensions"][-1] == erased | {"until": "2025-07-31"}


def test_the_access_export_holds_every_stay_reading_receipt_and_deposit_as_json_and_pdf(
    world: World,
) -> None:
    """Readings, an extension with its why, receipts (lines, number, a cancelled one with its
    reason), a deposit withheld and refunded, a receipt printed: in the JSON and, the same,
    in the PDF opened back; the PDF is logged as a read too."""
    household, stay = extended(world)
    reading = {"meter": "water", "index": "100.5", "read_at": world.now()}
    world.ok(world.post("cashier", f"/v1/stays/{stay}/meter-readings", reading))
    world.deposit(stay, 15000)  # receipt 1
    world.charge(stay, days=3)
    world.ok(world.receipt([("pitch_fee", 600)], stay_id=stay))  # receipt 2
    world.ok(world.receipt([("pitch_fee", 300)], stay_id=stay))  # receipt 3, cancelled
    cancel = f"/v1/registers/{world.register_a}/receipts/3/cancellation"
    world.ok(world.post("regisseur", cancel, {"reason": "saisie en double"}, world.new_key()))
    world.ok(world.receipt([("other", 100)]))  # receipt 4: no payer, not the household's
    printed = world.get("cashier", f"/v1/registers/{world.register_a}/documents/receipt/2")
    assert printed.status_code == 200 and printed.headers["X-Print"] == "original"
    world.settle(stay)  # receipt 5: the 3 € again, and the water
    world.clock.advance(days=3)
    departure = {
        "departed_at": world.now(),
        "exit_inspection_ref": "EDL-9",
        "water_index": "100.5",
        "electricity_index": "2000",
    }
    world.ok(world.post("cashier", f"/v1/stays/{stay}/departure", departure), 200)
    movement = {"stay_id": stay, "amount_cents": 5000, "reason": "damage", "reference": "EDL-9"}
    path = f"/v1/registers/{world.register_a}/deposit-withholdings"
    world.ok(world.post("regisseur", path, movement, world.new_key()))
    refund = {"stay_id": stay, "amount_cents": 10000, "method": "cash"}
    path = f"/v1/registers/{world.register_a}/deposit-refunds"
    world.ok(world.post("regisseur", path, refund, world.new_key()))

    export = world.ok(world.get("manager", f"/v1/households/{household}/export"), 200)
    (held,) = export["stays"]
    assert [(r["meter"], r["index"]) for r in held["readings"]] == [
        ("water", "100"),
        ("electricity", "2000"),
        ("water", "100.5"),
        ("water", "100.5"),  # the departure's closing indexes
        ("electricity", "2000"),
    ]
    assert held["extensions"] == [WHY]
    receipts = {r["number"]: r for r in export["receipts"]}
    assert sorted(receipts) == [1, 2, 3, 5]
    assert receipts[1]["lines"] == [{"revenue_type": "deposit", "amount_cents": 15000}]
    assert (receipts[2]["total_cents"], receipts[2]["cancelled"]) == (600, False)
    settled = receipts[5]  # what was due again: the 3 € and the water read
    assert settled["total_cents"] == sum(x["amount_cents"] for x in settled["lines"]) == 476
    assert (receipts[3]["cancelled"], receipts[3]["cancellation_reason"]) == (
        True,
        "saisie en double",
    )
    assert [(d["kind"], d["amount_cents"], d["reason"]) for d in export["deposits"]] == [
        ("withheld", 5000, "damage"),
        ("refunded", 10000, None),
    ]
    assert [(p["document"], p["number"], p["duplicate"]) for p in export["printed"]] == [
        ("receipt", 2, 0)
    ]
    assert export["household"]["display_name"] == "Famille Test"  # fields kept

    response = world.client.get(
        f"/v1/households/{household}/export?format=pdf", headers=world.headers("manager")
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    text = pdf_text(response.content)
    for expected in (
        "Famille Test",
        "Relevés de compteurs",
        "100.5",
        "Quittances",
        "Dépôt de garantie 150,00 €",
        "Droit d'usage 6,00 €",
        "saisie en double",
        "Hospitalisation",
        "certificat-Dr-Xavier",
        "retenu",
        "EDL-9",
    ):
        assert expected in text, expected
    log = world.ok(world.get("manager", f"/v1/households/{household}/access-log"), 200)
    exports = [a for a in log["data"] if a["endpoint"].endswith("/export")]
    assert len(exports) == 2
    bad = world.client.get(
        f"/v1/households/{household}/export?format=docx", headers=world.headers("manager")
    )
    assert_problem(bad, 422, "validation_error")
