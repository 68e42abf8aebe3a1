"""Idempotency records, saved in the same transaction as the command's own events.

A record's id is derived from the key, so two requests racing with one key both try to
create version 1 of the same record: the database lets one commit and the other gets a
version conflict, reloads, finds the record and returns the original outcome. No
check-then-act window exists.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from hacienda_ledger.aggregates.errors import InvalidValue
from hacienda_ledger.aggregates.integrity import canonical_bytes

NAMESPACE = UUID("a4c3f1e2-7b6d-4c5a-9e8f-0b1c2d3e4f50")


def fingerprint(command: str, payload: dict[str, Any]) -> str:
    """SHA-256 of the command's canonical content: same key, other content -> refused."""
    try:
        return hashlib.sha256(canonical_bytes(command, payload)).hexdigest()
    except TypeError as exc:
        raise InvalidValue(f"unsupported value in the request: {exc}") from None


class IdempotencyRecord(Aggregate):
    """The outcome of one command, filed under the client's idempotency key."""

    @staticmethod
    def id_for(key: str) -> UUID:
        return uuid5(NAMESPACE, key)

    class Recorded(Aggregate.Created):
        key: str
        command: str
        fingerprint: str
        target_id: UUID
        target_version: int
        result: dict[str, Any]
        actor: str

        def apply(self, record: IdempotencyRecord) -> None:
            record.key = self.key
            record.command = self.command
            record.fingerprint = self.fingerprint
            record.target_id = self.target_id
            record.target_version = self.target_version
            record.result = dict(self.result)

    key: str
    command: str
    fingerprint: str
    target_id: UUID
    target_version: int
    result: dict[str, Any]

    @classmethod
    def record(
        cls,
        *,
        key: str,
        command: str,
        fingerprint: str,
        target_id: UUID,
        target_version: int,
        result: dict[str, Any],
        actor: str,
        at: datetime,
    ) -> IdempotencyRecord:
        return cls._create(
            cls.Recorded,
            id=cls.id_for(key),
            key=key,
            command=command,
            fingerprint=fingerprint,
            target_id=target_id,
            target_version=target_version,
            result=result,
            actor=actor,
            timestamp=at,
        )
