"""Stay: given past events, run a command, check the new events or the error.

Days follow DESIGN.md: a stay is charged for each Europe/Paris day from its arrival day up
to, not including, its departure day; a same-day stay counts one day. No database.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import reduce
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic

from hacienda_ledger.aggregates.errors import (
    ExtensionBeyondCap,
    InvalidPeriod,
    InvalidValue,
    LedgerError,
    MeterIndexDecreased,
    NoTariffInForce,
    ReadingNotFound,
    StayClosed,
)
from hacienda_ledger.aggregates.stay import Extension, Granted, MeterReading, Stay
from hacienda_ledger.aggregates.values import (
    ChargeLine,
    Composition,
    DurationBand,
    ExtensionReason,
    PersonRate,
    SeasonalRate,
    Tariff,
)
from tests.unit.chains import after

AIRE_ID = UUID("5e3f8c1a-7d2b-4c4e-9a61-0b8f2d7c3e10")
STAY_ID = UUID("0c9d6e2f-1a3b-4c5d-8e7f-9a0b1c2d3e4f")
HOUSEHOLD = UUID("6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0")
# Monday 6 January 2025, 10:00 in Paris.
ARRIVED = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
FAMILY = Composition(2, (("4-17", 1),))
# Monday 13 January 2025: when extensions are asked for.
ASKED = datetime(2025, 1, 13, 9, 0, tzinfo=UTC)


def at(month: int, day: int, hour: int = 9, year: int = 2025) -> datetime:
    """A recorded time: ``hour`` UTC, i.e. the same Paris calendar day."""
    return datetime(year, month, day, hour, 0, tzinfo=UTC)


def tariff(
    effective_from: date = date(2025, 1, 1), ref: str = "DEL-2024-118", **overrides: object
) -> Tariff:
    values: dict[str, object] = dict(
        effective_from=effective_from,
        deliberation_ref=ref,
        pitch_fee_per_day_cents=300,
        water_price_per_m3=Decimal("3.5120"),
        electricity_price_per_kwh=Decimal("0.2276"),
        deposit_cents=15000,
    )
    values.update(overrides)
    return Tariff(**values)  # type: ignore[arg-type]


JAN = tariff()
JAN_REF = "2025-01-01/DEL-2024-118"


def open_stay(
    *,
    arrived_at: datetime = ARRIVED,
    composition: Composition = FAMILY,
    max_consecutive_days: int = 90,
    extension_cap_months: int = 7,
) -> Stay:
    """A stay as the aire opens it, its Opened event already collected."""
    stay = Stay.open(
        stay_id=STAY_ID,
        aire_id=AIRE_ID,
        emplacement="1",
        household_ref=HOUSEHOLD,
        arrived_at=arrived_at,
        composition=composition,
        agreement_ref="COT-1",
        entry_inspection_ref="EDL-E-1",
        water_index=Decimal("100"),
        electricity_index=Decimal("2000"),
        max_consecutive_days=max_consecutive_days,
        extension_cap_months=extension_cap_months,
        actor="cashier",
        at=arrived_at,
    )
    stay.collect_events()
    return stay


def pitch(start: date, end: date, unit: str, amount: int, ref: str = JAN_REF) -> ChargeLine:
    """The pitch fee for one emplacement from ``start`` to ``end``, both charged."""
    return ChargeLine(
        revenue_type="pitch_fee",
        component="pitch",
        start=start,
        end=end,
        quantity=Decimal((end - start).days + 1),
        unit_price=Decimal(int(Decimal(unit) * 100)) / 100,  # as the stay writes cents in euros
        amount_cents=amount,
        tariff_ref=ref,
    )


def meter_line(
    meter: str,
    days: tuple[date, date],
    quantity: str,
    unit: str,
    amount: int,
    *,
    ref: str = JAN_REF,
) -> ChargeLine:
    """Consumption of one meter between the readings of ``days`` (first and last)."""
    start, end = days
    return ChargeLine(meter, meter, start, end, Decimal(quantity), Decimal(unit), amount, ref)


def assess(
    stay: Stay, through: date, tariffs: tuple[Tariff, ...] = (JAN,), when: datetime | None = None
) -> Stay.ChargesAssessed | None:
    when = when or datetime.combine(through, datetime.min.time(), tzinfo=UTC) + timedelta(hours=20)
    return stay.assess_charges(through=through, tariffs=tariffs, actor="cashier", at=when)


def charged_lines(stay: Stay) -> list[ChargeLine]:
    """The lines of every ChargesAssessed event the last command added."""
    return [
        line
        for event in stay.collect_events()
        if isinstance(event, Stay.ChargesAssessed)
        for line in event.lines
    ]


def read(stay: Stay, meter: str, index: str, when: datetime, corrects: int | None = None) -> int:
    reading = stay.read_meter(
        meter=meter, index=Decimal(index), read_at=when, corrects=corrects, actor="cashier", at=when
    )
    return reading.seq


def refused(error: pytest.ExceptionInfo[LedgerError]) -> tuple[str, str | None]:
    return error.value.code, error.value.field


# --- opening ----------------------------------------------------------------------------


def test_open_a_stay() -> None:
    """Opening records the household, composition, signed agreement, entry inspection, the
    arrival indexes and the stay rules in force on the aire."""
    stay = Stay.open(
        stay_id=STAY_ID,
        aire_id=AIRE_ID,
        emplacement="1",
        household_ref=HOUSEHOLD,
        arrived_at=ARRIVED,
        composition=FAMILY,
        agreement_ref="COT-1",
        entry_inspection_ref="EDL-E-1",
        water_index=Decimal("100"),
        electricity_index=Decimal("2000"),
        max_consecutive_days=90,
        extension_cap_months=7,
        actor="cashier",
        at=ARRIVED,
    )
    expected = [
        Stay.Opened(
            **after(),
            originator_id=STAY_ID,
            originator_version=1,
            timestamp=ARRIVED,
            originator_topic=get_topic(Stay),
            aire_id=AIRE_ID,
            emplacement="1",
            household_ref=HOUSEHOLD,
            arrived_at=ARRIVED,
            composition=FAMILY,
            agreement_ref="COT-1",
            entry_inspection_ref="EDL-E-1",
            water_index=Decimal("100"),
            electricity_index=Decimal("2000"),
            max_consecutive_days=90,
            extension_cap_months=7,
            actor="cashier",
        )
    ]
    assert expected == stay.collect_events()
    expected_readings = (
        MeterReading(1, "water", Decimal("100"), ARRIVED),
        MeterReading(2, "electricity", Decimal("2000"), ARRIVED),
    )
    assert expected_readings == stay.readings
    assert (stay.arrival_day, stay.allowed_through, stay.is_open) == (
        date(2025, 1, 6),
        date(2025, 4, 5),
        True,
    )


def test_arrival_day_is_the_paris_day() -> None:
    """An arrival at 23:30 UTC on 29 March is on 30 March in Paris (the DST Sunday)."""
    stay = open_stay(arrived_at=datetime(2025, 3, 29, 23, 30, tzinfo=UTC))
    assert stay.arrival_day == date(2025, 3, 30)


@pytest.mark.parametrize(
    ("overrides", "error", "field"),
    [
        ({"composition": Composition(0)}, InvalidValue, "adults"),
        ({"composition": Composition(1, caravans=-1)}, InvalidValue, "caravans"),
        ({"agreement_ref": "  "}, InvalidValue, "agreement_ref"),
        ({"entry_inspection_ref": ""}, InvalidValue, "entry_inspection_ref"),
        ({"arrived_at": datetime(2025, 1, 6, 9, 0)}, InvalidValue, "arrived_at"),
        ({"arrived_at": ARRIVED + timedelta(minutes=6)}, InvalidPeriod, "arrived_at"),
        ({"water_index": Decimal("-1")}, InvalidValue, "water_index"),
        ({"water_index": Decimal("NaN")}, InvalidValue, "water_index"),
        ({"electricity_index": 2000.0}, InvalidValue, "electricity_index"),
    ],
)
def test_open_refuses(overrides: dict[str, object], error: type[LedgerError], field: str) -> None:
    """A stay needs an adult, the signed agreement, the entry inspection, an aware arrival time
    not in the future, and non-negative decimal indexes."""
    values: dict[str, object] = dict(
        stay_id=STAY_ID,
        aire_id=AIRE_ID,
        emplacement="1",
        household_ref=HOUSEHOLD,
        arrived_at=ARRIVED,
        composition=FAMILY,
        agreement_ref="COT-1",
        entry_inspection_ref="EDL-E-1",
        water_index=Decimal("100"),
        electricity_index=Decimal("2000"),
        max_consecutive_days=90,
        extension_cap_months=7,
        actor="cashier",
        at=ARRIVED,
    )
    values.update(overrides)
    with pytest.raises(error) as raised:
        Stay.open(**values)  # type: ignore[arg-type]
    assert refused(raised) == (error.code, field)


def test_open_tolerates_five_minutes_of_clock_skew() -> None:
    """An arrival time up to five minutes ahead of the server clock is accepted."""
    stay = open_stay(arrived_at=ARRIVED)
    later = Stay.open(
        stay_id=STAY_ID,
        aire_id=AIRE_ID,
        emplacement="1",
        household_ref=HOUSEHOLD,
        arrived_at=ARRIVED + timedelta(minutes=5),
        composition=FAMILY,
        agreement_ref="COT-1",
        entry_inspection_ref="EDL-E-1",
        water_index=Decimal("100"),
        electricity_index=Decimal("2000"),
        max_consecutive_days=90,
        extension_cap_months=7,
        actor="cashier",
        at=ARRIVED,
    )
    assert later.arrival_day == stay.arrival_day


# --- meter readings ---------------------------------------------------------------------


def test_read_meter() -> None:
    """A reading gets the next sequence number and is recorded with its time."""
    stay = open_stay()
    head = stay.head_hash
    reading = stay.read_meter(
        meter="water", index=Decimal("102.5"), read_at=at(1, 10), actor="cashier", at=at(1, 10)
    )
    expected_reading = MeterReading(3, "water", Decimal("102.5"), at(1, 10))
    expected = [
        Stay.MeterRead(
            **after(head),
            originator_id=STAY_ID,
            originator_version=2,
            timestamp=at(1, 10),
            reading=expected_reading,
            actor="cashier",
        )
    ]
    assert expected == stay.collect_events()
    assert expected_reading == reading


def test_correct_a_reading() -> None:
    """A correction is a new reading naming the one it corrects; it keeps that reading's time
    and replaces its index in the effective series."""
    stay = open_stay()
    read(stay, "water", "110", at(1, 10))
    stay.collect_events()
    head = stay.head_hash
    correction = stay.read_meter(
        meter="water",
        index=Decimal("105"),
        read_at=at(1, 11),
        corrects=3,
        actor="cashier",
        at=at(1, 11),
    )
    expected = [
        Stay.MeterRead(
            **after(head),
            originator_id=STAY_ID,
            originator_version=3,
            timestamp=at(1, 11),
            reading=MeterReading(4, "water", Decimal("105"), at(1, 10), corrects=3),
            actor="cashier",
        )
    ]
    assert expected == stay.collect_events()
    assert correction.corrects == 3
    assert [(r.seq, r.index) for r in stay.effective_readings("water")] == [
        (1, Decimal("100")),
        (3, Decimal("105")),
    ]


def test_the_latest_correction_wins() -> None:
    """A reading corrected twice takes the index of the latest correction."""
    stay = open_stay()
    read(stay, "electricity", "2100", at(1, 10))
    read(stay, "electricity", "2090", at(1, 11), corrects=3)
    read(stay, "electricity", "2095", at(1, 12), corrects=3)
    assert [r.index for r in stay.effective_readings("electricity")] == [
        Decimal("2000"),
        Decimal("2095"),
    ]


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"meter": "gas"}, InvalidValue, "meter"),
        ({"index": Decimal("-1")}, InvalidValue, "index"),
        ({"index": 101.0}, InvalidValue, "index"),
        ({"read_at": datetime(2025, 1, 10, 9, 0)}, InvalidValue, "read_at"),
        ({"read_at": at(1, 10) + timedelta(minutes=6)}, InvalidPeriod, "read_at"),
        ({"read_at": ARRIVED - timedelta(minutes=1)}, InvalidPeriod, "read_at"),
        ({"read_at": at(1, 9, 8)}, InvalidPeriod, "read_at"),  # before the last reading
        ({"index": Decimal("101.9")}, MeterIndexDecreased, "index"),
        ({"corrects": 9}, ReadingNotFound, "corrects"),
        ({"corrects": 2}, ReadingNotFound, "corrects"),  # 2 is the electricity reading
        ({"corrects": 4}, ReadingNotFound, "corrects"),  # 4 is a correction, not a reading
        ({"corrects": 3, "index": Decimal("99")}, MeterIndexDecreased, "index"),
        ({"corrects": 3, "index": Decimal("103.1")}, MeterIndexDecreased, "index"),
        ({"corrects": 1, "index": Decimal("101.5")}, MeterIndexDecreased, "index"),
    ],
)
def test_read_meter_refuses(
    kwargs: dict[str, object], error: type[LedgerError], field: str
) -> None:
    """A reading names a known meter, a non-negative index that never goes down, an aware time
    not before the arrival nor the last reading nor in the future; a correction names a reading
    of that meter and stays between its neighbours."""
    stay = open_stay()
    read(stay, "water", "102", at(1, 9))  # seq 3
    read(stay, "water", "101", at(1, 9), corrects=3)  # seq 4
    read(stay, "water", "103", at(1, 10))  # seq 5
    stay.collect_events()
    values: dict[str, object] = dict(
        meter="water", index=Decimal("104"), read_at=at(1, 10), corrects=None
    )
    values.update(kwargs)
    with pytest.raises(error) as raised:
        stay.read_meter(**values, actor="cashier", at=at(1, 10))  # type: ignore[arg-type]
    assert refused(raised) == (error.code, field)
    assert stay.collect_events() == []


def test_read_meter_refuses_after_departure() -> None:
    """A closed stay takes no more readings."""
    stay = open_stay()
    stay.depart(
        departed_at=at(1, 9),
        exit_inspection_ref="EDL-S-1",
        water_index=Decimal("103"),
        electricity_index=Decimal("2010"),
        actor="cashier",
        at=at(1, 9),
    )
    stay.collect_events()
    with pytest.raises(StayClosed) as error:
        read(stay, "water", "104", at(1, 10))
    assert refused(error) == ("stay_closed", None)
    assert stay.collect_events() == []


# --- extensions -------------------------------------------------------------------------


def test_extend_a_stay() -> None:
    """An extension with its reason, evidence and end date moves the allowed last day; the
    stay's event records the end date only (the why is the household's, sealed), and the
    validated reason is handed back for that."""
    stay = open_stay()
    head = stay.head_hash
    reason = stay.extend(
        reason="school", evidence_ref="CERT-SCOL-7", until=date(2025, 6, 30), actor="m", at=ASKED
    )
    expected = [
        Stay.Extended(
            **after(head),
            originator_id=STAY_ID,
            originator_version=2,
            timestamp=ASKED,
            until=date(2025, 6, 30),
            actor="m",
        )
    ]
    assert expected == stay.collect_events()
    assert reason == ExtensionReason.SCHOOL
    assert stay.allowed_through == date(2025, 6, 30)
    assert stay.extensions == (Granted(2, ASKED, date(2025, 6, 30)),)


def test_an_extension_of_version_2_is_read_without_its_why() -> None:
    """A stored version-2 extension held its reason and evidence in clear: it is read with
    its end date only (and one from before the chain keeps them, unread, for its link)."""
    old = Extension("hospitalisation", "CHU-9", date(2025, 6, 30))
    chained = {"extension": old, "prev_hash": "a" * 64, "hash": "b" * 64}
    Stay.Extended.upcast_v2_v3(chained)
    assert chained == {"until": date(2025, 6, 30), "prev_hash": "a" * 64, "hash": "b" * 64}
    unchained = {"extension": old, "prev_hash": "", "hash": ""}
    Stay.Extended.upcast_v2_v3(unchained)
    assert unchained == {"extension": old, "prev_hash": "", "hash": ""}


def test_extend_up_to_the_cap() -> None:
    """Extensions reach at most 7 months past the maximum stay (5 April + 7 months = 5 Nov)."""
    stay = open_stay()
    stay.extend(reason="work", evidence_ref="CDD-1", until=date(2025, 6, 30), actor="m", at=ASKED)
    stay.extend(
        reason="hospitalisation",
        evidence_ref="CHU-2",
        until=date(2025, 11, 5),
        actor="m",
        at=ASKED,
    )
    assert [type(e) for e in stay.collect_events()] == [Stay.Extended, Stay.Extended]
    assert (stay.extension_cap, stay.allowed_through) == (date(2025, 11, 5), date(2025, 11, 5))


@pytest.mark.parametrize("previous", [None, date(2025, 6, 30)])
def test_extend_refuses_beyond_the_cap(previous: date | None) -> None:
    """One day past the cap is refused, whether asked at once or after other extensions."""
    stay = open_stay()
    if previous:
        stay.extend(reason="work", evidence_ref="CDD-1", until=previous, actor="m", at=ASKED)
    stay.collect_events()
    with pytest.raises(ExtensionBeyondCap) as error:
        stay.extend(
            reason="training", evidence_ref="AFPA-3", until=date(2025, 11, 6), actor="m", at=ASKED
        )
    assert refused(error) == ("extension_beyond_cap", "until")
    assert stay.collect_events() == []


def test_extension_cap_follows_the_aire_rules() -> None:
    """With no extension allowed by the aire's rules, any extension is beyond the cap."""
    stay = open_stay(extension_cap_months=0)
    with pytest.raises(ExtensionBeyondCap):
        stay.extend(
            reason="school", evidence_ref="CERT", until=date(2025, 4, 6), actor="m", at=ASKED
        )
    assert stay.collect_events() == []


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"reason": "holidays"}, InvalidValue, "reason"),
        ({"evidence_ref": " "}, InvalidValue, "evidence_ref"),
        ({"until": date(2025, 4, 5)}, InvalidPeriod, "until"),  # already allowed
        ({"until": date(2025, 3, 1)}, InvalidPeriod, "until"),
    ],
)
def test_extend_refuses(kwargs: dict[str, object], error: type[LedgerError], field: str) -> None:
    """An extension has one of the four reasons, names its evidence and goes further than the
    day already allowed."""
    stay = open_stay()
    values: dict[str, object] = dict(reason="school", evidence_ref="CERT", until=date(2025, 6, 30))
    values.update(kwargs)
    with pytest.raises(error) as raised:
        stay.extend(**values, actor="m", at=ASKED)  # type: ignore[arg-type]
    assert refused(raised) == (error.code, field)
    assert stay.collect_events() == []


