"""Stays: arrival, meter readings, extensions, charges, departure."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from hacienda_ledger.aggregates.values import Composition
from hacienda_ledger.api import schemas as s
from hacienda_ledger.api import views
from hacienda_ledger.api.deps import Act, ActDep, LedgerDep, UserDep
from hacienda_ledger.application import Outcome
from hacienda_ledger.application import commands as c
from hacienda_ledger.application.access import Permission

router = APIRouter(tags=["stays"])


def _stay(act: Act, outcome: Outcome, endpoint: str) -> s.StayPublic:
    ledger = act.ledger
    stay = ledger.stay(outcome.aggregate_id)
    why = ledger.households.justifications(act.user, stay, endpoint=endpoint)
    return views.stay(ledger, stay, outcome.position, why)


@router.post(
    "/v1/aires/{aire_id}/stays", status_code=status.HTTP_201_CREATED, response_model=s.StayPublic
)
def open_stay(aire_id: UUID, body: s.StayCreate, act: ActDep) -> s.StayPublic:
    """A household arrives on a free, in-service emplacement: composition, signed agreement,
    entry inspection and opening meter indexes."""
    fields = {k: v for k, v in body if k not in ("adults", "children", "caravans")}
    children = tuple(sorted(body.children.items()))
    composition = Composition(body.adults, children, body.caravans)
    outcome = act(c.OpenStay, aire_id, composition=composition, **fields)
    return _stay(act, outcome, "POST /v1/aires/{aire_id}/stays")


@router.get("/v1/stays/{stay_id}", response_model=s.StayPublic)
def get_stay(stay_id: UUID, ledger: LedgerDep, user: UserDep) -> s.StayPublic:
    """A stay with its readings, charge lines, what was settled, balance due and deposit."""
    ledger.access.authorize(user, Permission.READ_STAYS, stay_id=stay_id)
    stay = ledger.stay(stay_id)
    why = ledger.households.justifications(user, stay, endpoint="GET /v1/stays/{stay_id}")
    return views.stay(ledger, stay, why=why)


@router.post(
    "/v1/stays/{stay_id}/meter-readings",
    status_code=status.HTTP_201_CREATED,
    response_model=s.StayPublic,
)
def record_reading(stay_id: UUID, body: s.MeterReadingCreate, act: ActDep) -> s.StayPublic:
    """Record an index; a wrong one is corrected by a reading that names it (``corrects``)."""
    return _stay(
        act,
        act(c.RecordMeterReading, stay_id, **dict(body)),
        "POST /v1/stays/{stay_id}/meter-readings",
    )


@router.post(
    "/v1/stays/{stay_id}/extensions",
    status_code=status.HTTP_201_CREATED,
    response_model=s.StayPublic,
)
def extend(stay_id: UUID, body: s.ExtensionCreate, act: ActDep) -> s.StayPublic:
    """Extend past the maximum stay (school, training, work, hospitalisation), within cap."""
    return _stay(
        act, act(c.ExtendStay, stay_id, **dict(body)), "POST /v1/stays/{stay_id}/extensions"
    )


@router.post("/v1/stays/{stay_id}/charges", response_model=s.StayPublic)
def assess_charges(stay_id: UUID, body: s.ChargeCreate, act: ActDep) -> s.StayPublic:
    """Charge every day not yet charged up to ``through``, and metered consumption."""
    return _stay(
        act, act(c.AssessCharges, stay_id, **dict(body)), "POST /v1/stays/{stay_id}/charges"
    )


@router.post("/v1/stays/{stay_id}/departure", response_model=s.StayPublic)
def depart(stay_id: UUID, body: s.DepartureCreate, act: ActDep) -> s.StayPublic:
    """The household leaves: exit inspection, closing indexes, final charges; refused while
    a deposit is still held."""
    return _stay(act, act(c.Depart, stay_id, **dict(body)), "POST /v1/stays/{stay_id}/departure")
