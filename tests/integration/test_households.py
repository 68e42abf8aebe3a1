"""Households on SQLite and PostgreSQL: every field round-trips, no personal field is ever
stored in clear, erasure makes them unreadable and changes no figure, retention purges what
is due, and every read of personal data is logged."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest

from hacienda_ledger.aggregates.errors import (
    AlreadyExists,
    HouseholdNotFound,
    InvalidValue,
    PersonalDataErased,
)
from hacienda_ledger.aggregates.household import (
    ERASED,
    ContactDetails,
    Fleet,
    Member,
    Profile,
)
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.aggregates.user import User
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.households import add_years
from hacienda_ledger.application.projecting import followers
from hacienda_ledger.application.sealing import SealBroken
from tests.conftest import Clock, Site
from tests.integration.test_tamper import StoredRows

# Strings that exist nowhere else: finding one in the database means it was stored in clear.
SECRETS = (
    "Zéphyrine",
    "Quennevillé",
    "0611223344",
    "zq@exemple.fr",
    "GZ-417-QX",
    "QX-991-ZB",
    "allergie-pénicilline",
    "CNI-Q-778899",
    "Aurélien-Quintal",
    "certificat-Dr-Quintavalle",  # an extension's evidence
)


def full_profile() -> Profile:
    return Profile(
        display_name="Famille Quennevillé",
        members=(
            Member("Zéphyrine Quennevillé", 1979, None, "head"),
            Member("Aurélien-Quintal Quennevillé", None, "4-17", "child"),
            Member("Mamie Q", 1940, "60+", "grandparent"),
        ),
        contact=ContactDetails(phone="0611223344", email="zq@exemple.fr"),
        caravans=Fleet(2, ("GZ-417-QX",)),
        vehicles=Fleet(1, ("QX-991-ZB",)),
        notes="allergie-pénicilline",
    )


def stored_bytes(ledger: Ledger) -> list[bytes]:
    """Every value of every row of every table of the database, as bytes."""
    found: list[bytes] = []
    if ledger.settings.is_postgres:
        with psycopg.connect(ledger.settings.database_url) as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                ).fetchall()
            ]
            for table in tables:
                for (row,) in conn.execute(f'SELECT t::text FROM "{table}" t').fetchall():
                    found.append(row.encode())
                # bytea columns print as hex in t::text: decode them too
                for (row,) in conn.execute(
                    "SELECT string_agg(encode(state, 'escape'), '') FROM ledger_events"
                ).fetchall():
                    found.append((row or "").encode())
        return found
    with closing(sqlite3.connect(ledger.settings.sqlite_path)) as conn, conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, bytes):
                        found.append(value)
                    elif value is not None:
                        found.append(str(value).encode())
    return found


def admin(ledger: Ledger) -> User:
    outcome, _ = ledger.create_user(name="root", role="admin", actor="test")
    return ledger.user(outcome.aggregate_id)


def test_every_field_round_trips(ledger: Ledger, site: Site, clock: Clock) -> None:
    """Registered, amended, with documents of every kind: read back exactly as written."""
    profile = full_profile()
    household_id = ledger.record_household(
        aire_id=site.aire_id, profile=profile, actor="m"
    ).aggregate_id
    stay_id = site.arrive("1", household_ref=household_id)
    kinds = [
        "occupation_agreement",
        "rules_acknowledged",
        "entry_inspection",
        "identity_seen",
    ]
    for n, kind in enumerate(kinds, 1):
        ledger.record_household_document(
            household_id,
            kind=kind,
            on=date(2025, 1, 6),
            reference=f"REF-{n}" if kind != "identity_seen" else "CNI-Q-778899",
            stay_id=stay_id if n % 2 else None,
            actor="m",
        )
    clock.advance(hours=1)
    amended = ledger.amend_household(
        household_id,
        changes={"notes": "autre note", "vehicles": Fleet(2, ("QX-991-ZB", "AA-000-AA"))},
        actor="m",
    )
    assert amended.result == {"changed": True}
    unchanged = ledger.amend_household(household_id, changes={"notes": "autre note"}, actor="m")
    assert unchanged.result == {"changed": False}

    fresh = Ledger(ledger.settings, clock=clock)  # nothing read from memory
    try:
        household = fresh.household(household_id)
    finally:
        fresh.close()
    expected = Profile(
        display_name=profile.display_name,
        members=profile.members,
        contact=profile.contact,
        caravans=profile.caravans,
        vehicles=Fleet(2, ("QX-991-ZB", "AA-000-AA")),
        notes="autre note",
    )
    assert household.profile == expected
    assert household.aire_id == site.aire_id
    assert household.stays == ((stay_id, site.aire_id),)
    assert [(d.seq, d.kind, d.on, d.reference, d.stay_id) for d in household.documents] == [
        (1, "occupation_agreement", date(2025, 1, 6), "REF-1", stay_id),
        (2, "rules_acknowledged", date(2025, 1, 6), "REF-2", None),
        (3, "entry_inspection", date(2025, 1, 6), "REF-3", stay_id),
        (4, "identity_seen", date(2025, 1, 6), "CNI-Q-778899", None),
    ]
    assert not household.erased


def test_stays_name_a_household_that_exists(ledger: Ledger, site: Site) -> None:
    """A stay for an unknown household is refused (404 household_not_found on the field)."""
    with pytest.raises(HouseholdNotFound) as caught:
        site.arrive("1", household_ref=UUID(int=7))
    assert caught.value.field == "household_ref"
    household_id = site.household()
    with pytest.raises(AlreadyExists):
        site.household(household_id=household_id)
    with pytest.raises(InvalidValue):
        ledger.record_household(aire_id=site.aire_id, profile=Profile("  "), actor="m")
    # the refused registration left no key behind
    assert ledger.keys.key(household_id) is not None
    assert len(ledger.keys.sql.rows("SELECT household_id FROM household_keys")) == 1


def test_no_personal_field_is_stored_in_clear(ledger: Ledger, site: Site, clock: Clock) -> None:
    """The raw rows of every table (events, snapshots, projections, idempotency records,
    keys, access log) contain none of the household's personal values; receipts, stays and
    projections name it by its id only."""
    household_id = ledger.record_household(
        aire_id=site.aire_id, profile=full_profile(), actor="m"
    ).aggregate_id
    stay_id = site.arrive("1", household_ref=household_id, idempotency_key="arrive-1")
    ledger.record_household_document(
        household_id, kind="identity_seen", on=date(2025, 1, 6), reference="CNI-Q-778899", actor="m"
    )
    ledger.amend_household(household_id, changes={"notes": "allergie-pénicilline !"}, actor="m")
    ledger.post_receipt(
        site.register_id,
        stay_id=stay_id,
        method="cash",
        lines=[("deposit", 15000)],
        actor="c",
        idempotency_key="dep",
    )
    ledger.extend_stay(
        stay_id,
        reason="hospitalisation",
        evidence_ref="certificat-Dr-Quintavalle",
        until=date(2025, 6, 30),
        actor="m",
        idempotency_key="extend-1",
    )
    for follower in followers(ledger):
        follower.catch_up()
    ledger.households.record_reads(
        admin(ledger), [household_id], "GET /v1/households/{household_id}"
    )
    raw = b"\n".join(stored_bytes(ledger))
    assert str(household_id).encode() in raw or household_id.hex.encode() in raw
    for secret in SECRETS:
        assert secret.encode() not in raw, secret
        assert secret.encode("unicode_escape") not in raw, secret
    assert b"hospitalisation" not in raw  # the extension's reason: sealed too
    # ... and yet every field reads back
    assert ledger.household(household_id).profile.members[0].name == "Zéphyrine Quennevillé"  # type: ignore[union-attr]


def figures(ledger: Ledger) -> dict[str, Any]:
    """Everything a figure or a verification is made of: every projection table, rebuilt
    from position zero and compared with the live one, every register's verification, and
    every stored event that is not a household's, byte for byte."""
    out: dict[str, Any] = {}
    for follower in followers(ledger):
        follower.catch_up()
        for spec in follower.projection.tables:
            out[f"{follower.projection.name}.{spec.name}"] = follower.rows(spec.name)
        out[f"{follower.projection.name}.check"] = follower.check()
    for register_id in ledger.ids_of(CashRegister.Opened):
        report = ledger.audit.verify_register(register_id)
        out[f"verify.{register_id}"] = (report.ok, report.events, report.head_hash)
    rows = []
    start = 1
    while batch := ledger.recorder.select_notifications(start=start, limit=500):
        rows.extend(
            (n.originator_id, n.originator_version, n.topic, bytes(n.state))
            for n in batch
            if ".household:" not in n.topic
        )
        start = batch[-1].id + 1
    out["events"] = rows
    return out


