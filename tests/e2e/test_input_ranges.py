"""Bad numbers and dates get a 422 problem and change nothing, never a 500, on SQLite and
PostgreSQL (issue 16, item 6), through real HTTP on the ASGI app.

Days and moments lie between 2000-01-01 and 2099-12-31, months and years within them, and
sequence numbers (receipts, slips, readings) between 1 and 2^63 - 1, the largest integer both
stores hold. ``as_of=0001-01-01T00:00:00+14:00`` (year 0 in UTC) and a receipt number of
2^63 (too large for SQLite) used to end in 500s. The parameters are checked in one place
(``api/params.py``, ``schemas/common.py``); the test that walks them reads the OpenAPI
document, so that a new route's parameter is covered without anyone writing its case."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hacienda_ledger.api.app import create_app
from hacienda_ledger.api.schemas.common import DATE_RANGE, MAX_NUMBER
from hacienda_ledger.application import Ledger
from hacienda_ledger.settings import Settings
from tests.conftest import Clock
from tests.e2e.api_world import TARIFF, World, assert_problem, build_world

TOO_LARGE = MAX_NUMBER + 1  # 2^63
EARLY_MOMENT = "0001-01-01T00:00:00+14:00"  # year 0 once in UTC
LATE_MOMENT = "9999-12-31T23:59:59-14:00"  # year 10000 once in UTC


@pytest.fixture
def world(settings: Settings, ledger: Ledger, clock: Clock) -> Iterator[World]:
    with TestClient(create_app(settings, ledger=ledger)) as client:
        yield build_world(client, ledger, clock)


@pytest.fixture
def stay_id(world: World) -> str:
    """A stay of aire A with its deposit paid (receipt 1), charged and paid (receipt 2),
    remitted under slip 1: every number route has something real beside the bad number."""
    stay = world.arrive()
    world.deposit(stay)
    world.clock.advance(days=1)
    world.ok(world.post("cashier", f"/v1/stays/{stay}/charges", {"through": "2025-01-06"}), 200)
    world.ok(world.receipt([("pitch_fee", 300)], stay_id=stay, method="card"))
    remit = {"through_receipt": 2, "amounts_by_method_cents": {"card": 300}}
    world.ok(world.post("regisseur", f"/v1/registers/{world.register_a}/remittances", remit, "r"))
    return stay


def refused(world: World, method: str, path: str, field: str, **kw: Any) -> dict[str, Any]:
    """The request is a 422 validation_error naming ``field``, and records nothing."""
    before = world.position()
    response = world.client.request(method, path, **kw)
    problem = assert_problem(response, 422, "validation_error")
    assert [e["field"] for e in problem["errors"]] == [field], (path, problem)
    assert world.position() == before
    return problem


def test_a_balance_as_of_the_ends_of_time_is_a_problem(world: World, stay_id: str) -> None:
    """``as_of`` before 2000 or after 2099 (in its own offset) on a stay's balance and a
    register's history is 422 ``validation_error`` on ``as_of``; the first and last moments
    of the range are answered (no arithmetic overflows on them either)."""
    auth = world.headers("admin")
    balance = f"/v1/stays/{stay_id}/balance"
    history = f"/v1/registers/{world.register_a}/history"
    for path in (balance, history):
        for as_of in (
            EARLY_MOMENT,
            LATE_MOMENT,
            "1999-12-31T23:59:59+00:00",
            "2100-01-01T00:00:00Z",
        ):
            problem = refused(world, "GET", path, "as_of", params={"as_of": as_of}, headers=auth)
            assert DATE_RANGE in problem["errors"][0]["reason"]
    first = world.client.get(balance, params={"as_of": "2000-01-01T00:00:00+14:00"}, headers=auth)
    assert world.ok(first, 200)["balance_due_cents"] == 0
    last = world.client.get(balance, params={"as_of": "2099-12-31T23:59:59-14:00"}, headers=auth)
    assert world.ok(last, 200)["deposit_held_cents"] == 15000
    late = world.client.get(history, params={"as_of": "2099-12-31T23:59:59-14:00"}, headers=auth)
    assert world.ok(late, 200)["last_receipt_number"] == 2
    early = world.client.get(history, params={"as_of": "2000-01-01T00:00:00+14:00"}, headers=auth)
    assert_problem(early, 404, "register_not_found")  # (it did not exist yet)


def test_a_number_past_what_the_stores_hold_is_a_problem(world: World, stay_id: str) -> None:
    """A receipt or slip number of 2^63 or more (or below 1) is 422 ``validation_error`` on
    ``number`` on every route that takes one, reads and writes alike, and records nothing;
    2^63 - 1, the largest number the stores hold, is a plain 404 (never issued)."""
    register = f"/v1/registers/{world.register_a}"
    auth = world.headers("regisseur")  # money is a régisseur's, never the admin's
    cancellation = f"{register}/receipts/{{n}}/cancellation"
    routes = [
        ("GET", f"{register}/receipts/{{n}}", {}, "receipt_not_found"),
        ("GET", f"{register}/documents/receipt/{{n}}", {}, "receipt_not_found"),
        ("GET", f"{register}/documents/deposit_receipt/{{n}}", {}, "receipt_not_found"),
        ("GET", f"{register}/documents/slip/{{n}}", {}, "slip_not_found"),
        ("POST", f"{register}/documents/receipt/{{n}}/reprints", {}, "receipt_not_found"),
        ("POST", f"{register}/documents/slip/{{n}}/reprints", {}, "slip_not_found"),
        ("POST", cancellation, {"json": {"reason": "erreur"}}, "receipt_not_found"),
        ("POST", f"{cancellation}/approval", {}, "receipt_not_found"),
        ("POST", f"{cancellation}/refusal", {"json": {"reason": "non"}}, "receipt_not_found"),
        ("POST", f"{cancellation}/withdrawal", {}, "receipt_not_found"),
    ]
    for method, template, extra, not_found in routes:
        headers = {**auth, "Idempotency-Key": world.new_key()}
        for bad in (TOO_LARGE, 2**64, 10**30, 0, -1):
            path = template.format(n=bad)
            refused(world, method, path, "number", headers=headers, **extra)
        before = world.position()
        largest = world.client.request(
            method, template.format(n=MAX_NUMBER), headers=headers, **extra
        )
        assert_problem(largest, 404, not_found)
        assert world.position() == before
    assert world.ok(world.get("admin", f"{register}/receipts/2"), 200)["number"] == 2


def test_numbers_and_dates_in_bodies_are_range_checked(world: World, stay_id: str) -> None:
    """In a body too: a remittance through receipt 2^63, a reading correcting reading 2^63
    and a tariff season from year 1 to year 9999 are 422 on their field; nothing recorded."""
    auth = world.headers("admin")
    remit = {"through_receipt": TOO_LARGE, "amounts_by_method_cents": {"cash": 100}}
    refused(
        world,
        "POST",
        f"/v1/registers/{world.register_a}/remittances",
        "through_receipt",
        json=remit,
        headers={**auth, "Idempotency-Key": "big"},
    )
    reading = {"meter": "water", "index": "101", "read_at": world.now(), "corrects": TOO_LARGE}
    path = f"/v1/stays/{stay_id}/meter-readings"
    refused(world, "POST", path, "corrects", json=reading, headers=auth)
    season = {"start": "0001-01-01", "end": "2025-08-31", "pitch_fee_per_day_cents": 400}
    tariff = TARIFF | {"effective_from": "2025-02-01", "seasons": [season]}
    path = f"/v1/aires/{world.aire_a}/tariffs"
    refused(world, "POST", path, "seasons.0.start", json=tariff, headers=auth)
    late = tariff | {"seasons": [season | {"start": "2025-07-01", "end": "9999-12-31"}]}
    refused(world, "POST", path, "seasons.0.end", json=late, headers=auth)


# --- every parameter the OpenAPI document declares --------------------------------------------


def out_of_range(name: str, schema: dict[str, Any]) -> list[Any]:
    """Values just and far outside a parameter's range, by its type in the document."""
    kinds = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
    (kind,) = kinds
    if kind.get("type") == "integer":
        assert "minimum" in kind and "maximum" in kind, f"{name}: an integer with no range"
        return [kind["minimum"] - 1, kind["maximum"] + 1, 2**64]
    if kind.get("format") == "date":
        return ["1999-12-31", "2100-01-01", "0001-01-01", "9999-12-31"]
    if kind.get("format") == "date-time":
        return [EARLY_MOMENT, LATE_MOMENT, "1999-12-31T23:00:00+00:00"]
    if name in ("month", "period"):
        assert "pattern" in kind, f"{name}: a month with no pattern"
        return [
            "0000-01",
            "1999-12",
            "2100-01",
            "2025-13",
            *(["0000", "2100"] * (name == "period")),
        ]
    return []


