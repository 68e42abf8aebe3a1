"""Households' personal data: reads that are logged, search, and retention.

Personal fields are sealed under each household's key (``sealing.py``); what is read here in
clear (``facts``) holds none of them. Every read of personal data by a user is logged.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.utils import get_topic

from hacienda_ledger.aggregates.errors import HouseholdNotFound
from hacienda_ledger.aggregates.household import Erased, Household, Justification
from hacienda_ledger.aggregates.stay import Stay
from hacienda_ledger.aggregates.user import User
from hacienda_ledger.aggregates.values import PARIS, paris_day
from hacienda_ledger.application.access import Permission, authorize, grants, in_scope
from hacienda_ledger.application.access_log import Access as Read

if TYPE_CHECKING:
    from hacienda_ledger.application.ledger import Ledger

_REGISTERED = get_topic(Household.Registered)
_STAY_LINKED = get_topic(Household.StayLinked)
_ERASED = get_topic(Household.PersonalDataErased)


@dataclass
class HouseholdFacts:
    """A household's clear facts: enough for scope and retention, no personal field."""

    household_id: UUID
    aire_id: UUID
    registered_at: datetime
    stays: list[tuple[UUID, UUID]] = field(default_factory=list)
    erasure_recorded: bool = False

    @property
    def aire_ids(self) -> list[UUID]:
        return list(dict.fromkeys([self.aire_id, *(aire for _, aire in self.stays)]))


@dataclass(frozen=True)
class Due:
    """A household whose personal data is due for erasure, and why."""

    household_id: UUID
    basis: str  # "last_departure" or "recorded" (it never stayed)
    since: date
    due_on: date


@dataclass(frozen=True)
class ReplayReport:
    """What a replay of the erasures found in a key store restored from a backup."""

    erased: tuple[UUID, ...]  # erasure recorded, key still there: destroyed (or due, dry run)
    missing: tuple[UUID, ...]  # no key row at all: created after the backup, now unreadable
    dry_run: bool


@dataclass(frozen=True)
class RetentionReport:
    due: tuple[Due, ...]
    access_log_entries: int  # due (dry run) or deleted
    dry_run: bool


