"""Handlers of the households' commands (personal data, sealed under each one's key)."""

from __future__ import annotations

import dataclasses
from typing import Any

from hacienda_ledger.aggregates.errors import (
    AlreadyExists,
    InvalidValue,
    OutsideCollectivite,
    StayNotFound,
)
from hacienda_ledger.aggregates.household import Household, Profile
from hacienda_ledger.application.access import Permission
from hacienda_ledger.application.commands import (
    AmendHousehold,
    EraseHousehold,
    RecordHousehold,
    RecordHouseholdDocument,
)
from hacienda_ledger.application.handling import Change, Unit, on

on_household = on("household_id", Permission.MANAGE_HOUSEHOLDS)


def _forget_unused_key(command: RecordHousehold, ledger: Any) -> None:
    """A key made for a household whose first event was not saved is dropped."""
    if not ledger.exists(command.household_id):
        ledger.keys.forget_unused(command.household_id)


@on(
    "aire_id",
    Permission.MANAGE_HOUSEHOLDS,
    locks=lambda c, _: [c.household_id],
    creates=lambda c: c.household_id,
    abandon=_forget_unused_key,
)(RecordHousehold)
def record_household(command: RecordHousehold, unit: Unit) -> Change:
    """A household recorded at an aire, with a key of its own for its personal data."""
    unit.aire(command.aire_id)
    new_id = command.household_id
    if unit.exists(new_id) or unit.keys.destroyed(new_id):
        raise AlreadyExists(f"household {new_id} exists already", field="household_id")
    if unit.keys.key(new_id) is None:
        unit.keys.create(new_id, unit.now())
    household = Household.register(
        **command.arguments(), household_id=new_id, actor=command.actor, at=unit.now()
    )
    return Change(household, {"household_id": str(new_id)})


@on_household(AmendHousehold)
def amend_household(command: AmendHousehold, unit: Unit) -> Change:
    """The new profile is recorded whole; nothing is recorded when nothing changes."""
    unknown = set(command.changes) - {f.name for f in dataclasses.fields(Profile)}
    if unknown:
        raise InvalidValue(f"no such field: {', '.join(sorted(unknown))}")
    household = unit.household(command.household_id)
    household.check_not_erased()
    assert isinstance(household.profile, Profile)
    profile = dataclasses.replace(household.profile, **command.changes)
    changed = household.amend(profile, actor=command.actor, at=unit.now())
    return Change(household, {"changed": changed})


@on_household(RecordHouseholdDocument)
def record_household_document(command: RecordHouseholdDocument, unit: Unit) -> Change:
    """A document seen or signed; one naming a stay of another collectivité than the
    household's is ``outside_collectivite`` (a stay of its own collectivité that is not the
    household's stays ``invalid_value``, as the household says)."""
    household = unit.household(command.household_id)
    if command.stay_id is not None and command.stay_id not in {s for s, _ in household.stays}:
        try:
            stay_aire = unit.aire(unit.stay(command.stay_id).aire_id)
        except StayNotFound:
            stay_aire = None
        home = unit.aire(household.aire_id).collectivite_id
        if stay_aire is not None and stay_aire.collectivite_id != home:
            raise OutsideCollectivite(
                "that stay is of another collectivité than this household", field="stay_id"
            )
    document = household.record_document(
        **command.arguments("household_id"), actor=command.actor, at=unit.now()
    )
    return Change(household, {"seq": document.seq})


@on("household_id", Permission.ANSWER_DATA_REQUESTS, alone=True)(EraseHousehold)
def erase_household(command: EraseHousehold, unit: Unit) -> Change:
    """Destroy the household's key, then record the erasure. From then on every personal
    field of the household reads as ``ERASED``, everywhere; no amount, count or chain is
    touched (none of them ever held personal data). Erasing again changes nothing. It runs
    alone (``Handling.alone``): the key is destroyed in a transaction of its own, which a
    write of the household saved in the same group could no longer encrypt."""
    unit.ledger.households.facts(command.household_id)  # it exists
    at = unit.now()
    destroyed = unit.ledger.journalling.destroy_key(
        unit.keys, command.household_id, at=at, actor=command.actor
    )
    household = unit.household(command.household_id)
    recorded = household.record_erasure(reason=command.reason, actor=command.actor, at=at)
    return Change(household, {"key_destroyed": destroyed, "recorded": recorded})
