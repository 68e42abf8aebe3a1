"""Users of the API and their access tokens.

A user has one role and a scope: a manager's collectivité and sectors of it, a cashier's or
a régisseur's aires, an auditor's collectivité. Tokens are never stored: an ``ApiToken`` is
identified by the SHA-256 of the token, so authenticating is loading one aggregate by a
derived id.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from hacienda_ledger.aggregates.errors import InvalidValue

NAMESPACE = UUID("6c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f")


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    CASHIER = "cashier"
    REGISSEUR = "regisseur"  # the person accountable for the régie's cash
    AUDITOR = "auditor"
    ANALYST = "analyst"


class User(Aggregate):
    """Someone who acts through the API. Every event records the acting user's id."""

    class Created(Aggregate.Created):
        name: str
        role: str
        sectors: tuple[str, ...]
        aire_ids: tuple[UUID, ...]
        collectivite_id: UUID | None
        actor: str

        def apply(self, user: User) -> None:
            user.name = self.name
            user.role = Role(self.role)
            user.sectors = tuple(self.sectors)
            user.aire_ids = tuple(self.aire_ids)
            user.collectivite_id = self.collectivite_id

    def __init__(self) -> None:
        """State is set by ``Created.apply``."""
        self.name: str
        self.role: Role
        self.sectors: tuple[str, ...]
        self.aire_ids: tuple[UUID, ...]
        self.collectivite_id: UUID | None

    @classmethod
    def create(
        cls,
        *,
        user_id: UUID,
        name: str,
        role: Role | str,
        sectors: tuple[str, ...] = (),
        aire_ids: tuple[UUID, ...] = (),
        collectivite_id: UUID | None = None,
        actor: str,
        at: datetime,
    ) -> User:
        if not name.strip():
            raise InvalidValue("a user has a name", field="name")
        try:
            role = Role(role)
        except ValueError:
            allowed = ", ".join(r.value for r in Role)
            raise InvalidValue(f"role is one of {allowed}", field="role") from None
        if role is Role.MANAGER and not sectors:
            raise InvalidValue("a manager is assigned sectors", field="sectors")
        if role is Role.MANAGER and collectivite_id is None:
            raise InvalidValue(
                "a manager manages sectors of one collectivité", field="collectivite_id"
            )
        if role in (Role.CASHIER, Role.REGISSEUR) and not aire_ids:
            raise InvalidValue(f"a {role.value} is assigned aires", field="aires")
        if role is Role.AUDITOR and collectivite_id is None:
            raise InvalidValue("an auditor audits one collectivité", field="collectivite_id")
        return cls._create(
            cls.Created,
            id=user_id,
            name=name,
            role=role.value,
            sectors=tuple(sectors),
            aire_ids=tuple(aire_ids),
            collectivite_id=collectivite_id,
            actor=actor,
            timestamp=at,
        )


class ApiToken(Aggregate):
    """A bearer token, known only by its hash, pointing at its user."""

    @staticmethod
    def id_for(token_sha256: str) -> UUID:
        return uuid5(NAMESPACE, f"token:{token_sha256}")

    class Issued(Aggregate.Created):
        user_id: UUID
        actor: str

        def apply(self, token: ApiToken) -> None:
            token.user_id = self.user_id

    def __init__(self) -> None:
        """State is set by ``Issued.apply``."""
        self.user_id: UUID

    @classmethod
    def issue(cls, *, token_sha256: str, user_id: UUID, actor: str, at: datetime) -> ApiToken:
        return cls._create(
            cls.Issued, id=cls.id_for(token_sha256), user_id=user_id, actor=actor, timestamp=at
        )
