"""Fluid charge lines, drawn by hypothesis: one line per unit price, each rounded once.

A stay reads its water and electricity meters on drawn days and is charged after some of
the readings, under a drawn sequence of tariff versions. Whatever the sequence, the lines of
one assessment for one meter follow the rule of ``docs/events.md``: the consumption covers
the days after the last billed reading day through the reading day; consecutive days at one
unit price make one line, whatever versions they span; the quantity is shared between lines
pro rata of their days (to 0.001, the last line taking the remainder); each amount is
``to_cents(quantity × unit price)``. Where a meter's price never changes, each assessment
bills it on one line, rounded once. No database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hacienda_ledger.aggregates.stay import Stay
from hacienda_ledger.aggregates.values import (
    TARIFF_REF_JOINER,
    ChargeLine,
    Composition,
    Meter,
    Tariff,
    paris_day,
    tariff_in_force,
    to_cents,
)

# Monday 6 January 2025, 9:00 in Paris.
ARRIVED = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
# Equal prices written two ways (3.5120 and 3.51200) are one price.
WATER_PRICES = ("3.5120", "3.51200", "3.5125", "4.00", "4", "2.875")
ELECTRICITY_PRICES = ("0.2276", "0.22760", "0.25165", "0.30")
METERS = tuple(Meter)

FLUID_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@dataclass(frozen=True)
class Reading:
    """Both meters read ``day`` days after the arrival, up by these thousandths."""

    day: int
    water: int
    electricity: int
    assess: bool  # charge through the reading's day right after it


@dataclass(frozen=True)
class Scenario:
    tariffs: tuple[Tariff, ...]
    readings: tuple[Reading, ...]


@st.composite
def scenarios(draw: st.DrawFn, *, water_prices: tuple[str, ...] = WATER_PRICES) -> Scenario:
    """Up to five tariff versions (the first in force from 1 January, the others from drawn
    days of the stay), and up to six readings, the last one always charged."""
    changes = draw(st.lists(st.integers(1, 60), max_size=4, unique=True), label="changes")
    effective = [date(2025, 1, 1), *sorted(date(2025, 1, 6) + timedelta(d) for d in changes)]
    tariffs = tuple(
        Tariff(
            effective_from=day,
            deliberation_ref=f"DEL-{k}",
            pitch_fee_per_day_cents=draw(st.sampled_from((300, 350)), label="fee"),
            water_price_per_m3=Decimal(draw(st.sampled_from(water_prices), label="water")),
            electricity_price_per_kwh=Decimal(
                draw(st.sampled_from(ELECTRICITY_PRICES), label="electricity")
            ),
            deposit_cents=15000,
        )
        for k, day in enumerate(effective)
    )
    gaps = draw(st.lists(st.integers(0, 25), min_size=1, max_size=6), label="gaps")
    readings = []
    day = 0
    for k, gap in enumerate(gaps):
        day += gap
        readings.append(
            Reading(
                day=day,
                water=draw(st.integers(0, 20_000), label="water used"),
                electricity=draw(st.integers(0, 20_000), label="electricity used"),
                assess=k == len(gaps) - 1 or draw(st.booleans(), label="assess"),
            )
        )
    # Tariffs are passed in no particular order, as the aire keeps them.
    return Scenario(tuple(draw(st.permutations(tariffs), label="order")), tuple(readings))


@dataclass(frozen=True)
class Assessed:
    """One assessment right after a reading: its event, the reading's day, and each
    meter's billed reading day and index before it."""

    event: Stay.ChargesAssessed
    day: date
    billed_day: dict[str, date]
    billed_index: dict[str, Decimal]


def play(scenario: Scenario) -> tuple[Stay, list[Assessed]]:
    stay = Stay.open(
        stay_id=UUID(int=1),
        aire_id=UUID(int=2),
        emplacement="1",
        household_ref=UUID(int=3),
        arrived_at=ARRIVED,
        composition=Composition(1),
        agreement_ref="COT-1",
        entry_inspection_ref="EDL-E-1",
        water_index=Decimal("100"),
        electricity_index=Decimal("2000"),
        max_consecutive_days=366,
        extension_cap_months=0,
        actor="manager",
        at=ARRIVED,
    )
    assessed = []
    for k, reading in enumerate(scenario.readings):
        read_at = ARRIVED + timedelta(days=reading.day, minutes=2 * k)
        for meter, used in ((Meter.WATER, reading.water), (Meter.ELECTRICITY, reading.electricity)):
            last = stay.effective_readings(meter)[-1].index
            index = last + Decimal(used) / 1000
            stay.read_meter(meter=meter, index=index, read_at=read_at, actor="c", at=read_at)
        if reading.assess:
            billed_day = dict(stay.billed_reading_day)
            billed_index = dict(stay.billed_index)
            event = stay.assess_charges(
                through=paris_day(read_at),
                tariffs=scenario.tariffs,
                actor="c",
                at=read_at + timedelta(minutes=1),
            )
            if event is not None:
                assessed.append(Assessed(event, paris_day(read_at), billed_day, billed_index))
    return stay, assessed