def test_extend_refuses_an_end_within_an_earlier_extension() -> None:
    """A later extension must go past the end of the earlier one."""
    stay = open_stay()
    stay.extend(reason="work", evidence_ref="CDD-1", until=date(2025, 6, 30), actor="m", at=ASKED)
    stay.collect_events()
    with pytest.raises(InvalidPeriod) as error:
        stay.extend(
            reason="school", evidence_ref="CERT", until=date(2025, 6, 1), actor="m", at=ASKED
        )
    assert refused(error) == ("invalid_period", "until")
    assert stay.collect_events() == []


def test_extend_refuses_after_departure() -> None:
    """A closed stay cannot be extended."""
    stay = open_stay()
    stay.depart(
        departed_at=at(1, 9),
        exit_inspection_ref="EDL-S-1",
        water_index=Decimal("100"),
        electricity_index=Decimal("2000"),
        actor="cashier",
        at=at(1, 9),
    )
    stay.collect_events()
    with pytest.raises(StayClosed):
        stay.extend(
            reason="school", evidence_ref="CERT", until=date(2025, 6, 30), actor="m", at=ASKED
        )
    assert stay.collect_events() == []


# --- charges: pitch fee -----------------------------------------------------------------


def test_assess_charges_the_pitch_fee_day_by_day() -> None:
    """Seven days from Monday 6 to Sunday 12 January at 3.00 make one line of 21.00, and the
    stay is charged until the 13th; no consumption, no meter line."""
    stay = open_stay()
    head = stay.head_hash
    returned = assess(stay, date(2025, 1, 12), when=at(1, 12, 18))
    expected = [
        Stay.ChargesAssessed(
            **after(head),
            originator_id=STAY_ID,
            originator_version=2,
            timestamp=at(1, 12, 18),
            aire_id=AIRE_ID,
            household_ref=HOUSEHOLD,
            charged_until=date(2025, 1, 13),
            lines=(pitch(date(2025, 1, 6), date(2025, 1, 12), "3.00", 2100),),
            total_cents=2100,
            billed_index={"water": Decimal("100"), "electricity": Decimal("2000")},
            actor="cashier",
        )
    ]
    actual = stay.collect_events()
    assert expected == actual
    assert returned is actual[0]
    assert (stay.charged_until, stay.charged_cents) == (date(2025, 1, 13), 2100)


