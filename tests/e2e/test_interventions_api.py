"""Interventions and teams through the HTTP API (the real ASGI app), on SQLite and PostgreSQL:
an intervenant's day, its scope (one aire, nothing of another, nothing of cash or
households), the refusals as problem documents that record nothing. The world is
``api_world``'s; its clock starts on Monday 6 January 2025 at 08:00 UTC."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi.testclient import TestClient

from hacienda_ledger.aggregates.values import month_bounds
from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.projecting import rebuild_all
from hacienda_ledger.reports.generate import Reports
from hacienda_ledger.settings import Settings
from tests.conftest import Clock
from tests.e2e.api_world import World, assert_problem, build_world
from tests.integration.test_reports import csv_rows, csv_section


@pytest.fixture
def world(settings: Settings, ledger: Ledger, clock: Clock) -> Iterator[World]:
    with TestClient(create_app(settings, ledger=ledger)) as client:
        yield build_world(client, ledger, clock)


def patch(world: World, who: str, path: str, body: Any) -> httpx.Response:
    return world.client.patch(path, json=body, headers=world.headers(who))


def cleaning(world: World, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "cleaning",
        "started_at": world.now(),
        "ended_at": (world.clock() + timedelta(hours=1)).isoformat(),
        "description": "Sanitaires nettoyés,\nbacs vidés",
        "emplacements": ["1", "2"],
    }
    body.update(overrides)
    return body


def test_an_intervenant_s_day(world: World) -> None:
    """Given a new intervenant put in aire A's team by the manager, when they record a
    cleaning and an incident that puts emplacement 3 out of service, list them, and mark the
    incident done the next day, then the aire's page lists its team, the emplacement is out
    of service then back, and the lists filter by kind, emplacement, status and period."""
    created = world.ok(world.post("admin", "/v1/users", {"name": "Paul", "role": "intervenant"}))
    world.tokens["paul"] = created["token"]
    aire = world.ok(
        world.post("manager", f"/v1/aires/{world.aire_a}/team", {"user_id": created["id"]}), 200
    )
    assert {"user_id": created["id"], "name": "Paul", "role": "intervenant"} in aire["team"]
    page = world.ok(world.get("paul", f"/v1/aires/{world.aire_a}"), 200)
    # the users created with aire A (api_world) are in its team too (red-team round 2, L1)
    assert [m["name"] for m in page["team"]] == ["cashier", "regisseur", "intervenant", "Paul"]
    base = f"/v1/aires/{world.aire_a}/interventions"
    done = world.ok(world.post("paul", base, cleaning(world, who=[created["id"]])))
    assert (done["kind"], done["status"], done["who"]) == ("cleaning", "done", [created["id"]])
    incident = world.ok(
        world.post(
            "paul",
            base,
            {
                "kind": "incident",
                "label": "fuite",
                "started_at": world.now(),
                "description": "fuite sur la borne",
                "emplacements": ["3"],
                "status": "planned",
                "cost_cents": 12000,
                "supplier_ref": "DEVIS-42",
                "out_of_service": True,
                "follows": done["id"],
            },
        )
    )
    emplacements = world.ok(world.get("paul", f"/v1/aires/{world.aire_a}"), 200)["emplacements"]
    assert [e["in_service_today"] for e in emplacements if e["number"] == "3"] == [False]
    world.clock.advance(days=1)
    after = world.ok(
        patch(world, "paul", f"/v1/interventions/{incident['id']}", {"status": "done"}), 200
    )
    assert (after["status"], after["back_in_service_on"], after["out_of_service_days"]) == (
        "done",
        "2025-01-07",
        1,
    )
    emplacements = world.ok(world.get("paul", f"/v1/aires/{world.aire_a}"), 200)["emplacements"]
    assert [e["in_service_today"] for e in emplacements if e["number"] == "3"] == [True]
    listed = world.ok(world.get("paul", base), 200)
    assert [i["id"] for i in listed["data"]] == [done["id"], incident["id"]]
    for query, expected in (
        ("?kind=incident", [incident["id"]]),
        ("?emplacement=1", [done["id"]]),
        ("?status=done&kind=cleaning", [done["id"]]),
        ("?from=2025-01-07", [incident["id"]]),
        ("?to=2025-01-05", []),
        ("?limit=1", [done["id"]]),
    ):
        page = world.ok(world.get("paul", base + query), 200)
        assert [i["id"] for i in page["data"]] == expected, query
    first = world.ok(world.get("paul", base + "?limit=1"), 200)
    second = world.ok(world.get("paul", f"{base}?limit=1&cursor={first['next_cursor']}"), 200)
    assert ([i["id"] for i in second["data"]], second["next_cursor"]) == ([incident["id"]], None)
    one = world.ok(world.get("paul", f"/v1/interventions/{incident['id']}"), 200)
    assert (one["follows"], one["cost_cents"], one["supplier_ref"]) == (
        done["id"],
        12000,
        "DEVIS-42",
    )


def test_an_intervenant_of_one_aire_sees_nothing_of_another_nor_cash_nor_households(
    world: World,
) -> None:
    """Given the intervenant of aire A and an intervention on each aire, then B's aire, its
    interventions and the intervention itself are refused (403), as is every stay, register,
    household and statistic; A's page names no stay; and nothing is recorded."""
    stay = world.arrive()
    on_b = world.ok(world.post("admin", f"/v1/aires/{world.aire_b}/interventions", cleaning(world)))
    before = world.position()
    for path in (
        f"/v1/aires/{world.aire_b}",
        f"/v1/aires/{world.aire_b}/interventions",
        f"/v1/interventions/{on_b['id']}",
        f"/v1/stays/{stay}",
        f"/v1/registers/{world.register_a}",
        f"/v1/registers/{world.register_a}/journal",
        f"/v1/households/{world.ids['household']}",
        "/v1/reports",
    ):
        assert_problem(world.get("intervenant", path), 403, "forbidden")
    assert_problem(
        world.post("intervenant", f"/v1/aires/{world.aire_b}/interventions", cleaning(world)),
        403,
        "forbidden",
    )
    assert_problem(
        patch(world, "intervenant", f"/v1/interventions/{on_b['id']}", {"status": "cancelled"}),
        403,
        "forbidden",
    )
    assert world.position() == before
    page = world.ok(world.get("intervenant", f"/v1/aires/{world.aire_a}"), 200)
    assert all(e["occupied_by_stay"] is None for e in page["emplacements"])
    assert stay not in str(page)
    listed = world.ok(world.get("intervenant", "/v1/aires"), 200)
    assert [a["id"] for a in listed["data"]] == [world.aire_a]


