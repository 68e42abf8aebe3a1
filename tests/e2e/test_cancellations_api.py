"""Cancellations and the quittance's prints through HTTP, on SQLite and PostgreSQL (issue 15).

The world of ``api_world``: aire A's cashier asks, its régisseur decides; the admin handles
no cash. Every refusal is an RFC 9457 problem with its stable code, and records nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger
from hacienda_ledger.settings import Settings
from tests.conftest import Clock
from tests.e2e.api_world import World, assert_problem, build_world
from tests.integration.test_reports import pdf_text


@pytest.fixture
def world(settings: Settings, ledger: Ledger, clock: Clock) -> Iterator[World]:
    with TestClient(create_app(settings, ledger=ledger)) as client:
        yield build_world(client, ledger, clock)


@contextmanager
def records_nothing(world: World) -> Iterator[None]:
    before = world.position()
    yield
    assert world.position() == before


def user_id(world: World, name: str) -> str:
    return str(world.users[name]["id"])


def cancellation(world: World, number: int, step: str = "") -> str:
    path = f"/v1/registers/{world.register_a}/receipts/{number}/cancellation"
    return f"{path}/{step}" if step else path


def paid(world: World) -> tuple[str, int]:
    """A stay charged one day (3.00 €) and the cashier's card receipt settling it."""
    stay = world.arrive()
    world.charge(stay)
    number = world.ok(world.receipt([("pitch_fee", 300)], stay_id=stay, method="card"))["number"]
    return stay, int(number)


def register(world: World) -> dict[str, Any]:
    return world.ok(world.get("cashier", f"/v1/registers/{world.register_a}"), 200)


def test_a_cashier_asks_the_regisseur_approves(world: World) -> None:
    """The cashier's cancellation is a request: 202 ``cancellation_requested``, the receipt
    standing (the stay's balance, the register's balances unchanged), listed as pending on
    the register; the régisseur's approval is 201 ``receipt_cancelled``, naming who asked
    and who approved: the 3.00 € are due again. A retry of the request under its key answers
    the same, recording nothing."""
    stay, number = paid(world)
    before = register(world)
    world.clock.advance(minutes=5)
    asked = world.post("cashier", cancellation(world, number), {"reason": "mauvais mode"}, "k1")
    assert asked.status_code == 202, asked.text
    body = asked.json()
    assert (body["kind"], body["result"]) == (
        "cancellation_requested",
        {"number": number, "status": "pending"},
    )
    with records_nothing(world):
        again = world.post("cashier", cancellation(world, number), {"reason": "mauvais mode"}, "k1")
        assert again.status_code == 202 and again.json() == body
        assert again.headers["idempotent-replayed"] == "true"
    now = register(world)
    assert (now["balances_cents"], now["perpetual_total_cents"]) == (
        before["balances_cents"],
        before["perpetual_total_cents"],
    )
    (pending,) = now["pending_cancellations"]
    asked_at = datetime.fromisoformat(pending.pop("requested_at").replace("Z", "+00:00"))
    assert asked_at == world.clock()
    assert pending == {
        "number": number,
        "reason": "mauvais mode",
        "requested_by": user_id(world, "cashier"),
    }
    assert world.ok(world.get("cashier", f"/v1/stays/{stay}"), 200)["balance_due_cents"] == 0
    receipts = f"/v1/registers/{world.register_a}/receipts"
    receipt = world.ok(world.get("auditor", f"{receipts}/{number}"), 200)
    assert receipt["cancelled"] is False

    world.clock.advance(hours=1)
    approved = world.ok(
        world.post("regisseur", cancellation(world, number, "approval"), None, "a1")
    )
    assert (approved["kind"], approved["result"]) == (
        "receipt_cancelled",
        {"number": number, "status": "cancelled"},
    )
    event = world.ledger.register_event(UUID(world.register_a), approved["version"])
    assert isinstance(event, CashRegister.ReceiptCancelled)
    assert (event.requested_by, event.approved_by, event.reason) == (
        user_id(world, "cashier"),
        user_id(world, "regisseur"),
        "mauvais mode",
    )
    assert register(world)["pending_cancellations"] == []
    assert world.ok(world.get("cashier", f"/v1/stays/{stay}"), 200)["balance_due_cents"] == 300
    journal = world.ok(world.get("auditor", f"/v1/registers/{world.register_a}/journal"), 200)
    (line,) = [r for r in journal["data"] if r["kind"] == "cancellation"]
    assert (line["reason"], line["requested_by"], line["approved_by"]) == (
        "mauvais mode",
        user_id(world, "cashier"),
        user_id(world, "regisseur"),
    )


