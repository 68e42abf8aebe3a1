"""Aires: registration, emplacements, tariffs, closures, stay rules, and their registers."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, status

from hacienda_ledger.aggregates.user import Role
from hacienda_ledger.aggregates.values import DurationBand, PersonRate, SeasonalRate, Tariff
from hacienda_ledger.api import schemas as s
from hacienda_ledger.api import views
from hacienda_ledger.api.deps import Act, ActDep, LedgerDep, UserDep
from hacienda_ledger.api.pages import PageDep
from hacienda_ledger.api.params import MonthPath
from hacienda_ledger.application import Outcome
from hacienda_ledger.application import commands as c
from hacienda_ledger.application.access import Permission

router = APIRouter(prefix="/v1/aires", tags=["aires"])


def _aire(act: Act, outcome: Outcome) -> s.AirePublic:
    ledger = act.ledger
    aire = ledger.aire(outcome.aggregate_id)
    return views.aire(aire, ledger.clock(), outcome.position, team=views.team(ledger, aire))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=s.AirePublic)
def create_aire(body: s.AireCreate, act: ActDep) -> s.AirePublic:
    """Register an aire (admin, or a manager of its sector). Its code is unique."""
    return _aire(act, act(c.CreateAire, **dict(body)))


@router.get("", response_model=s.AiresPublic)
def list_aires(ledger: LedgerDep, user: UserDep, page: PageDep) -> s.AiresPublic:
    """The aires within the caller's scope, in registration order (paginated)."""
    ids, next_cursor = page.page(ledger.access.aires_in_scope(user))
    data = [views.aire_summary(ledger.aire(i)) for i in ids]
    return s.AiresPublic(data=data, count=len(data), next_cursor=next_cursor)


@router.get("/{aire_id}", response_model=s.AirePublic)
def get_aire(aire_id: UUID, ledger: LedgerDep, user: UserDep) -> s.AirePublic:
    """One aire: emplacements, current tariff, every tariff version, closures, its team."""
    ledger.access.authorize(user, Permission.READ_AIRES, aire_id=aire_id)
    # Analysts read anonymised figures only: no stay reference, no name; intervenants see
    # no stay either (nothing of households), but their team.
    aire = ledger.aire(aire_id)
    shown = user.role not in (Role.ANALYST, Role.INTERVENANT)
    team = views.team(ledger, aire) if user.role is not Role.ANALYST else None
    return views.aire(aire, ledger.clock(), show_stays=shown, team=team)


@router.post(
    "/{aire_id}/emplacements", status_code=status.HTTP_201_CREATED, response_model=s.AirePublic
)
def add_emplacement(aire_id: UUID, body: s.EmplacementCreate, act: ActDep) -> s.AirePublic:
    """Add an emplacement (default 2 places)."""
    return _aire(act, act(c.AddEmplacement, aire_id, **dict(body)))


@router.post("/{aire_id}/emplacements/{number}/out-of-service", response_model=s.AirePublic)
def out_of_service(
    aire_id: UUID, number: str, body: s.OutOfServiceCreate, act: ActDep
) -> s.AirePublic:
    """The emplacement is unavailable from ``start`` until it is back in service."""
    return _aire(act, act(c.PutOutOfService, aire_id, number=number, **dict(body)))


@router.post("/{aire_id}/emplacements/{number}/back-in-service", response_model=s.AirePublic)
def back_in_service(
    aire_id: UUID, number: str, body: s.BackInServiceCreate, act: ActDep
) -> s.AirePublic:
    """The emplacement is available again from ``start``."""
    return _aire(act, act(c.PutBackInService, aire_id, number=number, **dict(body)))


@router.post(
    "/{aire_id}/unmet-demand",
    status_code=status.HTTP_201_CREATED,
    response_model=s.UnmetDemandPublic,
)
def record_unmet_demand(
    aire_id: UUID, body: s.UnmetDemandCreate, act: ActDep
) -> s.UnmetDemandPublic:
    """A family turned away on ``day`` (cashier, régisseur or manager of the aire): the aire
    full, closed, its emplacement out of service, or the group too large; caravans and
    people. Nothing names the family. Refused (409 ``period_sealed``) in a sealed month;
    counted in the aire's occupancy and in the analytics tables."""
    outcome = act(c.RecordUnmetDemand, aire_id, **dict(body))
    return s.UnmetDemandPublic(
        aire_id=aire_id, **dict(body), version=outcome.version, position=outcome.position
    )


@router.post("/{aire_id}/tariffs", status_code=status.HTTP_201_CREATED, response_model=s.AirePublic)
def adopt_tariff(aire_id: UUID, body: s.TariffCreate, act: ActDep) -> s.AirePublic:
    """Adopt a tariff version (its délibération and effective date). Charged days are never
    repriced by a later version."""
    parts = {
        "person_rates": tuple(PersonRate(r.age_band, r.daily_cents) for r in body.person_rates),
        "seasons": tuple(
            SeasonalRate(x.start, x.end, x.pitch_fee_per_day_cents) for x in body.seasons
        ),
        "duration_bands": tuple(
            DurationBand(b.from_day, b.pitch_fee_per_day_cents) for b in body.duration_bands
        ),
    }
    tariff = Tariff(**{**dict(body), **parts})  # the body's fields are the tariff's
    return _aire(act, act(c.AdoptTariff, aire_id, tariff))


