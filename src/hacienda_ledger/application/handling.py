"""What a handler is given and gives back, and the table of handlers.

A handler is a short function of (command, ``Unit``) -> ``Change``: it loads what it needs
through the unit, runs the aggregates' own commands, and says which aggregate the command
was aimed at (the target: its version and events answer the caller) and what to tell the
caller (``result``). It neither locks nor saves: the pipeline does that for every command
alike (``pipeline.py``). ``handles`` files a handler with what the pipeline needs to know
about its command: the permission and scope a user needs, the aggregates to lock, the one it
creates (a second creation is ``AlreadyExists``, not a race to retry), what to undo
outside the event store when the command is not saved, and whether it runs ``alone``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from hacienda_ledger.aggregates.aire import Aire
from hacienda_ledger.aggregates.collectivite import Collectivite
from hacienda_ledger.aggregates.document import Document
from hacienda_ledger.aggregates.errors import (
    AireNotFound,
    CollectiviteNotFound,
    DocumentNotFound,
    HouseholdNotFound,
    InterventionNotFound,
    RegisterNotFound,
    StayNotFound,
    TokenNotFound,
)
from hacienda_ledger.aggregates.household import Household
from hacienda_ledger.aggregates.intervention import Intervention
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.aggregates.seal import Seals
from hacienda_ledger.aggregates.stay import Stay
from hacienda_ledger.aggregates.user import ApiToken
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


#: What the pipeline keeps between commands, written under their locks: registers (a
#: receipt each) and aires (an intervention, a document, a stay's arrival each: an aire of
#: years holds thousands of events, and loading it even from its snapshot costs tens of ms).
KEPT: tuple[type[Aggregate], ...] = (CashRegister, Aire)


class RegisterSource(Protocol):
    """Where a unit takes the registers and aires it writes under their lock (kept between
    commands by the pipeline, brought up to date first)."""

    def for_write(self, cls: type[A], aggregate_id: UUID, missing: type[Exception]) -> A: ...


class _NoSeals(LookupError):
    """An aire that has sealed nothing yet."""


class Loading:
    """Typed loaders over one generic ``load`` (each kind with its own ``NotFound``)."""

    def load(
        self, cls: type[A], aggregate_id: UUID, missing: type[Exception], version: int | None = None
    ) -> A:
        raise NotImplementedError

    def aire(self, aire_id: UUID) -> Aire:
        return self.load(Aire, aire_id, AireNotFound)

    def collectivite(self, collectivite_id: UUID) -> Collectivite:
        return self.load(Collectivite, collectivite_id, CollectiviteNotFound)

    def stay(self, stay_id: UUID) -> Stay:
        return self.load(Stay, stay_id, StayNotFound)

    def intervention(self, intervention_id: UUID) -> Intervention:
        return self.load(Intervention, intervention_id, InterventionNotFound)

    def document(self, document_id: UUID) -> Document:
        return self.load(Document, document_id, DocumentNotFound)

    def household(self, household_id: UUID) -> Household:
        """The household with its personal fields in clear (``ERASED`` once its key is
        destroyed). Read from the events each time: nothing decrypted is kept."""
        return self.load(Household, household_id, HouseholdNotFound)

    def cash_register(self, register_id: UUID, version: int | None = None) -> CashRegister:
        return self.load(CashRegister, register_id, RegisterNotFound, version)

    def api_token(self, token_id: UUID) -> ApiToken:
        return self.load(ApiToken, token_id, TokenNotFound)


class Unit(Loading):
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

    def load(
        self, cls: type[A], aggregate_id: UUID, missing: type[Exception], version: int | None = None
    ) -> A:
        assert version is None, "a unit works on aggregates as they are now"
        aggregate = self._loaded.get(aggregate_id)
        if aggregate is None:
            if cls in KEPT and self._registers and aggregate_id in self._locked:
                aggregate = self._registers.for_write(cls, aggregate_id, missing)
            else:
                aggregate = self.ledger.load(cls, aggregate_id, missing)
            self._loaded[aggregate_id] = aggregate
        if not isinstance(aggregate, cls):
            raise missing(f"no {cls.__name__.lower()} {aggregate_id}")
        return aggregate

    def seals(self, aire_id: UUID) -> Seals:
        """The aire's seals, started if it has none yet."""
        try:
            return self.load(Seals, Seals.id_for(aire_id), _NoSeals)
        except _NoSeals:
            started = Seals.start(aire_id=aire_id, at=self.now())
            self._loaded[started.id] = started
            return started

    def sealed_through(self, aire_id: UUID) -> date | None:
        """The last day of the aire's last sealed month (None: nothing sealed yet)."""
        try:
            return self.load(Seals, Seals.id_for(aire_id), _NoSeals).sealed_through
        except _NoSeals:
            return None

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
        """The registers and aires this unit loaded (to forget after a failure)."""
        return [i for i, a in self._loaded.items() if type(a) in KEPT]


