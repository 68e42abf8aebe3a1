"""Interventions on an aire and the aire's team, through the Ledger's commands, on SQLite and
PostgreSQL: given a site (an aire of 4 emplacements), when an intervention is recorded or
its status changed, then its events, the aire's, or the refusal (nothing recorded). The
clock is moved by hand."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from hacienda_ledger.aggregates.errors import (
    AlreadyExists,
    EmplacementNotFound,
    Forbidden,
    InterventionFinal,
    InterventionNotFound,
    InvalidAmount,
    InvalidPeriod,
    InvalidValue,
    LedgerError,
    OutsideCollectivite,
    PeriodSealed,
    StayNotFound,
    UserNotFound,
)
from hacienda_ledger.aggregates.integrity import GENESIS
from hacienda_ledger.aggregates.intervention import Intervention
from hacienda_ledger.aggregates.user import Role
from hacienda_ledger.application import Ledger
from hacienda_ledger.application import commands as c
from hacienda_ledger.reports.generate import Reports
from tests.conftest import Clock, Site
from tests.integration.test_reports import (
    csv_rows,
    csv_section,
    dsp_aire_with_a_sale,
    pdf_text,
    sheet_rows,
)
from tests.integration.test_tamper import StoredRows

MORNING = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)


def _user(ledger: Ledger, role: str, **scope: Any) -> UUID:
    outcome, _ = ledger.create_user(name=f"{role} X", role=role, actor="admin", **scope)
    return outcome.aggregate_id


def _record(site: Site, **kw: Any) -> UUID:
    values: dict[str, Any] = dict(
        kind="cleaning",
        started_at=MORNING,
        ended_at=MORNING + timedelta(hours=2),
        description="sanitaires nettoyés",
        actor="manager",
    )
    values.update(kw)
    return site.ledger.record_intervention(site.aire_id, **values).aggregate_id


def test_an_intervention_is_recorded_and_linked_on_its_aire(site: Site) -> None:
    """Given a site and a user, when a repair with its cost is recorded on two emplacements,
    then the intervention holds every field and the aire links it (its chain holds it)."""
    ledger = site.ledger
    worker = _user(ledger, "intervenant", aire_ids=[site.aire_id])
    intervention_id = _record(
        site,
        kind="repair",
        label="robinet",
        emplacements=["1", "2"],
        who=[worker],
        cost_cents=12550,
        supplier_ref="FACT-2025-001",
        status="done",
    )
    i = ledger.intervention(intervention_id)
    assert (i.aire_id, i.kind.value, i.label, i.status.value) == (
        site.aire_id,
        "repair",
        "robinet",
        "done",
    )
    assert (i.emplacements, i.who, i.cost_cents, i.supplier_ref) == (
        ("1", "2"),
        (worker,),
        12550,
        "FACT-2025-001",
    )
    assert ledger.aire(site.aire_id).intervention_ids == (intervention_id,)
    assert i.out_of_service_days == 0


def test_an_incident_puts_emplacements_out_of_service_and_back_in_one_command(
    site: Site,
) -> None:
    """Given a site, when an incident from the 6th to the 9th puts emplacement 3 out of
    service, then the aire has it out from the 6th and back on the 9th (3 days), recorded in
    the same command."""
    ledger = site.ledger
    before = ledger.aire(site.aire_id).version
    intervention_id = _record(
        site,
        kind="incident",
        label="inondation",
        emplacements=["3"],
        ended_at=MORNING + timedelta(days=3),
        out_of_service=True,
    )
    aire = ledger.aire(site.aire_id)
    periods = aire.emplacements["3"].out_of_service
    assert [(p.start, p.end) for p in periods] == [(date(2025, 1, 6), date(2025, 1, 9))]
    assert aire.version == before + 3  # linked, out, back
    assert ledger.intervention(intervention_id).out_of_service_days == 3


def test_an_open_incident_brings_its_emplacements_back_when_done(site: Site, clock: Clock) -> None:
    """Given an incident still going on (planned, no end) with emplacement 2 out of service,
    when it is marked done two days later, then the emplacement is back from that day, and
    the status is final afterwards (``intervention_final``)."""
    ledger = site.ledger
    intervention_id = _record(
        site,
        kind="incident",
        description="câble arraché",
        emplacements=["2"],
        ended_at=None,
        status="planned",
        out_of_service=True,
    )
    assert not ledger.aire(site.aire_id).emplacements["2"].in_service_on(date(2025, 1, 7))
    clock.advance(days=2)
    ledger.set_intervention_status(intervention_id, status="done", actor="manager")
    i = ledger.intervention(intervention_id)
    assert (i.status.value, i.ended_at, i.back_in_service_on) == ("done", clock(), date(2025, 1, 8))
    assert ledger.aire(site.aire_id).emplacements["2"].in_service_on(date(2025, 1, 8))
    for status in ("cancelled", "done"):
        with pytest.raises(InterventionFinal):
            ledger.set_intervention_status(intervention_id, status=status, actor="manager")


def test_a_planned_intervention_is_cancelled_once(site: Site) -> None:
    """planned -> cancelled; then nothing moves it (and ``planned`` is never set again)."""
    ledger = site.ledger
    intervention_id = _record(site, kind="pest_control", status="planned", ended_at=None)
    with pytest.raises(InvalidValue):
        ledger.set_intervention_status(intervention_id, status="planned", actor="m")
    ledger.set_intervention_status(intervention_id, status="cancelled", actor="m")
    assert ledger.intervention(intervention_id).status.value == "cancelled"
    with pytest.raises(InterventionFinal):
        ledger.set_intervention_status(intervention_id, status="done", actor="m")


def test_a_follow_up_names_an_earlier_intervention_of_the_same_aire(site: Site) -> None:
    """``follows`` names an intervention of this aire; one of another collectivité's aire
    is refused (403 ``outside_collectivite``), nothing recorded."""
    ledger = site.ledger
    first = _record(site, kind="inspection")
    follow_up = _record(site, kind="repair", follows=first)
    assert ledger.intervention(follow_up).follows == first
    other = Site(ledger, code="49007-B")
    elsewhere = _record(other, kind="inspection")
    before = ledger.last_position()
    with pytest.raises(OutsideCollectivite) as refused:
        _record(site, kind="repair", follows=elsewhere)
    assert refused.value.field == "follows"
    assert ledger.last_position() == before


REFUSALS: dict[str, tuple[dict[str, Any], type[LedgerError], str | None]] = {
    "kind off the list": ({"kind": "gardening"}, InvalidValue, "kind"),
    "other without a label": ({"kind": "other"}, InvalidValue, "label"),
    "ends before it starts": (
        {"ended_at": MORNING - timedelta(minutes=1)},
        InvalidPeriod,
        "ended_at",
    ),
    "negative cost": ({"cost_cents": -1}, InvalidAmount, "cost_cents"),
    "recorded cancelled": ({"status": "cancelled"}, InvalidValue, "status"),
    "unknown status": ({"status": "ongoing"}, InvalidValue, "status"),
    "empty description": ({"description": "  "}, InvalidValue, "description"),
    "unknown emplacement": ({"emplacements": ["9"]}, EmplacementNotFound, "emplacement"),
    "emplacement twice": ({"emplacements": ["1", "1"]}, InvalidValue, "emplacements"),
    "unknown user": ({"who": [uuid4()]}, UserNotFound, "who"),
    "unknown stay": ({"stay_id": uuid4()}, StayNotFound, "stay_id"),
    "unknown earlier intervention": ({"follows": uuid4()}, InterventionNotFound, "follows"),
    "out of service, not an incident": (
        {"emplacements": ["1"], "out_of_service": True},
        InvalidValue,
        "out_of_service",
    ),
    "out of service, no emplacement": (
        {"kind": "incident", "out_of_service": True},
        InvalidValue,
        "out_of_service",
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_wrong_intervention_is_refused_and_changes_nothing(site: Site, case: str) -> None:
    """Given a site, when an intervention breaks a rule, then the error names the field and
    nothing is recorded."""
    overrides, error, field = REFUSALS[case]
    before = site.ledger.last_position()
    with pytest.raises(error) as refused:
        _record(site, **overrides)
    assert refused.value.field == field
    assert site.ledger.last_position() == before


def test_an_incident_on_an_emplacement_already_out_is_refused_whole(site: Site) -> None:
    """The aire refuses the emplacement (already out of service): the intervention is not
    recorded either (one transaction)."""
    ledger = site.ledger
    ledger.put_out_of_service(
        site.aire_id, number="4", start=date(2025, 1, 5), reason="travaux", actor="m"
    )
    before = ledger.last_position()
    with pytest.raises(LedgerError):
        _record(
            site,
            kind="incident",
            emplacements=["4"],
            ended_at=None,
            status="planned",
            out_of_service=True,
        )
    assert ledger.last_position() == before
    assert ledger.aire(site.aire_id).intervention_ids == ()


def _seal_january(site: Site, clock: Clock) -> None:
    ledger = site.ledger
    clock.now = datetime(2025, 2, 3, 10, tzinfo=UTC)
    ledger.close_period(site.register_id, period="month", day=date(2025, 1, 31), actor="r")
    ledger.seal_month(site.aire_id, month="2025-01", actor="m")


SEALED: dict[str, Callable[[Site, UUID], Any]] = {
    "recorded in January": lambda site, _: _record(site),
    "ended in January": lambda site, _: _record(
        site, started_at=MORNING, ended_at=datetime(2025, 2, 3, 9, tzinfo=UTC)
    ),
    # interv23: was a change of January's planned one without ``ended_at``, recorded in
    # February: it is accepted now (it counts in February); one ending in January is not
    "status ending in January": lambda site, planned: site.ledger.set_intervention_status(
        planned, status="done", ended_at=datetime(2025, 1, 6, 10, tzinfo=UTC), actor="m"
    ),
}


@pytest.mark.parametrize("case", list(SEALED))
def test_nothing_of_a_sealed_month_is_recorded(site: Site, clock: Clock, case: str) -> None:
    """Given January sealed, when an intervention dated in January is recorded, or the
    status of one that started then changed as ending in January, then 409
    ``period_sealed``, nothing recorded; one of February is accepted."""
    planned = _record(site, status="planned", ended_at=None)
    _seal_january(site, clock)
    before = site.ledger.last_position()
    with pytest.raises(PeriodSealed) as refused:
        SEALED[case](site, planned)
    assert refused.value.code == "period_sealed"
    assert site.ledger.last_position() == before
    _record(site, started_at=clock(), ended_at=None)


def test_a_manager_assigns_an_intervenant_to_an_aire_s_team(site: Site) -> None:
    """Given an intervenant with no aire, when a manager puts them in the aire's team, then
    the aire lists them (with their role) and the aire is in their scope; withdrawn, both
    forget it. A manager (whose scope is sectors) is never a team member."""
    ledger = site.ledger
    worker = _user(ledger, "intervenant")
    ledger.assign_team_member(site.aire_id, worker, actor="manager")
    assert ledger.aire(site.aire_id).team == {worker: "intervenant"}
    assert ledger.user(worker).aire_ids == (site.aire_id,)
    with pytest.raises(AlreadyExists):
        ledger.assign_team_member(site.aire_id, worker, actor="manager")
    ledger.withdraw_team_member(site.aire_id, worker, actor="manager")
    assert ledger.aire(site.aire_id).team == {}
    assert ledger.user(worker).aire_ids == ()
    manager = _user(ledger, "manager", sectors=["Anjou"], collectivite_id=site.collectivite_id)
    with pytest.raises(InvalidValue) as refused:
        ledger.assign_team_member(site.aire_id, manager, actor="manager")
    assert refused.value.field == "user_id"
    with pytest.raises(UserNotFound):
        ledger.assign_team_member(site.aire_id, uuid4(), actor="manager")


def test_an_intervenant_records_on_its_aires_only_and_touches_no_cash(site: Site) -> None:
    """Given an intervenant of aire A, when they record an intervention on A it is recorded;
    on aire B, or a stay, or a receipt, they are refused (403)."""
    ledger = site.ledger
    worker_id = _user(ledger, "intervenant", aire_ids=[site.aire_id])
    worker = ledger.user(worker_id)
    assert worker.role is Role.INTERVENANT
    other = Site(ledger, code="49007-B")
    ledger.handle(_command(site.aire_id, worker_id), worker)
    with pytest.raises(Forbidden):
        ledger.handle(_command(other.aire_id, worker_id), worker)
    with pytest.raises(Forbidden):
        ledger.handle(
            c.IssueReceipt(
                site.register_id,
                stay_id=uuid4(),
                method="cash",
                lines=[("other", 100)],
                actor=str(worker_id),
            ),
            worker,
        )


def _command(aire_id: UUID, actor: UUID) -> Any:
    return c.RecordIntervention(
        aire_id,
        kind="meter_round",
        started_at=MORNING,
        description="relevé des compteurs",
        actor=str(actor),
    )


def test_the_intervention_chain_is_verified(site: Site) -> None:
    """An intervention's events are hash-chained like a stay's."""
    intervention_id = _record(site, status="planned", ended_at=None)
    site.ledger.set_intervention_status(intervention_id, status="done", actor="m")
    events = list(site.ledger.events.get(intervention_id))
    assert events[0].prev_hash == GENESIS
    assert events[1].prev_hash == events[0].hash
    assert isinstance(site.ledger.intervention(intervention_id), Intervention)


def test_verify_finds_an_edited_intervention_and_the_seal_holds_its_head(
    site: Site, clock: Clock
) -> None:
    """Given an intervention linked on the aire and January sealed, then the aire's
    verification lists its chain intact and the seal recorded its head; when its stored cost
    is edited, then its chain is broken at event 1 and the seal's check names it."""
    ledger = site.ledger
    intervention_id = _record(site, cost_cents=5000)
    _seal_january(site, clock)
    chains, findings = ledger.audit.verify_aire(site.aire_id)
    mine = [(kind, report.ok) for kind, i, report in chains if i == intervention_id]
    assert (mine, findings) == ([("intervention", True)], [])
    sealed = ledger.audit.seal_events(site.aire_id)[-1]
    assert (intervention_id, "intervention") in [(h.aggregate_id, h.kind) for h in sealed.heads]
    rows = StoredRows(ledger, intervention_id)
    try:
        first = rows.all()[0]
        rows.set(first.version, state=first.state.replace(b"5000", b"500"))
    finally:
        rows.close()
    chains, findings = ledger.audit.verify_aire(site.aire_id)
    broken = [r for kind, i, r in chains if i == intervention_id and not r.ok]
    assert [p.version for p in broken[0].problems][:1] == [1]
    assert [f.aggregate_id for f in findings] == [intervention_id]


