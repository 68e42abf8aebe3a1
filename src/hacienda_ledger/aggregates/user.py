"""Users of the API and their access tokens.

A user has one role and a scope: a manager's collectivité and sectors of it, a cashier's or
a régisseur's aires, an auditor's collectivité. Tokens are never stored: an ``ApiToken`` is
identified by the SHA-256 of the token, so authenticating is loading one aggregate by a
derived id.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from hacienda_ledger.aggregates.errors import (
    InvalidValue,
    TokenAlreadyRevoked,
    TokenExpired,
    TokenRevoked,
)

NAMESPACE = UUID("6c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f")


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    CASHIER = "cashier"
    REGISSEUR = "regisseur"  # the person accountable for the régie's cash
    AUDITOR = "auditor"
    ANALYST = "analyst"
    INTERVENANT = "intervenant"  # works on its aires (repairs, cleaning, rounds), no cash


#: Roles whose scope is the aires they are assigned to (an aire's team).
ASSIGNED_ROLES = frozenset({Role.CASHIER, Role.REGISSEUR, Role.INTERVENANT})


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

    class AireAssigned(Aggregate.Event):
        """The user joins an aire's team: the aire enters their scope."""

        aire_id: UUID
        actor: str

        def apply(self, user: User) -> None:
            user.aire_ids = (*user.aire_ids, self.aire_id)

    class AireWithdrawn(Aggregate.Event):
        aire_id: UUID
        actor: str

        def apply(self, user: User) -> None:
            user.aire_ids = tuple(a for a in user.aire_ids if a != self.aire_id)

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
        if len(set(aire_ids)) < len(aire_ids):
            raise InvalidValue("each aire is named once", field="aires")
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

    def assign(self, *, aire_id: UUID, actor: str, at: datetime) -> None:
        """Put the aire in the scope of a user whose scope is their aires (an aire already
        there, from their creation, is left as it is)."""
        if self.role not in ASSIGNED_ROLES:
            raise InvalidValue(
                f"a {self.role.value}'s scope is not assigned aire by aire", field="user_id"
            )
        if aire_id not in self.aire_ids:
            self.trigger_event(self.AireAssigned, aire_id=aire_id, actor=actor, timestamp=at)

    def withdraw(self, *, aire_id: UUID, actor: str, at: datetime) -> None:
        """Take the aire out of the user's scope (a cashier or régisseur keeps one aire)."""
        if aire_id not in self.aire_ids:
            return
        # (distinct aires: a user created before duplicates were refused may name one twice)
        if self.role is not Role.INTERVENANT and len(set(self.aire_ids)) == 1:
            raise InvalidValue(f"a {self.role.value} is assigned aires", field="user_id")
        self.trigger_event(self.AireWithdrawn, aire_id=aire_id, actor=actor, timestamp=at)


class ApiToken(Aggregate):
    """A bearer token, known only by its hash, pointing at its user.

    A token is refused from its expiry on (``token_expired``) and from its revocation on
    (``token_revoked``): revoked at once (``Revoked``), or rotated (``Rotated``): a successor
    issued for the same user, this one revoked at the end of a short grace. Its id is the
    one handle shown and taken back (listed, revoked, rotated by it): never the token, nor
    its digest.
    """

    @staticmethod
    def id_for(token_sha256: str) -> UUID:
        return uuid5(NAMESPACE, f"token:{token_sha256}")

    class Issued(Aggregate.Created):
        """v2 (issue 16): ``expires_at``, the instant from which it is refused, and
        ``replaces``, the token it was rotated from. A v1 token carries no expiry: it expires
        its issue time plus the lifetime the settings give (``expiry``)."""

        class_version = 2
        user_id: UUID
        actor: str
        expires_at: datetime | None
        replaces: UUID | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["expires_at"] = None
            state["replaces"] = None

        def apply(self, token: ApiToken) -> None:
            token.user_id = self.user_id
            token.issued_at = self.timestamp
            token.expires_at = self.expires_at
            token.replaces = self.replaces
            token.revoked_at = None
            token.revoked_by = None
            token.successor_id = None

    class Revoked(Aggregate.Event):
        """Refused from this event's time on."""

        actor: str

        def apply(self, token: ApiToken) -> None:
            token.revoked_at = self.timestamp
            token.revoked_by = self.actor

    class Rotated(Aggregate.Event):
        """A successor issued for the same user; this token refused from ``effective_at``
        (the end of the grace: the time a client needs to switch to the successor)."""

        actor: str
        successor_id: UUID
        effective_at: datetime

        def apply(self, token: ApiToken) -> None:
            token.revoked_at = self.effective_at
            token.revoked_by = self.actor
            token.successor_id = self.successor_id

    def __init__(self) -> None:
        """State is set by ``Issued.apply``."""
        self.user_id: UUID
        self.issued_at: datetime
        self.expires_at: datetime | None
        self.replaces: UUID | None
        self.revoked_at: datetime | None
        self.revoked_by: str | None
        self.successor_id: UUID | None

    @classmethod
    def issue(
        cls,
        *,
        token_sha256: str,
        user_id: UUID,
        actor: str,
        at: datetime,
        expires_at: datetime,
        replaces: UUID | None = None,
    ) -> ApiToken:
        if expires_at <= at:
            raise InvalidValue("a token expires after it is issued", field="expires_at")
        return cls._create(
            cls.Issued,
            id=cls.id_for(token_sha256),
            user_id=user_id,
            actor=actor,
            expires_at=expires_at,
            replaces=replaces,
            timestamp=at,
        )

    def expiry(self, lifetime: timedelta) -> datetime:
        """The instant from which the token is refused for its age: as issued, or (a token
        issued before expiries were recorded) its issue time plus ``lifetime``."""
        return self.expires_at if self.expires_at is not None else self.issued_at + lifetime

    def check(self, at: datetime, lifetime: timedelta) -> None:
        """``TokenRevoked`` or ``TokenExpired`` if the token is refused at that instant."""
        if self.revoked_at is not None and at >= self.revoked_at:
            raise TokenRevoked("this bearer token is revoked")
        if at >= self.expiry(lifetime):
            raise TokenExpired("this bearer token has expired")

    def revoke(self, *, actor: str, at: datetime) -> None:
        """Refused from now on (a rotated token still in its grace is cut short)."""
        if self.revoked_at is not None and self.revoked_at <= at:
            raise TokenAlreadyRevoked(f"token {self.id} is revoked already", field="token_id")
        self.trigger_event(self.Revoked, actor=actor, timestamp=at)

    def rotate(self, *, successor_id: UUID, grace: timedelta, actor: str, at: datetime) -> None:
        """Replaced by ``successor_id``, refused once ``grace`` has passed."""
        if self.revoked_at is not None:
            raise TokenAlreadyRevoked(
                f"token {self.id} is revoked or rotated already", field="token_id"
            )
        self.trigger_event(
            self.Rotated,
            successor_id=successor_id,
            effective_at=at + grace,
            actor=actor,
            timestamp=at,
        )
