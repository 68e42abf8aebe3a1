"""Value types and helpers: rounding, calendar days, periods, tariffs, compositions, totals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from hacienda_ledger.aggregates.errors import InvalidAmount, InvalidPeriod, InvalidValue
from hacienda_ledger.aggregates.values import (
    Composition,
    DurationBand,
    Meter,
    Period,
    PersonRate,
    SeasonalRate,
    Tariff,
    Totals,
    add_months,
    days_between,
    paris_day,
    period_bounds,
    require_cents,
    require_decimal,
    tariff_in_force,
    to_cents,
)


def tariff(effective_from: date = date(2025, 1, 1), **overrides: object) -> Tariff:
    values: dict[str, object] = dict(
        effective_from=effective_from,
        deliberation_ref="DEL-2024-118",
        pitch_fee_per_day_cents=300,
        water_price_per_m3=Decimal("3.5120"),
        electricity_price_per_kwh=Decimal("0.2276"),
        deposit_cents=15000,
    )
    values.update(overrides)
    return Tariff(**values)  # type: ignore[arg-type]


# --- to_cents ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("euros", "cents"),
    [
        (Decimal("12.34"), 1234),
        (Decimal("0"), 0),
        (Decimal("1.004"), 100),
        (Decimal("1.005"), 101),
        (Decimal("0.125"), 13),
        (Decimal("0.135"), 14),
        (Decimal("2.675"), 268),
        (Decimal("0.6828"), 68),
        (Decimal("7.025"), 703),
        (Decimal("0.0049999"), 0),
        (Decimal("0.005"), 1),
        (Decimal("123456789012.345"), 12345678901235),
    ],
)
def test_to_cents_rounds_half_up_to_the_cent(euros: Decimal, cents: int) -> None:
    """Amounts are rounded to the cent half-up (a half cent goes up, never to even)."""
    assert cents == to_cents(euros)


@pytest.mark.parametrize("euros", ["1.005", "0.125", "7.025", "0.6828", "3.33"])
def test_to_cents_rounds_a_credit_like_the_charge_it_reverses(euros: str) -> None:
    """A negative amount rounds to the opposite of its positive counterpart (half away from 0)."""
    assert -to_cents(Decimal(euros)) == to_cents(-Decimal(euros))


@pytest.mark.parametrize("amount", [1.005, 1, "1.00"])
def test_to_cents_refuses_anything_but_a_decimal(amount: object) -> None:
    """Floats, ints and strings never become money: only Decimal is rounded."""
    with pytest.raises(TypeError):
        to_cents(amount)  # type: ignore[arg-type]


# --- paris_day --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "day"),
    [
        # winter time, UTC+1
        (datetime(2025, 1, 6, 22, 59, tzinfo=UTC), date(2025, 1, 6)),
        (datetime(2025, 1, 6, 23, 0, tzinfo=UTC), date(2025, 1, 7)),
        # summer time, UTC+2
        (datetime(2025, 7, 14, 21, 59, tzinfo=UTC), date(2025, 7, 14)),
        (datetime(2025, 7, 14, 22, 0, tzinfo=UTC), date(2025, 7, 15)),
        # spring forward, Sunday 30 March 2025 at 01:00 UTC
        (datetime(2025, 3, 29, 22, 59, tzinfo=UTC), date(2025, 3, 29)),
        (datetime(2025, 3, 29, 23, 0, tzinfo=UTC), date(2025, 3, 30)),
        (datetime(2025, 3, 30, 0, 59, tzinfo=UTC), date(2025, 3, 30)),
        (datetime(2025, 3, 30, 1, 0, tzinfo=UTC), date(2025, 3, 30)),
        (datetime(2025, 3, 30, 21, 59, tzinfo=UTC), date(2025, 3, 30)),
        (datetime(2025, 3, 30, 22, 0, tzinfo=UTC), date(2025, 3, 31)),
        # fall back, Sunday 26 October 2025 at 01:00 UTC
        (datetime(2025, 10, 25, 21, 59, tzinfo=UTC), date(2025, 10, 25)),
        (datetime(2025, 10, 25, 22, 0, tzinfo=UTC), date(2025, 10, 26)),
        (datetime(2025, 10, 26, 0, 30, tzinfo=UTC), date(2025, 10, 26)),
        (datetime(2025, 10, 26, 1, 30, tzinfo=UTC), date(2025, 10, 26)),
        (datetime(2025, 10, 26, 22, 59, tzinfo=UTC), date(2025, 10, 26)),
        (datetime(2025, 10, 26, 23, 0, tzinfo=UTC), date(2025, 10, 27)),
    ],
)
def test_paris_day_is_the_calendar_day_in_europe_paris(moment: datetime, day: date) -> None:
    """The day of an instant is its Europe/Paris calendar day, on both sides of each DST change."""
    assert day == paris_day(moment)


def test_paris_day_accepts_any_offset() -> None:
    """An instant given with another offset lands on the same Paris day as in UTC."""
    moment = datetime(2025, 1, 7, 5, 30, tzinfo=timezone(timedelta(hours=7)))  # 22:30 UTC
    assert date(2025, 1, 6) == paris_day(moment)


def test_paris_day_refuses_a_naive_datetime() -> None:
    """A datetime without an offset is refused: its day would be a guess."""
    with pytest.raises(InvalidValue) as error:
        paris_day(datetime(2025, 1, 6, 12, 0))
    assert (error.value.code, error.value.field) == ("invalid_value", "datetime")


# --- add_months -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2025, 1, 15), 1, date(2025, 2, 15)),
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2025, 3, 31), 1, date(2025, 4, 30)),
        (date(2025, 8, 31), 6, date(2026, 2, 28)),
        (date(2025, 11, 30), 3, date(2026, 2, 28)),
        (date(2025, 12, 15), 1, date(2026, 1, 15)),
        (date(2025, 5, 31), 12, date(2026, 5, 31)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2025, 4, 5), 7, date(2025, 11, 5)),
        (date(2025, 6, 30), 0, date(2025, 6, 30)),
        (date(2025, 3, 31), -1, date(2025, 2, 28)),
        (date(2025, 1, 15), -1, date(2024, 12, 15)),
    ],
)
def test_add_months_clamps_to_the_last_day_of_the_month(
    day: date, months: int, expected: date
) -> None:
    """Same day n months later, clamped to the month's end, across year boundaries."""
    assert expected == add_months(day, months)


