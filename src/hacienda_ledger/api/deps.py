"""Dependencies: the ledger, the authenticated user, the idempotency key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hacienda_ledger.aggregates.errors import Unauthenticated
from hacienda_ledger.aggregates.user import User
from hacienda_ledger.api.problems import ProblemError
from hacienda_ledger.application import Ledger, Outcome
from hacienda_ledger.application.commands import Command

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
        # counted in the technical journal (coalesced: journalling.py), off the loop
        await run_in_threadpool(ledger.journalling.refused_login, "no_token")
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
        description="required on every write that moves money and on uploads; a retry with "
        "the same key and body returns the original result",
    ),
]


def _scoped_key(user: User, key: str | None) -> str:
    if key is None or not key.strip():
        raise ProblemError(
            400,
            "idempotency_key_required",
            "this write is recorded once per key: send an Idempotency-Key header",
            field="Idempotency-Key",
        )
    if len(key) > 200 or not key.isprintable():
        raise ProblemError(
            400,
            "idempotency_key_invalid",
            "Idempotency-Key is at most 200 printable characters (no control character)",
            field="Idempotency-Key",
        )
    return f"{user.id}:{key.strip()}"


@dataclass(frozen=True)
class Act:
    """What a write route needs to run a command: the ledger, the authenticated user and,
    on writes that move money, the user's scoped Idempotency-Key."""

    ledger: Ledger
    user: User
    key: str | None = None

    def __call__(self, command: Callable[..., Command], /, *args: Any, **fields: Any) -> Outcome:
        """Build the command (its actor and key from the request) and handle it, the user's
        role and scope checked by the pipeline."""
        built = command(*args, actor=str(self.user.id), idempotency_key=self.key, **fields)
        return self.ledger.handle(built, self.user)


async def act(request: Request, credentials: Credentials) -> Act:
    ledger: Ledger = request.app.state.ledger
    return Act(ledger, await current_user(request, ledger, credentials))


ActDep = Annotated[Act, Depends(act)]


async def money_write(request: Request, credentials: Credentials, key: KeyHeader = None) -> Act:
    """The ledger, the user and the scoped Idempotency-Key in one dependency: each one costs
    FastAPI's dependency machinery more than a receipt's own work (measured, issue 6), and
    these are the hottest routes."""
    ledger: Ledger = request.app.state.ledger
    user = await current_user(request, ledger, credentials)
    return Act(ledger, user, _scoped_key(user, key))


MoneyWriteDep = Annotated[Act, Depends(money_write)]
KeyedWriteDep = MoneyWriteDep
"""A write that is not money but is retried as one: an upload (a retried upload whose
answer was lost would otherwise make a second document); its key is required."""
