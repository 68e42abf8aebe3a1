"""The Intervention aggregate: what was done on an aire, by whom, where, at what cost.

Cleaning, repairs, meter rounds, inspections, incidents, an official's visit: each is one
intervention of one aire, hash-chained like the aire and its stays. Its status moves once:
``planned`` to ``done`` or ``cancelled``; ``done`` and ``cancelled`` are final (a mistake is
corrected by a new intervention that ``follows`` it). An incident may put emplacements out
of service (from the Paris day it started) and back (the day it ended, when that is a later
day): the aire records both, in the same transaction (``handlers/interventions.py``).

Nothing of a household is recorded here: a stay may be named by its id, nothing else.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from hacienda_ledger.aggregates.chained import Chained
from hacienda_ledger.aggregates.errors import (
    InterventionFinal,
    InvalidAmount,
    InvalidPeriod,
    InvalidValue,
)
from hacienda_ledger.aggregates.values import paris_day


class InterventionKind(StrEnum):
    CLEANING = "cleaning"
    REPAIR = "repair"
    MAINTENANCE = "maintenance"
    METER_ROUND = "meter_round"
    INSPECTION = "inspection"
    INCIDENT = "incident"
    OFFICIAL_VISIT = "official_visit"
    PEST_CONTROL = "pest_control"
    OTHER = "other"


class InterventionStatus(StrEnum):
    PLANNED = "planned"
    DONE = "done"
    CANCELLED = "cancelled"


#: Statuses an intervention never leaves.
FINAL = frozenset({InterventionStatus.DONE, InterventionStatus.CANCELLED})


def _one_of(enum: type[StrEnum], value: str, field: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise InvalidValue(f"{field} is one of {allowed}", field=field) from None


class Intervention(Chained):
    """One intervention on one aire."""

    class Recorded(Chained.Created):
        aire_id: UUID
        kind: str
        label: str
        started_at: datetime
        ended_at: datetime | None
        who: tuple[UUID, ...]
        emplacements: tuple[str, ...]
        description: str
        status: str
        cost_cents: int | None
        supplier_ref: str | None
        follows: UUID | None
        stay_id: UUID | None
        out_of_service_from: date | None
        back_in_service_on: date | None
        actor: str

        def apply(self, intervention: Intervention) -> None:
            i = intervention
            i.aire_id = self.aire_id
            i.kind = InterventionKind(self.kind)
            i.label = self.label
            i.started_at = self.started_at
            i.ended_at = self.ended_at
            i.who = tuple(self.who)
            i.emplacements = tuple(self.emplacements)
            i.description = self.description
            i.status = InterventionStatus(self.status)
            i.cost_cents = self.cost_cents
            i.supplier_ref = self.supplier_ref
            i.follows = self.follows
            i.stay_id = self.stay_id
            i.out_of_service_from = self.out_of_service_from
            i.back_in_service_on = self.back_in_service_on
            i.recorded_at = self.timestamp
            i.actor = self.actor

    class StatusChanged(Chained.Event):
        status: str
        ended_at: datetime | None
        back_in_service_on: date | None
        actor: str

        def apply(self, intervention: Intervention) -> None:
            intervention.status = InterventionStatus(self.status)
            intervention.ended_at = self.ended_at
            intervention.back_in_service_on = self.back_in_service_on

    def __init__(self) -> None:
        """State is set by ``Recorded.apply``; declared here for readers."""
        self.aire_id: UUID
        self.kind: InterventionKind
        self.label: str
        self.started_at: datetime
        self.ended_at: datetime | None
        self.who: tuple[UUID, ...]
        self.emplacements: tuple[str, ...]
        self.description: str
        self.status: InterventionStatus
        self.cost_cents: int | None
        self.supplier_ref: str | None
        self.follows: UUID | None
        self.stay_id: UUID | None
        self.out_of_service_from: date | None
        self.back_in_service_on: date | None
        self.recorded_at: datetime
        self.actor: str

    @classmethod
    def record(
        cls,
        *,
        intervention_id: UUID,
        aire_id: UUID,
        kind: str,
        started_at: datetime,
        who: tuple[UUID, ...],
        description: str,
        label: str = "",
        ended_at: datetime | None = None,
        emplacements: tuple[str, ...] = (),
        status: str = InterventionStatus.DONE,
        cost_cents: int | None = None,
        supplier_ref: str | None = None,
        follows: UUID | None = None,
        stay_id: UUID | None = None,
        out_of_service: bool = False,
        actor: str,
        at: datetime,
    ) -> Intervention:
        """An intervention as recorded; an incident with ``out_of_service`` takes its
        emplacements out from the day it started, and back on the day it ended when the
        intervention is done and that day is a later one (``out_of_service_days``)."""
        kind_ = _one_of(InterventionKind, kind, "kind")
        status_ = _one_of(InterventionStatus, status, "status")
        if status_ is InterventionStatus.CANCELLED:
            raise InvalidValue("an intervention is recorded planned or done", field="status")
        if kind_ is InterventionKind.OTHER and not label.strip():
            raise InvalidValue("say what the intervention is (label)", field="label")
        if not description.strip():
            raise InvalidValue("say what was done (description)", field="description")
        if ended_at is not None and ended_at < started_at:
            raise InvalidPeriod("an intervention ends after it starts", field="ended_at")
        if cost_cents is not None and cost_cents < 0:
            raise InvalidAmount("a cost is zero or more cents", field="cost_cents")
        if len(set(emplacements)) != len(emplacements):
            raise InvalidValue("each emplacement is named once", field="emplacements")
        if len(set(who)) != len(who):
            raise InvalidValue("each user is named once", field="who")
        out_from = back_on = None
        if out_of_service:
            if kind_ is not InterventionKind.INCIDENT or not emplacements:
                raise InvalidValue(
                    "only an incident naming emplacements puts them out of service",
                    field="out_of_service",
                )
            out_from = paris_day(started_at)
            if status_ is InterventionStatus.DONE and ended_at is not None:
                back_on = max(out_from, paris_day(ended_at))
        return cls._create(
            cls.Recorded,
            id=intervention_id,
            aire_id=aire_id,
            kind=kind_.value,
            label=label,
            started_at=started_at,
            ended_at=ended_at,
            who=tuple(who),
            emplacements=tuple(emplacements),
            description=description,
            status=status_.value,
            cost_cents=cost_cents,
            supplier_ref=supplier_ref,
            follows=follows,
            stay_id=stay_id,
            out_of_service_from=out_from,
            back_in_service_on=back_on,
            actor=actor,
            timestamp=at,
        )

    def set_status(
        self, *, status: str, ended_at: datetime | None = None, actor: str, at: datetime
    ) -> None:
        """``planned`` to ``done`` (ending at ``ended_at``, else as recorded, else now) or to
        ``cancelled``; ``done`` and ``cancelled`` are final (``intervention_final``). The
        emplacements an incident put out of service come back on the day it ended (done)
        or the day it was cancelled."""
        new = _one_of(InterventionStatus, status, "status")
        if self.status in FINAL:
            raise InterventionFinal(
                f"this intervention is {self.status.value}: its status is final", field="status"
            )
        if new is InterventionStatus.PLANNED:
            raise InvalidValue("the intervention is already planned", field="status")
        if ended_at is not None and ended_at < self.started_at:
            raise InvalidPeriod("an intervention ends after it starts", field="ended_at")
        ended = ended_at or self.ended_at
        if new is InterventionStatus.DONE and ended is None:
            ended = max(at, self.started_at)
        back_on = self.back_in_service_on
        if self.out_of_service_from is not None and back_on is None:
            until = ended if new is InterventionStatus.DONE and ended is not None else at
            back_on = max(self.out_of_service_from, paris_day(until))
        self.trigger_event(
            self.StatusChanged,
            status=new.value,
            ended_at=ended,
            back_in_service_on=back_on,
            actor=actor,
            timestamp=at,
        )

    @property
    def out_of_service_days(self) -> int:
        """Days each emplacement named was out of service because of it (0 while it lasts)."""
        if self.out_of_service_from is None or self.back_in_service_on is None:
            return 0
        return (self.back_in_service_on - self.out_of_service_from).days
