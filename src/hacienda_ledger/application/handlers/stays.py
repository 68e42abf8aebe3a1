"""Handlers of the stays' commands: arrival, readings, extensions, charges, departure."""

from __future__ import annotations

from typing import Any

from hacienda_ledger.aggregates.errors import HouseholdNotFound
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
from hacienda_ledger.application.handling import C, Change, Filing, Scope, Unit, handles


def _stay_scope(command: Any) -> list[Scope]:
    return [Scope(stay_id=command.stay_id)]


def _stay_lock(command: Any, _: Any) -> list[Any]:
    return [command.stay_id]


def on_stay(command: type[C]) -> Filing[C]:
    """File a handler of a command on one stay (manage stays, its lock)."""
    return handles(
        command, permission=Permission.MANAGE_STAYS, scopes=_stay_scope, locks=_stay_lock
    )


@handles(
    OpenStay,
    permission=Permission.MANAGE_STAYS,
    scopes=lambda c: [Scope(aire_id=c.aire_id)],
    locks=lambda c, _: [c.aire_id, c.household_ref],
)
def open_stay(command: OpenStay, unit: Unit) -> Change:
    """A stay of a registered household; the aire records the emplacement as taken and the
    household the stay (its aire joins the household's scope), in the same transaction."""
    at = unit.now()
    aire = unit.aire(command.aire_id)
    try:
        household = unit.household(command.household_ref)
    except HouseholdNotFound as exc:
        raise HouseholdNotFound(exc.detail, field="household_ref") from None
    stay = Stay.open(
        stay_id=command.stay_id,
        aire_id=command.aire_id,
        emplacement=command.emplacement,
        household_ref=command.household_ref,
        arrived_at=command.arrived_at,
        composition=command.composition,
        agreement_ref=command.agreement_ref,
        entry_inspection_ref=command.entry_inspection_ref,
        water_index=command.water_index,
        electricity_index=command.electricity_index,
        max_consecutive_days=aire.max_consecutive_days,
        extension_cap_months=aire.extension_cap_months,
        actor=command.actor,
        at=at,
    )
    aire.admit(
        stay_id=command.stay_id,
        emplacement=command.emplacement,
        arrival_day=paris_day(command.arrived_at),
        actor=command.actor,
        at=at,
    )
    household.link_stay(
        stay_id=command.stay_id, aire_id=command.aire_id, actor=command.actor, at=at
    )
    return Change(stay, {"stay_id": str(command.stay_id)}, (aire, household))


@on_stay(RecordMeterReading)
def record_meter_reading(command: RecordMeterReading, unit: Unit) -> Change:
    stay = unit.stay(command.stay_id)
    reading = stay.read_meter(
        meter=command.meter,
        index=command.index,
        read_at=command.read_at,
        corrects=command.corrects,
        actor=command.actor,
        at=unit.now(),
    )
    return Change(stay, {"seq": reading.seq})


@on_stay(ExtendStay)
def extend_stay(command: ExtendStay, unit: Unit) -> Change:
    stay = unit.stay(command.stay_id)
    stay.extend(
        reason=command.reason,
        evidence_ref=command.evidence_ref,
        until=command.until,
        actor=command.actor,
        at=unit.now(),
    )
    return Change(stay, {"allowed_through": stay.allowed_through.isoformat()})


@on_stay(AssessCharges)
def assess_charges(command: AssessCharges, unit: Unit) -> Change:
    stay = unit.stay(command.stay_id)
    event = stay.assess_charges(
        through=command.through,
        tariffs=unit.aire(stay.aire_id).tariffs,
        actor=command.actor,
        at=unit.now(),
    )
    return Change(
        stay,
        {
            "total_cents": event.total_cents if event else 0,
            "lines": len(event.lines) if event else 0,
        },
    )


def _departure_locks(command: Depart, ledger: Any) -> list[Any]:
    """The aire, the stay and every register of the aire: no deposit can be received while
    the departure checks that none is held."""
    aire_id = ledger.stay(command.stay_id).aire_id
    return [aire_id, command.stay_id, *ledger.aire(aire_id).register_ids]


@handles(Depart, permission=Permission.MANAGE_STAYS, scopes=_stay_scope, locks=_departure_locks)
def depart(command: Depart, unit: Unit) -> Change:
    """Close the stay, charge what remains, and free the emplacement, atomically."""
    at = unit.now()
    stay = unit.stay(command.stay_id)
    aire = unit.aire(stay.aire_id)
    held = sum(unit.cash_register(r).deposit_held(stay.id) for r in aire.register_ids)
    stay.depart(
        departed_at=command.departed_at,
        exit_inspection_ref=command.exit_inspection_ref,
        water_index=command.water_index,
        electricity_index=command.electricity_index,
        deposit_held_cents=held,
        actor=command.actor,
        at=at,
    )
    event = stay.assess_charges(
        through=paris_day(command.departed_at), tariffs=aire.tariffs, actor=command.actor, at=at
    )
    aire.release(stay_id=command.stay_id, actor=command.actor, at=at)
    return Change(stay, {"final_charges_cents": event.total_cents if event else 0}, (aire,))
