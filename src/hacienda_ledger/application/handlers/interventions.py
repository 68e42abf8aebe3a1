"""Handlers of interventions and of the aires' teams.

An intervention is recorded under its aire's lock: the aire links it (its chain holds every
intervention of the aire, and ``verify`` finds them there), checks the emplacements it names
and, for an incident that puts them out of service, records them out (and back) in the same
transaction. A status change takes the same lock; it counts in the month it is recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from hacienda_ledger.aggregates.aire import Aire
from hacienda_ledger.aggregates.errors import (
    InterventionNotFound,
    InvalidPeriod,
    InvalidValue,
    OutsideCollectivite,
    StayNotFound,
    UserNotFound,
)
from hacienda_ledger.aggregates.intervention import Intervention
from hacienda_ledger.aggregates.seal import check_not_sealed
from hacienda_ledger.aggregates.stay import Stay
from hacienda_ledger.aggregates.user import ASSIGNED_ROLES, User
from hacienda_ledger.aggregates.values import paris_day
from hacienda_ledger.application.access import Permission
from hacienda_ledger.application.commands import (
    AssignTeamMember,
    RecordIntervention,
    SetInterventionStatus,
    WithdrawTeamMember,
)
from hacienda_ledger.application.handling import Change, Scope, Unit, handles, on


def _same_aire(unit: Unit, aire: Aire, other_aire: UUID | None, field: str) -> None:
    """A stay or an earlier intervention named is of this aire: one of another collectivité
    is ``outside_collectivite`` (403, as a receipt naming such a stay), one of another aire
    of it, or none, not found (404)."""
    if other_aire == aire.id:
        return
    if other_aire is not None and unit.aire(other_aire).collectivite_id != aire.collectivite_id:
        raise OutsideCollectivite(f"this {field} is of another collectivité", field=field)
    missing = StayNotFound if field == "stay_id" else InterventionNotFound
    raise missing(f"no {field.replace('_id', '')} of that id on this aire", field=field)


def _check_references(command: RecordIntervention, aire: Aire, unit: Unit) -> None:
    """Every user, emplacement, stay and earlier intervention named exists (of this aire)."""
    for number in command.emplacements:
        aire.emplacement(number)
    for user_id in command.who:
        try:
            unit.load(User, user_id, UserNotFound)
        except UserNotFound:
            raise UserNotFound(f"no user {user_id}", field="who") from None
    named = (
        ("stay_id", command.stay_id, unit.stay, StayNotFound),
        ("follows", command.follows, unit.intervention, InterventionNotFound),
    )
    for field, other_id, load, missing in named:
        if other_id is not None:
            _same_aire(unit, aire, _aire_or_none(load, other_id, missing), field)


def _aire_or_none(
    load: Callable[[UUID], Stay | Intervention], other_id: UUID, missing: type[LookupError]
) -> UUID | None:
    """The aire of the stay or intervention ``other_id``, None if there is none."""
    try:
        return load(other_id).aire_id
    except missing:
        return None


def _reason(intervention: Intervention) -> str:
    return f"incident: {intervention.label or intervention.description}"[:200]


@on("aire_id", Permission.RECORD_INTERVENTIONS, creates=lambda c: c.intervention_id)(
    RecordIntervention
)
def record_intervention(command: RecordIntervention, unit: Unit) -> Change:
    """The intervention, linked on its aire; an incident's emplacements out of service (and
    back, when it ended on a later day) on the aire, in the same transaction."""
    at, actor = unit.now(), command.actor
    aire = unit.aire(command.aire_id)
    _check_references(command, aire, unit)
    arguments = command.arguments("who", "emplacements")
    intervention = Intervention.record(
        **arguments,
        intervention_id=command.intervention_id,
        who=tuple(command.who),
        emplacements=tuple(command.emplacements),
        actor=actor,
        at=at,
    )
    aire.link_intervention(intervention.id, actor=actor, at=at)
    out, back = intervention.out_of_service_from, intervention.back_in_service_on
    if out is not None and (back is None or back > out):
        for number in intervention.emplacements:
            aire.put_out_of_service(
                number=number, start=out, reason=_reason(intervention), actor=actor, at=at
            )
            if back is not None:
                aire.put_back_in_service(number=number, start=back, actor=actor, at=at)
    return Change(intervention, {"intervention_id": str(intervention.id)}, (aire,))


def _intervention_locks(command: Any, ledger: Any) -> list[Any]:
    """The intervention's aire (whose emplacements an incident may bring back)."""
    return [ledger.access.aire_of_intervention(command.intervention_id)]