# --- period_bounds and days_between -----------------------------------------------------


@pytest.mark.parametrize(
    ("period", "day", "bounds"),
    [
        (Period.DAY, date(2025, 3, 30), (date(2025, 3, 30), date(2025, 3, 30))),
        (Period.MONTH, date(2025, 3, 30), (date(2025, 3, 1), date(2025, 3, 31))),
        (Period.MONTH, date(2024, 2, 10), (date(2024, 2, 1), date(2024, 2, 29))),
        (Period.MONTH, date(2025, 2, 1), (date(2025, 2, 1), date(2025, 2, 28))),
        (Period.MONTH, date(2025, 12, 31), (date(2025, 12, 1), date(2025, 12, 31))),
        (Period.YEAR, date(2025, 7, 14), (date(2025, 1, 1), date(2025, 12, 31))),
    ],
)
def test_period_bounds_are_the_first_and_last_day(
    period: Period, day: date, bounds: tuple[date, date]
) -> None:
    """A day, month or year runs from its first to its last calendar day, both included."""
    assert bounds == period_bounds(period, day)


def test_days_between_excludes_the_end_day() -> None:
    """Calendar days run from the start up to, not including, the end."""
    assert [date(2025, 3, 29), date(2025, 3, 30), date(2025, 3, 31)] == days_between(
        date(2025, 3, 29), date(2025, 4, 1)
    )
    assert days_between(date(2025, 3, 29), date(2025, 3, 29)) == []


# --- require_cents and require_decimal --------------------------------------------------


@pytest.mark.parametrize(
    ("value", "positive"),
    [(True, False), (1.5, False), (Decimal(1), False), (0, True), (-1, True), (-1, False)],
)
def test_require_cents_refuses_what_is_not_integer_cents(value: object, positive: bool) -> None:
    """Amounts are int cents: bool, float and Decimal are refused, and so are bad signs."""
    with pytest.raises(InvalidAmount) as error:
        require_cents(value, "amount_cents", positive=positive)  # type: ignore[arg-type]
    assert (error.value.code, error.value.field) == ("invalid_amount", "amount_cents")


def test_require_cents_accepts_zero_when_not_positive() -> None:
    """Zero passes when only a negative amount is refused; a positive amount always passes."""
    assert (require_cents(0, "a", positive=False), require_cents(5, "a")) == (0, 5)


@pytest.mark.parametrize(
    "value", [Decimal("-0.01"), Decimal("NaN"), Decimal("Infinity"), 0.5, "1.2"]
)
def test_require_decimal_refuses_negative_non_finite_and_non_decimal(value: object) -> None:
    """A price or quantity is a finite, non-negative Decimal."""
    with pytest.raises(InvalidValue) as error:
        require_decimal(value, "price")  # type: ignore[arg-type]
    assert (error.value.code, error.value.field) == ("invalid_value", "price")


