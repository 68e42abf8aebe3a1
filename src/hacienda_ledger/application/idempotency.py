"""Idempotency records, saved in the same transaction as the command's own events.

A record's id is derived from the key, so two requests racing with one key both try to
create version 1 of the same record: the database lets one commit and the other gets a
version conflict, finds the record and returns the original outcome. No check-then-act
window exists. The record is its one event (``Recorded``): a replay reads that event alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

NAMESPACE = UUID("a4c3f1e2-7b6d-4c5a-9e8f-0b1c2d3e4f50")


class IdempotencyRecord(Aggregate):
    """The outcome of one command, filed under the client's idempotency key."""

    @staticmethod
    def id_for(key: str) -> UUID:
        return uuid5(NAMESPACE, key)

    class Recorded(Aggregate.Created):
        """The command's name, its fingerprint, the aggregate and version it left, its
        result and who sent it."""

        key: str
        command: str
        fingerprint: str
        target_id: UUID
        target_version: int
        result: dict[str, Any]
        actor: str

    @classmethod
    def record(cls, *, key: str, at: datetime, **outcome: Any) -> IdempotencyRecord:
        """``outcome``: the ``Recorded`` event's other fields."""
        return cls._create(cls.Recorded, id=cls.id_for(key), key=key, timestamp=at, **outcome)