def test_assess_charges_nothing_twice() -> None:
    """Assessing again through the same day finds nothing to charge: no event, None."""
    stay = open_stay()
    assess(stay, date(2025, 1, 12))
    stay.collect_events()
    assert assess(stay, date(2025, 1, 12)) is None
    assert assess(stay, date(2025, 1, 10)) is None
    assert stay.collect_events() == []


def test_assess_charges_continue_from_the_last_charged_day() -> None:
    """A second assessment starts the day after the last charged one."""
    stay = open_stay()
    assess(stay, date(2025, 1, 12))
    stay.collect_events()
    assess(stay, date(2025, 1, 15))
    expected = [pitch(date(2025, 1, 13), date(2025, 1, 15), "3.00", 900)]
    assert expected == charged_lines(stay)


def test_a_tariff_change_mid_period_gives_a_line_per_tariff() -> None:
    """Each day is charged with the tariff in force that day: the days before 10 January at
    the old fee, the days from the 10th at the new one, each line naming its version."""
    stay = open_stay()
    new = tariff(date(2025, 1, 10), ref="DEL-2025-004", pitch_fee_per_day_cents=350)
    assess(stay, date(2025, 1, 12), tariffs=(new, JAN))
    expected = [
        pitch(date(2025, 1, 6), date(2025, 1, 9), "3.00", 1200),
        pitch(date(2025, 1, 10), date(2025, 1, 12), "3.50", 1050, ref="2025-01-10/DEL-2025-004"),
    ]
    assert expected == charged_lines(stay)


