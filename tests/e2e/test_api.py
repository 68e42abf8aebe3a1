"""The HTTP API end to end: every route through the real ASGI app, on SQLite and PostgreSQL.

Each test builds a small world through the API (see ``api_world``): two collectivités, an aire
in each (sectors "Anjou" and "Vendee"), a register on each, and one user per role. The ledger
runs on the test clock, which starts on Monday 6 January 2025 at 08:00 UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.attestations import check_signature, create_key, load_key
from hacienda_ledger.reports.exports import EXPORTS
from hacienda_ledger.settings import Settings
from tests.conftest import Clock
from tests.e2e.api_world import (
    ADMIN_TOKEN,
    REGISTER,
    TARIFF,
    World,
    aire_body,
    assert_problem,
    build_world,
)


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


def assert_recorded(world: World, body: dict[str, Any], aggregate_id: str | None = None) -> None:
    """A write answered with the version and stream position of what it recorded."""
    assert isinstance(body["version"], int) and body["version"] >= 1
    assert isinstance(body["position"], int) and 0 < body["position"] <= world.position()
    target = UUID(aggregate_id or body["id"])
    assert world.ledger.position_of(target, body["version"]) == body["position"]


def actor_of(world: World, aggregate_id: str, version: int) -> str:
    """Who recorded one event (every event names its actor)."""
    events = list(world.ledger.events.get(UUID(aggregate_id), gt=version - 1, lte=version))
    assert len(events) == 1
    actor: str = events[0].actor  # type: ignore[attr-defined]
    return actor


def user_id(world: World, name: str) -> str:
    return str(world.users[name]["id"]) if name != "admin" else str(admin_id(world))


def admin_id(world: World) -> UUID:
    return world.ledger.access.authenticate(ADMIN_TOKEN).id


# --- health, readiness, request ids ---------------------------------------------------------


def test_health_and_ready_answer_without_a_token(world: World) -> None:
    """/health says the process is alive; /ready reads the database's last position, each
    projection's lag behind it and the projector's state (here a thread of the app)."""
    alive = world.client.get("/health")
    assert (alive.status_code, alive.json()) == (200, {"status": "alive"})
    ready = world.client.get("/ready")
    body = ready.json()
    assert (ready.status_code, body["status"], body["position"]) == (
        200,
        "ready",
        world.position(),
    )
    assert body["projector"] == {"mode": "thread", "running": True}
    assert set(body["lags"]) == {
        "balances",
        "cash_journal",
        "occupancy",
        "revenue",
        "interventions",  # issue 18
        "intervention_list",  # issue 18: the interventions listed by one indexed query
        "analytics",  # issue 19
    }


def test_every_response_carries_a_request_id_and_echoes_the_callers(world: World) -> None:
    """X-Request-ID is on every answer (successes, problems, writes), echoed when sent."""
    first = world.client.get("/health")
    second = world.client.get("/health")
    assert first.headers["x-request-id"] and second.headers["x-request-id"]
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    echoed = world.client.get("/health", headers={"X-Request-ID": "req-42"})
    assert echoed.headers["x-request-id"] == "req-42"
    refused = world.client.get("/v1/users/me", headers={"X-Request-ID": "req-43"})
    assert_problem(refused, 401, "unauthenticated")
    assert refused.headers["x-request-id"] == "req-43"
    written = world.client.post(
        f"/v1/aires/{world.aire_a}/emplacements",
        json={"number": "9"},
        headers={**world.headers("admin"), "X-Request-ID": "req-44"},
    )
    assert written.status_code == 201
    assert written.headers["x-request-id"] == "req-44"


# --- users ----------------------------------------------------------------------------------


def test_the_admin_creates_a_user_of_every_role(world: World) -> None:
    """POST /v1/users records the role and scope and shows a bearer token once; /me shows
    each user its own role and scope; only the token's hash is stored."""
    expected = {
        "manager": ("manager", ["Anjou"], [], world.ids["collectivite_a"]),
        "cashier": ("cashier", [], [world.aire_a], None),
        "cashier_b": ("cashier", [], [world.aire_b], None),
        "auditor": ("auditor", [], [], world.ids["collectivite_a"]),
        "auditor_b": ("auditor", [], [], world.ids["collectivite_b"]),
        "analyst": ("analyst", [], [], None),
    }
    for name, (role, sectors, aires, collectivite) in expected.items():
        created = world.users[name]
        assert (created["name"], created["role"]) == (name, role)
        assert (created["sectors"], created["aires"], created["collectivite_id"]) == (
            sectors,
            aires,
            collectivite,
        )
        assert len(created["token"]) >= 32
        assert created["version"] == 1
        assert_recorded(world, created)
        assert actor_of(world, created["id"], 1) == str(admin_id(world))
        me = world.ok(world.get(name, "/v1/users/me"), 200)
        assert me == {k: created[k] for k in ("id", "name", "role", "sectors", "aires")} | {
            "collectivite_id": collectivite
        }
    assert len(set(world.tokens.values())) == len(world.tokens)
    admin = world.ok(world.get("admin", "/v1/users/me"), 200)
    assert (admin["role"], admin["name"]) == ("admin", "admin")
    stored = world.ledger.recorder.select_notifications(start=1, limit=10_000)
    for token in world.tokens.values():
        assert not any(token.encode() in n.state for n in stored)


@pytest.mark.parametrize("who", ["manager", "cashier", "auditor", "analyst"])
def test_only_the_admin_creates_users(world: World, who: str) -> None:
    """Every other role is refused with 403 and nothing is recorded."""
    with records_nothing(world):
        refused = world.post(who, "/v1/users", {"name": "eve", "role": "admin"})
        assert_problem(refused, 403, "forbidden")


def test_a_users_scope_must_exist(world: World) -> None:
    """A cashier of an unknown aire, an auditor of an unknown collectivité: 404, nothing
    recorded; an unknown role is a validation error."""
    with records_nothing(world):
        no_aire = world.post(
            "admin", "/v1/users", {"name": "x", "role": "cashier", "aires": [str(uuid4())]}
        )
        assert_problem(no_aire, 404, "aire_not_found")
        no_collectivite = world.post(
            "admin",
            "/v1/users",
            {"name": "x", "role": "auditor", "collectivite_id": str(uuid4())},
        )
        assert_problem(no_collectivite, 404, "collectivite_not_found")
        bad_role = world.post("admin", "/v1/users", {"name": "x", "role": "root"})
        body = assert_problem(bad_role, 422, "validation_error")
        assert [e["field"] for e in body["errors"]] == ["role"]


# --- collectivités ------------------------------------------------------------------------


def test_collectivites_are_registered_listed_and_read(world: World) -> None:
    """The admin registers a collectivité with its contacts; every role that reads aires
    lists and reads them; a second registration of a code is a conflict."""
    body = {
        "code": "CC-LAYON",
        "name": "Communauté de communes Loire Layon Aubance",
        "siren": "200071934",
        "contacts": [
            {
                "name": "Mme Leroy",
                "role": "DGS",
                "email": "dgs@example.fr",
                "phone": "+33 2 41 00 00 00",
            }
        ],
    }
    created = world.ok(world.post("admin", "/v1/collectivites", body))
    assert {k: created[k] for k in body} == body
    assert created["version"] == 1
    assert_recorded(world, created)
    assert actor_of(world, created["id"], 1) == str(admin_id(world))
    for who in ("admin", "manager", "cashier", "auditor", "analyst"):
        listed = world.ok(world.get(who, "/v1/collectivites"), 200)
        assert listed["count"] == 3
        assert [c["code"] for c in listed["data"]] == ["ALM", "CCVIE", "CC-LAYON"]
    one = world.ok(world.get("auditor", f"/v1/collectivites/{created['id']}"), 200)
    assert one == created | {"position": None}
    with records_nothing(world):
        assert_problem(world.post("admin", "/v1/collectivites", body), 409, "already_exists")
        assert_problem(world.post("manager", "/v1/collectivites", body), 403, "forbidden")
        missing = world.get("admin", f"/v1/collectivites/{uuid4()}")
        assert_problem(missing, 404, "collectivite_not_found")
        bad = world.post("admin", "/v1/collectivites", body | {"code": "X", "siren": "12345"})
        assert [e["field"] for e in assert_problem(bad, 422, "validation_error")["errors"]] == [
            "siren"
        ]


# --- aires ----------------------------------------------------------------------------------


def test_a_manager_registers_an_aire_in_their_sector_only(world: World) -> None:
    """The aire is recorded as sent, by the manager; outside their sector it is 403; an
    unknown collectivité is 404; a code registered twice is 409."""
    body = aire_body("49099-C", world.ids["collectivite_a"], "Anjou", mode="marche")
    created = world.ok(world.post("manager", "/v1/aires", body))
    assert {k: created[k] for k in body} == body
    assert created["capacity_places"] == 0
    assert (created["emplacements"], created["tariffs"], created["closures"]) == ([], [], [])
    assert created["current_tariff"] is None
    assert (created["max_consecutive_days"], created["extension_cap_months"]) == (90, 7)
    assert created["register_ids"] == []
    assert created["version"] == 1
    assert_recorded(world, created)
    assert actor_of(world, created["id"], 1) == user_id(world, "manager")
    with records_nothing(world):
        elsewhere = aire_body("85000-D", world.ids["collectivite_b"], "Vendee")
        assert_problem(world.post("manager", "/v1/aires", elsewhere), 403, "forbidden")
        for who in ("cashier", "auditor", "analyst"):
            assert_problem(world.post(who, "/v1/aires", body | {"code": "Z"}), 403, "forbidden")
        orphan = aire_body("49100-E", str(uuid4()), "Anjou")
        assert_problem(world.post("admin", "/v1/aires", orphan), 404, "collectivite_not_found")
        assert_problem(world.post("admin", "/v1/aires", body), 409, "already_exists")


def test_a_managers_sector_is_never_stepped_into_from_another_collectivite(world: World) -> None:
    """Issue 16, defect 1. Given a manager of collectivité A's sector "Anjou", when they
    register an aire of collectivité B in "Anjou", or open a register on B's aire, then both
    are 403, nothing recorded; and when the admin registers an aire of B in "Anjou", it is in
    none of the manager's lists, reads, writes or exports. A manager is created with the
    collectivité their sectors are of (422 without one)."""
    b = world.ids["collectivite_b"]
    with records_nothing(world):
        stepping = aire_body("85300-S", b, "Anjou")
        assert_problem(world.post("manager", "/v1/aires", stepping), 403, "forbidden")
        register = world.post("manager", f"/v1/aires/{world.aire_b}/registers", REGISTER)
        assert_problem(register, 403, "forbidden")
    namesake = world.ok(world.post("admin", "/v1/aires", aire_body("85300-S", b, "Anjou")))["id"]
    world.ok(world.post("admin", f"/v1/aires/{namesake}/emplacements", {"number": "1"}))
    listed = world.ok(world.get("manager", "/v1/aires"), 200)["data"]
    assert [a["code"] for a in listed] == ["49007-A"]
    with records_nothing(world):
        assert_problem(world.get("manager", f"/v1/aires/{namesake}"), 403, "forbidden")
        refused = world.post("manager", f"/v1/aires/{namesake}/registers", REGISTER)
        assert_problem(refused, 403, "forbidden")
        exported = world.get("manager", f"/v1/exports/occupancy_emplacements?aire_id={namesake}")
        assert_problem(exported, 403, "forbidden")
    everything = world.get("manager", "/v1/exports/occupancy_emplacements")
    assert everything.status_code == 200 and namesake not in everything.text
    assert world.aire_a in everything.text
    with records_nothing(world):
        orphan = world.post(
            "admin", "/v1/users", {"name": "m", "role": "manager", "sectors": ["Anjou"]}
        )
        assert (
            assert_problem(orphan, 422, "invalid_value")["errors"][0]["field"] == "collectivite_id"
        )


def test_aires_are_listed_within_each_roles_scope(world: World) -> None:
    """A manager sees their sectors, a cashier their aires, an auditor their collectivité's;
    the admin and the analyst see every aire."""
    expected = {
        "admin": ["49007-A", "85191-B"],
        "manager": ["49007-A"],
        "cashier": ["49007-A"],
        "cashier_b": ["85191-B"],
        "auditor": ["49007-A"],
        "auditor_b": ["85191-B"],
        "analyst": ["49007-A", "85191-B"],
    }
    for who, codes in expected.items():
        listed = world.ok(world.get(who, "/v1/aires"), 200)
        assert [a["code"] for a in listed["data"]] == codes, who
        assert listed["count"] == len(codes)
    summary = world.ok(world.get("admin", "/v1/aires"), 200)["data"][0]
    assert summary == {
        "id": world.aire_a,
        "code": "49007-A",
        "name": "Aire 49007-A",
        "collectivite_id": world.ids["collectivite_a"],
        "sector": "Anjou",
        "mode": "regie",
        "departement": "49",
        "capacity_places": 8,
    }


def test_an_aire_shows_its_emplacements_tariff_and_registers(world: World) -> None:
    """GET /v1/aires/{id}: emplacements, current tariff, every version, register ids; read
    by the roles whose scope holds it, refused (403) to the others."""
    aire = world.ok(world.get("cashier", f"/v1/aires/{world.aire_a}"), 200)
    assert [e["number"] for e in aire["emplacements"]] == ["1", "2", "3", "4"]
    assert aire["emplacements"][0] == {
        "number": "1",
        "places": 2,
        "surface_m2": None,
        "in_service_from": world.clock().date().isoformat(),  # the day it was added
        "in_service_today": True,
        "out_of_service": [],
        "occupied_by_stay": None,
    }
    assert aire["capacity_places"] == 8
    tariff = TARIFF | {"person_rates": [], "seasons": [], "duration_bands": []}
    tariff |= {"deliberation_date": None, "executory_from": None}  # not given
    assert aire["current_tariff"] == tariff
    assert aire["tariffs"] == [tariff]
    assert aire["register_ids"] == [world.register_a]
    assert aire["position"] is None
    # registered, 4 emplacements, tariff, register, and the team of the 3 users created with
    # it (cashier, régisseur, intervenant: red-team round 2, L1)
    assert aire["version"] == 1 + 4 + 1 + 1 + 3
    for who in ("admin", "manager", "auditor"):
        assert world.ok(world.get(who, f"/v1/aires/{world.aire_a}"), 200) == aire
    # the aire's team (listed since L1) is not an analyst's to read
    assert world.ok(world.get("analyst", f"/v1/aires/{world.aire_a}"), 200) == aire | {"team": []}
    for who in ("manager", "cashier", "auditor"):
        assert_problem(world.get(who, f"/v1/aires/{world.aire_b}"), 403, "forbidden")
    assert_problem(world.get("admin", f"/v1/aires/{uuid4()}"), 404, "aire_not_found")


