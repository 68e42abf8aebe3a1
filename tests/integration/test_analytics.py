"""The analytics projection and its published tables on SQLite and PostgreSQL (issue 19):
built through the Ledger's commands, live equal to a rebuild, unmet demand and moves
between départements counted, suppression applied, and the CLI's Parquet and CSV files
opened back."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pyarrow.parquet as pq
import pytest

from hacienda_ledger.aggregates.values import Composition, paris_day
from hacienda_ledger.application import Ledger, projecting
from hacienda_ledger.application.analytics import Analytics
from hacienda_ledger.application.projecting import ProjectionQueries, followers
from hacienda_ledger.cli import main
from hacienda_ledger.projections.analytics_cells import COLUMNS, table_names
from hacienda_ledger.settings import Settings
from tests.conftest import Clock, Site, standard_tariff

JANUARY = "2025-01"


class Territory:
    """Collectivité A: aire A (49, 6 emplacements) and aire N (44, Nantes); 14 households
    arrive on aire A in January (the first 8 leave after 6 days), the seventh moves on to
    Nantes in February; three families turned away from aire A in January, one from Nantes."""

    def __init__(self, ledger: Ledger, clock: Clock) -> None:
        self.ledger, self.clock = ledger, clock
        self.site = Site(ledger)
        for n in ("5", "6"):
            ledger.add_emplacement(self.site.aire_id, number=n, actor="m")
        self.nantes = ledger.create_aire(
            code="44109-N", name="Aire de Nantes", collectivite_id=self.site.collectivite_id,
            sector="Anjou", mode="regie", insee_code="44109", departement="44",
            latitude=Decimal("47.2184"), longitude=Decimal("-1.5536"), actor="m",
            in_service_from=date(2025, 1, 1),
        ).aggregate_id  # fmt: skip
        ledger.add_emplacement(self.nantes, number="1", actor="m")
        ledger.adopt_tariff(self.nantes, standard_tariff(), actor="m")
        self.households = []
        stays = []
        for i in range(14):
            emplacement = str(i % 6 + 1)
            if i >= 6:  # the earlier stay on the emplacement leaves first
                self._leave(stays[i - 6])
            household = self.site.household(f"Famille {i}")
            self.households.append(household)
            stays.append(
                self.site.arrive(
                    emplacement, household_ref=household, composition=Composition(2, (("4-17", 1),))
                )
            )
            clock.advance(days=1)
        for reason in ("full", "full", "group_too_large"):
            ledger.record_unmet_demand(
                self.site.aire_id, day=paris_day(clock()), reason=reason, caravans=2, people=5,
                actor="c",
            )  # fmt: skip
        clock.now = datetime(2025, 2, 3, 9, tzinfo=UTC)
        ledger.open_stay(
            self.nantes, emplacement="1", household_ref=self.households[6], arrived_at=clock(),
            composition=Composition(1), agreement_ref="COT-N", entry_inspection_ref="EDL-N",
            water_index=Decimal(1), electricity_index=Decimal(1), actor="c",
        )  # fmt: skip
        ledger.record_unmet_demand(
            self.nantes, day=paris_day(clock()), reason="closed", caravans=1, people=3, actor="c"
        )
        clock.now = datetime(2025, 3, 10, 9, tzinfo=UTC)

    def _leave(self, stay: UUID) -> None:
        self.ledger.depart(
            stay, departed_at=self.clock(), exit_inspection_ref="EDL-S", water_index=Decimal(100),
            electricity_index=Decimal(2000), actor="c",
        )  # fmt: skip


@pytest.fixture
def territory(ledger: Ledger, clock: Clock) -> Territory:
    return Territory(ledger, clock)


def published(ledger: Ledger, threshold: int, as_of: date = date(2025, 3, 10)) -> dict:
    return Analytics(ProjectionQueries(ledger), threshold).compute(as_of)


def row(tables: dict, name: str, code: str, period: str) -> dict:
    (found,) = [r for r in tables[name] if r["code"] == code and r["period"] == period]
    return found


def test_the_tables_count_what_the_ledger_recorded(territory: Territory) -> None:
    """With nothing suppressed (a threshold of 1): aire A's January has its 14 arrivals, 8
    departures, 14 households, 28 adults and 14 children, 3 unmet requests of 6 caravans and
    15 people; the move of one household from 49 to 44 in February is a flow of one, which
    a threshold of 2 suppresses; no household id appears anywhere."""
    tables = published(territory.ledger, threshold=1)
    assert set(tables) == set(table_names())
    january = row(tables, "aire_month", "49007-A", JANUARY)
    assert (january["arrivals"], january["departures"], january["households"]) == (14, 8, 14)
    assert (january["people_adults"], january["people_4_17"]) == (28, 14)
    assert (january["unmet_requests"], january["unmet_caravans"], january["unmet_people"]) == (
        3,
        6,
        15,
    )
    assert january["departement"] == "49" and january["region"] == "52"
    assert january["commune"] == "49007" and january["collectivite"] == "244900015"
    assert january["occupied_place_days"] > 0 and Decimal(0) < january["occupancy_rate"] <= 1
    pays = row(tables, "region_month", "52", JANUARY)
    assert pays["name"] == "Pays de la Loire"
    (flow,) = tables["flows_departement_month"]
    assert (flow["from_code"], flow["to_code"], flow["period"]) == ("49", "44", "2025-02")
    assert flow["households"] == 1
    (flow,) = published(territory.ledger, threshold=2)["flows_departement_month"]
    assert flow["households"] is None and flow["suppressed"] == "households"
    ids = {str(h) for h in territory.households}
    text = repr(tables)
    assert not any(i in text for i in ids)


def test_the_default_threshold_suppresses_small_counts_and_what_gives_them_back(
    territory: Territory,
) -> None:
    """With the default threshold (11): Nantes' February (one household) is suppressed,
    and so is another cell of every relation it is in: the département 44's February (its
    only aire) and a second aire of the région's February."""
    tables = published(territory.ledger, threshold=11)
    nantes = row(tables, "aire_month", "44109-N", "2025-02")
    assert nantes["households"] is None and "households" in nantes["suppressed"]
    assert nantes["occupied_place_days"] is None and nantes["occupancy_rate"] is None
    assert nantes["available_place_days"] is not None  # capacity is never suppressed
    assert row(tables, "departement_month", "44", "2025-02")["households"] is None
    assert row(tables, "aire_month", "49007-A", JANUARY)["households"] == 14


