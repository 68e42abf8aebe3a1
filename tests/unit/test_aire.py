"""Aire and Collectivite: given past events, run a command, check the new events or the error.

No database: aggregates are built in memory, and ``collect_events()`` hands back what a
command added (and empties the list, so the next command is seen alone).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic

from hacienda_ledger.aggregates.aire import Aire, Closure
from hacienda_ledger.aggregates.aire_values import SealedPlaceDays
from hacienda_ledger.aggregates.collectivite import Collectivite, Contact
from hacienda_ledger.aggregates.errors import (
    AlreadyExists,
    ClosureTooLong,
    DerogationRequired,
    EmplacementNotFound,
    EmplacementUnavailable,
    InvalidAmount,
    InvalidPeriod,
    InvalidValue,
    LedgerError,
    MonthNotSealed,
    NoticeTooShort,
    StayNotFound,
    TariffRetroactive,
)
from hacienda_ledger.aggregates.values import Mode, Tariff
from tests.unit.chains import after

COLLECTIVITE_ID = UUID("7a1c1b52-0d7e-4b59-9f0b-2f5c0a6f1d01")
STAY_A = UUID("11111111-1111-4111-8111-111111111111")
STAY_B = UUID("22222222-2222-4222-8222-222222222222")
REGISTER_ID = UUID("33333333-3333-4333-8333-333333333333")
# Monday 6 January 2025, 09:00 in Paris.
MONDAY = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
TODAY = date(2025, 1, 6)


def at(month: int, day: int, hour: int = 8, year: int = 2025) -> datetime:
    return datetime(year, month, day, hour, 0, tzinfo=UTC)


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


def register_aire(**overrides: object) -> Aire:
    values: dict[str, object] = dict(
        code="49007-A",
        name="Aire d'accueil des Perrins",
        collectivite_id=COLLECTIVITE_ID,
        sector="Anjou",
        mode="regie",
        insee_code="49007",
        departement="49",
        latitude=Decimal("47.4784"),
        longitude=Decimal("-0.5632"),
        actor="manager",
        at=MONDAY,
    )
    values.update(overrides)
    return Aire.register(**values)  # type: ignore[arg-type]


def given_aire(emplacements: tuple[str, ...] = ("1", "2")) -> Aire:
    """An aire with its emplacements, past events already collected."""
    aire = register_aire()
    for number in emplacements:
        aire.add_emplacement(number=number, actor="manager", at=MONDAY)
    aire.collect_events()
    return aire


def refused(error: pytest.ExceptionInfo[LedgerError]) -> tuple[str, str | None]:
    return error.value.code, error.value.field


# --- Collectivite -----------------------------------------------------------------------


def test_register_collectivite() -> None:
    """Registering a collectivité records its code, name and SIREN under an id from its code."""
    coll = Collectivite.register(
        code="ALM", name="Angers Loire Métropole", siren="244900015", actor="admin", at=MONDAY
    )
    expected = [
        Collectivite.Registered(
            originator_id=Collectivite.id_for("ALM"),
            originator_version=1,
            timestamp=MONDAY,
            originator_topic=get_topic(Collectivite),
            code="ALM",
            name="Angers Loire Métropole",
            siren="244900015",
            contacts=(),
            actor="admin",
        )
    ]
    assert expected == coll.collect_events()
    assert (coll.code, coll.name, coll.siren) == ("ALM", "Angers Loire Métropole", "244900015")


def test_register_collectivite_with_its_contacts() -> None:
    """The professional contacts who receive the reports are recorded with the collectivité."""
    contact = Contact("Claire Martin", "chargée de mission", "c.martin@alm.fr", "0241000000")
    coll = Collectivite.register(
        code="ALM",
        name="Angers Loire Métropole",
        siren="244900015",
        contacts=[contact],  # type: ignore[arg-type]
        actor="admin",
        at=MONDAY,
    )
    (event,) = coll.collect_events()
    assert isinstance(event, Collectivite.Registered)
    assert (event.contacts, coll.contacts) == ((contact,), (contact,))


def test_collectivite_id_is_derived_from_its_code() -> None:
    """The same code always gives the same id (so a code registers once); another code does not."""
    assert Collectivite.id_for("ALM") == Collectivite.id_for("ALM")
    assert Collectivite.id_for("ALM") != Collectivite.id_for("CU-49")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"code": " "}, "code"),
        ({"name": ""}, "name"),
        ({"siren": "24490001"}, "siren"),
        ({"siren": "2449000150"}, "siren"),
        ({"siren": "24490001A"}, "siren"),
    ],
)
def test_register_collectivite_refuses(overrides: dict[str, str], field: str) -> None:
    """A collectivité needs a code, a name and a 9-digit SIREN."""
    values = dict(code="ALM", name="Angers Loire Métropole", siren="244900015")
    values.update(overrides)
    with pytest.raises(InvalidValue) as error:
        Collectivite.register(**values, actor="admin", at=MONDAY)
    assert refused(error) == ("invalid_value", field)


# --- registering an aire ----------------------------------------------------------------


def test_register_aire() -> None:
    """Registering an aire records who owns it, its mode and its place; the stay rules default
    to 90 days and 7 months of extensions."""
    aire = register_aire(mode=Mode.DSP, insee_code="2A004", departement="2A")
    expected = [
        Aire.Registered(
            **after(),
            originator_id=Aire.id_for("49007-A"),
            originator_version=1,
            timestamp=MONDAY,
            originator_topic=get_topic(Aire),
            code="49007-A",
            name="Aire d'accueil des Perrins",
            collectivite_id=COLLECTIVITE_ID,
            sector="Anjou",
            mode="dsp",
            insee_code="2A004",
            departement="2A",
            latitude=Decimal("47.4784"),
            longitude=Decimal("-0.5632"),
            actor="manager",
            in_service_from=TODAY,  # the day it is recorded, by default (v3)
        )
    ]
    assert expected == aire.collect_events()
    assert (aire.mode, aire.max_consecutive_days, aire.extension_cap_months) == (Mode.DSP, 90, 7)
    assert (aire.emplacements, aire.closures, aire.tariffs, aire.occupants) == ({}, (), (), {})


def test_aire_id_is_derived_from_its_code() -> None:
    """Two registrations of one code give one id, so the second conflicts at the store."""
    assert register_aire().id == register_aire(name="Autre nom").id == Aire.id_for("49007-A")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"code": "  "}, "code"),
        ({"name": ""}, "name"),
        ({"mode": "concession"}, "mode"),
        ({"insee_code": "4900"}, "insee_code"),
        ({"insee_code": "490071"}, "insee_code"),
        ({"insee_code": "49A07"}, "insee_code"),
        ({"latitude": Decimal("90.0001")}, "latitude"),
        ({"latitude": Decimal("-91")}, "latitude"),
        ({"longitude": Decimal("180.5")}, "longitude"),
        ({"longitude": Decimal("-181")}, "longitude"),
    ],
)
def test_register_aire_refuses(overrides: dict[str, object], field: str) -> None:
    """An aire needs a code, a name, a known mode, a 5-character INSEE code and a real place."""
    with pytest.raises(InvalidValue) as error:
        register_aire(**overrides)
    assert refused(error) == ("invalid_value", field)


# --- emplacements -----------------------------------------------------------------------


def test_add_emplacement() -> None:
    """An emplacement has 2 places by default; its number is trimmed."""
    aire = given_aire(emplacements=())
    head = aire.head_hash
    aire.add_emplacement(number=" 12 ", surface_m2=Decimal("150"), actor="manager", at=MONDAY)
    expected = [
        Aire.EmplacementAdded(
            **after(head),
            originator_id=aire.id,
            originator_version=2,
            timestamp=MONDAY,
            number="12",
            places=2,
            surface_m2=Decimal("150"),
            in_service_from=TODAY,  # the day it is recorded, by default (v2)
            actor="manager",
        )
    ]
    assert expected == aire.collect_events()
    assert aire.capacity_places == 2


def test_an_emplacement_may_have_entered_service_before_it_is_recorded() -> None:
    """An aire's history: recorded in March, in service since 1 January; an arrival on a
    day before an emplacement entered service is refused."""
    aire = register_aire(in_service_from=date(2025, 1, 1))
    aire.collect_events()
    aire.add_emplacement(number="1", in_service_from=date(2025, 1, 1), actor="m", at=at(3, 10))
    aire.add_emplacement(number="2", actor="m", at=at(3, 10))
    (first, second) = aire.collect_events()
    assert (first.in_service_from, second.in_service_from) == (date(2025, 1, 1), date(2025, 3, 10))
    aire.admit(
        stay_id=STAY_A, emplacement="1", arrival_day=date(2025, 2, 1), actor="c", at=at(3, 10)
    )
    with pytest.raises(EmplacementUnavailable) as error:
        aire.admit(
            stay_id=STAY_B, emplacement="2", arrival_day=date(2025, 2, 1), actor="c", at=at(3, 10)
        )
    assert refused(error) == ("emplacement_unavailable", "emplacement")


def test_an_aire_may_have_entered_service_before_it_is_recorded() -> None:
    """An aire recorded on 6 January in service since 1 December: its emplacements may be
    in service from then on, never before."""
    aire = register_aire(in_service_from=date(2024, 12, 1))
    (registered,) = aire.collect_events()
    assert (registered.in_service_from, aire.in_service_from) == ((date(2024, 12, 1),) * 2)
    aire.add_emplacement(number="1", in_service_from=date(2024, 12, 1), actor="m", at=MONDAY)
    with pytest.raises(InvalidPeriod) as error:
        aire.add_emplacement(number="2", in_service_from=date(2024, 11, 30), actor="m", at=MONDAY)
    assert refused(error) == ("invalid_period", "in_service_from")
    assert [e.number for e in aire.collect_events()] == ["1"]


def test_an_emplacement_of_an_aire_not_yet_in_service_enters_service_with_it() -> None:
    """An aire that opens on 1 March, its emplacements recorded in January without a day:
    they enter service on 1 March, not on the day they were recorded."""
    aire = register_aire(in_service_from=date(2025, 3, 1))
    aire.add_emplacement(number="1", actor="m", at=MONDAY)
    assert aire.emplacements["1"].in_service_from == date(2025, 3, 1)
    assert not aire.emplacements["1"].in_service_on(date(2025, 2, 28))


def test_capacity_counts_every_place() -> None:
    """The aire's capacity is the sum of its emplacements' places."""
    aire = given_aire(emplacements=("1",))
    aire.add_emplacement(number="2", places=3, actor="manager", at=MONDAY)
    assert aire.capacity_places == 5


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"number": "  "}, "number"),
        ({"number": "9", "places": 0}, "places"),
        ({"number": "9", "places": 11}, "places"),
        ({"number": "9", "places": True}, "places"),
        ({"number": "9", "surface_m2": Decimal(0)}, "surface_m2"),
    ],
)
def test_add_emplacement_refuses(kwargs: dict[str, object], field: str) -> None:
    """A new emplacement has a fresh number, 1 to 10 places and a positive surface."""
    aire = given_aire(emplacements=("1",))
    with pytest.raises(InvalidValue) as error:
        aire.add_emplacement(**kwargs, actor="manager", at=MONDAY)  # type: ignore[arg-type]
    assert refused(error) == ("invalid_value", field)
    assert aire.collect_events() == []


def test_add_emplacement_refuses_a_number_taken() -> None:
    """An emplacement number is used once on an aire (after trimming)."""
    aire = given_aire(emplacements=("1",))
    with pytest.raises(AlreadyExists) as error:
        aire.add_emplacement(number=" 1", actor="manager", at=MONDAY)
    assert refused(error) == ("already_exists", "number")
    assert aire.collect_events() == []


def test_put_out_of_service() -> None:
    """An emplacement goes out of service from a day, with its reason."""
    aire = given_aire()
    head = aire.head_hash
    aire.put_out_of_service(
        number="1", start=date(2025, 1, 10), reason="dégât des eaux", actor="manager", at=MONDAY
    )
    expected = [
        Aire.EmplacementOutOfService(
            **after(head),
            originator_id=aire.id,
            originator_version=4,
            timestamp=MONDAY,
            number="1",
            start=date(2025, 1, 10),
            reason="dégât des eaux",
            actor="manager",
        )
    ]
    assert expected == aire.collect_events()
    slot = aire.emplacement("1")
    assert (slot.in_service_on(date(2025, 1, 9)), slot.in_service_on(date(2025, 1, 10))) == (
        True,
        False,
    )


def test_put_back_in_service() -> None:
    """An emplacement out of service comes back on a later day (that day is in service)."""
    aire = given_aire()
    aire.put_out_of_service(
        number="1", start=date(2025, 1, 10), reason="travaux", actor="manager", at=MONDAY
    )
    aire.collect_events()
    head = aire.head_hash
    aire.put_back_in_service(number="1", start=date(2025, 1, 20), actor="manager", at=at(1, 20))
    expected = [
        Aire.EmplacementBackInService(
            **after(head),
            originator_id=aire.id,
            originator_version=5,
            timestamp=at(1, 20),
            number="1",
            start=date(2025, 1, 20),
            actor="manager",
        )
    ]
    assert expected == aire.collect_events()
    slot = aire.emplacement("1")
    assert [slot.in_service_on(date(2025, 1, d)) for d in (9, 10, 19, 20)] == [
        True,
        False,
        False,
        True,
    ]


def test_out_of_service_again_after_coming_back() -> None:
    """An emplacement back in service can go out again from the day it came back."""
    aire = given_aire()
    aire.put_out_of_service(
        number="1", start=date(2025, 1, 10), reason="travaux", actor="manager", at=MONDAY
    )
    aire.put_back_in_service(number="1", start=date(2025, 1, 20), actor="manager", at=MONDAY)
    aire.collect_events()
    aire.put_out_of_service(
        number="1", start=date(2025, 1, 20), reason="fuite", actor="manager", at=MONDAY
    )
    assert [type(e) for e in aire.collect_events()] == [Aire.EmplacementOutOfService]
    assert aire.emplacement("1").in_service_on(date(2025, 1, 20)) is False


def test_put_out_of_service_refuses_an_unknown_emplacement() -> None:
    """An emplacement the aire does not have is not found."""
    aire = given_aire()
    with pytest.raises(EmplacementNotFound) as error:
        aire.put_out_of_service(
            number="9", start=date(2025, 1, 10), reason="travaux", actor="manager", at=MONDAY
        )
    assert refused(error) == ("emplacement_not_found", "emplacement")
    assert aire.collect_events() == []


def test_put_out_of_service_refuses_an_emplacement_already_out() -> None:
    """An emplacement cannot go out of service twice without coming back."""
    aire = given_aire()
    aire.put_out_of_service(
        number="1", start=date(2025, 1, 10), reason="travaux", actor="manager", at=MONDAY
    )
    aire.collect_events()
    with pytest.raises(EmplacementUnavailable) as error:
        aire.put_out_of_service(
            number="1", start=date(2025, 1, 12), reason="travaux", actor="manager", at=MONDAY
        )
    assert refused(error) == ("emplacement_unavailable", "number")
    assert aire.collect_events() == []


def test_put_out_of_service_refuses_a_start_before_it_came_back() -> None:
    """A new out-of-service period cannot start before the last one ended."""
    aire = given_aire()
    aire.put_out_of_service(
        number="1", start=date(2025, 1, 10), reason="travaux", actor="manager", at=MONDAY
    )
    aire.put_back_in_service(number="1", start=date(2025, 1, 20), actor="manager", at=MONDAY)
    aire.collect_events()
    with pytest.raises(InvalidPeriod) as error:
        aire.put_out_of_service(
            number="1", start=date(2025, 1, 19), reason="travaux", actor="manager", at=MONDAY
        )
    assert refused(error) == ("invalid_period", "start")
    assert aire.collect_events() == []


def test_put_out_of_service_refuses_a_blank_reason() -> None:
    """Taking an emplacement out of service says why."""
    aire = given_aire()
    with pytest.raises(InvalidValue) as error:
        aire.put_out_of_service(
            number="1", start=date(2025, 1, 10), reason=" ", actor="manager", at=MONDAY
        )
    assert refused(error) == ("invalid_value", "reason")
    assert aire.collect_events() == []


def test_put_back_in_service_refuses_an_emplacement_in_service() -> None:
    """Only an emplacement out of service can come back."""
    aire = given_aire()
    with pytest.raises(EmplacementUnavailable) as error:
        aire.put_back_in_service(number="1", start=date(2025, 1, 20), actor="manager", at=MONDAY)
    assert refused(error) == ("emplacement_unavailable", "number")
    assert aire.collect_events() == []


def test_put_back_in_service_refuses_an_unknown_emplacement() -> None:
    """An emplacement the aire does not have is not found."""
    aire = given_aire()
    with pytest.raises(EmplacementNotFound) as error:
        aire.put_back_in_service(number="9", start=date(2025, 1, 20), actor="manager", at=MONDAY)
    assert refused(error) == ("emplacement_not_found", "emplacement")


@pytest.mark.parametrize("back", [date(2025, 1, 10), date(2025, 1, 9)])
def test_put_back_in_service_refuses_a_day_not_after_it_went_out(back: date) -> None:
    """Coming back is on a day after going out (the same day is not a period at all)."""
    aire = given_aire()
    aire.put_out_of_service(
        number="1", start=date(2025, 1, 10), reason="travaux", actor="manager", at=MONDAY
    )
    aire.collect_events()
    with pytest.raises(InvalidPeriod) as error:
        aire.put_back_in_service(number="1", start=back, actor="manager", at=MONDAY)
    assert refused(error) == ("invalid_period", "start")
    assert aire.collect_events() == []


# --- closures ---------------------------------------------------------------------------


def test_schedule_a_short_closure_two_months_ahead() -> None:
    """A closure of up to one month, announced two months ahead, needs no derogation."""
    aire = given_aire()
    head = aire.head_hash
    aire.schedule_closure(
        start=date(2025, 3, 6), end=date(2025, 4, 5), reason="travaux", actor="manager", at=MONDAY
    )
    expected = [
        Aire.ClosureScheduled(
            **after(head),
            originator_id=aire.id,
            originator_version=4,
            timestamp=MONDAY,
            closure=Closure(
                start=date(2025, 3, 6),
                end=date(2025, 4, 5),
                reason="travaux",
                prefect_derogation_ref=None,
                notified_on=TODAY,
                urgent=False,
            ),
            actor="manager",
        )
    ]
    assert expected == aire.collect_events()
    assert [aire.closed_on(date(2025, 3, d)) for d in (5, 6)] == [False, True]
    assert [aire.closed_on(date(2025, 4, d)) for d in (5, 6)] == [True, False]


def test_schedule_a_long_closure_with_derogation_three_months_ahead() -> None:
    """Past one month a closure names the préfet's derogation and is announced 3 months ahead;
    it may last up to the day before the same date six months later."""
    aire = given_aire()
    aire.schedule_closure(
        start=date(2025, 4, 6),
        end=date(2025, 10, 5),
        reason="réhabilitation",
        prefect_derogation_ref=" AP-2025-12 ",
        actor="manager",
        at=MONDAY,
    )
    (event,) = aire.collect_events()
    expected = Closure(
        start=date(2025, 4, 6),
        end=date(2025, 10, 5),
        reason="réhabilitation",
        prefect_derogation_ref="AP-2025-12",
        notified_on=TODAY,
        urgent=False,
    )
    assert isinstance(event, Aire.ClosureScheduled)
    assert expected == event.closure


def test_schedule_an_urgent_closure_without_notice() -> None:
    """An urgent closure (flood, pollution) may start tomorrow; it is recorded as urgent."""
    aire = given_aire()
    aire.schedule_closure(
        start=date(2025, 1, 7),
        end=date(2025, 1, 20),
        reason="inondation",
        urgent=True,
        actor="manager",
        at=MONDAY,
    )
    (event,) = aire.collect_events()
    expected = Closure(date(2025, 1, 7), date(2025, 1, 20), "inondation", None, TODAY, True)
    assert isinstance(event, Aire.ClosureScheduled)
    assert expected == event.closure


def test_closure_notice_counts_from_the_paris_day() -> None:
    """Notice runs from the Europe/Paris day of the request: 23:30 UTC on 5 January is already
    6 January in Paris, so a closure from 6 March has its two months."""
    aire = given_aire()
    late = datetime(2025, 1, 5, 23, 30, tzinfo=UTC)
    aire.schedule_closure(
        start=date(2025, 3, 6), end=date(2025, 3, 10), reason="travaux", actor="manager", at=late
    )
    (event,) = aire.collect_events()
    assert isinstance(event, Aire.ClosureScheduled)
    assert event.closure.notified_on == TODAY


def test_schedule_closure_refuses_six_months_or_more() -> None:
    """A closure reaching the same date six months later is too long, derogation or not."""
    aire = given_aire()
    with pytest.raises(ClosureTooLong) as error:
        aire.schedule_closure(
            start=date(2025, 4, 6),
            end=date(2025, 10, 6),
            reason="réhabilitation",
            prefect_derogation_ref="AP-2025-12",
            actor="manager",
            at=MONDAY,
        )
    assert refused(error) == ("closure_too_long", "end")
    assert aire.collect_events() == []


def test_schedule_closure_refuses_over_a_month_without_derogation() -> None:
    """A closure reaching the same date one month later needs the préfet's derogation."""
    aire = given_aire()
    with pytest.raises(DerogationRequired) as error:
        aire.schedule_closure(
            start=date(2025, 4, 6),
            end=date(2025, 5, 6),
            reason="travaux",
            prefect_derogation_ref="  ",
            actor="manager",
            at=MONDAY,
        )
    assert refused(error) == ("prefect_derogation_required", "prefect_derogation_ref")
    assert aire.collect_events() == []


