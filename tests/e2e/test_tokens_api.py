"""Bearer tokens over HTTP, on SQLite and PostgreSQL: listed without the secret, revoked by
their user or an admin, rotated with a grace, refused once expired, and a revocation made
through one API process refused by another within a second of the shared injected clock
(no sleeping). Every refusal is a problem document and records nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from hacienda_ledger.aggregates.user import ApiToken
from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger
from hacienda_ledger.settings import Settings
from tests.conftest import Clock
from tests.e2e.api_world import World, assert_problem, build_world

LISTED = {
    "id",
    "user_id",
    "status",
    "created_at",
    "expires_at",
    "last_used_at",
    "revoked_at",
    "replaces",
    "successor_id",
}


@pytest.fixture
def world(settings: Settings, ledger: Ledger, clock: Clock) -> Iterator[World]:
    with TestClient(create_app(settings, ledger=ledger)) as client:
        yield build_world(client, ledger, clock)


def token_of(world: World, name: str) -> str:
    return str(ApiToken.id_for(world.ledger.token_digest(world.tokens[name])))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def me(world: World, name: str) -> Any:
    return world.get(name, "/v1/users/me")


def test_a_users_tokens_are_listed_without_the_token(world: World) -> None:
    """Given the cashier's one token, used just now, when the cashier lists its tokens,
    then it gets its id, created, expires (90 days on), last used, not revoked, and neither
    the token nor its digest; the admin lists the same for the cashier; the cashier asking
    for the auditor's tokens is 403, and an unknown user 404 for the admin."""
    now = world.clock()
    mine = world.ok(world.get("cashier", "/v1/users/me/tokens"), 200)
    (token,) = mine["data"]
    assert set(token) == LISTED
    assert token["id"] == token_of(world, "cashier")
    assert (token["status"], token["revoked_at"], token["replaces"]) == ("active", None, None)
    assert at(token["created_at"]) == now
    assert at(token["expires_at"]) == now + timedelta(days=90)
    assert at(token["last_used_at"]) == now
    secret = world.tokens["cashier"]
    assert secret not in str(mine) and world.ledger.token_digest(secret) not in str(mine)
    cashier_id = world.users["cashier"]["id"]
    listed = world.ok(world.get("admin", f"/v1/users/{cashier_id}/tokens"), 200)
    assert listed["data"] == mine["data"]
    auditor_id = world.users["auditor"]["id"]
    assert_problem(world.get("cashier", f"/v1/users/{auditor_id}/tokens"), 403, "forbidden")
    unknown = "00000000-0000-4000-8000-000000000001"
    assert_problem(world.get("admin", f"/v1/users/{unknown}/tokens"), 404, "user_not_found")


def test_a_user_revokes_their_own_token_and_only_an_admin_anyones(world: World) -> None:
    """Given the cashier and the auditor, when the cashier revokes the auditor's token, then
    403 and nothing recorded (the auditor still authenticates); an unknown id is 404
    ``token_not_found``; the cashier revokes its own: its next request is 401
    ``token_revoked`` at once; revoking it again is 409 ``token_already_revoked``; the admin
    revokes the auditor's."""
    auditor_token = token_of(world, "auditor")
    before = world.position()
    refused = world.post("cashier", f"/v1/tokens/{auditor_token}/revocation", None)
    assert_problem(refused, 403, "forbidden")
    unknown = world.post("cashier", f"/v1/tokens/{ApiToken.id_for('x')}/revocation", None)
    assert_problem(unknown, 404, "token_not_found")
    assert world.position() == before
    world.ok(me(world, "auditor"), 200)

    own = token_of(world, "cashier")
    revoked = world.ok(world.post("cashier", f"/v1/tokens/{own}/revocation", None))
    assert (revoked["token_id"], at(revoked["revoked_at"])) == (own, world.clock())
    assert_problem(me(world, "cashier"), 401, "token_revoked")
    after = world.position()
    again = world.post("admin", f"/v1/tokens/{own}/revocation", None)
    assert_problem(again, 409, "token_already_revoked")
    assert world.position() == after

    world.ok(world.post("admin", f"/v1/tokens/{auditor_token}/revocation", None))
    assert_problem(me(world, "auditor"), 401, "token_revoked")
    (listed,) = world.ok(world.get("admin", "/v1/users/me/tokens"), 200)["data"]
    assert listed["status"] == "active"