@on("intervention_id", Permission.RECORD_INTERVENTIONS, locks=_intervention_locks)(
    SetInterventionStatus
)
def set_intervention_status(command: SetInterventionStatus, unit: Unit) -> Change:
    """The status, counted in the month it is recorded (``projections/interventions.py``):
    refused (``period_sealed``) when that month, the day it ended (given) or the day an
    incident's emplacements come back lies in a sealed month, since the sealed figures
    would move; accepted in an open month even for an intervention that started in a sealed
    one. The emplacements an incident put out of service come back on the aire."""
    at, actor = unit.now(), command.actor
    intervention = unit.intervention(command.intervention_id)
    was_back = intervention.back_in_service_on
    intervention.set_status(status=command.status, ended_at=command.ended_at, actor=actor, at=at)
    back = intervention.back_in_service_on
    days = [paris_day(at)]
    if command.ended_at is not None:
        days.append(paris_day(command.ended_at))
    if was_back is None and back is not None:
        days.append(back)
    check_not_sealed(unit.sealed_through(intervention.aire_id), tuple(days))
    if was_back is not None or back is None:
        return Change(intervention)
    aire = unit.aire(intervention.aire_id)
    if back <= intervention.out_of_service_from:  # type: ignore[operator]
        raise InvalidPeriod(
            "emplacements come back in service on a day after they went out", field="ended_at"
        )
    for number in intervention.emplacements:
        aire.put_back_in_service(number=number, start=back, actor=actor, at=at)
    return Change(intervention, {}, (aire,))


def _member(unit: Unit, command: AssignTeamMember | WithdrawTeamMember) -> User:
    try:
        return unit.load(User, command.user_id, UserNotFound)
    except UserNotFound:
        raise UserNotFound(f"no user {command.user_id}", field="user_id") from None


# A team change: the manager configures the aire, the member is in their scope, and both
# the aire and the user are locked (each records the change).
_TEAM_CHANGE: dict[str, Any] = dict(
    permission=Permission.CONFIGURE_AIRE,
    scopes=lambda c: [Scope(aire_id=c.aire_id), Scope(member_id=c.user_id)],
    locks=lambda c, _: [c.aire_id, c.user_id],
)


@handles(AssignTeamMember, **_TEAM_CHANGE)
def assign_team_member(command: AssignTeamMember, unit: Unit) -> Change:
    """The aire lists the user in its team; the user has the aire in their scope."""
    at, actor = unit.now(), command.actor
    aire = unit.aire(command.aire_id)
    user = _member(unit, command)
    user.assign(aire_id=aire.id, actor=actor, at=at)
    aire.assign(user_id=user.id, role=user.role.value, actor=actor, at=at)
    return Change(aire, {"user_id": str(user.id)}, (user,))


@handles(WithdrawTeamMember, **_TEAM_CHANGE)
def withdraw_team_member(command: WithdrawTeamMember, unit: Unit) -> Change:
    """The user leaves the aire's team and scope."""
    at, actor = unit.now(), command.actor
    aire = unit.aire(command.aire_id)
    user = _member(unit, command)
    # a user given the aire at their creation before that listed them in its team: theirs
    in_scope = user.role in ASSIGNED_ROLES and aire.id in user.aire_ids
    if user.id not in aire.team and not in_scope:
        raise InvalidValue("this user is not in the aire's team", field="user_id")
    user.withdraw(aire_id=aire.id, actor=actor, at=at)
    aire.withdraw(user_id=user.id, actor=actor, at=at, in_scope=in_scope)
    return Change(aire, {}, (user,))