def test_a_pending_cancellation_is_refused_or_withdrawn_and_the_receipt_stands(
    world: World,
) -> None:
    """The régisseur refuses a request with a reason (``cancellation_refused``); asked
    again, the cashier withdraws it (``cancellation_withdrawn``): the receipt stands, and
    nothing is pending."""
    stay, number = paid(world)
    path = cancellation(world, number)
    world.post("cashier", path, {"reason": "erreur"}, "k1")
    refused = world.ok(
        world.post("regisseur", cancellation(world, number, "refusal"), {"reason": "justifiée"})
    )
    assert (refused["kind"], refused["result"]) == (
        "cancellation_refused",
        {"number": number, "status": "refused"},
    )
    world.post("cashier", path, {"reason": "erreur"}, "k2")
    withdrawn = world.ok(world.post("cashier", cancellation(world, number, "withdrawal"), None))
    assert withdrawn["kind"] == "cancellation_withdrawn"
    now = register(world)
    assert now["pending_cancellations"] == [] and now["balances_cents"]["card"] == 300
    assert world.ok(world.get("cashier", f"/v1/stays/{stay}"), 200)["balance_due_cents"] == 0


def test_every_refusal_is_a_problem_with_its_code_and_records_nothing(world: World) -> None:
    """409 ``cancellation_pending`` (asked twice; the régisseur's own cancellation while one
    waits; a slip over it), 409 ``cancellation_not_pending`` (nothing asked), 409
    ``not_requester`` (another's withdrawal), 403 ``forbidden`` (a cashier approving,
    refusing; the admin; the other aire's cashier), 422 on a refusal without its reason."""
    _, number = paid(world)
    with records_nothing(world):
        nothing = world.post("regisseur", cancellation(world, number, "approval"), None, "n1")
        assert_problem(nothing, 409, "cancellation_not_pending")
    world.post("cashier", cancellation(world, number), {"reason": "erreur"}, "k1")
    slip = {"through_receipt": number, "amounts_by_method_cents": {"card": 300}}
    with records_nothing(world):
        for who, key in (("cashier", "k2"), ("regisseur", "k3")):
            twice = world.post(who, cancellation(world, number), {"reason": "encore"}, key)
            assert_problem(twice, 409, "cancellation_pending")
        remit = world.post("regisseur", f"/v1/registers/{world.register_a}/remittances", slip, "r")
        problem = assert_problem(remit, 409, "cancellation_pending")
        assert problem["errors"][0]["field"] == "through_receipt"
        other = world.post("regisseur", cancellation(world, number, "withdrawal"), None)
        assert_problem(other, 409, "not_requester")
        for who in ("cashier", "admin", "cashier_b", "manager"):
            approval = world.post(who, cancellation(world, number, "approval"), None, f"{who}-a")
            assert_problem(approval, 403, "forbidden")
            refusal = world.post(who, cancellation(world, number, "refusal"), {"reason": "non"})
            assert_problem(refusal, 403, "forbidden")
        blank = world.post("regisseur", cancellation(world, number, "refusal"), {"reason": ""})
        assert_problem(blank, 422, "validation_error")
        assert_problem(
            world.post("admin", cancellation(world, number), {"reason": "x"}, "adm"),
            403,
            "forbidden",
        )
    # the request refused, the slip is made
    world.ok(world.post("regisseur", cancellation(world, number, "refusal"), {"reason": "non"}))
    world.ok(world.post("regisseur", f"/v1/registers/{world.register_a}/remittances", slip, "r2"))


