"""Occupancy: the facts about each aire's places and stays, and the figures computed from them.

The fold keeps **facts**, not day counts: which emplacements exist (and since when), when
each was out of service, when the aire was closed, and every stay (emplacement, places,
arrival and end days, head counts by age band). Day and month figures are computed on read
by pure functions, for one aire, one month and an ``as_of`` day. No household reference is
kept: analysts read these tables.

Tables (values are ``text``, ``int``, ``date``; ``None`` where said):

``occupancy_emplacements`` key ``(aire_id, number)``
    ``places`` int, ``added_on`` date (Paris day of the event's recorded time),
    ``out_of_service_since`` date or None (start of the interval still open, if any).
``occupancy_out_of_service`` key ``(aire_id, number, start_day)``
    ``end_day`` date or None: unavailable from ``start_day`` up to, not including,
    ``end_day`` (None: still out of service).
``occupancy_closures`` key ``(aire_id, first_day)``
    ``last_day`` date: the whole aire is closed from ``first_day`` to ``last_day``, both
    included.
``occupancy_stays`` key ``(stay_id,)``
    ``aire_id``, ``emplacement``, ``places`` (the emplacement's places at arrival),
    ``arrival_day`` (Paris day of ``arrived_at``), ``departure_day`` (Paris day of
    ``departed_at``, None while open), ``end_day`` (first day no longer occupied: the
    departure day, or arrival + 1 for a same-day stay; None while open), ``adults``,
    ``children`` (all bands), ``caravans``.
``occupancy_stay_people`` key ``(stay_id, age_band)``
    ``aire_id``, ``people``: head count of one age band (``adult`` or a children's band
    such as ``0-3``) on the stay; bands with nobody are not stored.
``occupancy_extensions`` key ``(stay_id, version)``
    ``aire_id``, ``granted_on`` (Paris day of the event's recorded time), ``reason``
    (always ``granted``), ``until`` date: the derogations granted. Never why: the reason
    (school, training, work, hospitalisation) is health data among others, sealed on the
    household with the evidence; no category of it is kept either (any category would
    single out hospitalisations). No household is kept.

Day semantics (DESIGN §2): a stay occupies its emplacement on each Europe/Paris day from its
arrival day up to, not including, its departure day; a stay that leaves on its arrival day
counts one day; an open stay occupies every day up to ``as_of`` included. An occupied
emplacement counts all its places.

Availability: a day's available places are the places of the emplacements that exist that
day (``added_on`` on or before it), none when the aire is closed, less the emplacements out
of service that day. A stay found on an unavailable emplacement (the aire closed around it,
the emplacement put out of service while occupied, an arrival dated before the emplacement
was recorded) is not counted as occupied: it is reported apart as
``places_occupied_unavailable``, so that occupied place-days never exceed available ones
and the rate stays within 0..1. Its household and people are still counted.

The computing functions take an ``OccupancyFacts``: plain row lists of the tables above
(``OccupancyFacts.from_tables(rows)`` reads them from anything with a ``rows(table)``
method, such as ``MemoryRows``). The rows of other aires may be included; they are ignored.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from hacienda_ledger.aggregates.aire import Aire
from hacienda_ledger.aggregates.stay import Stay
from hacienda_ledger.aggregates.values import month_bounds, paris_day
from hacienda_ledger.projections.base import (
    ColumnType,
    Projection,
    Row,
    Rows,
    month_of,
    table,
    topics_of,
)

EMPLACEMENTS = "occupancy_emplacements"
OUT_OF_SERVICE = "occupancy_out_of_service"
CLOSURES = "occupancy_closures"
STAYS = "occupancy_stays"
STAY_PEOPLE = "occupancy_stay_people"
EXTENSIONS = "occupancy_extensions"
UNMET = "occupancy_unmet_demand"
#: An emplacement's key: its own table's, and its out-of-service periods' (with their start).
EMPLACEMENT: dict[str, ColumnType] = {"aire_id": "text", "number": "text"}

ADULT = "adult"
GRANTED = "granted"  # what ``occupancy_extensions.reason`` says of every extension

#: The ALT2 formula the declarations apply and name (see ``alt2_month``).
ALT2_FORMULA = (
    "arrêté du 30 décembre 2014 — aide = places disponibles et conformes au prorata des "
    "jours × (part fixe + part variable × taux d'occupation) — version 2"
)

#: ALT2 monthly amounts per place, in cents: (fixed part, variable part), in force since 2019.
ALT2_DEFAULT_RATES: tuple[int, int] = (5650, 7595)


class OccupancyStreamError(LookupError):
    """The stream contradicts what the aggregates guarantee (e.g. a stay on an unknown
    emplacement). Raised rather than folding a wrong figure."""


class OccupancyProjection(Projection):
    """Folds Aire emplacement/closure events and Stay arrivals/departures into facts."""

    name = "occupancy"
    # 2: an extension's reason is no longer kept (issue 16); 3: unmet demand (issue 19)
    version = "3"
    tables = (
        table(
            EMPLACEMENTS,
            EMPLACEMENT,
            places="int",
            added_on="date",
            out_of_service_since="date",
        ),
        table(
            OUT_OF_SERVICE,
            {**EMPLACEMENT, "start_day": "date"},
            end_day="date",
        ),
        table(CLOSURES, {"aire_id": "text", "first_day": "date"}, last_day="date"),
        table(
            STAYS,
            {"stay_id": "text"},
            aire_id="text",
            emplacement="text",
            places="int",
            arrival_day="date",
            departure_day="date",
            end_day="date",
            adults="int",
            children="int",
            caravans="int",
        ),
        table(
            STAY_PEOPLE,
            {"stay_id": "text", "age_band": "text"},
            aire_id="text",
            people="int",
        ),
        table(
            EXTENSIONS,
            {"stay_id": "text", "version": "int"},
            aire_id="text",
            granted_on="date",
            reason="text",
            until="date",
        ),
        table(
            UNMET,
            {"aire_id": "text", "day": "date", "reason": "text"},
            requests="int",
            caravans="int",
            people="int",
        ),
    )
    topics = topics_of(
        Aire.EmplacementAdded,
        Aire.EmplacementOutOfService,
        Aire.EmplacementBackInService,
        Aire.ClosureScheduled,
        Aire.UnmetDemandRecorded,
        Stay.Opened,
        Stay.Departed,
        Stay.Extended,
    )

    def apply(self, event: Any, position: int, rows: Rows) -> None:
        if isinstance(event, Aire.EmplacementAdded):
            rows.put(
                EMPLACEMENTS,
                {
                    "aire_id": str(event.originator_id),
                    "number": event.number,
                    "places": event.places,
                    # the day it entered service (version 1: the day it was recorded)
                    "added_on": event.in_service_from or paris_day(event.timestamp),
                    "out_of_service_since": None,
                },
            )
        elif isinstance(event, Aire.EmplacementOutOfService):
            emplacement = _emplacement(rows, str(event.originator_id), event.number)
            emplacement["out_of_service_since"] = event.start
            rows.put(EMPLACEMENTS, emplacement)
            rows.put(
                OUT_OF_SERVICE,
                {
                    "aire_id": emplacement["aire_id"],
                    "number": event.number,
                    "start_day": event.start,
                    "end_day": None,
                },
            )
        elif isinstance(event, Aire.EmplacementBackInService):
            emplacement = _emplacement(rows, str(event.originator_id), event.number)
            since = emplacement["out_of_service_since"]
            if since is None:
                raise OccupancyStreamError(
                    f"emplacement {event.number} of aire {event.originator_id} "
                    "comes back in service but was not out of service"
                )
            rows.put(
                OUT_OF_SERVICE,
                {
                    "aire_id": emplacement["aire_id"],
                    "number": event.number,
                    "start_day": since,
                    "end_day": event.start,
                },
            )
            emplacement["out_of_service_since"] = None
            rows.put(EMPLACEMENTS, emplacement)
        elif isinstance(event, Aire.ClosureScheduled):
            rows.put(
                CLOSURES,
                {
                    "aire_id": str(event.originator_id),
                    "first_day": event.closure.start,
                    "last_day": event.closure.end,
                },
            )
        elif isinstance(event, Aire.UnmetDemandRecorded):
            key = (str(event.originator_id), event.day, event.reason)
            row = rows.get(UNMET, key) or dict(
                zip(("aire_id", "day", "reason"), key, strict=True),
                requests=0,
                caravans=0,
                people=0,
            )
            row["requests"] += 1
            row["caravans"] += event.caravans
            row["people"] += event.people
            rows.put(UNMET, row)
        elif isinstance(event, Stay.Opened):
            aire_id = str(event.aire_id)
            emplacement = _emplacement(rows, aire_id, event.emplacement)
            stay_id = str(event.originator_id)
            composition = event.composition
            bands: dict[str, int] = {}
            for band, count in composition.by_band():
                if count:
                    bands[band] = bands.get(band, 0) + count
            rows.put(
                STAYS,
                {
                    "stay_id": stay_id,
                    "aire_id": aire_id,
                    "emplacement": event.emplacement,
                    "places": emplacement["places"],
                    "arrival_day": paris_day(event.arrived_at),
                    "departure_day": None,
                    "end_day": None,
                    "adults": composition.adults,
                    "children": sum(count for _, count in composition.children),
                    "caravans": composition.caravans,
                },
            )
            for band, count in sorted(bands.items()):
                rows.put(
                    STAY_PEOPLE,
                    {"stay_id": stay_id, "age_band": band, "aire_id": aire_id, "people": count},
                )
        elif isinstance(event, Stay.Extended):
            stay = _stay(rows, event.originator_id, "extended")
            rows.put(
                EXTENSIONS,
                {
                    "stay_id": stay["stay_id"],
                    "version": event.originator_version,
                    "aire_id": stay["aire_id"],
                    "granted_on": paris_day(event.timestamp),
                    "reason": GRANTED,
                    "until": event.until_day,
                },
            )
        elif isinstance(event, Stay.Departed):
            stay = _stay(rows, event.originator_id, "departs")
            departure_day = paris_day(event.departed_at)
            stay["departure_day"] = departure_day
            stay["end_day"] = max(departure_day, stay["arrival_day"] + timedelta(days=1))
            rows.put(STAYS, stay)


def _emplacement(rows: Rows, aire_id: str, number: str) -> Row:
    row = rows.get(EMPLACEMENTS, (aire_id, number))
    if row is None:
        raise OccupancyStreamError(f"no emplacement {number} on aire {aire_id}")
    return row


def _stay(rows: Rows, stay_id: UUID, what: str) -> Row:
    row = rows.get(STAYS, (str(stay_id),))
    if row is None:
        raise OccupancyStreamError(f"stay {stay_id} {what} but never opened")
    return row


# --- reading the facts ------------------------------------------------------------------


class TableReader(Protocol):
    """Anything that lists a table's live rows (``MemoryRows`` does)."""

    def rows(self, table: str) -> list[Row]: ...


