"""Households through the API, on SQLite and PostgreSQL: the record and its documents, who
sees it, payer names on receipts, the access log, the export, erasure, and the schema's
forbidden fields."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger
from hacienda_ledger.settings import Settings
from tests.conftest import Clock
from tests.e2e.api_world import World, assert_problem, build_world

# Never a field for these, anywhere in the API (French law forbids ethnic profiling).
FORBIDDEN = re.compile(
    r"ethni|race|origin|communaut|community|livret|circulation|rattachement|nationalit|relig",
    re.IGNORECASE,
)

BODY: dict[str, Any] = {
    "display_name": "Famille Lenoir",
    "members": [
        {"name": "Rose Lenoir", "birth_year": 1982, "age_band": None, "relationship": "head"},
        {"name": "Tom Lenoir", "birth_year": None, "age_band": "4-17", "relationship": "child"},
    ],
    "contact": {"phone": "06 11 22 33 44", "email": "rose@exemple.fr"},
    "caravans": {"count": 2, "plates": ["AB-123-CD"]},
    "vehicles": {"count": 1, "plates": []},
    "notes": "préfère être appelée le matin",
}


@pytest.fixture
def world(settings: Settings, ledger: Ledger, clock: Clock) -> Iterator[World]:
    with TestClient(create_app(settings, ledger=ledger)) as client:
        yield build_world(client, ledger, clock)


@contextmanager
def records_nothing(world: World) -> Iterator[None]:
    """The block's requests leave the event store exactly as it was."""
    before = world.position()
    yield
    assert world.position() == before


def create(world: World, who: str = "cashier", aire: str | None = None, **extra: Any) -> str:
    body = {"aire_id": aire or world.aire_a, **BODY, **extra}
    return str(world.ok(world.post(who, "/v1/households", body))["id"])


