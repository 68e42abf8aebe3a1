"""Bounded requests, on SQLite and PostgreSQL (issue 16, defect 5): the body's size, plain
texts, pages on every list, exports of a bounded size.

The world is the API world of ``api_world`` with a body limit of 2 KiB (the setting's
default is 1 MiB) and, where a test says so, a small ``export_max_rows``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hacienda_ledger.aggregates.household import Member, Profile
from hacienda_ledger.api.app import create_app
from hacienda_ledger.api.pages import MAX_LIMIT
from hacienda_ledger.application import Ledger
from hacienda_ledger.settings import Settings
from tests.conftest import Clock
from tests.e2e.api_world import World, assert_problem, build_world

LIMIT = 2048


@pytest.fixture
def world(settings: Settings, ledger: Ledger, clock: Clock) -> Iterator[World]:
    settings.max_body_bytes = LIMIT
    with TestClient(create_app(settings, ledger=ledger)) as client:
        yield build_world(client, ledger, clock)


@contextmanager
def records_nothing(world: World) -> Iterator[None]:
    """The block's requests leave the event store exactly as it was."""
    before = world.position()
    yield
    assert world.position() == before


def household(notes: str = "", **fields: Any) -> dict[str, Any]:
    return {"display_name": "Famille Texte", "notes": notes, **fields}


# --- the body's size ------------------------------------------------------------------------


def test_a_body_over_the_limit_is_413_before_it_is_read(world: World) -> None:
    """Given a limit of 2 KiB, when a body of 2 KiB and one byte is posted (with its length,
    or chunked without one), then it is 413 ``body_too_large``, a problem document, and
    nothing is recorded; a body within the limit goes through."""
    path = "/v1/households"
    body = household(aire_id=world.aire_a)
    padding = LIMIT - len(json.dumps({**body, "notes": ""}).encode())
    within = json.dumps({**body, "notes": "n" * (padding - 20)}).encode()
    over = json.dumps({**body, "notes": "n" * (padding + 1)}).encode()
    assert len(within) <= LIMIT < len(over)
    headers = {**world.headers("cashier"), "Content-Type": "application/json"}
    with records_nothing(world):
        told = world.client.post(path, content=over, headers=headers)
        assert_problem(told, 413, "body_too_large")

        def chunks() -> Iterator[bytes]:
            for start in range(0, len(over), 1000):
                yield over[start : start + 1000]

        chunked = world.client.post(path, content=chunks(), headers=headers)
        assert_problem(chunked, 413, "body_too_large")
        claimed = world.client.post(
            path, content=b"{}", headers={**headers, "Content-Length": str(200 * 2**20)}
        )
        assert_problem(claimed, 413, "body_too_large")
    world.ok(world.client.post(path, content=within, headers=headers))


# --- plain text ----------------------------------------------------------------------------

REFUSED = {
    "NUL": "\x00",
    "escape": "\x1b[31m",
    "RIGHT-TO-LEFT OVERRIDE": "\u202e",
    "LEFT-TO-RIGHT ISOLATE": "\u2066",
    "RIGHT-TO-LEFT MARK": "\u200f",
    "LINE SEPARATOR": "\u2028",
}


@pytest.mark.parametrize("char", list(REFUSED.values()), ids=list(REFUSED))
def test_texts_refuse_control_and_bidirectional_characters(world: World, char: str) -> None:
    """When a name, a member's name, a note, a reason or a query text holds a control or a
    bidirectional formatting character, then it is 422 ``validation_error`` naming the
    field, and nothing is recorded."""
    text = f"Famille{char}Lenoir"
    cases = [
        (
            "POST",
            "/v1/households",
            household(aire_id=world.aire_a, display_name=text),
            "display_name",
        ),
        (
            "POST",
            "/v1/households",
            household(aire_id=world.aire_a, members=[{"name": text}]),
            "members.0.name",
        ),
        ("POST", "/v1/households", household(aire_id=world.aire_a, notes=text), "notes"),
        (
            "POST",
            f"/v1/aires/{world.aire_a}/emplacements/1/out-of-service",
            {"start": "2025-02-01", "reason": text},
            "reason",
        ),
        (
            "POST",
            "/v1/collectivites",
            {"code": "C", "name": text, "siren": "244900015", "contacts": []},
            "name",
        ),
    ]
    with records_nothing(world):
        for method, path, body, field in cases:
            who = "admin" if "collectivites" in path else "manager"
            refused = world.client.request(method, path, json=body, headers=world.headers(who))
            problem = assert_problem(refused, 422, "validation_error")
            assert [e["field"] for e in problem["errors"]] == [field], path
        searched = world.client.get(
            "/v1/households", params={"name": text}, headers=world.headers("cashier")
        )
        assert assert_problem(searched, 422, "validation_error")["errors"][0]["field"] == "name"


