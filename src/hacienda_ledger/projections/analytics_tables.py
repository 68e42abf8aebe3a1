"""The published analytics tables, computed from the projections' facts and suppressed by
a job, then stored (``analytics_store.py``; issue 19; docs/analytics.md names every table
and column).

``publish(inputs, as_of, threshold)`` gives, for each level of place — ``aire``,
``commune`` (INSEE code), ``collectivite`` (SIREN), ``departement``, ``region``, ``france``
— and each period — ``week`` (ISO), ``month``, ``season`` (summer: April to September;
winter: October to March), ``year`` — a table ``<level>_<period>`` of one row per place and
period, and the flows of households between départements and between régions by month and
year (``flows_departement_<period>``, ``flows_region_<period>``). Counts are
computed for each aire and summed upwards, so every level adds up exactly; a year is
computed on its own days (a household present in two months of a year is one household of
the year).

Every count of households or people below ``threshold`` is suppressed, and as many others
as needed so that none can be recovered (``suppression.py``); the suppressed values are
None and their names listed in the row's ``suppressed`` column.

**Each period is released once.** A publication holds the periods **ended** by its day
only, and continues the one before it (``released``): every cell of a period that one
holds is taken as it was released — its values, its suppressed cells suppressed, its
published counts never chosen as complements — and only the periods ended since are
computed, suppressed so that nothing released before becomes recoverable. So every
publication ever made agrees with every other on what they both hold, and the union of them
all is one suppressed publication: an attacker holding several days' publications holds no
more than the latest (docs/analytics.md, "Publications").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hacienda_ledger.projections.analytics import regions
from hacienda_ledger.projections.analytics_cells import (
    BANDS,
    COLUMNS,
    COUNTS,
    DEFAULT_THRESHOLD,
    FLOW_PERIODS,
    FOLLOWING,
    INTERVENTION_KINDS,
    INTERVENTIONS,
    LEVELS,
    MADE_OF_MONTHS,
    MEASURES,
    MONTHLY,
    NESTING,
    OTHER_BANDS,
    PEOPLE,
    PERIODS,
    AnalyticsInputs,
    Cell,
    Place,
    months_of,
    period_end,
    period_of,
    periods_between,
    table_names,
)
from hacienda_ledger.projections.analytics_releases import Released, add_up_in_time
from hacienda_ledger.projections.base import Row
from hacienda_ledger.projections.occupancy import OccupancyFacts
from hacienda_ledger.projections.suppression import Relation, primary, suppress


def _first_day(inputs: AnalyticsInputs, as_of: date) -> date | None:
    facts = inputs.occupancy
    days = [r["added_on"] for r in facts.emplacements]
    days += [r["arrival_day"] for r in facts.stays] + [r["day"] for r in facts.unmet]
    days += [date.fromisoformat(r["month"] + "-01") for r in inputs.revenue]
    days = [d for d in days if d <= as_of]
    return min(days) if days else None


# --- counting, aire by aire ------------------------------------------------------------


def _by_aire(inputs: AnalyticsInputs) -> dict[str, AnalyticsInputs]:
    """Each aire's own facts, read once: counting an aire then never scans the others'
    (the rows of every aire, once per aire, grew as aires × rows)."""
    facts = inputs.occupancy
    fields = ("emplacements", "out_of_service", "closures", "stays", "people", "unmet")
    grouped: dict[str, dict[str, list[Row]]] = defaultdict(lambda: {f: [] for f in fields})
    for name in fields:
        for row in getattr(facts, name):
            grouped[row["aire_id"]][name].append(row)
    revenue: dict[str, list[Row]] = defaultdict(list)
    for row in inputs.revenue:
        revenue[row["aire_id"]].append(row)
    interventions: dict[str, list[Row]] = defaultdict(list)
    for row in inputs.interventions:
        interventions[row["aire_id"]].append(row)
    return {
        a["aire_id"]: AnalyticsInputs(
            occupancy=OccupancyFacts(**grouped[a["aire_id"]]),
            aires=[a],
            collectivites=(),
            moves=(),
            revenue=revenue[a["aire_id"]],
            interventions=interventions[a["aire_id"]],
        )
        for a in inputs.aires
    }


def _count_aire(
    inputs: AnalyticsInputs, aire_id: str, first: date, as_of: date
) -> dict[tuple[str, str], dict[str, int]]:
    """(period kind, period) -> measure -> value, for one aire."""
    cells: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(MEASURES, 0))

    def add(day: date, measure: str, value: int, kinds: Sequence[str] = PERIODS) -> None:
        for kind in kinds:
            cells[(kind, period_of(day, kind))][measure] += value

    for day, capacity, available, occupied, closed in place_days(inputs.occupancy, first, as_of):
        add(day, "available_place_days", available)
        add(day, "occupied_place_days", occupied)
        if not closed:
            # on a day the aire is open, what exists but is not available is out of service
            add(day, "out_of_service_place_days", capacity - available)
    _count_stays(inputs.occupancy, aire_id, as_of, cells)
    for row in inputs.occupancy.unmet:
        if row["aire_id"] == aire_id and row["day"] <= as_of:
            for measure in ("requests", "caravans", "people"):
                add(row["day"], f"unmet_{measure}", row[measure])
    for row in inputs.revenue:
        month = date.fromisoformat(row["month"] + "-01")
        if row["aire_id"] == aire_id and row["revenue_type"] != "deposit" and month <= as_of:
            add(month, "revenue_cents", row["amount_cents"], MONTHLY)
    for row in inputs.interventions:
        month = date.fromisoformat(row["month"] + "-01")
        if row["aire_id"] == aire_id and month <= as_of and row["kind"] in INTERVENTION_KINDS:
            add(month, f"interventions_{row['kind']}", row["planned"] + row["done"], MONTHLY)
    return cells


def place_days(
    facts: OccupancyFacts, first: date, last: date
) -> list[tuple[date, int, int, int, bool]]:
    """Each day from ``first`` to ``last`` of one aire's facts: (day, places existing,
    places available, places occupied and available, closed) — the figures of
    ``occupancy.aire_days``, computed stay by stay and period by period instead of
    scanning every stay on every day (which grew as days × stays: a quarter of a
    publication's time over a year)."""
    n = (last - first).days + 1
    if n <= 0:
        return []

    def index(day: date) -> int:
        return min(max((day - first).days, 0), n)

    places = {r["number"]: r["places"] for r in facts.emplacements}
    added = {r["number"]: index(r["added_on"]) for r in facts.emplacements}
    closed = [False] * n
    for row in facts.closures:
        for i in range(index(row["first_day"]), index(row["last_day"] + timedelta(days=1))):
            closed[i] = True
    out: dict[str, set[int]] = defaultdict(set)
    for row in facts.out_of_service:
        stop = n if row["end_day"] is None else index(row["end_day"])
        out[row["number"]].update(range(index(row["start_day"]), stop))
    capacity = [0] * n
    available = [0] * n
    for number, count in places.items():
        for i in range(added[number], n):
            capacity[i] += count
            if not closed[i] and i not in out[number]:
                available[i] += count
    occupied: list[dict[str, int]] = [{} for _ in range(n)]
    for stay in facts.stays:  # in order: a later stay on the same day and emplacement wins
        stop = n if stay["end_day"] is None else index(stay["end_day"])
        for i in range(index(stay["arrival_day"]), stop):
            occupied[i][stay["emplacement"]] = stay["places"]
    return [
        (
            first + timedelta(days=i),
            capacity[i],
            available[i],
            sum(
                p
                for e, p in occupied[i].items()
                if e in added and added[e] <= i and not closed[i] and i not in out[e]
            ),
            closed[i],
        )
        for i in range(n)
    ]


def _count_stays(
    facts: OccupancyFacts,
    aire_id: str,
    as_of: date,
    cells: dict[tuple[str, str], dict[str, int]],
) -> None:
    """Arrivals, departures and their length bands; households, people and caravans
    present on at least one day of each period."""
    people: dict[str, dict[str, int]] = defaultdict(dict)
    for row in facts.people:
        if row["aire_id"] == aire_id:
            people[row["stay_id"]][row["age_band"]] = row["people"]
    for stay in facts.stays:
        arrival = stay["arrival_day"]
        if stay["aire_id"] != aire_id or arrival > as_of:
            continue
        end = stay["end_day"]
        last = as_of if end is None else min(as_of, end - timedelta(days=1))
        for kind in PERIODS:
            cells[(kind, period_of(arrival, kind))]["arrivals"] += 1
            for period in periods_between(arrival, last, kind):
                cell = cells[(kind, period)]
                cell["households"] += 1
                cell["caravans"] += stay["caravans"]
                for band, count in people[stay["stay_id"]].items():
                    cell[PEOPLE.get(band, OTHER_BANDS)] += count
            departure = stay["departure_day"]
            if departure is not None and departure <= as_of:
                cell = cells[(kind, period_of(departure, kind))]
                cell["departures"] += 1
                cell[_band((end - arrival).days)] += 1


def _band(days: int) -> str:
    for low, high, column in BANDS:
        if days >= low and (high is None or days <= high):
            return column
    raise ValueError(days)


# --- places ----------------------------------------------------------------------------


def places(inputs: AnalyticsInputs) -> dict[str, list[Place]]:
    """Each level's places, with the aires each holds (a commune is keyed by its
    département too, so that communes always nest in départements)."""
    region_names, region_of = regions()
    sirens = {r["collectivite_id"]: r for r in inputs.collectivites}
    found: dict[str, dict[tuple[str, ...], set[str]]] = {level: {} for level in LEVELS}
    attributes: dict[tuple[str, tuple[str, ...]], dict[str, Any]] = {}
    for aire in inputs.aires:
        dep = aire["departement"]
        region = region_of.get(dep, "??")
        owner = sirens.get(aire["collectivite_id"])
        siren = owner["siren"] if owner else aire["collectivite_id"]
        keys = {
            "aire": (aire["code"],),
            "commune": (dep, aire["insee_code"]),
            "collectivite": (siren,),
            "departement": (dep,),
            "region": (region,),
            "france": ("FR",),
        }
        for level, key in keys.items():
            found[level].setdefault(key, set()).add(aire["aire_id"])
        attributes[("aire", keys["aire"])] = {
            "name": aire["label"],
            "commune": aire["insee_code"],
            "collectivite": siren,
            "latitude": aire["latitude"],
            "longitude": aire["longitude"],
        }
        attributes[("commune", keys["commune"])] = {"commune": aire["insee_code"]}
        attributes[("collectivite", keys["collectivite"])] = {
            "name": owner["label"] if owner else None,
            "collectivite": siren,
        }
        attributes[("region", keys["region"])] = {"name": region_names.get(region)}
    return {
        level: [
            _place(level, key, frozenset(aires), attributes.get((level, key), {}), inputs)
            for key, aires in sorted(found[level].items())
        ]
        for level in LEVELS
    }


def _place(
    level: str, key: tuple[str, ...], aires: frozenset[str], extra: dict[str, Any],
    inputs: AnalyticsInputs,
) -> Place:  # fmt: skip
    region_of = regions()[1]
    deps = {a["departement"] for a in inputs.aires if a["aire_id"] in aires}
    single = next(iter(deps)) if len(deps) == 1 else None
    attributes: dict[str, Any] = dict.fromkeys(COLUMNS[2:9])
    if level != "france":
        attributes["departement"] = single
        attributes["region"] = region_of.get(single or "", None) if single else None
        if level == "region":
            attributes["region"] = key[0]
            attributes["departement"] = None
    attributes.update(extra)
    return Place(level, key[-1], key, aires, tuple(attributes.items()))


# --- publishing ------------------------------------------------------------------------


def publish(
    inputs: AnalyticsInputs,
    as_of: date,
    threshold: int = DEFAULT_THRESHOLD,
    released: Mapping[str, Sequence[Row]] | None = None,
) -> dict[str, list[Row]]:
    """Every published table (``table_names()``), suppressed: the periods ended by
    ``as_of``, those ``released`` (the tables of the publication this one continues) as
    they were released."""
    first = _first_day(inputs, as_of)
    levels = places(inputs)
    spans = {
        kind: [p for p in periods_between(first, as_of, kind) if period_end(p, kind) <= as_of]
        if first
        else []
        for kind in PERIODS
    }
    each = _by_aire(inputs)
    per_aire = {
        a["aire_id"]: _count_aire(each[a["aire_id"]], a["aire_id"], first, as_of) if first else {}
        for a in inputs.aires
    }
    values: dict[Cell, int] = {}
    for level, found in levels.items():
        for kind in PERIODS:
            name = f"{level}_{kind}"
            for place in found:
                for period in spans[kind]:
                    totals = dict.fromkeys(MEASURES, 0)
                    for aire in place.aires:
                        for m, v in per_aire[aire].get((kind, period), {}).items():
                            totals[m] += v
                    for m, v in totals.items():
                        values[(name, place.key, period, m)] = v
    flows = {
        c: v
        for c, v in _flow_values(inputs, spans, as_of).items()
        if c[2] in spans[c[0].rsplit("_", 1)[1]]  # ended periods only
    }
    was = Released.of(released or {}, levels, spans)
    forced: set[Cell] = set()
    if was.periods:
        was.settle(values, flows)
        forced = add_up_in_time(values, flows, levels, spans, was)
    values.update(flows)
    relations = list(_relations(levels, spans)) + list(_flow_relations(flows))
    counted = [c for c in values if c[3] in COUNTS]
    new = primary(values, threshold, lambda c: c[3] in COUNTS and c not in was.cells)
    hidden = suppress(
        {c: values[c] for c in counted},
        [r for r in relations if r.parent[3] in COUNTS],
        new | was.hidden | forced,
        pinned=was.published,
    )
    return _rows(levels, spans, values, hidden) | _flow_rows(flows, hidden)


def _relations(
    levels: dict[str, list[Place]], spans: dict[str, list[str]]
) -> Iterable[Relation[Cell]]:
    """Places and the places of the level below that make them up; seasons and years and
    their months; departures and their length bands: for every measure."""
    for child, parent in NESTING:
        for outer in levels[parent]:
            inner = [p for p in levels[child] if p.aires <= outer.aires]
            if frozenset().union(*(p.aires for p in inner)) != outer.aires:
                continue
            for kind in PERIODS:
                for period in spans[kind]:
                    for m in COUNTS:
                        yield Relation(
                            (f"{parent}_{kind}", outer.key, period, m),
                            tuple((f"{child}_{kind}", p.key, period, m) for p in inner),
                        )
    for level, found in levels.items():
        for place in found:
            for kind in MADE_OF_MONTHS:
                for period in spans[kind]:
                    months = months_of(period, kind, spans["month"])
                    for m in COUNTS:
                        yield Relation(
                            (f"{level}_{kind}", place.key, period, m),
                            tuple((f"{level}_month", place.key, month, m) for month in months),
                        )
            for kind in PERIODS:
                for period in spans[kind]:
                    cell = (f"{level}_{kind}", place.key, period)
                    yield Relation((*cell, "departures"), tuple((*cell, band[2]) for band in BANDS))


def _rows(
    levels: dict[str, list[Place]],
    spans: dict[str, list[str]],
    values: dict[Cell, int],
    hidden: set[Cell],
) -> dict[str, list[Row]]:
    tables: dict[str, list[Row]] = {}
    for level, found in levels.items():
        for kind in PERIODS:
            name = f"{level}_{kind}"
            rows = tables.setdefault(name, [])
            for place in found:
                for period in spans[kind]:
                    rows.append(_row(name, place, period, values, hidden))
    return tables


def _row(name: str, place: Place, period: str, values: dict[Cell, int], hidden: set[Cell]) -> Row:
    cell = (name, place.key, period)
    gone = {m for m in COUNTS if (*cell, m) in hidden}
    if "households" in gone:
        gone.update(FOLLOWING)
    row: Row = {"level": place.level, "code": place.code, **dict(place.attributes)}
    row["period"] = period
    for m in MEASURES:
        row[m] = None if m in gone else values[(*cell, m)]
    available, occupied = row["available_place_days"], row["occupied_place_days"]
    row["occupancy_rate"] = (
        _ratio(occupied, available, 4) if occupied is not None and available else None
    )
    if name.endswith("_week"):  # receipts, interventions are folded by month: not by week
        row["revenue_cents"] = None
        row.update(dict.fromkeys(INTERVENTIONS))
    revenue = row["revenue_cents"]
    row["revenue_per_occupied_place_day_cents"] = (
        _ratio(revenue, occupied, 2) if revenue is not None and occupied else None
    )
    if "households" in gone:
        gone.update({"occupancy_rate", "revenue_per_occupied_place_day_cents"})
    row["suppressed"] = ",".join(c for c in COLUMNS if c in gone)
    return {c: row[c] for c in COLUMNS}


def _ratio(numerator: int, denominator: int, places: int) -> Decimal:
    """``numerator / denominator`` to ``places`` decimals, half-up, exactly."""
    scaled = Decimal(numerator * 10**places) / Decimal(denominator)
    return scaled.quantize(Decimal(1), rounding="ROUND_HALF_UP").scaleb(-places)


# --- flows -----------------------------------------------------------------------------


def _flow_values(
    inputs: AnalyticsInputs, spans: dict[str, list[str]], as_of: date
) -> dict[Cell, int]:
    region_of = regions()[1]
    values: dict[Cell, int] = {}
    for move in inputs.moves:
        if date.fromisoformat(move["month"] + "-01") > as_of:
            continue
        pairs = {
            "departement": (move["from_departement"], move["to_departement"]),
            "region": tuple(
                region_of.get(d, "??") for d in (move["from_departement"], move["to_departement"])
            ),
        }
        for level, pair in pairs.items():
            for kind in FLOW_PERIODS:
                period = move["month"] if kind == "month" else move["month"][:4]
                cell = (f"flows_{level}_{kind}", pair, period, "households")
                values[cell] = values.get(cell, 0) + move["households"]
    return values


def _flow_relations(flows: dict[Cell, int]) -> Iterable[Relation[Cell]]:
    """A pair of régions and the pairs of their départements; a year and its months."""
    region_of = regions()[1]
    children: dict[tuple[str, Cell], list[Cell]] = defaultdict(list)
    for cell in flows:
        name, pair, period, measure = cell
        if name.startswith("flows_departement"):
            regions_pair = tuple(region_of.get(d, "??") for d in pair)
            parent = (name.replace("departement", "region"), regions_pair, period, measure)
            children[("place", parent)].append(cell)
        if name.endswith("_month"):
            year = (name.replace("_month", "_year"), pair, period[:4], measure)
            children[("time", year)].append(cell)
    for (_, parent), cells in children.items():
        yield Relation(parent, tuple(sorted(cells)))


def _flow_rows(flows: dict[Cell, int], hidden: set[Cell]) -> dict[str, list[Row]]:
    tables: dict[str, list[Row]] = {n: [] for n in table_names() if n.startswith("flows_")}
    for cell in sorted(flows):
        name, pair, period, _ = cell
        gone = cell in hidden
        tables[name].append(
            {
                "level": name.split("_")[1],
                "from_code": pair[0],
                "to_code": pair[1],
                "period": period,
                "households": None if gone else flows[cell],
                "suppressed": "households" if gone else "",
            }
        )
    return tables
