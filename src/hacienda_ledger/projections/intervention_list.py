"""The interventions of each aire as a list, indexed for its filters (issue 18).

What ``GET /v1/aires/{id}/interventions`` pages through: one row per intervention, in the
order recorded (``position``: its ``Intervention.Recorded`` in the stream; an aire's
``InterventionLinked`` is saved in the same transaction, so this is the order the aire
links them), with what the list filters on — kind, status, the Paris days it started and
ended (``first_day``, ``last_day``: the day it started while no end is known) — and the
emplacements it names (``intervention_emplacements``). A status change moves ``status``
and ``last_day``. The interventions themselves are read from their events, a page at a
time (``Loading.interventions``): the list only chooses which.

Tables ``intervention_list`` key ``intervention_id`` (indexed by ``(aire_id, position)``)
and ``intervention_emplacements`` key ``(intervention_id, emplacement)``.
"""

from __future__ import annotations

from typing import Any

from hacienda_ledger.aggregates.intervention import Intervention
from hacienda_ledger.projections.base import (
    Projection,
    Row,
    Rows,
    paris_day,
    table,
    topics_of,
)

LIST = "intervention_list"
EMPLACEMENTS = "intervention_emplacements"


class InterventionListProjection(Projection):
    """Each aire's interventions in the order recorded, with their filters' columns."""

    name = "intervention_list"
    tables = (
        table(
            LIST,
            {"intervention_id": "text"},
            aire_id="text",
            position="int",
            kind="text",
            status="text",
            first_day="date",
            last_day="date",
        ).with_index("aire_id", "position"),
        table(EMPLACEMENTS, {"intervention_id": "text", "emplacement": "text"}),
    )
    topics = topics_of(Intervention.Recorded, Intervention.StatusChanged)

    def apply(self, event: Any, position: int, rows: Rows) -> None:
        key = str(event.originator_id)
        if isinstance(event, Intervention.Recorded):
            first = paris_day(event.started_at)
            row: Row = {
                "intervention_id": key,
                "aire_id": str(event.aire_id),
                "position": position,
                "kind": event.kind,
                "status": event.status,
                "first_day": first,
                "last_day": paris_day(event.ended_at) if event.ended_at else first,
            }
            rows.put(LIST, row)
            for number in event.emplacements:
                rows.put(EMPLACEMENTS, {"intervention_id": key, "emplacement": number})
        elif isinstance(event, Intervention.StatusChanged):
            old = rows.get(LIST, (key,))
            if old is None:  # its recording was not read: nothing to change
                return
            last = paris_day(event.ended_at) if event.ended_at else old["first_day"]
            rows.put(LIST, {**old, "status": event.status, "last_day": last})
