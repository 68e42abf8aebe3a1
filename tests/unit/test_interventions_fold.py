"""The ``interventions`` projection as a pure fold (``MemoryRows``, no database): given the
events of a few interventions, then the monthly rows — counts by status, the done ones'
cost, and incidents' out-of-service emplacement-days split by month."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from hacienda_ledger.aggregates.intervention import Intervention
from hacienda_ledger.projections.base import MemoryRows
from hacienda_ledger.projections.interventions import MONTHLY, InterventionsProjection

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
    incident on two emplacements from the evening of 31 January, done on 2 February (30.00
    €), then January holds the cleaning, the cancellation, the incident done with its cost
    (the month it started) and 2 × 1 emplacement-days (the 31st), February 2 × 1 (the 1st;
    the 2nd they are back)."""
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
    incident.set_status(status="done", actor="m", at=datetime(2025, 2, 2, 9, tzinfo=UTC))
    done = list(incident.collect_events())
    rows = _fold([*cleaning, *planned, *opened, *cancelled, *done])
    assert rows == [
        _row("2025-01", "cleaning", done=1, cost_cents=4500),
        _row("2025-01", "incident", done=1, cost_cents=3000, out_of_service_days=2),
        _row("2025-01", "pest_control", cancelled=1),
        _row("2025-02", "incident", out_of_service_days=2),
    ]


def test_an_incident_going_on_counts_planned_and_no_day_yet() -> None:
    _, opened = _events(kind="incident", emplacements=("3",), status="planned", out_of_service=True)
    assert _fold(opened) == [_row("2025-01", "incident", planned=1)]