def test_emplacements_are_added(world: World) -> None:
    """An emplacement is added with its places (2 by default) and surface; its number is
    unique on the aire."""
    path = f"/v1/aires/{world.aire_a}/emplacements"
    aire = world.ok(world.post("manager", path, {"number": "5", "places": 3, "surface_m2": "84.5"}))
    assert aire["emplacements"][-1] == {
        "number": "5",
        "places": 3,
        "surface_m2": "84.5",
        "in_service_from": world.clock().date().isoformat(),  # today, by default
        "in_service_today": True,
        "out_of_service": [],
        "occupied_by_stay": None,
    }
    assert aire["capacity_places"] == 11
    assert_recorded(world, aire)
    assert actor_of(world, world.aire_a, aire["version"]) == user_id(world, "manager")
    again = world.ok(world.post("admin", path, {"number": "6"}))
    assert again["emplacements"][-1]["places"] == 2
    assert again["version"] == aire["version"] + 1
    with records_nothing(world):
        assert_problem(world.post("manager", path, {"number": "5"}), 409, "already_exists")
        assert_problem(
            world.post("admin", f"/v1/aires/{uuid4()}/emplacements", {"number": "1"}),
            404,
            "aire_not_found",
        )
        too_many = world.post("admin", path, {"number": "7", "places": 11})
        assert assert_problem(too_many, 422, "validation_error")["errors"][0]["field"] == "places"
    # an aire's history: an emplacement in service since before it was recorded, but not
    # before its aire entered service (recorded today: in service since today)
    early = world.post("admin", path, {"number": "8", "in_service_from": "2024-06-01"})
    assert assert_problem(early, 422, "invalid_period")["errors"][0]["field"] == "in_service_from"
    body = aire_body("49500-H", world.ids["collectivite_a"], "Anjou")
    old = world.ok(world.post("admin", "/v1/aires", {**body, "in_service_from": "2024-01-01"}))
    history = world.ok(
        world.post(
            "admin",
            f"/v1/aires/{old['id']}/emplacements",
            {"number": "8", "in_service_from": "2024-06-01"},
        )
    )
    assert history["emplacements"][-1]["in_service_from"] == "2024-06-01"


def test_an_emplacement_goes_out_of_service_and_comes_back(world: World) -> None:
    """Out of service from a day, no stay can take it; back in service from a later day."""
    base = f"/v1/aires/{world.aire_a}/emplacements/2"
    out = world.ok(
        world.post(
            "manager", f"{base}/out-of-service", {"start": "2025-01-06", "reason": "flooded"}
        ),
        200,
    )
    second = out["emplacements"][1]
    assert second["in_service_today"] is False
    assert second["out_of_service"] == [{"start": "2025-01-06", "end": None, "reason": "flooded"}]
    assert_recorded(world, out)
    with records_nothing(world):
        taken = world.post("cashier", f"/v1/aires/{world.aire_a}/stays", world.stay_body("2"))
        assert_problem(taken, 409, "emplacement_unavailable")
        again = world.post(
            "manager", f"{base}/out-of-service", {"start": "2025-01-07", "reason": "x"}
        )
        assert_problem(again, 409, "emplacement_unavailable")
        early = world.post("manager", f"{base}/back-in-service", {"start": "2025-01-06"})
        assert_problem(early, 422, "invalid_period")
        unknown = world.post(
            "manager",
            f"/v1/aires/{world.aire_a}/emplacements/99/out-of-service",
            {"start": "2025-01-06", "reason": "x"},
        )
        assert_problem(unknown, 404, "emplacement_not_found")
    back = world.ok(world.post("manager", f"{base}/back-in-service", {"start": "2025-01-07"}), 200)
    assert back["emplacements"][1]["out_of_service"] == [
        {"start": "2025-01-06", "end": "2025-01-07", "reason": "flooded"}
    ]
    assert back["emplacements"][1]["in_service_today"] is False
    assert back["version"] == out["version"] + 1
    assert_recorded(world, back)
    with records_nothing(world):
        in_service = world.post("manager", f"{base}/back-in-service", {"start": "2025-01-08"})
        assert_problem(in_service, 409, "emplacement_unavailable")
    world.clock.advance(days=1)
    assert world.ok(world.get("manager", f"/v1/aires/{world.aire_a}"), 200)["emplacements"][1][
        "in_service_today"
    ]
    world.arrive(emplacement="2")


def test_tariff_versions_are_adopted_with_their_rules(world: World) -> None:
    """A later version with person rates, a season, a duration band and its délibération's
    dates is recorded as sent; one applying before its délibération is executory is refused;
    the version in force today stays current; one version per effective date."""
    later = {
        "effective_from": "2025-03-01",
        "deliberation_ref": "DEL-2025-014",
        "pitch_fee_per_day_cents": 320,
        "water_price_per_m3": "3.6000",
        "electricity_price_per_kwh": "0.25165",
        "deposit_cents": 20000,
        "person_rates": [{"age_band": "adult", "daily_cents": 50}],
        "seasons": [{"start": "2025-07-01", "end": "2025-08-31", "pitch_fee_per_day_cents": 400}],
        "duration_bands": [{"from_day": 91, "pitch_fee_per_day_cents": 450}],
        "deliberation_date": "2025-01-28",
        "executory_from": "2025-02-10",
    }
    path = f"/v1/aires/{world.aire_a}/tariffs"
    aire = world.ok(world.post("manager", path, later))
    assert aire["tariffs"][1] == later
    assert aire["current_tariff"]["deliberation_ref"] == "DEL-2024-118"
    assert_recorded(world, aire)
    with records_nothing(world):
        same_day = world.post("manager", path, later | {"deliberation_ref": "DEL-2025-015"})
        assert_problem(same_day, 422, "invalid_value")
        # never before its délibération is executory, which comes after the vote
        early = world.post("manager", path, later | {"effective_from": "2025-02-01"})
        assert (
            assert_problem(early, 422, "invalid_period")["errors"][0]["field"] == "effective_from"
        )
        unvoted = world.post("manager", path, later | {"executory_from": "2025-01-01"})
        assert (
            assert_problem(unvoted, 422, "invalid_period")["errors"][0]["field"] == "executory_from"
        )
        overlapping = later | {
            "effective_from": "2025-04-01",
            "seasons": [
                {"start": "2025-07-01", "end": "2025-08-31", "pitch_fee_per_day_cents": 400},
                {"start": "2025-08-01", "end": "2025-09-30", "pitch_fee_per_day_cents": 350},
            ],
        }
        assert_problem(world.post("manager", path, overlapping), 422, "invalid_period")
        price = later | {"effective_from": "2025-05-01", "water_price_per_m3": "-1"}
        assert_problem(world.post("manager", path, price), 422, "invalid_value")
    world.clock.advance(days=60)  # 7 March
    current = world.ok(world.get("manager", f"/v1/aires/{world.aire_a}"), 200)["current_tariff"]
    assert current == later


def test_closures_are_scheduled_with_notice_and_derogation(world: World) -> None:
    """Short closures need 2 months' notice; past a month a préfet derogation (and 3
    months); 6 months or more is refused; urgent closures skip the notice; closures do not
    overlap; nobody arrives while the aire is closed."""
    path = f"/v1/aires/{world.aire_a}/closures"
    short = {"start": "2025-03-10", "end": "2025-03-20", "reason": "travaux de voirie"}
    aire = world.ok(world.post("manager", path, short))
    assert aire["closures"] == [
        short | {"prefect_derogation_ref": None, "notified_on": "2025-01-06", "urgent": False}
    ]
    assert_recorded(world, aire)
    long = {"start": "2025-05-01", "end": "2025-06-15", "reason": "réfection des sanitaires"}
    with records_nothing(world):
        assert_problem(world.post("manager", path, long), 422, "prefect_derogation_required")
        too_long = {
            "start": "2025-09-01",
            "end": "2026-03-01",
            "reason": "x",
            "prefect_derogation_ref": "P",
        }
        assert_problem(world.post("manager", path, too_long), 422, "closure_too_long")
        soon = {"start": "2025-02-01", "end": "2025-02-05", "reason": "x"}
        assert_problem(world.post("manager", path, soon), 422, "closure_notice_too_short")
        overlap = {"start": "2025-03-15", "end": "2025-03-25", "reason": "x"}
        assert_problem(world.post("manager", path, overlap), 422, "invalid_period")
        backwards = {"start": "2025-04-10", "end": "2025-04-01", "reason": "x"}
        assert_problem(world.post("manager", path, backwards), 422, "invalid_period")
    derogated = world.ok(
        world.post("manager", path, long | {"prefect_derogation_ref": "PREF-49-2025-012"})
    )
    assert derogated["closures"][1]["prefect_derogation_ref"] == "PREF-49-2025-012"
    urgent = {"start": "2025-01-07", "end": "2025-01-08", "reason": "inondation", "urgent": True}
    flooded = world.ok(world.post("admin", path, urgent))
    assert flooded["closures"][0] == urgent | {
        "prefect_derogation_ref": None,
        "notified_on": "2025-01-06",
    }
    world.clock.advance(days=1)
    with records_nothing(world):
        closed = world.post("cashier", f"/v1/aires/{world.aire_a}/stays", world.stay_body())
        assert_problem(closed, 409, "emplacement_unavailable")


def test_stay_rules_are_set_and_apply_to_new_stays(world: World) -> None:
    """PUT stay-rules changes the maximum stay and the extension cap of the aire."""
    path = f"/v1/aires/{world.aire_a}/stay-rules"
    rules = {"max_consecutive_days": 60, "extension_cap_months": 3}
    aire = world.ok(world.put("manager", path, rules), 200)
    assert (aire["max_consecutive_days"], aire["extension_cap_months"]) == (60, 3)
    assert_recorded(world, aire)
    stay_id = world.arrive()
    stay = world.ok(world.get("cashier", f"/v1/stays/{stay_id}"), 200)
    assert stay["allowed_through"] == "2025-03-06"  # 6 January + 59 days
    with records_nothing(world):
        assert_problem(world.put("cashier", path, rules), 403, "forbidden")
        zero = world.put("manager", path, rules | {"max_consecutive_days": 0})
        body = assert_problem(zero, 422, "validation_error")
        assert body["errors"][0]["field"] == "max_consecutive_days"


def test_a_register_is_opened_on_an_aire(world: World) -> None:
    """The register is recorded as configured, empty but for its float, and attached to the
    aire."""
    body = {
        "regie_ref": "AC-2025-02",
        "float_cents": 2000,
        "cash_ceiling_cents": 50000,
        "payment_methods": ["cash", "cheque"],
        "revenue_types": ["pitch_fee", "deposit"],
    }
    created = world.ok(world.post("manager", f"/v1/aires/{world.aire_a}/registers", body))
    assert {k: created[k] for k in body} == body
    assert created["aire_id"] == world.aire_a
    assert created["balances_cents"] == {"cash": 2000, "cheque": 0}
    assert (created["last_receipt_number"], created["last_remitted_receipt"]) == (0, 0)
    assert (created["last_slip_number"], created["deposits_held_cents"]) == (0, 0)
    assert (created["perpetual_total_cents"], created["remittance_due"]) == (0, False)
    assert created["closed_through"] is None
    assert len(created["head_hash"]) == 64
    assert created["version"] == 1
    assert_recorded(world, created)
    aire = world.ok(world.get("manager", f"/v1/aires/{world.aire_a}"), 200)
    assert aire["register_ids"] == [world.register_a, created["id"]]
    with records_nothing(world):
        for who in ("cashier", "auditor", "analyst"):
            refused = world.post(who, f"/v1/aires/{world.aire_a}/registers", body)
            assert_problem(refused, 403, "forbidden")
        unknown = world.post("admin", f"/v1/aires/{uuid4()}/registers", body)
        assert_problem(unknown, 404, "aire_not_found")


def test_a_register_is_attached_to_another_aire_of_its_collectivite(world: World) -> None:
    """A régie may also collect for another aire of the same collectivité: the aire lists it
    and its receipts may then name that aire's stays; never across collectivités (422), once
    only (409), and only by who configures both aires (403)."""
    body = aire_body("49099-R", world.ids["collectivite_a"], "Anjou")
    other = world.ok(world.post("manager", "/v1/aires", body))["id"]
    world.ok(world.post("manager", f"/v1/aires/{other}/emplacements", {"number": "1"}))
    world.ok(world.post("manager", f"/v1/aires/{other}/tariffs", TARIFF))
    path = f"/v1/aires/{other}/attached-registers"
    stay_id = world.arrive(other, who="manager")
    with records_nothing(world):
        not_yet = world.receipt([("other", 100)], stay_id=stay_id)
        assert_problem(not_yet, 422, "not_allowed")
    attached = world.ok(world.post("manager", path, {"register_id": world.register_a}), 200)
    assert attached["register_ids"] == [world.register_a]
    assert_recorded(world, attached)
    assert actor_of(world, other, attached["version"]) == user_id(world, "manager")
    world.charge(stay_id, who="manager")
    receipt = world.ok(world.receipt([("pitch_fee", 300)], stay_id=stay_id))
    assert (receipt["number"], receipt["stay_id"]) == (1, stay_id)
    with records_nothing(world):
        twice = world.post("manager", path, {"register_id": world.register_a})
        assert_problem(twice, 409, "already_exists")
        across = world.post("admin", path, {"register_id": world.register_b})
        assert_problem(across, 422, "not_allowed")
        outside = world.post("manager", path, {"register_id": world.register_b})
        assert_problem(outside, 403, "forbidden")
        for who in ("cashier", "auditor", "analyst"):
            refused = world.post(who, path, {"register_id": world.register_a})
            assert_problem(refused, 403, "forbidden")
        unknown = world.post("admin", path, {"register_id": str(uuid4())})
        assert_problem(unknown, 404, "register_not_found")


# --- stays ----------------------------------------------------------------------------------


