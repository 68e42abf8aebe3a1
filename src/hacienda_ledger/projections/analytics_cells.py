"""The vocabulary of the analytics tables (issue 19): their levels, periods, measures and
columns, a cell's key, a place, and the periods of a span of days (``analytics_tables``
counts and publishes them; ``analytics_releases`` carries what a publication released)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from hacienda_ledger.projections.base import Row, month_of
from hacienda_ledger.projections.occupancy import OccupancyFacts

LEVELS = ("aire", "commune", "collectivite", "departement", "region", "france")
PERIODS = ("week", "month", "season", "year")
#: The flows are published by month and year only.
FLOW_PERIODS = ("month", "year")
#: Periods made of whole months: revenue (folded by month) is counted in them only.
MONTHLY = ("month", "season", "year")
#: A period and the months that make it up (weeks straddle months: they make up nothing).
MADE_OF_MONTHS = ("season", "year")
#: (first day, last day or None, column) of the stay-length bands, by the stays ended.
BANDS = (
    (1, 7, "stays_1_7_days"),
    (8, 30, "stays_8_30_days"),
    (31, 90, "stays_31_90_days"),
    (91, None, "stays_over_90_days"),
)
PEOPLE = {"adult": "people_adults", "0-3": "people_0_3", "4-17": "people_4_17"}
OTHER_BANDS = "people_other_bands"
#: Counts of households or people: each suppressed below the threshold, with its own pattern.
COUNTS = (
    "arrivals",
    "departures",
    *(band[2] for band in BANDS),
    "households",
    *PEOPLE.values(),
    OTHER_BANDS,
    "caravans",
    "unmet_requests",
    "unmet_caravans",
    "unmet_people",
)
#: Figures that would tell about the households present: suppressed where ``households`` is
#: (the same pattern under the same relations: exactly as protected).
FOLLOWING = ("occupied_place_days", "revenue_cents")
#: The kinds of intervention (``InterventionKind``), one column each.
INTERVENTION_KINDS = (
    "cleaning",
    "repair",
    "maintenance",
    "meter_round",
    "inspection",
    "incident",
    "official_visit",
    "pest_control",
    "other",
)
#: Interventions recorded (not cancelled) by kind, in the month they started.
INTERVENTIONS = tuple(f"interventions_{kind}" for kind in INTERVENTION_KINDS)
#: Facts of the aires, not of households: never suppressed (no threshold applies to them).
SERVICE = ("out_of_service_place_days", *INTERVENTIONS)
MEASURES = ("available_place_days", *FOLLOWING, *COUNTS, *SERVICE)
#: What names a row's place: its level, code and name, and the places holding it.
PLACE_COLUMNS = ("level", "code", "name", "commune", "collectivite", "departement", "region")
COLUMNS = (
    *PLACE_COLUMNS,
    "latitude",
    "longitude",
    "period",
    "available_place_days",
    "occupied_place_days",
    "occupancy_rate",
    *COUNTS,
    "revenue_cents",
    "revenue_per_occupied_place_day_cents",
    *SERVICE,
    "suppressed",
)
FLOW_COLUMNS = ("level", "from_code", "to_code", "period", "households", "suppressed")
#: Adjacent levels: every place of the second is exactly the places of the first it holds.
NESTING = (
    ("aire", "commune"),
    ("aire", "collectivite"),
    ("commune", "departement"),
    ("collectivite", "departement"),
    ("departement", "region"),
    ("region", "france"),
)
DEFAULT_THRESHOLD = 11

Cell = tuple[str, Any, str, str]  # (table, place, period, measure)


@dataclass(frozen=True)
class AnalyticsInputs:
    """The facts the tables are computed from: the occupancy projection's, the analytics
    projection's public tables, the revenue projection's ``revenue_monthly``."""

    occupancy: OccupancyFacts
    aires: Sequence[Row]
    collectivites: Sequence[Row]
    moves: Sequence[Row]
    revenue: Sequence[Row]
    #: the interventions projection's ``interventions_monthly`` rows
    interventions: Sequence[Row] = ()


@dataclass(frozen=True)
class Place:
    """One place of one level: its code and what its row says of it."""

    level: str
    code: str
    key: tuple[str, ...]
    aires: frozenset[str]
    attributes: tuple[tuple[str, Any], ...]


def table_names() -> tuple[str, ...]:
    """Every published table, by level then period, then the flows."""
    geo = tuple(f"{level}_{period}" for level in LEVELS for period in PERIODS)
    flows = tuple(f"flows_{level}_{p}" for level in ("departement", "region") for p in FLOW_PERIODS)
    return geo + flows


def period_of(day: date, kind: str) -> str:
    """``2025-W03`` (ISO week), ``2025-03``, ``2025-summer`` (April to September) or
    ``2024-winter`` (October to March, named by the year it starts), ``2025``."""
    if kind == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if kind == "month":
        return month_of(day)
    if kind == "season":
        if 4 <= day.month <= 9:
            return f"{day.year}-summer"
        return f"{day.year if day.month >= 10 else day.year - 1}-winter"
    return str(day.year)


def periods_between(first: date, last: date, kind: str) -> list[str]:
    """The periods of that kind from ``first`` to ``last``, in order."""
    found: list[str] = []
    step = timedelta(days=7)
    day = first if kind == "week" else first.replace(day=1)
    while day <= last:
        period = period_of(day, kind)
        if not found or found[-1] != period:
            found.append(period)
        day = day + step if kind == "week" else (day + timedelta(days=32)).replace(day=1)
    if first <= last and period_of(last, kind) not in found[-1:]:
        found.append(period_of(last, kind))
    return found


def months_of(period: str, kind: str, months: Sequence[str]) -> list[str]:
    """The months published that make up a season or a year."""
    return [m for m in months if period_of(date.fromisoformat(m + "-01"), kind) == period]


def period_end(period: str, kind: str) -> date:
    """The last day of a period as ``period_of`` names it."""
    if kind == "week":
        year, week = period.split("-W")
        return date.fromisocalendar(int(year), int(week), 7)
    if kind == "month":
        return (date.fromisoformat(period + "-01") + timedelta(days=32)).replace(day=1) - DAY
    if kind == "season":
        year, name = period.split("-")
        return date(int(year), 9, 30) if name == "summer" else date(int(year) + 1, 3, 31)
    return date(int(period), 12, 31)


DAY = timedelta(days=1)
