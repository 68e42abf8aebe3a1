"""Collectivités (communes, EPCI): the local authorities that own aires."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from hacienda_ledger.aggregates.collectivite import Collectivite, Contact
from hacienda_ledger.api import schemas as s
from hacienda_ledger.api import views
from hacienda_ledger.api.deps import LedgerDep, UserDep
from hacienda_ledger.api.pages import PageDep
from hacienda_ledger.application import commands as c
from hacienda_ledger.application.access import Permission

router = APIRouter(prefix="/v1/collectivites", tags=["collectivites"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=s.CollectivitePublic)
def create_collectivite(
    body: s.CollectiviteCreate, ledger: LedgerDep, user: UserDep
) -> s.CollectivitePublic:
    """Register a collectivité (admin). Its code is unique."""
    outcome = ledger.handle(
        c.CreateCollectivite(
            code=body.code,
            name=body.name,
            siren=body.siren,
            contacts=[Contact(x.name, x.role, x.email, x.phone) for x in body.contacts],
            actor=str(user.id),
        ),
        user,
    )
    return views.collectivite(ledger.collectivite(outcome.aggregate_id), outcome.position)


@router.get("", response_model=s.CollectivitesPublic)
def list_collectivites(ledger: LedgerDep, user: UserDep, page: PageDep) -> s.CollectivitesPublic:
    """Every collectivité (public facts; any role that reads aires), in registration order
    (paginated)."""
    ledger.access.authorize(user, Permission.READ_AIRES)
    ids, next_cursor = page.page(list(ledger.ids_of(Collectivite.Registered)))
    data = [views.collectivite(ledger.collectivite(i)) for i in ids]
    return s.CollectivitesPublic(data=data, count=len(data), next_cursor=next_cursor)


@router.get("/{collectivite_id}", response_model=s.CollectivitePublic)
def get_collectivite(
    collectivite_id: UUID, ledger: LedgerDep, user: UserDep
) -> s.CollectivitePublic:
    """One collectivité."""
    ledger.access.authorize(user, Permission.READ_AIRES)
    return views.collectivite(ledger.collectivite(collectivite_id))