# --- tariffs ----------------------------------------------------------------------------


def test_tariff_in_force_is_the_latest_version_on_or_before_the_day() -> None:
    """The version in force is the one with the latest effective date not after the day."""
    jan, apr, jul = tariff(date(2025, 1, 1)), tariff(date(2025, 4, 1)), tariff(date(2025, 7, 1))
    versions = (jul, jan, apr)  # order of adoption does not matter
    assert [None, jan, jan, apr, apr, jul] == [
        tariff_in_force(versions, day)
        for day in (
            date(2024, 12, 31),
            date(2025, 1, 1),
            date(2025, 3, 31),
            date(2025, 4, 1),
            date(2025, 6, 30),
            date(2026, 1, 1),
        )
    ]


def test_tariff_in_force_is_none_without_versions() -> None:
    """No version adopted: no tariff is in force."""
    assert tariff_in_force((), date(2025, 1, 1)) is None


def test_tariff_ref_names_its_effective_date_and_deliberation() -> None:
    """Charge lines name a version by its effective date and délibération."""
    assert tariff().ref == "2025-01-01/DEL-2024-118"


def test_unit_price_of_each_fluid() -> None:
    """A fluid is priced per m³ of water or per kWh of electricity, by meter or its name."""
    t = tariff(water_price_per_m3=Decimal("3.5120"), electricity_price_per_kwh=Decimal("0.2276"))
    assert [t.unit_price(Meter.WATER), t.unit_price("electricity")] == [
        Decimal("3.5120"),
        Decimal("0.2276"),
    ]


def test_pitch_fee_precedence_is_duration_band_then_season_then_base() -> None:
    """A duration band beats a season, which beats the base fee; the latest band applies."""
    t = tariff(
        seasons=(SeasonalRate(date(2025, 7, 1), date(2025, 8, 31), 500),),
        duration_bands=(DurationBand(91, 450), DurationBand(181, 600)),
    )
    assert [
        t.pitch_fee_on(date(2025, 6, 30), 90),  # base
        t.pitch_fee_on(date(2025, 7, 1), 1),  # season, first day
        t.pitch_fee_on(date(2025, 8, 31), 90),  # season, last day, before the band
        t.pitch_fee_on(date(2025, 7, 15), 91),  # band beats season
        t.pitch_fee_on(date(2025, 9, 1), 180),  # band after the season
        t.pitch_fee_on(date(2025, 9, 1), 1),  # base after the season
        t.pitch_fee_on(date(2025, 8, 1), 181),  # the later band beats the earlier one
    ] == [300, 500, 500, 450, 450, 300, 600]


def test_person_rate_is_zero_for_a_band_without_a_rate() -> None:
    """Age bands with a rate are charged at it; a band the tariff does not price costs nothing."""
    t = tariff(person_rates=(PersonRate("adult", 100), PersonRate("4-17", 50)))
    assert (t.person_rate("adult"), t.person_rate("4-17"), t.person_rate("0-3")) == (100, 50, 0)


def test_a_well_formed_tariff_validates() -> None:
    """A tariff with person rates, disjoint seasons and distinct bands is accepted."""
    tariff(
        person_rates=(PersonRate("adult", 100), PersonRate("0-3", 0)),
        seasons=(
            SeasonalRate(date(2025, 7, 1), date(2025, 8, 31), 500),
            SeasonalRate(date(2025, 9, 1), date(2025, 9, 1), 400),
        ),
        duration_bands=(DurationBand(2, 250), DurationBand(91, 450)),
        pitch_fee_per_day_cents=0,
        deposit_cents=0,
        water_price_per_m3=Decimal(0),
    ).validate()


