"""Unmet demand (issue 19): the requests for a place not met on an aire in a period, read
from the occupancy projection's ``occupancy_unmet_demand`` (``OccupancyFacts.unmet``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

from hacienda_ledger.projections.occupancy import OccupancyFacts


@dataclass(frozen=True)
class UnmetDemand:
    """Requests for a place not met in a period: how many, caravans, people, by reason."""

    requests: int = 0
    caravans: int = 0
    people: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)


def unmet_demand(
    facts: OccupancyFacts, aire_id: UUID | str, first: date, last: date
) -> UnmetDemand:
    """The unmet requests of one aire from ``first`` to ``last`` (both included). Kept apart
    from ``OccupancyMonth``, whose fields the seals digest."""
    rows = [r for r in facts.unmet if r["aire_id"] == str(aire_id) and first <= r["day"] <= last]
    by_reason: dict[str, int] = {}
    for row in rows:
        by_reason[row["reason"]] = by_reason.get(row["reason"], 0) + row["requests"]
    return UnmetDemand(
        requests=sum(r["requests"] for r in rows),
        caravans=sum(r["caravans"] for r in rows),
        people=sum(r["people"] for r in rows),
        by_reason=dict(sorted(by_reason.items())),
    )