def test_erasure_keeps_every_figure_and_makes_the_fields_unreadable(
    ledger: Ledger, site: Site, clock: Clock
) -> None:
    """After erasure: every projection row, every rebuild check, every register's chain and
    every non-household event are exactly as before; the household's personal fields read
    as erased (also from a fresh process), its stored rows no longer open, its key is gone
    from the key store (and, on SQLite, from the database files)."""
    household_id = ledger.record_household(
        aire_id=site.aire_id, profile=full_profile(), actor="m"
    ).aggregate_id
    stay_id = site.arrive("1", household_ref=household_id)
    site.arrive("2")  # another household, untouched
    ledger.record_household_document(
        household_id, kind="identity_seen", on=date(2025, 1, 6), reference="CNI-Q-778899", actor="m"
    )
    ledger.post_receipt(
        site.register_id, stay_id=stay_id, method="cash", lines=[("deposit", 15000)], actor="c"
    )
    clock.advance(days=3)
    ledger.assess_charges(stay_id, through=date(2025, 1, 8), actor="c")
    ledger.post_receipt(
        site.register_id, stay_id=stay_id, method="card", lines=[("pitch_fee", 900)], actor="c"
    )
    ledger.depart(
        stay_id,
        departed_at=clock(),
        exit_inspection_ref="EDL-S",
        water_index=Decimal("100"),
        electricity_index=Decimal("2000"),
        actor="c",
    )
    ledger.refund_deposit(
        site.register_id, stay_id=stay_id, amount_cents=15000, method="cash", actor="c"
    )
    ledger.close_period(site.register_id, period="day", day=date(2025, 1, 9), actor="c")
    key = ledger.keys.key(household_id)
    assert key is not None
    before = figures(ledger)
    household_rows = ledger.recorder.select_events(household_id)

    outcome = ledger.erase_household(household_id, reason="request", actor="m")
    assert outcome.result == {"key_destroyed": True, "recorded": True}

    after = figures(ledger)
    assert after == before
    assert all(not v for k, v in after.items() if k.endswith(".check"))
    assert all(v[0] for k, v in after.items() if k.startswith("verify."))
    # the household's own rows are unchanged bytes that no longer open
    assert [bytes(r.state) for r in ledger.recorder.select_events(household_id)][
        : len(household_rows)
    ] == [bytes(r.state) for r in household_rows]
    assert ledger.keys.key(household_id) is None
    fresh = Ledger(ledger.settings, clock=clock)
    try:
        household = fresh.household(household_id)
    finally:
        fresh.close()
    assert household.erased and household.profile is ERASED
    assert household.display_name is ERASED
    assert [d.reference for d in household.documents] == [ERASED]
    assert [d.kind for d in household.documents] == ["identity_seen"]
    assert household.stays == ((stay_id, site.aire_id),)
    assert household.erasure is not None and household.erasure[1:] == ("request", "m")
    # writing personal data is refused; erasing again changes nothing
    with pytest.raises(PersonalDataErased):
        ledger.amend_household(household_id, changes={"notes": "x"}, actor="m")
    with pytest.raises(PersonalDataErased):
        ledger.record_household_document(
            household_id, kind="exit_inspection", on=date(2025, 1, 9), reference="x", actor="m"
        )
    again = ledger.erase_household(household_id, reason="request", actor="m")
    assert again.result == {"key_destroyed": False, "recorded": False}
    assert figures(ledger) == before
    if not ledger.settings.is_postgres:
        files = [ledger.settings.sqlite_path, Path(f"{ledger.settings.sqlite_path}-wal")]
        for path in files:
            if path.exists():
                assert key not in path.read_bytes(), path


