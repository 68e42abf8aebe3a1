"""Advances through the API (issue 15), on SQLite and PostgreSQL: the register an auditor
reads shows the advances it holds, in total and by method, beside the deposits; the
household's right-of-access export (JSON and PDF) lists its stay's advances received,
applied (with the charges they paid) and refunded."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.commands import CancelReceipt
from hacienda_ledger.application.handling import HANDLERS, Change, Unit
from hacienda_ledger.settings import Settings
from tests.conftest import Clock
from tests.e2e.api_world import World, build_world
from tests.integration.test_reports import pdf_text


@pytest.fixture
def world(settings: Settings, ledger: Ledger, clock: Clock) -> Iterator[World]:
    with TestClient(create_app(settings, ledger=ledger)) as client:
        yield build_world(client, ledger, clock)


def test_the_register_and_the_access_export_show_the_advances(world: World) -> None:
    """Given a stay paying 50.00 € ahead in cash and 20.00 € by card, a 150.00 € deposit by
    cheque, 3 days charged (9.00 €, paid by the cash advance first) and 10.00 € refunded in
    cash, when an auditor reads the register, then it holds 51.00 € of advances (cash
    31.00 €, card 20.00 €) beside 150.00 € of deposits (cheque); and the household's export
    lists the advances received, applied (the charge it paid) and refunded, as its PDF."""
    household = world.household()
    stay = world.arrive(household_ref=household)
    world.ok(world.receipt([("advance", 5000)], stay_id=stay))  # receipt 1
    world.ok(world.receipt([("advance", 2000)], stay_id=stay, method="card"))  # receipt 2
    world.ok(world.receipt([("deposit", 15000)], stay_id=stay, method="cheque"))  # 3
    world.charge(stay, days=3)
    refund = {"stay_id": stay, "method": "cash", "amount_cents": 1000}
    path = f"/v1/registers/{world.register_a}/advance-refunds"
    world.ok(world.post("regisseur", path, refund, world.new_key()))

    register = world.ok(world.get("auditor", f"/v1/registers/{world.register_a}"), 200)
    assert (register["advances_held_cents"], register["advances_held_by_method_cents"]) == (
        5100,
        {"cash": 3100, "card": 2000},
    )
    assert (register["deposits_held_cents"], register["deposits_held_by_method_cents"]) == (
        15000,
        {"cheque": 15000},
    )

    export = world.ok(world.get("manager", f"/v1/households/{household}/export"), 200)
    (held,) = export["stays"]
    assert (
        held["advance_held_cents"],
        held["advance_applied_cents"],
        held["advance_refunded_cents"],
    ) == (5100, 900, 1000)
    got = world.ok(world.get("cashier", f"/v1/stays/{stay}"), 200)
    (due,) = got["settlement"]
    assert [
        (a["kind"], a["amount_cents"], a["method"], a["receipt_number"]) for a in export["advances"]
    ] == [
        ("received", 5000, "cash", 1),
        ("received", 2000, "card", 2),
        ("applied", 900, None, None),
        ("refunded", 1000, "cash", None),
    ]
    applied = export["advances"][2]
    assert applied["by_revenue_type_cents"] == {"pitch_fee": 900}
    assert applied["charges"] == [
        {"charge": due["charge"], "revenue_type": "pitch_fee", "amount_cents": 900}
    ]
    assert [s["reference"] for s in due["settled_by"]] == [applied["reference"]]

    pdf = world.client.get(
        f"/v1/households/{household}/export?format=pdf", headers=world.headers("manager")
    )
    assert pdf.status_code == 200, pdf.text
    text = pdf_text(pdf.content)
    assert "Avances (payées avant les redevances) : reçues, imputées, remboursées" in text
    assert f"imputée 9,00 € {due['charge']} Droit d'usage 9,00 €" in text
    assert "Avance détenue 51,00 €" in text


def _cancelled_while_an_advance_is_held(world: World, approved: bool) -> None:
    """A stay charged 3 days (9.00 €) paid by a card receipt, then 20.00 € paid ahead: the
    receipt cancelled (by the régisseur, or asked by the cashier and approved) answers 201
    ``receipt_cancelled``, its version and hash the cancellation's (the advance applied
    after it at once: the position is the advance's); a retry under the same key answers
    the same and records nothing."""
    stay = world.arrive()
    world.charge(stay, days=3)
    number = world.settle(stay)["number"]
    world.ok(world.receipt([("advance", 2000)], stay_id=stay))
    path = f"/v1/registers/{world.register_a}/receipts/{number}/cancellation"
    if approved:
        asked = world.post("cashier", path, {"reason": "mauvais mode"}, "ask")
        assert asked.status_code == 202, asked.text
        step: tuple[str, Any] = (f"{path}/approval", None)
    else:
        step = (path, {"reason": "erreur de saisie"})
    done = world.post("regisseur", *step, "cancel")
    assert done.status_code == 201, done.text
    body = done.json()
    assert (body["kind"], body["result"]) == (
        "receipt_cancelled",
        {"number": number, "status": "cancelled"},
    )
    register_id = UUID(world.register_a)
    event = world.ledger.register_event(register_id, body["version"])
    assert isinstance(event, CashRegister.ReceiptCancelled)
    assert event.hash == body["hash"]
    applied = world.ledger.register_event(register_id, body["version"] + 1)
    assert isinstance(applied, CashRegister.AdvanceApplied)
    assert body["position"] == world.ledger.position_of(register_id, applied.originator_version)
    got = world.ok(world.get("cashier", f"/v1/stays/{stay}"), 200)
    assert (got["advance_held_cents"], got["advance_applied_cents"], got["balance_due_cents"]) == (
        1100,
        900,
        0,
    )
    before = world.position()
    again = world.post("regisseur", *step, "cancel")
    assert again.status_code == 201, again.text
    assert again.json() == body and again.headers["idempotent-replayed"] == "true"
    assert world.position() == before


def test_the_regisseur_cancels_a_receipt_while_an_advance_is_held(world: World) -> None:
    """The régisseur's own cancellation: see ``_cancelled_while_an_advance_is_held``."""
    _cancelled_while_an_advance_is_held(world, approved=False)


def test_a_cancellation_is_approved_while_an_advance_is_held(world: World) -> None:
    """The cashier's request approved: see ``_cancelled_while_an_advance_is_held``."""
    _cancelled_while_an_advance_is_held(world, approved=True)


def test_a_cancellation_recorded_before_it_named_its_event_replays_its_kind(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key recorded while a cancellation's result did not name its event (the route then
    answered 500 when an advance was applied after it): its retry answers 201
    ``receipt_cancelled`` (from the status recorded), not a 500, and records nothing."""
    stay = world.arrive()
    world.charge(stay, days=3)
    number = world.settle(stay)["number"]
    world.ok(world.receipt([("advance", 2000)], stay_id=stay))
    handling = HANDLERS[CancelReceipt]

    def unnamed(command: CancelReceipt, unit: Unit) -> Change:
        change = handling.handle(command, unit)
        del change.result["event_version"]  # as the result was before
        return change

    monkeypatch.setitem(HANDLERS, CancelReceipt, dataclasses.replace(handling, handle=unnamed))
    path = f"/v1/registers/{world.register_a}/receipts/{number}/cancellation"
    world.ok(world.post("regisseur", path, {"reason": "erreur"}, "old"))
    monkeypatch.undo()
    before = world.position()
    again = world.post("regisseur", path, {"reason": "erreur"}, "old")
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert (again.json()["kind"], again.json()["result"]) == (
        "receipt_cancelled",
        {"number": number, "status": "cancelled"},
    )
    assert world.position() == before