def test_the_regisseur_remits_counts_and_closes(world: World) -> None:
    """The régisseur holds the cash rights of its aire: a remittance, a cash count and a day
    closure are its own acts (201 each); the admin's are 403 and record nothing."""
    _, number = paid(world)
    base = f"/v1/registers/{world.register_a}"
    slip = {"through_receipt": number, "amounts_by_method_cents": {"card": 300}}
    with records_nothing(world):
        assert_problem(world.post("admin", f"{base}/remittances", slip, "a1"), 403, "forbidden")
        count = world.post("admin", f"{base}/cash-counts", {"counted_cents": 5000})
        assert_problem(count, 403, "forbidden")
    assert world.ok(world.post("regisseur", f"{base}/remittances", slip, "r1"))["result"] == {
        "slip_number": 1
    }
    world.ok(world.post("regisseur", f"{base}/cash-counts", {"counted_cents": 5000}))
    world.clock.advance(days=1)
    day = (world.clock() - timedelta(days=1)).date().isoformat()
    world.ok(world.post("regisseur", f"{base}/closures", {"period": "day", "date": day}))


def test_a_document_is_printed_original_once_then_copies(world: World) -> None:
    """The cashier's first ``GET`` of a receipt is its original (``X-Print: original``,
    recorded as ``DocumentPrinted``); every later ``GET``, the cashier's or anyone's, is a
    copy for consultation (« COPIE », nothing recorded); a reprint is a recorded
    duplicata. The quittance names the agent (not an id), the emplacement and the line's
    délibération."""
    _, number = paid(world)
    url = f"/v1/registers/{world.register_a}/documents/receipt/{number}"
    version = world.ledger.cash_register(UUID(world.register_a)).version
    first = world.client.get(url, headers=world.headers("cashier"))
    assert first.status_code == 200 and first.headers["x-print"] == "original"
    text = pdf_text(first.content)
    assert "Exemplaire original" in text and "COPIE" not in text
    assert "Agent cashier" in text and user_id(world, "cashier") not in text
    assert "Emplacement 1" in text and "1 jour × 3,00 € DEL-2024-118" in text
    printed = world.ledger.register_event(UUID(world.register_a), version + 1)
    assert isinstance(printed, CashRegister.DocumentPrinted)
    with records_nothing(world):
        copies = [
            world.client.get(url, headers=world.headers(who)) for who in ("cashier", "auditor")
        ]
        assert {c.headers["x-print"] for c in copies} == {"copie"}
        assert copies[0].content == copies[1].content
        assert "COPIE" in pdf_text(copies[0].content)
    duplicata = world.client.post(f"{url}/reprints", headers=world.headers("regisseur"))
    assert duplicata.headers["x-copy"] == "1"
    assert "DUPLICATA n°1" in pdf_text(duplicata.content)


def test_the_history_as_of_an_instant_shows_what_the_register_showed_then(world: World) -> None:
    """An auditor's replay of the register to an instant shows the figures the register
    showed then: balances, deposits and advances held (by method), open cash differences and
    the cancellations waiting for the régisseur (the last three were missing from the
    history: an advance held, or a cancellation pending, was seen at the time and not in
    the replay)."""
    shown: list[tuple[str, dict[str, Any]]] = []

    def snapshot() -> None:
        world.clock.advance(minutes=7)
        shown.append((world.now(), register(world)))
        world.clock.advance(minutes=3)

    stay, number = paid(world)
    snapshot()
    world.deposit(stay)
    snapshot()
    advance = {
        "stay_id": stay,
        "method": "cash",
        "lines": [{"revenue_type": "advance", "amount_cents": 2000}],
    }
    world.ok(world.post("cashier", f"/v1/registers/{world.register_a}/receipts", advance, "adv"))
    snapshot()
    world.ok(world.post("cashier", cancellation(world, number), {"reason": "erreur"}, "c1"), 202)
    snapshot()
    assert shown[-2][1]["advances_held_cents"] == 2000 and shown[-1][1]["pending_cancellations"]

    path = f"/v1/registers/{world.register_a}/history"
    for instant, then in shown:
        replay = world.get("auditor", f"{path}?as_of={instant.replace('+', '%2B')}")
        history = world.ok(replay, 200)
        assert history["version"] == then["version"], instant
        assert history["balances"] == {f"{m}_cents": c for m, c in then["balances_cents"].items()}
        for name in (
            "deposits_held_cents",
            "deposits_held_by_method_cents",
            "advances_held_cents",
            "advances_held_by_method_cents",
            "open_cash_differences",
            "pending_cancellations",
        ):
            assert history[name] == then[name], (instant, name)
