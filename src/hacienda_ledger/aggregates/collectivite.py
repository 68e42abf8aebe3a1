"""The Collectivite aggregate: the local authority (commune, EPCI) that owns aires."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from hacienda_ledger.aggregates.errors import InvalidValue

NAMESPACE = UUID("0d6b7c39-2b7e-4f55-8c1a-3c8e5d1f9a20")


@dataclass(frozen=True)
class Contact:
    """A professional contact at the collectivité (who receives its reports)."""

    name: str
    role: str
    email: str
    phone: str


class Collectivite(Aggregate):
    """A commune or EPCI; identified by its code, so a code is registered once."""

    @staticmethod
    def id_for(code: str) -> UUID:
        return uuid5(NAMESPACE, f"collectivite:{code}")

    class Registered(Aggregate.Created):
        code: str
        name: str
        siren: str
        contacts: tuple[Contact, ...]
        actor: str

        def apply(self, c: Collectivite) -> None:
            c.code = self.code
            c.name = self.name
            c.siren = self.siren
            c.contacts = tuple(self.contacts)

    code: str
    name: str
    siren: str
    contacts: tuple[Contact, ...]

    @classmethod
    def register(
        cls,
        *,
        code: str,
        name: str,
        siren: str,
        contacts: tuple[Contact, ...] = (),
        actor: str,
        at: datetime,
    ) -> Collectivite:
        if not code.strip():
            raise InvalidValue("a collectivité has a code", field="code")
        if not name.strip():
            raise InvalidValue("a collectivité has a name", field="name")
        if len(siren) != 9 or not siren.isdigit():
            raise InvalidValue("a SIREN has 9 digits", field="siren")
        return cls._create(
            cls.Registered,
            id=cls.id_for(code),
            code=code,
            name=name,
            siren=siren,
            contacts=tuple(contacts),
            actor=actor,
            timestamp=at,
        )