def test_a_tariff_change_that_keeps_the_pitch_fee_changes_no_amount() -> None:
    """The pitch fee is whole cents a day, so its lines need no rounding: a version that
    keeps 3.00 a day (and changes water) still gives a line per version, each days × 3.00
    exactly, together the 7 × 3.00 one line would charge. Unlike a fluid, nothing to merge."""
    stay = open_stay()
    new = tariff(date(2025, 1, 10), ref="DEL-2025-004", water_price_per_m3=Decimal("4.00"))
    event = assess(stay, date(2025, 1, 12), tariffs=(new, JAN))
    expected = (
        pitch(date(2025, 1, 6), date(2025, 1, 9), "3.00", 1200),
        pitch(date(2025, 1, 10), date(2025, 1, 12), "3.00", 900, ref="2025-01-10/DEL-2025-004"),
    )
    assert event is not None
    assert (expected, event.total_cents) == (event.lines, 7 * 300)


def test_a_later_tariff_never_reprices_charged_days() -> None:
    """A tariff adopted afterwards, effective from a day already charged, leaves the charged
    days alone and applies only to the days charged next."""
    stay = open_stay()
    assess(stay, date(2025, 1, 12), tariffs=(JAN,))
    stay.collect_events()
    backdated = tariff(date(2025, 1, 8), ref="DEL-2025-004", pitch_fee_per_day_cents=350)
    assert assess(stay, date(2025, 1, 12), tariffs=(JAN, backdated)) is None
    assert stay.collect_events() == []
    assess(stay, date(2025, 1, 15), tariffs=(JAN, backdated))
    expected = [
        pitch(date(2025, 1, 13), date(2025, 1, 15), "3.50", 1050, ref="2025-01-08/DEL-2025-004")
    ]
    assert expected == charged_lines(stay)


def test_person_rates_are_charged_per_head_by_age_band() -> None:
    """With rates per adult and per child of 4-17, each band gets its own line (days × heads);
    a band the tariff does not price is not charged."""
    stay = open_stay(composition=Composition(2, (("4-17", 1), ("0-3", 1))))
    rates = tariff(person_rates=(PersonRate("adult", 100), PersonRate("4-17", 50)))
    assess(stay, date(2025, 1, 8), tariffs=(rates,))
    d6, d8 = date(2025, 1, 6), date(2025, 1, 8)
    expected = [
        ChargeLine("pitch_fee", "person:4-17", d6, d8, Decimal(3), Decimal("0.50"), 150, JAN_REF),
        ChargeLine("pitch_fee", "person:adult", d6, d8, Decimal(6), Decimal("1.00"), 600, JAN_REF),
        pitch(d6, d8, "3.00", 900),
    ]
    assert expected == charged_lines(stay)


def test_a_season_replaces_the_base_fee_on_its_days() -> None:
    """From 28 June to 2 July: three days at the base fee, then two in the summer season."""
    stay = open_stay(arrived_at=at(6, 28))
    summer = tariff(seasons=(SeasonalRate(date(2025, 7, 1), date(2025, 8, 31), 500),))
    assess(stay, date(2025, 7, 2), tariffs=(summer,))
    expected = [
        pitch(date(2025, 6, 28), date(2025, 6, 30), "3.00", 900),
        pitch(date(2025, 7, 1), date(2025, 7, 2), "5.00", 1000),
    ]
    assert expected == charged_lines(stay)


def test_a_duration_band_applies_from_day_91() -> None:
    """Days 1 to 90 (6 January to 5 April) at the base fee, days 91 and 92 at the band's."""
    stay = open_stay(max_consecutive_days=200)
    long_stay = tariff(duration_bands=(DurationBand(91, 450),))
    assess(stay, date(2025, 4, 7), tariffs=(long_stay,))
    expected = [
        pitch(date(2025, 1, 6), date(2025, 4, 5), "3.00", 27000),
        pitch(date(2025, 4, 6), date(2025, 4, 7), "4.50", 900),
    ]
    assert expected == charged_lines(stay)


def test_a_duration_band_beats_a_season() -> None:
    """Arrived 1 April: base fee until the season, season fee in June, and from day 91
    (30 June) the duration band even though the season goes on."""
    stay = open_stay(arrived_at=at(4, 1), max_consecutive_days=200)
    both = tariff(
        seasons=(SeasonalRate(date(2025, 6, 1), date(2025, 8, 31), 500),),
        duration_bands=(DurationBand(91, 450),),
    )
    assess(stay, date(2025, 7, 1), tariffs=(both,))
    expected = [
        pitch(date(2025, 4, 1), date(2025, 5, 31), "3.00", 18300),
        pitch(date(2025, 6, 1), date(2025, 6, 29), "5.00", 14500),
        pitch(date(2025, 6, 30), date(2025, 7, 1), "4.50", 900),
    ]
    assert expected == charged_lines(stay)


def test_a_free_pitch_gives_no_line() -> None:
    """Days charged at zero produce no line (and nothing to charge means no event)."""
    stay = open_stay()
    assert assess(stay, date(2025, 1, 12), tariffs=(tariff(pitch_fee_per_day_cents=0),)) is None
    assert stay.collect_events() == []


def test_assess_refuses_a_day_without_tariff() -> None:
    """A day with no tariff in force cannot be charged; nothing is recorded."""
    stay = open_stay()
    with pytest.raises(NoTariffInForce) as error:
        assess(stay, date(2025, 1, 12), tariffs=(tariff(date(2025, 1, 10)),))
    assert refused(error) == ("no_tariff_in_force", "through")
    assert stay.collect_events() == []
    assert stay.charged_until == date(2025, 1, 6)


