"""Shared fixtures: a Ledger on SQLite and on PostgreSQL, a controllable clock, a small aire.

PostgreSQL: set HACIENDA_TEST_POSTGRES_URL (CI sets it to the local server). A database of
our own is created for the test session and dropped at the end. With
HACIENDA_REQUIRE_POSTGRES=1 (CI), an unreachable server fails the run instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from hacienda_ledger.aggregates.values import Tariff
from hacienda_ledger.application import Ledger
from hacienda_ledger.settings import Settings

POSTGRES_URL = os.environ.get("HACIENDA_TEST_POSTGRES_URL", "")
REQUIRE_POSTGRES = os.environ.get("HACIENDA_REQUIRE_POSTGRES") == "1"


class Clock:
    """A clock the test moves by hand. Starts on a Monday morning in Paris."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2025, 1, 6, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _admin_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres"))


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh database for this test session, dropped afterwards."""
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("HACIENDA_REQUIRE_POSTGRES=1 but HACIENDA_TEST_POSTGRES_URL is unset")
        pytest.skip("PostgreSQL tests need HACIENDA_TEST_POSTGRES_URL")
    name = f"hacienda_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(_admin_url(POSTGRES_URL), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required but unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(POSTGRES_URL)
    yield urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(_admin_url(POSTGRES_URL), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _truncate_postgres(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        ]
        if tables:
            conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    """Every storage test runs on both: an SQLite file, and the PostgreSQL test database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/ledger.sqlite3"
    url: str = request.getfixturevalue("postgres_database")
    _truncate_postgres(url)
    return url


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The service's settings, but for the wait for a pooled PostgreSQL connection: 10 s
    here, not 1 s. On a loaded two-core CI machine, opening a connection has taken longer
    than 1 s, and a test then met 503 ``database_unavailable`` for no fault of the ledger.
    The outage tests build their own settings and keep the 1 s they are about."""
    return Settings(database_url=database_url, snapshot_interval=50, database_wait_seconds=10)


@pytest.fixture
def ledger(settings: Settings, clock: Clock) -> Iterator[Ledger]:
    app = Ledger(settings, clock=clock)
    yield app
    app.close()


def standard_tariff(effective_from: date = date(2025, 1, 1), **overrides: object) -> Tariff:
    values: dict[str, object] = dict(
        effective_from=effective_from,
        deliberation_ref="DEL-2024-118",
        pitch_fee_per_day_cents=300,
        water_price_per_m3=Decimal("3.5120"),
        electricity_price_per_kwh=Decimal("0.2276"),
        deposit_cents=15000,
    )
    values.update(overrides)
    return Tariff(**values)  # type: ignore[arg-type]


class Site:
    """A collectivité, one aire with 4 emplacements, a tariff and a register, ready to use."""

    def __init__(
        self, ledger: Ledger, code: str = "49007-A", in_service_from: date | None = None
    ) -> None:
        self.ledger = ledger
        coll = ledger.create_collectivite(
            code=f"C-{code}", name="Angers Loire Métropole", siren="244900015", actor="admin"
        )
        self.collectivite_id = coll.aggregate_id
        self.aire_id = ledger.create_aire(
            code=code,
            name="Aire d'accueil des Perrins",
            collectivite_id=self.collectivite_id,
            sector="Anjou",
            mode="regie",
            insee_code="49007",
            departement="49",
            latitude=Decimal("47.4784"),
            longitude=Decimal("-0.5632"),
            actor="manager",
            in_service_from=in_service_from,
        ).aggregate_id
        for n in ("1", "2", "3", "4"):
            ledger.add_emplacement(self.aire_id, number=n, actor="manager")
        ledger.adopt_tariff(self.aire_id, standard_tariff(), actor="manager")
        self.register_id = ledger.open_register(
            self.aire_id,
            regie_ref="AC-2024-07",
            float_cents=5000,
            cash_ceiling_cents=120000,
            payment_methods=["cash", "cheque", "card", "transfer"],
            revenue_types=["pitch_fee", "water", "electricity", "deposit", "other"],
            actor="manager",
        ).aggregate_id

    def household(self, name: str = "Famille Test", **kw: object) -> uuid.UUID:
        """Record a household at this aire (stays name one that exists)."""
        from hacienda_ledger.aggregates.household import Profile

        return self.ledger.record_household(
            aire_id=self.aire_id,
            profile=Profile(name),
            actor="manager",
            **kw,  # type: ignore[arg-type]
        ).aggregate_id

    def arrive(self, emplacement: str = "1", **kw: object) -> uuid.UUID:
        from hacienda_ledger.aggregates.values import Composition

        values: dict[str, object] = dict(
            emplacement=emplacement,
            household_ref=kw.pop("household_ref") if "household_ref" in kw else self.household(),
            arrived_at=self.ledger.clock(),
            composition=Composition(2, (("4-17", 1),)),
            agreement_ref="COT-1",
            entry_inspection_ref="EDL-E-1",
            water_index=Decimal("100"),
            electricity_index=Decimal("2000"),
            actor="cashier",
        )
        values.update(kw)
        return self.ledger.open_stay(self.aire_id, **values).aggregate_id  # type: ignore[arg-type]


@pytest.fixture
def site(ledger: Ledger) -> Site:
    return Site(ledger)