@dataclass(frozen=True)
class Handling:
    """A handler and what the pipeline must know to run its command."""

    handle: Callable[[Any, Unit], Change]
    permission: Permission
    scopes: Callable[[Any], Sequence[Scope]]
    locks: Callable[[Any, Ledger], Sequence[UUID]]
    creates: Callable[[Any], UUID | None]
    abandon: Callable[[Any, Ledger], None] | None = None
    #: Never run in a group (``Pipeline._run_batch``): the commands queued before it are
    #: saved first, and those after it run after it is saved. For a handler that reads what
    #: is saved (not the unit) to decide, or that commits something of its own before the
    #: group's save: a seal (its chains' heads and figures), an erasure (the key destroyed).
    alone: bool = False


HANDLERS: dict[type[Command], Handling] = {}

__all__ = [
    "HANDLERS",
    "Change",
    "Filing",
    "Handling",
    "RegisterSource",
    "Scope",
    "Unit",
    "delegate",
    "handles",
]


Filing = Callable[[Callable[[C, Unit], Change]], Callable[[C, Unit], Change]]


def on(
    key: str,
    permission: Permission,
    *,
    locks: Callable[[Any, Ledger], Sequence[UUID]] | None = None,
    creates: Callable[[Any], UUID | None] = lambda _: None,
    abandon: Callable[[Any, Ledger], None] | None = None,
    alone: bool = False,
) -> Callable[[type[C]], Filing[C]]:
    """How handlers of commands on one aggregate are filed: the command's field ``key``
    (``aire_id``, ``stay_id``...) names the aggregate, its scope and (unless ``locks``
    says otherwise) its lock; ``creates``, ``abandon`` and ``alone``, as in ``handles``."""

    def filing(command: type[C]) -> Filing[C]:
        return handles(
            command,
            permission=permission,
            scopes=lambda c: [Scope(**{key: getattr(c, key)})],
            locks=locks or (lambda c, _: [getattr(c, key)]),
            creates=creates,
            abandon=abandon,
            alone=alone,
        )

    return filing


def delegate(
    load: Callable[[Unit, UUID], A],
    key: str,
    method: Callable[..., Any],
    answer: Callable[[A, Any], dict[str, Any]] = lambda aggregate, returned: {},
) -> Callable[[Any, Unit], Change]:
    """A handler that is one method of one aggregate: ``load`` (``Unit.aire``...) finds it
    by the command's field ``key``, and its ``method`` is called with the command's other
    arguments, the command's actor and the time; ``answer`` makes the caller's result from
    the aggregate and what the method returned. The command's fields are named as the
    method's parameters: nothing is spelled twice."""

    def handle(command: Any, unit: Unit) -> Change:
        aggregate = load(unit, getattr(command, key))
        arguments = command.arguments(key)
        returned = method(aggregate, **arguments, actor=command.actor, at=unit.now())
        return Change(aggregate, answer(aggregate, returned))

    handle.__doc__ = f"``{getattr(method, '__qualname__', method)}`` with the command's arguments."
    return handle


def handles(
    command: type[C],
    *,
    permission: Permission,
    scopes: Callable[[C], Sequence[Scope]],
    locks: Callable[[C, Ledger], Sequence[UUID]],
    creates: Callable[[C], UUID | None] = lambda _: None,
    abandon: Callable[[C, Ledger], None] | None = None,
    alone: bool = False,
) -> Filing[C]:
    """File the decorated function as the handler of ``command`` (``alone``: see
    ``Handling.alone``)."""

    def file(handler: Callable[[C, Unit], Change]) -> Callable[[C, Unit], Change]:
        if command in HANDLERS:
            raise RuntimeError(f"{command.__name__} has a handler already")
        HANDLERS[command] = Handling(handler, permission, scopes, locks, creates, abandon, alone)
        return handler

    return file
