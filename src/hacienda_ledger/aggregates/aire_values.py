"""The values an aire holds: its emplacements, their periods out of service, its closures
and the régularisations of its sealed months (``aire.py``). Stored in events and snapshots
by their class names (``application/transcodings.py``), not their module."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from hacienda_ledger.aggregates.errors import InvalidValue


@dataclass(frozen=True)
class OutOfService:
    """An emplacement is unavailable from ``start`` up to, not including, ``end``."""

    start: date
    end: date | None
    reason: str


@dataclass(frozen=True)
class Closure:
    """The whole aire is closed from ``start`` to ``end``, both included."""

    start: date
    end: date
    reason: str
    prefect_derogation_ref: str | None
    notified_on: date
    urgent: bool

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class Regularisation:
    """A correction of a sealed month, recorded in the open month: the place-days and the
    amount it adds to (or, negative, takes from) the sealed month's figures, and why."""

    month: str
    recorded_on: date
    place_days: int
    amount_cents: int
    reason: str


@dataclass(frozen=True)
class SealedPlaceDays:
    """A sealed month's occupied and available place-days, as its seal recorded them."""

    occupied: int
    available: int

    def check(self, month: str, done: tuple[Regularisation, ...], place_days: int) -> None:
        """``InvalidValue`` (field ``place_days``) unless the month's occupied place-days,
        corrected by its régularisations ``done`` and then by ``place_days``, stay between 0
        and its available place-days: a correction cannot occupy more than was available,
        nor take away more than was occupied."""
        before = self.occupied + sum(r.place_days for r in done if r.month == month)
        after = before + place_days
        if not 0 <= after <= self.available:
            raise InvalidValue(
                f"{month} would count {after} occupied place-days: between 0 and its "
                f"{self.available} available place-days ({before} so far: {self.occupied} "
                "sealed, the rest regularised)",
                field="place_days",
            )


@dataclass
class Emplacement:
    number: str
    places: int
    surface_m2: Decimal | None
    out_of_service: tuple[OutOfService, ...] = ()
    in_service_from: date | None = None  # the day it entered service (None: unknown)

    def in_service_on(self, day: date) -> bool:
        if self.in_service_from is not None and day < self.in_service_from:
            return False
        return not any(
            p.start <= day and (p.end is None or day < p.end) for p in self.out_of_service
        )