@pytest.mark.parametrize(
    ("overrides", "error", "field"),
    [
        ({"deliberation_ref": "  "}, InvalidValue, "deliberation_ref"),
        ({"pitch_fee_per_day_cents": -1}, InvalidAmount, "pitch_fee_per_day_cents"),
        ({"pitch_fee_per_day_cents": 3.0}, InvalidAmount, "pitch_fee_per_day_cents"),
        ({"deposit_cents": -15000}, InvalidAmount, "deposit_cents"),
        ({"water_price_per_m3": Decimal("-3.5")}, InvalidValue, "water_price_per_m3"),
        ({"water_price_per_m3": 3.512}, InvalidValue, "water_price_per_m3"),
        ({"electricity_price_per_kwh": Decimal("NaN")}, InvalidValue, "electricity_price_per_kwh"),
        (
            {"person_rates": (PersonRate("adult", 100), PersonRate("adult", 120))},
            InvalidValue,
            "person_rates",
        ),
        ({"person_rates": (PersonRate("adult", -1),)}, InvalidAmount, "person_rates.daily_cents"),
        (
            {"seasons": (SeasonalRate(date(2025, 8, 31), date(2025, 7, 1), 500),)},
            InvalidPeriod,
            "seasons",
        ),
        (
            {"seasons": (SeasonalRate(date(2025, 7, 1), date(2025, 8, 31), -5),)},
            InvalidAmount,
            "seasons.pitch_fee_per_day_cents",
        ),
        (
            {
                "seasons": (
                    SeasonalRate(date(2025, 8, 31), date(2025, 9, 30), 400),
                    SeasonalRate(date(2025, 7, 1), date(2025, 8, 31), 500),
                )
            },
            InvalidPeriod,
            "seasons",
        ),
        ({"duration_bands": (DurationBand(1, 450),)}, InvalidValue, "duration_bands"),
        (
            {"duration_bands": (DurationBand(91, -450),)},
            InvalidAmount,
            "duration_bands.pitch_fee_per_day_cents",
        ),
        (
            {"duration_bands": (DurationBand(91, 450), DurationBand(91, 500))},
            InvalidValue,
            "duration_bands",
        ),
    ],
)
def test_tariff_validate_refuses(
    overrides: dict[str, object], error: type[InvalidValue], field: str
) -> None:
    """Each malformed tariff is refused with its own error code and the offending field."""
    with pytest.raises(error) as raised:
        tariff(**overrides).validate()
    assert (error.code, field) == (raised.value.code, raised.value.field)


def test_tariff_collections_are_stored_as_tuples() -> None:
    """Rates, seasons and bands given as lists are frozen into tuples (the tariff is hashable)."""
    t = tariff(person_rates=[PersonRate("adult", 100)], duration_bands=[DurationBand(91, 450)])
    assert ((PersonRate("adult", 100),), (DurationBand(91, 450),)) == (
        t.person_rates,
        t.duration_bands,
    )
    same = tariff(person_rates=(PersonRate("adult", 100),), duration_bands=(DurationBand(91, 450),))
    assert (t, hash(t)) == (same, hash(same))


# --- composition ------------------------------------------------------------------------


def test_composition_counts_people_by_band_adults_first() -> None:
    """Heads are counted adults first, then children by band in a stable order, empty bands
    left out."""
    c = Composition(2, (("4-17", 2), ("0-3", 1), ("18+", 0)), caravans=2)
    assert c.by_band() == (("adult", 2), ("0-3", 1), ("4-17", 2))
    assert c.people == 5


@pytest.mark.parametrize(
    ("composition", "field"),
    [
        (Composition(0), "adults"),
        (Composition(True), "adults"),  # type: ignore[arg-type]
        (Composition(1, caravans=-1), "caravans"),
        (Composition(1, (("4-17", -1),)), "children"),
        (Composition(1, (("", 1),)), "children"),
    ],
)
def test_composition_validate_refuses(composition: Composition, field: str) -> None:
    """A household has at least one adult, no negative caravans, children counted by band."""
    with pytest.raises(InvalidValue) as error:
        composition.validate()
    assert ("invalid_value", field) == (error.value.code, error.value.field)


# --- totals -----------------------------------------------------------------------------


def test_totals_add_a_receipt_and_its_cancellation() -> None:
    """A receipt adds to its types and method; its cancellation takes the same amounts off."""
    issued = Totals().add((("pitch_fee", 2100), ("water", 878)), "cash", +1)
    cancelled = issued.add((("water", 878),), "cash", -1)
    assert Totals({"pitch_fee": 2100, "water": 878}, {"cash": 2978}, 1, 0) == issued
    assert Totals({"pitch_fee": 2100, "water": 0}, {"cash": 2100}, 1, 1) == cancelled
    assert cancelled.net_cents == 2100


def test_totals_sum_over_days() -> None:
    """Two days' totals add up key by key, with their receipt and cancellation counts."""
    monday = Totals({"pitch_fee": 2100}, {"cash": 2100}, 1, 0)
    tuesday = Totals({"deposit": 15000, "pitch_fee": -300}, {"card": 14700}, 2, 1)
    assert Totals({"deposit": 15000, "pitch_fee": 1800}, {"card": 14700, "cash": 2100}, 3, 1) == (
        monday + tuesday
    )
