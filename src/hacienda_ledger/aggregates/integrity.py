"""Tamper evidence: the canonical serialisation of an event and the SHA-256 chain over it.

Every event of a cash register carries ``prev_hash`` (the ``hash`` of the event before it,
``GENESIS`` for the first) and ``hash``, the SHA-256 of the canonical serialisation of the
event *without* its ``hash`` field::

    canonical = JSON({"topic": <event class topic>, "fields": {<every stored field>}})

with keys sorted, no whitespace, UTF-8, and values rendered as: UUID -> "8-4-4-4-12" text,
Decimal -> its exact ``str``, datetime -> ISO 8601 with offset, date -> ISO 8601,
dataclass -> object of its fields, tuple/list -> array, str enum -> its value. Floats are
refused. ``fields`` includes ``originator_id``, ``originator_version`` and ``timestamp`` (the
recorded time), so moving an event, renumbering it or back-dating it breaks its hash.

``verify_chain`` returns every problem as a value, in stream order; the first one names the
first broken link. A chain may begin with events recorded before their class was chained
(both links ``UNCHAINED``): each is linked by the hash of its content taken with the link
before it, so the first chained event after them holds them all. See docs/integrity.md.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

GENESIS = "0" * 64
UNCHAINED = ""
"""``prev_hash`` and ``hash`` of an event recorded before its class was chained (an aire's
or a stay's, read through its upcaster): it is linked by its content instead (see
``aggregates/chained.py``)."""
CHAINED_SINCE = datetime(2026, 12, 5, tzinfo=UTC)
"""Aires' and stays' events are chained from this release on: one recorded since then
without its links is a forgery, not an old event."""


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, bool | int | str) and not isinstance(value, Enum)):
        return value
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, float):
        raise TypeError("floats are not allowed in ledger events")
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError("naive datetimes are not allowed in ledger events")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    raise TypeError(f"no canonical form for {type(value).__name__}")


def plain(value: Any) -> Any:
    """A value as the canonical serialisation writes it (JSON types only)."""
    return _plain(value)


def topic_of(cls: type) -> str:
    """The topic the library stores for a class: ``module:qualified.name``."""
    return f"{cls.__module__}:{cls.__qualname__}"


def canonical_bytes(topic: str, fields: Mapping[str, Any]) -> bytes:
    """The documented canonical serialisation of one event (``hash`` excluded)."""
    body = {"topic": topic, "fields": {k: _plain(v) for k, v in fields.items() if k != "hash"}}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(topic: str, fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(topic, fields)).hexdigest()


@dataclass(frozen=True)
class ChainLink:
    """What verification needs of one stored event, in stored order."""

    version: int
    topic: str
    fields: Mapping[str, Any] | None  # None when the stored bytes could not be decoded
    stored_hash: str | None
    canonical_bytes_ok: bool = True  # the stored bytes are the encoding of what they decode to
    computed_hash: str | None = None  # event_hash(topic, fields), when already computed


@dataclass(frozen=True)
class ChainProblem:
    """One discrepancy, as a value. ``kind`` is stable; ``version`` is the event's number."""

    version: int
    kind: str
    detail: str


@dataclass(frozen=True)
class VerificationReport:
    ok: bool
    events: int
    head_hash: str
    problems: tuple[ChainProblem, ...]

    @property
    def first_broken(self) -> ChainProblem | None:
        return self.problems[0] if self.problems else None


def intact_report(
    chain: Iterable[tuple[int, str, str] | None], *, after: tuple[int, str] | None = None
) -> VerificationReport | None:
    """The report ``verify_chain`` gives when every link is intact, or None.

    ``chain``: ``(version, prev_hash, hash)`` of each link whose hash was checked against its
    content (None for a link that was not). When they number on from ``after`` and each
    ``prev_hash`` is the hash before it, ``verify_chain`` would find nothing: this is its
    report, without a ``ChainLink`` per event. Otherwise None, and ``verify_chain`` names
    the problems. No anchor: an anchored verification goes through ``verify_chain``."""
    version, expected_prev = (0, GENESIS) if after is None else after
    for link in chain:
        if link is None or link[0] != version + 1 or link[1] != expected_prev:
            return None
        version, expected_prev = link[0], link[2]
    return VerificationReport(ok=True, events=version, head_hash=expected_prev, problems=())


