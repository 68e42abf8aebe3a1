"""The one settings object. Nothing else in the package reads the environment."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DSP_VAT_RATES: dict[str, Decimal] = {
    "pitch_fee": Decimal("10"),
    "water": Decimal("5.5"),
    "electricity": Decimal("20"),
    "other": Decimal("20"),
}
"""Default VAT rates (percent) of a DSP aire's revenue types (docs/accounts.md: sources)."""


class Settings(BaseSettings):
    """Configuration, from ``HACIENDA_*`` environment variables or keyword arguments."""

    model_config = SettingsConfigDict(env_prefix="HACIENDA_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/hacienda.sqlite3",
        description="sqlite:///relative/path, sqlite:////absolute/path, or "
        "postgresql://user:password@host:port/dbname",
    )
    keys_url: str = Field(
        default="",
        description="where the households' keys live: empty for the events' own database "
        "(the default), or another sqlite:///... file or postgresql://... database, so that "
        "a copy of the events holds no key (see docs/personal-data.md)",
    )
    pool_size: int = Field(default=5, ge=1, le=50, description="PostgreSQL pool per process")
    write_retries: int = Field(
        default=8, ge=0, le=100, description="reloads after an optimistic-concurrency conflict"
    )
    gc_threshold0: int = Field(
        default=50_000,
        ge=0,
        description="served processes: allocations between young-generation garbage "
        "collections (Python's default, 700, makes full collections of a large heap pause "
        "every request in flight for tens of ms); 0 leaves Python's settings alone",
    )
    lock_linger_ms: int = Field(
        default=50,
        ge=0,
        le=5000,
        description="PostgreSQL: keep an idle aggregate's advisory lock this long for the "
        "next command of this process (0: release at once); other processes wait at most "
        "this long for it",
    )
    snapshot_interval: int = Field(
        default=100, ge=10, description="events between register snapshots"
    )
    snapshot_max_gap: int = Field(
        default=1000,
        ge=10,
        description="events between register snapshots at most, however large the "
        "register's state (between them: half its entries): what a process that has not "
        "got the register in hand replays after the latest snapshot, the first command "
        "after a restart included (application/snapshots.py)",
    )
    create_tables: bool = Field(
        default=True,
        description="create the tables at start-up; say no for extra workers started after "
        "the schema exists (several processes creating tables at once race)",
    )
    attestation_key: Path = Field(
        default=Path("var/attestation-key.pem"),
        description="the Ed25519 private key (PEM) that signs each seal's attestation; kept "
        "outside the event store (a file the database administrator cannot reach). "
        "`hacienda-ledger attestations key` creates one; `make run` creates the demo's",
    )
    admin_token: str | None = Field(
        default=None, description="bootstraps the first admin on an empty database"
    )
    token_expiry_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description="a bearer token issued at T is refused from T plus this many days "
        "(`token_expired`); recorded in the token when it is issued. A token issued before "
        "expiries were recorded expires its issue time plus this setting",
    )
    token_rotation_grace_seconds: int = Field(
        default=300,
        ge=0,
        le=86_400,
        description="a rotated token is still accepted this long after its successor is "
        "issued (the time to put the new one in place); 0: refused at once",
    )
    alt2_rates: dict[int, tuple[int, int]] = Field(
        default_factory=dict,
        description="ALT2 monthly amounts per place, in cents, by year from which they apply: "
        "{year: (fixed, variable)}; default 5650 and 7595 (the rates in force since 2019)",
    )
    dsp_vat_rates: dict[str, Decimal] = Field(
        default_factory=lambda: dict(DSP_VAT_RATES),
        description="VAT rates in percent by revenue type, for the receipts of aires in `dsp` "
        "mode (amounts received include tax). Given rates replace the defaults one by one: "
        "pitch_fee 10 (CGI art. 279 a: location d'aires d'accueil des gens du voyage), water "
        "5.5 (art. 278-0 bis), electricity 20 (the normal rate, art. 278), other 20 "
        "(docs/accounts.md). Régie and marché receipts carry no VAT",
    )
    verify_every_hours: float = Field(
        default=24.0,
        ge=0,
        description="the API process verifies every register's chain at start and then this "
        "often, logging any break at error level (0: never)",
    )
    run_projections: bool = Field(
        default=True,
        description="follow the stream into the projection tables inside the API process "
        "(read-your-writes); say no when `hacienda-ledger project` runs on its own",
    )
    ready_max_lag: int = Field(
        default=1000,
        ge=0,
        description="GET /ready answers 503 not_ready when a projection is more than this "
        "many stream positions behind the stream's last one",
    )
    ready_heartbeat_seconds: float = Field(
        default=10.0,
        gt=0,
        description="GET /ready answers 503 not_ready when the projector (the process of "
        "`hacienda-ledger project`, which beats every 2 s) has not beaten for this long",
    )
    projector_expected: bool = Field(
        default=False,
        description="a projector process follows the projections beside the API (`serve` "
        "sets it when it starts one): /ready then requires its heartbeat, as it does once "
        "any projector has beaten in the database",
    )
    reports_auto: bool = Field(
        default=True,
        description="the API process generates the reports due (last month's monthly "
        "reports, last year's ALT2 and DSP reports) on its own, when missing",
    )
    reports_interval: float = Field(
        default=3600.0, gt=0, description="seconds between two looks for reports due"
    )
    reports_first_delay: float = Field(
        default=60.0, ge=0, description="seconds after start-up before the first look"
    )
    retention_personal_data_years: int = Field(
        default=2,
        ge=0,
        le=50,
        description="a household's personal data is erased this many years after its last "
        "departure (or after it was recorded, if it never stayed), no stay being open",
    )
    retention_access_log_years: int = Field(
        default=3, ge=1, le=50, description="entries of the personal-data access log are kept"
    )
    retention_financial_years: int = Field(
        default=10,
        ge=10,
        le=100,
        description="financial records (every ledger event) are kept at least this long; "
        "the ledger never deletes an event, so this is a floor that nothing purges",
    )
    run_retention: bool = Field(
        default=True,
        description="the API process runs the retention purge (`households purge-due`) at "
        "start and then every `retention_interval_hours`",
    )
    retention_interval_hours: float = Field(default=24.0, gt=0, le=24 * 7)
    log_json: bool | None = Field(default=None, description="JSON logs (default: not a TTY)")
    max_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        le=64 * 1_048_576,
        description="the largest request body the API reads, in bytes (a larger one is 413 "
        "body_too_large before it is read or parsed)",
    )
    export_max_rows: int = Field(
        default=100_000,
        ge=1,
        le=10_000_000,
        description="the most rows one export (GET /v1/exports/{table}, a journal as CSV) "
        "holds; more is 422 export_too_large, to be narrowed by aire or period",
    )
    document_max_bytes: int = Field(
        default=10 * 1_048_576,
        ge=1024,
        le=256 * 1_048_576,
        description="the largest document an aire may upload, in bytes (POST "
        "/v1/aires/{id}/documents; a larger one is 413 document_too_large before it is read)",
    )
    document_orphan_grace_hours: float = Field(
        default=24.0,
        ge=1,
        le=24 * 90,
        description="a document's bytes that no document names (its upload was refused) are "
        "deleted once stored this long (`documents sweep`, and daily by the service): longer "
        "than any upload in flight",
    )
    database_wait_seconds: float = Field(
        default=1.0,
        gt=0,
        le=30,
        description="PostgreSQL: how long one statement waits for a pooled connection (and "
        "retries a lost one) before giving up; a request that gives up answers 503 "
        "database_unavailable with Retry-After (docs/operations.md#when-the-database-goes-away)",
    )
    connect_timeout_seconds: int = Field(
        default=2,
        ge=2,
        le=60,
        description="PostgreSQL: how long one attempt to open a connection may take (libpq's "
        "connect_timeout, 2 at least): a server that does not answer is given up on",
    )
    retry_after_seconds: int = Field(
        default=2,
        ge=1,
        le=3600,
        description="the Retry-After header of a 503 (the database unreachable or busy)",
    )
    ready_timeout_seconds: float = Field(
        default=0.5,
        gt=0,
        le=10,
        description="GET /ready: how long its probe of the database may take before it "
        "answers 503 not_ready",
    )
    start_wait_seconds: float = Field(
        default=0,
        ge=0,
        description="serve: how long to wait for a PostgreSQL server that does not answer at "
        "start, trying again with backoff (0.5 s doubling to 30 s) and saying so once per "
        "attempt; 0: as long as it takes",
    )
    analytics_threshold: int = Field(
        default=11,
        ge=2,
        le=1000,
        description="the analytics tables suppress every count of households or people from "
        "1 to this less one, and whatever else would let it be recovered (docs/analytics.md)",
    )

    @field_validator("dsp_vat_rates", mode="before")
    @classmethod
    def _vat_rates(cls, value: Any) -> Any:
        """Rates given replace the defaults one by one; each type is a revenue type that
        is revenue (a deposit is third-party money, never taxed), each rate in [0, 100)."""
        if not isinstance(value, dict):
            return value
        unknown = set(value) - set(DSP_VAT_RATES)
        if unknown:
            raise ValueError(f"dsp_vat_rates: unknown revenue types {sorted(unknown)}")
        rates = {**DSP_VAT_RATES, **{k: Decimal(str(v)) for k, v in value.items()}}
        if any(not Decimal(0) <= r < 100 for r in rates.values()):
            raise ValueError("dsp_vat_rates: a rate is a percentage from 0 to less than 100")
        return rates

    @field_validator("database_url", "keys_url")
    @classmethod
    def _known_scheme(cls, value: str, info: ValidationInfo) -> str:
        scheme = urlsplit(value).scheme
        if scheme not in {"sqlite", "postgresql", "postgres"} and (
            value or info.field_name != "keys_url"
        ):
            raise ValueError(
                f"{info.field_name}: unsupported scheme {scheme or '(none)'}: give "
                "sqlite:///path/to/file.sqlite3 or postgresql://user@host:5432/dbname"
            )
        return value

    def keys_database(self) -> Settings:
        """The settings of the database holding the households' keys: these settings when
        the keys live with the events, else the same pointing at ``keys_url``."""
        if not self.keys_url or self.keys_url == self.database_url:
            return self
        return self.model_copy(update={"database_url": self.keys_url, "keys_url": ""})

    @property
    def keys_apart(self) -> bool:
        """Whether the keys live in a database of their own."""
        return self.keys_database() is not self

    @property
    def is_postgres(self) -> bool:
        return urlsplit(self.database_url).scheme in {"postgresql", "postgres"}

    @property
    def sqlite_path(self) -> Path:
        return Path(unquote(urlsplit(self.database_url).path[1:] or "hacienda.sqlite3"))

    def eventsourcing_env(self) -> dict[str, str]:
        """The eventsourcing library's configuration keys for this database."""
        env = {"IS_SNAPSHOTTING_ENABLED": "y", "CREATE_TABLE": "y" if self.create_tables else "n"}
        if not self.is_postgres:
            path = self.sqlite_path
            if str(path) != ":memory:" and self.create_tables:
                path.parent.mkdir(parents=True, exist_ok=True)
            env.update(
                # The library's, with the technical journal's entries in a save's
                # transaction (see application/recorders.py).
                PERSISTENCE_MODULE="hacienda_ledger.application.recorders:SQLiteLedgerFactory",
                SQLITE_DBNAME=str(path),
                SQLITE_LOCK_TIMEOUT="30",
            )
            return env
        url = urlsplit(self.database_url)
        env.update(
            # The library's factory; tables created one process at a time, events inserted
            # in one round trip per save (see application/recorders.py).
            PERSISTENCE_MODULE="hacienda_ledger.application.recorders:LedgerFactory",
            POSTGRES_DBNAME=url.path.lstrip("/") or "postgres",
            POSTGRES_HOST=url.hostname or "127.0.0.1",
            POSTGRES_PORT=str(url.port or 5432),
            POSTGRES_USER=unquote(url.username or "postgres"),
            POSTGRES_PASSWORD=unquote(url.password or ""),
            POSTGRES_POOL_SIZE=str(self.pool_size),
            POSTGRES_MAX_OVERFLOW=str(self.pool_size * 2),
            # The pool's wait for a connection: whole seconds here, made exact by
            # LedgerFactory (DATABASE_WAIT); idle connections checked before use (made
            # outage.IdleCheck by LedgerFactory).
            POSTGRES_CONNECT_TIMEOUT=str(max(1, math.ceil(self.database_wait_seconds))),
            POSTGRES_PRE_PING="y",
            DATABASE_WAIT=str(self.database_wait_seconds),
            LIBPQ_CONNECT_TIMEOUT=str(self.connect_timeout_seconds),
            POSTGRES_LOCK_TIMEOUT="10",
            POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT="30",
        )
        return env

    @property
    def postgres_conninfo(self) -> str:
        env = self.eventsourcing_env()
        parts = {
            "dbname": env["POSTGRES_DBNAME"],
            "host": env["POSTGRES_HOST"],
            "port": env["POSTGRES_PORT"],
            "user": env["POSTGRES_USER"],
            "connect_timeout": str(self.connect_timeout_seconds),
        }
        if env["POSTGRES_PASSWORD"]:
            parts["password"] = env["POSTGRES_PASSWORD"]
        return " ".join(f"{k}={v}" for k, v in parts.items())
