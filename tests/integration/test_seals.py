"""Monthly seals (arrêtés mensuels): a month is sealed once every register of the aire has
closed it; afterwards nothing dated inside it is accepted, whatever the aggregate, and the
heads a seal recorded are checked against the store — on SQLite and PostgreSQL. The clock
walks from January into February; nothing sleeps."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
import pytest

from hacienda_ledger.aggregates.aire_values import SealedPlaceDays
from hacienda_ledger.aggregates.errors import (
    EarlierMonthNotSealed,
    EmplacementUnavailable,
    InvalidPeriod,
    InvalidValue,
    MonthNotClosed,
    MonthNotSealed,
    PeriodSealed,
    SealedFiguresChanged,
)
from hacienda_ledger.aggregates.seal import Seals
from hacienda_ledger.application import Ledger
from hacienda_ledger.cli import main
from hacienda_ledger.reports.generate import Job
from tests.conftest import Clock, Site, standard_tariff
from tests.integration.test_tamper import Row, StoredRows

JANUARY = datetime(2025, 1, 20, 10, tzinfo=UTC)
FEBRUARY = datetime(2025, 2, 3, 10, tzinfo=UTC)


class January:
    """A site whose January was lived: a stay arrived, read, charged and paid; the clock
    then on 3 February."""

    def __init__(self, ledger: Ledger, clock: Clock) -> None:
        self.ledger, self.clock = ledger, clock
        self.site = Site(ledger)
        self.stay_id = self.site.arrive("1")
        self.household_id = self.site.household("Famille Suivante")
        clock.advance(days=10)
        ledger.record_meter_reading(
            self.stay_id, meter="water", index=Decimal("104"), read_at=clock(), actor="c"
        )
        ledger.assess_charges(self.stay_id, through=date(2025, 1, 20), actor="c")
        ledger.post_receipt(
            self.site.register_id,
            stay_id=self.stay_id,
            method="cash",
            lines=[("pitch_fee", 900)],
            actor="c",
        )
        clock.now = FEBRUARY

    def close_january(self) -> None:
        self.ledger.close_period(
            self.site.register_id, period="month", day=date(2025, 1, 31), actor="r"
        )

    def seal_january(self) -> str:
        """The month end: the stay charged through the 31st, the register's closure, the
        seal."""
        self.ledger.assess_charges(self.stay_id, through=date(2025, 1, 31), actor="c")
        self.close_january()
        return str(
            self.ledger.seal_month(self.site.aire_id, month="2025-01", actor="m").result["hash"]
        )


@pytest.fixture
def january(ledger: Ledger, clock: Clock) -> January:
    return January(ledger, clock)


def test_a_month_is_sealed_once_every_register_closed_it(january: January) -> None:
    """Refused while the register has not closed January, for a month not over and for no
    month at all; then
    sealed, chained to nothing before it, with the head of every chain of the aire."""
    ledger, aire_id = january.ledger, january.site.aire_id
    with pytest.raises(MonthNotClosed) as refused:
        ledger.seal_month(aire_id, month="2025-01", actor="m")
    assert refused.value.code == "month_not_closed"
    with pytest.raises(MonthNotClosed, match="not over"):
        ledger.seal_month(aire_id, month="2025-02", actor="m")
    with pytest.raises(InvalidPeriod):
        ledger.seal_month(aire_id, month="2025-13", actor="m")
    assert ledger.audit.seal_events(aire_id) == []
    sealed = january.seal_january()
    (seal,) = ledger.audit.seal_events(aire_id)
    assert (seal.month, seal.hash, seal.prev_hash) == ("2025-01", sealed, "0" * 64)
    kinds = {head.kind: head for head in seal.heads}
    # and the technical journal's head (no read of personal data is logged yet: no access
    # log's head), entry 1 the household's key taken into use before the seal's own entry
    assert set(kinds) == {"aire", "register", "stay", "journal"}
    sealed_entry = ledger.journal.entries(kinds=["month_sealed"])[0]
    assert kinds["journal"].version == sealed_entry.sequence - 1
    register = ledger.cash_register(january.site.register_id)
    assert (kinds["register"].version, kinds["register"].digest) == (
        register.version,
        register.head_hash,
    )
    assert kinds["stay"].aggregate_id == january.stay_id
    assert sorted(seal.digests) == [
        "alt2:2025-01",
        f"month_closure:{january.site.register_id}",
        "occupancy:2025-01",
    ]
    assert ledger.audit.verify_seals(aire_id) == []


def test_a_month_is_sealed_once(january: January) -> None:
    january.seal_january()
    with pytest.raises(PeriodSealed):
        january.ledger.seal_month(january.site.aire_id, month="2025-01", actor="m")
    assert len(january.ledger.audit.seal_events(january.site.aire_id)) == 1


def test_months_are_sealed_in_order_from_the_aires_entry_into_service(january: January) -> None:
    """On 3 March, with January not sealed, sealing February is refused
    (``earlier_month_not_sealed``) and records nothing; January is not sealed either while
    the register closed February but not January (a later month's closure does not close
    it). The register then closes January, and January, February and (on 2 April) March are
    sealed in order, each chained to the one before."""
    ledger, aire_id, register_id = january.ledger, january.site.aire_id, january.site.register_id
    january.clock.now = datetime(2025, 3, 3, 10, tzinfo=UTC)
    ledger.assess_charges(january.stay_id, through=date(2025, 2, 28), actor="c")
    ledger.close_period(register_id, period="month", day=date(2025, 2, 28), actor="r")
    before = ledger.last_position()
    with pytest.raises(EarlierMonthNotSealed) as refused:
        ledger.seal_month(aire_id, month="2025-02", actor="m")
    with pytest.raises(MonthNotClosed):
        ledger.seal_month(aire_id, month="2025-01", actor="m")
    assert (refused.value.code, refused.value.field) == ("earlier_month_not_sealed", "month")
    assert ledger.last_position() == before
    assert ledger.audit.seal_events(aire_id) == []
    january.close_january()
    ledger.seal_month(aire_id, month="2025-01", actor="m")
    ledger.seal_month(aire_id, month="2025-02", actor="m")
    january.clock.now = datetime(2025, 4, 2, 10, tzinfo=UTC)
    ledger.assess_charges(january.stay_id, through=date(2025, 3, 31), actor="c")
    ledger.close_period(register_id, period="month", day=date(2025, 3, 31), actor="r")
    ledger.seal_month(aire_id, month="2025-03", actor="m")
    seals = ledger.audit.seal_events(aire_id)
    assert [s.month for s in seals] == ["2025-01", "2025-02", "2025-03"]
    assert [s.prev_hash for s in seals] == ["0" * 64, seals[0].hash, seals[1].hash]
    assert ledger.audit.verify_seals(aire_id) == []


IN_JANUARY: dict[str, Callable[[January], Any]] = {
    "arrival": lambda j: j.site.arrive("2", arrived_at=JANUARY, household_ref=j.household_id),
    "departure": lambda j: j.ledger.depart(
        j.stay_id,
        departed_at=JANUARY,
        exit_inspection_ref="EDL-S",
        water_index=Decimal("105"),
        electricity_index=Decimal("2001"),
        actor="c",
    ),
    "reading": lambda j: j.ledger.record_meter_reading(
        j.stay_id, meter="water", index=Decimal("105"), read_at=JANUARY, actor="c"
    ),
    "charges": lambda j: j.ledger.assess_charges(j.stay_id, through=date(2025, 1, 25), actor="c"),
    "extension": lambda j: j.ledger.extend_stay(
        j.stay_id, reason="school", evidence_ref="CERT-1", until=date(2025, 1, 31), actor="m"
    ),
    "tariff": lambda j: j.ledger.adopt_tariff(
        j.site.aire_id, standard_tariff(date(2025, 1, 15)), actor="m"
    ),
    "closure": lambda j: j.ledger.schedule_closure(
        j.site.aire_id,
        start=date(2025, 1, 25),
        end=date(2025, 1, 27),
        reason="travaux",
        urgent=True,
        actor="m",
    ),
    "out of service": lambda j: j.ledger.put_out_of_service(
        j.site.aire_id, number="3", start=date(2025, 1, 22), reason="panne", actor="m"
    ),
    "register closure": lambda j: j.ledger.close_period(
        j.site.register_id, period="day", day=date(2025, 1, 30), actor="r"
    ),
}


@pytest.mark.parametrize("kind", list(IN_JANUARY))
def test_nothing_dated_in_a_sealed_month_is_accepted(january: January, kind: str) -> None:
    """Given January sealed, when any fact dated in January is recorded, then 409
    ``period_sealed`` and nothing is recorded."""
    january.seal_january()
    before = january.ledger.last_position()
    with pytest.raises(PeriodSealed) as refused:
        IN_JANUARY[kind](january)
    assert refused.value.code == "period_sealed"
    assert january.ledger.last_position() == before


def test_facts_dated_after_the_sealed_month_are_accepted(january: January) -> None:
    """The open month goes on: a reading, charges and a tariff dated in February."""
    january.seal_january()
    ledger, stay_id = january.ledger, january.stay_id
    ledger.record_meter_reading(
        stay_id, meter="water", index=Decimal("106"), read_at=FEBRUARY, actor="c"
    )
    ledger.assess_charges(stay_id, through=date(2025, 2, 2), actor="c")
    ledger.adopt_tariff(january.site.aire_id, standard_tariff(date(2025, 3, 1)), actor="m")
    assert ledger.stay(stay_id).charged_until == date(2025, 2, 3)


def test_a_sealed_stay_rewritten_or_cut_short_is_found(january: January) -> None:
    """A stay's event edited after the seal, or its last events deleted: the seal's head no
    longer matches the store (the register's own chain is verified against its head)."""
    january.seal_january()
    ledger, aire_id = january.ledger, january.site.aire_id
    stored = StoredRows(ledger, january.stay_id)
    try:
        rows = stored.all()
        edited = rows[1].state.replace(b"104", b"140")
        assert edited != rows[1].state
        stored.set(rows[1].version, state=edited)
        (finding,) = ledger.audit.verify_seals(aire_id)
        assert (finding.month, finding.aggregate_id, finding.kind) == (
            "2025-01",
            january.stay_id,
            "rewritten",
        )
        stored.set(rows[1].version, state=rows[1].state)
        assert ledger.audit.verify_seals(aire_id) == []
        stored.delete(rows[-1].version)
        (finding,) = ledger.audit.verify_seals(aire_id)
        assert finding.kind == "truncated"
        stored.insert(Row(rows[-1].version, rows[-1].topic, rows[-1].state))
        assert ledger.audit.verify_seals(aire_id) == []
    finally:
        stored.close()


def test_the_seals_own_chain_is_verified(january: January) -> None:
    """An edited seal (here: its month) breaks the seals' chain."""
    january.seal_january()
    ledger, aire_id = january.ledger, january.site.aire_id
    stored = StoredRows(ledger, Seals.id_for(aire_id))
    try:
        rows = stored.all()
        stored.set(rows[-1].version, state=rows[-1].state.replace(b"2025-01", b"2024-12"))
        kinds = {f.kind for f in ledger.audit.verify_seals(aire_id)}
        assert "hash_mismatch" in kinds
    finally:
        stored.close()


def test_seals_read_by_ids_only(january: January) -> None:
    """No personal data in a seal: ids, versions and digests."""
    january.seal_january()
    (seal,) = january.ledger.audit.seal_events(january.site.aire_id)
    for head in seal.heads:
        assert isinstance(head.aggregate_id, UUID)
        assert len(head.digest) == 64


def test_the_cli_seals_every_aire_due_and_verify_checks_the_seals(
    january: January, capsys: pytest.CaptureFixture[str]
) -> None:
    """`hacienda-ledger seal --month` seals every aire whose registers closed the month (the
    others are listed, exit 1); `verify` then checks the seals too and names a broken one."""
    url = january.ledger.settings.database_url
    assert main(["--database-url", url, "seal", "--month", "2025-01"]) == 1
    out = capsys.readouterr()
    assert "month_not_closed" in out.err
    assert "2025-01: 0 aires sealed, 0 sealed already, 1 refused" in out.out
    january.ledger.assess_charges(january.stay_id, through=date(2025, 1, 31), actor="c")
    january.close_january()
    assert main(["--database-url", url, "seal", "--month", "2025-01"]) == 0
    assert "1 aires sealed" in capsys.readouterr().out
    assert main(["--database-url", url, "seal", "--month", "2025-01"]) == 0
    assert "1 sealed already" in capsys.readouterr().out
    assert main(["--database-url", url, "verify"]) == 0
    assert "1 aires with seals verified, 0 broken" in capsys.readouterr().out
    stored = StoredRows(january.ledger, january.stay_id)
    try:
        row = stored.all()[1]
        stored.set(row.version, state=row.state.replace(b"104", b"140"))
    finally:
        stored.close()
    assert main(["--database-url", url, "verify"]) == 1
    out = capsys.readouterr().out
    assert f"month 2025-01: rewritten: {january.stay_id}" in out
    assert "1 aires with seals verified, 1 broken" in out


def test_the_cli_seals_no_month_before_the_aires_entry_into_service(
    january: January, capsys: pytest.CaptureFixture[str]
) -> None:
    """`hacienda-ledger seal --month 2024-12`, the aire in service from January 2025: no
    aire is due (exit 0, nothing sealed); the aire named is refused, ``invalid_period``
    (exit 1). Nothing is recorded."""
    url = january.ledger.settings.database_url
    before = january.ledger.recorder.max_notification_id()
    assert main(["--database-url", url, "seal", "--month", "2024-12"]) == 0
    assert "2024-12: 0 aires sealed, 0 sealed already, 0 refused" in capsys.readouterr().out
    aire = str(january.site.aire_id)
    assert main(["--database-url", url, "seal", "--month", "2024-12", "--aire", aire]) == 1
    out = capsys.readouterr()
    assert "invalid_period" in out.err and "1 refused" in out.out
    assert january.ledger.audit.seal_events(january.site.aire_id) == []
    assert before == january.ledger.recorder.max_notification_id()


def test_a_projection_drifted_from_the_events_breaks_the_seal(january: January) -> None:
    """The figures a seal digested are recomputed by verification: an emplacement's places
    edited in the occupancy projection (a drifted table, or what a forged event folds into)
    changes January's occupancy and ALT2, and the seal says so to an auditor's process."""
    january.seal_january()
    ledger, aire_id = january.ledger, january.site.aire_id
    assert ledger.audit.verify_seals(aire_id) == []
    table = "occupancy_emplacements"
    if ledger.settings.is_postgres:
        with psycopg.connect(ledger.settings.database_url, autocommit=True) as conn:
            conn.execute(f"UPDATE {table} SET places = places + 1 WHERE number = '2'")
    else:
        with closing(sqlite3.connect(ledger.settings.sqlite_path)) as conn, conn:
            conn.execute(f"UPDATE {table} SET places = places + 1 WHERE number = '2'")
    auditor = Ledger(ledger.settings)  # an auditor's own process: nothing read before
    try:
        kinds = {(f.month, f.kind, f.detail) for f in auditor.audit.verify_seals(aire_id)}
    finally:
        auditor.close()
    assert ("2025-01", "figures_changed", "alt2:2025-01 differs from the one sealed") in kinds
    assert ("2025-01", "figures_changed", "occupancy:2025-01 differs from the one sealed") in kinds


@pytest.mark.parametrize("kind", ["TariffAdopted", "ChargesAssessed"])
def test_an_edited_tariff_or_charge_breaks_the_seal_without_attestations(
    january: January, kind: str
) -> None:
    """The measured defect: a stored ``TariffAdopted`` (the aire's) or ``ChargesAssessed``
    (the stay's) edited in the database passed `verify`; under a seal it is found."""
    january.seal_january()
    ledger, aire_id = january.ledger, january.site.aire_id
    owner = aire_id if kind == "TariffAdopted" else january.stay_id
    stored = StoredRows(ledger, owner)
    try:
        (row, *_) = [r for r in stored.all() if r.topic.endswith(kind)]
        edited = row.state.replace(b'"actor":"', b'"actor":"x')  # any byte of it will do
        assert edited != row.state
        stored.set(row.version, state=edited)
    finally:
        stored.close()
    found = {(f.aggregate_id, f.kind) for f in ledger.audit.verify_seals(aire_id)}
    assert (owner, "rewritten") in found


def test_an_aire_recorded_with_its_history_counts_as_if_recorded_then(
    ledger: Ledger, clock: Clock
) -> None:
    """Aire A lives January to March as it happens; aire B is recorded in April with its
    history: emplacements in service since 1 January, the tariff since 1 January (no stay
    yet, so not retroactive), and March's stays back-dated. March's occupancy and ALT2 are
    the same for both (the measured defect: B had 0 available place-days in March)."""
    from dataclasses import replace

    from hacienda_ledger.application.projecting import ProjectionQueries

    def stays(site: Site, number: str, arrived: datetime, left: datetime) -> None:
        household = site.household(f"Famille {site.aire_id}")
        stay = site.arrive(number, household_ref=household, arrived_at=arrived)
        ledger.depart(
            stay,
            departed_at=left,
            exit_inspection_ref="EDL-S",
            water_index=Decimal(100),
            electricity_index=Decimal(2000),
            actor="c",
        )

    arrived, left = datetime(2025, 3, 3, 10, tzinfo=UTC), datetime(2025, 3, 20, 10, tzinfo=UTC)
    clock.now = datetime(2025, 1, 1, 9, tzinfo=UTC)
    a = Site(ledger, code="49100-A")
    clock.now = arrived
    a.arrive("3")  # present through the end of March
    clock.now = left
    stays(a, "1", arrived, left)
    clock.now = datetime(2025, 4, 7, 9, tzinfo=UTC)
    b = Site(ledger, code="49100-B", in_service_from=date(2025, 1, 1))  # recorded today,
    # in service since 1 January, its first emplacements and tariff recorded today...
    for number in ("5", "6", "7", "8"):  # ...and its history: four more since 1 January
        ledger.add_emplacement(
            b.aire_id, number=number, in_service_from=date(2025, 1, 1), actor="m"
        )
    ledger.adopt_tariff(b.aire_id, standard_tariff(date(2024, 12, 1)), actor="m")
    with pytest.raises(EmplacementUnavailable, match="enters service on 2025-04-07"):
        b.arrive("1", arrived_at=arrived)  # added today: not in service in March
    b.arrive("7", arrived_at=arrived, household_ref=b.household("Famille présente"))
    stays(b, "5", arrived, left)
    queries = ProjectionQueries(ledger)
    end = date(2025, 3, 31)
    occ_a = queries.occupancy(a.aire_id, "2025-03", end)
    occ_b = queries.occupancy(b.aire_id, "2025-03", end)
    # A: 4 emplacements since January; B: 4 since April and 4 since January. The stays:
    # A on 3 and 1, B on 7 and 5 — the same places, the same days
    assert occ_a.available_place_days == occ_b.available_place_days == 4 * 2 * 31
    assert replace(occ_b, aire_id="") == replace(occ_a, aire_id="")
    (alt2_a,) = [m for m in queries.alt2(a.aire_id, 2025, end) if m.month == "2025-03"]
    (alt2_b,) = [m for m in queries.alt2(b.aire_id, 2025, end) if m.month == "2025-03"]
    assert replace(alt2_b, aire_id="", places=0) == replace(alt2_a, aire_id="", places=0)
    # before 1 January, B was not in service: « not in service », not 0 %
    december = queries.occupancy(b.aire_id, "2024-12", date(2024, 12, 31))
    assert (december.in_service, december.occupancy_rate) == (False, None)
    assert queries.occupancy(b.aire_id, "2025-01", date(2025, 1, 31)).in_service
    with pytest.raises(InvalidPeriod, match="cannot enter service before it"):
        ledger.add_emplacement(b.aire_id, number="9", in_service_from=date(2024, 12, 31), actor="m")


def test_a_sealed_month_is_corrected_by_a_regularisation_in_the_open_month(
    january: January,
) -> None:
    """A reading forgotten in January cannot be recorded there once sealed: the correction
    is a régularisation recorded in February that names January (two place-days, 6.00 €);
    January's seal and figures stay as they were. A month not sealed is corrected by its
    facts, and a régularisation that corrects nothing is refused."""
    ledger, aire_id = january.ledger, january.site.aire_id
    with pytest.raises(MonthNotSealed, match="not sealed"):
        ledger.regularise(aire_id, month="2025-01", place_days=2, reason="oubli", actor="m")
    january.seal_january()
    before = ledger.audit.seal_events(aire_id)
    with pytest.raises(InvalidValue):
        ledger.regularise(aire_id, month="2025-01", reason="rien", actor="m")
    ledger.regularise(
        aire_id, month="2025-01", place_days=2, amount_cents=600, reason="oubli", actor="m"
    )
    (done,) = ledger.aire(aire_id).regularisations
    assert (done.month, done.recorded_on, done.place_days, done.amount_cents) == (
        "2025-01",
        date(2025, 2, 3),
        2,
        600,
    )
    assert ledger.audit.seal_events(aire_id) == before
    assert ledger.audit.verify_seals(aire_id) == []


def test_the_reports_list_the_regularisation_beside_the_declared_figures(
    january: January,
) -> None:
    """February's monthly report lists it; the 2025 ALT2 shows January as declared (sealed)
    and regularised (the aid recomputed with two more occupied place-days)."""
    from hacienda_ledger.reports.generate import Reports
    from hacienda_ledger.reports.render import to_csv

    ledger, aire_id = january.ledger, january.site.aire_id
    january.seal_january()
    ledger.regularise(
        aire_id, month="2025-01", place_days=2, amount_cents=600, reason="oubli", actor="m"
    )
    reports = Reports(ledger)
    january.clock.now = datetime(2026, 1, 5, 9, tzinfo=UTC)
    monthly = to_csv(reports._model(Job("monthly", aire_id, "2025-02"), january.clock())[0])
    assert "Régularisations enregistrées dans le mois" in monthly.decode("utf-8-sig")
    assert "janvier 2025;2;6,00;oubli" in monthly.decode("utf-8-sig")
    alt2 = reports.figures.alt2(aire_id, 2025)
    (jan,) = [m for m in alt2.months if m.month == "2025-01"]
    report = reports._model(Job("alt2", aire_id, "2025"), january.clock())[0]
    (section,) = [x for x in report.sections if x.title == "Régularisations"]
    (row,) = section.rows
    regularised = (5650 * jan.available_place_days + 7595 * (jan.occupancy_days + 2) + 15) // 31
    assert row[2:] == (2, jan.aid_cents, regularised)
    assert regularised > jan.aid_cents


def test_a_month_is_sealed_once_its_stays_are_charged_and_never_charged_again(
    january: January,
) -> None:
    """The stay charged through 20 January only: the seal waits (month_not_closed, naming
    it); charged through the 31st, January is sealed, and a stay's day of January is never
    charged afterwards, whatever ``through`` says."""
    ledger, aire_id = january.ledger, january.site.aire_id
    january.close_january()
    with pytest.raises(MonthNotClosed, match=f"stay {january.stay_id} is not charged"):
        ledger.seal_month(aire_id, month="2025-01", actor="m")
    late = january.site.arrive("2", household_ref=january.household_id)  # on 3 February
    ledger.assess_charges(january.stay_id, through=date(2025, 1, 31), actor="c")
    ledger.seal_month(aire_id, month="2025-01", actor="m")
    ledger.assess_charges(late, through=date(2025, 2, 5), actor="c")  # February only: fine
    assert ledger.stay(late).charged_until == date(2025, 2, 6)


def test_days_of_a_sealed_month_left_uncharged_are_never_charged_afterwards(
    january: January, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A month sealed before every stay was charged through its end (a seal made before the
    rule, here by lifting it for the seal): the stay's January days stay uncharged, and
    charges through February are refused (period_sealed), nothing recorded."""
    from hacienda_ledger.aggregates.stay import Stay

    ledger, aire_id = january.ledger, january.site.aire_id
    january.close_january()
    with monkeypatch.context() as lifted:
        lifted.setattr(Stay, "uncharged_through", lambda self, day: False)
        ledger.seal_month(aire_id, month="2025-01", actor="m")
    before = ledger.last_position()
    with pytest.raises(PeriodSealed, match="lie in a sealed month"):
        ledger.assess_charges(january.stay_id, through=date(2025, 2, 2), actor="c")
    assert ledger.last_position() == before


def test_an_aire_created_through_the_api_with_its_service_start(
    ledger: Ledger, clock: Clock
) -> None:
    """``POST /v1/aires`` with ``in_service_from`` in the past: the aire shows it, an
    emplacement before it is refused (422 invalid_period, nothing recorded), and the ALT2
    figures read the months before it « not in service » (no rate, no aid)."""
    from fastapi.testclient import TestClient

    from hacienda_ledger.api.app import create_app

    clock.now = datetime(2025, 4, 7, 9, tzinfo=UTC)
    coll = ledger.create_collectivite(code="C-H", name="CC", siren="244900015", actor="a")
    _, token = ledger.create_user(name="admin", role="admin", actor="cli")
    admin = {"Authorization": f"Bearer {token}"}
    body = {
        "code": "49200-H",
        "name": "Aire historique",
        "collectivite_id": str(coll.aggregate_id),
        "sector": "Anjou",
        "mode": "regie",
        "insee_code": "49200",
        "departement": "49",
        "latitude": "47.1",
        "longitude": "-0.5",
        "in_service_from": "2025-02-01",
    }
    with TestClient(create_app(ledger.settings, ledger=ledger)) as client:
        created = client.post("/v1/aires", json=body, headers=admin)
        assert created.status_code == 201, created.text
        aire_id = created.json()["id"]
        assert created.json()["in_service_from"] == "2025-02-01"
        position = ledger.last_position()
        early = client.post(
            f"/v1/aires/{aire_id}/emplacements",
            json={"number": "1", "in_service_from": "2025-01-31"},
            headers=admin,
        )
        assert early.status_code == 422, early.text
        assert early.json()["code"] == "invalid_period"
        assert ledger.last_position() == position
        added = client.post(
            f"/v1/aires/{aire_id}/emplacements",
            json={"number": "1", "in_service_from": "2025-02-01"},
            headers=admin,
        )
        assert added.status_code == 201, added.text
        alt2 = client.get(f"/v1/aires/{aire_id}/alt2", params={"year": 2025}, headers=admin)
    months = {m["month"]: m for m in alt2.json()["months"]}
    assert (months["2025-01"]["in_service"], months["2025-01"]["aid_cents"]) == (False, 0)
    assert months["2025-01"]["occupancy_rate"] is None
    assert months["2025-02"]["in_service"] and months["2025-02"]["available_place_days"] == 56


def test_a_regularisation_reads_the_month_as_its_seal_recorded_it(january: January) -> None:
    """The place-days a régularisation is bounded by are January's as sealed: the occupancy
    projection caught up, checked against the digest the seal recorded; a digest that no
    longer matches (a fact of January changed since) is sealed_figures_changed, and a month
    without a seal of its own has none."""
    from hacienda_ledger.application.handlers.seals import sealed_place_days
    from hacienda_ledger.application.projecting import sealed_occupancy

    ledger, aire_id = january.ledger, january.site.aire_id
    january.seal_january()
    audit = ledger.audit
    assert SealedPlaceDays(occupied=52, available=208) == sealed_place_days(
        audit, aire_id, "2025-01"
    )
    assert None is sealed_place_days(audit, aire_id, "2024-12")
    (seal,) = audit.seal_events(aire_id)
    forged = {**seal.digests, "occupancy:2025-01": "0" * 64}
    with pytest.raises(SealedFiguresChanged, match="no longer the one sealed"):
        sealed_occupancy(audit.queries(), aire_id, "2025-01", forged)


def test_the_alt2_route_says_which_months_are_sealed(january: January) -> None:
    """``GET /v1/aires/{id}/alt2`` marks each month ``sealed`` or not and the year
    ``provisional`` while a month in service is unsealed, as the ALT2 declaration does:
    before January's seal every month is unsealed; after it January is sealed, February
    (in service, not sealed) keeps the year provisional, and a month before the aire was in
    service counts for nothing."""
    from fastapi.testclient import TestClient

    from hacienda_ledger.api.app import create_app

    ledger = january.ledger
    _, token = ledger.create_user(name="admin", role="admin", actor="cli")
    admin = {"Authorization": f"Bearer {token}"}
    path = f"/v1/aires/{january.site.aire_id}/alt2"

    def marks(client: TestClient, year: int) -> tuple[dict[str, bool], bool]:
        body = client.get(path, params={"year": year}, headers=admin).json()
        return {m["month"]: m["sealed"] for m in body["months"]}, body["provisional"]

    with TestClient(create_app(ledger.settings, ledger=ledger)) as client:
        before, provisional_before = marks(client, 2025)
        january.seal_january()
        after, provisional_after = marks(client, 2025)
        earlier, provisional_earlier = marks(client, 2024)
    assert (before["2025-01"], provisional_before) == (False, True)
    assert (after["2025-01"], after["2025-02"], provisional_after) == (True, False, True)
    assert (set(earlier.values()), provisional_earlier) == ({False}, False)
