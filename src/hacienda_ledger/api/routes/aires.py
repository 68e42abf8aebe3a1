"""Aires: registration, emplacements, tariffs, closures, stay rules, and their registers."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from hacienda_ledger.aggregates.user import Role
from hacienda_ledger.aggregates.values import DurationBand, PersonRate, SeasonalRate, Tariff
from hacienda_ledger.api import schemas as s
from hacienda_ledger.api import views
from hacienda_ledger.api.deps import LedgerDep, UserDep
from hacienda_ledger.application import Outcome
from hacienda_ledger.application import commands as c
from hacienda_ledger.application.access import Permission

router = APIRouter(prefix="/v1/aires", tags=["aires"])


def _aire(ledger: LedgerDep, outcome: Outcome) -> s.AirePublic:
    return views.aire(ledger.aire(outcome.aggregate_id), ledger.clock(), outcome.position)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=s.AirePublic)
def create_aire(body: s.AireCreate, ledger: LedgerDep, user: UserDep) -> s.AirePublic:
    """Register an aire (admin, or a manager of its sector). Its code is unique."""
    outcome = ledger.handle(
        c.CreateAire(
            code=body.code,
            name=body.name,
            collectivite_id=body.collectivite_id,
            sector=body.sector,
            mode=body.mode,
            insee_code=body.insee_code,
            departement=body.departement,
            latitude=body.latitude,
            longitude=body.longitude,
            actor=str(user.id),
        ),
        user,
    )
    return _aire(ledger, outcome)


@router.get("", response_model=s.AiresPublic)
def list_aires(ledger: LedgerDep, user: UserDep) -> s.AiresPublic:
    """The aires within the caller's scope."""
    data = [views.aire_summary(a) for a in ledger.access.aires_in_scope(user)]
    return s.AiresPublic(data=data, count=len(data))


@router.get("/{aire_id}", response_model=s.AirePublic)
def get_aire(aire_id: UUID, ledger: LedgerDep, user: UserDep) -> s.AirePublic:
    """One aire: emplacements, current tariff, every tariff version, closures."""
    ledger.access.authorize(user, Permission.READ_AIRES, aire_id=aire_id)
    # Analysts read anonymised figures only: no stay reference.
    return views.aire(
        ledger.aire(aire_id), ledger.clock(), show_stays=user.role is not Role.ANALYST
    )


@router.post(
    "/{aire_id}/emplacements", status_code=status.HTTP_201_CREATED, response_model=s.AirePublic
)
def add_emplacement(
    aire_id: UUID, body: s.EmplacementCreate, ledger: LedgerDep, user: UserDep
) -> s.AirePublic:
    """Add an emplacement (default 2 places)."""
    return _aire(
        ledger,
        ledger.handle(
            c.AddEmplacement(
                aire_id,
                number=body.number,
                places=body.places,
                surface_m2=body.surface_m2,
                actor=str(user.id),
            ),
            user,
        ),
    )


@router.post("/{aire_id}/emplacements/{number}/out-of-service", response_model=s.AirePublic)
def out_of_service(
    aire_id: UUID, number: str, body: s.OutOfServiceCreate, ledger: LedgerDep, user: UserDep
) -> s.AirePublic:
    """The emplacement is unavailable from ``start`` until it is back in service."""
    return _aire(
        ledger,
        ledger.handle(
            c.PutOutOfService(
                aire_id, number=number, start=body.start, reason=body.reason, actor=str(user.id)
            ),
            user,
        ),
    )


@router.post("/{aire_id}/emplacements/{number}/back-in-service", response_model=s.AirePublic)
def back_in_service(
    aire_id: UUID, number: str, body: s.BackInServiceCreate, ledger: LedgerDep, user: UserDep
) -> s.AirePublic:
    """The emplacement is available again from ``start``."""
    return _aire(
        ledger,
        ledger.handle(
            c.PutBackInService(aire_id, number=number, start=body.start, actor=str(user.id)), user
        ),
    )