@dataclass(frozen=True)
class OccupancyFacts:
    """The occupancy tables as plain row lists (any aires; filtered by the functions)."""

    emplacements: Sequence[Row] = ()
    out_of_service: Sequence[Row] = ()
    closures: Sequence[Row] = ()
    stays: Sequence[Row] = ()
    people: Sequence[Row] = ()
    unmet: Sequence[Row] = ()

    @classmethod
    def from_tables(cls, reader: TableReader) -> OccupancyFacts:
        return cls(
            emplacements=reader.rows(EMPLACEMENTS),
            out_of_service=reader.rows(OUT_OF_SERVICE),
            closures=reader.rows(CLOSURES),
            stays=reader.rows(STAYS),
            people=reader.rows(STAY_PEOPLE),
            unmet=reader.rows(UNMET),
        )


@dataclass(frozen=True)
class OccupancyDay:
    """One Europe/Paris day of one aire.

    ``places_capacity``: places of the emplacements existing that day;
    ``places_available``: the same, less everything on a closed day and the out-of-service
    emplacements; ``places_occupied``: places of the available emplacements occupied that
    day (an occupied emplacement counts all its places, once even if two stays share the
    day); ``places_occupied_unavailable``: places of occupied emplacements that were not
    available (not in ``places_occupied``); ``households``: stays present that day;
    ``people``: their head counts by age band; ``arrivals`` / ``departures``: stays whose
    arrival / departure (Paris day of the recorded arrival and departure times) is that day.
    """

    day: date
    places_capacity: int
    places_available: int
    places_occupied: int
    places_occupied_unavailable: int
    households: int
    people: dict[str, int]
    arrivals: int
    departures: int