def property_names(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                yield from value
            yield from property_names(value)
    elif isinstance(node, list):
        for value in node:
            yield from property_names(value)


def test_the_schema_has_no_field_for_ethnicity_or_origin(world: World) -> None:
    """No property, parameter or path of the API names ethnicity, community, livret de
    circulation or commune de rattachement; such a field sent anyway is refused."""
    schema = world.client.get("/openapi.json").json()
    names = [*property_names(schema), *schema["paths"]]
    names += [
        p["name"]
        for item in schema["paths"].values()
        for op in item.values()
        for p in op.get("parameters", [])
    ]
    assert [n for n in names if FORBIDDEN.search(n)] == []
    assert "display_name" in names and "members" in names
    for field in ("ethnicity", "community", "livret_de_circulation", "commune_de_rattachement"):
        body = {"aire_id": world.aire_a, **BODY, field: "x"}
        refused = world.post("cashier", "/v1/households", body)
        assert_problem(refused, 422, "validation_error")
        body = {"aire_id": world.aire_a, **BODY}
        body["members"] = [{**BODY["members"][0], field: "x"}]
        assert_problem(world.post("cashier", "/v1/households", body), 422, "validation_error")


def test_a_household_from_arrival_to_erasure(world: World) -> None:
    """Recorded by the cashier, amended, documents, a stay and receipts that name it by id;
    the auditor sees the payer's name on the receipts; every read is in the access log; the
    export holds it all; after erasure every personal field reads as erased everywhere and
    every amount, balance and chain is as before."""
    household = create(world)
    got = world.ok(world.get("cashier", f"/v1/households/{household}"), 200)
    assert {k: got[k] for k in BODY} == BODY
    assert got["erased"] is False and got["aire_id"] == world.aire_a

    patched = world.ok(
        world.client.patch(
            f"/v1/households/{household}",
            json={"notes": "nouvelle note", "vehicles": {"count": 2, "plates": ["ZZ-1"]}},
            headers=world.headers("cashier"),
        ),
        200,
    )
    assert patched["notes"] == "nouvelle note"
    assert patched["vehicles"] == {"count": 2, "plates": ["ZZ-1"]}
    assert patched["members"] == BODY["members"]

    stay = world.arrive(household_ref=household)
    doc = world.ok(
        world.post(
            "cashier",
            f"/v1/households/{household}/documents",
            {"kind": "occupation_agreement", "date": "2025-01-06", "reference": "COT-7"},
        )
    )
    assert doc["kind"] == "occupation_agreement" and doc["reference"] == "COT-7"
    world.ok(
        world.post(
            "cashier",
            f"/v1/households/{household}/documents",
            {"kind": "identity_seen", "date": "2025-01-06", "stay_id": stay},
        )
    )
    docs = world.ok(world.get("cashier", f"/v1/households/{household}/documents"), 200)
    assert [(d["seq"], d["kind"]) for d in docs["data"]] == [
        (1, "occupation_agreement"),
        (2, "identity_seen"),
    ]
    found = world.ok(world.get("manager", "/v1/households?name=lenoir"), 200)
    assert [h["id"] for h in found["data"]] == [household]
    assert world.ok(world.get("manager", "/v1/households?name=personne"), 200)["count"] == 0

    world.deposit(stay)
    world.charge(stay, days=3)
    world.ok(world.receipt([("pitch_fee", 900)], stay_id=stay))
    world.ok(world.receipt([("other", 100)]))  # no payer
    receipt = world.ok(world.get("auditor", f"/v1/registers/{world.register_a}/receipts/2"), 200)
    assert receipt["payer"] == {
        "household_id": household,
        "name": "Famille Lenoir",
        "erased": False,
    }
    assert receipt["total_cents"] == 900 and receipt["stay_id"] == stay
    anonymous = world.ok(world.get("auditor", f"/v1/registers/{world.register_a}/receipts/3"), 200)
    assert anonymous["payer"] is None
    assert_problem(
        world.get("auditor", f"/v1/registers/{world.register_a}/receipts/99"),
        404,
        "receipt_not_found",
    )
    journal_path = f"/v1/registers/{world.register_a}/journal"
    plain = world.ok(world.get("auditor", journal_path), 200)
    assert "Lenoir" not in json.dumps(plain)  # payers only when asked
    named = world.ok(world.get("auditor", f"{journal_path}?payers=true"), 200)
    payers = {row["receipt_number"]: row["payer"] for row in named["data"] if row["payer"]}
    assert payers[1]["name"] == payers[2]["name"] == "Famille Lenoir"
    csv_text = world.get("auditor", f"{journal_path}?payers=true&format=csv").text
    assert "Payeur" in csv_text and "Famille Lenoir" in csv_text

    log = world.ok(world.get("manager", f"/v1/households/{household}/access-log"), 200)
    endpoints = [(a["role"], a["endpoint"]) for a in log["data"]]
    assert ("cashier", "POST /v1/households") in endpoints
    assert ("cashier", "GET /v1/households/{household_id}") in endpoints
    assert ("manager", "GET /v1/households") in endpoints
    assert ("auditor", "GET /v1/registers/{register_id}/receipts/{number}") in endpoints
    assert ("auditor", "GET /v1/registers/{register_id}/journal") in endpoints
    assert {a["user_id"] for a in log["data"] if a["role"] == "auditor"} == {
        world.users["auditor"]["id"]
    }

    export = world.ok(world.get("manager", f"/v1/households/{household}/export"), 200)
    assert export["household"]["display_name"] == "Famille Lenoir"
    assert [(s["stay_id"], s["settled_cents"]) for s in export["stays"]] == [(stay, 900)]
    assert export["access_log"]

    stay_before = world.ok(world.get("cashier", f"/v1/stays/{stay}"), 200)
    verify_before = world.ok(world.get("auditor", f"/v1/registers/{world.register_a}/verify"), 200)
    plain_before = world.ok(world.get("auditor", journal_path), 200)

    erased = world.ok(
        world.client.delete(
            f"/v1/households/{household}/personal-data", headers=world.headers("manager")
        ),
        200,
    )
    assert erased["erased"] is True and erased["key_destroyed"] is True
    assert erased["reason"] == "request"

    after = world.ok(world.get("cashier", f"/v1/households/{household}"), 200)
    assert after["erased"] is True
    assert [after[k] for k in ("display_name", "contact", "caravans", "vehicles", "notes")] == [
        None
    ] * 5
    assert after["members"] == []
    assert [(d["kind"], d["reference"]) for d in after["documents"]] == [
        ("occupation_agreement", None),
        ("identity_seen", None),
    ]
    assert after["stays"] == [{"stay_id": stay, "aire_id": world.aire_a}]
    receipt = world.ok(world.get("auditor", f"/v1/registers/{world.register_a}/receipts/2"), 200)
    assert receipt["payer"] == {"household_id": household, "name": None, "erased": True}
    csv_text = world.get("auditor", f"{journal_path}?payers=true&format=csv").text
    assert "Lenoir" not in csv_text and "[données effacées]" in csv_text
    export = world.ok(world.get("manager", f"/v1/households/{household}/export"), 200)
    assert "Lenoir" not in json.dumps(export) and "rose@" not in json.dumps(export)
    assert world.ok(world.get("manager", "/v1/households?name=lenoir"), 200)["count"] == 0

    assert world.ok(world.get("cashier", f"/v1/stays/{stay}"), 200) | {"position": None} == (
        stay_before | {"position": None}
    )
    assert world.ok(world.get("auditor", journal_path), 200) == plain_before
    verify_after = world.ok(world.get("auditor", f"/v1/registers/{world.register_a}/verify"), 200)
    assert verify_after == verify_before and verify_after["ok"] is True

    refused = world.client.patch(
        f"/v1/households/{household}", json={"notes": "x"}, headers=world.headers("cashier")
    )
    assert_problem(refused, 409, "personal_data_erased")
    again = world.ok(
        world.client.delete(
            f"/v1/households/{household}/personal-data", headers=world.headers("admin")
        ),
        200,
    )
    assert again["erased"] is True and again["key_destroyed"] is False


def test_who_sees_a_household(world: World) -> None:
    """Managers and cashiers of an aire of its collectivité where it was recorded or has
    stayed see it; a cashier of another aire of that collectivité only once it stays there;
    auditors and analysts never. (Issue 16: a cashier of another collectivité used to open a
    stay naming it, and then read it; that stay is now refused, see
    ``test_a_household_is_never_referred_to_from_another_collectivite``.)"""
    household = create(world)
    path = f"/v1/households/{household}"
    for who in ("admin", "manager", "cashier"):
        world.ok(world.get(who, path), 200)
    for who in ("cashier_b", "auditor", "auditor_b", "analyst"):
        assert_problem(world.get(who, path), 403, "forbidden")
    assert world.ok(world.get("cashier_b", "/v1/households?name=lenoir"), 200)["count"] == 0
    a2 = world.aire_a2()
    assert_problem(world.get("cashier_a2", path), 403, "forbidden")
    assert world.ok(world.get("cashier_a2", "/v1/households?name=lenoir"), 200)["count"] == 0
    world.arrive(a2, who="cashier_a2", household_ref=household)
    world.ok(world.get("cashier_a2", path), 200)
    assert world.ok(world.get("cashier_a2", "/v1/households?name=lenoir"), 200)["count"] == 1
    assert_problem(world.get("cashier_b", path), 403, "forbidden")
    assert_problem(world.get("analyst", "/v1/households?name=lenoir"), 403, "forbidden")
    # a household is recorded only at an aire of the caller's
    refused = world.post("cashier", "/v1/households", {**BODY, "aire_id": world.aire_b})
    assert_problem(refused, 403, "forbidden")
    missing = world.get("admin", "/v1/households/00000000-0000-4000-8000-000000000000")
    assert_problem(missing, 404, "household_not_found")
    unknown = world.post("cashier", f"/v1/aires/{world.aire_a}/stays", world.stay_body("3"))
    assert unknown.status_code == 201
    body = world.stay_body("4", household_ref="00000000-0000-4000-8000-000000000000")
    assert_problem(
        world.post("cashier", f"/v1/aires/{world.aire_a}/stays", body), 404, "household_not_found"
    )


def test_a_household_is_never_referred_to_from_another_collectivite(world: World) -> None:
    """Issue 16, defect 2. Given a household recorded at aire B, with an open stay there,
    when a cashier of aire A opens a stay at her aire naming it, then it is 403
    ``outside_collectivite`` and nothing is recorded (the admin is refused alike); she still
    may not read it, nor her manager export it. A receipt, a deposit refund or withholding on
    A's register naming B's stay (by A's cashier or régisseur; the admin, who handles no
    cash, is ``forbidden``), and a document of A's household naming B's stay, are 403
    ``outside_collectivite`` too, nothing recorded."""
    household_b = world.ids["household_b"]
    stay_b = world.arrive(world.aire_b, who="cashier_b")
    world.ok(
        world.receipt(
            [("deposit", 15000)], stay_id=stay_b, register=world.register_b, who="cashier_b"
        )
    )
    path = f"/v1/households/{household_b}"
    before = len(world.ledger.access_log.of(uuid.UUID(household_b)))
    with records_nothing(world):
        for who in ("cashier", "admin"):
            body = world.stay_body("2", household_ref=household_b)
            refused = world.post(who, f"/v1/aires/{world.aire_a}/stays", body)
            problem = assert_problem(refused, 403, "outside_collectivite")
            assert problem["errors"][0]["field"] == "household_ref"
        assert_problem(world.get("cashier", path), 403, "forbidden")
        assert_problem(world.get("manager", f"{path}/export"), 403, "forbidden")
        assert_problem(world.get("manager", f"{path}/access-log"), 403, "forbidden")
        assert world.ok(world.get("cashier", "/v1/households?name=vend"), 200)["count"] == 0
        register = f"/v1/registers/{world.register_a}"
        moves = [
            ("receipts", {"stay_id": stay_b, "method": "cash", "settle_balance": True}),
            ("deposit-refunds", {"stay_id": stay_b, "amount_cents": 100, "method": "cash"}),
            (
                "deposit-withholdings",
                {"stay_id": stay_b, "amount_cents": 100, "reason": "damage", "reference": "PV"},
            ),
        ]
        for who in ("cashier", "regisseur"):
            for route, body in moves:
                answer = world.post(who, f"{register}/{route}", body, key=world.new_key())
                assert_problem(answer, 403, "outside_collectivite")
        for route, body in moves:  # the admin handles no cash at all
            answer = world.post("admin", f"{register}/{route}", body, key=world.new_key())
            assert_problem(answer, 403, "forbidden")
        document = {"kind": "rules_acknowledged", "date": "2025-01-06", "stay_id": stay_b}
        own = f"/v1/households/{world.ids['household']}/documents"
        assert_problem(world.post("cashier", own, document), 403, "outside_collectivite")
    assert len(world.ledger.access_log.of(uuid.UUID(household_b))) == before
    assert world.ok(world.get("cashier_b", path), 200)["stays"] == [
        {"stay_id": stay_b, "aire_id": world.aire_b}
    ]


def test_a_stay_recorded_across_collectivites_before_the_rule_grants_nothing(
    world: World,
) -> None:
    """Given a household of B linked, as before issue 16, to a stay at aire A (its events
    say so), when A's cashier and manager ask for it, then they are refused (403), and its
    name is not found by their search: only the aires of its own collectivité put a household
    in a scope."""
    household_b = uuid.UUID(world.ids["household_b"])
    household = world.ledger.household(household_b)
    household.link_stay(
        stay_id=uuid.uuid4(), aire_id=uuid.UUID(world.aire_a), actor="legacy", at=world.clock()
    )
    world.ledger.save(household)
    assert uuid.UUID(world.aire_a) in household.aire_ids
    for who in ("cashier", "manager"):
        assert_problem(world.get(who, f"/v1/households/{household_b}"), 403, "forbidden")
        assert world.ok(world.get(who, "/v1/households?name=vend"), 200)["count"] == 0
    world.ok(world.get("cashier_b", f"/v1/households/{household_b}"), 200)


def test_invalid_households_are_refused(world: World) -> None:
    """Bad input is a problem document and records nothing."""
    before = world.position()
    cases = [
        {**BODY, "display_name": ""},
        {**BODY, "members": [{"name": "A", "birth_year": 1800}]},
        {**BODY, "members": [{"name": "A", "age_band": "elderly"}]},
        {**BODY, "members": [{"name": "A", "relationship": "cousin-germain"}]},
        {**BODY, "contact": {"email": "not-an-email"}},
        {**BODY, "caravans": {"count": -1}},
    ]
    for body in cases:
        response = world.post("cashier", "/v1/households", {"aire_id": world.aire_a, **body})
        assert_problem(response, 422, "validation_error")
    too_many = {**BODY, "caravans": {"count": 1, "plates": ["A-1", "B-2"]}}
    response = world.post("cashier", "/v1/households", {"aire_id": world.aire_a, **too_many})
    assert_problem(response, 422, "invalid_value")
    assert world.position() == before


def test_the_service_runs_the_retention_purge(
    settings: Settings, ledger: Ledger, clock: Clock
) -> None:
    """The API process runs the purge at start (then daily): a household due is erased."""
    world_ledger = ledger
    from tests.conftest import Site

    site = Site(world_ledger)
    household = site.household("Famille Ancienne")
    clock.advance(days=365 * settings.retention_personal_data_years + 2)
    app = create_app(settings, ledger=world_ledger)
    with TestClient(app):
        deadline = time.monotonic() + 10
        while app.state.retention.runs < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert app.state.retention.runs >= 1
    assert world_ledger.household(household).erased
    assert world_ledger.household(household).erasure[1] == "retention"  # type: ignore[index]
    assert timedelta(hours=settings.retention_interval_hours) == timedelta(days=1)