def test_schedule_closure_refuses_less_than_two_months_notice() -> None:
    """Occupants are told at least two months ahead: 5 March is one day short on 6 January."""
    aire = given_aire()
    with pytest.raises(NoticeTooShort) as error:
        aire.schedule_closure(
            start=date(2025, 3, 5),
            end=date(2025, 3, 10),
            reason="travaux",
            actor="manager",
            at=MONDAY,
        )
    assert refused(error) == ("closure_notice_too_short", "start")
    assert aire.collect_events() == []


def test_schedule_closure_refuses_less_than_three_months_notice_with_derogation() -> None:
    """With a derogation the préfet is told three months ahead: 5 April is one day short."""
    aire = given_aire()
    with pytest.raises(NoticeTooShort) as error:
        aire.schedule_closure(
            start=date(2025, 4, 5),
            end=date(2025, 6, 30),
            reason="réhabilitation",
            prefect_derogation_ref="AP-2025-12",
            actor="manager",
            at=MONDAY,
        )
    assert refused(error) == ("closure_notice_too_short", "start")
    assert aire.collect_events() == []


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2025, 3, 20), date(2025, 3, 25)),  # starts on the last day of the other
        (date(2025, 3, 1), date(2025, 3, 10)),  # ends on its first day
        (date(2025, 3, 12), date(2025, 3, 14)),  # inside
        (date(2025, 3, 8), date(2025, 3, 22)),  # around
    ],
)
def test_schedule_closure_refuses_an_overlap(start: date, end: date) -> None:
    """Closures never overlap, not even by one day."""
    aire = given_aire()
    aire.schedule_closure(
        start=date(2025, 3, 10), end=date(2025, 3, 20), reason="travaux", actor="manager", at=MONDAY
    )
    aire.collect_events()
    with pytest.raises(InvalidPeriod) as error:
        aire.schedule_closure(
            start=start, end=end, reason="curage", urgent=True, actor="manager", at=MONDAY
        )
    assert refused(error) == ("invalid_period", "start")
    assert aire.collect_events() == []