@router.post("/{aire_id}/tariffs", status_code=status.HTTP_201_CREATED, response_model=s.AirePublic)
def adopt_tariff(
    aire_id: UUID, body: s.TariffCreate, ledger: LedgerDep, user: UserDep
) -> s.AirePublic:
    """Adopt a tariff version (its délibération and effective date). Charged days are never
    repriced by a later version."""
    tariff = Tariff(
        effective_from=body.effective_from,
        deliberation_ref=body.deliberation_ref,
        pitch_fee_per_day_cents=body.pitch_fee_per_day_cents,
        water_price_per_m3=body.water_price_per_m3,
        electricity_price_per_kwh=body.electricity_price_per_kwh,
        deposit_cents=body.deposit_cents,
        person_rates=tuple(PersonRate(r.age_band, r.daily_cents) for r in body.person_rates),
        seasons=tuple(
            SeasonalRate(x.start, x.end, x.pitch_fee_per_day_cents) for x in body.seasons
        ),
        duration_bands=tuple(
            DurationBand(b.from_day, b.pitch_fee_per_day_cents) for b in body.duration_bands
        ),
    )
    return _aire(ledger, ledger.handle(c.AdoptTariff(aire_id, tariff, actor=str(user.id)), user))


@router.post(
    "/{aire_id}/closures", status_code=status.HTTP_201_CREATED, response_model=s.AirePublic
)
def schedule_closure(
    aire_id: UUID, body: s.ClosureCreate, ledger: LedgerDep, user: UserDep
) -> s.AirePublic:
    """Close the aire from ``start`` to ``end`` (both included). Past one month a préfet
    derogation is required; 6 months or more is refused; occupants are told 2 months ahead
    (3 with a derogation) unless the closure is ``urgent``."""
    return _aire(
        ledger,
        ledger.handle(
            c.ScheduleClosure(
                aire_id,
                start=body.start,
                end=body.end,
                reason=body.reason,
                prefect_derogation_ref=body.prefect_derogation_ref,
                urgent=body.urgent,
                actor=str(user.id),
            ),
            user,
        ),
    )


@router.put("/{aire_id}/stay-rules", response_model=s.AirePublic)
def set_stay_rules(
    aire_id: UUID, body: s.StayRulesUpdate, ledger: LedgerDep, user: UserDep
) -> s.AirePublic:
    """Maximum consecutive days (default 90) and the extension cap (default 7 months)."""
    return _aire(
        ledger,
        ledger.handle(
            c.SetStayRules(
                aire_id,
                max_consecutive_days=body.max_consecutive_days,
                extension_cap_months=body.extension_cap_months,
                actor=str(user.id),
            ),
            user,
        ),
    )


@router.post(
    "/{aire_id}/registers", status_code=status.HTTP_201_CREATED, response_model=s.RegisterPublic
)
def open_register(
    aire_id: UUID, body: s.RegisterCreate, ledger: LedgerDep, user: UserDep
) -> s.RegisterPublic:
    """Open the aire's cash register (régie): acte constitutif, float, cash ceiling,
    accepted payment methods and revenue types."""
    outcome = ledger.handle(
        c.OpenRegister(
            aire_id,
            regie_ref=body.regie_ref,
            float_cents=body.float_cents,
            cash_ceiling_cents=body.cash_ceiling_cents,
            payment_methods=body.payment_methods,
            revenue_types=body.revenue_types,
            actor=str(user.id),
        ),
        user,
    )
    return views.register(ledger.cash_register(outcome.aggregate_id), outcome.position)


@router.post("/{aire_id}/attached-registers", response_model=s.AirePublic)
def attach_register(
    aire_id: UUID, body: s.AttachedRegisterCreate, ledger: LedgerDep, user: UserDep
) -> s.AirePublic:
    """Let an existing register (a régie) also collect for this aire; both aires belong to
    the same collectivité."""
    return _aire(
        ledger, ledger.handle(c.AttachRegister(aire_id, body.register_id, actor=str(user.id)), user)
    )
