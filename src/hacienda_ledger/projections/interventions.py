"""Interventions per aire and month: how many of each kind, what the done ones cost, and the
emplacement-days incidents put out of service.

Folds ``Intervention.Recorded`` and ``Intervention.StatusChanged``. Each intervention's own
facts are kept (``intervention_facts``, by id: its aire, the month it started, kind, status,
cost, emplacements, out-of-service days and ``changed_on``, the Paris day its status change
was recorded), because a status change names none of them: an event takes the
intervention's old contribution off the monthly rows and puts its new one on, so that the
rows are always the sum over the interventions as they stand.

A month's figures depend on nothing recorded after it (interv23): a sealed month never
moves. An intervention counts in each month it covers, from the month (``YYYY-MM``) of the
Europe/Paris day it started to the month its status change was recorded (the month it
started while it is unchanged), under its status as it stood at that month's end: one
opened on 20 January and done on 3 February counts ``planned`` in January and ``done`` in
February. Its cost (``cost_cents``) counts once, in the month it stood done first. An
incident's out-of-service days count in the month of each day, from the day it started up
to, not including, the day the emplacements came back, times the emplacements it took out;
while it goes on, up to the end of each month it covers. A cancelled incident's days before
its cancellation stay counted where they fell: they elapsed (docs/reports.md). A status
change that would move a sealed month (recorded in it, or bringing emplacements back on a
day of it) is refused (``handlers/interventions.py``).

``month_lines`` gives one month from the facts, each intervention as it stood at the
month's end (what the reports read: one still planned counts in every month up to now); the
table ``interventions_monthly``, key ``(aire_id, month, kind)``: ``planned``, ``done``,
``cancelled`` (counts), ``cost_cents``, ``out_of_service_days`` (emplacement-days), holds
each intervention over the months up to its last recorded event's (an intervention still
open is in the reports' later months, not yet in the table).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from typing import Any

from hacienda_ledger.aggregates.intervention import Intervention
from hacienda_ledger.aggregates.values import month_bounds
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
Contribution = dict[tuple[str, str, str], dict[str, int]]


def _days(start: date, end: date) -> Iterator[date]:
    day = start
    while day < end:
        yield day
        day += timedelta(days=1)


def _months(first: str, last: str) -> Iterator[str]:
    month = first
    while month <= last:
        yield month
        month = month_of(month_bounds(month)[1] + timedelta(days=1))


def contribution(fact: Row, as_of: date | None = None) -> Contribution:
    """What one intervention adds to the monthly rows, by (aire, month, kind): over the
    months up to its last event's, or, while it is planned, up to ``as_of``'s month."""
    found: Contribution = {}

    def add(month: str, column: str, amount: int) -> None:
        key = (fact["aire_id"], month, fact["kind"])
        counts = found.setdefault(key, dict.fromkeys(COUNTS, 0))
        counts[column] += amount

    first, changed = fact["month"], fact["changed_on"]
    # a change recorded before the start (one planned ahead, cancelled) counts in its month
    became = max(first, month_of(changed)) if changed is not None else first
    going_on = fact["status"] == "planned" and as_of is not None
    last = max(first, month_of(as_of)) if going_on and as_of is not None else became
    before = "planned" if changed is not None else fact["status"]
    for month in _months(first, last):
        status = fact["status"] if month >= became else before
        add(month, status, 1)
        if status == "done" and month == became:
            add(month, "cost_cents", fact["cost_cents"])
    if fact["out_from"] is not None:
        back = fact["back_on"]
        if back is None:  # going on: up to the end of the last month counted
            back = month_bounds(last)[1] + timedelta(days=1)
        for day in _days(fact["out_from"], back):
            add(month_of(day), "out_of_service_days", fact["emplacements"])
    return found


def month_lines(facts: Iterable[Row], month: str) -> list[Row]:
    """One month's rows (as ``interventions_monthly``'s, by kind) from the interventions'
    ``facts``, each as it stood at the month's end (one still planned counts in it)."""
    as_of = month_bounds(month)[1]
    rows: dict[tuple[str, str, str], Row] = {}
    for fact in facts:
        for key, counts in contribution(fact, as_of).items():
            if key[1] != month:
                continue
            row = rows.setdefault(
                key, {"aire_id": key[0], "month": month, "kind": key[2], **dict.fromkeys(COUNTS, 0)}
            )
            for column, amount in counts.items():
                row[column] += amount
    return [rows[k] for k in sorted(rows)]


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
            changed_on="date",
        ),
    )
    version = "2"  # interv23: a status change counts in the month it was recorded
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
                "changed_on": None,
            }
        elif isinstance(event, Intervention.StatusChanged):
            old = rows.get(FACTS, (key,))
            if old is None:  # its recording was not read: nothing to change
                return
            new = {
                **old,
                "status": event.status,
                "back_on": event.back_in_service_on,
                "changed_on": paris_day(event.timestamp),
            }
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