def test_schedule_closure_accepts_the_day_after_another() -> None:
    """A closure may start the day after another one ends."""
    aire = given_aire()
    aire.schedule_closure(
        start=date(2025, 3, 10), end=date(2025, 3, 20), reason="travaux", actor="manager", at=MONDAY
    )
    aire.schedule_closure(
        start=date(2025, 3, 21), end=date(2025, 3, 25), reason="curage", actor="manager", at=MONDAY
    )
    assert [c.start for c in aire.closures] == [date(2025, 3, 10), date(2025, 3, 21)]


def test_schedule_closure_refuses_an_end_before_its_start() -> None:
    """A closure ends on or after its first day."""
    aire = given_aire()
    with pytest.raises(InvalidPeriod) as error:
        aire.schedule_closure(
            start=date(2025, 3, 10), end=date(2025, 3, 9), reason="x", actor="manager", at=MONDAY
        )
    assert refused(error) == ("invalid_period", "end")
    assert aire.collect_events() == []


def test_schedule_closure_refuses_a_blank_reason() -> None:
    """A closure says why the aire closes."""
    aire = given_aire()
    with pytest.raises(InvalidValue) as error:
        aire.schedule_closure(
            start=date(2025, 3, 10), end=date(2025, 3, 12), reason="", actor="manager", at=MONDAY
        )
    assert refused(error) == ("invalid_value", "reason")
    assert aire.collect_events() == []


