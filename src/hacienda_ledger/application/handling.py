"""What a handler is given and gives back, and the table of handlers.

A handler is a short function of (command, ``Unit``) -> ``Change``: it loads what it needs
through the unit, runs the aggregates' own commands, and says which aggregate the command
was aimed at (the target: its version and events answer the caller) and what to tell the
caller (``result``). It neither locks nor saves: the pipeline does that for every command
alike (``pipeline.py``). ``handles`` files a handler with what the pipeline needs to know
about its command: the permission and scope a user needs, the aggregates to lock, the one it
creates (a second creation is ``AlreadyExists``, not a race to retry), and what to undo
outside the event store when the command is not saved.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from hacienda_ledger.aggregates.aire import Aire
from hacienda_ledger.aggregates.collectivite import Collectivite
from hacienda_ledger.aggregates.errors import (
    AireNotFound,
    CollectiviteNotFound,
    HouseholdNotFound,
    RegisterNotFound,
    StayNotFound,
)
from hacienda_ledger.aggregates.household import Household
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.aggregates.stay import Stay
from hacienda_ledger.application.access import Permission, Scope
from hacienda_ledger.application.commands import Command

if TYPE_CHECKING:
    from hacienda_ledger.application.ledger import Ledger

A = TypeVar("A", bound=Aggregate)
C = TypeVar("C", bound=Command)


@dataclass(frozen=True)
class Change:
    """What a handler did: the aggregate aimed at, the others it changed, the answer."""

    target: Aggregate
    result: dict[str, Any] = field(default_factory=dict)
    others: tuple[Aggregate, ...] = ()


class RegisterSource(Protocol):
    """Where a unit takes the registers it writes under their lock (kept between commands
    by the pipeline, brought up to date first)."""

    def for_write(self, register_id: UUID) -> CashRegister: ...


class Unit:
    """The aggregates one run of commands works on: each loaded once, so that commands run
    together see each other's events; a register whose lock is held comes from the
    pipeline's ``RegisterSource``."""

    def __init__(
        self, ledger: Ledger, locked: Sequence[UUID] = (), registers: RegisterSource | None = None
    ) -> None:
        self.ledger = ledger
        self.keys = ledger.keys
        self._locked = frozenset(locked)
        self._registers = registers
        self._loaded: dict[UUID, Aggregate] = {}
        self._changed: dict[UUID, Aggregate] = {}  # in the order handlers named them

    def now(self) -> datetime:
        return self.ledger.now()

    def get(self, cls: type[A], aggregate_id: UUID, missing: type[Exception]) -> A:
        aggregate = self._loaded.get(aggregate_id)
        if aggregate is None:
            if cls is CashRegister and self._registers and aggregate_id in self._locked:
                aggregate = self._registers.for_write(aggregate_id)
            else:
                aggregate = self.ledger.load(cls, aggregate_id, missing)
            self._loaded[aggregate_id] = aggregate
        if not isinstance(aggregate, cls):
            raise missing(f"no {cls.__name__.lower()} {aggregate_id}")
        return aggregate

    def aire(self, aire_id: UUID) -> Aire:
        return self.get(Aire, aire_id, AireNotFound)

    def collectivite(self, collectivite_id: UUID) -> Collectivite:
        return self.get(Collectivite, collectivite_id, CollectiviteNotFound)

    def stay(self, stay_id: UUID) -> Stay:
        return self.get(Stay, stay_id, StayNotFound)

    def household(self, household_id: UUID) -> Household:
        return self.get(Household, household_id, HouseholdNotFound)

    def cash_register(self, register_id: UUID) -> CashRegister:
        return self.get(CashRegister, register_id, RegisterNotFound)

    def exists(self, aggregate_id: UUID) -> bool:
        return aggregate_id in self._loaded or self.ledger.exists(aggregate_id)

    def add(self, change: Change) -> None:
        """Keep what a handler created or changed (created aggregates join the unit), in
        the order it named them: the order their events are saved in."""
        for aggregate in (change.target, *change.others):
            self._loaded.setdefault(aggregate.id, aggregate)
            self._changed.setdefault(aggregate.id, aggregate)

    def pending(self) -> dict[UUID, int]:
        """How many events each aggregate of the unit has waiting to be saved."""
        return {i: len(a.pending_events) for i, a in self._loaded.items()}

    def changed_since(self, before: dict[UUID, int]) -> bool:
        return any(n != before.get(i, 0) for i, n in self.pending().items())

    def to_save(self) -> list[Aggregate]:
        """Every aggregate with events to save: those handlers named first, in order."""
        named = [a for a in self._changed.values() if a.pending_events]
        rest = [a for i, a in self._loaded.items() if i not in self._changed]
        return named + [a for a in rest if a.pending_events]

    def registers(self) -> list[UUID]:
        """The registers this unit loaded (to forget after a failure)."""
        return [i for i, a in self._loaded.items() if isinstance(a, CashRegister)]


@dataclass(frozen=True)
class Handling:
    """A handler and what the pipeline must know to run its command."""

    handle: Callable[[Any, Unit], Change]
    permission: Permission
    scopes: Callable[[Any], Sequence[Scope]]
    locks: Callable[[Any, Ledger], Sequence[UUID]]
    creates: Callable[[Any], UUID | None]
    abandon: Callable[[Any, Ledger], None] | None = None


HANDLERS: dict[type[Command], Handling] = {}

__all__ = ["HANDLERS", "Change", "Filing", "Handling", "RegisterSource", "Scope", "Unit", "handles"]


Filing = Callable[[Callable[[C, Unit], Change]], Callable[[C, Unit], Change]]


def handles(
    command: type[C],
    *,
    permission: Permission,
    scopes: Callable[[C], Sequence[Scope]],
    locks: Callable[[C, Ledger], Sequence[UUID]],
    creates: Callable[[C], UUID | None] = lambda _: None,
    abandon: Callable[[C, Ledger], None] | None = None,
) -> Filing[C]:
    """File the decorated function as the handler of ``command``."""

    def file(handler: Callable[[C, Unit], Change]) -> Callable[[C, Unit], Change]:
        if command in HANDLERS:
            raise RuntimeError(f"{command.__name__} has a handler already")
        HANDLERS[command] = Handling(handler, permission, scopes, locks, creates, abandon)
        return handler

    return file
