"""The Household aggregate: who a paying unit is, how to reach it, which documents were seen.

This is the only aggregate that holds personal data. Ledger events (stays, receipts,
registers) name a household by its opaque id only. Each household event declares which of
its fields are personal (``personal_fields``); the persistence layer seals those fields with
the household's own key before they are stored, and hands them back in clear when they are
read (see ``application/sealing.py``). Domain code only ever sees plain values, or
``ERASED`` once the household's key has been destroyed.

There is no field, anywhere, for ethnicity, community, *livret de circulation* or *commune
de rattachement*, and there never will be (``tests/unit/test_household.py`` scans for them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from hacienda_ledger.aggregates.errors import InvalidValue, PersonalDataErased


@dataclass(frozen=True)
class Erased:
    """What a personal field reads as once its household's key is destroyed."""

    def __str__(self) -> str:
        return "[erased]"


ERASED = Erased()


class Relationship(StrEnum):
    """A member's place in the household (a closed list: no free text about people)."""

    HEAD = "head"
    PARTNER = "partner"
    CHILD = "child"
    PARENT = "parent"
    GRANDPARENT = "grandparent"
    GRANDCHILD = "grandchild"
    SIBLING = "sibling"
    OTHER_RELATIVE = "other_relative"
    OTHER = "other"


class DocumentKind(StrEnum):
    """Documents seen or signed. Identity papers are *seen*: never copied, never stored."""

    OCCUPATION_AGREEMENT = "occupation_agreement"
    RULES_ACKNOWLEDGED = "rules_acknowledged"
    ENTRY_INSPECTION = "entry_inspection"
    EXIT_INSPECTION = "exit_inspection"
    IDENTITY_SEEN = "identity_seen"


AGE_BAND = re.compile(r"^(adult|\d{1,3}-\d{1,3}|\d{1,3}\+)$")
FIRST_BIRTH_YEAR = 1900


@dataclass(frozen=True)
class Member:
    """A person of the household: a name, a birth year or an age band, a relationship."""

    name: str
    birth_year: int | None = None
    age_band: str | None = None
    relationship: str = Relationship.OTHER.value


@dataclass(frozen=True)
class ContactDetails:
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Fleet:
    """Caravans or vehicles: how many, and the plates where the operator records them."""

    count: int = 0
    plates: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "plates", tuple(self.plates))


@dataclass(frozen=True)
class Profile:
    """Everything the operator keeps about a household besides its documents."""

    display_name: str
    members: tuple[Member, ...] = ()
    contact: ContactDetails = ContactDetails()
    caravans: Fleet = Fleet()
    vehicles: Fleet = Fleet()
    notes: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "members", tuple(self.members))

    def validate(self, this_year: int) -> None:
        if not self.display_name.strip():
            raise InvalidValue("a household has a display name", field="display_name")
        for i, member in enumerate(self.members):
            where = f"members.{i}"
            if not member.name.strip():
                raise InvalidValue("a member has a name", field=f"{where}.name")
            year = member.birth_year
            if year is not None and not FIRST_BIRTH_YEAR <= year <= this_year:
                raise InvalidValue(
                    f"a birth year lies between {FIRST_BIRTH_YEAR} and {this_year}",
                    field=f"{where}.birth_year",
                )
            if member.age_band is not None and not AGE_BAND.fullmatch(member.age_band):
                raise InvalidValue(
                    "an age band is adult, N-M or N+ (such as 4-17 or 60+)",
                    field=f"{where}.age_band",
                )
            try:
                Relationship(member.relationship)
            except ValueError:
                allowed = ", ".join(r.value for r in Relationship)
                raise InvalidValue(
                    f"a relationship is one of {allowed}", field=f"{where}.relationship"
                ) from None
        for name, fleet in (("caravans", self.caravans), ("vehicles", self.vehicles)):
            if fleet.count < 0:
                raise InvalidValue("a count cannot be negative", field=f"{name}.count")
            if len(fleet.plates) > fleet.count:
                raise InvalidValue("more plates than the count", field=f"{name}.plates")
            if any(not p.strip() for p in fleet.plates):
                raise InvalidValue("a plate is not blank", field=f"{name}.plates")


@dataclass(frozen=True)
class Document:
    """A document seen or signed: its kind and day stay readable after erasure (proof that
    the procedure was followed); its reference is personal and goes with the key."""

    seq: int
    kind: str
    on: date
    reference: str | Erased
    stay_id: UUID | None
    recorded_at: datetime


@dataclass(frozen=True)
class Justification:
    """Why one of its stays was extended (school, training, work, hospitalisation) and the
    evidence seen: health data among others, so both are sealed and go with the key. The
    stay's own event (``Stay.Extended``, version ``stay_version``) holds the dates only."""

    stay_id: UUID
    stay_version: int
    reason: str | Erased
    evidence_ref: str | Erased


