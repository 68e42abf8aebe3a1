"""``GET /v1/analytics/pictures/{picture}`` through HTTP on both backends (issue 19, point 5):
the PNG decoded and the SVG parsed back, each aire's point found where the map projects it
and coloured by its published rate (white where the rate is suppressed), the same bytes
twice, the territory applied, bad names and départements refused."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import defusedxml.ElementTree as ET
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.analytics import Analytics
from hacienda_ledger.reports import pictures
from hacienda_ledger.reports.analytics_pictures import default_year, map_data
from hacienda_ledger.settings import Settings
from tests.conftest import Clock
from tests.e2e.api_world import World, aire_body, assert_problem, build_world, publish_the_year

SVG = "{http://www.w3.org/2000/svg}"


def _world(client: TestClient, ledger: Ledger, clock: Clock) -> World:
    """Aires A and B (Maine-et-Loire) with two households each, and C in Loire-Atlantique
    (Nantes) with none; one unmet request on A."""
    w = build_world(client, ledger, clock)
    body = aire_body(
        "44109-C",
        w.ids["collectivite_a"],
        "Anjou",
        insee_code="44109",
        departement="44",
        latitude="47.2184",
        longitude="-1.5536",
    )
    aire_c = w.ok(w.post("admin", "/v1/aires", body))["id"]
    w.ids["aire_c"] = aire_c
    for n in ("1", "2", "3"):
        w.ok(w.post("admin", f"/v1/aires/{aire_c}/emplacements", {"number": n}))
    w.arrive()
    w.arrive(emplacement="2", household_ref=w.household(name="Famille Deux"))
    w.arrive(aire=w.aire_b, who="cashier_b")
    second_b = w.household(aire=w.aire_b, name="Famille Trois")
    w.arrive(aire=w.aire_b, who="cashier_b", emplacement="2", household_ref=second_b)
    clock.advance(days=3)
    body = {"day": clock().date().isoformat(), "reason": "full", "caravans": 1, "people": 4}
    w.ok(w.post("cashier", f"/v1/aires/{w.aire_a}/unmet-demand", body))
    return w


@pytest.fixture
def world(
    request: pytest.FixtureRequest, settings: Settings, ledger: Ledger, clock: Clock
) -> Iterator[World]:
    threshold = getattr(request, "param", 2)
    settings = settings.model_copy(update={"analytics_threshold": threshold})
    with TestClient(create_app(settings, ledger=ledger)) as client:
        w = _world(client, ledger, clock)
        # the job reads need (issue 19, point 6): 2025's publication, once it is over
        publish_the_year(client, clock)
        yield w


def get(world: World, who: str, query: str) -> Any:
    response = world.get(who, f"/v1/analytics/pictures/{query}")
    assert response.status_code == 200, response.text
    return response


def rows(world: World, who: str, table: str, query: str = "") -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = world.ok(world.get(who, f"/v1/analytics/{table}{query}"), 200)[
        "data"
    ]
    return found


def service(world: World) -> Analytics:
    found: Analytics = world.client.app.state.analytics  # type: ignore[attr-defined]
    return found


@pytest.mark.parametrize("world", [2, 11], ids=["threshold2", "threshold11"], indirect=True)
def test_the_france_map_draws_every_aire_where_it_is_coloured_by_its_published_rate(
    world: World,
) -> None:
    """The PNG decodes to 800 × 800; at each aire's projected point the pixel is the
    colour of its published year rate, or white where the rate is suppressed (threshold
    11: every rate of two households); the SVG holds one point per aire and the legend's
    words; a second request gives the same bytes."""
    response = get(world, "analyst", "france?format=png&year=2025")
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content)).convert("RGB")
    assert image.size == (800, 800)
    published = {r["code"]: r for r in rows(world, "analyst", "aire_year")}
    assert set(published) == {"49007-A", "85191-B", "44109-C"}
    data = map_data(service(world), date(2025, 12, 31), 2025)  # the publication's day
    figure = pictures.draw_map(data)
    colours = {}
    # A lies under B (build_world puts both at one position; B, fewer places, on top)
    assert pictures.pixel(figure, "49007-A") == pictures.pixel(figure, "85191-B")
    for code, row in published.items():
        if code == "49007-A":
            continue
        x, y = pictures.pixel(figure, code)
        colours[code] = image.getpixel((round(x), round(y)))
        rate = row["occupancy_rate"]
        if rate is None:
            expected = (255, 255, 255)
        else:
            expected = tuple(round(c * 255) for c in pictures.RATES(float(Decimal(rate)))[:3])
        assert max(abs(a - b) for a, b in zip(colours[code], expected, strict=True)) <= 3, code
    if world.client.app.state.analytics.threshold == 11:  # type: ignore[attr-defined]
        assert published["85191-B"]["occupancy_rate"] is None
    else:
        assert published["85191-B"]["occupancy_rate"] is not None
    assert get(world, "analyst", "france?format=png&year=2025").content == response.content

    svg = get(world, "analyst", "france?format=svg&year=2025")
    assert svg.headers["content-type"] == "image/svg+xml"
    root = ET.fromstring(svg.content)
    ids = {e.get("id") for e in root.iter(f"{SVG}g")}
    assert {"aire-49007-A", "aire-85191-B", "aire-44109-C"} <= ids
    assert {"dep-49", "dep-44", "dep-2A", "dep-974"} <= ids
    assert b"<dc:date>" not in svg.content
    assert get(world, "analyst", "france?format=svg&year=2025").content == svg.content


def test_a_suppressed_unmet_count_is_hatched_never_shaded(world: World) -> None:
    """Maine-et-Loire's one unmet request is below either threshold: the département's
    cell is null and its polygon is drawn hatched in the « secret » grey, as the legend
    says; Loire-Atlantique (no request: 0, published) is white."""
    (dep,) = rows(world, "analyst", "departement_year", "?code=49")
    assert dep["unmet_requests"] is None
    data = map_data(service(world), date(2025, 12, 31), 2025)  # the publication's day
    assert data.unmet["49"] is None and data.unmet["44"] == 0
    svg = get(world, "analyst", "departement?departement=49&format=svg&year=2025").content
    root = ET.fromstring(svg)
    (dep49,) = [e for e in root.iter(f"{SVG}g") if e.get("id") == "dep-49"]
    styles = " ".join(p.get("style", "") for p in dep49.iter(f"{SVG}path"))
    (pattern,) = {s.split("url(#")[1].split(")")[0] for s in styles.split(";") if "url(#" in s}
    (hatch,) = [e for e in root.iter(f"{SVG}pattern") if e.get("id") == pattern]
    assert pictures.SECRET_FILL in ET.tostring(hatch, encoding="unicode")
    drawn = get(world, "analyst", "departement?departement=49&year=2025")
    png = Image.open(io.BytesIO(drawn.content))
    assert png.size == (800, 800)


def test_a_departement_series_has_a_month_per_published_row(world: World) -> None:
    """The series of Maine-et-Loire: the twelve months of 2025 in the table (published
    once the year is over), one tick each on the picture; PNG 900 × 450."""
    months = rows(world, "analyst", "departement_month", "?code=49")
    assert [r["period"] for r in months] == [f"2025-{m:02d}" for m in range(1, 13)]
    png = Image.open(io.BytesIO(get(world, "analyst", "series?departement=49").content))
    assert png.size == (900, 450)
    svg = ET.fromstring(get(world, "analyst", "series?departement=49&format=svg").content)
    assert svg.tag == f"{SVG}svg"


def test_an_auditor_sees_the_aires_of_its_territory_only(world: World) -> None:
    """The auditor of collectivité B: aire B's point, not A's nor C's (collectivité A);
    the départements are benchmarks, drawn for every reader."""
    root = ET.fromstring(get(world, "auditor_b", "france?format=svg&year=2025").content)
    ids = {e.get("id") for e in root.iter(f"{SVG}g")}
    assert "aire-85191-B" in ids
    assert not {"aire-49007-A", "aire-44109-C"} & ids
    assert "dep-49" in ids


def test_what_is_not_a_picture_is_refused(world: World) -> None:
    """403 for a cashier; 422 for an unknown name or format, a département missing or
    unknown (not one of the 101 codes the document lists); nothing recorded."""
    before = world.position()
    assert_problem(world.get("cashier", "/v1/analytics/pictures/france"), 403, "forbidden")
    for query in ("europe", "france?format=gif", "series?departement=99", "departement"):
        response = world.get("analyst", f"/v1/analytics/pictures/{query}")
        assert response.status_code == 422, (query, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    # a code no département has is refused by the document's own pattern (the 101 codes);
    # a département missing where the picture needs one, by the route
    assert_problem(
        world.get("analyst", "/v1/analytics/pictures/series?departement=98"),
        422,
        "validation_error",
    )
    assert_problem(world.get("analyst", "/v1/analytics/pictures/series"), 422, "invalid_value")
    assert world.position() == before


def test_a_map_is_of_the_last_complete_year_of_its_publication_by_default(
    world: World,
) -> None:
    """Without ``year``, a map is of the last calendar year complete on the publication's
    day: as of a day of 2025, 2024 (before: the current year, so the demo, whose data ends
    in 2025, drew its aires without colour in 2026); as of 31 December 2025, 2025 itself.
    The picture names its publication in its headers."""
    analytics = service(world)
    assert default_year(date(2025, 1, 9)) == 2024 and default_year(date(2025, 12, 31)) == 2025
    assert default_year(date(2026, 12, 6)) == 2025
    drawn = get(world, "analyst", "france?format=svg")
    publication = analytics.latest()
    assert drawn.headers["X-Analytics-As-Of"] == publication.as_of.isoformat()
    assert drawn.headers["X-Analytics-Position"] == str(publication.position)
    assert publication.as_of == date(2025, 12, 31)  # a year's last day: that year, complete
    assert default_year(publication.as_of) == 2025
    assert drawn.content == get(world, "analyst", "france?format=svg&year=2025").content
    assert drawn.content != get(world, "analyst", "france?format=svg&year=2024").content