def meter_lines(event: Stay.ChargesAssessed, meter: Meter) -> list[ChargeLine]:
    return [line for line in event.lines if line.revenue_type == meter.value]


def consumed(stay: Stay, meter: Meter) -> Decimal:
    readings = stay.effective_readings(meter)
    return readings[-1].index - readings[0].index


@dataclass
class Run:
    """Consecutive days at one unit price, as the rule groups them."""

    price: Decimal
    first: date
    last: date
    refs: list[str]


def price_runs(tariffs: tuple[Tariff, ...], meter: Meter, days: list[date]) -> list[Run]:
    runs: list[Run] = []
    for day in days:
        tariff = tariff_in_force(tariffs, day)
        assert tariff is not None
        price = tariff.unit_price(meter)
        if runs and runs[-1].price == price:
            runs[-1].last = day
            if runs[-1].refs[-1] != tariff.ref:
                runs[-1].refs.append(tariff.ref)
        else:
            runs.append(Run(price, day, day, [tariff.ref]))
    return runs


@FLUID_SETTINGS
@given(scenarios())
def test_one_line_per_run_of_days_at_one_unit_price(scenario: Scenario) -> None:
    """For any readings and tariff sequence: each assessment gives a meter one line per run
    of consecutive covered days at one unit price, named by the versions of its days; the
    quantity is shared by days, to 0.001, the last line taking the remainder; each amount is
    the line's quantity × unit price rounded half-up once; and every line of every
    assessment adds up to what the meter counted."""
    stay, assessed = play(scenario)
    for meter in METERS:
        billed = Decimal(0)
        for a in assessed:
            lines = meter_lines(a.event, meter)
            quantity = a.event.billed_index[meter.value] - a.billed_index[meter.value]
            assert sum((line.quantity for line in lines), Decimal(0)) == quantity
            billed += quantity
            for line in lines:
                assert line.amount_cents == to_cents(line.quantity * line.unit_price)
            if quantity == 0:
                assert lines == []
                continue
            start, end = a.billed_day[meter.value], a.day
            days = [start + timedelta(days=i + 1) for i in range((end - start).days)] or [end]
            runs = price_runs(scenario.tariffs, meter, days)
            assert [(line.unit_price, line.start, line.end, line.tariff_ref) for line in lines] == [
                (
                    run.price,
                    run.first if len(runs) > 1 else start,
                    run.last,
                    TARIFF_REF_JOINER.join(run.refs),
                )
                for run in runs
            ]
            for line, run in zip(lines[:-1], runs, strict=False):
                share = quantity * ((run.last - run.first).days + 1) / len(days)
                assert line.quantity == share.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
        assert billed == consumed(stay, meter)


@FLUID_SETTINGS
@given(st.data())
def test_a_price_that_never_changes_is_billed_on_one_line_rounded_once(
    data: st.DataObject,
) -> None:
    """Water keeps one price (written 3.5120 or 3.51200) through every version while the
    other prices change: each assessment bills water on one line, its consumption × the
    price rounded half-up once; charged once at the end, the water total is the whole
    consumption × the price, rounded once."""
    price = data.draw(st.sampled_from(("3.5120", "3.5125", "2.875")), label="price")
    spellings = (price, price + "0")
    scenario = data.draw(scenarios(water_prices=spellings), label="scenario")
    stay, assessed = play(scenario)
    unit = Decimal(price)
    for a in assessed:
        lines = meter_lines(a.event, Meter.WATER)
        quantity = a.event.billed_index["water"] - a.billed_index["water"]
        assert [line.amount_cents for line in lines] == (
            [to_cents(quantity * unit)] if quantity else []
        )
    once = Scenario(
        scenario.tariffs,
        tuple(
            Reading(r.day, r.water, r.electricity, k == len(scenario.readings) - 1)
            for k, r in enumerate(scenario.readings)
        ),
    )
    stay, assessed = play(once)
    water_cents = sum(
        line.amount_cents for a in assessed for line in meter_lines(a.event, Meter.WATER)
    )
    assert water_cents == to_cents(consumed(stay, Meter.WATER) * unit)