@dataclass(frozen=True)
class OccupancyMonth:
    """One month of one aire, counted through ``as_of``.

    ``occupancy_rate`` = ``occupied_place_days`` ÷ ``available_place_days``, a Decimal
    fraction quantized to 0.0001 half-up; None when nothing was available.
    ``average_stay_days``: mean length (departure day − arrival day, 1 for a same-day stay)
    of the ``stays_ended`` stays whose departure day falls in the month, on or before
    ``as_of``; to 0.01 half-up; None when none ended.
    """

    aire_id: str
    month: str
    as_of: date
    days: tuple[OccupancyDay, ...]
    capacity_place_days: int
    available_place_days: int
    occupied_place_days: int
    occupied_unavailable_place_days: int
    occupancy_rate: Decimal | None
    stays_ended: int
    average_stay_days: Decimal | None

    @property
    def in_service(self) -> bool:
        """Whether any emplacement of the aire was in service on a day of the month: a
        month before the aire (and so each of its emplacements) entered service reads « not
        in service », not 0 %. (A property, not a field: sealed digests are unchanged.)"""
        return self.capacity_place_days > 0


@dataclass(frozen=True)
class Alt2Month:
    """The ALT2 figures of one month of one aire (see ``alt2_month`` for the formula)."""

    aire_id: str
    month: str
    as_of: date
    places: int
    occupancy_days: int
    available_place_days: int
    occupancy_rate: Decimal | None
    pitch_fee_revenue_cents: int
    fixed_cents_per_place: int
    variable_cents_per_place: int
    fixed_part_cents: int
    variable_part_cents: int
    aid_cents: int

    @property
    def in_service(self) -> bool:
        """Whether the aire had any emplacement in service in the month (``places`` is the
        capacity on its last counted day; an emplacement is never removed)."""
        return self.places > 0


