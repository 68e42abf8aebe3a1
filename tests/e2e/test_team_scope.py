"""An aire's team and the scope of its members over HTTP (the real ASGI app), on SQLite and
PostgreSQL: a team change reaches a member whose token the process already accepted at
their next request there, and within a second of the shared injected clock in another API
process on the same database (no sleeping); a user created with aires is in those aires'
teams, and their manager withdraws them. The world is ``api_world``'s."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi.testclient import TestClient

from hacienda_ledger.aggregates.errors import InvalidValue
from hacienda_ledger.aggregates.user import User
from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger
from hacienda_ledger.settings import Settings
from tests.conftest import Clock
from tests.e2e.api_world import World, assert_problem, build_world


@pytest.fixture
def world(settings: Settings, ledger: Ledger, clock: Clock) -> Iterator[World]:
    with TestClient(create_app(settings, ledger=ledger)) as client:
        yield build_world(client, ledger, clock)


def team(world: World, aire: str, path: str = "") -> httpx.Response:
    """The manager assigns (no ``path``) or withdraws (``path``: a user id) a member."""
    if path:
        headers = world.headers("manager")
        return world.client.request("DELETE", f"/v1/aires/{aire}/team/{path}", headers=headers)
    return world.post("manager", f"/v1/aires/{aire}/team", {"user_id": world.users["c2"]["id"]})


def new_cashier(world: World) -> str:
    """A cashier of aire A, ``c2``, whose token this process has accepted (its id)."""
    body = {"name": "Cashier Two", "role": "cashier", "aires": [world.aire_a]}
    created = world.ok(world.post("admin", "/v1/users", body))
    world.users["c2"], world.tokens["c2"] = created, created["token"]
    assert world.get("c2", "/v1/users/me").json()["aires"] == [world.aire_a]
    return str(created["id"])


def receipt(client: TestClient, world: World, stay: str, register: str) -> httpx.Response:
    body: dict[str, Any] = {"stay_id": stay, "method": "cash"}
    body["lines"] = [{"revenue_type": "deposit", "amount_cents": 100}]
    headers = world.headers("c2", world.new_key())
    return client.post(f"/v1/registers/{register}/receipts", json=body, headers=headers)


def test_a_team_change_reaches_an_authenticated_member_at_their_next_request(
    world: World,
) -> None:
    """Given a cashier of aire A whose token this process has accepted, when the manager
    puts them in aire A2's team, then their next request acts at A2 and /users/me lists
    it; when the manager withdraws them, then their next receipt on A2's register, read of
    its journal or arrival at A2 is 403 and records nothing, and /users/me lists A only.
    No clock moves: this process knows at once."""
    a2, register = world.aire_a2(), world.ids["register_a2"]
    c2 = new_cashier(world)
    world.ok(team(world, a2), 200)
    assert world.get("c2", "/v1/users/me").json()["aires"] == [world.aire_a, a2]
    stay = world.arrive(aire=a2, who="c2")
    world.ok(receipt(world.client, world, stay, register))
    world.ok(world.get("c2", f"/v1/registers/{register}/journal"), 200)
    world.ok(team(world, a2, c2), 200)
    before = world.position()
    assert_problem(receipt(world.client, world, stay, register), 403, "forbidden")
    assert_problem(world.get("c2", f"/v1/registers/{register}/journal"), 403, "forbidden")
    stay_body = world.stay_body(emplacement="2")
    assert_problem(world.post("c2", f"/v1/aires/{a2}/stays", stay_body), 403, "forbidden")
    assert world.position() == before
    assert world.get("c2", "/v1/users/me").json()["aires"] == [world.aire_a]


def test_a_team_change_through_one_process_reaches_another_within_a_second(
    world: World, settings: Settings, clock: Clock
) -> None:
    """Given two API processes on the same database and clock (the world's app, A, and a
    second app, B, with a ledger of its own), a cashier of aire A authenticated through
    both, when the manager puts them in aire A2's team through A, then B may refuse them at
    A2 within the second (from its cache: it does) and lets them act there once the clock is
    1 s past; when the manager withdraws them through A, then B refuses them at A2 once the
    clock is 1 s past, recording nothing."""
    quiet = settings.model_copy(
        update={
            "run_projections": False,
            "reports_auto": False,
            "run_retention": False,
            "verify_every_hours": 0,
        }
    )
    other_ledger = Ledger(quiet, clock=clock)
    a2, register = world.aire_a2(), world.ids["register_a2"]
    c2 = new_cashier(world)
    stay = world.arrive(aire=a2, who="cashier_a2")
    try:
        with TestClient(create_app(quiet, ledger=other_ledger)) as b:
            headers = world.headers("c2")
            assert b.get("/v1/users/me", headers=headers).json()["aires"] == [world.aire_a]
            world.ok(team(world, a2), 200)
            clock.advance(seconds=0.999)
            assert_problem(receipt(b, world, stay, register), 403, "forbidden")
            clock.advance(seconds=0.001)
            assert b.get("/v1/users/me", headers=headers).json()["aires"] == [world.aire_a, a2]
            world.ok(receipt(b, world, stay, register))
            world.ok(team(world, a2, c2), 200)
            clock.advance(seconds=1)
            before = world.position()
            assert_problem(receipt(b, world, stay, register), 403, "forbidden")
            journal = b.get(f"/v1/registers/{register}/journal", headers=headers)
            assert_problem(journal, 403, "forbidden")
            assert world.position() == before
            assert b.get("/v1/users/me", headers=headers).json()["aires"] == [world.aire_a]
    finally:
        other_ledger.close()


def names(world: World, aire: str) -> list[str]:
    return [m["name"] for m in world.ok(world.get("manager", f"/v1/aires/{aire}"), 200)["team"]]


def test_a_user_created_with_aires_is_in_their_teams_and_their_manager_withdraws_them(
    world: World,
) -> None:
    """Given a cashier created by the admin with aires A and A2, then both aires list them
    in their team (its role with it); when the manager withdraws them from A2, then A2 lists
    them no more and they act there no more (403); A they keep (a cashier keeps one aire:
    422, nothing recorded). More than 8 aires at creation is 422 before anything is read
    or locked."""
    a2 = world.aire_a2()
    body = {"name": "Cashier Two", "role": "cashier", "aires": [world.aire_a, a2]}
    created = world.ok(world.post("admin", "/v1/users", body))
    world.users["c2"], world.tokens["c2"] = created, created["token"]
    member = {"user_id": created["id"], "name": "Cashier Two", "role": "cashier"}
    assert member in world.get("manager", f"/v1/aires/{world.aire_a}").json()["team"]
    assert names(world, a2) == ["cashier_a2", "regisseur_a2", "Cashier Two"]
    world.ok(team(world, a2, created["id"]), 200)
    assert names(world, a2) == ["cashier_a2", "regisseur_a2"]
    stay_body = world.stay_body()
    assert_problem(world.post("c2", f"/v1/aires/{a2}/stays", stay_body), 403, "forbidden")
    before = world.position()
    assert_problem(team(world, world.aire_a, created["id"]), 422, "invalid_value")
    many = {**body, "aires": [f"00000000-0000-4000-8000-00000000000{n}" for n in range(9)]}
    problem = assert_problem(world.post("admin", "/v1/users", many), 422, "invalid_value")
    assert problem["errors"][0]["field"] == "aires"
    assert world.position() == before
    assert "Cashier Two" in names(world, world.aire_a)


def test_a_user_given_an_aire_before_teams_listed_them_is_withdrawn_or_listed(
    world: World,
) -> None:
    """Given a cashier of aires A and A2 recorded as users were before their creation put
    them in their aires' teams (their ``User.Created`` alone), then neither team lists them;
    the manager withdraws them from A2 all the same (the aire records it), and assigning
    them to A (already in their scope) lists them there."""
    a2 = world.aire_a2()
    old = User.create(
        user_id=uuid4(),
        name="Old Cashier",
        role="cashier",
        aire_ids=(UUID(world.aire_a), UUID(a2)),
        actor="admin",
        at=world.clock(),
    )
    world.ledger.save(old)
    assert "Old Cashier" not in names(world, a2)
    assert "Old Cashier" not in names(world, world.aire_a)
    world.ok(team(world, a2, str(old.id)), 200)
    assert world.ledger.user(old.id).aire_ids == (UUID(world.aire_a),)
    world.users["c2"] = {"id": str(old.id)}
    world.ok(team(world, world.aire_a), 200)
    assert "Old Cashier" in names(world, world.aire_a)
    assert world.ledger.user(old.id).aire_ids == (UUID(world.aire_a),)


def test_a_user_names_each_aire_once(world: World) -> None:
    """Given the admin creating a cashier with aire A named twice, then it is 422
    ``invalid_value`` on ``aires``, nothing recorded (it was 201 with A listed twice, and the
    manager could then withdraw A, leaving a cashier with no aire whom any manager could take
    into a team). A cashier recorded with A twice before keeps A: the withdrawal is 422."""
    body = {"name": "Cashier Twice", "role": "cashier", "aires": [world.aire_a, world.aire_a]}
    before = world.position()
    problem = assert_problem(world.post("admin", "/v1/users", body), 422, "invalid_value")
    assert problem["errors"][0]["field"] == "aires"
    assert world.position() == before

    twice = User.create(
        user_id=uuid4(), name="Old", role="cashier", aire_ids=(UUID(world.aire_a),), actor="admin",
        at=world.clock(),
    )  # fmt: skip
    twice.aire_ids = (UUID(world.aire_a), UUID(world.aire_a))  # as recorded before the check
    with pytest.raises(InvalidValue):
        twice.withdraw(aire_id=UUID(world.aire_a), actor="manager", at=world.clock())