def test_a_cashier_opens_a_stay_and_reads_it(world: World) -> None:
    """The arrival records composition, agreement, inspection and opening indexes; the
    aire shows the emplacement taken; who may read the stay reads the same."""
    body = world.stay_body("3")
    created = world.ok(world.post("cashier", f"/v1/aires/{world.aire_a}/stays", body))
    assert created["aire_id"] == world.aire_a
    for key in ("emplacement", "household_ref", "adults", "children", "caravans"):
        assert created[key] == body[key]
    assert created["agreement_ref"] == "COT-2025-001"
    assert created["entry_inspection_ref"] == "EDL-E-001"
    assert datetime.fromisoformat(created["arrived_at"]) == world.clock()
    assert created["arrival_day"] == "2025-01-06"
    assert (created["status"], created["departed_at"], created["exit_inspection_ref"]) == (
        "open",
        None,
        None,
    )
    assert [(r["seq"], r["meter"], r["index"], r["corrects"]) for r in created["readings"]] == [
        (1, "water", "100", None),
        (2, "electricity", "2000", None),
    ]
    assert (created["charges"], created["charged_until"]) == ([], "2025-01-06")
    money = ("charged_cents", "settled_cents", "balance_due_cents", "deposit_held_cents")
    assert [created[k] for k in money] == [0, 0, 0, 0]
    assert (created["extensions"], created["allowed_through"], created["flagged"]) == (
        [],
        "2025-04-05",
        False,
    )
    assert created["version"] == 1
    assert_recorded(world, created)
    assert actor_of(world, created["id"], 1) == user_id(world, "cashier")
    aire = world.ok(world.get("cashier", f"/v1/aires/{world.aire_a}"), 200)
    assert aire["emplacements"][2]["occupied_by_stay"] == created["id"]
    for who in ("cashier", "manager", "admin"):
        read = world.ok(world.get(who, f"/v1/stays/{created['id']}"), 200)
        assert read == created | {"position": None}
    for who in ("cashier_b", "auditor", "analyst"):
        assert_problem(world.get(who, f"/v1/stays/{created['id']}"), 403, "forbidden")
    assert_problem(world.get("admin", f"/v1/stays/{uuid4()}"), 404, "stay_not_found")


def test_an_arrival_is_refused_when_it_cannot_be(world: World) -> None:
    """An occupied or unknown emplacement, an arrival in the future: refused, nothing
    recorded."""
    world.arrive(emplacement="1")
    path = f"/v1/aires/{world.aire_a}/stays"
    with records_nothing(world):
        assert_problem(
            world.post("cashier", path, world.stay_body("1")), 409, "emplacement_unavailable"
        )
        assert_problem(
            world.post("cashier", path, world.stay_body("9")), 404, "emplacement_not_found"
        )
        future = world.clock.now.replace(hour=9).isoformat()
        refused = world.post("cashier", path, world.stay_body("2", arrived_at=future))
        body = assert_problem(refused, 422, "invalid_period")
        assert body["errors"] == [{"field": "arrived_at", "reason": body["detail"]}]
        no_agreement = world.post("cashier", path, world.stay_body("2", agreement_ref=" "))
        assert_problem(no_agreement, 422, "invalid_value")
        assert_problem(
            world.post("cashier", f"/v1/aires/{uuid4()}/stays", world.stay_body("2")),
            404,
            "aire_not_found",
        )


def test_meter_readings_are_recorded_and_corrected(world: World) -> None:
    """A reading is appended; an index that goes down is refused; a correction names the
    reading it replaces."""
    stay_id = world.arrive()
    path = f"/v1/stays/{stay_id}/meter-readings"
    world.clock.advance(days=1)
    read = world.ok(
        world.post("cashier", path, {"meter": "water", "index": "104.5", "read_at": world.now()})
    )
    assert read["readings"][-1] == {
        "seq": 3,
        "meter": "water",
        "index": "104.5",
        "read_at": read["readings"][-1]["read_at"],
        "corrects": None,
    }
    assert datetime.fromisoformat(read["readings"][-1]["read_at"]) == world.clock()
    assert read["version"] == 2
    assert_recorded(world, read)
    with records_nothing(world):
        lower = world.post(
            "cashier", path, {"meter": "water", "index": "103", "read_at": world.now()}
        )
        assert_problem(lower, 422, "meter_index_decreased")
        missing = world.post(
            "cashier",
            path,
            {"meter": "water", "index": "104", "read_at": world.now(), "corrects": 9},
        )
        assert_problem(missing, 404, "reading_not_found")
        later = world.clock.now.replace(hour=10).isoformat()
        future = world.post("cashier", path, {"meter": "water", "index": "105", "read_at": later})
        assert_problem(future, 422, "invalid_period")
        assert_problem(
            world.post(
                "cashier",
                f"/v1/stays/{uuid4()}/meter-readings",
                {"meter": "water", "index": "1", "read_at": world.now()},
            ),
            404,
            "stay_not_found",
        )
    corrected = world.ok(
        world.post(
            "manager",
            path,
            {"meter": "water", "index": "104.2", "read_at": world.now(), "corrects": 3},
        )
    )
    assert corrected["readings"][-1]["seq"] == 4
    assert (corrected["readings"][-1]["index"], corrected["readings"][-1]["corrects"]) == (
        "104.2",
        3,
    )
    assert actor_of(world, stay_id, corrected["version"]) == user_id(world, "manager")


def test_a_stay_is_extended_within_the_cap(world: World) -> None:
    """An extension past the maximum stay is recorded with its reason and evidence; past
    the cap (7 months after the 90 days) it is refused."""
    stay_id = world.arrive()
    path = f"/v1/stays/{stay_id}/extensions"
    body = {"reason": "school", "evidence_ref": "CERT-SCOL-2025-3", "until": "2025-06-30"}
    extended = world.ok(world.post("manager", path, body))
    assert extended["extensions"] == [body]
    assert extended["allowed_through"] == "2025-06-30"
    assert_recorded(world, extended)
    with records_nothing(world):
        beyond = world.post("manager", path, body | {"until": "2025-11-06"})
        assert_problem(beyond, 422, "extension_beyond_cap")
        not_later = world.post("manager", path, body | {"until": "2025-06-01"})
        assert_problem(not_later, 422, "invalid_period")
        holiday = world.post("manager", path, body | {"reason": "holiday"})
        assert assert_problem(holiday, 422, "validation_error")["errors"][0]["field"] == "reason"
    at_cap = world.ok(world.post("cashier", path, body | {"reason": "work", "until": "2025-11-05"}))
    assert at_cap["allowed_through"] == "2025-11-05"


def test_charges_are_assessed_day_by_day_and_metered(world: World) -> None:
    """Charges through a day: 3 days of pitch fee at 3.00, 4.5 m³ of water at 3.512 and 30
    kWh at 0.2276, rounded half-up to the cent; assessing again charges nothing new."""
    stay_id = world.arrive()
    world.clock.advance(days=2)
    path = f"/v1/stays/{stay_id}/meter-readings"
    world.ok(
        world.post("cashier", path, {"meter": "water", "index": "104.5", "read_at": world.now()})
    )
    world.ok(
        world.post(
            "cashier", path, {"meter": "electricity", "index": "2030", "read_at": world.now()}
        )
    )
    charged = world.ok(
        world.post("cashier", f"/v1/stays/{stay_id}/charges", {"through": "2025-01-08"}), 200
    )
    lines = [
        (c["revenue_type"], c["start"], c["end"], c["amount_cents"], c["tariff_ref"])
        for c in charged["charges"]
    ]
    ref = "2025-01-01/DEL-2024-118"
    assert lines == [
        ("pitch_fee", "2025-01-06", "2025-01-08", 900, ref),
        ("water", "2025-01-06", "2025-01-08", 1580, ref),
        ("electricity", "2025-01-06", "2025-01-08", 683, ref),
    ]
    assert [(c["quantity"], c["unit_price"]) for c in charged["charges"]][1:] == [
        ("4.5", "3.5120"),
        ("30", "0.2276"),
    ]
    assert charged["charged_until"] == "2025-01-09"
    assert (charged["charged_cents"], charged["balance_due_cents"]) == (3163, 3163)
    assert_recorded(world, charged)
    assert actor_of(world, stay_id, charged["version"]) == user_id(world, "cashier")
    with records_nothing(world):
        again = world.ok(
            world.post("cashier", f"/v1/stays/{stay_id}/charges", {"through": "2025-01-08"}), 200
        )
        assert (again["charged_cents"], again["version"]) == (3163, charged["version"])
        early = world.post("cashier", f"/v1/stays/{stay_id}/charges", {"through": "2025-01-05"})
        assert_problem(early, 422, "invalid_period")
        for who in ("auditor", "analyst", "cashier_b"):
            refused = world.post(who, f"/v1/stays/{stay_id}/charges", {"through": "2025-01-08"})
            assert_problem(refused, 403, "forbidden")


def test_a_departure_settles_and_the_deposit_goes_back_after(world: World) -> None:
    """The household leaves with its deposit held: the departure closes the stay, assesses
    the final bill and frees the emplacement. The deposit goes back only once the bill is
    settled (409 balance_unsettled before, nothing recorded); « settle the balance » pays
    it line by line; then the refund, and nothing more can be recorded on the stay."""
    stay_id = world.arrive()
    world.deposit(stay_id)
    world.clock.advance(days=1)
    body = {
        "departed_at": world.now(),
        "exit_inspection_ref": "EDL-S-001",
        "water_index": "101",
        "electricity_index": "2010",
    }
    path = f"/v1/stays/{stay_id}/departure"
    refund = {"stay_id": stay_id, "amount_cents": 15000, "method": "cash"}
    refunds = f"/v1/registers/{world.register_a}/deposit-refunds"
    with records_nothing(world):
        early = world.post("cashier", refunds, refund, key="r0")
        assert_problem(early, 409, "stay_not_departed")
    departed = world.ok(world.post("cashier", path, body), 200)
    assert departed["status"] == "departed"
    assert datetime.fromisoformat(departed["departed_at"]) == world.clock()
    assert departed["exit_inspection_ref"] == "EDL-S-001"
    assert [(r["meter"], r["index"]) for r in departed["readings"][-2:]] == [
        ("water", "101"),
        ("electricity", "2010"),
    ]
    # one night (6 January) at 3.00, 1 m³ and 10 kWh: the final bill, deposit still held
    assert departed["charged_cents"] == 300 + 351 + 228
    assert (departed["balance_due_cents"], departed["deposit_held_cents"]) == (879, 15000)
    assert_recorded(world, departed)
    aire = world.ok(world.get("cashier", f"/v1/aires/{world.aire_a}"), 200)
    assert aire["emplacements"][0]["occupied_by_stay"] is None
    with records_nothing(world):
        unsettled = world.post("cashier", refunds, refund, key="r1")
        problem = assert_problem(unsettled, 409, "balance_unsettled")
        assert problem["errors"] == [{"field": "stay_id", "reason": problem["detail"]}]
    settle = {"stay_id": stay_id, "method": "card", "settle_balance": True}
    paid = world.ok(world.post("cashier", f"/v1/registers/{world.register_a}/receipts", settle,
                               key=world.new_key()))  # fmt: skip
    assert sorted((x["revenue_type"], x["amount_cents"]) for x in paid["lines"]) == [
        ("electricity", 228),
        ("pitch_fee", 300),
        ("water", 351),
    ]
    world.ok(world.post("cashier", refunds, refund, key="r2"))
    stay = world.ok(world.get("cashier", f"/v1/stays/{stay_id}"), 200)
    assert (stay["balance_due_cents"], stay["deposit_held_cents"]) == (0, 0)
    assert {d["revenue_type"]: d["remaining_cents"] for d in stay["settlement"]} == {
        "pitch_fee": 0,
        "water": 0,
        "electricity": 0,
    }
    with records_nothing(world):
        assert_problem(world.post("cashier", path, body), 409, "stay_closed")
        reading = {"meter": "water", "index": "102", "read_at": world.now()}
        closed = world.post("cashier", f"/v1/stays/{stay_id}/meter-readings", reading)
        assert_problem(closed, 409, "stay_closed")
        deposit = world.receipt([("deposit", 100)], stay_id=stay_id)
        assert_problem(deposit, 409, "stay_closed")
        nothing = world.receipt([("water", 100)], stay_id=stay_id)
        assert_problem(nothing, 409, "nothing_due")


# --- registers ------------------------------------------------------------------------------


def test_a_register_is_read_by_those_whose_scope_holds_it(world: World) -> None:
    """GET /v1/registers/{id}: admin, the aire's manager, cashier and auditor read it; the
    other aire's cashier and auditor, and the analyst, are refused."""
    register = world.ok(world.get("auditor", f"/v1/registers/{world.register_a}"), 200)
    assert register == {
        "id": world.register_a,
        "aire_id": world.aire_a,
        **REGISTER,
        "last_receipt_number": 0,
        "last_remitted_receipt": 0,
        "last_slip_number": 0,
        "balances_cents": {"cash": 5000, "cheque": 0, "card": 0, "transfer": 0},
        "deposits_held_cents": 0,
        "deposits_held_by_method_cents": {},  # issue 15: third-party funds by method
        "advances_held_cents": 0,
        "advances_held_by_method_cents": {},
        "perpetual_total_cents": 0,
        "remittance_due": False,
        "last_count_number": 0,
        "open_cash_differences": [],
        "holder": None,
        "closed_through": None,
        "rules": {
            "decision_ref": REGISTER["regie_ref"],
            "cash_ceiling_cents": REGISTER["cash_ceiling_cents"],
            "remittance_frequency": "monthly",
            "remittance_days": None,
            "cheque_working_days": 1,
        },
        "head_hash": register["head_hash"],
        "version": 1,
        "position": None,
        "pending_cancellations": [],
    }
    for who in ("admin", "manager", "cashier", "regisseur"):
        assert world.ok(world.get(who, f"/v1/registers/{world.register_a}"), 200) == register
    for who in ("cashier_b", "auditor_b", "analyst"):
        assert_problem(world.get(who, f"/v1/registers/{world.register_a}"), 403, "forbidden")
    assert_problem(world.get("admin", f"/v1/registers/{uuid4()}"), 404, "register_not_found")
    stay_id = world.arrive()
    not_a_register = world.get("admin", f"/v1/registers/{stay_id}")
    assert_problem(not_a_register, 404, "register_not_found")


