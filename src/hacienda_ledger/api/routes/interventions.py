"""Interventions on an aire (cleaning, repairs, rounds, incidents...) and the aire's team."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, status

from hacienda_ledger.aggregates.intervention import (
    InterventionKind,
    InterventionStatus,
)
from hacienda_ledger.aggregates.user import Role
from hacienda_ledger.api import schemas as s
from hacienda_ledger.api import views
from hacienda_ledger.api.deps import Act, ActDep, LedgerDep, UserDep
from hacienda_ledger.api.pages import PageDep
from hacienda_ledger.api.params import From, To
from hacienda_ledger.api.routes.audit import queries
from hacienda_ledger.application import Outcome
from hacienda_ledger.application import commands as c
from hacienda_ledger.application.access import Permission

router = APIRouter(tags=["interventions"])


def _intervention(act: Act, outcome: Outcome) -> s.InterventionPublic:
    return views.intervention(act.ledger.intervention(outcome.aggregate_id), outcome.position)


@router.post(
    "/v1/aires/{aire_id}/interventions",
    status_code=status.HTTP_201_CREATED,
    response_model=s.InterventionPublic,
)
def record_intervention(
    aire_id: UUID, body: s.InterventionCreate, act: ActDep
) -> s.InterventionPublic:
    """Record what was done (or is planned) on the aire: kind, when, who, where, cost. An
    incident with ``out_of_service`` takes its emplacements out of service (and back) in
    the same transaction. Refused (409 ``period_sealed``) when dated in a sealed month."""
    return _intervention(act, act(c.RecordIntervention, aire_id, **dict(body)))


@router.get("/v1/aires/{aire_id}/interventions", response_model=s.InterventionsPublic)
def list_interventions(
    aire_id: UUID,
    ledger: LedgerDep,
    user: UserDep,
    page: PageDep,
    request: Request,
    start: From = None,
    end: To = None,
    kind: InterventionKind | None = None,
    emplacement: Annotated[str | None, Query(min_length=1, max_length=20)] = None,
    state: Annotated[InterventionStatus | None, Query(alias="status")] = None,
) -> s.InterventionsPublic:
    """The aire's interventions in the order recorded (paginated), filtered by period (one
    that overlaps ``from``..``to``), kind, emplacement and status. Chosen from the
    ``intervention_list`` projection, caught up first (one just recorded is in it)."""
    ledger.access.authorize(user, Permission.READ_INTERVENTIONS, aire_id=aire_id)
    ids, more = queries(request).intervention_ids(
        aire_id,
        start=start,
        end=end,
        kind=kind.value if kind is not None else None,
        emplacement=emplacement,
        status=state.value if state is not None else None,
        offset=page.offset,
        limit=page.limit,
    )
    data = [views.intervention(i) for i in ledger.interventions(ids)]
    return s.InterventionsPublic(data=data, count=len(data), next_cursor=page.next_cursor(more))


@router.get("/v1/interventions/{intervention_id}", response_model=s.InterventionPublic)
def get_intervention(
    intervention_id: UUID, ledger: LedgerDep, user: UserDep
) -> s.InterventionPublic:
    """One intervention, within the caller's scope."""
    ledger.access.authorize(user, Permission.READ_INTERVENTIONS, intervention_id=intervention_id)
    return views.intervention(ledger.intervention(intervention_id))


@router.patch("/v1/interventions/{intervention_id}", response_model=s.InterventionPublic)
def set_status(
    intervention_id: UUID, body: s.InterventionUpdate, act: ActDep
) -> s.InterventionPublic:
    """``planned`` -> ``done`` or ``cancelled``; both are final (409 ``intervention_final``).
    An incident's emplacements come back in service the day it ended. The change counts in
    the month it is recorded, even for an intervention that started in a sealed month; 409
    ``period_sealed`` when recorded in a sealed month or ending in one."""
    return _intervention(act, act(c.SetInterventionStatus, intervention_id, **dict(body)))


def _aire(act: Act, outcome: Outcome) -> s.AirePublic:
    ledger = act.ledger
    aire = ledger.aire(outcome.aggregate_id)
    shown = act.user.role not in (Role.ANALYST, Role.INTERVENANT)
    team = views.team(ledger, aire)
    return views.aire(aire, ledger.clock(), outcome.position, show_stays=shown, team=team)


@router.post("/v1/aires/{aire_id}/team", response_model=s.AirePublic)
def assign(aire_id: UUID, body: s.TeamMemberCreate, act: ActDep) -> s.AirePublic:
    """Put a user in the aire's team (a cashier, régisseur or intervenant; 422 for a role
    whose scope is not assigned aire by aire): the aire enters their scope."""
    return _aire(act, act(c.AssignTeamMember, aire_id, body.user_id))


@router.delete("/v1/aires/{aire_id}/team/{user_id}", response_model=s.AirePublic)
def withdraw(aire_id: UUID, user_id: UUID, act: ActDep) -> s.AirePublic:
    """Take a user out of the aire's team, and the aire out of their scope (a cashier or
    régisseur keeps at least one aire)."""
    return _aire(act, act(c.WithdrawTeamMember, aire_id, user_id))