def test_notes_keep_their_lines_and_names_their_accents(world: World) -> None:
    """A note may hold line breaks and tabs; names keep accents, apostrophes and non-breaking
    spaces: plain text is not ASCII."""
    body = household(
        aire_id=world.aire_a,
        display_name="Famille\u00a0N'Goma-Éléonore",
        notes="appeler le matin\n\tsauf le mardi",
    )
    created = world.ok(world.post("cashier", "/v1/households", body))
    assert (created["display_name"], created["notes"]) == (body["display_name"], body["notes"])


def test_a_name_recorded_before_texts_were_checked_is_still_read(world: World) -> None:
    """Given a household whose member's name holds a NUL (recorded before issue 16), when it
    is read, then it is shown as recorded: the rule is for what comes in."""
    recorded = world.ledger.record_household(
        aire_id=uuid.UUID(world.aire_a),
        profile=Profile("Famille\x00Ancienne", (Member("Jo\u202eAncien"),)),
        actor="legacy",
    ).aggregate_id
    read = world.ok(world.get("cashier", f"/v1/households/{recorded}"), 200)
    assert read["display_name"] == "Famille\x00Ancienne"
    assert read["members"][0]["name"] == "Jo\u202eAncien"


# --- pages -------------------------------------------------------------------------------


def list_operations(world: World) -> list[str]:
    """The GET operations whose answer is a list (``data``)."""
    document = world.client.get("/openapi.json").json()
    found = []
    for path, item in document["paths"].items():
        operation = item.get("get")
        if operation is None:
            continue
        names = {p["name"] for p in operation.get("parameters", [])}
        schema = (
            operation["responses"]["200"]
            .get("content", {})
            .get("application/json", {})
            .get("schema", {})
        )
        if "$ref" in schema:
            schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        if "data" in schema.get("properties", {}) or {"limit", "cursor"} & names:
            assert {"limit", "cursor"} <= names, path
            found.append(path)
    return found


def test_every_list_takes_a_limit_and_a_cursor(world: World) -> None:
    """Every operation that answers a list takes ``limit`` (1 to the maximum) and ``cursor``,
    the journal and the revenue among them."""
    found = list_operations(world)
    assert {
        "/v1/collectivites",
        "/v1/aires",
        "/v1/aires/{aire_id}/seals",
        "/v1/registers/{register_id}/alerts",
        "/v1/registers/{register_id}/journal",
        "/v1/aires/{aire_id}/revenue",
        "/v1/reports",
        "/v1/households",
        "/v1/households/{household_id}/documents",
        "/v1/households/{household_id}/access-log",
    } <= set(found)


def walk(world: World, who: str, path: str, limit: int, **params: Any) -> list[dict[str, Any]]:
    """Every page of a list, ``limit`` items a page; returns the pages."""
    pages, cursor = [], None
    while True:
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        page = world.ok(world.client.get(path, params=query, headers=world.headers(who)), 200)
        assert page["count"] == len(page["data"]) <= limit
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            return pages


