"""``GET /v1/audit-trail``: the technical journal over HTTP, on SQLite and PostgreSQL — who
may read which entries, pagination and filters, and the reads and refusals the API records
in it (exports, downloads, refused logins), never with a token or a name."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hacienda_ledger.api.app import create_app
from hacienda_ledger.api.pages import keyed_cursor
from hacienda_ledger.application import Ledger
from hacienda_ledger.settings import Settings
from tests.conftest import Clock
from tests.e2e.api_world import PROBLEM_JSON, World, assert_problem, build_world

TRAIL = "/v1/audit-trail"


@pytest.fixture
def world(settings: Settings, ledger: Ledger, clock: Clock) -> Iterator[World]:
    with TestClient(create_app(settings, ledger=ledger)) as client:
        yield build_world(client, ledger, clock)


def trail(world: World, who: str, query: str = "") -> list[dict[str, Any]]:
    """Every entry the user may read, page by page (``limit`` 3)."""
    found: list[dict[str, Any]] = []
    url = f"{TRAIL}?limit=3{query}"
    while True:
        page = world.ok(world.get(who, url), 200)
        assert page["count"] == len(page["data"]) <= 3
        found += page["data"]
        if page["next_cursor"] is None:
            return found
        url = f"{TRAIL}?limit=3{query}&cursor={page['next_cursor']}"


def test_admins_read_every_entry_auditors_those_of_their_collectivite(world: World) -> None:
    """The admin pages through the whole journal (numbered 1..N, each entry linked to the
    one before); A's auditor reads A's entries only, none naming B's things; B's auditor
    the others of B; a manager, a cashier and an analyst are refused."""
    everything = trail(world, "admin")
    assert [e["sequence"] for e in everything] == list(range(1, len(everything) + 1))
    assert all(e["prev_hash"] == p["hash"] for p, e in itertools.pairwise(everything))
    assert {e["kind"] for e in everything} == {"user_created", "token_created", "key_created"}
    a, b = world.ids["collectivite_a"], world.ids["collectivite_b"]
    own = trail(world, "auditor")
    assert own == [e for e in everything if e["collectivite_id"] == a]
    users_of_a = {world.users[n]["id"] for n in ("manager", "cashier", "regisseur", "auditor")}
    assert users_of_a <= {e["subjects"].get("user") for e in own}
    text = json.dumps(own)
    assert world.aire_b not in text and b not in text and world.ids["household_b"] not in text
    assert trail(world, "auditor_b") == [e for e in everything if e["collectivite_id"] == b]
    for who in ("manager", "cashier", "analyst"):
        assert_problem(world.get(who, TRAIL), 403, "forbidden")


def test_filters_by_kind_and_period_and_refuses_what_is_not_one(world: World) -> None:
    """``kind`` (repeatable) and the Paris days ``from``/``to``; an unknown kind or a bad
    cursor is 422 ``validation_error``; a cursor past the end gives an empty last page."""
    created = trail(world, "admin", "&kind=user_created&kind=token_created")
    assert {e["kind"] for e in created} == {"user_created", "token_created"}
    assert len(created) == 2 * (len(world.users) + 1)  # and the bootstrap admin
    today = world.clock().date()
    assert trail(world, "admin", f"&from={today}&to={today}") == trail(world, "admin")
    assert trail(world, "admin", f"&to={date(today.year - 1, 1, 1)}") == []
    assert_problem(world.get("admin", f"{TRAIL}?kind=nothing"), 422, "validation_error")
    assert_problem(world.get("admin", f"{TRAIL}?cursor=bm90aGluZw"), 422, "validation_error")
    past = world.ok(world.get("admin", f"{TRAIL}?cursor={keyed_cursor(10**30, 0)}"), 200)
    assert (past["data"], past["next_cursor"]) == ([], None)  # a cursor past every entry


def test_a_refused_login_is_recorded_without_its_token(world: World) -> None:
    """An unknown token and a missing one are 401; the first refusal is in the journal at
    once (later ones in the same minute are counted into the next entry), and no entry
    holds the token."""
    response = world.client.get(TRAIL, headers={"Authorization": "Bearer not-a-token-at-all"})
    assert (response.status_code, response.headers["content-type"]) == (401, PROBLEM_JSON)
    assert world.client.get(TRAIL).status_code == 401
    refused = trail(world, "admin", "&kind=login_refused")
    assert [(e["actor"], e["collectivite_id"], e["detail"]["refusals"]) for e in refused] == [
        ("system", None, 1)
    ]
    assert refused[0]["detail"]["unknown_token"] == 1
    world.ledger.journalling.flush()
    assert trail(world, "admin", "&kind=login_refused")[-1]["detail"]["no_token"] == 1
    assert "not-a-token" not in json.dumps(trail(world, "admin"))


def test_exports_and_downloads_are_recorded(world: World) -> None:
    """A cash table exported, the cash journal as CSV, a receipt printed and reprinted, a
    household's data exported: each an entry with its ids and row count, read by A's
    auditor (all of A)."""
    stay = world.arrive()
    world.deposit(stay)  # receipt n° 1
    exported = world.get("auditor", f"/v1/exports/cash_journal?aire_id={world.aire_a}")
    assert exported.status_code == 200
    lines = exported.content.decode("utf-8-sig").strip().splitlines()
    register = world.register_a
    assert world.get("auditor", f"/v1/registers/{register}/journal?format=csv").status_code == 200
    assert world.get("cashier", f"/v1/registers/{register}/documents/receipt/1").status_code == 200
    assert (
        world.post("cashier", f"/v1/registers/{register}/documents/receipt/1/reprints", {})
    ).status_code == 200
    household = world.ids["household"]
    world.ok(world.get("manager", f"/v1/households/{household}/export"), 200)
    found = trail(world, "auditor", "&kind=export&kind=download")
    summary = [(e["kind"], e["subjects"], e["detail"].get("table")) for e in found]
    assert summary == [
        ("export", {"aire": world.aire_a}, "cash_journal"),
        ("export", {"register": register}, "cash_journal"),
        ("download", {"register": register}, None),
        ("download", {"register": register}, None),
        ("export", {"household": household}, "household"),
    ]
    assert found[0]["detail"]["rows"] == len(lines) - 1 > 0
    assert found[0]["actor"] == world.users["auditor"]["id"]
    assert [e["detail"].get("print") for e in found[2:4]] == ["original", "duplicata 1"]
    assert "Famille" not in json.dumps(found)
