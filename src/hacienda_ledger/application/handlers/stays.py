"""Handlers of the stays' commands: arrival, readings, extensions, charges, departure."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from hacienda_ledger.aggregates.document import AireDocumentKind
from hacienda_ledger.aggregates.errors import HouseholdNotFound, OutsideCollectivite, PeriodSealed
from hacienda_ledger.aggregates.stay import Stay
from hacienda_ledger.aggregates.values import paris_day
from hacienda_ledger.application.access import Permission
from hacienda_ledger.application.commands import (
    AssessCharges,
    Depart,
    ExtendStay,
    OpenStay,
    RecordMeterReading,
)
from hacienda_ledger.application.handlers.registers import apply_advances
from hacienda_ledger.application.handling import Change, Unit, delegate, on


def _stay_locks(command: Any, ledger: Any) -> list[Any]:
    """The stay and its aire (a seal of the aire waits for the stay's command, and the
    other way round)."""
    return [ledger.access.aire_of_stay(command.stay_id), command.stay_id]


on_stay = on("stay_id", Permission.MANAGE_STAYS, locks=_stay_locks)


def _charging_locks(command: Any, ledger: Any) -> list[Any]:
    """The stay, its aire, and every register of the aire: charges assessed are settled
    at once by the advances a register holds for the stay (``apply_advances``)."""
    aire_id = ledger.access.aire_of_stay(command.stay_id)
    return [aire_id, command.stay_id, *ledger.access.registers_of_aire(aire_id)]


def _registers(unit: Unit, aire: Any) -> list[Any]:
    """The aire's registers, read under its lock (and remembered for the next locks)."""
    found = tuple(aire.register_ids)
    unit.ledger.access.seen_registers(aire.id, found)
    return list(found)


on_charging = on("stay_id", Permission.MANAGE_STAYS, locks=_charging_locks)


@on("aire_id", Permission.MANAGE_STAYS, locks=lambda c, _: [c.aire_id, c.household_ref])(OpenStay)
def open_stay(command: OpenStay, unit: Unit) -> Change:
    """A stay of a registered household of the aire's collectivité (``outside_collectivite``
    otherwise, for every role); the aire records the emplacement as taken (free from the
    arrival day on: the day its last stay left it is read from that stay) and the household
    the stay (its aire joins the household's scope), in the same transaction."""
    at, actor, stay_id = unit.now(), command.actor, command.stay_id
    aire = unit.aire(command.aire_id)
    try:
        household = unit.household(command.household_ref)
    except HouseholdNotFound as exc:
        raise HouseholdNotFound(exc.detail, field="household_ref") from None
    if unit.aire(household.aire_id).collectivite_id != aire.collectivite_id:
        raise OutsideCollectivite(
            "this household was recorded in another collectivité: record it here",
            field="household_ref",
        )
    stay = Stay.open(
        **command.arguments(),
        stay_id=stay_id,
        max_consecutive_days=aire.max_consecutive_days,
        extension_cap_months=aire.extension_cap_months,
        actor=actor,
        at=at,
    )
    arrival_day = paris_day(command.arrived_at)
    last = aire.last_stays.get(command.emplacement)
    aire.admit(
        stay_id=stay_id,
        emplacement=command.emplacement,
        arrival_day=arrival_day,
        actor=actor,
        at=at,
        left_on=unit.stay(last).end_day if last is not None else None,
    )
    household.link_stay(stay_id=stay_id, aire_id=command.aire_id, actor=actor, at=at)
    _reference_rules(unit, aire, stay, arrival_day, at)
    return Change(stay, {"stay_id": str(stay_id)}, (aire, household))


def _reference_rules(unit: Unit, aire: Any, stay: Stay, day: date, at: datetime) -> None:
    """The stay names the aire's règlement intérieur in force on its arrival day (of those
    valid that day, the last uploaded), with its version and the hash of its bytes."""
    found = None
    for document_id in aire.document_ids:
        document = unit.document(document_id)
        if document.kind is AireDocumentKind.REGLEMENT_INTERIEUR:
            version = document.in_force_on(day)
            found = (document.id, version) if version is not None else found
    if found is not None:
        document_id, version = found
        stay.trigger_event(
            Stay.RulesReferenced,
            document_id=document_id,
            document_version=version.number,
            sha256=version.sha256,
            timestamp=at,
        )


