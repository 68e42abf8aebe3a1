"""Handler of the aires' monthly seals (arrêtés mensuels)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from hacienda_ledger import __version__
from hacienda_ledger.aggregates.aire_values import SealedPlaceDays
from hacienda_ledger.aggregates.errors import MonthNotClosed
from hacienda_ledger.aggregates.register_rules import closes_month
from hacienda_ledger.aggregates.seal import Seals, service_start_month
from hacienda_ledger.aggregates.values import month_bounds, paris_day
from hacienda_ledger.application.access import Permission
from hacienda_ledger.application.commands import Regularise, SealMonth
from hacienda_ledger.application.handling import Change, Unit, on


def _seal_locks(command: SealMonth, ledger: Any) -> list[Any]:
    """The aire, its seals and every register of the aire: no fact of the aire is recorded
    while its chains' heads are taken (stays' commands take the aire's lock too)."""
    aire_id = command.aire_id
    return [aire_id, Seals.id_for(aire_id), *ledger.aire(aire_id).register_ids]


@on("aire_id", Permission.CONFIGURE_AIRE, locks=_seal_locks, alone=True)(SealMonth)
def seal_month(command: SealMonth, unit: Unit) -> Change:
    """Refused (``month_not_closed``) for a month not over, until every register of the aire
    (opened by the month's end) has closed it and every stay is charged through its end; a
    month at or before the last one sealed is ``period_sealed``, one after a month not sealed
    (from the aire's entry into service) ``earlier_month_not_sealed``, one before it
    ``invalid_period``. The seal records the head of every chain of the aire and is chained
    to the seal before it. It runs alone (``Handling.alone``): its heads, stays and figures
    are read from what is saved, so the writes queued before it are saved first, and those
    queued after it see it."""
    aire = unit.aire(command.aire_id)
    _, last = month_bounds(command.month)
    if last >= paris_day(unit.now()):
        raise MonthNotClosed(f"{command.month} is not over yet", field="month")
    seals = unit.seals(command.aire_id)
    since = service_start_month(aire)
    seals.check_next(command.month, since=since)
    registers = [unit.cash_register(r) for r in aire.register_ids]
    for register in registers:
        opened = paris_day(register.created_on)
        if opened <= last and not closes_month(register, command.month):
            raise MonthNotClosed(
                f"register {register.regie_ref} has not closed {command.month}: close it first",
                field="month",
            )
    audit = unit.ledger.audit
    for stay_id in audit.stays_of(command.aire_id):
        if unit.stay(stay_id).uncharged_through(last):
            raise MonthNotClosed(
                f"stay {stay_id} is not charged through {last}: charge it first", field="month"
            )
    heads = audit.heads(aire, registers)
    # The cash figures: each register's closure of the month (its totals by revenue type and
    # method and its perpetual grand total, sealed in its own chain).
    digests = {
        f"month_closure:{r.id}": closure
        for r in registers
        if (closure := audit.month_closure(r.id, command.month)) is not None
    }
    digests.update(audit.figures(command.aire_id, command.month))
    sealed = seals.seal(
        month=command.month,
        since=since,
        heads=heads,
        digests=digests,
        actor=command.actor,
        at=unit.now(),
        software_version=__version__,
    )
    return Change(seals, {"month": command.month, "hash": sealed})


def sealed_place_days(audit: Any, aire_id: UUID, month: str) -> SealedPlaceDays | None:
    """The occupied and available place-days of the aire's ``month`` as its own seal
    recorded them (``projecting.sealed_occupancy``); None when it has no seal of that month
    (a later month's seal does not make it sealed)."""
    from hacienda_ledger.application.projecting import sealed_occupancy

    for seal in audit.seal_events(aire_id):
        if seal.month == month:
            occupancy = sealed_occupancy(audit.queries(), aire_id, month, seal.digests)
            return SealedPlaceDays(occupancy.occupied_place_days, occupancy.available_place_days)
    return None


def _aire_and_seals(command: Regularise, ledger: Any) -> list[Any]:
    """The aire and its seals (the régularisation names the sealed month it corrects)."""
    return [command.aire_id, Seals.id_for(command.aire_id)]


@on("aire_id", Permission.CONFIGURE_AIRE, locks=_aire_and_seals)(Regularise)
def regularise(command: Regularise, unit: Unit) -> Change:
    """A régularisation of a sealed month, on the aire, in the open month: checked against
    the month's place-days as its own seal recorded them (``sealed_place_days``)."""
    aire = unit.aire(command.aire_id)
    aire.regularise(
        **command.arguments("aire_id"),
        sealed=sealed_place_days(unit.ledger.audit, command.aire_id, command.month),
        actor=command.actor,
        at=unit.now(),
    )
    return Change(aire, {"month": command.month})
