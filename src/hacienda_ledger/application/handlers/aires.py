"""Handlers of the aires' commands: creation, emplacements, closures, tariffs, registers."""

from __future__ import annotations

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
    RecordUnmetDemand,
    ScheduleClosure,
    SetStayRules,
)
from hacienda_ledger.application.handling import Change, Scope, Unit, delegate, handles, on

on_aire = on("aire_id", Permission.CONFIGURE_AIRE)


@handles(
    CreateCollectivite,
    permission=Permission.ADMINISTER,
    scopes=lambda _: [Scope()],
    locks=lambda c, _: [Collectivite.id_for(c.code)],
    creates=lambda c: Collectivite.id_for(c.code),
)
def create_collectivite(command: CreateCollectivite, unit: Unit) -> Change:
    contacts = tuple(command.contacts)
    arguments = command.arguments("contacts")
    return Change(
        Collectivite.register(**arguments, contacts=contacts, actor=command.actor, at=unit.now())
    )


@handles(
    CreateAire,
    permission=Permission.CONFIGURE_AIRE,
    scopes=lambda c: [Scope(sector=c.sector, collectivite_id=c.collectivite_id)],
    locks=lambda c, _: [Aire.id_for(c.code)],
    creates=lambda c: Aire.id_for(c.code),
)
def create_aire(command: CreateAire, unit: Unit) -> Change:
    unit.collectivite(command.collectivite_id)
    return Change(Aire.register(**command.arguments(), actor=command.actor, at=unit.now()))


#: Commands that are one method of the aire, called with the command's arguments.
for _command, _method in (
    (AddEmplacement, Aire.add_emplacement),
    (PutOutOfService, Aire.put_out_of_service),
    (PutBackInService, Aire.put_back_in_service),
    (ScheduleClosure, Aire.schedule_closure),
    (AdoptTariff, Aire.adopt_tariff),
    (SetStayRules, Aire.set_stay_rules),
):
    on_aire(_command)(delegate(Unit.aire, "aire_id", _method))

#: A family turned away is recorded by whoever receives it on site (cashier, régisseur,
#: manager): those who manage stays.
on("aire_id", Permission.MANAGE_STAYS)(RecordUnmetDemand)(
    delegate(Unit.aire, "aire_id", Aire.record_unmet_demand)
)


@on("aire_id", Permission.CONFIGURE_AIRE, creates=lambda c: c.register_id)(OpenRegister)
def open_register(command: OpenRegister, unit: Unit) -> Change:
    """The register, attached to its aire in the same transaction."""
    at = unit.now()
    aire = unit.aire(command.aire_id)
    register = CashRegister.open(
        **command.arguments("payment_methods", "revenue_types"),
        register_id=command.register_id,
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
    locks=lambda c, _: [c.aire_id],
)
def attach_register(command: AttachRegister, unit: Unit) -> Change:
    """A register (régie) may also collect for another aire of the same collectivité."""
    register = unit.cash_register(command.register_id)
    aire = unit.aire(command.aire_id)
    if unit.aire(register.aire_id).collectivite_id != aire.collectivite_id:
        raise NotAllowed("a régie spans aires of one collectivité", field="aire_id")
    aire.attach_register(command.register_id, actor=command.actor, at=unit.now())
    return Change(aire)
