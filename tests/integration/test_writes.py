"""Idempotent writes, serialised concurrent postings, atomic multi-aggregate commands, and
the register as of an instant — on SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from hacienda_ledger.aggregates.errors import (
    AlreadyExists,
    EmplacementUnavailable,
    IdempotencyKeyReused,
)
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.aggregates.values import Composition
from hacienda_ledger.application import Ledger
from hacienda_ledger.settings import Settings
from tests.conftest import Clock, Site


def receipt_numbers(ledger: Ledger, register_id: UUID) -> list[int]:
    return [
        e.number
        for e in ledger.events.get(register_id)
        if isinstance(e, CashRegister.ReceiptIssued)
    ]


def test_same_key_same_body_returns_the_original_receipt(ledger: Ledger, site: Site) -> None:
    """A retried posting gets the original number, hash and position; nothing is recorded."""
    first = ledger.post_receipt(
        site.register_id,
        stay_id=None,
        method="cash",
        lines=[("other", 500)],
        actor="c",
        idempotency_key="k-1",
    )
    before = ledger.cash_register(site.register_id).version
    again = ledger.post_receipt(
        site.register_id,
        stay_id=None,
        method="cash",
        lines=[("other", 500)],
        actor="c",
        idempotency_key="k-1",
    )
    assert again.replayed and not first.replayed
    assert (first.result, first.position, first.version) == (
        again.result,
        again.position,
        again.version,
    )
    assert ledger.cash_register(site.register_id).version == before
    assert receipt_numbers(ledger, site.register_id) == [1]


def test_same_key_other_body_is_refused_and_records_nothing(ledger: Ledger, site: Site) -> None:
    """The same Idempotency-Key with a different body is refused with its code."""
    ledger.post_receipt(
        site.register_id,
        stay_id=None,
        method="cash",
        lines=[("other", 500)],
        actor="c",
        idempotency_key="k-2",
    )
    before = ledger.cash_register(site.register_id).version
    with pytest.raises(IdempotencyKeyReused) as caught:
        ledger.post_receipt(
            site.register_id,
            stay_id=None,
            method="cash",
            lines=[("other", 501)],
            actor="c",
            idempotency_key="k-2",
        )
    assert caught.value.code == "idempotency_key_reused"
    assert ledger.cash_register(site.register_id).version == before


def test_racing_retries_with_one_key_give_one_receipt(
    settings: Settings, site: Site, clock: Clock
) -> None:
    """Two applications (two processes' worth of state) racing one key: one receipt."""
    other = Ledger(settings, clock=clock)
    try:
        results = []

        def post(app: Ledger) -> None:
            results.append(
                app.post_receipt(
                    site.register_id,
                    stay_id=None,
                    method="card",
                    lines=[("other", 700)],
                    actor="c",
                    idempotency_key="race",
                )
            )

        threads = [
            threading.Thread(target=post, args=(app,))
            for app in (site.ledger, other, site.ledger, other)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert {r.result["number"] for r in results} == {1}
        assert receipt_numbers(site.ledger, site.register_id) == [1]
    finally:
        other.close()


def test_concurrent_cashiers_get_consecutive_numbers(ledger: Ledger, site: Site) -> None:
    """8 threads x 25 receipts on one register: numbers 1..200, none lost, none repeated."""
    errors: list[BaseException] = []

    def cashier(k: int) -> None:
        try:
            for i in range(25):
                ledger.post_receipt(
                    site.register_id,
                    stay_id=None,
                    method="cash",
                    lines=[("other", 100 + k)],
                    actor=f"cashier-{k}",
                    idempotency_key=f"t{k}-{i}",
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=cashier, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert receipt_numbers(ledger, site.register_id) == list(range(1, 201))
    assert ledger.audit.verify_register(site.register_id).ok


def _post_from_process(url: str, register_id: str, tag: str, n: int) -> None:
    app = Ledger(Settings(database_url=url))
    try:
        for i in range(n):
            app.post_receipt(
                UUID(register_id),
                stay_id=None,
                method="cash",
                lines=[("other", 100)],
                actor=tag,
                idempotency_key=f"{tag}-{i}",
            )
    finally:
        app.close()


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_processes_post_400_receipts_on_one_register(ledger: Ledger, site: Site) -> None:
    """On PostgreSQL, two OS processes posting 200 receipts each end with numbers 1..400."""
    # The processes record with the real clock: the register must not be "in the future".
    ctx = multiprocessing.get_context("spawn")
    url = ledger.settings.database_url
    procs = [
        ctx.Process(target=_post_from_process, args=(url, str(site.register_id), t, 200))
        for t in ("p1", "p2")
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0, 0]
    fresh = Ledger(ledger.settings)
    try:
        assert receipt_numbers(fresh, site.register_id) == list(range(1, 401))
        assert fresh.audit.verify_register(site.register_id).ok
    finally:
        fresh.close()


def test_an_aire_code_is_registered_once(ledger: Ledger, site: Site) -> None:
    """Registering the same aire code twice conflicts (ids derive from codes)."""
    with pytest.raises(AlreadyExists):
        ledger.create_aire(
            code="49007-A",
            name="Doublon",
            collectivite_id=site.collectivite_id,
            sector="Anjou",
            mode="dsp",
            insee_code="49007",
            departement="49",
            latitude=Decimal("47.4"),
            longitude=Decimal("-0.5"),
            actor="m",
        )


def test_an_emplacement_takes_one_stay_at_a_time(ledger: Ledger, site: Site) -> None:
    """Opening a second stay on an occupied emplacement is refused and records nothing."""
    site.arrive("1")
    version = ledger.aire(site.aire_id).version
    with pytest.raises(EmplacementUnavailable):
        site.arrive("1")
    assert ledger.aire(site.aire_id).version == version


def test_register_as_of_an_instant(ledger: Ledger, site: Site, clock: Clock) -> None:
    """The register as of a past instant has the receipts recorded up to then, no more;
    it works across snapshots (interval 50 in tests)."""
    stamps = []
    for i in range(120):
        clock.advance(minutes=5)
        ledger.post_receipt(
            site.register_id, stay_id=None, method="cash", lines=[("other", 100)], actor="c"
        )
        stamps.append(clock())
        if i % 40 == 39:
            clock.advance(days=1)
    as_of = stamps[69] + timedelta(seconds=1)
    past = ledger.audit.register_as_of(site.register_id, as_of)
    assert past.last_number == 70
    assert past.perpetual_total_cents == 7000
    now = ledger.cash_register(site.register_id)
    assert now.last_number == 120


def test_departure_frees_the_emplacement_atomically(
    ledger: Ledger, site: Site, clock: Clock
) -> None:
    """Departure records the stay's departure, its final charges and the aire's release
    together; the emplacement can take the next household."""
    stay_id = site.arrive("2")
    clock.advance(days=3)
    ledger.depart(
        stay_id,
        departed_at=clock(),
        exit_inspection_ref="EDL-S",
        water_index=Decimal("101"),
        electricity_index=Decimal("2010"),
        actor="c",
    )
    stay = ledger.stay(stay_id)
    assert stay.charged_until == date(2025, 1, 9)
    assert "2" not in ledger.aire(site.aire_id).occupants
    site.arrive("2")


def test_a_regie_collects_for_two_aires_of_one_collectivite(ledger: Ledger, site: Site) -> None:
    """A register attached to a second aire of the same collectivité takes that aire's
    stays; attaching twice, or across collectivités, is refused."""
    from hacienda_ledger.aggregates.errors import NotAllowed

    other = ledger.create_aire(
        code="49007-B",
        name="Aire B",
        collectivite_id=site.collectivite_id,
        sector="Anjou",
        mode="regie",
        insee_code="49007",
        departement="49",
        latitude=Decimal("47.4"),
        longitude=Decimal("-0.5"),
        actor="m",
    ).aggregate_id
    ledger.add_emplacement(other, number="1", actor="m")
    ledger.attach_register(other, site.register_id, actor="m")
    with pytest.raises(AlreadyExists):
        ledger.attach_register(other, site.register_id, actor="m")
    stay = ledger.open_stay(
        other,
        emplacement="1",
        household_ref=site.household(),
        arrived_at=ledger.clock(),
        composition=Composition(1),
        agreement_ref="C",
        entry_inspection_ref="E",
        water_index=Decimal(0),
        electricity_index=Decimal(0),
        actor="c",
    ).aggregate_id
    receipt = ledger.post_receipt(
        site.register_id, stay_id=stay, method="cash", lines=[("deposit", 5000)], actor="c"
    )
    assert receipt.result["number"] == 1
    assert ledger.deposit_held(ledger.stay(stay)) == 5000
    far = ledger.create_collectivite(
        code="C-far", name="Ailleurs", siren="200000001", actor="a"
    ).aggregate_id
    elsewhere = ledger.create_aire(
        code="85-X",
        name="Aire X",
        collectivite_id=far,
        sector="Vendée",
        mode="dsp",
        insee_code="85191",
        departement="85",
        latitude=Decimal("46.6"),
        longitude=Decimal("-1.4"),
        actor="m",
    ).aggregate_id
    with pytest.raises(NotAllowed):
        ledger.attach_register(elsewhere, site.register_id, actor="m")


def test_a_register_loaded_from_its_snapshots_equals_its_full_replay(
    ledger: Ledger, site: Site, clock: Clock
) -> None:
    """Snapshots (every 50 events in tests, taken from the aggregate in hand) restore the
    same register as replaying every event, deposits, closures and all."""
    from functools import reduce

    stay_id = site.arrive()
    ledger.post_receipt(
        site.register_id, stay_id=stay_id, method="cash", lines=[("deposit", 15000)], actor="c"
    )
    # charged 200 days ahead (600.00 €): the stay's receipts below settle part of it
    ledger.assess_charges(stay_id, through=clock().date() + timedelta(days=199), actor="c")
    for i in range(120):
        clock.advance(minutes=7)
        ledger.post_receipt(
            site.register_id,
            stay_id=stay_id if i % 3 else None,
            method=("cash", "card")[i % 2],
            lines=[("pitch_fee", 300 + i)],
            actor="c",
        )
        if i % 40 == 39:
            clock.advance(days=1)
            ledger.close_period(
                site.register_id, period="day", day=(clock() - timedelta(days=1)).date(), actor="c"
            )
    assert ledger.snapshot_writer is not None and ledger.snapshot_writer.flush()
    fresh = Ledger(ledger.settings)
    try:
        assert fresh.snapshots is not None
        assert fresh.snapshots.get(site.register_id)  # at least one snapshot was taken
        loaded = fresh.cash_register(site.register_id)
        replayed = reduce(lambda agg, e: e.mutate(agg), fresh.events.get(site.register_id), None)
        assert loaded == replayed
    finally:
        fresh.close()


@pytest.mark.parametrize("version", [1, 2])
def test_a_register_snapshotted_before_its_state_version_3_is_replayed_from_its_events(
    ledger: Ledger, site: Site, clock: Clock, version: int
) -> None:
    """A snapshot stored by an older version of the register's state (1: no ``class_version``
    in it; 2: the régie's rules but no movements to pay in, deposits in the closures' totals)
    is not used: the register loads from its events alone, equal to their replay, and takes
    new commands."""
    from functools import reduce

    stay_id = site.arrive()
    ledger.post_receipt(
        site.register_id, stay_id=stay_id, method="cash", lines=[("deposit", 15000)], actor="c"
    )
    ledger.assess_charges(stay_id, through=clock().date() + timedelta(days=6), actor="c")
    ledger.post_receipt(
        site.register_id, stay_id=stay_id, method="cash", lines=[("pitch_fee", 2100)], actor="c"
    )
    assert ledger.snapshots is not None
    old = CashRegister.Snapshot.take(ledger.cash_register(site.register_id))
    del old.state["class_version"]
    if version == 2:
        old.state["class_version"] = 2
    old.state.pop("unremitted")
    ledger.snapshots.put([old])
    fresh = Ledger(ledger.settings)
    try:
        assert fresh.snapshots is not None and fresh.snapshots.get(site.register_id)
        loaded = fresh.cash_register(site.register_id)
        replayed = reduce(lambda agg, e: e.mutate(agg), fresh.events.get(site.register_id), None)
        assert loaded == replayed
        assert loaded.slip_preview(2)[1] == {"cash": 2100}
        fresh.remit(
            site.register_id, through_receipt=2, amounts_by_method={"cash": 2100}, actor="c"
        )
        assert fresh.cash_register(site.register_id).last_slip_number == 1
    finally:
        fresh.close()
