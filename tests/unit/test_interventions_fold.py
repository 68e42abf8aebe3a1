"""The ``interventions`` projection as a pure fold (``MemoryRows``, no database): given the
events of a few interventions, then the monthly rows — counts by status, the done ones'
cost, and incidents' out-of-service emplacement-days split by month."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from hacienda_ledger.aggregates.intervention import Intervention
from hacienda_ledger.projections.base import MemoryRows
from hacienda_ledger.projections.interventions import (
    FACTS,
    MONTHLY,
    InterventionsProjection,
    month_lines,
)

AIRE = uuid4()
AT = datetime(2025, 1, 20, 9, tzinfo=UTC)


def _events(**kw: Any) -> tuple[Intervention, list[Any]]:
    values: dict[str, Any] = dict(
        intervention_id=uuid4(),
        aire_id=AIRE,
        kind="cleaning",
        started_at=AT,
        who=(),
        description="x",
        actor="m",
        at=AT,
    )
    values.update(kw)
    intervention = Intervention.record(**values)
    return intervention, list(intervention.collect_events())


def _fold(events: list[Any]) -> list[dict[str, Any]]:
    projection = InterventionsProjection()
    rows = MemoryRows(projection.tables)
    for position, event in enumerate(events, 1):
        projection.apply(event, position, rows)
    return rows.rows(MONTHLY)


def _row(month: str, kind: str, **counts: int) -> dict[str, Any]:
    zero = dict.fromkeys(("planned", "done", "cancelled", "cost_cents"), 0)
    return {
        "aire_id": str(AIRE),
        "month": month,
        "kind": kind,
        **zero,
        "out_of_service_days": 0,
        **counts,
    }


def test_counts_costs_and_days_out_of_service_by_month() -> None:
    """Given a cleaning done (45.00 €), a pest control planned then cancelled, and an
    incident on two emplacements from the evening of 31 January, recorded done that night
    as ending on 2 February (30.00 €), then January holds the cleaning, the cancellation,
    the incident done with its cost (the month its status was recorded) and 2 × 1
    emplacement-days (the 31st), February 2 × 1 (the 1st; the 2nd they are back).

    (interv23: the done was recorded on 2 February before; a status change now counts in
    the month it is recorded, which ``test_a_change_recorded_next_month_...`` covers.)"""
    _, cleaning = _events(cost_cents=4500)
    pest, planned = _events(kind="pest_control", status="planned")
    pest.set_status(status="cancelled", actor="m", at=AT)
    cancelled = list(pest.collect_events())
    incident, opened = _events(
        kind="incident",
        emplacements=("1", "2"),
        status="planned",
        out_of_service=True,
        started_at=datetime(2025, 1, 31, 18, tzinfo=UTC),
        cost_cents=3000,
    )
    incident.set_status(
        status="done",
        ended_at=datetime(2025, 2, 2, 9, tzinfo=UTC),
        actor="m",
        at=datetime(2025, 1, 31, 22, tzinfo=UTC),
    )
    done = list(incident.collect_events())
    rows = _fold([*cleaning, *planned, *opened, *cancelled, *done])
    assert rows == [
        _row("2025-01", "cleaning", done=1, cost_cents=4500),
        _row("2025-01", "incident", done=1, cost_cents=3000, out_of_service_days=2),
        _row("2025-01", "pest_control", cancelled=1),
        _row("2025-02", "incident", out_of_service_days=2),
    ]


def test_an_incident_going_on_counts_planned_and_its_days_to_the_month_s_end() -> None:
    """Given an incident on one emplacement opened on 20 January, then January counts it
    planned with its 12 days (20–31): what a seal of January holds, whatever comes later.
    (interv23: it counted no day while going on, and all of them once ended, so that its
    end in February rewrote January.)"""
    _, opened = _events(kind="incident", emplacements=("3",), status="planned", out_of_service=True)
    assert _fold(opened) == [_row("2025-01", "incident", planned=1, out_of_service_days=12)]


def _incident_done_on_3_february() -> tuple[list[Any], list[Any]]:
    incident, opened = _events(
        kind="incident", emplacements=("3",), status="planned", out_of_service=True, cost_cents=700
    )
    incident.set_status(status="done", actor="m", at=datetime(2025, 2, 3, 9, tzinfo=UTC))
    return opened, list(incident.collect_events())


def test_a_change_recorded_next_month_counts_there_and_leaves_the_month_before() -> None:
    """Given an incident opened on 20 January, when it is done on 3 February, then January
    is what it was (planned, 12 days) and February has it done with its cost and its days
    out of service (the 1st and the 2nd; back on the 3rd)."""
    opened, done = _incident_done_on_3_february()
    january = _fold(opened)
    assert _fold([*opened, *done]) == [
        *january,
        _row("2025-02", "incident", done=1, cost_cents=700, out_of_service_days=2),
    ]


def test_a_month_as_it_stood_at_its_end_whatever_came_later() -> None:
    """Given a cleaning planned on 20 January and an incident opened then, done on 3
    February, when each month is read from the facts (``month_lines``), then January is the
    same before and after the change; March still counts the cleaning planned (it covers
    March too) and nothing of the incident; a month before either is empty."""
    _, cleaning = _events(status="planned")
    opened, done = _incident_done_on_3_february()
    projection = InterventionsProjection()
    before, after = MemoryRows(projection.tables), MemoryRows(projection.tables)
    for position, event in enumerate([*cleaning, *opened], 1):
        projection.apply(event, position, before)
        projection.apply(event, position, after)
    for event in done:
        projection.apply(event, 9, after)
    assert month_lines(before.rows(FACTS), "2025-01") == month_lines(after.rows(FACTS), "2025-01")
    assert month_lines(after.rows(FACTS), "2025-01") == [
        _row("2025-01", "cleaning", planned=1),
        _row("2025-01", "incident", planned=1, out_of_service_days=12),
    ]
    assert month_lines(after.rows(FACTS), "2025-02") == [
        _row("2025-02", "cleaning", planned=1),
        _row("2025-02", "incident", done=1, cost_cents=700, out_of_service_days=2),
    ]
    assert month_lines(after.rows(FACTS), "2025-03") == [_row("2025-03", "cleaning", planned=1)]
    assert month_lines(after.rows(FACTS), "2024-12") == []


def test_a_cancelled_incident_keeps_the_days_elapsed_before() -> None:
    """Given an incident opened on 20 January, when it is cancelled on 3 February, then
    January still counts it planned with its 12 days and February cancelled with the 1st
    and the 2nd: days that elapsed stay counted, no cost."""
    incident, opened = _events(
        kind="incident", emplacements=("3",), status="planned", out_of_service=True
    )
    incident.set_status(status="cancelled", actor="m", at=datetime(2025, 2, 3, 9, tzinfo=UTC))
    assert _fold([*opened, *incident.collect_events()]) == [
        _row("2025-01", "incident", planned=1, out_of_service_days=12),
        _row("2025-02", "incident", cancelled=1, out_of_service_days=2),
    ]


def test_one_planned_ahead_and_cancelled_before_it_starts_counts_in_its_month() -> None:
    """Given a cleaning planned for 10 March, recorded and cancelled on 20 January, then
    March counts it cancelled (the month it covers), January nothing."""
    cleaning, planned = _events(status="planned", started_at=datetime(2025, 3, 10, tzinfo=UTC))
    cleaning.set_status(status="cancelled", actor="m", at=AT)
    assert _fold([*planned, *cleaning.collect_events()]) == [
        _row("2025-03", "cleaning", cancelled=1)
    ]