def test_receipts_are_numbered_and_chained(world: World) -> None:
    """Receipts get 1, 2, ... with their lines, total and the chain hash; the register's
    balances and perpetual total follow; a receipt past the cash ceiling stands and says a
    remittance is due."""
    first = world.ok(world.receipt([("other", 1250)]))
    assert first == {
        "register_id": world.register_a,
        "number": 1,
        "stay_id": None,
        "method": "cash",
        "lines": [{"revenue_type": "other", "amount_cents": 1250}],
        "total_cents": 1250,
        "cheque": None,
        "cancelled": False,
        "remittance_due": False,
        "hash": first["hash"],
        "version": 2,
        "position": world.position() - 1,  # the idempotency record follows the receipt
    }
    assert_recorded(world, first, world.register_a)
    assert actor_of(world, world.register_a, 2) == user_id(world, "cashier")
    stay_id = world.arrive()
    reading = {"meter": "water", "index": "104.5", "read_at": world.now()}
    world.ok(world.post("cashier", f"/v1/stays/{stay_id}/meter-readings", reading))
    world.charge(stay_id, days=3)  # 9.00 of pitch fee and 4.5 m³ of water (15.80)
    second = world.ok(
        world.receipt([("pitch_fee", 900), ("water", 1580)], stay_id=stay_id, method="card")
    )
    assert (second["number"], second["total_cents"], second["stay_id"]) == (2, 2480, stay_id)
    register = world.ok(world.get("cashier", f"/v1/registers/{world.register_a}"), 200)
    assert register["last_receipt_number"] == 2
    assert register["balances_cents"] == {"cash": 6250, "cheque": 0, "card": 2480, "transfer": 0}
    assert register["perpetual_total_cents"] == 3730
    assert register["head_hash"] == second["hash"]
    assert world.ok(world.get("cashier", f"/v1/stays/{stay_id}"), 200)["settled_cents"] == 2480
    big = world.ok(world.receipt([("other", 120_001)], method="cheque"))
    assert (big["number"], big["remittance_due"]) == (3, True)
    assert world.ok(world.get("cashier", f"/v1/registers/{world.register_a}"), 200)[
        "remittance_due"
    ]


def test_a_receipt_is_refused_for_what_the_register_does_not_take(world: World) -> None:
    """A method or revenue type the register does not accept, a deposit without a stay, a
    stay of another collectivité (403 ``outside_collectivite``: issue 16 — it was 422
    ``not_allowed``, which left the reference to be tried), an unknown register: refused
    with their codes, nothing recorded."""
    narrow = world.ok(
        world.post(
            "admin",
            f"/v1/aires/{world.aire_a}/registers",
            REGISTER | {"payment_methods": ["cash"], "revenue_types": ["other", "deposit"]},
        )
    )["id"]
    stay_b = world.arrive(world.aire_b, who="cashier_b")
    with records_nothing(world):
        card = world.receipt([("other", 100)], method="card", register=narrow)
        assert assert_problem(card, 422, "not_allowed")["errors"][0]["field"] == "method"
        water = world.receipt([("water", 100)], register=narrow)
        assert (
            assert_problem(water, 422, "not_allowed")["errors"][0]["field"]
            == "lines[0].revenue_type"
        )
        assert_problem(world.receipt([("deposit", 100)]), 422, "invalid_value")
        other_collectivite = world.receipt([("other", 100)], stay_id=stay_b)
        assert_problem(other_collectivite, 403, "outside_collectivite")
        unknown_stay = world.receipt([("other", 100)], stay_id=str(uuid4()))
        assert_problem(unknown_stay, 404, "stay_not_found")
        nowhere = world.receipt([("other", 100)], register=str(uuid4()))
        assert_problem(nowhere, 404, "register_not_found")


def test_a_receipt_is_cancelled_once_by_reversal(world: World) -> None:
    """The régisseur's cancellation keeps the receipt in the sequence and reverses its money
    at once (no second approval: they asked and approved; before issue 15 a cashier did so
    alone); a second cancellation, asked for by anyone, is 409 receipt_already_cancelled; an
    unknown number is 404."""
    world.ok(world.receipt([("other", 1250)]))
    path = f"/v1/registers/{world.register_a}/receipts/1/cancellation"
    cancelled = world.ok(world.post("regisseur", path, {"reason": "erreur de saisie"}, key="c1"))
    assert cancelled == {
        "register_id": world.register_a,
        "kind": "receipt_cancelled",
        "hash": cancelled["hash"],
        "version": 3,
        "position": cancelled["position"],
        "result": {"number": 1, "status": "cancelled"},
    }
    assert_recorded(world, cancelled, world.register_a)
    register = world.ok(world.get("cashier", f"/v1/registers/{world.register_a}"), 200)
    assert (register["last_receipt_number"], register["perpetual_total_cents"]) == (1, 0)
    assert register["balances_cents"]["cash"] == 5000
    assert register["head_hash"] == cancelled["hash"]
    event = world.ledger.register_event(UUID(world.register_a), 3)
    assert isinstance(event, CashRegister.ReceiptCancelled)
    assert (event.reason, event.actor) == ("erreur de saisie", user_id(world, "regisseur"))
    assert event.requested_by == event.approved_by == user_id(world, "regisseur")
    with records_nothing(world):
        for who, key in (("cashier", "c2"), ("regisseur", "c4")):
            twice = world.post(who, path, {"reason": "encore"}, key=key)
            problem = assert_problem(twice, 409, "receipt_already_cancelled")
            assert problem["errors"][0]["field"] == "number"
        unknown = world.post(
            "cashier",
            f"/v1/registers/{world.register_a}/receipts/7/cancellation",
            {"reason": "x"},
            key="c3",
        )
        assert_problem(unknown, 404, "receipt_not_found")
    assert world.ok(world.receipt([("other", 300)]))["number"] == 2


def test_deposits_are_withheld_and_refunded(world: World) -> None:
    """After the departure and its bill settled, part of a deposit is kept against damage
    found at the exit inspection, the rest refunded; never more than held."""
    stay_id = world.arrive()
    world.deposit(stay_id)
    world.depart(stay_id, exit_ref="PV-DEG-01")
    world.settle(stay_id, method="transfer")  # one day
    base = f"/v1/registers/{world.register_a}"
    withholding = {
        "stay_id": stay_id,
        "amount_cents": 4000,
        "reason": "damage",
        "reference": "PV-DEG-01",
    }
    withheld = world.ok(
        world.post("cashier", f"{base}/deposit-withholdings", withholding, key="w1")
    )
    assert (withheld["kind"], withheld["result"]) == (
        "deposit_withheld",
        {"deposit_held_cents": 11000},
    )
    assert_recorded(world, withheld, world.register_a)
    assert (
        world.ok(world.get("cashier", f"/v1/stays/{stay_id}"), 200)["deposit_held_cents"] == 11000
    )
    with records_nothing(world):
        too_much = {"stay_id": stay_id, "amount_cents": 11001, "method": "cash"}
        refused = world.post("cashier", f"{base}/deposit-refunds", too_much, key="r0")
        assert (
            assert_problem(refused, 409, "insufficient_funds")["errors"][0]["field"]
            == "amount_cents"
        )
        over = world.post(
            "cashier",
            f"{base}/deposit-withholdings",
            withholding | {"amount_cents": 11001},
            key="w0",
        )
        assert_problem(over, 409, "insufficient_funds")
        card = world.post(
            "cashier",
            f"{base}/deposit-refunds",
            too_much | {"amount_cents": 100, "method": "card"},
            key="r9",
        )
        assert assert_problem(card, 409, "insufficient_funds")["errors"][0]["field"] == "method"
    refund = {"stay_id": stay_id, "amount_cents": 11000, "method": "cash"}
    refunded = world.ok(world.post("cashier", f"{base}/deposit-refunds", refund, key="r1"))
    assert (refunded["kind"], refunded["result"]) == ("deposit_refunded", {"deposit_held_cents": 0})
    assert refunded["version"] == withheld["version"] + 1
    register = world.ok(world.get("auditor", f"{base}"), 200)
    assert register["deposits_held_cents"] == 0
    assert register["balances_cents"]["cash"] == 5000 + 15000 - 11000


def test_money_is_remitted_under_a_numbered_slip(world: World) -> None:
    """A remittance pays in receipts 1..n by method under slip 1; a remitted receipt can no
    longer be cancelled here; nothing is remitted beyond what the register holds."""
    world.ok(world.receipt([("other", 2000)]))
    world.ok(world.receipt([("other", 3000)], method="cheque"))
    base = f"/v1/registers/{world.register_a}"
    with records_nothing(world):
        greedy = {"through_receipt": 2, "amounts_by_method_cents": {"cash": 2001}}
        refused = world.post("regisseur", f"{base}/remittances", greedy, key="m0")
        problem = assert_problem(refused, 409, "insufficient_funds")
        assert problem["errors"][0]["field"] == "amounts_by_method_cents.cash"
        beyond = {"through_receipt": 3, "amounts_by_method_cents": {"cash": 2000}}
        assert_problem(
            world.post("regisseur", f"{base}/remittances", beyond, key="m9"), 422, "invalid_value"
        )
        nothing = {"through_receipt": 2, "amounts_by_method_cents": {"cash": 0}}
        assert_problem(
            world.post("regisseur", f"{base}/remittances", nothing, key="m8"), 422, "invalid_amount"
        )
    body = {"through_receipt": 2, "amounts_by_method_cents": {"cash": 2000, "cheque": 3000}}
    remitted = world.ok(world.post("regisseur", f"{base}/remittances", body, key="m1"))
    assert (remitted["kind"], remitted["result"]) == ("remittance_made", {"slip_number": 1})
    assert_recorded(world, remitted, world.register_a)
    event = world.ledger.register_event(UUID(world.register_a), remitted["version"])
    assert isinstance(event, CashRegister.RemittanceMade)
    assert (event.first_receipt, event.last_receipt, event.total_cents) == (1, 2, 5000)
    assert event.receipts_by_method == {"cash": 2000, "cheque": 3000}
    register = world.ok(world.get("cashier", base), 200)
    assert (register["last_remitted_receipt"], register["last_slip_number"]) == (2, 1)
    assert register["balances_cents"] == {"cash": 5000, "cheque": 0, "card": 0, "transfer": 0}
    with records_nothing(world):
        late = world.post("cashier", f"{base}/receipts/1/cancellation", {"reason": "x"}, key="c1")
        assert_problem(late, 409, "receipt_already_remitted")


def test_a_cash_count_records_the_difference(world: World) -> None:
    """A count equal to the book records one event; a shortfall records the count and its
    own cash-short event, and the book follows the count."""
    base = f"/v1/registers/{world.register_a}"
    exact = world.ok(world.post("regisseur", f"{base}/cash-counts", {"counted_cents": 5000}))
    assert exact == {
        "register_id": world.register_a,
        "kind": "cash_counted",
        "hash": exact["hash"],
        "version": 2,
        "position": exact["position"],
        "result": {"count_number": 1, "difference_cents": 0},
    }
    assert_recorded(world, exact, world.register_a)
    short = world.ok(world.post("regisseur", f"{base}/cash-counts", {"counted_cents": 4900}))
    assert (short["result"], short["version"]) == ({"count_number": 2, "difference_cents": -100}, 4)
    short_event = world.ledger.register_event(UUID(world.register_a), 4)
    assert isinstance(short_event, CashRegister.CashShort)
    assert short_event.amount_cents == 100
    over = world.ok(world.post("regisseur", f"{base}/cash-counts", {"counted_cents": 4950}))
    assert over["result"] == {"count_number": 3, "difference_cents": 50}
    register = world.ok(world.get("cashier", base), 200)
    assert register["balances_cents"]["cash"] == 4950
    assert register["head_hash"] == over["hash"]


def test_periods_are_closed_once_and_only_when_over(world: World) -> None:
    """A day is closed (at the end of it, or later) with the perpetual total; afterwards
    nothing can be recorded inside it (409 period_closed) nor can it be closed twice; a day
    or month not reached yet is 422; a month closes once it is over and seals every day."""
    world.ok(world.receipt([("other", 1250)]))
    base = f"/v1/registers/{world.register_a}/closures"
    with records_nothing(world):
        tomorrow = world.post("cashier", base, {"period": "day", "date": "2025-01-07"})
        assert assert_problem(tomorrow, 422, "invalid_period")["errors"][0]["field"] == "date"
        month = world.post("cashier", base, {"period": "month", "date": "2025-01-15"})
        assert_problem(month, 422, "invalid_period")
    world.clock.advance(hours=9)  # 18:00 in Paris, the cashier closes the day
    closed = world.ok(world.post("cashier", base, {"period": "day", "date": "2025-01-06"}))
    assert (closed["kind"], closed["result"]) == ("day_closed", {"perpetual_total_cents": 1250})
    assert_recorded(world, closed, world.register_a)
    event = world.ledger.register_event(UUID(world.register_a), closed["version"])
    assert isinstance(event, CashRegister.DayClosed)
    assert (event.totals.by_method, event.sealed_version) == ({"cash": 1250}, 2)
    register = world.ok(world.get("auditor", f"/v1/registers/{world.register_a}"), 200)
    assert register["closed_through"] == "2025-01-06"
    with records_nothing(world):
        late = world.receipt([("other", 500)])
        assert_problem(late, 409, "period_closed")
        count = world.post(
            "regisseur", f"/v1/registers/{world.register_a}/cash-counts", {"counted_cents": 6250}
        )
        assert_problem(count, 409, "period_closed")
        twice = world.post("cashier", base, {"period": "day", "date": "2025-01-06"})
        assert_problem(twice, 409, "period_closed")
    world.clock.advance(hours=15)  # 7 January
    assert world.ok(world.receipt([("other", 500)]))["number"] == 2
    world.clock.advance(days=25)  # 1 February
    january = world.ok(world.post("cashier", base, {"period": "month", "date": "2025-01-15"}))
    assert (january["kind"], january["result"]) == ("month_closed", {"perpetual_total_cents": 1750})
    with records_nothing(world):
        inside = world.post("cashier", base, {"period": "day", "date": "2025-01-20"})
        assert_problem(inside, 409, "period_closed")
        again = world.post("cashier", base, {"period": "month", "date": "2025-01-02"})
        assert_problem(again, 409, "period_closed")
    assert world.ok(world.receipt([("other", 500)]))["number"] == 3


