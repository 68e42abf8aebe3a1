"""The analytics tables as the API and the CLI read them (issue 19): the facts read from
the projections, published (computed and suppressed) once per stream position and day,
then filtered and paged. What is published and why: docs/analytics.md."""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

from hacienda_ledger.aggregates.errors import AnalyticsTableNotFound, InvalidValue
from hacienda_ledger.projections import occupancy as o
from hacienda_ledger.projections.analytics import AIRES, COLLECTIVITES, MOVES
from hacienda_ledger.projections.analytics_tables import (
    AnalyticsInputs,
    publish,
    table_names,
)
from hacienda_ledger.projections.base import Row

#: The levels a territory confines (the others are benchmarks).
LOCAL = ("aire", "commune", "collectivite")
#: The columns a read may filter on, and equal values only.
FILTERS = (
    "code",
    "commune",
    "collectivite",
    "departement",
    "region",
    "period",
    "from_code",
    "to_code",
)


class Analytics:
    """Published tables, kept for the last (position, day, threshold) asked."""

    def __init__(self, queries: Any, threshold: int) -> None:
        self.queries = queries
        self.threshold = threshold
        self._kept: tuple[tuple[int, date, int], dict[str, list[Row]]] | None = None
        self._guard = threading.Lock()

    def inputs(self) -> AnalyticsInputs:
        """Every fact the tables are computed from, the projections caught up first."""
        q = self.queries
        occupancy = o.OccupancyFacts(
            emplacements=q.select("occupancy", o.EMPLACEMENTS),
            out_of_service=q.select("occupancy", o.OUT_OF_SERVICE),
            closures=q.select("occupancy", o.CLOSURES),
            stays=q.select("occupancy", o.STAYS),
            people=q.select("occupancy", o.STAY_PEOPLE),
            unmet=q.select("occupancy", o.UNMET),
        )
        return AnalyticsInputs(
            occupancy=occupancy,
            aires=q.select("analytics", AIRES),
            collectivites=q.select("analytics", COLLECTIVITES),
            moves=q.select("analytics", MOVES),
            revenue=q.select("revenue", "revenue_monthly"),
            interventions=q.select("interventions", "interventions_monthly"),
        )

    def tables(self, as_of: date) -> dict[str, list[Row]]:
        """Every published table as of ``as_of`` (the stream as it stands)."""
        with self._guard:
            key = (self.queries.ledger.last_position(), as_of, self.threshold)
            if self._kept is None or self._kept[0] != key:
                self._kept = (key, publish(self.inputs(), as_of, self.threshold))
            return self._kept[1]

    def table(
        self,
        name: str,
        as_of: date,
        filters: Mapping[str, str | None],
        territory: Collection[str] | None = None,
    ) -> list[Row]:
        """One published table's rows, those equal to every filter given; with a
        ``territory`` (aire ids), the rows of the aire, commune and collectivité levels of
        those aires only (the others are benchmarks, read whole)."""
        if name not in table_names():
            raise AnalyticsTableNotFound(
                f"no analytics table {name!r}: {', '.join(table_names())}", field="table"
            )
        given = {k: v for k, v in filters.items() if v is not None}
        unknown = set(given) - set(FILTERS)
        if unknown:
            raise InvalidValue(f"no filter {sorted(unknown)[0]}", field=sorted(unknown)[0])
        rows = self.tables(as_of)[name]
        level = name.split("_", maxsplit=1)[0]
        if territory is not None and level in LOCAL:
            codes = self._codes(territory)[level]
            rows = [r for r in rows if r["code"] in codes]
        return [r for r in rows if all(str(r.get(k)) == v for k, v in given.items())]

    def places(self, as_of: date) -> dict[str, int]:
        """Each aire's places (its code) on ``as_of``: the places of its emplacements in
        service by then, out of service or not (a capacity, never a count of people)."""
        inputs = self.inputs()
        codes = {a["aire_id"]: str(a["code"]) for a in inputs.aires}
        found = dict.fromkeys(codes.values(), 0)
        for e in inputs.occupancy.emplacements:
            if e["aire_id"] in codes and e["added_on"] <= as_of:
                found[codes[e["aire_id"]]] += int(e["places"])
        return found

    def _codes(self, territory: Collection[str]) -> dict[str, set[str]]:
        """The codes of the aires given, their communes and their collectivités."""
        inputs = self.inputs()
        sirens = {c["collectivite_id"]: c["siren"] for c in inputs.collectivites}
        aires = [a for a in inputs.aires if a["aire_id"] in set(territory)]
        return {
            "aire": {a["code"] for a in aires},
            "commune": {a["insee_code"] for a in aires},
            "collectivite": {sirens.get(a["collectivite_id"], a["collectivite_id"]) for a in aires},
        }