def test_a_cashier_neither_records_nor_reads_interventions(world: World) -> None:
    base = f"/v1/aires/{world.aire_a}/interventions"
    assert_problem(world.post("cashier", base, cleaning(world)), 403, "forbidden")
    assert_problem(world.get("cashier", base), 403, "forbidden")


def test_wrong_interventions_are_problem_documents_that_record_nothing(world: World) -> None:
    """Each refusal has its stable code and field; nothing is recorded."""
    base = f"/v1/aires/{world.aire_a}/interventions"
    done = world.ok(world.post("manager", base, cleaning(world)))
    before = world.position()
    early = (world.clock() - timedelta(hours=1)).isoformat()
    cases = [
        (world.post("manager", base, cleaning(world, kind="gardening")), 422, "validation_error"),
        (world.post("manager", base, cleaning(world, ended_at=early)), 422, "invalid_period"),
        (world.post("manager", base, cleaning(world, cost_cents=-5)), 422, "validation_error"),
        (
            world.post("manager", base, cleaning(world, description="a\u202eb")),
            422,
            "validation_error",
        ),
        (
            world.post("manager", base, cleaning(world, emplacements=["99"])),
            404,
            "emplacement_not_found",
        ),
        (
            world.post("manager", base, cleaning(world, stay_id=world.ids["household"])),
            404,
            "stay_not_found",
        ),
        (
            patch(world, "manager", f"/v1/interventions/{done['id']}", {"status": "cancelled"}),
            409,
            "intervention_final",
        ),
        (
            world.get("manager", "/v1/interventions/00000000-0000-4000-8000-000000000000"),
            404,
            "intervention_not_found",
        ),
        (
            world.post(
                "manager",
                f"/v1/aires/{world.aire_a}/team",
                {"user_id": world.users["cashier_b"]["id"]},
            ),
            403,
            "forbidden",
        ),
    ]
    for response, status, code in cases:
        assert_problem(response, status, code)
    assert world.position() == before