# --- tariffs and stay rules -------------------------------------------------------------


def test_adopt_tariff() -> None:
    """A tariff version is recorded whole; versions are kept in effective-date order."""
    aire = given_aire()
    head = aire.head_hash
    later, earlier = tariff(date(2025, 7, 1)), tariff(date(2025, 1, 1))
    aire.adopt_tariff(later, actor="manager", at=MONDAY)
    aire.adopt_tariff(earlier, actor="manager", at=MONDAY)
    actual = aire.collect_events()
    expected = [
        Aire.TariffAdopted(
            **after(head),
            originator_id=aire.id,
            originator_version=4,
            timestamp=MONDAY,
            tariff=later,
            actor="manager",
        ),
        Aire.TariffAdopted(
            **after(actual[0].hash),
            originator_id=aire.id,
            originator_version=5,
            timestamp=MONDAY,
            tariff=earlier,
            actor="manager",
        ),
    ]
    assert expected == actual
    assert aire.tariffs == (earlier, later)
    assert [aire.tariff_on(date(2024, 12, 31)), aire.tariff_on(date(2025, 7, 1))] == [None, later]


def test_adopt_tariff_refuses_a_malformed_tariff() -> None:
    """A tariff that does not validate is not adopted."""
    aire = given_aire()
    with pytest.raises(InvalidAmount) as error:
        aire.adopt_tariff(tariff(deposit_cents=-1), actor="manager", at=MONDAY)
    assert refused(error) == ("invalid_amount", "deposit_cents")
    assert aire.collect_events() == []