@dataclass
class _Aire:
    """One aire's facts, indexed for day-by-day counting."""

    places: dict[str, int] = field(default_factory=dict)
    added_on: dict[str, date] = field(default_factory=dict)
    out_of_service: dict[str, list[tuple[date, date | None]]] = field(default_factory=dict)
    closures: list[tuple[date, date]] = field(default_factory=list)
    stays: list[Row] = field(default_factory=list)
    people: dict[str, dict[str, int]] = field(default_factory=dict)

    @classmethod
    def of(cls, facts: OccupancyFacts, aire_id: str) -> _Aire:
        aire = cls()
        for row in facts.emplacements:
            if row["aire_id"] == aire_id:
                aire.places[row["number"]] = row["places"]
                aire.added_on[row["number"]] = row["added_on"]
        for row in facts.out_of_service:
            if row["aire_id"] == aire_id:
                aire.out_of_service.setdefault(row["number"], []).append(
                    (row["start_day"], row["end_day"])
                )
        aire.closures = [
            (r["first_day"], r["last_day"]) for r in facts.closures if r["aire_id"] == aire_id
        ]
        aire.stays = [r for r in facts.stays if r["aire_id"] == aire_id]
        for row in facts.people:
            if row["aire_id"] == aire_id:
                aire.people.setdefault(row["stay_id"], {})[row["age_band"]] = row["people"]
        return aire

    def closed(self, day: date) -> bool:
        return any(start <= day <= end for start, end in self.closures)

    def exists(self, number: str, day: date) -> bool:
        added = self.added_on.get(number)
        return added is not None and added <= day

    def in_service(self, number: str, day: date) -> bool:
        return not any(
            start <= day and (end is None or day < end)
            for start, end in self.out_of_service.get(number, ())
        )

    def available(self, number: str, day: date) -> bool:
        return self.exists(number, day) and not self.closed(day) and self.in_service(number, day)

    def day(self, day: date) -> OccupancyDay:
        capacity = sum(p for n, p in self.places.items() if self.exists(n, day))
        available = sum(p for n, p in self.places.items() if self.available(n, day))
        occupied: dict[str, int] = {}
        households = 0
        people: dict[str, int] = {}
        arrivals = departures = 0
        for stay in self.stays:
            if stay["arrival_day"] == day:
                arrivals += 1
            if stay["departure_day"] == day:
                departures += 1
            if not occupies(stay, day):
                continue
            households += 1
            occupied[stay["emplacement"]] = stay["places"]
            for band, count in self.people.get(stay["stay_id"], {}).items():
                people[band] = people.get(band, 0) + count
        on_available = sum(p for n, p in occupied.items() if self.available(n, day))
        return OccupancyDay(
            day=day,
            places_capacity=capacity,
            places_available=available,
            places_occupied=on_available,
            places_occupied_unavailable=sum(occupied.values()) - on_available,
            households=households,
            people=_bands_in_order(people),
            arrivals=arrivals,
            departures=departures,
        )


