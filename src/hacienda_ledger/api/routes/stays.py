"""Stays: arrival, meter readings, extensions, charges, departure."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from hacienda_ledger.aggregates.values import Composition
from hacienda_ledger.api import schemas as s
from hacienda_ledger.api import views
from hacienda_ledger.api.deps import LedgerDep, UserDep
from hacienda_ledger.application import Outcome
from hacienda_ledger.application import commands as c
from hacienda_ledger.application.access import Permission

router = APIRouter(tags=["stays"])


def _stay(ledger: LedgerDep, outcome: Outcome) -> s.StayPublic:
    return views.stay(ledger, ledger.stay(outcome.aggregate_id), outcome.position)


@router.post(
    "/v1/aires/{aire_id}/stays", status_code=status.HTTP_201_CREATED, response_model=s.StayPublic
)
def open_stay(aire_id: UUID, body: s.StayCreate, ledger: LedgerDep, user: UserDep) -> s.StayPublic:
    """A household arrives on a free, in-service emplacement: composition, signed agreement,
    entry inspection and opening meter indexes."""
    outcome = ledger.handle(
        c.OpenStay(
            aire_id,
            emplacement=body.emplacement,
            household_ref=body.household_ref,
            arrived_at=body.arrived_at,
            composition=Composition(
                body.adults, tuple(sorted(body.children.items())), body.caravans
            ),
            agreement_ref=body.agreement_ref,
            entry_inspection_ref=body.entry_inspection_ref,
            water_index=body.water_index,
            electricity_index=body.electricity_index,
            actor=str(user.id),
        ),
        user,
    )
    return _stay(ledger, outcome)


@router.get("/v1/stays/{stay_id}", response_model=s.StayPublic)
def get_stay(stay_id: UUID, ledger: LedgerDep, user: UserDep) -> s.StayPublic:
    """A stay with its readings, charge lines, what was settled, balance due and deposit."""
    ledger.access.authorize(user, Permission.READ_STAYS, stay_id=stay_id)
    return views.stay(ledger, ledger.stay(stay_id))


@router.post(
    "/v1/stays/{stay_id}/meter-readings",
    status_code=status.HTTP_201_CREATED,
    response_model=s.StayPublic,
)
def record_reading(
    stay_id: UUID, body: s.MeterReadingCreate, ledger: LedgerDep, user: UserDep
) -> s.StayPublic:
    """Record an index; a wrong one is corrected by a reading that names it (``corrects``)."""
    return _stay(
        ledger,
        ledger.handle(
            c.RecordMeterReading(
                stay_id,
                meter=body.meter,
                index=body.index,
                read_at=body.read_at,
                corrects=body.corrects,
                actor=str(user.id),
            ),
            user,
        ),
    )


@router.post(
    "/v1/stays/{stay_id}/extensions",
    status_code=status.HTTP_201_CREATED,
    response_model=s.StayPublic,
)
def extend(
    stay_id: UUID, body: s.ExtensionCreate, ledger: LedgerDep, user: UserDep
) -> s.StayPublic:
    """Extend past the maximum stay (school, training, work, hospitalisation), within cap."""
    return _stay(
        ledger,
        ledger.handle(
            c.ExtendStay(
                stay_id,
                reason=body.reason,
                evidence_ref=body.evidence_ref,
                until=body.until,
                actor=str(user.id),
            ),
            user,
        ),
    )


@router.post("/v1/stays/{stay_id}/charges", response_model=s.StayPublic)
def assess_charges(
    stay_id: UUID, body: s.ChargeCreate, ledger: LedgerDep, user: UserDep
) -> s.StayPublic:
    """Charge every day not yet charged up to ``through``, and metered consumption."""
    return _stay(
        ledger,
        ledger.handle(c.AssessCharges(stay_id, through=body.through, actor=str(user.id)), user),
    )


@router.post("/v1/stays/{stay_id}/departure", response_model=s.StayPublic)
def depart(
    stay_id: UUID, body: s.DepartureCreate, ledger: LedgerDep, user: UserDep
) -> s.StayPublic:
    """The household leaves: exit inspection, closing indexes, final charges; refused while
    a deposit is still held."""
    return _stay(
        ledger,
        ledger.handle(
            c.Depart(
                stay_id,
                departed_at=body.departed_at,
                exit_inspection_ref=body.exit_inspection_ref,
                water_index=body.water_index,
                electricity_index=body.electricity_index,
                actor=str(user.id),
            ),
            user,
        ),
    )
