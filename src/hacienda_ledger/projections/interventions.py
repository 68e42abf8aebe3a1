"""Interventions per aire and month: how many of each kind, what the done ones cost, and the
emplacement-days incidents put out of service.

Folds ``Intervention.Recorded`` and ``Intervention.StatusChanged``. Each intervention's own
facts are kept (``intervention_facts``, by id: its aire, the month it started, kind, status,
cost, emplacements and out-of-service days), because a status change names none of them:
an event takes the intervention's old contribution off the monthly rows and puts its new
one on, so that the rows are always the sum over the interventions as they stand.

An intervention counts in the month (``YYYY-MM``) of the Europe/Paris day it started, under
its status (``planned``, ``done``, ``cancelled``); its cost (``cost_cents``) counts once done.
An incident's out-of-service days count in the month of each day, from the day it started
up to, not including, the day the emplacements came back, times the emplacements it took
out (an incident still going on counts none yet: its end is not known).

Table ``interventions_monthly``, key ``(aire_id, month, kind)``: ``planned``, ``done``,
``cancelled`` (counts), ``cost_cents``, ``out_of_service_days`` (emplacement-days).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from hacienda_ledger.aggregates.intervention import Intervention
from hacienda_ledger.projections.base import (
    Projection,
    Row,
    Rows,
    month_of,
    paris_day,
    table,
    topics_of,
)

MONTHLY = "interventions_monthly"
FACTS = "intervention_facts"
COUNTS = ("planned", "done", "cancelled", "cost_cents", "out_of_service_days")


def _days(start: date, end: date) -> Iterator[date]:
    day = start
    while day < end:
        yield day
        day += timedelta(days=1)


def contribution(fact: Row) -> dict[tuple[str, str, str], dict[str, int]]:
    """What one intervention adds to the monthly rows, by (aire, month, kind)."""
    found: dict[tuple[str, str, str], dict[str, int]] = {}

    def add(month: str, column: str, amount: int) -> None:
        key = (fact["aire_id"], month, fact["kind"])
        counts = found.setdefault(key, dict.fromkeys(COUNTS, 0))
        counts[column] += amount

    add(fact["month"], fact["status"], 1)
    if fact["status"] == "done":
        add(fact["month"], "cost_cents", fact["cost_cents"])
    if fact["out_from"] is not None and fact["back_on"] is not None:
        for day in _days(fact["out_from"], fact["back_on"]):
            add(month_of(day), "out_of_service_days", fact["emplacements"])
    return found


class InterventionsProjection(Projection):
    """Interventions per aire, month and kind (counts by status, cost, days out of service)."""

    name = "interventions"
    tables = (
        table(
            MONTHLY,
            {"aire_id": "text", "month": "text", "kind": "text"},
            planned="int",
            done="int",
            cancelled="int",
            cost_cents="int",
            out_of_service_days="int",
        ),
        table(
            FACTS,
            {"intervention_id": "text"},
            aire_id="text",
            month="text",
            kind="text",
            status="text",
            cost_cents="int",
            emplacements="int",
            out_from="date",
            back_on="date",
        ),
    )
    topics = topics_of(Intervention.Recorded, Intervention.StatusChanged)

    def apply(self, event: Any, position: int, rows: Rows) -> None:
        key = str(event.originator_id)
        if isinstance(event, Intervention.Recorded):
            old = None
            new: Row = {
                "intervention_id": key,
                "aire_id": str(event.aire_id),
                "month": month_of(paris_day(event.started_at)),
                "kind": event.kind,
                "status": event.status,
                "cost_cents": event.cost_cents or 0,
                "emplacements": len(event.emplacements),
                "out_from": event.out_of_service_from,
                "back_on": event.back_in_service_on,
            }
        elif isinstance(event, Intervention.StatusChanged):
            old = rows.get(FACTS, (key,))
            if old is None:  # its recording was not read: nothing to change
                return
            new = {**old, "status": event.status, "back_on": event.back_in_service_on}
        else:
            return
        self._move(rows, old, -1)
        self._move(rows, new, 1)
        rows.put(FACTS, new)

    @staticmethod
    def _move(rows: Rows, fact: Row | None, sign: int) -> None:
        if fact is None:
            return
        for (aire_id, month, kind), counts in sorted(contribution(fact).items()):
            row = rows.get(MONTHLY, (aire_id, month, kind)) or {
                "aire_id": aire_id,
                "month": month,
                "kind": kind,
                **dict.fromkeys(COUNTS, 0),
            }
            for column, amount in counts.items():
                row[column] += sign * amount
            if any(row[c] for c in COUNTS):
                rows.put(MONTHLY, row)
            else:
                rows.delete(MONTHLY, (aire_id, month, kind))