def test_the_list_pages_and_filters_the_projection_and_reads_its_writes(
    world: World, ledger: Ledger
) -> None:
    """Given 130 interventions on aire A (kinds, emplacements, days and statuses varied),
    when the list is read after each write and paged through with every filter, then a
    just-recorded intervention and a just-changed status are in the next list (the
    ``intervention_list`` projection is caught up first), every filtered page is the
    interventions as loaded one by one and filtered here, in the order recorded, and the
    projection rebuilt from the events equals the live one (``rebuild --check``)."""
    from datetime import date
    from uuid import UUID

    from hacienda_ledger.aggregates.values import paris_day
    from hacienda_ledger.application.projecting import check_all

    base = f"/v1/aires/{world.aire_a}/interventions"
    kinds = ("cleaning", "repair", "meter_round", "inspection")
    for n in range(130):
        body = cleaning(
            world,
            kind=kinds[n % 4],
            emplacements=[str(1 + n % 3)] if n % 5 else [],
            status="planned" if n % 3 == 0 else "done",
        )
        created = world.ok(world.post("intervenant", base, body))
        if n % 13 == 0:  # read right after its 201, filtered
            page = world.ok(world.get("intervenant", f"{base}?kind={kinds[n % 4]}&limit=1000"), 200)
            assert page["data"][-1]["id"] == created["id"]
        if n % 17 == 0 and body["status"] == "planned":
            world.ok(
                patch(
                    world,
                    "intervenant",
                    f"/v1/interventions/{created['id']}",
                    {"status": "cancelled"},
                ),
                200,
            )
            page = world.ok(world.get("intervenant", f"{base}?status=cancelled&limit=1000"), 200)
            assert created["id"] in [i["id"] for i in page["data"]]
        if n % 40 == 39:
            world.clock.advance(days=1)
    everything = [ledger.intervention(i) for i in ledger.aire(UUID(world.aire_a)).intervention_ids]

    def chosen(start: date | None, end: date | None, **equal: str) -> list[str]:
        found = []
        for i in everything:
            first = paris_day(i.started_at)
            last = paris_day(i.ended_at) if i.ended_at is not None else first
            if (
                (start is None or last >= start)
                and (end is None or first <= end)
                and all(
                    (i.emplacements if k == "emplacement" else [getattr(i, k).value]).count(v)
                    for k, v in equal.items()
                )
            ):
                found.append(str(i.id))
        return found

    days = sorted({paris_day(i.started_at) for i in everything})
    for query, expected in (
        ("", chosen(None, None)),
        ("kind=repair", chosen(None, None, kind="repair")),
        ("status=planned", chosen(None, None, status="planned")),
        ("emplacement=2", chosen(None, None, emplacement="2")),
        (f"from={days[1]}&to={days[2]}", chosen(days[1], days[2])),
        (
            f"from={days[1]}&kind=cleaning&emplacement=1&status=done",
            chosen(days[1], None, kind="cleaning", emplacement="1", status="done"),
        ),
    ):
        listed: list[str] = []
        cursor: str | None = ""
        while cursor is not None:
            suffix = f"&cursor={cursor}" if cursor else ""
            page = world.ok(world.get("intervenant", f"{base}?{query}&limit=40{suffix}"), 200)
            assert page["count"] == len(page["data"]) <= 40
            listed += [i["id"] for i in page["data"]]
            cursor = page["next_cursor"]
        assert listed == expected, query
    assert len(chosen(None, None)) == 130
    assert check_all(ledger, ["intervention_list"]) == {"intervention_list": []}


# --- an intervention of a sealed month (interv23) ---------------------------------------------

JANUARY_20 = datetime(2025, 1, 20, 9, tzinfo=UTC)


def _open_incident_and_seal_january(world: World) -> dict[str, Any]:
    """An incident on emplacement 3 opened on 20 January, still open; January closed on the
    register and sealed on 3 February at 09:00, as the month end does."""
    world.clock.now = JANUARY_20
    incident = world.ok(
        world.post(
            "intervenant",
            f"/v1/aires/{world.aire_a}/interventions",
            {
                "kind": "incident",
                "label": "fuite",
                "started_at": world.now(),
                "description": "fuite sur la borne",
                "emplacements": ["3"],
                "status": "planned",
                "cost_cents": 9000,
                "out_of_service": True,
            },
        )
    )
    world.clock.now = datetime(2025, 2, 3, 9, tzinfo=UTC)
    closure = {"period": "month", "date": "2025-01-31"}
    world.ok(world.post("cashier", f"/v1/registers/{world.register_a}/closures", closure))
    world.ok(world.post("manager", f"/v1/aires/{world.aire_a}/seals", {"month": "2025-01"}))
    return incident


def _exported(world: World, month: str) -> list[list[str]]:
    """The aire's ``interventions_monthly`` rows of ``month``, exported through the API (its
    header and rows; not the lines above, which say when it was generated)."""
    first, last = month_bounds(month)
    query = f"aire_id={world.aire_a}&from={first}&to={last}"
    response = world.get("manager", f"/v1/exports/interventions_monthly?{query}")
    assert response.status_code == 200, response.text
    rows = csv_rows(response.content)
    return rows[rows.index([]) + 1 :]


