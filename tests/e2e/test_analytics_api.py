"""``GET /v1/analytics/{table}`` through HTTP (issue 19): who reads which rows, filters,
pages, suppression as published, unknown tables and filters refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.analytics import Analytics, Publication
from hacienda_ledger.settings import Settings
from tests.conftest import Clock
from tests.e2e.api_world import World, assert_problem, build_world, publish_the_year

JANUARY = "2025-01"  # the month the world happens in (its clock starts on 6 January 2025)


@pytest.fixture
def world(settings: Settings, ledger: Ledger, clock: Clock) -> Iterator[World]:
    with TestClient(create_app(settings, ledger=ledger)) as client:
        w = build_world(client, ledger, clock)
        w.arrive()
        w.arrive(aire=w.aire_b, who="cashier_b")
        body = {"day": clock().date().isoformat(), "reason": "full", "caravans": 1, "people": 4}
        w.ok(w.post("cashier", f"/v1/aires/{w.aire_a}/unmet-demand", body))
        publish(w)
        yield w


def publish(world: World) -> Publication:
    """The job reads need (issue 19, point 6): a publication as of the end of the clock's
    year, once it is over (a publication holds the periods ended by its day)."""
    return publish_the_year(world.client, world.clock)


def table(world: World, who: str, name: str, query: str = "") -> dict:
    return world.ok(world.get(who, f"/v1/analytics/{name}{query}"), 200)


def test_an_analyst_reads_every_row_suppressed_below_the_threshold(world: World) -> None:
    """Both aires, each with one household this month: below 11, their households, people,
    arrivals and occupied place-days are null and named in ``suppressed``; available
    place-days, days out of service and interventions are published; no household id in the
    answer."""
    found = table(world, "analyst", "aire_month", f"?period={JANUARY}")
    assert found["threshold"] == 11 and found["as_of"] == "2025-12-31"
    assert [r["code"] for r in found["data"]] == ["49007-A", "85191-B"]
    for row in found["data"]:
        assert row["households"] is None and row["arrivals"] is None
        assert row["occupied_place_days"] is None and row["occupancy_rate"] is None
        assert {"households", "arrivals", "occupied_place_days"} <= set(
            row["suppressed"].split(",")
        )
        assert row["available_place_days"] > 0
        # facts of the aire, not of households: served whole beside the suppressed counts
        assert isinstance(row["out_of_service_place_days"], int)
        assert isinstance(row["interventions_incident"], int)
        assert "interventions" not in row["suppressed"] and "service" not in row["suppressed"]
    assert world.ids["household"] not in str(found)
    (unmet,) = [r for r in found["data"] if r["code"] == "49007-A"]
    assert unmet["unmet_requests"] is None  # one request: below the threshold too


def test_an_auditor_reads_its_territory_and_every_departement(world: World) -> None:
    """The auditor of collectivité A reads aire A only at the aire level, its collectivité
    at that level, and the département (both aires) as a benchmark; B's auditor the other
    aire."""
    january = f"?period={JANUARY}"
    assert [r["code"] for r in table(world, "auditor", "aire_month", january)["data"]] == [
        "49007-A"
    ]
    assert [r["code"] for r in table(world, "auditor_b", "aire_month", january)["data"]] == [
        "85191-B"
    ]
    collectivites = table(world, "auditor", "collectivite_month", january)["data"]
    assert [r["code"] for r in collectivites] == ["244900015"]
    assert [r["code"] for r in table(world, "auditor", "departement_month", january)["data"]] == [
        "49"
    ]
    assert [r["code"] for r in table(world, "auditor", "france_year")["data"]] == ["FR"]


def test_filters_and_pages(world: World) -> None:
    """Equal filters on the published columns; a page of one with its cursor to the next."""
    january = f"?period={JANUARY}"
    found = table(world, "analyst", "aire_month", f"{january}&code=85191-B")
    assert [r["code"] for r in found["data"]] == ["85191-B"]
    assert table(world, "analyst", "aire_month", f"{january}&region=52")["count"] == 2
    assert table(world, "analyst", "aire_month", "?period=2024-01")["count"] == 0
    first = table(world, "analyst", "aire_month", f"{january}&limit=1")
    assert first["count"] == 1 and first["next_cursor"]
    cursor = first["next_cursor"]
    second = table(world, "analyst", "aire_month", f"{january}&limit=1&cursor={cursor}")
    assert [r["code"] for r in second["data"]] == ["85191-B"] and second["next_cursor"] is None


def test_who_may_not_read_and_what_is_not_a_table(world: World) -> None:
    """A cashier is refused (403); an unknown table is 404 ``analytics_table_not_found``; a
    filter value out of its pattern is 422; nothing is recorded."""
    before = world.position()
    assert_problem(world.get("cashier", "/v1/analytics/aire_month"), 403, "forbidden")
    assert_problem(
        world.get("analyst", "/v1/analytics/occupancy_stays"), 404, "analytics_table_not_found"
    )
    assert_problem(
        world.get("analyst", "/v1/analytics/aire_month?code=a;b"), 422, "validation_error"
    )
    assert world.position() == before


def test_the_answer_names_the_publication_it_comes_from(world: World) -> None:
    """The body and the headers say which publication a page comes from: its day, stream
    position, when it was made and its SHA-256; ``as_of`` asks for the latest as of a day."""
    response = world.get("analyst", "/v1/analytics/france_month")
    found = world.ok(response, 200)
    (publication,) = world.client.app.state.analytics.store.publications()  # type: ignore[attr-defined]
    assert found["as_of"] == publication.as_of.isoformat()
    assert found["position"] == publication.position
    assert found["published_at"] == publication.published_at
    assert found["sha256"] == publication.sha256
    assert response.headers["X-Analytics-As-Of"] == publication.as_of.isoformat()
    assert response.headers["X-Analytics-Position"] == str(publication.position)
    day = publication.as_of.isoformat()
    assert table(world, "analyst", "france_month", f"?as_of={day}")["position"] == found["position"]


def test_a_read_never_computes_a_publication(world: World) -> None:
    """Before the day of any publication (and so before any at all): 404
    ``analytics_not_published`` naming the command to run, for a table and a picture; a
    family turned away since the publication is not counted until the next one."""
    before = table(world, "analyst", "aire_month")
    first = world.client.app.state.analytics.store.publications()[0]  # type: ignore[attr-defined]
    early = (first.as_of - timedelta(days=1)).isoformat()
    refused = world.get("analyst", f"/v1/analytics/aire_month?as_of={early}")
    assert_problem(refused, 404, "analytics_not_published")
    assert "hacienda-ledger analytics publish" in refused.json()["detail"]
    picture = world.get("analyst", f"/v1/analytics/pictures/france?as_of={early}")
    assert_problem(picture, 404, "analytics_not_published")
    body = {"day": world.clock().date().isoformat(), "reason": "full", "caravans": 1, "people": 4}
    world.ok(world.post("cashier", f"/v1/aires/{world.aire_a}/unmet-demand", body))
    assert table(world, "analyst", "aire_month") == before
    publish(world)
    assert table(world, "analyst", "aire_month")["position"] > before["position"]


def test_nothing_published_yet_is_a_problem_naming_the_command(
    settings: Settings, ledger: Ledger, clock: Clock
) -> None:
    """A ledger never published: every table and picture read is 404
    ``analytics_not_published`` (the command to run in its detail), nothing computed nor
    stored by the read."""
    with TestClient(create_app(settings, ledger=ledger)) as client:
        w = build_world(client, ledger, clock)
        w.arrive()
        for path in ("/v1/analytics/france_year", "/v1/analytics/pictures/france"):
            body = assert_problem(w.get("analyst", path), 404, "analytics_not_published")
            assert "hacienda-ledger analytics publish" in body["detail"]
        analytics: Analytics = client.app.state.analytics  # type: ignore[attr-defined]
        assert analytics.store.publications() == []
