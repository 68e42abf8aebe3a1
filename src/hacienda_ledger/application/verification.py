"""Chain links straight from stored bytes: verification without building domain objects.

``Ledger.verify_register`` used to decode every stored row with the transcoder (objects for
every UUID, datetime, Decimal and value type), re-encode it to compare with the stored bytes,
and walk the objects again for the canonical form. Here one row is read as plain JSON
(orjson) and walked once: each value the transcoder wrapped (``{"_type_": ..., "_data_":
...}``) is checked to be exactly how the transcoder writes that value and rendered as the
canonical form renders it; the canonical bytes are then hashed. Any row this cannot vouch
for (a wrapper it does not know, a value not in the transcoder's own form, bytes that are
not the compact encoding, a hash that does not match) returns ``None`` and is verified the
slow way, which names the problem. So this path only ever vouches for intact rows; the
reports are the same either way (tests run both over every chained event kind and every
tampered byte).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import StoredEvent

from hacienda_ledger.aggregates.integrity import ChainLink
from hacienda_ledger.application.transcodings import VALUE_TYPES

_HEX32 = re.compile(r"[0-9a-f]{32}")
_DATACLASSES = frozenset(cls.__qualname__ for cls in VALUE_TYPES)


class _NotVouched(Exception):
    """This row needs the slow way."""


def _uuid(data: Any) -> str:
    if not isinstance(data, str) or not _HEX32.fullmatch(data):
        raise _NotVouched
    return f"{data[:8]}-{data[8:12]}-{data[12:16]}-{data[16:20]}-{data[20:]}"


def _datetime(data: Any) -> str:
    if not isinstance(data, str):
        raise _NotVouched
    try:
        value = datetime.fromisoformat(data)
    except ValueError:
        raise _NotVouched from None
    if value.tzinfo is None or value.isoformat() != data:
        raise _NotVouched
    return data


def _date(data: Any) -> str:
    if not isinstance(data, str):
        raise _NotVouched
    try:
        value = date.fromisoformat(data)
    except ValueError:
        raise _NotVouched from None
    if value.isoformat() != data:
        raise _NotVouched
    return data


def _decimal(data: Any) -> str:
    if not isinstance(data, str):
        raise _NotVouched
    try:
        value = Decimal(data)
    except InvalidOperation:
        raise _NotVouched from None
    if str(value) != data:
        raise _NotVouched
    return data


_SCALARS = {
    "uuid_hex": _uuid,
    "datetime_iso": _datetime,
    "date_iso": _date,
    "decimal_str": _decimal,
}


def _plain(value: Any) -> Any:
    """The canonical rendering of a stored JSON value (see integrity.canonical_bytes)."""
    kind = type(value)
    if kind is str or kind is int or value is None or kind is bool:
        return value
    if kind is dict:
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            name, data = value["_type_"], value["_data_"]
            scalar = _SCALARS.get(name)
            if scalar is not None:
                return scalar(data)
            if name in _DATACLASSES and isinstance(data, dict):
                return {k: _plain(v) for k, v in data.items()}
            raise _NotVouched
        return {k: _plain(v) for k, v in value.items()}
    if kind is list:
        return [_plain(v) for v in value]
    raise _NotVouched  # floats (never in our events) and anything unexpected


def fast_link(stored: StoredEvent) -> ChainLink | None:
    """The chain link of one intact stored row, or None when only the slow way can tell.

    orjson parses and serialises (several times faster than the json module); the json
    module wrote the stored bytes and computed the hash, so wherever the two could differ
    the answer is None and the transcoder decides: bytes that are not what orjson writes
    back, and a hash that does not match. Hence this path only ever vouches for intact
    rows; every finding comes from the slow path, as before."""
    data = stored.state
    try:
        state = orjson.loads(data)
        if type(state) is not dict or orjson.dumps(state) != data:
            return None
        stored_hash = state.get("hash")
        originator = stored.originator_id
        fields = {k: _plain(v) for k, v in state.items() if k not in ("hash", "class_version")}
        fields["originator_id"] = str(
            originator if isinstance(originator, UUID) else UUID(str(originator))
        )
        fields["originator_version"] = stored.originator_version
        canonical = orjson.dumps(
            {"topic": stored.topic, "fields": fields}, option=orjson.OPT_SORT_KEYS
        )
    except (_NotVouched, orjson.JSONDecodeError, orjson.JSONEncodeError, ValueError, TypeError):
        return None
    computed = hashlib.sha256(canonical).hexdigest()
    if computed != stored_hash:
        return None
    return ChainLink(
        stored.originator_version,
        stored.topic,
        {"prev_hash": state.get("prev_hash")},
        stored_hash,
        True,
        computed,
    )


class VerifiedPrefixes:
    """What this process has found intact, per register, to verify again faster.

    Verifying rows 1..n is a pure function of their stored bytes (and topics and versions).
    After a verification that found nothing, checkpoints are kept every ``interval`` events
    and at the end: the SHA-256 of the rows so far (a running digest of version, topic and
    stored bytes) and the chain hash there. The next verification computes the same running
    digest over the rows it reads (at the speed of hashing them) and, where it matches a
    checkpoint, takes that prefix as intact and decodes only the rows after it. A row changed
    in any way changes the digest, so the prefix stops before it and the change is found as
    before. A verification that finds a problem adds no checkpoint.
    """

    def __init__(self, interval: int = 1024) -> None:
        self.interval = interval
        self._checkpoints: dict[Any, list[tuple[int, bytes, str]]] = {}

    @staticmethod
    def _feed(digest: Any, stored: StoredEvent) -> None:
        digest.update(
            b"%d:%d:%s:" % (stored.originator_version, len(stored.state), stored.topic.encode())
        )
        digest.update(stored.state)

    def trusted(
        self, register_id: Any, rows: Sequence[StoredEvent]
    ) -> tuple[int, tuple[int, str] | None]:
        """How many leading rows are known intact, and (version, hash) at the last of them."""
        checkpoints = self._checkpoints.get(register_id)
        if not checkpoints:
            return 0, None
        digest = hashlib.sha256()
        found: tuple[int, tuple[int, str] | None] = (0, None)
        points = iter(checkpoints)
        point = next(points, None)
        for i, stored in enumerate(rows):
            if point is None:
                break
            self._feed(digest, stored)
            if stored.originator_version == point[0]:
                if digest.digest() != point[1] or i + 1 != point[0]:
                    break
                found = (i + 1, (point[0], point[2]))
                point = next(points, None)
        return found

    def remember(
        self, register_id: Any, rows: Sequence[StoredEvent], links: list[ChainLink], skip: int
    ) -> None:
        """Keep checkpoints for rows that were all found intact (``links`` = rows[skip:])."""
        digest = hashlib.sha256()
        checkpoints: list[tuple[int, bytes, str]] = []
        for i, stored in enumerate(rows):
            self._feed(digest, stored)
            version = stored.originator_version
            if version % self.interval and i + 1 != len(rows):
                continue
            chain_hash = (
                links[i - skip].stored_hash if i >= skip else self._hash_at(register_id, version)
            )
            if chain_hash is None:
                return
            checkpoints.append((version, digest.digest(), chain_hash))
        previous = self._checkpoints.get(register_id, [])
        if not previous or checkpoints[-1][0] >= previous[-1][0]:
            self._checkpoints[register_id] = checkpoints

    def _hash_at(self, register_id: Any, version: int) -> str | None:
        for point in self._checkpoints.get(register_id, []):
            if point[0] == version:
                return point[2]
        return None