def test_assess_refuses_consumption_without_tariff() -> None:
    """Consumption read on a day with no tariff in force cannot be priced."""
    stay = open_stay()
    assess(stay, date(2025, 1, 10))
    read(stay, "water", "101", at(1, 10))
    stay.collect_events()
    with pytest.raises(NoTariffInForce) as error:
        assess(stay, date(2025, 1, 10), tariffs=())
    assert refused(error) == ("no_tariff_in_force", "through")
    assert stay.collect_events() == []


# --- charges: days and departure --------------------------------------------------------


def test_a_same_day_stay_counts_one_day() -> None:
    """Arriving and leaving on 6 January is charged one day, however far the assessment goes."""
    stay = open_stay()
    stay.depart(
        departed_at=at(1, 6, 16),
        exit_inspection_ref="EDL-S-1",
        water_index=Decimal("100"),
        electricity_index=Decimal("2000"),
        actor="cashier",
        at=at(1, 6, 16),
    )
    stay.collect_events()
    assess(stay, date(2025, 1, 31))
    expected = [pitch(date(2025, 1, 6), date(2025, 1, 6), "3.00", 300)]
    assert expected == charged_lines(stay)


def test_the_departure_day_is_not_charged() -> None:
    """Leaving on Thursday 9 January: the nights of the 6th, 7th and 8th are charged, with
    the water and electricity consumed up to the closing readings."""
    stay = open_stay()
    stay.depart(
        departed_at=at(1, 9),
        exit_inspection_ref="EDL-S-1",
        water_index=Decimal("103"),
        electricity_index=Decimal("2010"),
        actor="cashier",
        at=at(1, 9),
    )
    stay.collect_events()
    assess(stay, date(2025, 1, 31))
    d6, d9 = date(2025, 1, 6), date(2025, 1, 9)
    expected = [
        pitch(d6, date(2025, 1, 8), "3.00", 900),
        meter_line("water", (d6, d9), "3", "3.5120", 1054),
        meter_line("electricity", (d6, d9), "10", "0.2276", 228),
    ]
    assert expected == charged_lines(stay)


def test_days_charged_ahead_are_credited_when_the_household_leaves_earlier() -> None:
    """Charged a week ahead (6 to 12 January), gone on the 9th: the next assessment credits
    the 9th to the 12th at the rate they were charged and ends the charges on the 9th."""
    stay = open_stay()
    assess(stay, date(2025, 1, 12), when=at(1, 6, 10))
    stay.depart(
        departed_at=at(1, 9),
        exit_inspection_ref="EDL-S-1",
        water_index=Decimal("100"),
        electricity_index=Decimal("2000"),
        actor="cashier",
        at=at(1, 9),
    )
    stay.collect_events()
    event = assess(stay, date(2025, 1, 9))
    expected = (
        ChargeLine(
            "pitch_fee",
            "pitch",
            date(2025, 1, 9),
            date(2025, 1, 12),
            Decimal(-4),
            Decimal(3),
            -1200,
            JAN_REF,
        ),
    )
    assert event is not None
    assert expected == event.lines
    assert (event.charged_until, stay.charged_cents) == (date(2025, 1, 9), 900)
    assert assess(stay, date(2025, 1, 31)) is None


def test_days_follow_the_paris_calendar_across_dst() -> None:
    """Arrived 23:30 UTC on 29 March (30 March in Paris), left 22:30 UTC on 31 March (1 April
    in Paris, summer time): 30 and 31 March are charged."""
    stay = open_stay(arrived_at=datetime(2025, 3, 29, 23, 30, tzinfo=UTC))
    departed = datetime(2025, 3, 31, 22, 30, tzinfo=UTC)
    stay.depart(
        departed_at=departed,
        exit_inspection_ref="EDL-S-1",
        water_index=Decimal("100"),
        electricity_index=Decimal("2000"),
        actor="cashier",
        at=departed,
    )
    stay.collect_events()
    assess(stay, date(2025, 4, 30))
    expected = [pitch(date(2025, 3, 30), date(2025, 3, 31), "3.00", 600)]
    assert expected == charged_lines(stay)


# --- charges: water and electricity -----------------------------------------------------


def test_consumption_is_billed_between_readings() -> None:
    """2.5 m³ of water at 3.5120 = 8.78; 3 kWh at 0.2276 = 0.6828, rounded to 0.68; the
    billed indexes move to the readings."""
    stay = open_stay()
    read(stay, "water", "102.5", at(1, 10))
    read(stay, "electricity", "2003", at(1, 10))
    stay.collect_events()
    event = assess(stay, date(2025, 1, 10))
    d6, d10 = date(2025, 1, 6), date(2025, 1, 10)
    expected = (
        pitch(d6, d10, "3.00", 1500),
        meter_line("water", (d6, d10), "2.5", "3.5120", 878),
        meter_line("electricity", (d6, d10), "3", "0.2276", 68),
    )
    assert event is not None
    assert expected == event.lines
    assert (event.total_cents, event.billed_index) == (
        2446,
        {"water": Decimal("102.5"), "electricity": Decimal("2003")},
    )


def test_consumption_after_a_tariff_change_is_priced_at_the_new_tariff() -> None:
    """Water consumed over days all under the tariff in force from 7 January is priced at it."""
    stay = open_stay()
    read(stay, "water", "102.5", at(1, 10))
    stay.collect_events()
    new = tariff(date(2025, 1, 7), ref="DEL-2025-004", water_price_per_m3=Decimal("4.00"))
    assess(stay, date(2025, 1, 10), tariffs=(JAN, new))
    water = [line for line in charged_lines(stay) if line.revenue_type == "water"]
    expected = [
        meter_line(
            "water",
            (date(2025, 1, 6), date(2025, 1, 10)),
            "2.5",
            "4.00",
            1000,
            ref="2025-01-07/DEL-2025-004",
        )
    ]
    assert expected == water


def test_consumption_across_a_tariff_change_is_shared_pro_rata() -> None:
    """2.5 m³ read on the 10th, billed from the 6th: of the four days it covers (7 to 10),
    one is under the old tariff (0.625 m³ at 3.5120 = 2.195, rounded 2.20) and three under
    the new one from the 8th (1.875 m³ at 4.00 = 7.50), each line naming its tariff."""
    stay = open_stay()
    read(stay, "water", "102.5", at(1, 10))
    stay.collect_events()
    new = tariff(date(2025, 1, 8), ref="DEL-2025-004", water_price_per_m3=Decimal("4.00"))
    assess(stay, date(2025, 1, 10), tariffs=(JAN, new))
    water = [line for line in charged_lines(stay) if line.revenue_type == "water"]
    expected = [
        meter_line("water", (date(2025, 1, 7), date(2025, 1, 7)), "0.625", "3.5120", 220),
        meter_line(
            "water",
            (date(2025, 1, 8), date(2025, 1, 10)),
            "1.875",
            "4.00",
            750,
            ref="2025-01-08/DEL-2025-004",
        ),
    ]
    assert expected == water


