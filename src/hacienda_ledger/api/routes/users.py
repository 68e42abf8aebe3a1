"""Users and their bearer tokens (admin only)."""

from __future__ import annotations

from fastapi import APIRouter, status

from hacienda_ledger.api import schemas as s
from hacienda_ledger.api import views
from hacienda_ledger.api.deps import LedgerDep, UserDep
from hacienda_ledger.application.access import Permission

router = APIRouter(prefix="/v1/users", tags=["users"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=s.UserCreatedPublic)
def create_user(body: s.UserCreate, ledger: LedgerDep, user: UserDep) -> s.UserCreatedPublic:
    """Create a user with one role and its scope; the bearer token is shown once."""
    ledger.access.authorize(user, Permission.ADMINISTER)
    outcome, token = ledger.create_user(
        name=body.name,
        role=body.role,
        sectors=body.sectors,
        aire_ids=body.aires,
        collectivite_id=body.collectivite_id,
        actor=str(user.id),
    )
    created = ledger.user(outcome.aggregate_id)
    return s.UserCreatedPublic(
        **views.user(created).model_dump(),
        token=token,
        version=outcome.version,
        position=outcome.position,
    )


@router.get("/me", response_model=s.UserPublic)
def me(user: UserDep) -> s.UserPublic:
    """The authenticated user, its role and scope."""
    return views.user(user)