def _report_section(world: World, month: str) -> list[list[str]]:
    """The « Interventions » section of the aire's monthly report of ``month``, built (again)
    now."""
    reports = Reports(world.ledger)
    stored = reports.run(reports.month_jobs(month, [UUID(world.aire_a)]), force=True)
    csv = next(reports.store.get(s.report_id)[1] for s in stored if s.format == "csv")
    return csv_section(csv_rows(csv), "Interventions")


def test_an_intervention_opened_in_a_sealed_month_is_done_in_the_next_one(world: World) -> None:
    """Given an incident opened on 20 January (emplacement 3 out of service), still open
    when January is sealed, when it is marked done on 3 February, then 200: the emplacement
    is back that day; January's figures (its report's « Interventions » section, the
    exported ``interventions_monthly`` rows, the sealed digests) are what they were — the
    incident planned, with its 12 days (20–31) — and stay so once the projection is rebuilt
    from scratch; February has it done, its cost, and its 2 days (the 1st and the 2nd);
    the aire's verification, its seal included, is intact."""
    incident = _open_incident_and_seal_january(world)
    aire = UUID(world.aire_a)
    january = (_exported(world, "2025-01"), _report_section(world, "2025-01"))
    digests = world.ledger.audit.figures(aire, "2025-01")
    assert [row[1:] for row in january[0][1:]] == [
        ["2025-01", "incident", "1", "0", "0", "0,00", "12"]
    ]
    assert january[1][1:] == [
        ["Incident", "1", "0", "0", "0,00", "12"],
        ["Total", "1", "0", "0", "0,00", "12"],
    ]
    world.clock.now = datetime(2025, 2, 3, 10, tzinfo=UTC)
    done = world.ok(
        patch(world, "intervenant", f"/v1/interventions/{incident['id']}", {"status": "done"}),
        200,
    )
    assert (done["status"], done["back_in_service_on"], done["out_of_service_days"]) == (
        "done",
        "2025-02-03",
        14,
    )
    assert (_exported(world, "2025-01"), _report_section(world, "2025-01")) == january
    assert world.ledger.audit.figures(aire, "2025-01") == digests
    world.clock.now = datetime(2025, 3, 3, 9, tzinfo=UTC)  # February is over: its report
    assert (_exported(world, "2025-01"), _report_section(world, "2025-01")) == january
    february = _report_section(world, "2025-02")
    assert february[1:] == [
        ["Incident", "0", "1", "0", "90,00", "2"],
        ["Total", "0", "1", "0", "90,00", "2"],
    ]
    exported = _exported(world, "2025-02")
    assert [row[1:] for row in exported[1:]] == [
        ["2025-02", "incident", "0", "1", "0", "90,00", "2"]
    ]
    rebuild_all(world.ledger, ["interventions"])
    assert (_exported(world, "2025-01"), _report_section(world, "2025-01")) == january
    assert (_exported(world, "2025-02"), _report_section(world, "2025-02")) == (
        exported,
        february,
    )
    verified = world.ok(world.get("auditor", f"/v1/aires/{world.aire_a}/verify"), 200)
    assert (verified["ok"], verified["seals"]) == (True, [])


REFUSED: dict[str, tuple[datetime, dict[str, str]]] = {
    "done on 31 January": (datetime(2025, 1, 31, 20, tzinfo=UTC), {"status": "done"}),
    "cancelled on 31 January": (datetime(2025, 1, 31, 20, tzinfo=UTC), {"status": "cancelled"}),
    "done on 3 February as ending in January": (
        datetime(2025, 2, 3, 10, tzinfo=UTC),
        {"status": "done", "ended_at": "2025-01-25T12:00:00+00:00"},
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_status_change_dated_in_a_sealed_month_is_refused(world: World, case: str) -> None:
    """Given an incident opened on 20 January and January sealed, when its status change
    is recorded on 31 January (the clock set back), or is done as ending on 25 January,
    then 409 ``period_sealed`` and nothing is recorded: the sealed month would move."""
    incident = _open_incident_and_seal_january(world)
    world.clock.now, body = REFUSED[case]
    before = world.position()
    refused = patch(world, "intervenant", f"/v1/interventions/{incident['id']}", body)
    assert_problem(refused, 409, "period_sealed")
    assert world.position() == before
    again = world.ok(world.get("intervenant", f"/v1/interventions/{incident['id']}"), 200)
    assert (again["status"], again["back_in_service_on"]) == ("planned", None)