def test_the_chain_verifies(world: World) -> None:
    """GET verify: every event of the register checks, the head hash is the register's;
    the auditor of its collectivité may verify, others may not."""
    stay_id = world.arrive()
    world.deposit(stay_id)
    world.ok(world.receipt([("other", 700)], method="card"))
    world.ok(
        world.post(
            "regisseur", f"/v1/registers/{world.register_a}/cash-counts", {"counted_cents": 20000}
        )
    )
    register = world.ok(world.get("admin", f"/v1/registers/{world.register_a}"), 200)
    report = world.ok(world.get("auditor", f"/v1/registers/{world.register_a}/verify"), 200)
    assert report == {
        "register_id": world.register_a,
        "ok": True,
        "events": register["version"],
        "head_hash": register["head_hash"],
        "first_broken_version": None,
        "problems": [],
    }
    for who in ("admin", "manager", "cashier"):
        assert world.ok(world.get(who, f"/v1/registers/{world.register_a}/verify"), 200) == report
    for who in ("auditor_b", "cashier_b", "analyst"):
        refused = world.get(who, f"/v1/registers/{world.register_a}/verify")
        assert_problem(refused, 403, "forbidden")
    assert_problem(world.get("admin", f"/v1/registers/{uuid4()}/verify"), 404, "register_not_found")
    not_a_register = world.get("admin", f"/v1/registers/{stay_id}/verify")
    assert_problem(not_a_register, 404, "register_not_found")


def test_the_cash_journal_lists_every_movement_in_json_and_french_csv(world: World) -> None:
    """GET journal: one line per movement (per receipt line), in sequence, with running
    balances, the acting user and the chain hash; ``from``/``to`` select days; ``format=csv``
    is the French spreadsheet (BOM, semicolons, decimal comma)."""
    stay_id = world.arrive()
    deposit = world.deposit(stay_id)
    reading = {"meter": "water", "index": "100.285", "read_at": world.now()}
    world.ok(world.post("cashier", f"/v1/stays/{stay_id}/meter-readings", reading))
    world.charge(stay_id, days=3)  # 9.00 of pitch fee, 0.285 m³ of water (1.00)
    payment = world.ok(
        world.receipt([("pitch_fee", 900), ("water", 100)], stay_id=stay_id, method="card")
    )
    world.clock.advance(days=1)
    world.ok(world.receipt([("other", 250)]))
    path = f"/v1/registers/{world.register_a}/journal"
    journal = world.ok(world.get("auditor", path), 200)
    rows = [
        (r["kind"], r["receipt_number"], r["revenue_type"], r["method"], r["amount_in_cents"])
        for r in journal["data"]
    ]
    assert rows == [
        ("opening", None, "float", "cash", 5000),
        ("receipt", 1, "deposit", "cash", 15000),
        ("receipt", 2, "pitch_fee", "card", 900),
        ("receipt", 2, "water", "card", 100),
        ("receipt", 3, "other", "cash", 250),
    ]
    assert journal["count"] == 5
    assert [r["chain_hash"] for r in journal["data"][1:4]] == [
        deposit["hash"],
        payment["hash"],
        payment["hash"],
    ]
    assert [r["position"] for r in journal["data"][1:3]] == [
        deposit["position"],
        payment["position"],
    ]
    assert {r["cashier"] for r in journal["data"][1:]} == {user_id(world, "cashier")}
    last = journal["data"][-1]
    register = world.ok(world.get("auditor", f"/v1/registers/{world.register_a}"), 200)
    assert (last["balance_cash_cents"], last["balance_card_cents"]) == (
        register["balances_cents"]["cash"],
        register["balances_cents"]["card"],
    )
    second_day = world.client.get(
        path, params={"from": "2025-01-07", "to": "2025-01-07"}, headers=world.headers("cashier")
    )
    assert [r["receipt_number"] for r in world.ok(second_day, 200)["data"]] == [3]
    csv = world.client.get(path, params={"format": "csv"}, headers=world.headers("manager"))
    assert csv.status_code == 200
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv.headers["content-disposition"].startswith("attachment;")
    lines = csv.text.split("\r\n")
    assert lines[0].startswith("\ufeffDate;Heure;N° quittance;Opération")
    assert len([line for line in lines if line]) == 1 + 5
    assert lines[2].startswith("06/01/2025;09:00:00;1;Quittance;Dépôt de garantie;Espèces;150,00;")
    for who in ("auditor_b", "cashier_b", "analyst"):
        assert_problem(world.get(who, path), 403, "forbidden")
    assert_problem(
        world.get("admin", f"/v1/registers/{uuid4()}/journal"), 404, "register_not_found"
    )
    bad = world.client.get(path, params={"format": "xlsx"}, headers=world.headers("auditor"))
    assert assert_problem(bad, 422, "validation_error")["errors"][0]["field"] == "format"


def test_the_journal_pages_follow_one_another(world: World) -> None:
    """GET journal, JSON: at most ``limit`` lines a page, ``next_cursor`` to the next (null
    on the last); the pages put together are the journal asked in one page, and only the
    first carries the summaries, those of the whole period. The CSV is the whole period."""
    for amount in (100, 200, 300, 400, 500, 600):
        world.ok(world.receipt([("other", amount)]))
    path = f"/v1/registers/{world.register_a}/journal"
    whole = world.ok(world.get("auditor", f"{path}?limit=1000"), 200)
    assert (whole["count"], whole["next_cursor"]) == (7, None)
    pages, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = world.ok(
            world.client.get(path, params=params, headers=world.headers("auditor")), 200
        )
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [p["count"] for p in pages] == [3, 3, 1]
    assert [line for p in pages for line in p["data"]] == whole["data"]
    assert pages[0]["summaries"] == whole["summaries"]
    assert [p["summaries"] for p in pages[1:]] == [None, None]
    csv = world.client.get(
        path, params={"format": "csv", "limit": 1}, headers=world.headers("auditor")
    )
    assert len([line for line in csv.text.split("\r\n") if line]) == 1 + 7


def test_an_attached_registers_lines_reach_only_those_whose_scope_holds_it(world: World) -> None:
    """Issue 16, defect 3. Given aire A2's register attached to aire A (a régie spanning two
    aires of collectivité A) and money on it, some of it for a stay at A: when A's cashier,
    refused A2's journal, exports the cash tables of aire A (CSV and XLSX), then no line, head
    or deposit of A2's register is in them; A2's cashier, the manager and the admin, whose
    scope holds that register, get them."""
    a2 = world.aire_a2()
    register_a2 = world.ids["register_a2"]
    world.ok(
        world.post(
            "admin", f"/v1/aires/{world.aire_a}/attached-registers", {"register_id": register_a2}
        ),
        200,
    )
    stay_a = world.arrive()
    world.ok(
        world.receipt([("deposit", 15000)], stay_id=stay_a, register=register_a2, who="cashier_a2")
    )
    world.ok(world.receipt([("other", 700)], register=register_a2, who="cashier_a2"))
    world.deposit(world.arrive(emplacement="2"))  # A's own register, for a stay at A
    for register, who in ((register_a2, "regisseur_a2"), (world.register_a, "regisseur")):
        count = {"counted_cents": 20700}
        world.ok(world.post(who, f"/v1/registers/{register}/cash-counts", count))
    assert world.aire_a2() == a2
    journal = f"/v1/registers/{register_a2}/journal"
    assert_problem(world.get("cashier", journal), 403, "forbidden")
    tables = [t for t, spec in EXPORTS.items() if spec.audience == "registers"]
    assert {"cash_journal", "journal_heads", "deposit_movements", "cash_counts"} <= set(tables)
    held = {"cash_journal", "journal_heads", "deposit_movements", "cash_counts"}  # rows of both
    for who, sees_a2 in (
        ("cashier", False),
        ("cashier_a2", True),
        ("manager", True),
        ("admin", True),
    ):
        for table in tables:
            for fmt in ("csv", "xlsx"):
                exported = world.client.get(
                    f"/v1/exports/{table}",
                    params={"aire_id": world.aire_a, "format": fmt}
                    if who != "cashier_a2"
                    else {"format": fmt},
                    headers=world.headers(who),
                )
                assert exported.status_code == 200, (who, table, exported.text)
                text = exported.text if fmt == "csv" else _xlsx_text(exported.content)
                assert (register_a2 in text) is (sees_a2 and table in held), (who, table, fmt)
                if who != "cashier_a2" and table in held:
                    assert world.register_a in text, (who, table, fmt)


def _xlsx_text(content: bytes) -> str:
    """Every cell of an XLSX file, as text."""
    import io

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content), read_only=True)
    return "\n".join(
        str(cell)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for cell in row
    )


def test_the_history_replays_a_register_as_of_an_instant(world: World) -> None:
    """GET history?as_of=: the register rebuilt from its events recorded up to then, with its
    chain verified that far; before it opened it did not exist (404)."""
    first = world.ok(world.receipt([("other", 1250)]))
    before_second = world.clock.advance(minutes=30)
    world.clock.advance(minutes=30)
    world.ok(world.receipt([("other", 500)], method="cheque"))
    path = f"/v1/registers/{world.register_a}/history"

    def history(who: str, as_of: str) -> Any:
        return world.client.get(path, params={"as_of": as_of}, headers=world.headers(who))

    then = world.ok(history("auditor", before_second.isoformat()), 200)
    assert (then["version"], then["last_receipt_number"]) == (2, 1)
    assert then["balances"] == {
        "cash_cents": 6250,
        "cheque_cents": 0,
        "card_cents": 0,
        "transfer_cents": 0,
    }
    assert then["totals"]["perpetual_total_cents"] == 1250
    assert then["head_hash"] == first["hash"]
    assert then["verification"]["ok"] is True
    assert then["verification"]["events"] == 2
    now = world.ok(history("cashier", world.now()), 200)
    assert (now["version"], now["last_receipt_number"]) == (3, 2)
    assert now["totals"]["by_method_cents"] == {"cash": 1250, "cheque": 500}
    assert_problem(history("auditor", "2025-01-01T00:00:00+00:00"), 404, "register_not_found")
    naive = history("auditor", "2025-01-06T09:00:00")
    assert assert_problem(naive, 422, "validation_error")["errors"][0]["field"] == "as_of"
    missing = world.get("auditor", path)
    assert assert_problem(missing, 422, "validation_error")["errors"][0]["field"] == "as_of"
    for who in ("auditor_b", "analyst"):
        assert_problem(history(who, world.now()), 403, "forbidden")


def test_a_stays_balance_now_and_as_of_an_instant(world: World) -> None:
    """GET balance: what the household owes and the deposit held, from the balances
    projection, now or as it stood at an instant; it agrees with the stay itself."""
    stay_id = world.arrive()
    world.deposit(stay_id)
    world.clock.advance(days=2)
    charged_at = world.clock()
    world.ok(world.post("cashier", f"/v1/stays/{stay_id}/charges", {"through": "2025-01-08"}), 200)
    world.clock.advance(hours=1)
    world.ok(world.receipt([("pitch_fee", 600)], stay_id=stay_id, method="card"))
    path = f"/v1/stays/{stay_id}/balance"
    now = world.ok(world.get("cashier", path), 200)
    assert now == {
        "stay_id": stay_id,
        "as_of": None,
        "balance_due_cents": 300,
        "deposit_held_cents": 15000,
    }
    stay = world.ok(world.get("cashier", f"/v1/stays/{stay_id}"), 200)
    assert (stay["balance_due_cents"], stay["deposit_held_cents"]) == (300, 15000)
    as_of = charged_at.isoformat()
    then = world.client.get(path, params={"as_of": as_of}, headers=world.headers("manager"))
    assert world.ok(then, 200) == {
        "stay_id": stay_id,
        "as_of": as_of,
        "balance_due_cents": 900,
        "deposit_held_cents": 15000,
    }
    for who in ("auditor", "analyst", "cashier_b"):
        assert_problem(world.get(who, path), 403, "forbidden")
    assert_problem(world.get("admin", f"/v1/stays/{uuid4()}/balance"), 404, "stay_not_found")


def test_statistics_are_anonymised_and_for_analysts_and_managers(world: World) -> None:
    """Occupancy by day, ALT2 figures and revenue by month: read by the analyst (every aire),
    the admin and the aire's manager; never a household or stay id; refused to cashiers and
    auditors (403)."""
    body = world.stay_body("1")
    stay_id = world.arrive(household_ref=body["household_ref"])
    world.deposit(stay_id)
    world.charge(stay_id, days=3)
    world.ok(world.receipt([("pitch_fee", 900)], stay_id=stay_id, method="card"))
    world.clock.advance(days=2)  # Wednesday 8 January
    base = f"/v1/aires/{world.aire_a}"

    def read(who: str, what: str, **params: Any) -> Any:
        return world.client.get(f"{base}/{what}", params=params, headers=world.headers(who))

    occupancy = read("analyst", "occupancy", month="2025-01")
    month = world.ok(occupancy, 200)
    assert (month["aire_id"], month["month"], month["as_of"]) == (
        world.aire_a,
        "2025-01",
        "2025-01-08",
    )
    monday = next(d for d in month["days"] if d["day"] == "2025-01-06")
    assert monday == {
        "day": "2025-01-06",
        "places_capacity": 8,
        "places_available": 8,
        "places_occupied": 2,
        "places_occupied_unavailable": 0,
        "households": 1,
        "people": {"adult": 2, "4-17": 1},
        "arrivals": 1,
        "departures": 0,
    }
    assert stay_id not in occupancy.text and body["household_ref"] not in occupancy.text
    alt2 = world.ok(read("manager", "alt2", year=2025), 200)
    january = alt2["months"][0]
    assert (january["month"], january["places"], january["occupancy_days"]) == ("2025-01", 8, 6)
    assert (january["available_place_days"], january["occupancy_rate"]) == (24, "0.2500")
    assert january["pitch_fee_revenue_cents"] == 900
    assert alt2["aid_total_cents"] == sum(m["aid_cents"] for m in alt2["months"])
    revenue = world.ok(read("admin", "revenue", year=2025), 200)
    assert revenue["count"] == len(revenue["data"])
    pitch = next(r for r in revenue["data"] if r["revenue_type"] == "pitch_fee")
    assert pitch == {
        "month": "2025-01",
        "revenue_type": "pitch_fee",
        "amount_cents": 900,
        "previous_year_cents": 0,
        "difference_cents": 900,
    }
    for response in (
        occupancy,
        read("manager", "alt2", year=2025),
        read("admin", "revenue", year=2025),
    ):
        assert stay_id not in response.text and body["household_ref"] not in response.text
    for who in ("cashier", "auditor"):
        assert_problem(read(who, "occupancy", month="2025-01"), 403, "forbidden")
        assert_problem(read(who, "alt2", year=2025), 403, "forbidden")
        assert_problem(read(who, "revenue", year=2025), 403, "forbidden")
    elsewhere = world.client.get(
        f"/v1/aires/{world.aire_b}/revenue", params={"year": 2025}, headers=world.headers("manager")
    )
    assert_problem(elsewhere, 403, "forbidden")
    assert (
        world.ok(
            world.client.get(
                f"/v1/aires/{world.aire_b}/revenue",
                params={"year": 2025},
                headers=world.headers("analyst"),
            ),
            200,
        )["aire_id"]
        == world.aire_b
    )
    for what, params, field in (
        ("occupancy", {"month": "2025-13"}, "month"),
        ("occupancy", {"month": "0000-01"}, "month"),  # was a 500: year 0 does not exist
        ("occupancy", {"month": "1999-12"}, "month"),
        ("occupancy", {}, "month"),
        ("alt2", {"year": 1999}, "year"),
        ("revenue", {"year": "twenty"}, "year"),
    ):
        problem = assert_problem(read("analyst", what, **params), 422, "validation_error")
        assert [e["field"] for e in problem["errors"]] == [field]
    unknown = world.client.get(
        f"/v1/aires/{uuid4()}/alt2", params={"year": 2025}, headers=world.headers("analyst")
    )
    assert_problem(unknown, 404, "aire_not_found")


