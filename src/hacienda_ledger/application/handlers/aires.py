"""Handlers of the aires' commands: creation, emplacements, closures, tariffs, registers."""

from __future__ import annotations

from typing import Any

from hacienda_ledger.aggregates.aire import Aire
from hacienda_ledger.aggregates.collectivite import Collectivite
from hacienda_ledger.aggregates.errors import NotAllowed
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.application.access import Permission
from hacienda_ledger.application.commands import (
    AddEmplacement,
    AdoptTariff,
    AttachRegister,
    CreateAire,
    CreateCollectivite,
    OpenRegister,
    PutBackInService,
    PutOutOfService,
    ScheduleClosure,
    SetStayRules,
)
from hacienda_ledger.application.handling import C, Change, Filing, Scope, Unit, handles


def _aire_scope(command: Any) -> list[Scope]:
    return [Scope(aire_id=command.aire_id)]


def _aire_lock(command: Any, _: Any) -> list[Any]:
    return [command.aire_id]


def on_aire(command: type[C]) -> Filing[C]:
    """File a handler of a command configuring one aire (its scope, its lock)."""
    return handles(
        command, permission=Permission.CONFIGURE_AIRE, scopes=_aire_scope, locks=_aire_lock
    )


@handles(
    CreateCollectivite,
    permission=Permission.ADMINISTER,
    scopes=lambda _: [Scope()],
    locks=lambda c, _: [Collectivite.id_for(c.code)],
    creates=lambda c: Collectivite.id_for(c.code),
)
def create_collectivite(command: CreateCollectivite, unit: Unit) -> Change:
    collectivite = Collectivite.register(
        code=command.code,
        name=command.name,
        siren=command.siren,
        contacts=tuple(command.contacts),
        actor=command.actor,
        at=unit.now(),
    )
    return Change(collectivite)


@handles(
    CreateAire,
    permission=Permission.CONFIGURE_AIRE,
    scopes=lambda c: [Scope(sector=c.sector)],
    locks=lambda c, _: [Aire.id_for(c.code)],
    creates=lambda c: Aire.id_for(c.code),
)
def create_aire(command: CreateAire, unit: Unit) -> Change:
    unit.collectivite(command.collectivite_id)
    aire = Aire.register(
        code=command.code,
        name=command.name,
        collectivite_id=command.collectivite_id,
        sector=command.sector,
        mode=command.mode,
        insee_code=command.insee_code,
        departement=command.departement,
        latitude=command.latitude,
        longitude=command.longitude,
        actor=command.actor,
        at=unit.now(),
    )
    return Change(aire)


@on_aire(AddEmplacement)
def add_emplacement(command: AddEmplacement, unit: Unit) -> Change:
    aire = unit.aire(command.aire_id)
    aire.add_emplacement(
        number=command.number,
        places=command.places,
        surface_m2=command.surface_m2,
        actor=command.actor,
        at=unit.now(),
    )
    return Change(aire)


@on_aire(PutOutOfService)
def put_out_of_service(command: PutOutOfService, unit: Unit) -> Change:
    aire = unit.aire(command.aire_id)
    aire.put_out_of_service(
        number=command.number,
        start=command.start,
        reason=command.reason,
        actor=command.actor,
        at=unit.now(),
    )
    return Change(aire)


@on_aire(PutBackInService)
def put_back_in_service(command: PutBackInService, unit: Unit) -> Change:
    aire = unit.aire(command.aire_id)
    aire.put_back_in_service(
        number=command.number, start=command.start, actor=command.actor, at=unit.now()
    )
    return Change(aire)


@on_aire(ScheduleClosure)
def schedule_closure(command: ScheduleClosure, unit: Unit) -> Change:
    aire = unit.aire(command.aire_id)
    aire.schedule_closure(
        start=command.start,
        end=command.end,
        reason=command.reason,
        prefect_derogation_ref=command.prefect_derogation_ref,
        urgent=command.urgent,
        actor=command.actor,
        at=unit.now(),
    )
    return Change(aire)


@on_aire(AdoptTariff)
def adopt_tariff(command: AdoptTariff, unit: Unit) -> Change:
    aire = unit.aire(command.aire_id)
    aire.adopt_tariff(command.tariff, actor=command.actor, at=unit.now())
    return Change(aire)


@on_aire(SetStayRules)
def set_stay_rules(command: SetStayRules, unit: Unit) -> Change:
    aire = unit.aire(command.aire_id)
    aire.set_stay_rules(
        max_consecutive_days=command.max_consecutive_days,
        extension_cap_months=command.extension_cap_months,
        actor=command.actor,
        at=unit.now(),
    )
    return Change(aire)


@handles(
    OpenRegister,
    permission=Permission.CONFIGURE_AIRE,
    scopes=_aire_scope,
    locks=_aire_lock,
    creates=lambda c: c.register_id,
)
def open_register(command: OpenRegister, unit: Unit) -> Change:
    at = unit.now()
    aire = unit.aire(command.aire_id)
    register = CashRegister.open(
        register_id=command.register_id,
        aire_id=command.aire_id,
        regie_ref=command.regie_ref,
        float_cents=command.float_cents,
        cash_ceiling_cents=command.cash_ceiling_cents,
        payment_methods=tuple(command.payment_methods),
        revenue_types=tuple(command.revenue_types),
        actor=command.actor,
        at=at,
    )
    aire.attach_register(command.register_id, actor=command.actor, at=at)
    return Change(register, {"register_id": str(command.register_id)}, (aire,))


@handles(
    AttachRegister,
    permission=Permission.CONFIGURE_AIRE,
    scopes=lambda c: [Scope(aire_id=c.aire_id), Scope(register_id=c.register_id)],
    locks=_aire_lock,
)
def attach_register(command: AttachRegister, unit: Unit) -> Change:
    """A register (régie) may also collect for another aire of the same collectivité."""
    register = unit.cash_register(command.register_id)
    aire = unit.aire(command.aire_id)
    if unit.aire(register.aire_id).collectivite_id != aire.collectivite_id:
        raise NotAllowed("a régie spans aires of one collectivité", field="aire_id")
    aire.attach_register(command.register_id, actor=command.actor, at=unit.now())
    return Change(aire)
