"""What a publication released, carried into the next (issue 19: each period released
once; docs/analytics.md, "Publications"): the released cells of the periods a new
publication holds, taken as they were released, and the seasons and years not released yet
made to add up to their months as published."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hacienda_ledger.projections.analytics_cells import (
    BANDS,
    COUNTS,
    FOLLOWING,
    MADE_OF_MONTHS,
    MEASURES,
    Cell,
    Place,
    months_of,
)
from hacienda_ledger.projections.base import Row
from hacienda_ledger.projections.suppression import UnsafePublication

#: Measures whose season or year is the sum of its months (what an attacker can add up).
ADDITIVE_IN_TIME = (
    "arrivals",
    "departures",
    *(band[2] for band in BANDS),
    "unmet_requests",
    "unmet_caravans",
    "unmet_people",
    *FOLLOWING,
)


def add_up_in_time(
    values: dict[Cell, int],
    flows: dict[Cell, int],
    levels: dict[str, list[Place]],
    spans: dict[str, list[str]],
    was: Released,
) -> set[Cell]:
    """A season or a year not released yet whose months were, some of them: what adds up in
    time is the sum of its months as published (a month released keeps its released
    figures, so a stay recorded late in it counts in neither), never a figure the released
    months contradict. Where a released month withheld a count, the season's or the year's
    sum would hold the month's count as it stands now, not as it was withheld: that count
    of the season or the year is suppressed too (returned). Unchanged where nothing was
    released: the sums are the counts."""
    forced: set[Cell] = set()
    for level, found in levels.items():
        for place in found:
            for kind in MADE_OF_MONTHS:
                for period in spans[kind]:
                    if (f"{level}_{kind}", place.key, period) in was.rows:
                        continue
                    months = months_of(period, kind, spans["month"])
                    parts = [(f"{level}_month", place.key, month) for month in months]
                    for m in ADDITIVE_IN_TIME:
                        cell = (f"{level}_{kind}", place.key, period, m)
                        values[cell] = sum(values[(*p, m)] for p in parts)
                        withheld = m if m in COUNTS else "households"  # what it follows
                        if any((*p, withheld) in was.hidden for p in parts):
                            forced.add(cell if m in COUNTS else (*cell[:3], "households"))
    of_year: dict[tuple[str, Any, str], list[Cell]] = {}
    for c in flows:
        if c[0].endswith("_month"):
            of_year.setdefault((c[0].replace("_month", "_year"), c[1], c[2][:4]), []).append(c)
    for cell in [c for c in flows if c[0].endswith("_year") and c not in was.rows]:
        name, pair, year, _ = cell
        in_year = of_year.get((name, pair, year), [])
        flows[cell] = sum(flows[c] for c in in_year)
        if any(c in was.hidden for c in in_year):
            forced.add(cell)
    return forced


@dataclass(frozen=True)
class Released:
    """The cells an earlier publication released, of the periods this one holds: their
    values, the counts it suppressed, the counts it published; the rows and periods."""

    values: dict[Cell, int]
    hidden: set[Cell]
    published: set[Cell]
    rows: set[tuple[Any, ...]]
    periods: set[tuple[str, str]]

    @property
    def cells(self) -> set[Cell]:
        return set(self.values) | self.hidden

    def settle(self, values: dict[Cell, int], flows: dict[Cell, int]) -> None:
        """The figures of the released periods as released: a row released keeps its
        values; a place or a pair of départements that was not in a released period (an
        aire recorded since with its history) counts nothing in it."""
        for cell in values:
            name, key, period, _ = cell
            if (name.rsplit("_", 1)[1], period) in self.periods and (
                name,
                key,
                period,
            ) not in self.rows:
                values[cell] = 0
        for cell in [c for c in flows if (c[0], c[2]) in self.periods and c not in self.rows]:
            del flows[cell]
        for cell, value in self.values.items():
            (flows if cell[0].startswith("flows_") else values)[cell] = value
        for cell in self.hidden:
            if cell[0].startswith("flows_"):
                flows.setdefault(cell, 0)

    @classmethod
    def of(
        cls,
        tables: Mapping[str, Sequence[Row]],
        levels: dict[str, list[Place]],
        spans: dict[str, list[str]],
    ) -> Released:
        keys = {(p.level, p.code): p.key for found in levels.values() for p in found}
        held = {kind: set(found) for kind, found in spans.items()}
        found = cls({}, set(), set(), set(), set())
        for name, rows in tables.items():
            kind = name.rsplit("_", 1)[1]
            for row in rows:
                if row["period"] not in held[kind]:
                    continue  # a period ended after this publication's day
                if name.startswith("flows_"):
                    found.periods.add((name, row["period"]))
                    cell = (name, (row["from_code"], row["to_code"]), row["period"], "households")
                    found.rows.add(cell)
                    found.add(cell, row["households"])
                    continue
                found.periods.add((kind, row["period"]))
                key = keys.get((row["level"], row["code"]))
                if key is None:  # its released cells could not be carried: refuse
                    raise UnsafePublication(
                        f"the {row['level']} {row['code']} released in {row['period']} is no "
                        "longer a place of the tables (its aires moved?): nothing published"
                    )
                found.rows.add((name, key, row["period"]))
                gone = set(row["suppressed"].split(","))
                for m in MEASURES:
                    counted = m in COUNTS
                    if row[m] is not None or (counted and m in gone):
                        found.add((name, key, row["period"], m), row[m], counted=counted)
        return found

    def add(self, cell: Cell, value: int | None, *, counted: bool = True) -> None:
        if value is None:
            self.hidden.add(cell)
            return
        self.values[cell] = value
        if counted:
            self.published.add(cell)