# --- a cashier's day ------------------------------------------------------------------------


def test_a_cashiers_day_from_arrival_to_departure(world: World) -> None:
    """Arrival, deposit receipt, readings, charges, payment, departure, refund: the stay
    ends with nothing due and no deposit held, the register's books follow every step,
    every event names the cashier, and the chain verifies."""
    cashier = user_id(world, "cashier")
    register_path = f"/v1/registers/{world.register_a}"

    # 08:00 Monday 6 January: the household arrives on emplacement 4.
    stay = world.ok(world.post("cashier", f"/v1/aires/{world.aire_a}/stays", world.stay_body("4")))
    stay_id = stay["id"]
    assert (stay["status"], stay["emplacement"]) == ("open", "4")

    # The deposit (150.00 EUR, third-party funds) on receipt 1.
    deposit = world.ok(world.receipt([("deposit", 15000)], stay_id=stay_id, key="day-dep"))
    assert (deposit["number"], deposit["total_cents"]) == (1, 15000)
    stay = world.ok(world.get("cashier", f"/v1/stays/{stay_id}"), 200)
    assert (stay["deposit_held_cents"], stay["settled_cents"]) == (15000, 0)

    # Wednesday 8 January, 18:00 in Paris: readings, then charges through today.
    world.clock.advance(days=2, hours=9)
    readings = f"/v1/stays/{stay_id}/meter-readings"
    water = {"meter": "water", "index": "106.25", "read_at": world.now()}
    world.ok(world.post("cashier", readings, water))
    power = {"meter": "electricity", "index": "2055.5", "read_at": world.now()}
    world.ok(world.post("cashier", readings, power))
    charges = f"/v1/stays/{stay_id}/charges"
    charged = world.ok(world.post("cashier", charges, {"through": "2025-01-08"}), 200)
    by_type = {c["revenue_type"]: c["amount_cents"] for c in charged["charges"]}
    # 3 nights x 3.00; 6.25 m3 x 3.512 = 21.95; 55.5 kWh x 0.2276 = 12.6318 -> 12.63
    assert by_type == {"pitch_fee": 900, "water": 2195, "electricity": 1263}
    assert charged["balance_due_cents"] == 4358

    # Payment by card on receipt 2.
    payment = world.ok(
        world.receipt(
            [("pitch_fee", 900), ("water", 2195), ("electricity", 1263)],
            stay_id=stay_id,
            method="card",
            key="day-pay",
        )
    )
    assert (payment["number"], payment["total_cents"]) == (2, 4358)
    stay = world.ok(world.get("cashier", f"/v1/stays/{stay_id}"), 200)
    assert (stay["settled_cents"], stay["balance_due_cents"]) == (4358, 0)

    # Departure on Thursday 9 January at 09:30: no night more, no more consumption; the
    # deposit is still held.
    world.clock.advance(days=1, hours=0, minutes=30)
    departure = {
        "departed_at": world.now(),
        "exit_inspection_ref": "EDL-S-004",
        "water_index": "106.25",
        "electricity_index": "2055.5",
    }
    departed = world.ok(world.post("cashier", f"/v1/stays/{stay_id}/departure", departure), 200)
    assert departed["status"] == "departed"
    money = ("charged_cents", "settled_cents", "balance_due_cents", "deposit_held_cents")
    assert [departed[k] for k in money] == [4358, 4358, 0, 15000]
    assert departed["charged_until"] == "2025-01-09"

    # The bill settled, the deposit goes back in cash.
    refund = {"stay_id": stay_id, "amount_cents": 15000, "method": "cash"}
    refunds = f"{register_path}/deposit-refunds"
    refunded = world.ok(world.post("cashier", refunds, refund, key="day-ref"))
    assert refunded["result"] == {"deposit_held_cents": 0}

    aire = world.ok(world.get("cashier", f"/v1/aires/{world.aire_a}"), 200)
    assert aire["emplacements"][3]["occupied_by_stay"] is None
    register = world.ok(world.get("cashier", register_path), 200)
    assert register["last_receipt_number"] == 2
    assert register["balances_cents"] == {"cash": 5000, "cheque": 0, "card": 4358, "transfer": 0}
    assert register["deposits_held_cents"] == 0
    assert register["perpetual_total_cents"] == 4358  # revenue only: the deposit apart
    for event in world.ledger.events.get(UUID(stay_id)):
        assert event.actor == cashier  # type: ignore[attr-defined]
    for event in world.ledger.events.get(UUID(world.register_a), gt=1):
        assert event.actor == cashier  # type: ignore[attr-defined]
    report = world.ok(world.get("auditor", f"{register_path}/verify"), 200)
    assert (report["ok"], report["events"], report["head_hash"]) == (
        True,
        register["version"],
        register["head_hash"],
    )


# --- idempotency ----------------------------------------------------------------------------


def test_a_retried_receipt_returns_the_original(world: World) -> None:
    """Same key and body: the same receipt (number, hash, position) with Idempotent-Replayed,
    nothing new recorded; same key, other body: 422 idempotency_key_reused; keys belong to
    their user."""
    first = world.receipt([("other", 1250)], key="pay-1")
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    with records_nothing(world):
        again = world.receipt([("other", 1250)], key="pay-1")
        assert again.status_code == 201
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()
        other = world.receipt([("other", 1251)], key="pay-1")
        problem = assert_problem(other, 422, "idempotency_key_reused")
        assert problem["errors"][0]["field"] == "Idempotency-Key"
    register = world.ok(world.get("cashier", f"/v1/registers/{world.register_a}"), 200)
    assert register["last_receipt_number"] == 1
    theirs = world.ok(world.receipt([("other", 1250)], key="pay-1", who="regisseur"))
    assert theirs["number"] == 2  # the régisseur's own key "pay-1" (the admin handles no cash)


MOVEMENTS = ["cancellation", "deposit-refunds", "deposit-withholdings", "remittances"]