def test_the_monthly_report_has_its_interventions_section(site: Site, clock: Clock) -> None:
    """Given January's interventions (a cleaning for 45.00 €, an incident on emplacement 4
    from the 10th to the 13th for 90.00 €, a pest control planned), when January's monthly
    report is built, then its « Interventions » section lists them by kind with the total,
    in the CSV, the XLSX and the PDF; and emplacement 4's three days out of service are not
    available in the occupancy figures."""
    _record(site, cost_cents=4500)
    _record(
        site,
        kind="incident",
        label="fuite",
        emplacements=["4"],
        started_at=datetime(2025, 1, 10, 9, tzinfo=UTC),
        ended_at=datetime(2025, 1, 13, 9, tzinfo=UTC),
        out_of_service=True,
        cost_cents=9000,
    )
    _record(site, kind="pest_control", status="planned", ended_at=None)
    clock.now = datetime(2025, 2, 3, 10, tzinfo=UTC)
    reports = Reports(site.ledger)
    stored = reports.run(reports.month_jobs("2025-01", [site.aire_id]))
    files = {s.format: reports.store.get(s.report_id)[1] for s in stored}
    section = csv_section(csv_rows(files["csv"]), "Interventions")
    assert section == [
        ["Type", "Prévues", "Faites", "Annulées", "Coût (€)", "Empl.-jours hors service"],
        ["Nettoyage", "0", "1", "0", "45,00", "0"],
        ["Incident", "0", "1", "0", "90,00", "3"],
        ["Dératisation / désinsectisation", "1", "0", "0", "0,00", "0"],
        ["Total", "1", "2", "0", "135,00", "3"],
    ]
    sheet = sheet_rows(files["xlsx"], "Interventions")
    assert ("Total", 1, 2, 0, 135, 3) in [row[:6] for row in sheet]
    assert "Incident 0 1 0 90,00 € 3" in pdf_text(files["pdf"])
    available = csv_section(csv_rows(files["csv"]), "Occupation — effectifs")[1]
    # in service from the 6th (the site's day): 26 days × 4 emplacements, less 3, × 2 places
    assert available == ["Places-jours disponibles", str(2 * (4 * 26 - 3))]


