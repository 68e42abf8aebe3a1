"""The arrêté mensuel: an aire's month sealed for everything on the aire.

One ``Seals`` aggregate per aire holds its seals, month after month, each chained to the one
before by hash (the same canonical serialisation as the registers' chain). A seal records
the head of every chain of the aire as it stood when the month was sealed — the aire, each of
its registers, each of its stays: version and a digest of what is stored for it — and the
digests of the figures the month's documents are built from. Verification recomputes them
from the stored events: an edited, deleted or inserted event before a head shows as a broken
seal. Nothing dated on or before the last sealed month's last day is accepted afterwards
(``sealed_through``); a correction is recorded in the open month. Months are sealed in
order, from the month the aire entered service (``service_start_month``): a month after one
left unsealed would freeze that one for good, unsealed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from hacienda_ledger.aggregates.errors import EarlierMonthNotSealed, InvalidPeriod, PeriodSealed
from hacienda_ledger.aggregates.integrity import GENESIS, event_hash, topic_of
from hacienda_ledger.aggregates.values import add_months, month_bounds, paris_day

if TYPE_CHECKING:
    from hacienda_ledger.aggregates.aire import Aire

NAMESPACE = UUID("0c7f1d2e-5a4b-4e3c-8d9f-6a1b2c3d4e5f")


@dataclass(frozen=True)
class ChainHead:
    """One chain of the aire at the seal: its aggregate, kind (``aire``, ``register``,
    ``stay``), version, and the digest of its stored events up to that version."""

    aggregate_id: UUID
    kind: str
    version: int
    digest: str


class Seals(Aggregate):
    """The seals of one aire, in month order."""

    @staticmethod
    def id_for(aire_id: UUID) -> UUID:
        return uuid5(NAMESPACE, f"seals:{aire_id}")

    class Started(Aggregate.Created):
        aire_id: UUID

        def apply(self, seals: Seals) -> None:
            seals.aire_id = self.aire_id
            seals.months = ()
            seals.head_hash = GENESIS

    class MonthSealed(Aggregate.Event):
        """A month sealed: the chains' heads, the figures' digests, and the seal's hash.
        v2 records the software version that sealed it, which its attestation names (v1:
        empty, the attestation names the version issuing it)."""

        class_version = 2
        month: str
        heads: tuple[ChainHead, ...]
        digests: dict[str, str]
        actor: str
        prev_hash: str
        hash: str
        software_version: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["software_version"] = ""

        def apply(self, seals: Seals) -> None:
            seals.months = (*seals.months, self.month)
            seals.head_hash = self.hash

    def __init__(self) -> None:
        """State is set by ``Started.apply``."""
        self.aire_id: UUID
        self.months: tuple[str, ...]
        self.head_hash: str

    @classmethod
    def start(cls, *, aire_id: UUID, at: datetime) -> Seals:
        return cls._create(cls.Started, id=cls.id_for(aire_id), aire_id=aire_id, timestamp=at)

    @property
    def sealed_through(self) -> date | None:
        """The last day of the last month sealed (None before the first seal)."""
        return month_bounds(self.months[-1])[1] if self.months else None

    def check_next(self, month: str, *, since: str) -> None:
        """``InvalidPeriod`` if ``month`` is before ``since`` (the aire's first month in
        service: nothing to seal); ``PeriodSealed`` if it is at or before the last one
        sealed; ``EarlierMonthNotSealed`` if a month from ``since`` to the one before
        ``month`` is not sealed. Only months after the last one sealed are counted: a gap
        left before months were sealed in order blocks nothing."""
        if month < since:
            raise InvalidPeriod(
                f"the aire entered service in {since}: {month} has nothing to seal",
                field="month",
            )
        if self.months and month <= self.months[-1]:
            raise PeriodSealed(f"{self.months[-1]} is sealed already", field="month")
        first = since
        if self.months:
            first = max(first, add_months(month_bounds(self.months[-1])[0], 1).isoformat()[:7])
        if first < month:
            raise EarlierMonthNotSealed(
                f"{first} is not sealed: the months are sealed in order, {first} first",
                field="month",
            )

    def seal(
        self,
        *,
        month: str,
        since: str,
        heads: tuple[ChainHead, ...],
        digests: dict[str, str],
        actor: str,
        at: datetime,
        software_version: str,
    ) -> str:
        """Seal ``month``, which must be over and the next one to seal (``check_next``:
        ``since`` is the aire's first month in service); returns the seal's hash."""
        _, last = month_bounds(month)
        if last >= paris_day(at):
            raise InvalidPeriod(f"{month} is not over yet", field="month")
        self.check_next(month, since=since)
        fields: dict[str, Any] = dict(
            month=month,
            heads=heads,
            digests=digests,
            actor=actor,
            prev_hash=self.head_hash,
            software_version=software_version,
        )
        full = dict(
            fields, originator_id=self.id, originator_version=self.version + 1, timestamp=at
        )
        digest = event_hash(topic_of(self.MonthSealed), full)
        self.trigger_event(self.MonthSealed, timestamp=at, hash=digest, **fields)
        return digest


def service_start_month(aire: Aire) -> str:
    """The first month the aire seals: the month it entered service (its
    ``in_service_from``, which may precede the day it was recorded; or an emplacement's, if
    earlier: recorded before aires had one)."""
    starts = [e.in_service_from for e in aire.emplacements.values() if e.in_service_from]
    return min([aire.in_service_from, *starts]).isoformat()[:7]


def check_not_sealed(sealed_through: date | None, days: tuple[date, ...]) -> None:
    """``PeriodSealed`` if any of ``days`` lies in a sealed month."""
    if sealed_through is None:
        return
    inside = [d for d in days if d <= sealed_through]
    if inside:
        raise PeriodSealed(
            f"{inside[0].isoformat()[:7]} is sealed (through {sealed_through}): record a "
            "régularisation in the open month instead",
            field=None,
        )