def movement(world: World, route: str, stay_id: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A path, a body and another body for one money-moving route of register A."""
    base = f"/v1/registers/{world.register_a}"
    if route == "cancellation":
        return f"{base}/receipts/2/cancellation", {"reason": "doublon"}, {"reason": "autre"}
    if route == "deposit-refunds":
        body = {"stay_id": stay_id, "amount_cents": 5000, "method": "cash"}
        return f"{base}/deposit-refunds", body, body | {"amount_cents": 5001}
    if route == "deposit-withholdings":
        body = {"stay_id": stay_id, "amount_cents": 5000, "reason": "damage", "reference": "PV-1"}
        return f"{base}/deposit-withholdings", body, body | {"reference": "PV-2"}
    body = {"through_receipt": 2, "amounts_by_method_cents": {"cash": 700}}
    return f"{base}/remittances", body, body | {"through_receipt": 1}


@pytest.mark.parametrize("route", MOVEMENTS)
def test_every_money_movement_replays_under_its_key(world: World, route: str) -> None:
    """Cancellations, refunds, withholdings and remittances answer a retry with the original
    movement and record nothing; another body under the key is refused. (A cashier's
    cancellation is a request, 202, until a régisseur approves it: issue 15.)"""
    stay_id = world.arrive()
    world.deposit(stay_id)
    world.ok(world.receipt([("other", 700)]))
    if route.startswith("deposit-"):  # after the departure, the bill settled
        world.depart(stay_id, exit_ref="PV-1")
        world.settle(stay_id, method="transfer")
    path, body, other = movement(world, route, stay_id)
    status = 202 if route == "cancellation" else 201
    who = "regisseur" if route == "remittances" else "cashier"  # a régisseur remits
    first = world.post(who, path, body, key="move-1")
    assert first.status_code == status, first.text
    assert "idempotent-replayed" not in first.headers
    with records_nothing(world):
        again = world.post(who, path, body, key="move-1")
        assert again.status_code == status
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()
        reused = world.post(who, path, other, key="move-1")
        assert_problem(reused, 422, "idempotency_key_reused")


MONEY_ROUTES = ["receipts", *MOVEMENTS]


@pytest.mark.parametrize("route", MONEY_ROUTES)
def test_money_moving_writes_require_an_idempotency_key(world: World, route: str) -> None:
    """Without an Idempotency-Key (or with a blank one) the write is 400
    idempotency_key_required; a key over 200 characters is 400 idempotency_key_invalid;
    nothing is recorded."""
    stay_id = world.arrive()
    world.deposit(stay_id)
    world.ok(world.receipt([("other", 700)]))
    if route == "receipts":
        path = f"/v1/registers/{world.register_a}/receipts"
        body: dict[str, Any] = {
            "method": "cash",
            "lines": [{"revenue_type": "other", "amount_cents": 1}],
        }
    else:
        path, body, _ = movement(world, route, stay_id)
    who = "regisseur" if route == "remittances" else "cashier"  # a régisseur remits
    with records_nothing(world):
        missing = world.client.post(path, json=body, headers=world.headers(who))
        problem = assert_problem(missing, 400, "idempotency_key_required")
        assert problem["errors"] == [{"field": "Idempotency-Key", "reason": problem["detail"]}]
        blank = world.post(who, path, body, key="   ")
        assert_problem(blank, 400, "idempotency_key_required")
        long = world.post(who, path, body, key="k" * 201)
        assert_problem(long, 400, "idempotency_key_invalid")


def test_an_idempotency_key_with_a_control_character_is_refused(world: World) -> None:
    """A key holding a control character (a tab here: the one HTTP lets through) is 400
    idempotency_key_invalid, and nothing is recorded: a key is compared as text, and one
    that prints differently from what is stored would make replays unpredictable."""
    path = f"/v1/registers/{world.register_a}/receipts"
    body = {"method": "cash", "lines": [{"revenue_type": "other", "amount_cents": 1}]}
    with records_nothing(world):
        tabbed = world.post("cashier", path, body, key="receipt\t42")
        assert_problem(tabbed, 400, "idempotency_key_invalid")


# --- validation -----------------------------------------------------------------------------


def cents_cases(world: World, stay_id: str) -> list[tuple[str, str, dict[str, Any], str]]:
    """(method, path, body with the amount marked as AMOUNT, field) for every *_cents input."""
    reg = f"/v1/registers/{world.register_a}"
    aire = f"/v1/aires/{world.aire_a}"
    return [
        (
            "POST",
            f"{reg}/receipts",
            {"method": "cash", "lines": [{"revenue_type": "other", "amount_cents": "AMOUNT"}]},
            "lines.0.amount_cents",
        ),
        (
            "POST",
            f"{reg}/deposit-refunds",
            {"stay_id": stay_id, "amount_cents": "AMOUNT", "method": "cash"},
            "amount_cents",
        ),
        (
            "POST",
            f"{reg}/deposit-withholdings",
            {"stay_id": stay_id, "amount_cents": "AMOUNT", "reason": "damage", "reference": "PV"},
            "amount_cents",
        ),
        (
            "POST",
            f"{reg}/remittances",
            {"through_receipt": 1, "amounts_by_method_cents": {"cash": "AMOUNT"}},
            "amounts_by_method_cents.cash",
        ),
        ("POST", f"{reg}/cash-counts", {"counted_cents": "AMOUNT"}, "counted_cents"),
        ("POST", f"{aire}/registers", REGISTER | {"float_cents": "AMOUNT"}, "float_cents"),
        (
            "POST",
            f"{aire}/registers",
            REGISTER | {"cash_ceiling_cents": "AMOUNT"},
            "cash_ceiling_cents",
        ),
        (
            "POST",
            f"{aire}/tariffs",
            TARIFF | {"effective_from": "2025-06-01", "pitch_fee_per_day_cents": "AMOUNT"},
            "pitch_fee_per_day_cents",
        ),
        (
            "POST",
            f"{aire}/tariffs",
            TARIFF | {"effective_from": "2025-06-01", "deposit_cents": "AMOUNT"},
            "deposit_cents",
        ),
    ]


def with_amount(value: Any, amount: Any) -> Any:
    if value == "AMOUNT":
        return amount
    if isinstance(value, dict):
        return {k: with_amount(v, amount) for k, v in value.items()}
    if isinstance(value, list):
        return [with_amount(v, amount) for v in value]
    return value


@pytest.mark.parametrize(
    "amount", [12.5, "1250", 1250.0, True], ids=["float", "string", "float-integral", "bool"]
)
def test_money_is_integer_cents_and_nothing_else(world: World, amount: Any) -> None:
    """A float, a string or a boolean where integer cents are expected is 422
    validation_error naming the field, and records nothing."""
    stay_id = world.arrive()
    world.deposit(stay_id)
    with records_nothing(world):
        for method, path, body, field in cents_cases(world, stay_id):
            response = world.client.request(
                method,
                path,
                json=with_amount(body, amount),
                headers=world.headers("admin", key=world.new_key()),
            )
            problem = assert_problem(response, 422, "validation_error")
            assert [e["field"] for e in problem["errors"]] == [field], (path, problem)


def test_datetimes_carry_their_offset(world: World) -> None:
    """A naive arrival, reading or departure time is 422 validation_error on its field."""
    stay_id = world.arrive()
    naive = world.clock().replace(tzinfo=None).isoformat()
    cases = [
        (f"/v1/aires/{world.aire_a}/stays", world.stay_body("2", arrived_at=naive), "arrived_at"),
        (
            f"/v1/stays/{stay_id}/meter-readings",
            {"meter": "water", "index": "101", "read_at": naive},
            "read_at",
        ),
        (
            f"/v1/stays/{stay_id}/departure",
            {
                "departed_at": naive,
                "exit_inspection_ref": "E",
                "water_index": "101",
                "electricity_index": "2001",
            },
            "departed_at",
        ),
    ]
    with records_nothing(world):
        for path, body, field in cases:
            problem = assert_problem(world.post("cashier", path, body), 422, "validation_error")
            assert [e["field"] for e in problem["errors"]] == [field]


def test_decimals_and_dates_stay_within_what_the_ledger_computes(world: World) -> None:
    """Decimals with an exponent or past 12 digits / 8 decimals, and dates or times outside
    2000-2099, are 422 validation_error: the ledger's arithmetic would overflow on them (they
    used to be accepted and end in 500s, or in a charge priced over millions of days)."""
    stay_id = world.arrive()
    aire = f"/v1/aires/{world.aire_a}"
    reading = {"meter": "water", "read_at": world.now()}
    cases = [
        (f"/v1/stays/{stay_id}/meter-readings", reading | {"index": "1E+999999"}, "index"),
        (f"/v1/stays/{stay_id}/meter-readings", reading | {"index": "NaN"}, "index"),
        (f"/v1/stays/{stay_id}/meter-readings", reading | {"index": "1.123456789"}, "index"),
        (f"/v1/stays/{stay_id}/meter-readings", reading | {"index": "1234567890123"}, "index"),
        (f"{aire}/emplacements", {"number": "8", "surface_m2": "1e3"}, "surface_m2"),
        (f"/v1/stays/{stay_id}/charges", {"through": "9999-12-31"}, "through"),
        (f"{aire}/closures", {"start": "9999-10-01", "end": "2025-10-02", "reason": "x"}, "start"),
        (
            f"{aire}/stays",
            world.stay_body("2", arrived_at="0001-01-01T00:00:00+14:00"),
            "arrived_at",
        ),
        (
            f"/v1/stays/{stay_id}/meter-readings",
            reading | {"index": "101", "read_at": "1999-12-31T23:00:00+00:00"},
            "read_at",
        ),
    ]
    with records_nothing(world):
        for path, body, field in cases:
            problem = assert_problem(world.post("admin", path, body), 422, "validation_error")
            assert [e["field"] for e in problem["errors"]] == [field], (path, body, problem)
    accepted = world.post("admin", f"{aire}/emplacements", {"number": "8", "surface_m2": "-0.5"})
    assert_problem(accepted, 422, "invalid_value")  # well-formed, refused by the domain
    assert world.ok(world.post("admin", f"{aire}/emplacements", {"number": "8", "surface_m2": 84}))


def test_malformed_requests_are_problems(world: World) -> None:
    """Decimals sent as numbers, unknown fields, missing fields, broken JSON, a bad UUID in
    the path, an unknown route and a wrong method: problem+json with a code each."""
    stay_id = world.arrive()
    path = f"/v1/stays/{stay_id}/meter-readings"
    with records_nothing(world):
        as_number = world.post(
            "cashier", path, {"meter": "water", "index": 101.5, "read_at": world.now()}
        )
        assert assert_problem(as_number, 422, "validation_error")["errors"][0]["field"] == "index"
        not_decimal = world.post(
            "cashier", path, {"meter": "water", "index": "lots", "read_at": world.now()}
        )
        assert assert_problem(not_decimal, 422, "validation_error")["errors"][0]["field"] == "index"
        extra = world.post(
            "cashier", path, {"meter": "water", "index": "101", "read_at": world.now(), "by": "me"}
        )
        assert assert_problem(extra, 422, "validation_error")["errors"][0]["field"] == "by"
        missing = world.post("cashier", path, {"meter": "water"})
        fields = {e["field"] for e in assert_problem(missing, 422, "validation_error")["errors"]}
        assert fields == {"index", "read_at"}
        broken = world.client.post(
            path,
            content=b'{"meter": "wat',
            headers={**world.headers("cashier"), "Content-Type": "application/json"},
        )
        assert_problem(broken, 422, "validation_error")
        bad_id = world.get("admin", "/v1/aires/not-a-uuid")
        assert assert_problem(bad_id, 422, "validation_error")["errors"][0]["field"] == "aire_id"
        bad_number = world.post(
            "cashier",
            f"/v1/registers/{world.register_a}/receipts/one/cancellation",
            {"reason": "x"},
            key="k",
        )
        assert assert_problem(bad_number, 422, "validation_error")["errors"][0]["field"] == "number"
        assert_problem(world.get("admin", "/v1/nowhere"), 404, "not_found")
        wrong_method = world.client.delete(
            f"/v1/aires/{world.aire_a}", headers=world.headers("admin")
        )
        assert_problem(wrong_method, 405, "method_not_allowed")


# --- authentication and authorisation ------------------------------------------------------

ROUTES: list[tuple[str, str]] = [
    ("POST", "/v1/users"),
    ("GET", "/v1/users/me"),
    ("GET", "/v1/users/me/tokens"),
    ("GET", "/v1/users/{user_id}/tokens"),
    ("POST", "/v1/tokens/{token_id}/revocation"),
    ("POST", "/v1/tokens/{token_id}/rotation"),
    ("POST", "/v1/collectivites"),
    ("GET", "/v1/collectivites"),
    ("GET", "/v1/collectivites/{collectivite_id}"),
    ("POST", "/v1/aires"),
    ("GET", "/v1/aires"),
    ("GET", "/v1/aires/{aire_id}"),
    ("POST", "/v1/aires/{aire_id}/emplacements"),
    ("POST", "/v1/aires/{aire_id}/emplacements/{number}/out-of-service"),
    ("POST", "/v1/aires/{aire_id}/emplacements/{number}/back-in-service"),
    ("POST", "/v1/aires/{aire_id}/tariffs"),
    ("POST", "/v1/aires/{aire_id}/closures"),
    ("PUT", "/v1/aires/{aire_id}/stay-rules"),
    ("POST", "/v1/aires/{aire_id}/registers"),
    ("POST", "/v1/aires/{aire_id}/attached-registers"),
    ("POST", "/v1/aires/{aire_id}/seals"),
    ("POST", "/v1/aires/{aire_id}/regularisations"),
    ("GET", "/v1/aires/{aire_id}/seals"),
    ("GET", "/v1/aires/{aire_id}/seals/{month}/attestation"),
    ("GET", "/v1/aires/{aire_id}/verify"),
    ("POST", "/v1/aires/{aire_id}/stays"),
    ("GET", "/v1/stays/{stay_id}"),
    ("POST", "/v1/stays/{stay_id}/meter-readings"),
    ("POST", "/v1/stays/{stay_id}/extensions"),
    ("POST", "/v1/stays/{stay_id}/charges"),
    ("POST", "/v1/stays/{stay_id}/departure"),
    ("GET", "/v1/registers/{register_id}"),
    ("PUT", "/v1/registers/{register_id}/rules"),
    ("GET", "/v1/registers/{register_id}/alerts"),
    ("POST", "/v1/registers/{register_id}/receipts"),
    ("POST", "/v1/registers/{register_id}/receipts/{number}/cancellation"),
    ("POST", "/v1/registers/{register_id}/receipts/{number}/cancellation/approval"),
    ("POST", "/v1/registers/{register_id}/receipts/{number}/cancellation/refusal"),
    ("POST", "/v1/registers/{register_id}/receipts/{number}/cancellation/withdrawal"),
    ("POST", "/v1/registers/{register_id}/deposit-refunds"),
    ("POST", "/v1/registers/{register_id}/advance-refunds"),
    ("POST", "/v1/registers/{register_id}/deposit-withholdings"),
    ("POST", "/v1/registers/{register_id}/remittances"),
    ("POST", "/v1/registers/{register_id}/cash-counts"),
    ("POST", "/v1/registers/{register_id}/cash-counts/{count_number}/regularisation"),
    ("POST", "/v1/registers/{register_id}/handovers"),
    ("GET", "/v1/registers/{register_id}/remittances/preview"),
    ("POST", "/v1/registers/{register_id}/closures"),
    ("GET", "/v1/registers/{register_id}/verify"),
    ("GET", "/v1/registers/{register_id}/journal"),
    ("GET", "/v1/registers/{register_id}/history"),
    ("GET", "/v1/stays/{stay_id}/balance"),
    ("GET", "/v1/aires/{aire_id}/occupancy"),
    ("GET", "/v1/aires/{aire_id}/alt2"),
    ("GET", "/v1/aires/{aire_id}/revenue"),
    ("GET", "/v1/reports"),
    ("GET", "/v1/reports/{report_id}"),
    ("GET", "/v1/registers/{register_id}/documents/{document}/{number}"),
    ("POST", "/v1/registers/{register_id}/documents/{document}/{number}/reprints"),
    ("GET", "/v1/exports/{table}"),
    ("GET", "/v1/analytics/{table}"),
    ("GET", "/v1/analytics/pictures/{picture}"),
    ("POST", "/v1/aires/{aire_id}/unmet-demand"),
    ("POST", "/v1/households"),
    ("GET", "/v1/households"),
    ("GET", "/v1/households/{household_id}"),
    ("PATCH", "/v1/households/{household_id}"),
    ("GET", "/v1/households/{household_id}/documents"),
    ("POST", "/v1/households/{household_id}/documents"),
    ("DELETE", "/v1/households/{household_id}/personal-data"),
    ("GET", "/v1/households/{household_id}/access-log"),
    ("GET", "/v1/households/{household_id}/export"),
    ("GET", "/v1/registers/{register_id}/receipts/{number}"),
    ("GET", "/v1/audit-trail"),
    ("POST", "/v1/aires/{aire_id}/interventions"),
    ("GET", "/v1/aires/{aire_id}/interventions"),
    ("GET", "/v1/interventions/{intervention_id}"),
    ("PATCH", "/v1/interventions/{intervention_id}"),
    ("POST", "/v1/aires/{aire_id}/team"),
    ("DELETE", "/v1/aires/{aire_id}/team/{user_id}"),
    ("POST", "/v1/aires/{aire_id}/documents"),
    ("GET", "/v1/aires/{aire_id}/documents"),
    ("POST", "/v1/aires/{aire_id}/documents/{document_id}/versions"),
    ("GET", "/v1/aires/{aire_id}/documents/{document_id}"),
]
OPEN_ROUTES = [("GET", "/health"), ("GET", "/ready")]


def test_the_route_table_covers_every_route_of_the_app(settings: Settings, ledger: Ledger) -> None:
    """The tests below walk ROUTES: it must list every operation the app documents."""
    paths = create_app(settings, ledger=ledger).openapi()["paths"]
    served = {(method.upper(), path) for path, item in paths.items() for method in item}
    assert served == set(ROUTES) | set(OPEN_ROUTES)


def test_the_openapi_document_describes_every_refusal_as_a_problem(world: World) -> None:
    """OpenAPI says what the API answers: no FastAPI ``HTTPValidationError`` (never sent),
    every operation's 422 and ``4XX`` a ``Problem`` in application/problem+json; a real
    validation error has the documented shape."""
    document = world.client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    problem = schemas["Problem"]
    ref = {"$ref": "#/components/schemas/Problem"}
    operations = [op for item in document["paths"].values() for op in item.values()]
    assert operations
    for operation in operations:
        refusals = {k: v for k, v in operation["responses"].items() if k.startswith("4")}
        assert "4XX" in refusals, operation["operationId"]
        for answer in refusals.values():
            assert answer["content"] == {"application/problem+json": {"schema": ref}}
    stay_id = world.arrive()
    zero = world.post("cashier", f"/v1/stays/{stay_id}/extensions", {"until": "nope", "reason": ""})
    body = assert_problem(zero, 422, "validation_error")
    assert set(problem["required"]) <= body.keys() <= set(problem["properties"])
    kinds = {"string": str, "integer": int, "array": list}
    for name, value in body.items():
        assert isinstance(value, kinds[problem["properties"][name]["type"]]), name
    item = problem["properties"]["errors"]["items"]
    assert all(e.keys() == set(item["required"]) for e in body["errors"])


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-a-token", "Basic YWRtaW46YWRtaW4=", "Bearer ", "admin-token"],
    ids=["none", "unknown", "basic", "empty", "no-scheme"],
)
def test_every_route_needs_a_valid_bearer_token(world: World, authorization: str | None) -> None:
    """Without a token, with an unknown one or another scheme, every route but /health and
    /ready is 401 with WWW-Authenticate: Bearer, and nothing is recorded."""
    stay_id = world.arrive()
    ids = {
        "collectivite_id": world.ids["collectivite_a"],
        "aire_id": world.aire_a,
        "stay_id": stay_id,
        "register_id": world.register_a,
        "number": "1",
        "document": "receipt",
        "report_id": str(uuid4()),
        "table": "revenue_monthly",
        "household_id": world.ids["household"],
        "month": "2025-01",
        "count_number": "1",
        "user_id": world.users["cashier"]["id"],
        "token_id": str(uuid4()),
        "intervention_id": str(uuid4()),
        "document_id": str(uuid4()),
        "picture": "france",
    }
    headers = {"Idempotency-Key": "k"}
    if authorization is not None:
        headers["Authorization"] = authorization
    with records_nothing(world):
        for method, template in ROUTES:
            json = {} if method != "GET" else None
            response = world.client.request(
                method, template.format(**ids), json=json, headers=headers
            )
            assert_problem(response, 401, "unauthenticated")
            assert response.headers["www-authenticate"] == "Bearer", template


def forbidden_cases(
    world: World, stay_a: str, stay_b: str
) -> dict[str, list[tuple[str, str, Any]]]:
    """For each role, requests with valid bodies that its role or scope refuses."""
    a, b = world.aire_a, world.aire_b
    ra, rb = world.register_a, world.register_b
    register_of = {a: rb, b: ra}  # a register of the other collectivité
    own_register = {a: ra, b: rb}
    rules = {"decision_ref": "AM-1", "cash_ceiling_cents": 100000}
    departure = {
        "departed_at": world.now(),
        "exit_inspection_ref": "E",
        "water_index": "100",
        "electricity_index": "2000",
    }
    reading = {"meter": "water", "index": "101", "read_at": world.now()}
    extension = {"reason": "work", "evidence_ref": "X", "until": "2025-05-01"}
    closure = {"start": "2025-06-01", "end": "2025-06-05", "reason": "x"}
    collectivite = {"code": "NEW", "name": "New", "siren": "123456789"}
    user = {"name": "eve", "role": "admin"}

    def config(aire: str) -> list[tuple[str, str, Any]]:
        return [
            ("POST", f"/v1/aires/{aire}/emplacements", {"number": "77"}),
            (
                "POST",
                f"/v1/aires/{aire}/emplacements/1/out-of-service",
                {"start": "2025-02-01", "reason": "x"},
            ),
            ("POST", f"/v1/aires/{aire}/emplacements/1/back-in-service", {"start": "2025-02-02"}),
            ("POST", f"/v1/aires/{aire}/tariffs", TARIFF | {"effective_from": "2025-07-01"}),
            ("POST", f"/v1/aires/{aire}/closures", closure),
            (
                "PUT",
                f"/v1/aires/{aire}/stay-rules",
                {"max_consecutive_days": 30, "extension_cap_months": 1},
            ),
            ("POST", f"/v1/aires/{aire}/registers", REGISTER),
            ("POST", f"/v1/aires/{aire}/attached-registers", {"register_id": register_of[aire]}),
            ("PUT", f"/v1/registers/{own_register[aire]}/rules", rules),
            ("POST", f"/v1/aires/{aire}/seals", {"month": "2024-12"}),
            (
                "POST",
                f"/v1/aires/{aire}/regularisations",
                {"month": "2024-12", "place_days": 2, "reason": "x"},
            ),
        ]

    def stays(aire: str, stay: str) -> list[tuple[str, str, Any]]:
        return [
            ("POST", f"/v1/aires/{aire}/stays", world.stay_body("2")),
            ("GET", f"/v1/stays/{stay}", None),
            ("GET", f"/v1/stays/{stay}/balance", None),
            ("POST", f"/v1/stays/{stay}/meter-readings", reading),
            ("POST", f"/v1/stays/{stay}/extensions", extension),
            ("POST", f"/v1/stays/{stay}/charges", {"through": "2025-01-06"}),
            ("POST", f"/v1/stays/{stay}/departure", departure),
        ]

    def cash(register: str, stay: str) -> list[tuple[str, str, Any]]:
        return [
            (
                "POST",
                f"/v1/registers/{register}/receipts",
                {"method": "cash", "lines": [{"revenue_type": "other", "amount_cents": 100}]},
            ),
            ("POST", f"/v1/registers/{register}/receipts/1/cancellation", {"reason": "x"}),
            *decisions(register),
            ("POST", f"/v1/registers/{register}/receipts/1/cancellation/withdrawal", None),
            (
                "POST",
                f"/v1/registers/{register}/deposit-refunds",
                {"stay_id": stay, "amount_cents": 100, "method": "cash"},
            ),
            (
                "POST",
                f"/v1/registers/{register}/deposit-withholdings",
                {"stay_id": stay, "amount_cents": 100, "reason": "damage", "reference": "PV"},
            ),
            (
                "POST",
                f"/v1/registers/{register}/remittances",
                {"through_receipt": 1, "amounts_by_method_cents": {"cash": 100}},
            ),
            ("POST", f"/v1/registers/{register}/cash-counts", {"counted_cents": 5000}),
            *signing(register),
            ("POST", f"/v1/registers/{register}/closures", {"period": "day", "date": "2025-01-05"}),
        ]

    def signing(register: str) -> list[tuple[str, str, Any]]:
        """What only a régisseur of the register's aire signs for (``sign_cash``)."""
        return [
            (
                "POST",
                f"/v1/registers/{register}/cash-counts/1/regularisation",
                {"reference": "R-1"},
            ),
            (
                "POST",
                f"/v1/registers/{register}/handovers",
                {"incoming_user_id": str(uuid4()), "counted_cents": 5000},
            ),
        ]

    def decisions(register: str) -> list[tuple[str, str, Any]]:
        """What only a régisseur of the register's aire decides."""
        cancellation = f"/v1/registers/{register}/receipts/1/cancellation"
        return [
            ("POST", f"{cancellation}/approval", None),
            ("POST", f"{cancellation}/refusal", {"reason": "non"}),
        ]

    def prints(register: str) -> list[tuple[str, str, Any]]:
        documents = f"/v1/registers/{register}/documents"
        return [
            ("POST", f"{documents}/receipt/1/reprints", None),
            ("POST", f"{documents}/deposit_receipt/1/reprints", None),
        ]

    def read_register(register: str) -> list[tuple[str, str, Any]]:
        return [
            ("GET", f"/v1/registers/{register}", None),
            ("GET", f"/v1/registers/{register}/receipts/1", None),
            ("GET", f"/v1/registers/{register}/journal?payers=true", None),
            ("GET", f"/v1/registers/{register}/verify", None),
            ("GET", f"/v1/registers/{register}/alerts", None),
            ("GET", f"/v1/registers/{register}/remittances/preview?through_receipt=0", None),
            ("GET", f"/v1/registers/{register}/journal", None),
            ("GET", f"/v1/registers/{register}/history?as_of=2025-01-06T09:00:00%2B00:00", None),
        ]

    def statistics(aire: str) -> list[tuple[str, str, Any]]:
        return [
            ("GET", f"/v1/aires/{aire}/occupancy?month=2025-01", None),
            ("GET", f"/v1/aires/{aire}/alt2?year=2025", None),
            ("GET", f"/v1/aires/{aire}/revenue?year=2025", None),
        ]

    household_b = world.household(b, "Famille Vendée")  # recorded at B, never on A

    def household_routes(aire: str, household: str) -> list[tuple[str, str, Any]]:
        base = f"/v1/households/{household}"
        return [
            ("POST", "/v1/households", {"aire_id": aire, "display_name": "Famille X"}),
            ("GET", base, None),
            ("PATCH", base, {"notes": "x"}),
            ("GET", f"{base}/documents", None),
            (
                "POST",
                f"{base}/documents",
                {"kind": "rules_acknowledged", "date": "2025-01-06"},
            ),
            *data_requests(household),
        ]

    def data_requests(household: str) -> list[tuple[str, str, Any]]:
        base = f"/v1/households/{household}"
        return [
            ("DELETE", f"{base}/personal-data", None),
            ("GET", f"{base}/access-log", None),
            ("GET", f"{base}/export", None),
        ]

    search = ("GET", "/v1/households?name=famille", None)
    admin_only = [("POST", "/v1/users", user), ("POST", "/v1/collectivites", collectivite)]
    new_aire_a = ("POST", "/v1/aires", aire_body("49500-N", world.ids["collectivite_a"], "Anjou"))
    new_aire_b = ("POST", "/v1/aires", aire_body("85500-N", world.ids["collectivite_b"], "Vendee"))
    return {
        # a cashier of aire A: no configuration or statistics anywhere, nothing on aire B
        "cashier": [
            *admin_only,
            new_aire_a,
            *config(a),
            ("GET", f"/v1/aires/{b}", None),
            *stays(b, stay_b),
            *cash(rb, stay_b),
            *read_register(rb),
            ("GET", f"/v1/aires/{b}/seals", None),
            ("GET", f"/v1/aires/{b}/seals/2025-01/attestation", None),
            ("GET", f"/v1/aires/{b}/verify", None),
            *statistics(a),
            *household_routes(b, household_b),
            *data_requests(world.ids["household"]),  # in scope, but not a cashier's to answer
            *decisions(ra),  # a cashier asks; only a régisseur cancels, approves or refuses
            *signing(ra),  # a cashier counts; only a régisseur hands over and regularises
        ],
        # a régisseur of aire A: a cashier's rights and the decisions on A's cancellations
        "regisseur": [
            *admin_only,
            new_aire_a,
            *config(a),
            ("GET", f"/v1/aires/{b}", None),
            *stays(b, stay_b),
            *cash(rb, stay_b),
            *prints(rb),
            *read_register(rb),
            ("GET", f"/v1/aires/{b}/seals", None),
            ("GET", f"/v1/aires/{b}/verify", None),
            *statistics(a),
            *household_routes(b, household_b),
            *data_requests(world.ids["household"]),
        ],
        # the admin administers and handles no cash, on any aire
        "admin": [
            *cash(ra, stay_a),
            *cash(rb, stay_b),
            *prints(ra),
            *prints(rb),
        ],
        # a manager of "Anjou": nothing in "Vendee", no cash handling even in their sector
        "manager": [
            *admin_only,
            new_aire_b,
            *config(b),
            ("GET", f"/v1/aires/{b}", None),
            *stays(b, stay_b),
            *cash(ra, stay_a),
            *read_register(rb),
            ("GET", f"/v1/aires/{b}/seals", None),
            ("GET", f"/v1/aires/{b}/verify", None),
            *statistics(b),
            *household_routes(b, household_b),
        ],
        # an auditor of collectivité A: reads its registers only; no write, stay or statistic
        "auditor": [
            *admin_only,
            new_aire_a,
            *config(a),
            ("GET", f"/v1/aires/{b}", None),
            *stays(a, stay_a),
            *cash(ra, stay_a),
            *read_register(rb),
            ("GET", f"/v1/aires/{b}/seals", None),
            ("GET", f"/v1/aires/{b}/verify", None),
            *statistics(a),
            # an auditor names payers on its receipts, and never reads a household
            *household_routes(a, world.ids["household"]),
            search,
        ],
        # an analyst: anonymised statistics only, so no stay and no register, and no write
        "analyst": [
            *admin_only,
            new_aire_a,
            *config(a),
            *stays(a, stay_a),
            *cash(ra, stay_a),
            *read_register(ra),
            ("GET", f"/v1/aires/{a}/seals", None),
            ("GET", f"/v1/aires/{a}/seals/2025-01/attestation", None),
            ("GET", f"/v1/aires/{a}/verify", None),
            *household_routes(a, world.ids["household"]),
            search,
        ],
    }


