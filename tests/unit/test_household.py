"""The Household aggregate, given -> when -> then; and no field, anywhere in the domain or
the stored shapes, for ethnicity, community, livret de circulation or commune de
rattachement."""

from __future__ import annotations

import dataclasses
import inspect
import re
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import CanMutateAggregate

from hacienda_ledger.aggregates import household as household_module
from hacienda_ledger.aggregates.errors import InvalidValue, PersonalDataErased
from hacienda_ledger.aggregates.household import (
    ERASED,
    ContactDetails,
    Fleet,
    Household,
    Member,
    Profile,
)
from hacienda_ledger.api import schemas

AT = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
AIRE = UUID(int=1)
FORBIDDEN = re.compile(
    r"ethni|race|origin|communaut|community|livret|circulation|rattachement|nationalit|relig",
    re.IGNORECASE,
)


def registered(profile: Profile | None = None) -> Household:
    return Household.register(
        household_id=uuid4(),
        aire_id=AIRE,
        profile=profile or Profile("Famille Martin", (Member("Paul Martin", 1980),)),
        actor="m",
        at=AT,
    )


def test_registered_household_holds_its_profile_and_its_aire() -> None:
    h = registered()
    assert (h.aire_id, h.display_name, h.erased, h.documents, h.stays) == (
        AIRE,
        "Famille Martin",
        False,
        (),
        (),
    )
    assert h.aire_ids == frozenset({AIRE})
    assert type(h.pending_events[0]).personal_fields == ("profile",)


@pytest.mark.parametrize(
    ("profile", "field"),
    [
        (Profile(" "), "display_name"),
        (Profile("F", (Member(""),)), "members.0.name"),
        (Profile("F", (Member("A", birth_year=1899),)), "members.0.birth_year"),
        (Profile("F", (Member("A", birth_year=2026),)), "members.0.birth_year"),
        (Profile("F", (Member("A", age_band="vieux"),)), "members.0.age_band"),
        (Profile("F", (Member("A", relationship="cousin"),)), "members.0.relationship"),
        (Profile("F", caravans=Fleet(-1)), "caravans.count"),
        (Profile("F", vehicles=Fleet(1, ("A", "B"))), "vehicles.plates"),
        (Profile("F", vehicles=Fleet(1, (" ",))), "vehicles.plates"),
    ],
)
def test_an_invalid_profile_is_refused_on_its_field(profile: Profile, field: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        registered(profile)
    assert caught.value.field == field


def test_amending_records_the_new_profile_once() -> None:
    h = registered()
    h.collect_events()
    new = Profile("Famille Martin", contact=ContactDetails(phone="0600000000"))
    assert h.amend(new, actor="m", at=AT) is True
    assert h.amend(new, actor="m", at=AT) is False
    (event,) = h.collect_events()
    assert isinstance(event, Household.Amended) and event.profile == new
    assert h.profile == new


def test_documents_are_numbered_and_belong_to_its_stays() -> None:
    h = registered()
    stay = uuid4()
    h.link_stay(stay_id=stay, aire_id=UUID(int=2), actor="c", at=AT)
    assert h.aire_ids == frozenset({AIRE, UUID(int=2)})
    first = h.record_document(
        kind="identity_seen", on=date(2025, 3, 3), reference="", stay_id=None, actor="c", at=AT
    )
    second = h.record_document(
        kind="occupation_agreement", on=date(2025, 3, 1), reference="COT", stay_id=stay,
        actor="c", at=AT,
    )  # fmt: skip
    assert (first.seq, second.seq, second.stay_id) == (1, 2, stay)
    with pytest.raises(InvalidValue, match="kind"):
        h.record_document(
            kind="passport_copy", on=date(2025, 3, 3), reference="", stay_id=None, actor="c", at=AT
        )
    with pytest.raises(InvalidValue):
        h.record_document(
            kind="identity_seen",
            on=date(2025, 3, 4),
            reference="",
            stay_id=None,
            actor="c",
            at=AT,
        )
    with pytest.raises(InvalidValue, match="stay"):
        h.record_document(
            kind="identity_seen", on=date(2025, 3, 3), reference="", stay_id=uuid4(), actor="c",
            at=AT,
        )  # fmt: skip


def test_erasure_wipes_every_personal_field_and_refuses_personal_writes() -> None:
    h = registered()
    h.record_document(
        kind="identity_seen", on=date(2025, 3, 3), reference="CNI", stay_id=None, actor="c", at=AT
    )
    later = AT + timedelta(days=1)
    assert h.record_erasure(reason="request", actor="m", at=later) is True
    assert h.record_erasure(reason="request", actor="m", at=later) is False
    assert h.erased and h.profile is ERASED and h.display_name is ERASED
    assert [(d.kind, d.reference) for d in h.documents] == [("identity_seen", ERASED)]
    assert h.erasure == (later, "request", "m")
    with pytest.raises(PersonalDataErased):
        h.amend(Profile("X"), actor="m", at=later)
    with pytest.raises(PersonalDataErased):
        h.record_document(
            kind="exit_inspection", on=later.date(), reference="", stay_id=None, actor="c",
            at=later,
        )  # fmt: skip
    assert str(ERASED) == "[erased]"


def field_names() -> set[str]:
    """Every field of every household value type and event, and of every API body."""
    names: set[str] = set()
    for _, obj in inspect.getmembers(household_module, inspect.isclass):
        if dataclasses.is_dataclass(obj):
            names |= {f.name for f in dataclasses.fields(obj)}
    for obj in vars(Household).values():
        if inspect.isclass(obj) and issubclass(obj, CanMutateAggregate):
            names |= set(getattr(obj, "__annotations__", {}))
    for _, obj in inspect.getmembers(schemas, inspect.isclass):
        if hasattr(obj, "model_fields"):
            names |= set(obj.model_fields)
    return names


def test_no_field_for_ethnicity_community_livret_or_commune_de_rattachement() -> None:
    """Scans the domain's household types and events and every API body: none of these
    notions has a field, under any spelling."""
    names = field_names()
    assert {"display_name", "members", "relationship", "plates"} <= names
    assert sorted(n for n in names if FORBIDDEN.search(n)) == []