def test_pro_rata_shares_add_up_to_the_consumption() -> None:
    """1 kWh over three days, two of them under the old tariff: 0.667 + 0.333, rounded to the
    thousandth, the last share taking the remainder so nothing is lost or billed twice."""
    stay = open_stay()
    read(stay, "electricity", "2001", at(1, 9))
    stay.collect_events()
    new = tariff(date(2025, 1, 9), ref="DEL-2025-004", electricity_price_per_kwh=Decimal("0.30"))
    assess(stay, date(2025, 1, 9), tariffs=(JAN, new))
    electricity = [line for line in charged_lines(stay) if line.revenue_type == "electricity"]
    assert [(line.quantity, line.amount_cents) for line in electricity] == [
        (Decimal("0.667"), 15),  # 0.667 × 0.2276 = 0.1518
        (Decimal("0.333"), 10),  # 0.333 × 0.30 = 0.0999
    ]
    assert sum(line.quantity for line in electricity) == Decimal(1)


def test_a_tariff_change_that_keeps_the_water_price_does_not_split_its_line() -> None:
    """A délibération from the 8th changes the pitch fee and keeps water at 3.5120. 2.1 m³
    read on the 10th, billed from the 6th, is one line: 2.1 × 3.5120 = 7.3752 → 7.38. Split
    by tariff and rounded twice it was 0.525 → 1.84 plus 1.575 → 5.53 = 7.37, a cent short.
    The line names both versions that priced its days."""
    stay = open_stay()
    read(stay, "water", "102.1", at(1, 10))
    stay.collect_events()
    new = tariff(date(2025, 1, 8), ref="DEL-2025-004", pitch_fee_per_day_cents=350)
    assess(stay, date(2025, 1, 10), tariffs=(JAN, new))
    water = [line for line in charged_lines(stay) if line.revenue_type == "water"]
    expected = [
        meter_line(
            "water",
            (date(2025, 1, 6), date(2025, 1, 10)),
            "2.1",
            "3.5120",
            738,
            ref=f"{JAN_REF} + 2025-01-08/DEL-2025-004",
        )
    ]
    assert expected == water
    assert stay.billed_reading_day["water"] == date(2025, 1, 10)


def test_one_line_per_unit_price_for_each_fluid() -> None:
    """From the 8th water keeps its price and electricity goes to 0.30. Over the days 7 to
    10: water is one line (2.5 m³ × 3.5120 = 8.78); electricity is split where its price
    changed, one day of four at 0.2276 (0.75 kWh = 0.1707 → 0.17) and three at 0.30
    (2.25 kWh = 0.675 → 0.68), each line rounded once, half-up."""
    stay = open_stay()
    read(stay, "water", "102.5", at(1, 10))
    read(stay, "electricity", "2003", at(1, 10))
    stay.collect_events()
    new = tariff(date(2025, 1, 8), ref="DEL-2025-004", electricity_price_per_kwh=Decimal("0.30"))
    assess(stay, date(2025, 1, 10), tariffs=(JAN, new))
    meters = [line for line in charged_lines(stay) if line.revenue_type != "pitch_fee"]
    new_ref = "2025-01-08/DEL-2025-004"
    expected = [
        meter_line(
            "water",
            (date(2025, 1, 6), date(2025, 1, 10)),
            "2.5",
            "3.5120",
            878,
            ref=f"{JAN_REF} + {new_ref}",
        ),
        meter_line("electricity", (date(2025, 1, 7), date(2025, 1, 7)), "0.75", "0.2276", 17),
        meter_line(
            "electricity",
            (date(2025, 1, 8), date(2025, 1, 10)),
            "2.25",
            "0.30",
            68,
            ref=new_ref,
        ),
    ]
    assert expected == meters


def test_days_at_one_price_are_shared_as_one_run() -> None:
    """Three versions over the days 7 to 15: water at 3.5120 under the first two (7 to 12,
    six days), 4.00 under the third (13 to 15, three days). 10 m³ make two lines, shared by
    those runs of days: 6.667 m³ × 3.5120 = 23.4145 → 23.41 and 3.333 m³ × 4.00 = 13.33."""
    stay = open_stay()
    read(stay, "water", "110", at(1, 15))
    stay.collect_events()
    same = tariff(date(2025, 1, 9), ref="DEL-2025-004", pitch_fee_per_day_cents=350)
    dearer = tariff(date(2025, 1, 13), ref="DEL-2025-009", water_price_per_m3=Decimal("4.00"))
    assess(stay, date(2025, 1, 15), tariffs=(dearer, JAN, same))
    water = [line for line in charged_lines(stay) if line.revenue_type == "water"]
    expected = [
        meter_line(
            "water",
            (date(2025, 1, 7), date(2025, 1, 12)),
            "6.667",
            "3.5120",
            2341,
            ref=f"{JAN_REF} + 2025-01-09/DEL-2025-004",
        ),
        meter_line(
            "water",
            (date(2025, 1, 13), date(2025, 1, 15)),
            "3.333",
            "4.00",
            1333,
            ref="2025-01-13/DEL-2025-009",
        ),
    ]
    assert expected == water


def test_a_price_that_comes_back_is_a_new_line() -> None:
    """Only consecutive days at one price are merged: 3.5120, then 4.00 from the 8th, then
    3.5120 again from the 10th gives three lines over the days 7 to 11 (3 m³ shared 1:2:2)."""
    stay = open_stay()
    read(stay, "water", "103", at(1, 11))
    stay.collect_events()
    dearer = tariff(date(2025, 1, 8), ref="DEL-2025-004", water_price_per_m3=Decimal("4.00"))
    back = tariff(date(2025, 1, 10), ref="DEL-2025-006")
    assess(stay, date(2025, 1, 11), tariffs=(JAN, dearer, back))
    water = [line for line in charged_lines(stay) if line.revenue_type == "water"]
    assert [(line.start, line.end, line.quantity, line.unit_price) for line in water] == [
        (date(2025, 1, 7), date(2025, 1, 7), Decimal("0.600"), Decimal("3.5120")),
        (date(2025, 1, 8), date(2025, 1, 9), Decimal("1.200"), Decimal("4.00")),
        (date(2025, 1, 10), date(2025, 1, 11), Decimal("1.200"), Decimal("3.5120")),
    ]