@pytest.mark.parametrize("who", ["cashier", "regisseur", "manager", "auditor", "analyst", "admin"])
def test_each_role_is_refused_outside_its_role_and_scope(world: World, who: str) -> None:
    """Every request outside the role's permissions or scope is 403 forbidden and records
    nothing, whatever the route. The admin may do everything but handle cash (issue 15:
    it posted receipts, cancellations, refunds, remittances and counts, and signed
    handovers and régularisations); a cashier counts but neither hands the régie over nor
    regularises a count's difference."""
    stay_a = world.arrive()
    stay_b = world.arrive(world.aire_b, who="cashier_b")
    world.deposit(stay_a)
    world.ok(
        world.receipt(
            [("deposit", 15000)], stay_id=stay_b, register=world.register_b, who="cashier_b"
        )
    )
    cases = forbidden_cases(world, stay_a, stay_b)[who]
    with records_nothing(world):
        for method, path, body in cases:
            response = world.client.request(
                method, path, json=body, headers=world.headers(who, key=world.new_key())
            )
            assert response.status_code == 403, (who, method, path, response.text)
            assert_problem(response, 403, "forbidden")
    covered = {(m, p.split("/")[2]) for m, p, _ in cases}
    # the admin's refusals are all on registers: what it may do is tested above and below
    assert len(cases) >= 20 and len(covered) >= (1 if who == "admin" else 3)


def test_a_manager_seals_a_month_and_nothing_dated_in_it_is_accepted(
    world: World, tmp_path: Path
) -> None:
    """The month end: the cashier closes the register's January, the aire's January is sealed
    (its chains' heads listed), and a reading dated in January is then 409 period_sealed."""
    stay_id = world.arrive()
    world.clock.now = datetime(2025, 2, 3, 9, tzinfo=UTC)
    seals = f"/v1/aires/{world.aire_a}/seals"
    with records_nothing(world):
        early = world.post("manager", seals, {"month": "2025-01"})
        assert_problem(early, 409, "month_not_closed")
        assert_problem(world.post("manager", seals, {"month": "2025-13"}), 422, "validation_error")
    closure = {"period": "month", "date": "2025-01-31"}
    world.ok(world.post("cashier", f"/v1/registers/{world.register_a}/closures", closure))
    with records_nothing(world):  # the stay is not charged through the 31st yet
        uncharged = world.post("manager", seals, {"month": "2025-01"})
        assert_problem(uncharged, 409, "month_not_closed")
    charges = {"through": "2025-01-31"}
    world.ok(world.post("cashier", f"/v1/stays/{stay_id}/charges", charges), 200)
    sealed = world.ok(world.post("manager", seals, {"month": "2025-01"}))
    assert (sealed["month"], sealed["prev_hash"]) == ("2025-01", "0" * 64)
    # and the technical journal's head (no personal data read yet: no access log's head)
    assert {h["kind"] for h in sealed["heads"]} == {"aire", "register", "stay", "journal"}
    listed = world.ok(world.get("auditor", seals), 200)
    assert listed["count"] == 1 and listed["data"][0]["hash"] == sealed["hash"]
    reading = {"meter": "water", "index": "101", "read_at": "2025-01-31T10:00:00+00:00"}
    with records_nothing(world):
        late = world.post("cashier", f"/v1/stays/{stay_id}/meter-readings", reading)
        assert_problem(late, 409, "period_sealed")
        again = world.post("manager", seals, {"month": "2025-01"})
        assert_problem(again, 409, "period_sealed")
    world.ledger.settings.attestation_key = tmp_path / "key.pem"
    attestation = f"{seals}/2025-01/attestation"
    assert_problem(world.get("auditor", attestation), 409, "attestation_key_missing")
    create_key(world.ledger.settings.attestation_key)
    signed = world.ok(world.get("auditor", attestation), 200)
    assert (signed["month"], signed["seal_hash"]) == ("2025-01", sealed["hash"])
    trusted = load_key(world.ledger.settings.attestation_key).public_key()
    assert check_signature(signed, trusted) is None
    assert_problem(world.get("auditor", f"{seals}/2025-02/attestation"), 404, "seal_not_found")
    correction = {"month": "2025-01", "place_days": 2, "amount_cents": 600, "reason": "oubli"}
    done = world.ok(world.post("manager", f"/v1/aires/{world.aire_a}/regularisations", correction))
    assert done["recorded_on"] == "2025-02-03" and done["position"] == world.position()
    assert {k: done[k] for k in correction} == correction