def test_a_rotated_token_is_replaced_after_its_grace(world: World) -> None:
    """Given the régisseur's token, when the régisseur rotates it, then the new token
    (shown once) authenticates and expires 90 days on; the old one still does for the
    grace (5 minutes), and from then on is 401 ``token_revoked``; rotating it again is 409
    ``token_already_revoked``; the list shows both, linked."""
    now, old = world.clock(), token_of(world, "regisseur")
    rotated = world.ok(world.post("regisseur", f"/v1/tokens/{old}/rotation", None))
    assert rotated["replaces"] == old
    assert at(rotated["replaced_from"]) == now + timedelta(minutes=5)
    assert at(rotated["expires_at"]) == now + timedelta(days=90)
    new_token = rotated["token"]
    assert rotated["token_id"] == str(ApiToken.id_for(world.ledger.token_digest(new_token)))
    world.tokens["regisseur_new"] = new_token
    world.ok(me(world, "regisseur_new"), 200)
    world.clock.advance(minutes=5, seconds=-1)
    world.ok(me(world, "regisseur"), 200)
    world.clock.advance(seconds=1)
    assert_problem(me(world, "regisseur"), 401, "token_revoked")
    world.ok(me(world, "regisseur_new"), 200)
    before = world.position()
    again = world.post("admin", f"/v1/tokens/{old}/rotation", None)
    assert_problem(again, 409, "token_already_revoked")
    assert world.position() == before
    first, second = world.ok(world.get("regisseur_new", "/v1/users/me/tokens"), 200)["data"]
    assert (first["status"], first["successor_id"]) == ("revoked", rotated["token_id"])
    assert (second["status"], second["replaces"]) == ("active", old)


def test_an_expired_token_is_refused_as_such_and_records_nothing(world: World) -> None:
    """Given the cashier's token issued now, when the clock stands the day before its 90
    days, then a receipt is recorded; at 90 days and the day after, the same request is 401
    ``token_expired`` (with ``WWW-Authenticate``) and records nothing, not even a last use;
    a token never issued is 401 ``unauthenticated``."""
    issued, cashier = world.clock(), UUID(world.users["cashier"]["id"])
    stay = world.arrive()
    world.clock.now = issued + timedelta(days=89)
    world.deposit(stay)
    for days in (90, 91):
        world.clock.now = issued + timedelta(days=days)
        before = world.position()
        (listed,) = world.ledger.tokens.of_user(cashier)
        response = world.receipt([("deposit", 100)], stay_id=stay)
        body = assert_problem(response, 401, "token_expired")
        assert response.headers["www-authenticate"] == "Bearer"
        assert "expired" in body["detail"]
        assert world.position() == before
        (again,) = world.ledger.tokens.of_user(cashier)
        assert again.last_used_at == listed.last_used_at == issued + timedelta(days=89)
    world.tokens["nobody"] = "never-issued"
    assert_problem(me(world, "nobody"), 401, "unauthenticated")


def test_a_revocation_through_one_process_is_refused_by_another_within_a_second(
    world: World, settings: Settings, clock: Clock
) -> None:
    """Given two API processes on the same database and clock (the world's app, A, and a
    second app, B, with a ledger of its own), the cashier's token authenticated through
    both, when the admin revokes it through A, then A refuses it at once; B may still
    serve it within the second (from its cache: it does) and refuses it ``token_revoked``
    once the clock is 1 s past the revocation; B's refusal of a receipt records nothing."""
    quiet = settings.model_copy(
        update={
            "run_projections": False,
            "reports_auto": False,
            "run_retention": False,
            "verify_every_hours": 0,
        }
    )
    other_ledger = Ledger(quiet, clock=clock)
    stay = world.arrive()
    try:
        with TestClient(create_app(quiet, ledger=other_ledger)) as b:
            headers = world.headers("cashier")
            assert b.get("/v1/users/me", headers=headers).status_code == 200
            token = token_of(world, "cashier")
            world.ok(world.post("admin", f"/v1/tokens/{token}/revocation", None))
            assert_problem(me(world, "cashier"), 401, "token_revoked")
            clock.advance(seconds=0.999)
            assert b.get("/v1/users/me", headers=headers).status_code == 200
            clock.advance(seconds=0.001)
            assert_problem(b.get("/v1/users/me", headers=headers), 401, "token_revoked")
            before = world.position()
            receipt = {"stay_id": stay, "method": "cash", "lines": []}
            receipt["lines"] = [{"revenue_type": "deposit", "amount_cents": 100}]
            path = f"/v1/registers/{world.register_a}/receipts"
            response = b.post(path, json=receipt, headers={**headers, "Idempotency-Key": "k"})
            assert_problem(response, 401, "token_revoked")
            assert world.position() == before
    finally:
        other_ledger.close()
