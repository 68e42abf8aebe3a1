"""Bearer tokens: one's own listed, revoked, rotated (an admin: anyone's)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from hacienda_ledger.api import schemas as s
from hacienda_ledger.api import views
from hacienda_ledger.api.deps import ActDep, LedgerDep, UserDep
from hacienda_ledger.api.pages import PageDep, PageQuery
from hacienda_ledger.application import Ledger
from hacienda_ledger.application import commands as c
from hacienda_ledger.application.access import Permission

router = APIRouter(tags=["tokens"])


def _page(ledger: Ledger, user_id: UUID, page: PageQuery) -> s.TokensPublic:
    tokens, next_cursor = page.page(ledger.tokens.of_user(user_id))
    now = ledger.now()
    data = [views.token(t, now) for t in tokens]
    return s.TokensPublic(data=data, count=len(data), next_cursor=next_cursor)


@router.get("/v1/users/me/tokens", response_model=s.TokensPublic)
def my_tokens(ledger: LedgerDep, user: UserDep, page: PageDep) -> s.TokensPublic:
    """The caller's own tokens, oldest first: id, created, expires, last used (to the
    minute), revoked; never a token nor its digest (paginated)."""
    ledger.access.authorize(user, Permission.MANAGE_TOKENS)
    return _page(ledger, user.id, page)


@router.get("/v1/users/{user_id}/tokens", response_model=s.TokensPublic)
def user_tokens(user_id: UUID, ledger: LedgerDep, user: UserDep, page: PageDep) -> s.TokensPublic:
    """A user's tokens (admin), as ``/v1/users/me/tokens`` lists the caller's."""
    ledger.access.authorize(user, Permission.ADMINISTER)
    return _page(ledger, user_id, page)


@router.post(
    "/v1/tokens/{token_id}/revocation",
    status_code=status.HTTP_201_CREATED,
    response_model=s.TokenRevokedPublic,
)
def revoke_token(token_id: UUID, act: ActDep) -> s.TokenRevokedPublic:
    """Revoke a token by its id (one's own; an admin: anyone's): refused from now on, by
    every API process within a second. Revoking it again is 409 token_already_revoked."""
    outcome = act(c.RevokeToken, token_id=token_id)
    return s.TokenRevokedPublic(
        token_id=token_id,
        revoked_at=outcome.result["revoked_at"],
        version=outcome.version,
        position=outcome.position,
    )


@router.post(
    "/v1/tokens/{token_id}/rotation",
    status_code=status.HTTP_201_CREATED,
    response_model=s.TokenRotatedPublic,
)
def rotate_token(token_id: UUID, act: ActDep) -> s.TokenRotatedPublic:
    """A new token for the same user, shown once (one's own; an admin: anyone's); the old
    one stays valid for the rotation's grace (`HACIENDA_TOKEN_ROTATION_GRACE_SECONDS`, 5
    minutes by default), then is refused as revoked."""
    outcome, secret = act.ledger.rotate_token(token_id, actor=str(act.user.id), user=act.user)
    (new,) = act.ledger.tokens.infos([outcome.aggregate_id])
    return s.TokenRotatedPublic(
        token_id=new.id,
        token=secret,
        expires_at=new.expires_at,
        replaces=token_id,
        replaced_from=outcome.result["replaced_from"],
        version=outcome.version,
        position=outcome.position,
    )