def test_a_tariff_is_not_retroactive_once_stays_have_days_since() -> None:
    """Given a stay on the aire, a tariff recorded on 3 February effective 2 January (the
    measured defect: January repriced at 10 €) is refused; one effective on the day it is
    recorded, or later, is adopted."""
    aire = given_aire()
    aire.adopt_tariff(tariff(), actor="manager", at=MONDAY)
    aire.admit(stay_id=STAY_A, emplacement="1", arrival_day=TODAY, actor="c", at=MONDAY)
    aire.collect_events()
    with pytest.raises(TariffRetroactive) as error:
        aire.adopt_tariff(
            tariff(date(2025, 1, 2), pitch_fee_per_day_cents=1000), actor="manager", at=at(2, 3)
        )
    assert refused(error) == ("tariff_retroactive", "effective_from")
    assert aire.collect_events() == []
    aire.adopt_tariff(tariff(date(2025, 2, 3)), actor="manager", at=at(2, 3))
    aire.adopt_tariff(tariff(date(2025, 3, 1)), actor="manager", at=at(2, 3))
    assert len(aire.collect_events()) == 2


def test_a_tariff_is_not_retroactive_over_a_stay_that_has_left_since() -> None:
    """The stay left (its departure recorded 20 January): a tariff effective 10 January,
    recorded in February, would reprice its last days; one effective after it is fine."""
    aire = given_aire()
    aire.admit(stay_id=STAY_A, emplacement="1", arrival_day=TODAY, actor="c", at=MONDAY)
    aire.release(stay_id=STAY_A, actor="c", at=at(1, 20))
    aire.collect_events()
    with pytest.raises(TariffRetroactive):
        aire.adopt_tariff(tariff(date(2025, 1, 10)), actor="manager", at=at(2, 3))
    aire.adopt_tariff(tariff(date(2025, 1, 21)), actor="manager", at=at(2, 3))
    assert len(aire.collect_events()) == 1