def _recorded_before_chains(fields: Mapping[str, Any]) -> bool:
    recorded = fields.get("timestamp")
    return isinstance(recorded, datetime) and recorded < CHAINED_SINCE


def verify_chain(
    links: Iterable[ChainLink],
    *,
    anchor: tuple[int, str] | None = None,
    after: tuple[int, str] | None = None,
) -> VerificationReport:
    """Check every link; collect problems instead of stopping at the first.

    Problem kinds: ``undecodable`` (bytes no longer decode), ``altered_bytes`` (bytes are not
    the encoding of their content), ``hash_mismatch`` (content edited), ``broken_link``
    (``prev_hash`` is not the previous event's hash: an event deleted, inserted or moved),
    ``version_gap`` (numbering skips or repeats), ``truncated`` (the stream ends before an
    anchor taken earlier, such as a closure's sealed head or a printed receipt).

    ``after`` = (version, hash): the links continue a prefix of that many events, already
    found intact, that ended with that hash (the anchor must then lie after it).
    """
    problems: list[ChainProblem] = []
    expected_prev = GENESIS if after is None else after[1]
    expected_version = 1 if after is None else after[0] + 1
    count = 0 if after is None else after[0]
    head = expected_prev
    seen: dict[int, str] = {}
    unchained_prefix = after is None  # events from before the chain may open it
    for link in links:
        count += 1
        if link.version != expected_version:
            problems.append(
                ChainProblem(
                    link.version,
                    "version_gap",
                    f"expected event {expected_version}, found event {link.version}",
                )
            )
        expected_version = link.version + 1
        if link.fields is None:
            problems.append(ChainProblem(link.version, "undecodable", "stored bytes do not decode"))
            expected_prev = link.stored_hash or ""
            continue
        if not link.canonical_bytes_ok:
            problems.append(
                ChainProblem(
                    link.version,
                    "altered_bytes",
                    "stored bytes differ from the encoding of the event they decode to",
                )
            )
        computed = link.computed_hash or event_hash(link.topic, link.fields)
        prev = link.fields.get("prev_hash")
        if (
            unchained_prefix
            and link.stored_hash == UNCHAINED
            and prev == UNCHAINED
            and _recorded_before_chains(link.fields)
        ):
            # linked by its content, with the link before it (``chained.unchained_link``)
            linked = event_hash(link.topic, dict(link.fields, prev_hash=expected_prev))
            expected_prev = head = seen[link.version] = linked
            continue
        unchained_prefix = False
        if link.stored_hash != computed:
            problems.append(
                ChainProblem(
                    link.version,
                    "hash_mismatch",
                    f"stored hash {link.stored_hash} but content hashes to {computed}",
                )
            )
        if prev != expected_prev:
            problems.append(
                ChainProblem(
                    link.version,
                    "broken_link",
                    f"prev_hash {prev} does not match the previous event's hash {expected_prev}",
                )
            )
        expected_prev = link.stored_hash or computed
        head = expected_prev
        seen[link.version] = expected_prev
    if anchor is not None:
        anchor_version, anchor_hash = anchor
        if anchor_version > count and anchor_version not in seen:
            problems.append(
                ChainProblem(
                    anchor_version,
                    "truncated",
                    f"the stream ends at event {count} but event {anchor_version} was anchored",
                )
            )
        elif seen.get(anchor_version) != anchor_hash:
            problems.append(
                ChainProblem(
                    anchor_version,
                    "hash_mismatch",
                    f"event {anchor_version} does not carry the anchored hash {anchor_hash}",
                )
            )
    problems.sort(key=lambda p: p.version)
    return VerificationReport(
        ok=not problems, events=count, head_hash=head, problems=tuple(problems)
    )