def test_live_equals_a_rebuild_and_the_published_tables_with_it(territory: Territory) -> None:
    """The analytics projection followed live equals its rebuild (``check``), and the tables
    published after the rebuild are those published before."""
    before = published(territory.ledger, threshold=3)
    (analytics,) = [f for f in followers(territory.ledger) if f.projection.name == "analytics"]
    analytics.catch_up()
    assert analytics.check() == []
    assert analytics.rebuild() == territory.ledger.last_position()
    assert analytics.check() == []
    assert published(territory.ledger, threshold=3) == before


def test_the_cli_exports_parquet_and_csv_read_back(
    territory: Territory, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``analytics export --level aire --period month --format parquet`` writes
    ``aire_month.parquet`` whose rows are the published ones (read back with pyarrow:
    typed columns, nulls where suppressed); ``--format csv`` writes every table with French
    conventions (BOM, ``;``, decimal comma)."""
    monkeypatch.setenv("HACIENDA_ANALYTICS_THRESHOLD", "3")
    url = settings.database_url
    out = tmp_path / "out"
    args = ["--database-url", url, "analytics", "export", "--level", "aire", "--period", "month"]
    assert main([*args, "--output", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["aire_month.parquet"]
    as_of = paris_day(datetime.now(UTC))
    expected = published(territory.ledger, threshold=3, as_of=as_of)["aire_month"]
    table = pq.read_table(out / "aire_month.parquet")
    assert table.column_names == list(COLUMNS)
    read = table.to_pylist()
    assert len(read) == len(expected)
    for got, want in zip(read, expected, strict=True):
        for column in COLUMNS:
            value = want[column]
            if isinstance(value, Decimal):
                assert got[column] == value.quantize(got[column]), column
            else:
                assert got[column] == value, column
    assert main(["--database-url", url, "analytics", "export", "--format", "csv",
                 "--output", str(tmp_path / "csv")]) == 0  # fmt: skip
    files = sorted(p.name for p in (tmp_path / "csv").iterdir())
    assert files == sorted(f"{n}.csv" for n in table_names())
    raw = (tmp_path / "csv" / "aire_month.csv").read_bytes()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == len(expected)
    january = next(r for r in rows if r["code"] == "49007-A" and r["period"] == JANUARY)
    assert january["households"] == "14"
    assert "," in january["occupancy_rate"] and "." not in january["occupancy_rate"]


def test_an_unmet_request_in_the_future_of_the_tables_is_not_counted(
    territory: Territory,
) -> None:
    """Tables as of 31 January leave out February: Nantes' request and its move (and the
    year, not over: a publication holds the periods ended by its day)."""
    tables = published(territory.ledger, threshold=2, as_of=date(2025, 1, 31))
    assert [r["period"] for r in tables["france_month"]] == [JANUARY]
    assert tables["flows_departement_month"] == []
    assert tables["france_year"] == []
    assert row(tables, "france_month", "FR", JANUARY)["unmet_requests"] == 3


def test_days_out_of_service_and_interventions_as_recorded(territory: Territory) -> None:
    """Aire A's emplacement 5 (2 places) is out of service from 3 to 12 February (back on
    the 13th) and three interventions are recorded on it in February, one of them
    cancelled: its February row has 20 place-days out of service and one cleaning and one
    repair; they count no household, so the default threshold publishes them; the
    projections rebuilt give the same."""
    ledger, aire = territory.ledger, territory.site.aire_id
    ledger.put_out_of_service(aire, number="5", start=date(2025, 2, 3), reason="fuite", actor="m")
    ledger.put_back_in_service(aire, number="5", start=date(2025, 2, 13), actor="m")
    # recorded (and the one cancelled) on 7 February, as the docstring says: a status change
    # counts in the month it is recorded (interv23), and the world's clock stood at 10 March
    territory.clock.now = datetime(2025, 2, 7, 10, tzinfo=UTC)
    for kind, day, status in (
        ("cleaning", 5, "done"),
        ("repair", 6, "done"),
        ("cleaning", 7, "planned"),
    ):
        recorded = ledger.record_intervention(
            aire, kind=kind, started_at=datetime(2025, 2, day, 9, tzinfo=UTC),
            description="entretien", status=status, actor="m",
        )  # fmt: skip
    ledger.set_intervention_status(recorded.aggregate_id, status="cancelled", actor="m")
    tables = published(ledger, threshold=11, as_of=date(2025, 12, 31))  # the year over
    february = row(tables, "aire_month", "49007-A", "2025-02")
    assert february["out_of_service_place_days"] == 20
    assert (february["interventions_cleaning"], february["interventions_repair"]) == (1, 1)
    assert february["interventions_incident"] == 0
    assert "interventions" not in february["suppressed"]
    assert row(tables, "france_year", "FR", "2025")["out_of_service_place_days"] == 20
    assert row(tables, "aire_month", "44109-N", "2025-02")["out_of_service_place_days"] == 0
    projecting.rebuild_all(ledger, ["interventions", "occupancy", "analytics"])
    assert published(ledger, threshold=11, as_of=date(2025, 12, 31)) == tables