def test_an_altered_sealed_field_is_refused_not_misread(ledger: Ledger, site: Site) -> None:
    """A sealed value copied onto another household's row does not open under that key."""
    first = site.household("Famille Une")
    second = site.household("Famille Deux")
    state = bytes(ledger.recorder.select_events(first)[0].state)
    if ledger.settings.is_postgres:
        with psycopg.connect(ledger.settings.database_url, autocommit=True) as conn:
            conn.execute(
                "UPDATE ledger_events SET state = %s WHERE originator_id = %s "
                "AND originator_version = 1",
                (state, second),
            )
    else:
        with closing(sqlite3.connect(ledger.settings.sqlite_path)) as conn, conn:
            conn.execute(
                "UPDATE stored_events SET state = ? WHERE originator_id = ? "
                "AND originator_version = 1",
                (state, second.hex),
            )
    with pytest.raises(SealBroken):
        ledger.household(second)


def test_retention_purges_what_is_due(ledger: Ledger, site: Site, clock: Clock) -> None:
    """Personal data is due N years after the last departure (or after it was recorded, for
    a household that never stayed); never while a stay is open. A dry run lists, the purge
    erases; access-log entries older than their retention are deleted."""
    years = ledger.settings.retention_personal_data_years
    departed = site.household("Famille Partie")
    staying = site.household("Famille Restée")
    never = site.household("Famille Jamais")
    stay = site.arrive("1", household_ref=departed)
    site.arrive("2", household_ref=staying)
    clock.advance(days=2)
    ledger.depart(
        stay,
        departed_at=clock(),
        exit_inspection_ref="S",
        water_index=Decimal("100"),
        electricity_index=Decimal("2000"),
        actor="c",
    )
    reader = admin(ledger)
    ledger.households.record_reads(reader, [departed], "GET /v1/households/{household_id}")
    assert ledger.households.purge_due(dry_run=True).due == ()

    recorded_day, departure_day = date(2025, 1, 6), date(2025, 1, 8)
    clock.now = datetime.combine(add_years(recorded_day, years), time(7), tzinfo=UTC)
    assert clock.now - timedelta(days=1) > datetime(2025, 1, 6, tzinfo=UTC)
    clock.advance(days=-1)  # the day before `never` is due
    assert ledger.households.retention_due() == []
    clock.advance(days=1)
    assert [(d.household_id, d.basis, d.since) for d in ledger.households.retention_due()] == [
        (never, "recorded", recorded_day)
    ]
    clock.advance(days=2)
    due = ledger.households.purge_due(dry_run=True)
    assert {(d.household_id, d.basis, d.since) for d in due.due} == {
        (never, "recorded", recorded_day),
        (departed, "last_departure", departure_day),
    }
    assert ledger.keys.key(departed) is not None  # a dry run changes nothing

    clock.advance(days=365 * ledger.settings.retention_access_log_years)
    done = ledger.households.purge_due(dry_run=False)
    assert {d.household_id for d in done.due} == {never, departed}
    assert done.access_log_entries == 1
    assert ledger.household(departed).erased and ledger.household(never).erased
    assert not ledger.household(staying).erased
    assert ledger.household(departed).erasure[1] == "retention"  # type: ignore[index]
    assert ledger.access_log.of(departed) == []
    assert ledger.households.purge_due(dry_run=False).due == ()


