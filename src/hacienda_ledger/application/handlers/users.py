"""Handlers of the users' commands."""

from __future__ import annotations

from hacienda_ledger.aggregates.errors import AlreadyExists
from hacienda_ledger.aggregates.user import ApiToken, User
from hacienda_ledger.application.access import Permission
from hacienda_ledger.application.commands import CreateUser
from hacienda_ledger.application.handling import Change, Scope, Unit, handles


@handles(
    CreateUser,
    permission=Permission.ADMINISTER,
    scopes=lambda _: [Scope()],
    locks=lambda c, _: [c.user_id],
    creates=lambda c: c.user_id,
)
def create_user(command: CreateUser, unit: Unit) -> Change:
    """A user and its token, stored as its SHA-256 (the token itself is never stored)."""
    for aire_id in command.aire_ids:
        unit.aire(aire_id)
    if command.collectivite_id is not None:
        unit.collectivite(command.collectivite_id)
    if unit.exists(ApiToken.id_for(command.token_sha256)):
        raise AlreadyExists("this token is already issued", field="token")
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
    issued = ApiToken.issue(
        token_sha256=command.token_sha256, user_id=command.user_id, actor=command.actor, at=at
    )
    return Change(user, {}, (issued,))