def test_pages_put_together_are_the_whole_list(world: World) -> None:
    """Given 5 collectivités, 6 aires, a household with 3 documents read 4 times, when each
    list is walked 2 items a page, then the pages put together are the list asked in one
    page, and the last page says so (``next_cursor`` null)."""
    for n in range(3):
        body = {"code": f"C{n}", "name": f"C {n}", "siren": "244900015", "contacts": []}
        world.ok(world.post("admin", "/v1/collectivites", body))
    for n in range(4):
        body = {
            "code": f"49{n:03d}-P", "name": f"P{n}", "collectivite_id": world.ids["collectivite_a"],
            "sector": "Anjou", "mode": "regie", "insee_code": "49007", "departement": "49",
            "latitude": "47.4", "longitude": "-0.5",
        }  # fmt: skip
        world.ok(world.post("admin", "/v1/aires", body))
    created = world.ok(world.post("cashier", "/v1/households", household(aire_id=world.aire_a)))
    base = f"/v1/households/{created['id']}"
    for kind in ("rules_acknowledged", "identity_seen", "occupation_agreement"):
        world.ok(world.post("cashier", f"{base}/documents", {"kind": kind, "date": "2025-01-06"}))
    for path, who, params in (
        ("/v1/collectivites", "auditor", {}),
        ("/v1/aires", "admin", {}),
        ("/v1/aires", "manager", {}),
        (f"{base}/documents", "cashier", {}),
        (f"{base}/access-log", "manager", {}),
        ("/v1/households", "cashier", {"name": "famille"}),
    ):
        whole = world.ok(
            world.client.get(
                path, params={**params, "limit": MAX_LIMIT}, headers=world.headers(who)
            ),
            200,
        )
        pages = walk(world, who, path, 2, **params)
        items = [item for page in pages for item in page["data"]]
        if path.endswith("access-log"):  # each page read is logged: compare what was there
            items = items[: whole["count"]]
        assert items == whole["data"], path
        assert len(pages) == max(1, -(-whole["count"] // 2)), path
    assert world.ok(world.get("admin", "/v1/aires"), 200)["count"] == 6


def test_a_limit_out_of_range_or_a_foreign_cursor_is_422(world: World) -> None:
    """``limit`` is 1 to the maximum; a cursor that is not a page's is refused."""
    for params, field in (
        ({"limit": 0}, "limit"),
        ({"limit": MAX_LIMIT + 1}, "limit"),
        ({"cursor": "bm90LWEtY3Vyc29y"}, "cursor"),
        ({"cursor": "!!"}, "cursor"),
    ):
        for path in ("/v1/aires", f"/v1/registers/{world.register_a}/journal"):
            answer = world.client.get(path, params=params, headers=world.headers("admin"))
            problem = assert_problem(answer, 422, "validation_error")
            assert problem["errors"][0]["field"] == field, (path, params)


# --- exports ----------------------------------------------------------------------------


def test_an_export_too_large_is_refused_and_can_be_narrowed(world: World) -> None:
    """Given ``export_max_rows`` of 4 and a journal of 5 lines, when the cash journal is
    exported (the table or the register's CSV), then it is 422 ``export_too_large`` (nothing
    recorded); narrowed by period, it is given."""
    for amount in (100, 200, 300):
        world.ok(world.receipt([("other", amount)]))
    world.clock.advance(days=1)
    world.ok(world.receipt([("other", 400)]))
    world.ledger.settings.export_max_rows = 4
    journal = f"/v1/registers/{world.register_a}/journal"
    with records_nothing(world):
        for path, params in (
            ("/v1/exports/cash_journal", {"aire_id": world.aire_a}),
            ("/v1/exports/cash_journal", {"aire_id": world.aire_a, "format": "xlsx"}),
            (journal, {"format": "csv"}),
        ):
            answer = world.client.get(path, params=params, headers=world.headers("auditor"))
            assert_problem(answer, 422, "export_too_large")
    day = {"from": "2025-01-07", "to": "2025-01-07"}
    narrowed = world.client.get(
        "/v1/exports/cash_journal",
        params={"aire_id": world.aire_a, **day},
        headers=world.headers("auditor"),
    )
    assert narrowed.status_code == 200
    csv = world.client.get(
        journal, params={"format": "csv", **day}, headers=world.headers("auditor")
    )
    assert len([line for line in csv.text.split("\r\n") if line]) == 1 + 1