def test_reads_of_personal_data_are_logged(ledger: Ledger, site: Site, clock: Clock) -> None:
    """Who read which household, when, through which endpoint; payer names included;
    nothing is logged for an erased household (there is nothing left to read)."""
    reader = admin(ledger)
    household_id = site.household("Famille Lue")
    ledger.households.read(reader, household_id, endpoint="GET /v1/households/{household_id}")
    clock.advance(minutes=5)
    names = ledger.households.payer_names(
        reader, [household_id], endpoint="GET /v1/registers/x/journal"
    )
    assert names == {household_id: "Famille Lue"}
    log = ledger.access_log.of(household_id)
    assert [(a.user_id, a.role, a.endpoint) for a in log] == [
        (str(reader.id), "admin", "GET /v1/households/{household_id}"),
        (str(reader.id), "admin", "GET /v1/registers/x/journal"),
    ]
    assert log[1].at - log[0].at == timedelta(minutes=5)
    ledger.erase_household(household_id, reason="request", actor="m")
    ledger.households.read(reader, household_id, endpoint="GET /v1/households/{household_id}")
    assert ledger.households.payer_names(reader, [household_id], endpoint="x") == {
        household_id: ERASED
    }
    assert len(ledger.access_log.of(household_id)) == 2


def test_search_finds_names_in_scope_ignoring_case_and_accents(ledger: Ledger, site: Site) -> None:
    """A search decrypts the caller's households in memory and returns those whose name or
    a member's name matches; those returned are logged, erased ones are never found."""
    reader = admin(ledger)
    found = site.household("Famille Quennevillé")
    ledger.amend_household(found, changes={"members": (Member("Élodie Brûlé"),)}, actor="m")
    site.household("Famille Autre")
    gone = site.household("Famille Quenneville bis")
    ledger.erase_household(gone, reason="request", actor="m")
    assert [h.id for h in ledger.households.search(reader, "QUENNEVILLE", endpoint="s")] == [found]
    assert [h.id for h in ledger.households.search(reader, "brule", endpoint="s")] == [found]
    assert [a.endpoint for a in ledger.access_log.of(found)] == ["s", "s"]


def test_a_stay_naming_no_recorded_household_is_extended_without_a_why(
    ledger: Ledger, site: Site
) -> None:
    """A stay whose household was never recorded (stays opened before households were):
    its extension is granted, with no why recorded (there is no key to seal it under), and
    reading the stay finds no why instead of failing."""
    stay_id = site.arrive("1")
    ref = ledger.stay(stay_id).household_ref
    rows = StoredRows(ledger, stay_id)
    try:
        opened = rows.all()[0]
        rows.set(opened.version, state=opened.state.replace(ref.hex.encode(), b"0" * 32))
    finally:
        rows.close()
    ledger.extend_stay(
        stay_id, reason="school", evidence_ref="CERT", until=date(2025, 6, 30), actor="m"
    )
    stay = ledger.stay(stay_id)
    assert stay.allowed_through == date(2025, 6, 30)
    assert ledger.households.justifications(admin(ledger), stay, endpoint="GET x") == {}
    assert [j.stay_id for j in ledger.household(ref).justifications] == []
