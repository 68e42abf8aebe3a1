"""Régularisations of sealed months through the HTTP API, on SQLite and PostgreSQL: only a
month the aire sealed is corrected, its place-days stay within what the seal recorded, all
its régularisations counted, and the ALT2 declaration shows the aid after each one."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger
from hacienda_ledger.reports.generate import Job
from hacienda_ledger.settings import Settings
from tests.conftest import Clock
from tests.e2e.api_world import World, assert_problem, build_world
from tests.e2e.test_api import records_nothing


@pytest.fixture
def world(settings: Settings, ledger: Ledger, clock: Clock) -> Iterator[World]:
    with TestClient(create_app(settings, ledger=ledger)) as client:
        yield build_world(client, ledger, clock)


def seal_january(world: World) -> None:
    """A stay on aire A (2 places) from Monday 6 January; January charged, closed and sealed
    on 1 February: 52 occupied place-days of 208 available (8 places, 26 days in service)."""
    stay = world.arrive()
    world.clock.now = datetime(2025, 2, 1, 9, tzinfo=UTC)
    world.ok(world.post("cashier", f"/v1/stays/{stay}/charges", {"through": "2025-01-31"}), 200)
    closure = {"period": "month", "date": "2025-01-31"}
    world.ok(world.post("cashier", f"/v1/registers/{world.register_a}/closures", closure))
    world.ok(world.post("manager", f"/v1/aires/{world.aire_a}/seals", {"month": "2025-01"}))


def regularise(world: World, month: str, place_days: int, amount_cents: int = 0) -> Any:
    body = {"month": month, "place_days": place_days, "amount_cents": amount_cents, "reason": "x"}
    return world.post("manager", f"/v1/aires/{world.aire_a}/regularisations", body)


def test_only_a_month_the_aire_sealed_is_regularised(world: World) -> None:
    """January sealed, December 2024 (before the aire's first seal, never sealed) and
    February (open) are 409 month_not_sealed, recording nothing: a month is regularised on
    its own seal, not because a later month was sealed."""
    seal_january(world)
    with records_nothing(world):
        for month in ("2024-12", "2025-02"):
            refused = assert_problem(regularise(world, month, 2, 600), 409, "month_not_sealed")
            assert [
                {"field": "month", "reason": f"{month} is not sealed: record the facts themselves"}
            ] == refused["errors"]
    assert regularise(world, "2025-01", 2, 600).status_code == 201


def test_place_days_stay_within_the_sealed_month_all_regularisations_counted(
    world: World,
) -> None:
    """January sealed at 52 of 208 place-days: +100000 and −100 are refused (422
    invalid_value, field place_days), +156 fills the month, then +1 is refused; −208 takes
    it to 0, then −1 is refused. Nothing refused is recorded."""
    seal_january(world)
    outcomes = []
    for place_days in (100_000, -100, 156, 1, -208, -1):
        before = world.position()
        response = regularise(world, "2025-01", place_days)
        if response.status_code != 201:
            problem = assert_problem(response, 422, "invalid_value")
            assert [e["field"] for e in problem["errors"]] == ["place_days"]
            assert before == world.position()
        outcomes.append((place_days, response.status_code))
    expected = [(100_000, 422), (-100, 422), (156, 201), (1, 422), (-208, 201), (-1, 422)]
    assert expected == outcomes


def test_the_alt2_csv_shows_the_aid_after_each_regularisation(world: World, tmp_path: Path) -> None:
    """January declared at 52 occupied place-days (506.50 €); +100 then −30: the ALT2 CSV,
    downloaded and opened back from a file, shows the aid after each row, all the month's
    régularisations counted (152 place-days: 751.50 €, then 122: 678.00 €, not the 22 of
    the sealed figure alone less 30), each beside the declared aid."""
    seal_january(world)
    assert regularise(world, "2025-01", 100).status_code == 201
    assert regularise(world, "2025-01", -30).status_code == 201
    world.clock.now = datetime(2026, 1, 2, 9, tzinfo=UTC)
    reports = world.client.app.state.reports  # type: ignore[attr-defined]
    (stored,) = [
        s for s in reports.run([Job("alt2", UUID(world.aire_a), "2025")]) if s.format == "csv"
    ]
    world.clock.now = datetime(2025, 2, 1, 10, tzinfo=UTC)  # while the tokens are valid
    download = world.client.get(f"/v1/reports/{stored.report_id}", headers=world.headers("manager"))
    assert download.status_code == 200
    file = tmp_path / stored.filename
    file.write_bytes(download.content)
    with file.open(encoding="utf-8-sig", newline="") as opened:
        rows = list(csv.reader(io.StringIO(opened.read()), delimiter=";"))
    start = rows.index(["Régularisations"])
    rest = rows[start + 2 :]  # after the title and the header, up to an empty line
    section = rest[: rest.index([])] if [] in rest else rest
    expected = [
        ["janvier 2025", "01/02/2025", "100", "506,50", "751,50"],
        ["janvier 2025", "01/02/2025", "-30", "506,50", "678,00"],
    ]
    assert expected == section
