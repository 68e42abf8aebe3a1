"""Occupancy: fold the real aggregates' events into facts, then count days by hand.

Events come from running Aire and Stay commands in time order (``collect_events()``); they
are folded with positions 1..n into ``MemoryRows``. No database. Expected figures are
written by hand, with the arithmetic in comments. Days are Europe/Paris days (DESIGN §2).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import pytest

from hacienda_ledger.aggregates.aire import Aire
from hacienda_ledger.aggregates.integrity import topic_of
from hacienda_ledger.aggregates.stay import Stay
from hacienda_ledger.aggregates.values import Composition, month_bounds, paris_day
from hacienda_ledger.projections.base import MemoryRows
from hacienda_ledger.projections.occupancy import (
    ALT2_DEFAULT_RATES,
    CLOSURES,
    EMPLACEMENTS,
    EXTENSIONS,
    OUT_OF_SERVICE,
    STAY_PEOPLE,
    STAYS,
    UNMET,
    OccupancyFacts,
    OccupancyProjection,
    OccupancyStreamError,
    alt2_month,
    alt2_rates,
    alt2_year,
    occupancy_days,
    occupancy_month,
)
from hacienda_ledger.projections.unmet import unmet_demand

COLLECTIVITE_ID = UUID("7a1c1b52-0d7e-4b59-9f0b-2f5c0a6f1d01")


def utc(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def stay_id(name: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"stay:{name}")


def household(name: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"household:{name}")


# Monday 6 January 2025, 09:00 in Paris: when the aires are registered.
REGISTERED = utc(2025, 1, 6, 8)


class World:
    """Runs commands on real aggregates and keeps their events in stream order."""

    def __init__(self, code: str = "49007-A", at: datetime = REGISTERED) -> None:
        self.events: list[Any] = []
        self.aire = Aire.register(
            code=code,
            name=f"Aire {code}",
            collectivite_id=COLLECTIVITE_ID,
            sector="Anjou",
            mode="regie",
            insee_code="49007",
            departement="49",
            latitude=Decimal("47.4784"),
            longitude=Decimal("-0.5632"),
            actor="manager",
            at=at,
        )
        self.stays: dict[str, Stay] = {}
        self.take(self.aire)

    def take(self, *aggregates: Aire | Stay) -> None:
        for aggregate in aggregates:
            self.events.extend(aggregate.collect_events())

    def add(self, number: str, places: int, at: datetime) -> None:
        self.aire.add_emplacement(number=number, places=places, actor="manager", at=at)
        self.take(self.aire)

    def arrive(
        self, name: str, emplacement: str, arrived_at: datetime, composition: Composition
    ) -> Stay:
        """Admit on the aire (which checks the emplacement is free, in service, open) and
        open the stay, as the application does."""
        sid = stay_id(name)
        self.aire.admit(
            stay_id=sid,
            emplacement=emplacement,
            arrival_day=paris_day(arrived_at),
            actor="manager",
            at=arrived_at,
        )
        stay = Stay.open(
            stay_id=sid,
            aire_id=self.aire.id,
            emplacement=emplacement,
            household_ref=household(name),
            arrived_at=arrived_at,
            composition=composition,
            agreement_ref=f"COT-{name}",
            entry_inspection_ref=f"EDL-IN-{name}",
            water_index=Decimal("100"),
            electricity_index=Decimal("2000"),
            max_consecutive_days=90,
            extension_cap_months=7,
            actor="manager",
            at=arrived_at,
        )
        self.stays[name] = stay
        self.take(self.aire, stay)
        return stay

    def depart(self, name: str, departed_at: datetime) -> None:
        stay = self.stays[name]
        stay.depart(
            departed_at=departed_at,
            exit_inspection_ref=f"EDL-OUT-{name}",
            water_index=Decimal("101"),
            electricity_index=Decimal("2010"),
            actor="manager",
            at=departed_at,
        )
        self.aire.release(stay_id=stay.id, actor="manager", at=departed_at)
        self.take(stay, self.aire)

    def fold(self) -> MemoryRows:
        projection = OccupancyProjection()
        rows = MemoryRows(projection.tables)
        for position, event in enumerate(self.events, start=1):
            projection.apply(event, position, rows)
        return rows

    def facts(self) -> OccupancyFacts:
        return OccupancyFacts.from_tables(self.fold())

    @property
    def aire_id(self) -> str:
        return str(self.aire.id)


ADULTS_2 = Composition(2)


# --- the projection ----------------------------------------------------------------------


def test_projection_names_its_tables_and_topics() -> None:
    """It reads exactly the eight Aire/Stay events that carry occupancy facts (issue 19: the
    unmet demand, into a table of its own)."""
    projection = OccupancyProjection()
    assert projection.name == "occupancy"
    assert [t.name for t in projection.tables] == [
        EMPLACEMENTS,
        OUT_OF_SERVICE,
        CLOSURES,
        STAYS,
        STAY_PEOPLE,
        EXTENSIONS,
        UNMET,
    ]
    assert set(projection.topics) == {
        topic_of(Aire.UnmetDemandRecorded),
        topic_of(Aire.EmplacementAdded),
        topic_of(Aire.EmplacementOutOfService),
        topic_of(Aire.EmplacementBackInService),
        topic_of(Aire.ClosureScheduled),
        topic_of(Stay.Opened),
        topic_of(Stay.Departed),
        topic_of(Stay.Extended),
    }
    assert projection.topics[0] == "hacienda_ledger.aggregates.aire:Aire.EmplacementAdded"
    for t in projection.tables:
        assert {c.type for c in t.columns} <= {"int", "text", "decimal", "date", "bool"}


def test_fold_extensions_granted_with_their_aire_day_and_end_never_why() -> None:
    """Each extension granted is a row: the stay's aire, the Paris day it was granted (23:30
    UTC on 31 May = 1 June in Paris), ``granted`` and the end date; neither its reason nor
    its evidence reference (the household's, sealed)."""
    world = World()
    world.add("1", 2, utc(2025, 1, 10))
    stay = world.arrive("a", "1", utc(2025, 3, 1, 10), ADULTS_2)
    stay.extend(
        reason="school",
        evidence_ref="CERT-1",
        until=date(2025, 7, 15),
        actor="m",
        at=utc(2025, 5, 31, 23, 30),
    )
    stay.extend(
        reason="work",
        evidence_ref="CONTRAT-2",
        until=date(2025, 9, 30),
        actor="m",
        at=utc(2025, 7, 10, 9),
    )
    world.take(stay)
    rows = world.fold().rows(EXTENSIONS)
    assert [(r["aire_id"], r["granted_on"], r["reason"], r["until"]) for r in rows] == [
        (world.aire_id, date(2025, 6, 1), "granted", date(2025, 7, 15)),
        (world.aire_id, date(2025, 7, 10), "granted", date(2025, 9, 30)),
    ]
    assert all("evidence_ref" not in r for r in rows)


def test_fold_emplacement_added_on_its_paris_day() -> None:
    """Recorded at 23:30 UTC on 14 March 2025 = 00:30 on the 15th in Paris (CET, UTC+1)."""
    world = World()
    world.add("1", 2, utc(2025, 1, 10))
    world.add("2", 3, utc(2025, 3, 14, 23, 30))
    rows = world.fold()
    assert rows.rows(EMPLACEMENTS) == [
        {
            "aire_id": world.aire_id,
            "number": "1",
            "places": 2,
            "added_on": date(2025, 1, 10),
            "out_of_service_since": None,
        },
        {
            "aire_id": world.aire_id,
            "number": "2",
            "places": 3,
            "added_on": date(2025, 3, 15),
            "out_of_service_since": None,
        },
    ]


def test_fold_out_of_service_then_back_in_service() -> None:
    """Out of service opens an interval (end None); back in service closes it (exclusive)."""
    world = World()
    world.add("1", 2, utc(2025, 1, 10))
    world.aire.put_out_of_service(
        number="1", start=date(2025, 3, 20), reason="fuite", actor="manager", at=utc(2025, 3, 19)
    )
    world.take(world.aire)
    rows = world.fold()
    key = (world.aire_id, "1", date(2025, 3, 20))
    assert rows.get(OUT_OF_SERVICE, key) == {
        "aire_id": world.aire_id,
        "number": "1",
        "start_day": date(2025, 3, 20),
        "end_day": None,
    }
    emplacement = rows.get(EMPLACEMENTS, (world.aire_id, "1"))
    assert emplacement is not None
    assert emplacement["out_of_service_since"] == date(2025, 3, 20)

    world.aire.put_back_in_service(
        number="1", start=date(2025, 3, 25), actor="manager", at=utc(2025, 3, 25)
    )
    world.take(world.aire)
    rows = world.fold()
    assert rows.rows(OUT_OF_SERVICE) == [
        {
            "aire_id": world.aire_id,
            "number": "1",
            "start_day": date(2025, 3, 20),
            "end_day": date(2025, 3, 25),
        }
    ]
    emplacement = rows.get(EMPLACEMENTS, (world.aire_id, "1"))
    assert emplacement is not None
    assert emplacement["out_of_service_since"] is None


def test_fold_closure_scheduled() -> None:
    """A closure is kept with both ends included, as scheduled."""
    world = World()
    world.aire.schedule_closure(
        start=date(2025, 3, 10),
        end=date(2025, 3, 12),
        reason="curage des réseaux",
        actor="manager",
        at=utc(2025, 1, 10),
    )
    world.take(world.aire)
    assert world.fold().rows(CLOSURES) == [
        {"aire_id": world.aire_id, "first_day": date(2025, 3, 10), "last_day": date(2025, 3, 12)}
    ]


def test_fold_stay_opened_keeps_counts_not_the_household() -> None:
    """Arrival at 23:30 UTC on 29 March 2025 is 00:30 on the 30th in Paris; the stay keeps
    the emplacement's places and head counts by band, and no household reference."""
    world = World()
    world.add("3", 3, utc(2025, 1, 10))
    family = Composition(2, (("4-17", 3), ("0-3", 1), ("18+", 0)), caravans=2)
    world.arrive("S4", "3", utc(2025, 3, 29, 23, 30), family)
    rows = world.fold()
    sid = str(stay_id("S4"))
    assert rows.rows(STAYS) == [
        {
            "stay_id": sid,
            "aire_id": world.aire_id,
            "emplacement": "3",
            "places": 3,
            "arrival_day": date(2025, 3, 30),
            "departure_day": None,
            "end_day": None,
            "adults": 2,
            "children": 4,  # 3 + 1 + 0
            "caravans": 2,
        }
    ]
    assert rows.rows(STAY_PEOPLE) == [
        {"stay_id": sid, "age_band": "0-3", "aire_id": world.aire_id, "people": 1},
        {"stay_id": sid, "age_band": "4-17", "aire_id": world.aire_id, "people": 3},
        {"stay_id": sid, "age_band": "adult", "aire_id": world.aire_id, "people": 2},
    ]
    stored = repr([rows.rows(t.name) for t in OccupancyProjection().tables])
    assert str(household("S4")) not in stored


def test_fold_stay_departed_sets_departure_and_end_days() -> None:
    """End day = departure day; for a same-day stay, arrival + 1 (it counts one day).
    Departure at 21:30 UTC on 31 March 2025 = 23:30 CEST: still the 31st in Paris."""
    world = World()
    world.add("1", 2, utc(2025, 1, 10))
    world.add("2", 2, utc(2025, 1, 10))
    world.arrive("long", "1", utc(2025, 3, 29, 23, 30), ADULTS_2)
    world.depart("long", utc(2025, 3, 31, 21, 30))
    world.arrive("same", "2", utc(2025, 3, 31, 8), ADULTS_2)
    world.depart("same", utc(2025, 3, 31, 18))
    rows = world.fold()
    long = rows.get(STAYS, (str(stay_id("long")),))
    same = rows.get(STAYS, (str(stay_id("same")),))
    assert long is not None
    assert same is not None
    assert (long["arrival_day"], long["departure_day"], long["end_day"]) == (
        date(2025, 3, 30),
        date(2025, 3, 31),
        date(2025, 3, 31),
    )
    assert (same["arrival_day"], same["departure_day"], same["end_day"]) == (
        date(2025, 3, 31),
        date(2025, 3, 31),
        date(2025, 4, 1),
    )


def test_events_it_does_not_read_change_nothing() -> None:
    """Registered, StayAdmitted/Released, tariffs, meter readings: no rows."""
    world = World()
    world.aire.set_stay_rules(
        max_consecutive_days=60, extension_cap_months=3, actor="manager", at=utc(2025, 1, 7)
    )
    world.take(world.aire)
    rows = world.fold()
    assert all(rows.rows(t.name) == [] for t in OccupancyProjection().tables)

    world.add("1", 2, utc(2025, 1, 10))
    stay = world.arrive("S", "1", utc(2025, 2, 1), ADULTS_2)
    before = world.fold()
    stay.read_meter(
        meter="water", index=Decimal("105"), read_at=utc(2025, 2, 3), actor="m", at=utc(2025, 2, 3)
    )
    world.take(stay)
    after = world.fold()
    assert {t.name: before.rows(t.name) for t in OccupancyProjection().tables} == {
        t.name: after.rows(t.name) for t in OccupancyProjection().tables
    }


def test_a_stay_on_an_unknown_emplacement_is_a_stream_error() -> None:
    """The aggregates never open a stay on a missing emplacement; the fold refuses to guess."""
    world = World()
    stay = Stay.open(
        stay_id=stay_id("ghost"),
        aire_id=world.aire.id,
        emplacement="99",
        household_ref=household("ghost"),
        arrived_at=utc(2025, 2, 1),
        composition=ADULTS_2,
        agreement_ref="COT",
        entry_inspection_ref="EDL",
        water_index=Decimal(0),
        electricity_index=Decimal(0),
        max_consecutive_days=90,
        extension_cap_months=7,
        actor="manager",
        at=utc(2025, 2, 1),
    )
    world.take(stay)
    with pytest.raises(OccupancyStreamError):
        world.fold()


def test_rebuilding_gives_the_same_rows() -> None:
    """A fold is a function of the stream: two folds of the same events are equal."""
    world = march_world()
    first, second = world.fold(), world.fold()
    for t in OccupancyProjection().tables:
        assert first.rows(t.name) == second.rows(t.name)


# --- March 2025: closure, out of service, month edges, spanning stays, same day, DST ------


def march_world() -> World:
    """Aire A in February–April 2025 (commands in time order; times UTC).

    Emplacements: E1 2 places, E2 2, E3 3 (added 10 Jan); E4 2 places added at 23:30 UTC on
    14 March = the 15th in Paris. Closure 10–12 March (both included). E3 out of service
    from 20 March, back on the 25th (unavailable 20..24).

    Stays (arrival → departure, Paris days):
      S7 E2 10 Feb → 5 Mar   2 adults                       (spans Feb–Mar)
      S1 E1 20 Feb → 1 Mar   1 adult, 1 of 4-17             (leaves on the 1st)
      S2 E1  1 Mar → 9 Mar   2 adults, 1 of 0-3             (arrives on the 1st)
      S3 E2 13 Mar → 3 Apr   2 adults, 2 of 4-17            (spans Mar–Apr)
      S6 E3 13 Mar → 20 Mar  1 adult
      S4 E3 30 Mar → 31 Mar  2 adults, 1 of 0-3, 3 of 4-17  (arrives 23:30 UTC on the 29th;
                                                            leaves 21:30 UTC = 23:30 CEST)
      S5 E4 31 Mar → 31 Mar  1 adult, 1 of 0-3              (same-day stay, last day)
    """
    world = World()
    for number, places in (("E1", 2), ("E2", 2), ("E3", 3)):
        world.add(number, places, utc(2025, 1, 10))
    world.aire.schedule_closure(
        start=date(2025, 3, 10),
        end=date(2025, 3, 12),
        reason="curage des réseaux",
        actor="manager",
        at=utc(2025, 1, 10),
    )
    world.take(world.aire)
    world.arrive("S7", "E2", utc(2025, 2, 10), ADULTS_2)
    world.arrive("S1", "E1", utc(2025, 2, 20), Composition(1, (("4-17", 1),)))
    world.depart("S1", utc(2025, 3, 1, 9))
    world.arrive("S2", "E1", utc(2025, 3, 1, 13), Composition(2, (("0-3", 1),)))
    world.depart("S7", utc(2025, 3, 5))
    world.depart("S2", utc(2025, 3, 9))
    world.arrive("S3", "E2", utc(2025, 3, 13), Composition(2, (("4-17", 2),)))
    world.arrive("S6", "E3", utc(2025, 3, 13), Composition(1))
    world.add("E4", 2, utc(2025, 3, 14, 23, 30))
    world.depart("S6", utc(2025, 3, 20, 8))
    world.aire.put_out_of_service(
        number="E3", start=date(2025, 3, 20), reason="fuite", actor="m", at=utc(2025, 3, 20, 10)
    )
    world.aire.put_back_in_service(
        number="E3", start=date(2025, 3, 25), actor="m", at=utc(2025, 3, 25)
    )
    world.take(world.aire)
    world.arrive("S4", "E3", utc(2025, 3, 29, 23, 30), Composition(2, (("0-3", 1), ("4-17", 3))))
    world.arrive("S5", "E4", utc(2025, 3, 31, 8), Composition(1, (("0-3", 1),)))
    world.depart("S5", utc(2025, 3, 31, 18))
    world.depart("S4", utc(2025, 3, 31, 21, 30))
    world.depart("S3", utc(2025, 4, 3))
    return world


AS_OF = date(2025, 4, 30)


def test_march_day_by_day() -> None:
    """Every day of March 2025, by hand."""
    world = march_world()
    days = occupancy_days(world.facts(), world.aire.id, "2025-03", AS_OF)
    assert [d.day for d in days] == [date(2025, 3, n) for n in range(1, 32)]
    # capacity: E1+E2+E3 = 2+2+3 = 7 on 1..14; + E4 = 9 from the 15th.
    assert [d.places_capacity for d in days] == [7] * 14 + [9] * 17
    # available: 7 on 1..9; closed 10..12 → 0; 7 on 13..14; 9 on 15..19;
    # E3 out 20..24 → 9 − 3 = 6; 9 on 25..31.
    assert [d.places_available for d in days] == (
        [7] * 9 + [0] * 3 + [7] * 2 + [9] * 5 + [6] * 5 + [9] * 7
    )
    # occupied: 1..4 S7(E2 2) + S2(E1 2) = 4; 5..8 S2 = 2; 9..12 nobody;
    # 13..19 S3(E2 2) + S6(E3 3) = 5; 20..29 S3 = 2; 30 S3 2 + S4(E3 3) = 5;
    # 31 S3 2 + S5(E4 2) = 4 (S4 left on the 31st: not occupied).
    assert [d.places_occupied for d in days] == (
        [4] * 4 + [2] * 4 + [0] * 4 + [5] * 7 + [2] * 10 + [5] + [4]
    )
    assert all(d.places_occupied_unavailable == 0 for d in days)
    assert [d.households for d in days] == (
        [2] * 4 + [1] * 4 + [0] * 4 + [2] * 7 + [1] * 10 + [2] + [2]
    )
    # arrivals: 1st S2; 13th S3, S6; 30th S4 (23:30 UTC on the 29th); 31st S5.
    assert {d.day.day: d.arrivals for d in days if d.arrivals} == {1: 1, 13: 2, 30: 1, 31: 1}
    # departures: 1st S1; 5th S7; 9th S2; 20th S6; 31st S4 and S5.
    assert {d.day.day: d.departures for d in days if d.departures} == {
        1: 1,
        5: 1,
        9: 1,
        20: 1,
        31: 2,
    }
    by_day = {d.day.day: d for d in days}
    # 1st: S7 (2 adults) + S2 (2 adults, one 0-3); S1 left that morning.
    assert by_day[1].people == {"adult": 4, "0-3": 1}
    assert by_day[29].people == {"adult": 2, "4-17": 2}  # S3 alone: S4 is not there yet
    # 30th: S3 (2 adults, two 4-17) + S4 (2 adults, one 0-3, three 4-17).
    assert by_day[30].people == {"adult": 4, "0-3": 1, "4-17": 5}
    # 31st: S3 + S5 (1 adult, one 0-3).
    assert by_day[31].people == {"adult": 3, "0-3": 1, "4-17": 2}
    assert list(by_day[30].people) == ["adult", "0-3", "4-17"]
    assert by_day[10].people == {}


def test_march_month_totals() -> None:
    """Place-days, rate and average stay of March 2025."""
    world = march_world()
    month = occupancy_month(world.facts(), world.aire.id, "2025-03", AS_OF)
    # capacity: 14 × 7 + 17 × 9 = 98 + 153 = 251
    assert month.capacity_place_days == 251
    # available: 9×7 + 3×0 + 2×7 + 5×9 + 5×6 + 7×9 = 63 + 0 + 14 + 45 + 30 + 63 = 215
    assert month.available_place_days == 215
    # occupied: S7 4d×2 = 8, S2 8d×2 = 16, S3 19d×2 = 38, S6 7d×3 = 21, S4 1d×3 = 3,
    #           S5 1d×2 = 2, S1 0 → 88
    assert month.occupied_place_days == 88
    assert month.occupied_unavailable_place_days == 0
    # 88 / 215 = 0.409302... → 0.4093
    assert month.occupancy_rate == Decimal("0.4093")
    # ended in March: S1 20 Feb→1 Mar 9 d, S7 10 Feb→5 Mar 23 d, S2 8 d, S6 7 d, S4 1 d,
    # S5 same day 1 d: 49 / 6 = 8.1666... → 8.17 (S3 leaves in April)
    assert month.stays_ended == 6
    assert month.average_stay_days == Decimal("8.17")
    assert (month.aire_id, month.month, len(month.days)) == (world.aire_id, "2025-03", 31)


def test_february_and_april_around_it() -> None:
    """Stays spanning months count on each side of the month edge."""
    world = march_world()
    facts = world.facts()
    february = occupancy_month(facts, world.aire.id, "2025-02", AS_OF)
    # available 7 × 28 = 196; occupied S7 10..28 = 19 d × 2 = 38, S1 20..28 = 9 d × 2 = 18
    assert (february.available_place_days, february.occupied_place_days) == (196, 56)
    assert february.occupancy_rate == Decimal("0.2857")  # 56 / 196 = 0.285714...
    assert (february.stays_ended, february.average_stay_days) == (0, None)

    april = occupancy_month(facts, world.aire.id, "2025-04", AS_OF)
    # available 9 × 30 = 270; occupied S3 on 1 and 2 April = 2 d × 2 = 4 (leaves the 3rd)
    assert (april.available_place_days, april.occupied_place_days) == (270, 4)
    assert april.occupancy_rate == Decimal("0.0148")  # 4 / 270 = 0.014814...
    # S3: 13 March → 3 April = 18 + 3 = 21 days
    assert (april.stays_ended, april.average_stay_days) == (1, Decimal("21.00"))


def test_march_alt2() -> None:
    """ALT2 with the default amounts (56.50 € fixed and 75.95 € variable per place), on the
    places available and compliant, pro rata of the month's days (emplacements added on the
    10th and one out of service count only for their days)."""
    world = march_world()
    alt2 = alt2_month(
        world.facts(), world.aire.id, "2025-03", as_of=AS_OF, pitch_fee_revenue_cents=123456
    )
    assert alt2.places == 9  # capacity on 31 March: 2 + 2 + 3 + 2
    assert (alt2.occupancy_days, alt2.available_place_days) == (88, 215)
    assert alt2.occupancy_rate == Decimal("0.4093")
    assert alt2.pitch_fee_revenue_cents == 123456
    assert (alt2.fixed_cents_per_place, alt2.variable_cents_per_place) == (5650, 7595)
    # Places available and compliant, pro rata of March's 31 days: 215 / 31 = 6.935...
    # aid = (5650 × 215 + 7595 × 88) / 31 = (1214750 + 668360) / 31 = 60745.48 → 60745
    assert alt2.aid_cents == 60745
    # fixed: 5650 × 215 / 31 = 39185.48... → 39185; variable: the rest, 21560
    assert (alt2.fixed_part_cents, alt2.variable_part_cents) == (39185, 21560)


def test_as_of_cuts_the_month() -> None:
    """Days after as_of are not counted; a stay that left later is present through as_of."""
    world = march_world()
    facts = world.facts()
    days = occupancy_days(facts, world.aire.id, "2025-03", date(2025, 3, 13))
    assert len(days) == 13
    month = occupancy_month(facts, world.aire.id, "2025-03", date(2025, 3, 13))
    # available 9×7 + 3×0 + 7 = 70; occupied 4×4 + 4×2 + 0 + 5 (13th) = 29
    assert (month.available_place_days, month.occupied_place_days) == (70, 29)
    # ended through the 13th: S1 9 d, S7 23 d, S2 8 d = 40 / 3 = 13.333... → 13.33
    assert (month.stays_ended, month.average_stay_days) == (3, Decimal("13.33"))
    # a month after as_of has no days and no rate
    later = occupancy_month(facts, world.aire.id, "2025-05", date(2025, 4, 30))
    assert (later.days, later.available_place_days, later.occupancy_rate) == ((), 0, None)


def test_other_aires_are_not_counted() -> None:
    """Facts of several aires side by side: each aire counts only its own."""
    march = march_world()
    other = World(code="49099-B")
    other.add("1", 2, utc(2025, 1, 10))
    other.arrive("X", "1", utc(2025, 3, 2), ADULTS_2)
    rows_a, rows_b = march.fold(), other.fold()
    facts = OccupancyFacts(
        **{
            name: rows_a.rows(table) + rows_b.rows(table)
            for name, table in (
                ("emplacements", EMPLACEMENTS),
                ("out_of_service", OUT_OF_SERVICE),
                ("closures", CLOSURES),
                ("stays", STAYS),
                ("people", STAY_PEOPLE),
            )
        }
    )
    assert occupancy_month(facts, march.aire.id, "2025-03", AS_OF).occupied_place_days == 88
    b = occupancy_month(facts, other.aire.id, "2025-03", AS_OF)
    # 2 places × 31 days available; open from the 2nd: 30 days × 2 = 60
    assert (b.available_place_days, b.occupied_place_days) == (62, 60)


# --- October 2025: the autumn daylight-saving change ------------------------------------


def october_world() -> World:
    """Aire with three 2-place emplacements added 1 September 2025.

    X  E1 arrives 22:30 UTC on 25 Oct = 00:30 CEST on the 26th;
          leaves 23:30 UTC on 26 Oct = 00:30 CET on the 27th → occupies the 26th only.
    Y  E2 arrives 1 Oct; leaves 23:30 UTC on 31 Oct = 00:30 CET on 1 November
          → occupies 1..31 October, departs in November.
    W  E3 arrives 20 Oct; leaves 22:30 UTC on 31 Oct = 23:30 CET, still the 31st
          → occupies 20..30 October.
    """
    world = World(code="49015-C")
    for number in ("E1", "E2", "E3"):
        world.add(number, 2, utc(2025, 9, 1))
    world.arrive("Y", "E2", utc(2025, 10, 1), ADULTS_2)
    world.arrive("W", "E3", utc(2025, 10, 20), Composition(1, (("4-17", 1),)))
    world.arrive("X", "E1", utc(2025, 10, 25, 22, 30), Composition(1))
    world.depart("X", utc(2025, 10, 26, 23, 30))
    world.depart("W", utc(2025, 10, 31, 22, 30))
    world.depart("Y", utc(2025, 10, 31, 23, 30))
    return world


def test_october_daylight_saving_days() -> None:
    world = october_world()
    facts = world.facts()
    as_of = date(2025, 11, 30)
    days = {d.day.day: d for d in occupancy_days(facts, world.aire.id, "2025-10", as_of)}
    # the 25th: Y + W = 4 places; X's arrival is the 26th in Paris, not the 25th (its UTC date)
    assert (days[25].places_occupied, days[25].households, days[25].arrivals) == (4, 2, 0)
    # the 26th (25 hours long): Y + W + X = 6 places, X arrives
    assert (days[26].places_occupied, days[26].households, days[26].arrivals) == (6, 3, 1)
    # the 27th: X left (00:30 CET), Y and W remain
    assert (days[27].places_occupied, days[27].departures) == (4, 1)
    # the 31st: W leaves at 23:30 in Paris (not occupied); Y still there (leaves 1 Nov)
    assert (days[31].places_occupied, days[31].households, days[31].departures) == (2, 1, 1)

    month = occupancy_month(facts, world.aire.id, "2025-10", as_of)
    # available 3 × 2 × 31 = 186; occupied Y 31 d × 2 = 62, W 11 d × 2 = 22, X 1 d × 2 = 2
    assert (month.available_place_days, month.occupied_place_days) == (186, 86)
    assert month.occupancy_rate == Decimal("0.4624")  # 86 / 186 = 0.462365...
    # ended in October: X (26→27, 1 d) and W (20→31, 11 d): 12 / 2 = 6.00
    assert (month.stays_ended, month.average_stay_days) == (2, Decimal("6.00"))

    november = occupancy_month(facts, world.aire.id, "2025-11", as_of)
    assert november.days[0].departures == 1  # Y, on 1 November in Paris
    assert november.occupied_place_days == 0
    # Y: 1 October → 1 November = 31 days
    assert (november.stays_ended, november.average_stay_days) == (1, Decimal("31.00"))


# --- anomalies: occupied but unavailable; two stays on one emplacement in a day ----------


def june_world() -> World:
    """P on E1 (2 places) and Q on E2 (3 places), both open from 1 June 2025. An urgent
    closure 5–6 June; E2 put out of service from 8 June (open-ended) with Q still on it."""
    world = World(code="49020-D")
    world.add("E1", 2, utc(2025, 5, 1))
    world.add("E2", 3, utc(2025, 5, 1))
    world.arrive("P", "E1", utc(2025, 6, 1), ADULTS_2)
    world.arrive("Q", "E2", utc(2025, 6, 1), Composition(1))
    world.aire.schedule_closure(
        start=date(2025, 6, 5),
        end=date(2025, 6, 6),
        reason="inondation",
        urgent=True,
        actor="manager",
        at=utc(2025, 6, 4),
    )
    world.aire.put_out_of_service(
        number="E2", start=date(2025, 6, 8), reason="affaissement", actor="m", at=utc(2025, 6, 8)
    )
    world.take(world.aire)
    return world


def test_occupied_places_on_unavailable_days_are_reported_apart() -> None:
    """Open stays run to as_of; places occupied while closed or out of service are not
    counted as occupied (the rate stays ≤ 1) but reported as occupied_unavailable."""
    world = june_world()
    month = occupancy_month(world.facts(), world.aire.id, "2025-06", date(2025, 6, 10))
    assert len(month.days) == 10  # 1..10 June: nothing after as_of
    days = {d.day.day: d for d in month.days}
    assert (days[4].places_available, days[4].places_occupied) == (5, 5)
    # closed: nothing available, P and Q still there
    assert (days[5].places_available, days[5].places_occupied) == (0, 0)
    assert (days[5].places_occupied_unavailable, days[5].households) == (5, 2)
    # E2 out of service with Q on it: 2 available, 2 occupied, 3 apart
    assert (days[8].places_available, days[8].places_occupied) == (2, 2)
    assert days[8].places_occupied_unavailable == 3
    # available: 4 d × 5 + 2 d × 0 + 1 d × 5 + 3 d × 2 = 20 + 0 + 5 + 6 = 31
    # occupied: the same 31; apart: 2 d × 5 + 3 d × 3 = 19
    assert (month.available_place_days, month.occupied_place_days) == (31, 31)
    assert month.occupied_unavailable_place_days == 19
    assert month.occupancy_rate == Decimal("1.0000")
    assert month.capacity_place_days == 50  # 5 × 10


def test_alt2_with_configured_rates() -> None:
    """Rates for 2024 stay in force in 2025 (the latest year on or before it)."""
    world = june_world()
    alt2 = alt2_month(
        world.facts(),
        world.aire.id,
        "2025-06",
        as_of=date(2025, 6, 10),
        pitch_fee_revenue_cents=0,
        rates={2024: (6000, 8000), 2026: (1, 1)},
    )
    # counted through 10 June: 31 place-days available, 31 occupied, June has 30 days:
    # aid = (6000 × 31 + 8000 × 31) / 30 = 434000 / 30 = 14466.67 → 14467;
    # fixed 6000 × 31 / 30 = 6200, variable the rest 8267
    assert (alt2.places, alt2.fixed_part_cents, alt2.variable_part_cents) == (5, 6200, 8267)
    assert alt2.aid_cents == 14467


def test_alt2_rates_in_force() -> None:
    assert alt2_rates(2025) == ALT2_DEFAULT_RATES == (5650, 7595)
    assert alt2_rates(2025, {2026: (1, 2)}) == (5650, 7595)
    assert alt2_rates(2027, {2024: (1, 2), 2026: (3, 4)}) == (3, 4)
    assert alt2_rates(2025, {2025: (5, 6)}) == (5, 6)


def test_alt2_of_a_month_closed_throughout_pays_nothing() -> None:
    """A month closed throughout: nothing available, no rate, no fixed part, no variable
    part (the arrêté's places are those available)."""
    world = World(code="49030-E")
    world.add("E1", 2, utc(2025, 1, 2))
    world.aire.schedule_closure(
        start=date(2025, 8, 1),
        end=date(2025, 8, 31),
        reason="fermeture annuelle",
        prefect_derogation_ref="ARR-2025-12",
        actor="manager",
        at=utc(2025, 4, 1),
    )
    world.take(world.aire)
    alt2 = alt2_month(
        world.facts(), world.aire.id, "2025-08", as_of=date(2025, 9, 30), pitch_fee_revenue_cents=0
    )
    assert (alt2.available_place_days, alt2.occupancy_rate) == (0, None)
    assert (alt2.places, alt2.fixed_part_cents, alt2.variable_part_cents) == (2, 0, 0)
    assert alt2.aid_cents == 0


def test_alt2_year_lists_the_months_through_as_of() -> None:
    world = march_world()
    year = alt2_year(
        world.facts(),
        world.aire.id,
        2025,
        as_of=date(2025, 4, 15),
        pitch_fee_revenue_cents={"2025-03": 500},
    )
    assert [m.month for m in year] == ["2025-01", "2025-02", "2025-03", "2025-04"]
    assert [m.pitch_fee_revenue_cents for m in year] == [0, 0, 500, 0]
    # January: E1–E3 added the 10th → 22 days × 7 = 154 available, nobody
    assert (year[0].available_place_days, year[0].occupancy_days) == (154, 0)
    assert year[2].aid_cents == 60745  # as test_march_alt2


def test_a_same_day_stay_and_the_next_arrival_share_the_emplacement() -> None:
    """A same-day stay occupies its day; a second stay arriving that day on the same
    emplacement does not count its places twice, but both households count."""
    world = World(code="49040-F")
    world.add("E1", 2, utc(2025, 4, 1))
    world.arrive("A", "E1", utc(2025, 5, 5, 8), ADULTS_2)
    world.depart("A", utc(2025, 5, 5, 10))
    world.arrive("B", "E1", utc(2025, 5, 5, 12), Composition(1))
    world.depart("B", utc(2025, 5, 7))
    may = date(2025, 5, 31)
    days = {d.day.day: d for d in occupancy_days(world.facts(), world.aire.id, "2025-05", may)}
    assert (days[5].places_occupied, days[5].households) == (2, 2)
    assert (days[5].arrivals, days[5].departures) == (2, 1)
    assert days[5].people == {"adult": 3}
    assert (days[6].places_occupied, days[6].households) == (2, 1)
    assert (days[7].places_occupied, days[7].departures) == (0, 1)
    month = occupancy_month(world.facts(), world.aire.id, "2025-05", may)
    # A 1 day (same day), B 5 → 7 May 2 days: 3 / 2 = 1.50
    assert (month.occupied_place_days, month.average_stay_days) == (4, Decimal("1.50"))


@pytest.mark.parametrize("bad", ["2025-3", "2025-13", "25-03", "2025/03", "march"])
def test_months_are_yyyy_mm(bad: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        month_bounds(bad)


def test_month_bounds() -> None:
    assert month_bounds("2024-02") == (date(2024, 2, 1), date(2024, 2, 29))
    assert month_bounds("2025-12") == (date(2025, 12, 1), date(2025, 12, 31))


def test_alt2_of_a_month_closed_in_part_counts_the_open_days_only() -> None:
    """Closed 5 to 25 August (21 of 31 days), 2 places otherwise available, nobody: the fixed
    part is 10/31 of the month's, no variable part."""
    world = World(code="49031-F")
    world.add("F1", 2, utc(2025, 1, 2))
    world.aire.schedule_closure(
        start=date(2025, 8, 5),
        end=date(2025, 8, 25),
        reason="travaux",
        actor="manager",
        at=utc(2025, 4, 1),
    )
    world.take(world.aire)
    alt2 = alt2_month(
        world.facts(), world.aire.id, "2025-08", as_of=date(2025, 9, 30), pitch_fee_revenue_cents=0
    )
    assert alt2.available_place_days == 2 * 10
    # 5650 × 20 / 31 = 3645.16... → 3645 (a full month would be 5650 × 2 = 11300)
    assert (alt2.fixed_part_cents, alt2.variable_part_cents, alt2.aid_cents) == (3645, 0, 3645)


def test_fold_unmet_demand_by_day_and_reason_and_its_month() -> None:
    """Requests not met are summed by aire, day and reason (no family named); the month's
    figures give their count, caravans, people and counts by reason, within the days asked."""
    world = World()
    for day, reason, caravans, people in (
        (7, "full", 2, 6),
        (7, "full", 1, 3),
        (8, "group_too_large", 5, 14),
        (20, "closed", 1, 2),
    ):
        world.aire.record_unmet_demand(
            day=date(2025, 1, day), reason=reason, caravans=caravans, people=people,
            actor="cashier", at=utc(2025, 1, 20, 9),
        )  # fmt: skip
    world.take(world.aire)
    rows = world.fold().rows(UNMET)
    aire = world.aire_id
    assert rows == [
        {"aire_id": aire, "day": date(2025, 1, 7), "reason": "full", "requests": 2,
         "caravans": 3, "people": 9},
        {"aire_id": aire, "day": date(2025, 1, 8), "reason": "group_too_large", "requests": 1,
         "caravans": 5, "people": 14},
        {"aire_id": aire, "day": date(2025, 1, 20), "reason": "closed", "requests": 1,
         "caravans": 1, "people": 2},
    ]  # fmt: skip
    found = unmet_demand(world.facts(), aire, date(2025, 1, 1), date(2025, 1, 10))
    assert (found.requests, found.caravans, found.people) == (3, 8, 23)
    assert found.by_reason == {"full": 2, "group_too_large": 1}