def add_years(day: date, years: int) -> date:
    """The same day ``years`` later (28 February for a 29 February that does not exist)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def folded(text: str) -> str:
    """Lower case, without accents: how names are compared in a search."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class Households:
    """Reads of households' personal data, and retention."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def facts(self, household_id: UUID) -> HouseholdFacts:
        """What a household's events say in clear (where it was recorded, its stays, its
        erasure), read without opening a single sealed field."""
        ledger = self.ledger
        stored_events = ledger.recorder.select_events(household_id)
        if not stored_events or stored_events[0].topic != _REGISTERED:
            raise HouseholdNotFound(f"no household {household_id}")
        decode = ledger.mapper.transcoder.decode
        first = decode(stored_events[0].state)
        facts = HouseholdFacts(household_id, first["aire_id"], first["timestamp"])
        for stored in stored_events[1:]:
            if stored.topic == _STAY_LINKED:
                state = decode(stored.state)
                facts.stays.append((state["stay_id"], state["aire_id"]))
            elif stored.topic == _ERASED:
                facts.erasure_recorded = True
        return facts

    def ids(self) -> Iterator[UUID]:
        return self.ledger.ids_of(Household.Registered)

    def record_reads(self, user: User, household_ids: Iterable[UUID], endpoint: str) -> None:
        """Log a read of these households' personal data (who, when, through what)."""
        at = self.ledger.now()
        self.ledger.access_log.record(
            [
                Read(h, at, str(user.id), user.role.value, endpoint)
                for h in dict.fromkeys(household_ids)
            ]
        )

    def read(self, user: User, household_id: UUID, *, endpoint: str) -> Household:
        """A household's record for a user allowed to see it; the read is logged."""
        self.ledger.access.authorize_household(user, Permission.READ_HOUSEHOLDS, household_id)
        household = self.ledger.household(household_id)
        if not household.erased:
            self.record_reads(user, [household_id], endpoint)
        return household

    def payer_names(
        self, user: User, household_ids: Iterable[UUID], *, endpoint: str
    ) -> dict[UUID, str | Erased]:
        """Display names of the payers on receipts the user may already read (its registers);
        each household whose name is read is logged."""
        names: dict[UUID, str | Erased] = {}
        for household_id in dict.fromkeys(household_ids):
            try:
                names[household_id] = self.ledger.household(household_id).display_name
            except HouseholdNotFound:
                continue
        self.record_reads(
            user, [h for h, n in names.items() if not isinstance(n, Erased)], endpoint
        )
        return names

    def justifications(self, user: User, stay: Stay, *, endpoint: str) -> dict[int, Justification]:
        """Why each extension of the stay was granted (by the version of the stay's event),
        for staff who read the stay (the caller checked that) and households: reason and
        evidence while the household's key exists, ``ERASED`` after; nothing for a role
        that reads no household. A read of them is logged like any personal data."""
        if not stay.extensions or not grants(user, Permission.READ_HOUSEHOLDS):
            return {}
        try:
            household = self.ledger.household(stay.household_ref)
        except HouseholdNotFound:  # a stay opened before households were recorded
            return {}
        found = {j.stay_version: j for j in household.justifications if j.stay_id == stay.id}
        if found and not household.erased:
            self.record_reads(user, [household.id], endpoint)
        return found

    def search(self, user: User, name: str, *, endpoint: str) -> list[Household]:
        """Households in the user's scope whose display name or a member's name contains
        ``name`` (case and accents ignored), in registration order. Decrypts, in memory and
        for this call only, the households of the user's scope; reads of those returned are
        logged."""
        return self.search_page(user, name, endpoint=endpoint)[0]

    def search_page(
        self,
        user: User,
        name: str,
        *,
        endpoint: str,
        offset: int = 0,
        limit: int | None = None,
    ) -> tuple[list[Household], bool]:
        """``search``, a page of it: the households found from ``offset``, at most
        ``limit``, and whether more match (only those returned are logged as read)."""
        authorize(user, Permission.READ_HOUSEHOLDS)
        wanted = folded(name)
        found: list[Household] = []
        end = None if limit is None else offset + limit
        for household_id in self.ids():
            if end is not None and len(found) > end:
                break
            aires = self.ledger.access.household_aires(household_id)
            if not any(in_scope(user, a) for a in aires):
                continue
            household = self.ledger.household(household_id)
            if isinstance(household.profile, Erased):
                continue
            names = [household.profile.display_name, *(m.name for m in household.profile.members)]
            if any(wanted in folded(n) for n in names):
                found.append(household)
        page = found[offset:end]
        self.record_reads(user, [h.id for h in page], endpoint)
        return page, end is not None and len(found) > end

    def stays(self, household_id: UUID) -> list[Stay]:
        return [self.ledger.stay(stay_id) for stay_id, _ in self.facts(household_id).stays]

    def retention_due(self, today: date | None = None) -> list[Due]:
        """Households whose personal data is due for erasure on ``today`` (Paris day): no
        stay open, and ``retention_personal_data_years`` passed since the last departure
        (or since it was recorded, if it never stayed)."""
        ledger = self.ledger
        today = today or paris_day(ledger.now())
        years = ledger.settings.retention_personal_data_years
        due = []
        for household_id in self.ids():
            facts = self.facts(household_id)
            if facts.erasure_recorded or ledger.keys.key(household_id) is None:
                continue
            stays = [ledger.stay(s) for s, _ in facts.stays]
            if any(stay.is_open for stay in stays):
                continue
            departures = [paris_day(s.departed_at) for s in stays if s.departed_at is not None]
            basis = "last_departure" if departures else "recorded"
            since = max(departures) if departures else paris_day(facts.registered_at)
            due_on = add_years(since, years)
            if due_on <= today:
                due.append(Due(household_id, basis, since, due_on))
        return due

    def purge_due(self, *, dry_run: bool, actor: str = "retention") -> RetentionReport:
        """Erase the personal data due (``retention_due``) and delete the access-log entries
        older than ``retention_access_log_years``; with ``dry_run``, only say what is due."""
        ledger = self.ledger
        now = ledger.now()
        due = self.retention_due(paris_day(now))
        log_before = datetime.combine(
            add_years(paris_day(now), -ledger.settings.retention_access_log_years),
            datetime.min.time(),
            tzinfo=PARIS,
        )
        if dry_run:
            return RetentionReport(tuple(due), ledger.access_log.due(log_before), dry_run=True)
        for item in due:
            ledger.erase_household(item.household_id, reason="retention", actor=actor)
        deleted = ledger.access_log.purge(log_before, actor=actor)
        return RetentionReport(tuple(due), deleted, dry_run=False)

    def replay_erasures(self, *, dry_run: bool, actor: str = "erasure-replay") -> ReplayReport:
        """After the key store is restored from a backup: destroy again the key of every
        household whose erasure the events record (``PersonalDataErased``) but whose key the
        restored store holds; report the households that have no key row at all (registered
        after the backup: their personal data cannot be read any more)."""
        ledger = self.ledger
        erased, missing = [], []
        for household_id in self.ids():
            if ledger.keys.key(household_id) is not None:
                if self.facts(household_id).erasure_recorded:
                    erased.append(household_id)
            elif ledger.keys.destroyed(household_id) is None:
                missing.append(household_id)
        if not dry_run:
            for household_id in erased:
                ledger.journalling.destroy_key(
                    ledger.keys, household_id, at=ledger.now(), actor=actor
                )
        return ReplayReport(tuple(erased), tuple(missing), dry_run)
