"""Aggregates whose events form a hash chain: the aire and its stays (registers chain theirs
by hand, ``register.py``, with the same serialisation).

Every event of a ``Chained`` aggregate carries ``prev_hash`` (the ``hash`` of the event
before it, ``GENESIS`` for the first) and ``hash``: the SHA-256 of the row it is stored as,
its own ``hash`` left empty (``stored_form.event_link``; events recorded before 2026-12-06
hashed their canonical serialisation, ``integrity.event_hash``, and still verify), computed
when the event is built, from exactly the fields it stores. Editing, deleting, inserting or
moving an event breaks the chain at that event; ``integrity.verify_chain`` names the first
broken link.

Events recorded before the chain existed (their classes' first versions) are read with
both fields empty: such an event is linked *by its content* — its link is the hash of its
content with the link before it as ``prev_hash`` (``unchained_link``), so the first chained
event after them holds all of them. A chain may start with such events only: one after a
chained event is a broken link.
"""

from __future__ import annotations

from typing import Any, Self

from eventsourcing.domain import Aggregate

from hacienda_ledger.aggregates.integrity import GENESIS, UNCHAINED, event_hash, topic_of
from hacienda_ledger.aggregates.stored_form import event_link


def unchained(state: dict[str, Any]) -> None:
    """The upcast of a stored event from before the chain: both links empty."""
    state["prev_hash"] = UNCHAINED
    state["hash"] = UNCHAINED


def unchained_link(cls: type, fields: dict[str, Any], prev: str) -> str:
    """The link of an event recorded before its class was chained: the hash of its content
    as if its ``prev_hash`` were ``prev``, the link before it — so that every such event,
    not only the last, is held by the first chained event after them."""
    return event_hash(topic_of(cls), dict(fields, prev_hash=prev))


class Chained(Aggregate):
    """An aggregate whose events are chained by hash; ``head_hash`` is its last link."""

    class Event(Aggregate.Event):
        prev_hash: str
        hash: str

        def __post_init__(self) -> None:
            # Built by ``trigger_event``/``_create`` (never when decoded): hash what it stores.
            if self.hash == UNCHAINED and self.prev_hash != UNCHAINED:
                object.__setattr__(self, "hash", event_link(self))

        def mutate(self, aggregate: Any) -> Any:
            prev = GENESIS if aggregate is None else aggregate.head_hash
            chained = super().mutate(aggregate)
            assert chained is not None
            chained.head_hash = self.hash or unchained_link(type(self), vars(self), prev)
            return chained

    class Created(Event, Aggregate.Created):
        pass

    head_hash: str

    @classmethod
    def _create(cls, event_class: type[Any], *, id: Any = None, **kwargs: Any) -> Self:
        return super()._create(event_class, id=id, prev_hash=GENESIS, hash=UNCHAINED, **kwargs)

    def trigger_event(self, event_class: type[Any], **kwargs: Any) -> None:
        super().trigger_event(event_class, prev_hash=self.head_hash, hash=UNCHAINED, **kwargs)


class EventOnceUnchained(Chained.Event):
    """An event class whose version 1 was stored before the chain existed: read with both
    links empty (``unchained``), chained from version 2. (Outside ``Chained``, so that the
    library does not make one per aggregate.)"""

    class_version = 2
    upcast_v1_v2 = staticmethod(unchained)


class CreatedOnceUnchained(EventOnceUnchained, Chained.Created):
    pass