def test_an_aires_history_may_be_recorded_before_its_stays() -> None:
    """No stay yet: tariffs since January are recorded in March (an operator moving its
    spreadsheets in)."""
    aire = given_aire()
    aire.adopt_tariff(tariff(date(2025, 1, 1)), actor="manager", at=at(3, 10))
    aire.adopt_tariff(tariff(date(2025, 2, 1)), actor="manager", at=at(3, 10))
    assert [t.effective_from for t in aire.tariffs] == [date(2025, 1, 1), date(2025, 2, 1)]


def test_adopt_tariff_refuses_a_second_version_on_one_date() -> None:
    """Versions are never edited: a second version taking effect on the same date is refused."""
    aire = given_aire()
    aire.adopt_tariff(tariff(), actor="manager", at=MONDAY)
    aire.collect_events()
    with pytest.raises(InvalidValue) as error:
        aire.adopt_tariff(
            tariff(pitch_fee_per_day_cents=350, deliberation_ref="DEL-2025-002"),
            actor="manager",
            at=MONDAY,
        )
    assert refused(error) == ("invalid_value", "effective_from")
    assert aire.collect_events() == []


def test_set_stay_rules() -> None:
    """The maximum stay and the extension cap are set per aire."""
    aire = given_aire()
    head = aire.head_hash
    aire.set_stay_rules(max_consecutive_days=92, extension_cap_months=6, actor="manager", at=MONDAY)
    expected = [
        Aire.StayRulesSet(
            **after(head),
            originator_id=aire.id,
            originator_version=4,
            timestamp=MONDAY,
            max_consecutive_days=92,
            extension_cap_months=6,
            actor="manager",
        )
    ]
    assert expected == aire.collect_events()
    assert (aire.max_consecutive_days, aire.extension_cap_months) == (92, 6)


@pytest.mark.parametrize(
    ("days", "months", "field"),
    [
        (0, 7, "max_consecutive_days"),
        (367, 7, "max_consecutive_days"),
        (90, -1, "extension_cap_months"),
        (90, 25, "extension_cap_months"),
    ],
)
def test_set_stay_rules_refuses(days: int, months: int, field: str) -> None:
    """A maximum stay is 1 to 366 days; the extension cap 0 to 24 months."""
    aire = given_aire()
    with pytest.raises(InvalidValue) as error:
        aire.set_stay_rules(
            max_consecutive_days=days, extension_cap_months=months, actor="manager", at=MONDAY
        )
    assert refused(error) == ("invalid_value", field)
    assert aire.collect_events() == []


# --- admitting and releasing stays ------------------------------------------------------


def test_admit_a_stay_on_a_free_emplacement() -> None:
    """A free emplacement in service on an open day takes the stay."""
    aire = given_aire()
    head = aire.head_hash
    aire.admit(stay_id=STAY_A, emplacement="1", arrival_day=TODAY, actor="cashier", at=MONDAY)
    expected = [
        Aire.StayAdmitted(
            **after(head),
            originator_id=aire.id,
            originator_version=4,
            timestamp=MONDAY,
            stay_id=STAY_A,
            emplacement="1",
            actor="cashier",
        )
    ]
    assert expected == aire.collect_events()
    assert aire.occupants == {"1": STAY_A}


