"""Bodies of interventions (``/v1/aires/{id}/interventions``, ``/v1/interventions/{id}``) and
of an aire's team (``/v1/aires/{id}/team``). An intervention names no household: a stay by
its id at most."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field

from hacienda_ledger.aggregates.intervention import InterventionKind, InterventionStatus
from hacienda_ledger.api.schemas.common import Body, Cents, Moment, Page, Text

Emplacement = Annotated[str, Field(min_length=1, max_length=20)]


class InterventionCreate(Body):
    """``status`` is ``planned`` or ``done`` (the default); ``out_of_service``: an incident
    puts the ``emplacements`` out of service from the day it started, and back the day it
    ended when it is done and ended on a later day."""

    multiline = frozenset({"description"})

    kind: InterventionKind
    label: Annotated[str, Field(max_length=200)] = ""
    started_at: Moment
    ended_at: Moment | None = None
    who: Annotated[list[UUID], Field(max_length=50)] = []
    emplacements: Annotated[list[Emplacement], Field(max_length=500)] = []
    description: Annotated[str, Field(min_length=1, max_length=4000)]
    status: InterventionStatus = InterventionStatus.DONE
    cost_cents: Cents | None = None
    supplier_ref: Text | None = None
    follows: UUID | None = None
    stay_id: UUID | None = None
    out_of_service: bool = False


class InterventionUpdate(Body):
    """``done`` (ending at ``ended_at``, else as recorded, else now) or ``cancelled``."""

    status: InterventionStatus
    ended_at: Moment | None = None


class InterventionPublic(BaseModel):
    id: UUID
    aire_id: UUID
    kind: str
    label: str
    started_at: AwareDatetime
    ended_at: AwareDatetime | None
    who: list[UUID]
    emplacements: list[str]
    description: str
    status: str
    cost_cents: int | None
    supplier_ref: str | None
    follows: UUID | None
    stay_id: UUID | None
    out_of_service_from: date | None
    back_in_service_on: date | None
    out_of_service_days: int
    recorded_at: AwareDatetime
    version: int
    position: int | None = None


class InterventionsPublic(Page[InterventionPublic]):
    pass


class TeamMemberCreate(Body):
    user_id: UUID


class TeamMemberPublic(BaseModel):
    user_id: UUID
    name: str
    role: str