on_stay(RecordMeterReading)(
    delegate(Unit.stay, "stay_id", Stay.read_meter, lambda _, reading: {"seq": reading.seq})
)


@on_stay(ExtendStay)
def extend(command: ExtendStay, unit: Unit) -> Change:
    """The stay records the extension's dates; its why (reason and evidence: health data,
    among others) is recorded on the household, sealed under its key, in the same
    transaction. A household already erased (or a stay naming none, opened before
    households were recorded) gets the extension without a why recorded: nowhere to seal it."""
    at, actor = unit.now(), command.actor
    stay = unit.stay(command.stay_id)
    reason = stay.extend(
        reason=command.reason,
        evidence_ref=command.evidence_ref,
        until=command.until,
        actor=actor,
        at=at,
    )
    try:
        household = unit.household(stay.household_ref)
    except HouseholdNotFound:  # a stay opened before households were recorded
        household = None
    if household is None or household.erased:
        return Change(stay, {"allowed_through": stay.allowed_through.isoformat()})
    household.justify(
        stay_id=stay.id,
        stay_version=stay.version,
        reason=reason.value,
        evidence_ref=command.evidence_ref,
        actor=actor,
        at=at,
    )
    return Change(stay, {"allowed_through": stay.allowed_through.isoformat()}, (household,))


def _charged(event: Any) -> dict[str, int]:
    return {
        "total_cents": event.total_cents if event else 0,
        "lines": len(event.lines) if event else 0,
    }


def _not_charging_sealed_days(unit: Unit, stay: Stay) -> None:
    """A day of a sealed month is never charged afterwards: the stay must have been charged
    through the month's end before the seal (``period_sealed`` otherwise)."""
    sealed = unit.sealed_through(stay.aire_id)
    if sealed is not None and stay.uncharged_through(sealed):
        raise PeriodSealed(
            f"the stay's days from {stay.charged_until} lie in a sealed month (through "
            f"{sealed}): record a régularisation in the open month instead"
        )


@on_charging(AssessCharges)
def assess_charges(command: AssessCharges, unit: Unit) -> Change:
    """The days and consumption not yet charged, up to ``through``, at the tariffs of the
    days charged; an advance held for the stay settles them at once."""
    stay = unit.stay(command.stay_id)
    _not_charging_sealed_days(unit, stay)
    aire = unit.aire(stay.aire_id)
    event = stay.assess_charges(
        through=command.through, tariffs=aire.tariffs, actor=command.actor, at=unit.now()
    )
    registers = apply_advances(unit, stay, _registers(unit, aire), actor=command.actor)
    return Change(stay, _charged(event), registers)


@on_charging(Depart)
def depart(command: Depart, unit: Unit) -> Change:
    """The household leaves, deposit held or not: the stay is closed, its final charges
    assessed (through the departure day, fluids from the closing indexes) and the
    emplacement freed, atomically; an advance held for the stay settles the final charges.
    The deposit, and what is left of an advance, are refunded (or withheld) afterwards."""
    at, actor = unit.now(), command.actor
    stay = unit.stay(command.stay_id)
    _not_charging_sealed_days(unit, stay)
    aire = unit.aire(stay.aire_id)
    stay.depart(**command.arguments("stay_id"), actor=actor, at=at)
    through = paris_day(command.departed_at)
    event = stay.assess_charges(through=through, tariffs=aire.tariffs, actor=actor, at=at)
    aire.release(stay_id=command.stay_id, actor=actor, at=at)
    registers = apply_advances(unit, stay, _registers(unit, aire), actor=actor)
    result = {"final_charges_cents": event.total_cents if event else 0}
    return Change(stay, result, (aire, *registers))
