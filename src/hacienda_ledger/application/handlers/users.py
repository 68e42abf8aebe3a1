"""Handlers of the users' commands, and of their tokens'.

A token is issued by ``issue_token`` alone (with its user, or by a rotation), revoked by
``revoke_token`` and rotated by ``rotate_token``. A journal of these acts is hooked where
their events pass once recorded, ``Tokens.recorded`` (see ``application/tokens.py``), not
here: a handler may run again on a retry.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from hacienda_ledger.aggregates.errors import AlreadyExists, InvalidValue
from hacienda_ledger.aggregates.user import ASSIGNED_ROLES, ApiToken, User
from hacienda_ledger.application.access import Permission, Scope
from hacienda_ledger.application.commands import CreateUser, RevokeToken, RotateToken
from hacienda_ledger.application.handling import Change, Unit, handles, on


def issue_token(
    unit: Unit,
    token_sha256: str,
    user_id: UUID,
    *,
    actor: str,
    at: datetime,
    expires_at: datetime | None = None,
    replaces: UUID | None = None,
) -> ApiToken:
    """A token for the user, stored as its SHA-256 (the token itself is never stored),
    expiring ``token_expiry_days`` after ``at`` unless told otherwise."""
    if unit.exists(ApiToken.id_for(token_sha256)):
        raise AlreadyExists("this token is already issued", field="token")
    lifetime = timedelta(days=unit.ledger.settings.token_expiry_days)
    return ApiToken.issue(
        token_sha256=token_sha256,
        user_id=user_id,
        actor=actor,
        at=at,
        expires_at=expires_at or at + lifetime,
        replaces=replaces,
    )


#: The most aires a user is given at their creation: each is locked with the user (its
#: team lists them), and one command locks at most the pipeline's ``MAX_LOCKS`` (8) and the
#: user (on PostgreSQL each lock holds a pooled connection). More are assigned one by one,
#: ``POST /v1/aires/{id}/team``.
AIRES_AT_CREATION = 8


def team_aires(command: CreateUser) -> list[UUID]:
    """The aires whose team a user created joins, each once: those given to a role whose
    scope is assigned aire by aire (``ASSIGNED_ROLES``); ``InvalidValue`` for more than
    ``AIRES_AT_CREATION``, decided before anything is locked."""
    if command.role not in ASSIGNED_ROLES:
        return []
    aires = list(dict.fromkeys(command.aire_ids))
    if len(aires) > AIRES_AT_CREATION:
        raise InvalidValue(
            f"a user is given at most {AIRES_AT_CREATION} aires at their creation: put them "
            "in the others' teams (POST /v1/aires/{aire_id}/team)",
            field="aires",
        )
    return aires


@handles(
    CreateUser,
    permission=Permission.ADMINISTER,
    scopes=lambda _: [Scope()],
    locks=lambda c, _: [c.user_id, *team_aires(c)],
    creates=lambda c: c.user_id,
)
def create_user(command: CreateUser, unit: Unit) -> Change:
    """A user and its token; each aire given to a cashier, régisseur or intervenant lists
    them in its team, as ``assign_team_member`` would (a manager withdraws them there)."""
    for aire_id in command.aire_ids:
        unit.aire(aire_id)
    if command.collectivite_id is not None:
        unit.collectivite(command.collectivite_id)
    at = unit.now()
    user = User.create(
        user_id=command.user_id,
        name=command.name,
        role=command.role,
        sectors=tuple(command.sectors),
        aire_ids=tuple(command.aire_ids),
        collectivite_id=command.collectivite_id,
        actor=command.actor,
        at=at,
    )
    issued = issue_token(
        unit,
        command.token_sha256,
        command.user_id,
        actor=command.actor,
        at=at,
        expires_at=command.token_expires_at,
    )
    teams = [unit.aire(aire_id) for aire_id in team_aires(command)]
    for aire in teams:
        aire.assign(user_id=user.id, role=user.role.value, actor=command.actor, at=at)
    return Change(user, {}, (issued, *teams))


@on("token_id", Permission.MANAGE_TOKENS)(RevokeToken)
def revoke_token(command: RevokeToken, unit: Unit) -> Change:
    """The token refused from now on, in every process within a second
    (``application/tokens.py``)."""
    token = unit.api_token(command.token_id)
    token.revoke(actor=command.actor, at=unit.now())
    return Change(token, {"token_id": str(token.id), "revoked_at": token.revoked_at})


@handles(
    RotateToken,
    permission=Permission.MANAGE_TOKENS,
    scopes=lambda c: [Scope(token_id=c.token_id)],
    locks=lambda c, _: [c.token_id, ApiToken.id_for(c.token_sha256)],
    creates=lambda c: ApiToken.id_for(c.token_sha256),
)
def rotate_token(command: RotateToken, unit: Unit) -> Change:
    """A successor issued for the same user; the old token refused after the grace."""
    old = unit.api_token(command.token_id)
    at = unit.now()
    grace = timedelta(seconds=unit.ledger.settings.token_rotation_grace_seconds)
    new = issue_token(
        unit, command.token_sha256, old.user_id, actor=command.actor, at=at, replaces=old.id
    )
    old.rotate(successor_id=new.id, grace=grace, actor=command.actor, at=at)
    return Change(
        new,
        {"token_id": str(new.id), "replaces": str(old.id), "replaced_from": old.revoked_at},
        (old,),
    )
