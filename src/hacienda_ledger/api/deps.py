"""Dependencies: the ledger, the authenticated user, the idempotency key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hacienda_ledger.aggregates.errors import Unauthenticated
from hacienda_ledger.aggregates.user import User
from hacienda_ledger.api.problems import ProblemError
from hacienda_ledger.application import Ledger

bearer = HTTPBearer(auto_error=False, description="the token given when the user was created")


# Dependencies are ``async def`` when they do no IO: a sync dependency costs a hop to the
# thread pool on every request (measured: a third of a receipt's CPU time over HTTP).


async def get_ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


LedgerDep = Annotated[Ledger, Depends(get_ledger)]


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def current_user(request: Request, ledger: LedgerDep, credentials: Credentials) -> User:
    """Every request is authenticated by a bearer token (401 otherwise)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("send Authorization: Bearer <token>")
    user = ledger.access.known_user(credentials.credentials)
    if user is None:  # first use of this token here: read it from the store, off the loop
        user = await run_in_threadpool(ledger.access.authenticate, credentials.credentials)
    request.state.user = user
    return user


UserDep = Annotated[User, Depends(current_user)]


KeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="required on every write that moves money; a retry with the same key "
        "and body returns the original result",
    ),
]


async def idempotency_key(user: UserDep, key: KeyHeader = None) -> str:
    """Money-moving writes require a key (400 without). Keys are scoped to the user."""
    return _scoped_key(user, key)


def _scoped_key(user: User, key: str | None) -> str:
    if key is None or not key.strip():
        raise ProblemError(
            400,
            "idempotency_key_required",
            "this write moves money: send an Idempotency-Key header",
            field="Idempotency-Key",
        )
    if len(key) > 200:
        raise ProblemError(
            400,
            "idempotency_key_invalid",
            "Idempotency-Key is at most 200 characters",
            field="Idempotency-Key",
        )
    return f"{user.id}:{key.strip()}"


IdempotencyKeyDep = Annotated[str, Depends(idempotency_key)]


@dataclass(frozen=True)
class MoneyWrite:
    ledger: Ledger
    user: User
    key: str


async def money_write(
    request: Request, credentials: Credentials, key: KeyHeader = None
) -> MoneyWrite:
    """The ledger, the user and the scoped Idempotency-Key in one dependency: each one costs
    FastAPI's dependency machinery more than a receipt's own work (measured, issue 6), and
    this is the hottest route."""
    ledger: Ledger = request.app.state.ledger
    user = await current_user(request, ledger, credentials)
    return MoneyWrite(ledger, user, _scoped_key(user, key))


MoneyWriteDep = Annotated[MoneyWrite, Depends(money_write)]
