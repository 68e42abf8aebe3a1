"""Households' keys apart from the events (``HACIENDA_KEYS_URL``), on SQLite and PostgreSQL:
the events' database then holds no key material, erasure destroys the key in the key store,
everything else works; a key store restored from an older backup gets the erasures made
since replayed (``hacienda-ledger households replay-erasures``). And the raw database (an
SQLite file, a ``pg_dump``) holds no extension's reason or evidence in clear."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import closing
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from bench.scratch import scratch_postgres

from hacienda_ledger.aggregates.household import ERASED
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.projecting import followers
from hacienda_ledger.cli import main
from hacienda_ledger.settings import Settings
from tests.conftest import POSTGRES_URL, Clock, Site
from tests.integration.test_households import SECRETS, full_profile, stored_bytes

EVIDENCE = "certificat-Dr-Quintavalle"


@pytest.fixture(scope="module")
def keys_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """A PostgreSQL database of its own for the keys, dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need HACIENDA_TEST_POSTGRES_URL")
    with scratch_postgres(urlunsplit(urlsplit(POSTGRES_URL)._replace(path="/postgres"))) as url:
        yield url


@pytest.fixture
def keys_url(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The key store apart: another SQLite file, or another PostgreSQL database."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path}/keys.sqlite3"
    url: str = request.getfixturevalue("keys_database")
    # both emptied of keys: the key store's own, and the events' (the session's shared
    # test database, where earlier tests kept their keys with the events)
    for database in (url, database_url):
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS household_keys")
    return url


@pytest.fixture
def apart(database_url: str, keys_url: str, clock: Clock) -> Iterator[Ledger]:
    ledger = Ledger(Settings(database_url=database_url, keys_url=keys_url), clock=clock)
    yield ledger
    ledger.close()


def key_rows(ledger: Ledger) -> dict[str, bytes | None]:
    rows = ledger.keys.sql.rows("SELECT household_id, key FROM household_keys")
    return {r["household_id"]: None if r["key"] is None else bytes(r["key"]) for r in rows}


def event_tables(ledger: Ledger) -> set[str]:
    if ledger.settings.is_postgres:
        with psycopg.connect(ledger.settings.database_url) as conn:
            query = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            return {r[0] for r in conn.execute(query).fetchall()}
    with closing(sqlite3.connect(ledger.settings.sqlite_path)) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def lived(ledger: Ledger) -> tuple[uuid.UUID, uuid.UUID]:
    """A household with its full profile, a stay extended for a hospitalisation, a receipt."""
    site = Site(ledger)
    household = ledger.record_household(
        aire_id=site.aire_id, profile=full_profile(), actor="m"
    ).aggregate_id
    stay = site.arrive("1", household_ref=household)
    ledger.extend_stay(
        stay, reason="hospitalisation", evidence_ref=EVIDENCE, until=date(2025, 6, 30), actor="m"
    )
    ledger.post_receipt(
        site.register_id, stay_id=stay, method="cash", lines=[("deposit", 15000)], actor="c"
    )
    return household, stay


def test_keys_apart_leave_no_key_in_the_events_database_and_erasure_destroys_them_there(
    apart: Ledger,
) -> None:
    """With ``keys_url``: no ``household_keys`` table and no key's bytes among the events;
    the household and its extension's why read back; erasure destroys the key in the key
    store, and the household and the why then read as erased, also from a fresh process."""
    household, stay = lived(apart)
    (key,) = [k for k in key_rows(apart).values() if k is not None]
    assert "household_keys" not in event_tables(apart)
    raw = b"\n".join(stored_bytes(apart))
    assert key not in raw and key.hex().encode() not in raw
    for secret in (*SECRETS, "hospitalisation"):
        assert secret.encode() not in raw, secret
    read = apart.household(household)
    assert read.profile.display_name == "Famille Quennevillé"  # type: ignore[union-attr]
    (why,) = read.justifications
    assert (why.stay_id, why.reason, why.evidence_ref) == (stay, "hospitalisation", EVIDENCE)
    assert apart.stay(stay).allowed_through == date(2025, 6, 30)

    outcome = apart.erase_household(household, reason="request", actor="m")
    assert outcome.result == {"key_destroyed": True, "recorded": True}
    assert key_rows(apart) == {str(household): None}
    fresh = Ledger(apart.settings, clock=apart.clock)
    try:
        erased = fresh.household(household)
    finally:
        fresh.close()
    assert erased.erased and [(j.reason, j.evidence_ref) for j in erased.justifications] == [
        (ERASED, ERASED)
    ]
    if not apart.settings.is_postgres:
        keys_file = apart.settings.keys_database().sqlite_path
        assert key not in keys_file.read_bytes()


def backup(ledger: Ledger, to: Path) -> None:
    """A copy of the key store as it is now (the file; a ``pg_dump`` of the database)."""
    keys = ledger.settings.keys_database()
    if keys.is_postgres:
        subprocess.run(["pg_dump", "-Fc", "-f", str(to), keys.database_url], check=True)
    else:
        shutil.copy(keys.sqlite_path, to)


def restore(settings: Settings, copy: Path) -> None:
    keys = settings.keys_database()
    if keys.is_postgres:
        subprocess.run(
            ["pg_restore", "--clean", "--if-exists", "-d", keys.database_url, str(copy)],
            check=True,
        )
    else:
        shutil.copy(copy, keys.sqlite_path)


def test_a_key_store_restored_from_an_older_backup_gets_the_erasures_since_replayed(
    apart: Ledger,
    clock: Clock,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Backup of the keys, then one household erased: restoring the backup brings its key
    back; ``replay-erasures`` destroys it again from the erasure the
    events recorded, leaves the other household alone, and a second run finds nothing."""
    household, _ = lived(apart)
    other = Site(apart, code="49007-B").household("Famille Autre")
    copy = tmp_path / "keys.backup"
    backup(apart, copy)
    apart.erase_household(household, reason="request", actor="m")
    settings = apart.settings
    apart.close()
    restore(settings, copy)

    restored = Ledger(settings, clock=clock)
    try:
        # the old key is back: the record reads as erased (its events say so), but the key
        # would open its sealed rows
        assert restored.keys.key(household) is not None
        dry = restored.households.replay_erasures(dry_run=True)
        assert (dry.erased, dry.missing) == ((household,), ())
        assert restored.keys.key(household) is not None
    finally:
        restored.close()
    monkeypatch.setenv("HACIENDA_KEYS_URL", settings.keys_url)
    command = ["--database-url", settings.database_url, "households", "replay-erasures"]
    capsys.readouterr()
    assert main(command) == 0
    assert capsys.readouterr().out.splitlines()[:2] == [
        "erasures replayed: 1 key(s) destroyed again",
        f"  {household}",
    ]
    replayed = Ledger(settings, clock=clock)
    try:
        assert replayed.keys.key(household) is None and replayed.household(household).erased
        assert replayed.keys.key(other) is not None
        assert not replayed.household(other).erased
        assert replayed.households.replay_erasures(dry_run=True).erased == ()
    finally:
        replayed.close()


def raw_database(ledger: Ledger) -> bytes:
    """The database as an operator would copy it: the SQLite file and its write-ahead log,
    or a ``pg_dump`` (bytea columns are hex in it: searched for as hex too)."""
    settings = ledger.settings
    if settings.is_postgres:
        dumped = subprocess.run(
            ["pg_dump", "--data-only", settings.database_url], check=True, capture_output=True
        )
        return dumped.stdout
    files = [settings.sqlite_path, Path(f"{settings.sqlite_path}-wal")]
    return b"".join(path.read_bytes() for path in files if path.exists())


def test_the_raw_database_holds_no_extension_s_reason_or_evidence(ledger: Ledger) -> None:
    """Keys with the events (the default): an extension granted for a hospitalisation
    leaves neither the word nor the evidence reference in the SQLite file or in a
    ``pg_dump``, projections caught up (they say ``granted``)."""
    household, stay = lived(ledger)
    (occupancy,) = followers(ledger, ["occupancy"])
    occupancy.catch_up()
    assert [(r["reason"], r["until"]) for r in occupancy.rows("occupancy_extensions")] == [
        ("granted", date(2025, 6, 30))
    ]
    raw = raw_database(ledger)
    assert str(stay).encode() in raw or stay.hex.encode() in raw or stay.hex.encode().hex() in raw
    for secret in (b"hospitalisation", EVIDENCE.encode()):
        assert secret not in raw and secret.hex().encode() not in raw, secret
    assert ledger.household(household).justifications[0].reason == "hospitalisation"
