"""A national-scale synthetic operator, written through the application layer.

``generate(settings, aires=250, years=10, seed=1)`` builds collectivités across
départements, aires of 8–40 emplacements with their register, and then lives through every
day: tariff changes, closures, emplacements out of service, arrivals with their deposit,
weekly meter readings, charges and payments, extensions, departures with deposit refunds or
withholdings, cancellations, remittances, cash counts and day/month/year closures. Every
fact is a command of the ``Ledger`` run at a simulated time, so recorded times are the
story's.

Deterministic for a seed: every choice comes from one ``random.Random(seed)`` drawn in a
fixed order, ids are ``uuid5`` of the seed, and nothing depends on the wall clock or on set
order. See docs/generator.md for the seasonal model and the bulk path.

Two paths, same commands:

- the normal path runs each command through ``Ledger`` (lock, idempotency record, one
  transaction per command), as an API client would;
- the bulk path (``BulkWriter``, application/bulk.py) runs the very same handlers, hence the
  same aggregate commands and events, on aggregates kept in memory, and saves every event of a
  simulated day in one transaction, in the order the commands ran. It takes no lock and
  records no idempotency key: the generator is the only writer of its database.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from hacienda_ledger.aggregates.errors import AireNotFound, AlreadyExists
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.aggregates.values import PARIS, paris_day
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.bulk import BulkWriter
from hacienda_ledger.application.idempotency import IdempotencyRecord
from hacienda_ledger.demo import SimulatedClock
from hacienda_ledger.generator.plan import (
    DEPARTEMENTS,
    GenerationSummary,
    plan_world,
    target_rate,
)
from hacienda_ledger.generator.world import _World
from hacienda_ledger.settings import Settings


def _recorded_since(ledger: Ledger, position: int) -> tuple[int, int]:
    """Events of the world recorded after ``position`` (idempotency records left out;
    notification ids may have gaps), and the last position read."""
    count, start = 0, position + 1
    while batch := ledger.recorder.select_notifications(start=start, limit=5_000):
        count += sum(1 for n in batch if not n.topic.startswith(IdempotencyRecord.__module__))
        start = batch[-1].id + 1
    return count, start - 1


def register_with_history(ledger: Ledger, years: int) -> UUID:
    """A register of the database whose events span at least ``years`` years (the first
    opened that does; a generated world opens every register on its first day)."""
    for register_id in ledger.ids_of(CashRegister.Opened):
        register = ledger.cash_register(register_id)
        assert register.created_on is not None
        span = paris_day(register.modified_on) - paris_day(register.created_on)
        if span.days + 1 >= round(365.25 * years) - 1:
            return register_id
    raise ValueError(f"no register here has {years} years of events")


Progress = Callable[[int, int, int], None]  # days done, days in all, events so far


def generate(
    target: Settings | Ledger,
    *,
    aires: int,
    years: int,
    seed: int,
    start_year: int = 2016,
    bulk: bool = True,
    progress: Progress | None = None,
    days: int | None = None,
    first_day: date | None = None,
) -> GenerationSummary:
    """Generate a synthetic operator into the database of ``target`` (its settings are
    used; the generator runs its own ledger on its own simulated clock).

    The story runs from 1 January of ``start_year`` (or ``first_day``, in that year) for
    ``years`` years, or only ``days`` days (the plan is still made for ``years``): small
    worlds for tests. ``progress(days_done, days_in_all, events_so_far)`` is called after
    each simulated day. Refuses a database that already holds this world's first aire."""
    settings = target.settings if isinstance(target, Ledger) else target
    first = first_day or date(start_year, 1, 1)
    if first.year != start_year:
        raise ValueError("first_day falls in start_year")
    collectivites, sites = plan_world(aires, years, seed, start_year, first)
    last = date(start_year + years - 1, 12, 31)
    if days is not None:
        last = min(last, first + timedelta(days=days - 1))
    clock = SimulatedClock(datetime.combine(first, datetime.min.time(), PARIS).astimezone(UTC))
    ledger = (
        Ledger(settings, clock=clock, writer=BulkWriter) if bulk else Ledger(settings, clock=clock)
    )
    try:
        try:
            ledger.aire(sites[0].aire_id)
        except AireNotFound:
            pass
        else:
            raise AlreadyExists(f"aire {sites[0].code} exists: this database holds a world")
        started = time.perf_counter()
        position = ledger.last_position()
        world = _World(ledger, clock, seed, collectivites, sites)
        total = (last - first).days + 1
        day = first
        written = 0
        world.setup(day)
        for done in range(total):
            world.live(day, first=done == 0)
            if isinstance(ledger.writer, BulkWriter):
                written += ledger.writer.flush()
            else:
                counted, position = _recorded_since(ledger, position)
                written += counted
            if progress is not None:
                progress(done + 1, total, written)
            day += timedelta(days=1)
        seconds = time.perf_counter() - started
        return GenerationSummary(
            events=written,
            aires=len(sites),
            registers=tuple(s.register_id for s in sites),
            collectivites=len(collectivites),
            stays=sum(s.opened for s in sites),
            first_day=first,
            last_day=last,
            seconds=seconds,
            bulk=bulk,
        )
    finally:
        ledger.close()


__all__ = [
    "DEPARTEMENTS",
    "GenerationSummary",
    "generate",
    "plan_world",
    "register_with_history",
    "target_rate",
]