def test_admit_refuses_an_unknown_emplacement() -> None:
    """A stay cannot be admitted on an emplacement the aire does not have."""
    aire = given_aire()
    with pytest.raises(EmplacementNotFound) as error:
        aire.admit(stay_id=STAY_A, emplacement="9", arrival_day=TODAY, actor="c", at=MONDAY)
    assert refused(error) == ("emplacement_not_found", "emplacement")
    assert aire.collect_events() == []


def test_admit_refuses_an_emplacement_out_of_service() -> None:
    """An emplacement out of service on the arrival day takes no stay."""
    aire = given_aire()
    aire.put_out_of_service(number="1", start=TODAY, reason="travaux", actor="m", at=MONDAY)
    aire.collect_events()
    with pytest.raises(EmplacementUnavailable) as error:
        aire.admit(stay_id=STAY_A, emplacement="1", arrival_day=TODAY, actor="c", at=MONDAY)
    assert refused(error) == ("emplacement_unavailable", "emplacement")
    assert aire.collect_events() == []


def test_admit_accepts_an_emplacement_back_in_service() -> None:
    """From the day an emplacement is back in service it takes stays again."""
    aire = given_aire()
    aire.put_out_of_service(number="1", start=date(2025, 1, 2), reason="x", actor="m", at=MONDAY)
    aire.put_back_in_service(number="1", start=TODAY, actor="m", at=MONDAY)
    aire.collect_events()
    aire.admit(stay_id=STAY_A, emplacement="1", arrival_day=TODAY, actor="c", at=MONDAY)
    assert [type(e) for e in aire.collect_events()] == [Aire.StayAdmitted]


def test_admit_refuses_a_day_the_aire_is_closed() -> None:
    """No stay is admitted on a day the aire is closed."""
    aire = given_aire()
    aire.schedule_closure(
        start=TODAY, end=date(2025, 1, 10), reason="pollution", urgent=True, actor="m", at=MONDAY
    )
    aire.collect_events()
    with pytest.raises(EmplacementUnavailable) as error:
        aire.admit(stay_id=STAY_A, emplacement="1", arrival_day=TODAY, actor="c", at=MONDAY)
    assert refused(error) == ("emplacement_unavailable", "arrived_at")
    assert aire.collect_events() == []


def test_admit_refuses_an_occupied_emplacement() -> None:
    """Two stays are never on one emplacement; the other emplacement is still free."""
    aire = given_aire()
    aire.admit(stay_id=STAY_A, emplacement="1", arrival_day=TODAY, actor="c", at=MONDAY)
    aire.collect_events()
    with pytest.raises(EmplacementUnavailable) as error:
        aire.admit(stay_id=STAY_B, emplacement="1", arrival_day=TODAY, actor="c", at=MONDAY)
    assert refused(error) == ("emplacement_unavailable", "emplacement")
    assert aire.collect_events() == []
    aire.admit(stay_id=STAY_B, emplacement="2", arrival_day=TODAY, actor="c", at=MONDAY)
    assert aire.occupants == {"1": STAY_A, "2": STAY_B}


def test_release_frees_the_emplacement() -> None:
    """A departed stay releases its emplacement, which takes the next stay."""
    aire = given_aire()
    aire.admit(stay_id=STAY_A, emplacement="1", arrival_day=TODAY, actor="c", at=MONDAY)
    aire.collect_events()
    head = aire.head_hash
    aire.release(stay_id=STAY_A, actor="c", at=at(1, 9))
    expected = [
        Aire.StayReleased(
            **after(head),
            originator_id=aire.id,
            originator_version=5,
            timestamp=at(1, 9),
            stay_id=STAY_A,
            emplacement="1",
            actor="c",
        )
    ]
    assert expected == aire.collect_events()
    aire.admit(
        stay_id=STAY_B, emplacement="1", arrival_day=date(2025, 1, 9), actor="c", at=at(1, 9)
    )
    assert aire.occupants == {"1": STAY_B}


def test_an_arrival_is_refused_on_a_day_its_emplacement_was_occupied() -> None:
    """Stay A occupied emplacement 1 from 6 January and left it on 20 January (the aire
    remembers it left last). On 25 January an arrival back-dated to 10 or 19 January on
    emplacement 1 is refused (two stays on one place, both paying the same days), naming
    the day; nothing is recorded. Back-dated to 20 January (A's departure day, the first
    day it no longer occupied it) it is admitted; emplacement 2, never occupied, takes an
    arrival back-dated to 10 January."""
    aire = given_aire()
    aire.admit(stay_id=STAY_A, emplacement="1", arrival_day=TODAY, actor="c", at=MONDAY)
    aire.release(stay_id=STAY_A, actor="c", at=at(1, 20))
    aire.collect_events()
    assert aire.last_stays == {"1": STAY_A}
    left_on = date(2025, 1, 20)  # what A's ``end_day`` gives: the handler reads it
    for day in (date(2025, 1, 10), date(2025, 1, 19)):
        with pytest.raises(EmplacementUnavailable) as error:
            aire.admit(
                stay_id=STAY_B,
                emplacement="1",
                arrival_day=day,
                actor="c",
                at=at(1, 25),
                left_on=left_on,
            )
        assert refused(error) == ("emplacement_unavailable", "emplacement")
        assert str(day) in error.value.detail and "2025-01-20" in error.value.detail
    assert aire.collect_events() == []
    assert aire.occupants == {}
    aire.admit(
        stay_id=STAY_B,
        emplacement="1",
        arrival_day=left_on,
        actor="c",
        at=at(1, 25),
        left_on=left_on,
    )
    other = UUID("44444444-4444-4444-8444-444444444444")
    aire.admit(
        stay_id=other, emplacement="2", arrival_day=date(2025, 1, 10), actor="c", at=at(1, 25)
    )
    assert aire.occupants == {"1": STAY_B, "2": other}
    assert len(aire.collect_events()) == 2