def test_the_dsp_annual_report_sums_the_year_s_interventions_beside_the_year_before(
    site: Site, clock: Clock
) -> None:
    """Given a DSP aire with a repair in December 2024 (60.00 €) and two in 2025 (an incident
    of two days on one emplacement, 80.00 €; a cleaning), when the DSP report of 2025 is
    built, then its « Interventions de l'année » section has each kind with 2025 beside
    2024, and the total."""
    dsp_aire, _ = dsp_aire_with_a_sale(site.ledger, site.collectivite_id)
    dsp = Site.__new__(Site)
    dsp.ledger, dsp.aire_id = site.ledger, dsp_aire
    december = datetime(2024, 12, 2, 9, tzinfo=UTC)
    _record(dsp, kind="repair", started_at=december, ended_at=None, cost_cents=6000)
    _record(
        dsp,
        kind="incident",
        emplacements=["1"],
        started_at=datetime(2025, 3, 3, 9, tzinfo=UTC),
        ended_at=datetime(2025, 3, 5, 9, tzinfo=UTC),
        out_of_service=True,
        cost_cents=8000,
    )
    _record(dsp, kind="repair", started_at=datetime(2025, 3, 6, 9, tzinfo=UTC), ended_at=None)
    clock.now = datetime(2026, 1, 5, 9, tzinfo=UTC)
    reports = Reports(site.ledger)
    jobs = [j for j in reports.year_jobs(2025) if j.kind == "dsp"]
    stored = reports.run(jobs)
    csv = next(reports.store.get(s.report_id)[1] for s in stored if s.format == "csv")
    assert csv_section(csv_rows(csv), "Interventions de l'année") == [
        [
            "Type",
            "Faites 2025",
            "Faites 2024",
            "Coût 2025 (€)",
            "Coût 2024 (€)",
            "Empl.-jours HS 2025",
            "Empl.-jours HS 2024",
        ],
        ["Incident", "1", "0", "80,00", "0,00", "2", "0"],
        ["Réparation", "1", "1", "0,00", "60,00", "0", "0"],
        ["Total", "2", "1", "80,00", "60,00", "2", "0"],
    ]