def test_water_lines_split_before_the_change_stay_as_they_were_charged() -> None:
    """Given a charge recorded before one line per price (two water lines at 3.5120 that
    rounded to 7.37, not 7.38), replaying it gives the stay what it recorded: the amounts
    and quantities stand, and the next assessment bills only the consumption after it."""
    stay = open_stay()
    read(stay, "water", "102.1", at(1, 10))
    old_ref, new_ref = JAN_REF, "2025-01-08/DEL-2025-004"
    d6, d7, d8, d10 = date(2025, 1, 6), date(2025, 1, 7), date(2025, 1, 8), date(2025, 1, 10)
    recorded = (
        pitch(d6, d7, "3.00", 600),
        pitch(d8, d10, "3.50", 1050, ref=new_ref),
        meter_line("water", (d7, d7), "0.525", "3.5120", 184, ref=old_ref),
        meter_line("water", (d8, d10), "1.575", "3.5120", 553, ref=new_ref),
    )
    stay.trigger_event(
        Stay.ChargesAssessed,
        aire_id=AIRE_ID,
        household_ref=HOUSEHOLD,
        charged_until=date(2025, 1, 11),
        lines=recorded,
        total_cents=2387,
        billed_index={"water": Decimal("102.1"), "electricity": Decimal("2000")},
        actor="cashier",
        timestamp=at(1, 10, 20),
    )
    # Replayed onto the stay as opened (the same Opened event), as a load from storage does.
    replayed = reduce(lambda s, event: event.mutate(s), stay.collect_events(), open_stay())
    assert isinstance(replayed, Stay)
    assert (replayed.charged_cents, replayed.billed_quantity["water"]) == (2387, Decimal("2.1"))
    read(replayed, "water", "103.1", at(1, 14))
    replayed.collect_events()
    new = tariff(date(2025, 1, 8), ref="DEL-2025-004", pitch_fee_per_day_cents=350)
    assess(replayed, date(2025, 1, 14), tariffs=(JAN, new))
    water = [line for line in charged_lines(replayed) if line.revenue_type == "water"]
    expected = [meter_line("water", (d10, date(2025, 1, 14)), "1.0", "3.5120", 351, ref=new_ref)]
    assert expected == water


def test_consumption_read_before_a_tariff_change_keeps_the_old_price() -> None:
    """Water read on 7 January is priced at the old tariff, even when billed after the change."""
    stay = open_stay()
    read(stay, "water", "102.5", at(1, 7))
    stay.collect_events()
    new = tariff(date(2025, 1, 8), ref="DEL-2025-004", water_price_per_m3=Decimal("4.00"))
    assess(stay, date(2025, 1, 10), tariffs=(JAN, new))
    water = [line for line in charged_lines(stay) if line.revenue_type == "water"]
    expected = [meter_line("water", (date(2025, 1, 6), date(2025, 1, 7)), "2.5", "3.5120", 878)]
    assert expected == water


def test_sub_cent_prices_are_rounded_half_up_once_per_line() -> None:
    """2 m³ at 3.5125 = 7.025 → 7.03 (half-up, not 7.02); 10 kWh at 0.2276 = 2.276 → 2.28
    (once per line, not 10 × 0.23 = 2.30)."""
    stay = open_stay()
    read(stay, "water", "102", at(1, 10))
    read(stay, "electricity", "2010", at(1, 10))
    stay.collect_events()
    fine = tariff(water_price_per_m3=Decimal("3.5125"))
    assess(stay, date(2025, 1, 10), tariffs=(fine,))
    meters = [line for line in charged_lines(stay) if line.revenue_type != "pitch_fee"]
    d6, d10 = date(2025, 1, 6), date(2025, 1, 10)
    expected = [
        meter_line("water", (d6, d10), "2", "3.5125", 703),
        meter_line("electricity", (d6, d10), "10", "0.2276", 228),
    ]
    assert expected == meters


def test_a_reading_after_the_assessed_day_waits() -> None:
    """A reading taken after ``through`` is not billed yet; the next assessment bills it from
    the last billed reading."""
    stay = open_stay()
    read(stay, "water", "102.5", at(1, 15))
    stay.collect_events()
    assess(stay, date(2025, 1, 12), when=at(1, 15, 12))
    assert [line.component for line in charged_lines(stay)] == ["pitch"]
    assert stay.billed_index["water"] == Decimal("100")
    assess(stay, date(2025, 1, 15))
    water = [line for line in charged_lines(stay) if line.revenue_type == "water"]
    expected = [meter_line("water", (date(2025, 1, 6), date(2025, 1, 15)), "2.5", "3.5120", 878)]
    assert expected == water


def test_consumption_is_billed_from_the_last_billed_reading() -> None:
    """The second water line runs from the day of the reading billed last time."""
    stay = open_stay()
    read(stay, "water", "102.5", at(1, 10))
    assess(stay, date(2025, 1, 10))
    read(stay, "water", "105", at(1, 20))
    stay.collect_events()
    assess(stay, date(2025, 1, 20))
    water = [line for line in charged_lines(stay) if line.revenue_type == "water"]
    expected = [meter_line("water", (date(2025, 1, 10), date(2025, 1, 20)), "2.5", "3.5120", 878)]
    assert expected == water


def test_a_correction_below_the_billed_index_gives_a_credit_line() -> None:
    """10 m³ billed on a reading of 110, corrected to 105: the next assessment credits 5 m³."""
    stay = open_stay()
    seq = read(stay, "water", "110", at(1, 10))
    assess(stay, date(2025, 1, 10))
    read(stay, "water", "105", at(1, 11), corrects=seq)
    stay.collect_events()
    event = assess(stay, date(2025, 1, 10), when=at(1, 11))
    d10 = date(2025, 1, 10)
    expected = (meter_line("water", (d10, d10), "-5", "3.5120", -1756),)
    assert event is not None
    assert expected == event.lines
    assert (event.total_cents, event.billed_index["water"]) == (-1756, Decimal("105"))
    assert stay.charged_cents == 1500 + 3512 - 1756


def test_a_correction_between_two_readings_only_moves_the_split() -> None:
    """Correcting an already billed reading that has a later reading after it: the total
    billed still equals the last index less the arrival index."""
    stay = open_stay()
    seq = read(stay, "water", "110", at(1, 10))
    assess(stay, date(2025, 1, 10))
    read(stay, "water", "120", at(1, 20))
    read(stay, "water", "105", at(1, 20), corrects=seq)
    stay.collect_events()
    assess(stay, date(2025, 1, 20))
    water = [line for line in charged_lines(stay) if line.revenue_type == "water"]
    assert [line.quantity for line in water] == [Decimal(10)]


def test_a_correction_of_the_arrival_index_changes_the_consumption_billed() -> None:
    """Arrival water index 100 corrected to 98, then read at 110: 12 m³ were consumed."""
    stay = open_stay()
    read(stay, "water", "98", ARRIVED, corrects=1)
    read(stay, "water", "110", at(1, 10))
    stay.collect_events()
    assess(stay, date(2025, 1, 10))
    water = [line for line in charged_lines(stay) if line.revenue_type == "water"]
    assert [line.quantity for line in water] == [Decimal(12)]


def test_assessing_an_earlier_day_does_not_credit_billed_consumption() -> None:
    """Once water is billed through the 12th, assessing through the 8th has nothing to do."""
    stay = open_stay()
    read(stay, "water", "110", at(1, 10))
    assess(stay, date(2025, 1, 12))
    stay.collect_events()
    assert assess(stay, date(2025, 1, 8), when=at(1, 12, 21)) is None
    assert stay.collect_events() == []


def test_assess_refuses_a_day_before_the_arrival() -> None:
    """Charges are assessed from the arrival day on: ``through`` the day before is refused."""
    stay = open_stay()
    with pytest.raises(InvalidPeriod) as error:
        assess(stay, date(2025, 1, 5), when=ARRIVED)
    assert refused(error) == ("invalid_period", "through")
    assert stay.collect_events() == []


# --- charges: stay limit ----------------------------------------------------------------