def test_release_refuses_a_stay_not_on_the_aire() -> None:
    """Releasing a stay the aire does not hold is refused."""
    aire = given_aire()
    with pytest.raises(StayNotFound) as error:
        aire.release(stay_id=STAY_A, actor="c", at=MONDAY)
    assert error.value.code == "stay_not_found"
    assert aire.collect_events() == []


def test_attach_register() -> None:
    """An aire knows the registers that collect its money."""
    aire = given_aire()
    head = aire.head_hash
    aire.attach_register(REGISTER_ID, actor="manager", at=MONDAY)
    expected = [
        Aire.RegisterAttached(
            **after(head),
            originator_id=aire.id,
            originator_version=4,
            timestamp=MONDAY,
            register_id=REGISTER_ID,
            actor="manager",
        )
    ]
    assert expected == aire.collect_events()
    assert aire.register_ids == (REGISTER_ID,)


def test_attach_register_refuses_a_register_already_attached() -> None:
    """A register is attached to an aire once."""
    aire = given_aire()
    aire.attach_register(REGISTER_ID, actor="manager", at=MONDAY)
    aire.collect_events()
    with pytest.raises(AlreadyExists) as error:
        aire.attach_register(REGISTER_ID, actor="manager", at=MONDAY)
    assert refused(error) == ("already_exists", "register_id")
    assert aire.collect_events() == []
    assert aire.register_ids == (REGISTER_ID,)


# --- unmet demand (issue 19) ----------------------------------------------------------------


def test_record_unmet_demand() -> None:
    """Given an aire, a family turned away today: one chained event with the day, the
    reason, caravans and people, nothing else; the aire's state is unchanged."""
    aire = given_aire()
    head = aire.head_hash
    aire.record_unmet_demand(
        day=TODAY, reason="full", caravans=2, people=7, actor="cashier", at=at(1, 6, 15)
    )
    (event,) = aire.collect_events()
    assert isinstance(event, Aire.UnmetDemandRecorded)
    assert (event.day, event.reason, event.caravans, event.people, event.actor) == (
        TODAY,
        "full",
        2,
        7,
        "cashier",
    )
    assert event.prev_hash == head and aire.head_hash == event.hash
    assert aire.occupants == {} and set(aire.emplacements) == {"1", "2"}


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"reason": "no free text here"}, ("invalid_value", "reason")),
        ({"caravans": 0}, ("invalid_value", "caravans")),
        ({"caravans": True}, ("invalid_value", "caravans")),
        ({"people": 201}, ("invalid_value", "people")),
        ({"day": date(2025, 1, 7)}, ("invalid_period", "day")),
        ({"day": date(2024, 12, 31)}, ("invalid_period", "day")),
    ],
)
def test_record_unmet_demand_refuses(overrides: dict[str, object], error: tuple[str, str]) -> None:
    """A reason outside the closed list, counts out of range, a day after today or before
    the aire entered service: refused, nothing recorded."""
    aire = given_aire()
    values: dict[str, object] = dict(day=TODAY, reason="closed", caravans=1, people=3)
    values.update(overrides)
    with pytest.raises(LedgerError) as raised:
        aire.record_unmet_demand(**values, actor="cashier", at=at(1, 6, 15))  # type: ignore[arg-type]
    assert refused(raised) == error
    assert aire.collect_events() == []


# --- régularisations ----------------------------------------------------------------------

JANUARY_SEALED = SealedPlaceDays(occupied=52, available=208)


def regularise(aire: Aire, month: str, place_days: int, sealed: SealedPlaceDays | None) -> None:
    aire.regularise(
        month=month,
        sealed=sealed,
        place_days=place_days,
        amount_cents=0,
        reason="oubli",
        actor="manager",
        at=at(3, 3),
    )


def test_a_regularisation_keeps_the_month_within_its_sealed_place_days() -> None:
    """Given January sealed at 52 of 208 place-days, regularised +100, and February
    regularised −40 (another month, not counted): +57 is refused (209), −153 too (−1), each
    recording nothing; +56 fills January (208)."""
    aire = given_aire()
    regularise(aire, "2025-01", 100, JANUARY_SEALED)
    regularise(aire, "2025-02", -40, SealedPlaceDays(occupied=40, available=224))
    aire.collect_events()
    for place_days in (57, -153):
        with pytest.raises(InvalidValue) as error:
            regularise(aire, "2025-01", place_days, JANUARY_SEALED)
        assert refused(error) == ("invalid_value", "place_days")
        assert aire.collect_events() == []
    regularise(aire, "2025-01", 56, JANUARY_SEALED)
    (done,) = aire.collect_events()
    assert (done.month, done.place_days) == ("2025-01", 56)  # type: ignore[attr-defined]


def test_a_month_without_a_seal_of_its_own_is_not_regularised() -> None:
    """No seal of the month (``sealed`` None): month_not_sealed, nothing recorded."""
    aire = given_aire()
    with pytest.raises(MonthNotSealed) as error:
        regularise(aire, "2024-12", 2, None)
    assert refused(error) == ("month_not_sealed", "month")
    assert aire.collect_events() == []