def test_every_number_and_date_parameter_is_range_checked(world: World, stay_id: str) -> None:
    """Every path and query parameter of the OpenAPI document that is a number, a day, a
    moment, a month or a period (a new route's included) refuses values outside the
    ledger's range with 422 ``validation_error`` naming it, and nothing is recorded; every
    integer parameter documents its minimum and maximum."""
    document = world.client.get("/openapi.json").json()
    valid = {
        **world.path_values(stay_id=stay_id),
        "as_of": world.now(),
        "year": "2025",
        "name": "famille",  # the households' search, whose pages' limit is checked too
        "user_id": world.users["cashier"]["id"],  # a user's tokens, their pages' limit
        "token_id": "00000000-0000-4000-8000-000000000000",
    }
    bodies = {
        "/v1/registers/{register_id}/receipts/{number}/cancellation": {"reason": "x"},
        "/v1/registers/{register_id}/cash-counts/{count_number}/regularisation": {"reference": "x"},
        "/v1/registers/{register_id}/receipts/{number}/cancellation/refusal": {"reason": "x"},
    }
    checked = []
    for template, item in document["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                name, where = parameter["name"], parameter["in"]
                for bad in out_of_range(name, parameter["schema"]):
                    path = template.format(**valid | ({name: bad} if where == "path" else {}))
                    required = {
                        p["name"]: valid[p["name"]]
                        for p in operation["parameters"]
                        if p["in"] == "query" and p.get("required") and p["name"] != name
                    }
                    query = required | ({name: bad} if where == "query" else {})
                    headers = {**world.headers("admin"), "Idempotency-Key": world.new_key()}
                    body = bodies.get(template, {} if method != "get" else None)
                    refused(
                        world, method.upper(), path, name, params=query, json=body, headers=headers
                    )
                    checked.append((method.upper(), template, name))
    assert {(m, t, n) for m, t, n in checked} >= {
        ("GET", "/v1/stays/{stay_id}/balance", "as_of"),
        ("GET", "/v1/registers/{register_id}/history", "as_of"),
        ("GET", "/v1/registers/{register_id}/receipts/{number}", "number"),
        ("GET", "/v1/registers/{register_id}/documents/{document}/{number}", "number"),
        ("POST", "/v1/registers/{register_id}/receipts/{number}/cancellation", "number"),
        ("GET", "/v1/registers/{register_id}/remittances/preview", "through_receipt"),
        (
            "POST",
            "/v1/registers/{register_id}/cash-counts/{count_number}/regularisation",
            "count_number",
        ),
        ("GET", "/v1/registers/{register_id}/journal", "from"),
        ("GET", "/v1/exports/{table}", "to"),
        ("GET", "/v1/aires/{aire_id}/occupancy", "month"),
        ("GET", "/v1/aires/{aire_id}/alt2", "year"),
        ("GET", "/v1/aires/{aire_id}/seals/{month}/attestation", "month"),
        ("GET", "/v1/reports", "period"),
        ("GET", "/v1/registers/{register_id}/journal", "limit"),
        ("GET", "/v1/households", "limit"),
    }


def test_every_number_and_date_of_a_body_has_its_range(world: World) -> None:
    """Every integer field of every request body in the OpenAPI document has a minimum and
    a maximum, and every day and moment field is one of the ranged types (its description
    gives the range): a new field without one fails here."""
    document = world.client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    bodies = set()
    for item in document["paths"].values():
        for operation in item.values():
            content = operation.get("requestBody", {}).get("content", {})
            for media in content.values():
                bodies.add(media["schema"]["$ref"].rsplit("/", 1)[-1])
    seen, todo, missing = set(), list(bodies), []
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for field, schema in schemas[name].get("properties", {}).items():
            stack = [schema]
            while stack:
                s = stack.pop()
                stack += s.get("anyOf", []) + ([s["items"]] if "items" in s else [])
                values = s.get("additionalProperties")
                stack += [values] if isinstance(values, dict) else []
                if "$ref" in s:
                    todo.append(s["$ref"].rsplit("/", 1)[-1])
                bounded = {"minimum", "exclusiveMinimum"} & s.keys() and "maximum" in s
                if s.get("type") == "integer" and not bounded:
                    missing.append(f"{name}.{field}: integer")
                if s.get("format") in ("date", "date-time"):
                    described = s.get("description", "") + schema.get("description", "")
                    if DATE_RANGE not in described:
                        missing.append(f"{name}.{field}: {s['format']}")
    assert "RemittanceCreate" in seen and "Season" in seen
    assert missing == []