class Household(Aggregate):
    """A paying unit on the aires: recorded at one aire, linked to its stays."""

    class Registered(Aggregate.Created):
        personal_fields: ClassVar[tuple[str, ...]] = ("profile",)
        aire_id: UUID
        profile: Profile
        actor: str

        def apply(self, household: Household) -> None:
            household.aire_id = self.aire_id
            household.profile = self.profile
            household.documents = ()
            household.stays = ()
            household.justifications = ()
            household.registered_at = self.timestamp
            household.erasure = None

    class Amended(Aggregate.Event):
        personal_fields: ClassVar[tuple[str, ...]] = ("profile",)
        profile: Profile
        actor: str

        def apply(self, household: Household) -> None:
            household.profile = self.profile

    class DocumentRecorded(Aggregate.Event):
        personal_fields: ClassVar[tuple[str, ...]] = ("reference",)
        kind: str
        on: date
        stay_id: UUID | None
        reference: str
        actor: str

        def apply(self, household: Household) -> None:
            document = Document(
                seq=len(household.documents) + 1,
                kind=self.kind,
                on=self.on,
                reference=self.reference,
                stay_id=self.stay_id,
                recorded_at=self.timestamp,
            )
            household.documents = (*household.documents, document)

    class StayLinked(Aggregate.Event):
        stay_id: UUID
        aire_id: UUID
        actor: str

        def apply(self, household: Household) -> None:
            household.stays = (*household.stays, (self.stay_id, self.aire_id))

    class ExtensionJustified(Aggregate.Event):
        personal_fields: ClassVar[tuple[str, ...]] = ("reason", "evidence_ref")
        stay_id: UUID
        stay_version: int
        reason: str
        evidence_ref: str
        actor: str

        def apply(self, household: Household) -> None:
            why = Justification(self.stay_id, self.stay_version, self.reason, self.evidence_ref)
            household.justifications = (*household.justifications, why)

    class PersonalDataErased(Aggregate.Event):
        reason: str
        actor: str

        def apply(self, household: Household) -> None:
            household.profile = ERASED
            household.documents = tuple(
                Document(d.seq, d.kind, d.on, ERASED, d.stay_id, d.recorded_at)
                for d in household.documents
            )
            household.justifications = tuple(
                Justification(j.stay_id, j.stay_version, ERASED, ERASED)
                for j in household.justifications
            )
            household.erasure = (self.timestamp, self.reason, self.actor)

    def __init__(self) -> None:
        """State is set by ``Registered.apply``."""
        self.aire_id: UUID
        self.profile: Profile | Erased
        self.documents: tuple[Document, ...]
        self.stays: tuple[tuple[UUID, UUID], ...]
        self.justifications: tuple[Justification, ...]
        self.registered_at: datetime
        self.erasure: tuple[datetime, str, str] | None

    # --- reading ------------------------------------------------------------------------

    @property
    def erased(self) -> bool:
        """The key is gone (whether or not the erasure event was recorded)."""
        return isinstance(self.profile, Erased)

    @property
    def aire_ids(self) -> frozenset[UUID]:
        """The aire where it was recorded and every aire where it has stayed."""
        return frozenset({self.aire_id, *(aire for _, aire in self.stays)})

    @property
    def display_name(self) -> str | Erased:
        return self.profile if isinstance(self.profile, Erased) else self.profile.display_name

    # --- commands -----------------------------------------------------------------------

    @classmethod
    def register(
        cls, *, household_id: UUID, aire_id: UUID, profile: Profile, actor: str, at: datetime
    ) -> Household:
        profile.validate(at.year)
        return cls._create(
            cls.Registered,
            id=household_id,
            aire_id=aire_id,
            profile=profile,
            actor=actor,
            timestamp=at,
        )

    def check_not_erased(self) -> None:
        """Personal data is neither read nor written once erased (``PersonalDataErased``)."""
        if self.erased:
            raise PersonalDataErased(f"household {self.id}'s personal data has been erased")

    def amend(self, profile: Profile, *, actor: str, at: datetime) -> bool:
        """Record the new profile; nothing is recorded when it is unchanged."""
        self.check_not_erased()
        profile.validate(at.year)
        if profile == self.profile:
            return False
        self.trigger_event(self.Amended, profile=profile, actor=actor, timestamp=at)
        return True

    def record_document(
        self,
        *,
        kind: DocumentKind | str,
        on: date,
        reference: str,
        stay_id: UUID | None,
        actor: str,
        at: datetime,
    ) -> Document:
        self.check_not_erased()
        try:
            kind = DocumentKind(kind)
        except ValueError:
            allowed = ", ".join(k.value for k in DocumentKind)
            raise InvalidValue(f"a document kind is one of {allowed}", field="kind") from None
        if on > at.date():
            raise InvalidValue("a document is recorded once seen or signed", field="date")
        if stay_id is not None and stay_id not in {s for s, _ in self.stays}:
            raise InvalidValue("that stay is not this household's", field="stay_id")
        self.trigger_event(
            self.DocumentRecorded,
            kind=kind.value,
            on=on,
            stay_id=stay_id,
            reference=reference,
            actor=actor,
            timestamp=at,
        )
        return self.documents[-1]

    def link_stay(self, *, stay_id: UUID, aire_id: UUID, actor: str, at: datetime) -> None:
        """A stay of this household opened (the stay's aire joins its scope)."""
        self.trigger_event(
            self.StayLinked, stay_id=stay_id, aire_id=aire_id, actor=actor, timestamp=at
        )

    def justify(
        self,
        *,
        stay_id: UUID,
        stay_version: int,
        reason: str,
        evidence_ref: str,
        actor: str,
        at: datetime,
    ) -> None:
        """Record, sealed, why its stay was extended (the reason and evidence the stay
        validated when it granted the extension, event ``stay_version``)."""
        self.check_not_erased()
        if stay_id not in {s for s, _ in self.stays}:
            raise InvalidValue("that stay is not this household's", field="stay_id")
        self.trigger_event(
            self.ExtensionJustified,
            stay_id=stay_id,
            stay_version=stay_version,
            reason=reason,
            evidence_ref=evidence_ref,
            actor=actor,
            timestamp=at,
        )

    def record_erasure(self, *, reason: str, actor: str, at: datetime) -> bool:
        """Record that the key was destroyed (once; ``False`` when already recorded)."""
        if self.erasure is not None:
            return False
        if not reason.strip():
            raise InvalidValue("an erasure has a reason", field="reason")
        self.trigger_event(self.PersonalDataErased, reason=reason, actor=actor, timestamp=at)
        return True