def occupies(stay: Row, day: date) -> bool:
    """Whether a stay row occupies its emplacement on ``day`` (callers cut at ``as_of``):
    from its arrival day up to, not including, its end day; every day on while open."""
    end: date | None = stay["end_day"]
    return bool(stay["arrival_day"] <= day and (end is None or day < end))


def _bands_in_order(people: dict[str, int]) -> dict[str, int]:
    """Adults first, then the children's bands sorted, as ``Composition.by_band``."""
    ordered = {ADULT: people[ADULT]} if ADULT in people else {}
    ordered.update(sorted((b, n) for b, n in people.items() if b != ADULT))
    return ordered


def half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half-up to an integer (both non-negative)."""
    return (2 * numerator + denominator) // (2 * denominator)


def _fraction(numerator: int, denominator: int, places: int) -> Decimal:
    """``numerator / denominator`` to ``places`` decimals, half-up, computed exactly."""
    return Decimal(half_up(numerator * 10**places, denominator)).scaleb(-places)


def aire_days(
    facts: OccupancyFacts, aire_id: UUID | str, first: date, last: date
) -> Iterator[OccupancyDay]:
    """Each day of one aire from ``first`` to ``last`` (both included), as in a month."""
    aire = _Aire.of(facts, str(aire_id))
    for i in range(max(0, (last - first).days + 1)):
        yield aire.day(first + timedelta(days=i))


def occupancy_days(
    facts: OccupancyFacts, aire_id: UUID | str, month: str, as_of: date
) -> tuple[OccupancyDay, ...]:
    """Each day of ``month`` (``YYYY-MM``) for one aire, up to ``as_of`` included; days after
    ``as_of`` are left out (none at all when the month starts after it)."""
    first, last = month_bounds(month)
    aire = _Aire.of(facts, str(aire_id))
    stop = min(last, as_of)
    return tuple(
        aire.day(first + timedelta(days=i)) for i in range(max(0, (stop - first).days + 1))
    )


def occupancy_month(
    facts: OccupancyFacts, aire_id: UUID | str, month: str, as_of: date
) -> OccupancyMonth:
    """The month's day rows and totals for one aire, counted through ``as_of``.

    available place-days = Σ days ``places_available``; occupied place-days = Σ days
    ``places_occupied``; occupancy rate = occupied ÷ available (0.0001, half-up, None if
    nothing was available); average stay = Σ (end day − arrival day) ÷ stays ended.
    """
    days = occupancy_days(facts, aire_id, month, as_of)
    available = sum(d.places_available for d in days)
    occupied = sum(d.places_occupied for d in days)
    first, last = month_bounds(month)
    stop = min(last, as_of)
    ended = [
        s
        for s in facts.stays
        if s["aire_id"] == str(aire_id)
        and s["departure_day"] is not None
        and first <= s["departure_day"] <= stop
    ]
    total_days = sum((s["end_day"] - s["arrival_day"]).days for s in ended)
    return OccupancyMonth(
        aire_id=str(aire_id),
        month=month,
        as_of=as_of,
        days=days,
        capacity_place_days=sum(d.places_capacity for d in days),
        available_place_days=available,
        occupied_place_days=occupied,
        occupied_unavailable_place_days=sum(d.places_occupied_unavailable for d in days),
        occupancy_rate=_fraction(occupied, available, 4) if available else None,
        stays_ended=len(ended),
        average_stay_days=_fraction(total_days, len(ended), 2) if ended else None,
    )


def alt2_rates(year: int, rates: Mapping[int, tuple[int, int]] | None = None) -> tuple[int, int]:
    """The (fixed, variable) monthly amounts per place in cents in force in ``year``: the
    entry of ``rates`` for the latest year on or before it, else ``ALT2_DEFAULT_RATES``."""
    rates = rates or {}
    known = [y for y in rates if y <= year]
    return rates[max(known)] if known else ALT2_DEFAULT_RATES


def alt2_month(
    facts: OccupancyFacts,
    aire_id: UUID | str,
    month: str,
    *,
    as_of: date,
    pitch_fee_revenue_cents: int,
    rates: Mapping[int, tuple[int, int]] | None = None,
    occupancy: OccupancyMonth | None = None,
) -> Alt2Month:
    """The ALT2 figures of one month: places, occupancy days, rate, pitch-fee revenue, aid.

    ALT2 as the arrêté of 30 December 2014 computes it (``ALT2_FORMULA``), our documented
    reading:

    - ``places``: the capacity (places of the existing emplacements, closed or out of service
      included) on the month's last counted day (its last day, or ``as_of``), for reference;
    - the places that count are those **available and compliant**, pro rata of the days of
      the month: available place-days ÷ days in the month (closures, emplacements out of
      service and not yet in service take theirs out);
    - ``occupancy_days``: occupied place-days of the month (as ``occupancy_month``);
    - ``occupancy_rate``: occupied ÷ available place-days, as reported (0.0001, half-up);
    - ``pitch_fee_revenue_cents``: given by the caller (the revenue projection folds money);
    - aid, in cents, with F and V the fixed and variable monthly amounts per place in force
      that year (``alt2_rates``; defaults 56.50 € and 75.95 €) and D the days of the month::

          places available = available place-days ÷ D
          aid = places available × (F + V × occupied ÷ available place-days)
              = (F × available place-days + V × occupied place-days) ÷ D

      computed exactly and rounded half-up to the cent **once**; ``fixed_part_cents`` is
      F × available ÷ D rounded half-up, ``variable_part_cents`` the rest of the aid. A month
      closed throughout has nothing available: no fixed part, no variable part.

    ``occupancy``: the month's ``occupancy_month`` when the caller has it already.
    """
    occupancy = occupancy or occupancy_month(facts, aire_id, month, as_of)
    places = occupancy.days[-1].places_capacity if occupancy.days else 0
    first, last = month_bounds(month)
    days = (last - first).days + 1
    fixed, variable = alt2_rates(first.year, rates)
    available = occupancy.available_place_days
    aid = half_up(fixed * available + variable * occupancy.occupied_place_days, days)
    fixed_part = half_up(fixed * available, days)
    variable_part = aid - fixed_part
    return Alt2Month(
        aire_id=str(aire_id),
        month=month,
        as_of=as_of,
        places=places,
        occupancy_days=occupancy.occupied_place_days,
        available_place_days=available,
        occupancy_rate=occupancy.occupancy_rate,
        pitch_fee_revenue_cents=pitch_fee_revenue_cents,
        fixed_cents_per_place=fixed,
        variable_cents_per_place=variable,
        fixed_part_cents=fixed_part,
        variable_part_cents=variable_part,
        aid_cents=aid,
    )


def alt2_year(
    facts: OccupancyFacts,
    aire_id: UUID | str,
    year: int,
    *,
    as_of: date,
    pitch_fee_revenue_cents: Mapping[str, int],
    rates: Mapping[int, tuple[int, int]] | None = None,
) -> tuple[Alt2Month, ...]:
    """``alt2_month`` for each month of ``year`` that starts on or before ``as_of``;
    ``pitch_fee_revenue_cents`` maps ``YYYY-MM`` to the month's revenue (0 when absent)."""
    months = [month_of(date(year, m, 1)) for m in range(1, 13) if date(year, m, 1) <= as_of]
    return tuple(
        alt2_month(
            facts,
            aire_id,
            month,
            as_of=as_of,
            pitch_fee_revenue_cents=pitch_fee_revenue_cents.get(month, 0),
            rates=rates,
        )
        for month in months
    )