def test_charges_up_to_the_allowed_day_raise_no_flag() -> None:
    """Charging through 5 April, the 90th day, does not flag the stay."""
    stay = open_stay()
    assess(stay, date(2025, 4, 5))
    assert [type(e) for e in stay.collect_events()] == [Stay.ChargesAssessed]
    assert not stay.flagged


def test_charges_past_the_allowed_days_flag_the_stay() -> None:
    """Charging 6 and 7 April, past the 90 days allowed, flags the stay before the charges,
    which are still assessed."""
    stay = open_stay()
    assess(stay, date(2025, 4, 5))
    stay.collect_events()
    head = stay.head_hash
    assess(stay, date(2025, 4, 7), when=at(4, 7, 18))
    actual = stay.collect_events()
    expected = Stay.LimitExceeded(
        **after(head),
        originator_id=STAY_ID,
        originator_version=3,
        timestamp=at(4, 7, 18),
        first_day=date(2025, 4, 6),
        allowed_through=date(2025, 4, 5),
        actor="cashier",
    )
    assert [Stay.LimitExceeded, Stay.ChargesAssessed] == [type(e) for e in actual]
    assert expected == actual[0]
    assert isinstance(actual[1], Stay.ChargesAssessed)
    assert [pitch(date(2025, 4, 6), date(2025, 4, 7), "3.00", 600)] == list(actual[1].lines)
    assert stay.flagged


def test_the_flag_names_the_first_day_past_the_limit() -> None:
    """Charging 6 January to 10 April at once flags the stay from 6 April."""
    stay = open_stay()
    assess(stay, date(2025, 4, 10))
    flags = [e for e in stay.collect_events() if isinstance(e, Stay.LimitExceeded)]
    assert [(f.first_day, f.allowed_through) for f in flags] == [
        (date(2025, 4, 6), date(2025, 4, 5))
    ]


def test_a_flagged_stay_is_flagged_once() -> None:
    """Further charges on a flagged stay do not raise the flag again."""
    stay = open_stay()
    assess(stay, date(2025, 4, 7))
    stay.collect_events()
    assess(stay, date(2025, 4, 10))
    assert [type(e) for e in stay.collect_events()] == [Stay.ChargesAssessed]


def test_an_extended_stay_is_not_flagged() -> None:
    """With an extension to 30 June, charges through 10 April raise no flag."""
    stay = open_stay()
    stay.extend(reason="school", evidence_ref="CERT", until=date(2025, 6, 30), actor="m", at=ASKED)
    stay.collect_events()
    assess(stay, date(2025, 4, 10))
    assert [type(e) for e in stay.collect_events()] == [Stay.ChargesAssessed]


def test_an_extension_clears_the_flag_until_its_end() -> None:
    """An extension clears the flag; charging past the extension's end flags the stay again."""
    stay = open_stay()
    assess(stay, date(2025, 4, 7))
    stay.extend(
        reason="hospitalisation", evidence_ref="CHU", until=date(2025, 6, 30), actor="m", at=ASKED
    )
    assert not stay.flagged
    stay.collect_events()
    assess(stay, date(2025, 7, 2))
    flags = [e for e in stay.collect_events() if isinstance(e, Stay.LimitExceeded)]
    assert [(f.first_day, f.allowed_through) for f in flags] == [
        (date(2025, 7, 1), date(2025, 6, 30))
    ]


def test_the_allowed_days_follow_the_aire_rules() -> None:
    """With a 30-day maximum, the 31st day (5 February) flags the stay."""
    stay = open_stay(max_consecutive_days=30)
    assess(stay, date(2025, 2, 5))
    flags = [e for e in stay.collect_events() if isinstance(e, Stay.LimitExceeded)]
    assert [f.first_day for f in flags] == [date(2025, 2, 5)]


# --- departure --------------------------------------------------------------------------


def test_depart() -> None:
    """Departure records the time, the exit inspection and the closing indexes as readings."""
    stay = open_stay()
    read(stay, "water", "101", at(1, 8))
    stay.collect_events()
    head = stay.head_hash
    stay.depart(
        departed_at=at(1, 9),
        exit_inspection_ref="EDL-S-1",
        water_index=Decimal("103"),
        electricity_index=Decimal("2010"),
        actor="cashier",
        at=at(1, 9, 10),
    )
    expected = [
        Stay.Departed(
            **after(head),
            originator_id=STAY_ID,
            originator_version=3,
            timestamp=at(1, 9, 10),
            departed_at=at(1, 9),
            exit_inspection_ref="EDL-S-1",
            closing_readings=(
                MeterReading(4, "water", Decimal("103"), at(1, 9)),
                MeterReading(5, "electricity", Decimal("2010"), at(1, 9)),
            ),
            actor="cashier",
        )
    ]
    assert expected == stay.collect_events()
    assert (stay.is_open, stay.end_day) == (False, date(2025, 1, 9))


def test_depart_refuses_a_closed_stay() -> None:
    """A household leaves once."""
    stay = open_stay()
    kwargs: dict[str, object] = dict(
        departed_at=at(1, 9),
        exit_inspection_ref="EDL-S-1",
        water_index=Decimal("103"),
        electricity_index=Decimal("2010"),
        actor="cashier",
        at=at(1, 9),
    )
    stay.depart(**kwargs)  # type: ignore[arg-type]
    stay.collect_events()
    with pytest.raises(StayClosed) as error:
        stay.depart(**kwargs)  # type: ignore[arg-type]
    assert refused(error) == ("stay_closed", None)
    assert stay.collect_events() == []


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"exit_inspection_ref": " "}, InvalidValue, "exit_inspection_ref"),
        ({"departed_at": datetime(2025, 1, 9, 9, 0)}, InvalidValue, "departed_at"),
        ({"departed_at": at(1, 9) + timedelta(minutes=6)}, InvalidPeriod, "departed_at"),
        ({"departed_at": ARRIVED - timedelta(hours=1)}, InvalidPeriod, "departed_at"),
        ({"departed_at": at(1, 7)}, InvalidPeriod, "departed_at"),  # before the reading
        ({"water_index": Decimal("101.5")}, MeterIndexDecreased, "water_index"),
        ({"electricity_index": Decimal("1999")}, MeterIndexDecreased, "electricity_index"),
        ({"electricity_index": 2010.0}, InvalidValue, "electricity_index"),
        ({"water_index": Decimal("Infinity")}, InvalidValue, "water_index"),
    ],
)
def test_depart_refuses(kwargs: dict[str, object], error: type[LedgerError], field: str) -> None:
    """Departure needs the exit inspection, an aware time after the arrival and the last
    reading and not in the future, and closing indexes not below the last ones."""
    stay = open_stay()
    read(stay, "water", "102", at(1, 8))
    stay.collect_events()
    values: dict[str, object] = dict(
        departed_at=at(1, 9),
        exit_inspection_ref="EDL-S-1",
        water_index=Decimal("103"),
        electricity_index=Decimal("2010"),
    )
    values.update(kwargs)
    with pytest.raises(error) as raised:
        stay.depart(**values, actor="cashier", at=at(1, 9))  # type: ignore[arg-type]
    assert refused(raised) == (error.code, field)
    assert stay.collect_events() == []
    assert stay.is_open
