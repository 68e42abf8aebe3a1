"""Mistakes answered with what to do (issue 17, "messages that say what to do"), through real
HTTP on the ASGI app, on SQLite and PostgreSQL: where in the body the JSON broke, that a body
needs its Content-Type, which code is taken, and that a reversed period is refused rather
than answered with nothing. Each refusal records nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger
from hacienda_ledger.settings import Settings
from tests.conftest import Clock
from tests.e2e.api_world import World, assert_problem, build_world


@pytest.fixture
def world(settings: Settings, ledger: Ledger, clock: Clock) -> Iterator[World]:
    with TestClient(create_app(settings, ledger=ledger)) as client:
        yield build_world(client, ledger, clock)


def test_broken_json_says_where_it_broke(world: World) -> None:
    """Was: field "23", reason "JSON decode error"."""
    before = world.position()
    body = b'{"code": "NEW",\n "name": Angers}'
    response = world.client.post(
        "/v1/collectivites",
        content=body,
        headers={**world.headers("admin"), "Content-Type": "application/json"},
    )
    problem = assert_problem(response, 422, "validation_error")
    [error] = problem["errors"]
    assert error["field"] == "body"
    assert error["reason"] == (
        "the body is not valid JSON: Expecting value at line 2, column 10 (character 25)"
    )
    assert body[25:26] == b"A"  # the character named is where the JSON broke
    assert world.position() == before


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_body_without_its_content_type_says_so(world: World, content_type: str | None) -> None:
    """Was: "Input should be a valid dictionary or object to extract fields from"."""
    before = world.position()
    headers = world.headers("admin")
    if content_type:
        headers["Content-Type"] = content_type
    body = b'{"code": "NEW", "name": "Angers", "siren": "244900015"}'
    response = world.client.post("/v1/collectivites", content=body, headers=headers)
    problem = assert_problem(response, 422, "validation_error")
    [error] = problem["errors"]
    assert error["field"] == "Content-Type"
    sent = f"Content-Type {content_type}" if content_type else "no Content-Type"
    assert error["reason"] == (
        f"the body must be JSON sent with Content-Type: application/json (this request had {sent})"
    )
    assert world.position() == before


def test_a_taken_code_is_named_not_an_internal_command_and_a_uuid(world: World) -> None:
    body = {"code": "TAKEN-1", "name": "Angers", "siren": "244900015"}
    world.ok(world.post("admin", "/v1/collectivites", body))
    before = world.position()
    problem = assert_problem(world.post("admin", "/v1/collectivites", body), 409, "already_exists")
    assert problem["detail"] == (
        "a collectivite with this code exists already (TAKEN-1): choose another code"
    )
    assert problem["errors"] == [{"field": "code", "reason": problem["detail"]}]
    assert "CreateCollectivite" not in problem["detail"]
    assert world.position() == before


@pytest.mark.parametrize(
    "path",
    [
        "/v1/registers/{register_a}/journal",
        "/v1/registers/{register_a}/journal?format=csv&x=",
        "/v1/exports/cash_journal?aire_id={aire_a}&x=",
        "/v1/audit-trail",
    ],
)
def test_a_period_that_ends_before_it_starts_is_refused(world: World, path: str) -> None:
    """Was: 200 with nothing, which reads as a period without activity."""
    url = path.format(register_a=world.register_a, aire_a=world.aire_a)
    url += ("&" if "?" in url else "?") + "from=2025-10-31&to=2025-08-01"
    problem = assert_problem(world.get("admin", url), 422, "validation_error")
    assert problem["errors"] == [
        {
            "field": "to",
            "reason": "from (2025-10-31) is after to (2025-08-01): give the first day first",
        }
    ]
    same_day = url.replace("to=2025-08-01", "to=2025-10-31")
    assert world.get("admin", same_day).status_code == 200