@router.post(
    "/{aire_id}/closures", status_code=status.HTTP_201_CREATED, response_model=s.AirePublic
)
def schedule_closure(aire_id: UUID, body: s.ClosureCreate, act: ActDep) -> s.AirePublic:
    """Close the aire from ``start`` to ``end`` (both included). Past one month a préfet
    derogation is required; 6 months or more is refused; occupants are told 2 months ahead
    (3 with a derogation) unless the closure is ``urgent``."""
    return _aire(act, act(c.ScheduleClosure, aire_id, **dict(body)))


@router.put("/{aire_id}/stay-rules", response_model=s.AirePublic)
def set_stay_rules(aire_id: UUID, body: s.StayRulesUpdate, act: ActDep) -> s.AirePublic:
    """Maximum consecutive days (default 90) and the extension cap (default 7 months)."""
    return _aire(act, act(c.SetStayRules, aire_id, **dict(body)))


@router.post(
    "/{aire_id}/registers", status_code=status.HTTP_201_CREATED, response_model=s.RegisterPublic
)
def open_register(aire_id: UUID, body: s.RegisterCreate, act: ActDep) -> s.RegisterPublic:
    """Open the aire's cash register (régie): acte constitutif, float, cash ceiling,
    accepted payment methods and revenue types."""
    outcome = act(c.OpenRegister, aire_id, **dict(body))
    return views.register(act.ledger.cash_register(outcome.aggregate_id), outcome.position)


@router.post("/{aire_id}/attached-registers", response_model=s.AirePublic)
def attach_register(aire_id: UUID, body: s.AttachedRegisterCreate, act: ActDep) -> s.AirePublic:
    """Let an existing register (a régie) also collect for this aire; both aires belong to
    the same collectivité."""
    return _aire(act, act(c.AttachRegister, aire_id, **dict(body)))


@router.post("/{aire_id}/seals", status_code=status.HTTP_201_CREATED, response_model=s.SealPublic)
def seal_month(aire_id: UUID, body: s.SealCreate, act: ActDep) -> s.SealPublic:
    """Seal the aire's month (its arrêté mensuel; manager or admin): every chain of the aire
    has its head recorded, and nothing dated in the month is accepted afterwards (409
    ``period_sealed``). Refused (409 ``month_not_closed``) until every register of the aire
    has closed the month, and for a month not over; (409 ``period_sealed``) for a month
    sealed already; (409 ``earlier_month_not_sealed``) while a month before it, since the
    aire entered service, is not sealed (months are sealed in order); (422
    ``invalid_period``) for a month before the aire entered service."""
    outcome = act(c.SealMonth, aire_id, **dict(body))
    sealed = [x for x in views.seals(act.ledger, aire_id) if x.month == body.month]
    return sealed[-1].model_copy(update={"position": outcome.position})


@router.post(
    "/{aire_id}/regularisations",
    status_code=status.HTTP_201_CREATED,
    response_model=s.RegularisationPublic,
)
def regularise(aire_id: UUID, body: s.RegularisationCreate, act: ActDep) -> s.RegularisationPublic:
    """Correct a sealed month from the open one (manager or admin): the place-days and the
    amount added to (negative: taken from) the sealed month's figures, and why. Listed in
    this month's report and in the year's ALT2 beside the declared figures (409
    `month_not_sealed` for a month the aire has not sealed: record the facts themselves).
    The month's occupied place-days as sealed plus all its régularisations, this one
    included, stay between 0 and its available place-days as sealed (422 `invalid_value`,
    field `place_days`)."""
    outcome = act(c.Regularise, aire_id, **dict(body))
    done = act.ledger.aire(aire_id).regularisations[-1]
    return views.read(
        s.RegularisationPublic,
        done,
        aire_id=aire_id,
        version=outcome.version,
        position=outcome.position,
    )


@router.get("/{aire_id}/seals", response_model=s.SealsPublic)
def list_seals(aire_id: UUID, ledger: LedgerDep, user: UserDep, page: PageDep) -> s.SealsPublic:
    """The aire's seals, oldest first, each with its chain heads and digests (paginated)."""
    ledger.access.authorize(user, Permission.READ_REGISTERS, aire_id=aire_id)
    ledger.aire(aire_id)
    data, next_cursor = page.page(views.seals(ledger, aire_id))
    return s.SealsPublic(data=data, count=len(data), next_cursor=next_cursor)


@router.get("/{aire_id}/verify", response_model=s.AireVerificationPublic)
def verify(aire_id: UUID, ledger: LedgerDep, user: UserDep) -> s.AireVerificationPublic:
    """Verify every chain of the aire (the aire's, its registers', its stays') and its seals
    against the stored events; each broken chain names its first broken link."""
    ledger.access.authorize(user, Permission.READ_REGISTERS, aire_id=aire_id)
    return views.aire_verification(aire_id, *ledger.audit.verify_aire(aire_id))


@router.get("/{aire_id}/seals/{month}/attestation", response_model=dict[str, Any])
def seal_attestation(aire_id: UUID, month: MonthPath, ledger: LedgerDep, user: UserDep) -> Any:
    """The seal of ``month`` as a JSON document signed with the operator's Ed25519 key (not
    in the event store): keep it outside the database; `hacienda-ledger verify
    --attestations DIR` checks the store against it."""
    ledger.access.authorize(user, Permission.READ_REGISTERS, aire_id=aire_id)
    ledger.aire(aire_id)
    return ledger.audit.attestation(aire_id, month)
