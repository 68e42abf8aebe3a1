"""The hash of a chained event over its bytes as stored (issue 14: verification at the
speed of reading).

An aire's, a stay's, an intervention's or a document's event recorded by this release on is
hashed over exactly what the database holds of it — its topic, aggregate id and version
(columns of the row) and its stored state, the JSON the application's transcoder writes,
with its own ``hash`` member left empty::

    hash = SHA-256( TAG + topic + "\\n" + originator_id + "\\n" + version + "\\n"
                    + state with "hash":"" )

where TAG is ``STORED_FORM_TAG``. Verifying such a row is reading it, cutting its 64-character
hash out of the bytes and hashing them: no parse, no re-serialisation. Any byte changed, added
or removed anywhere in the row changes the hash, whitespace included.

The links are read where the event's members put them: a stored state opens with its recorded
time (and, for a creation, the aggregate's topic), then ``prev_hash`` and ``hash`` (the order
of the event classes' fields: ``Chained.Event`` declares the links before any field of its
own). ``_OPENING`` reads that opening, so the links found are the event's own, not a key of
the same name inside a value, and reading them costs no scan of the row. An event whose
state does not open that way (none of ours) is hashed in the canonical form
(``integrity.event_hash``), as every chained event recorded before this release was.
Verification accepts a link whose hash matches either form: the two inputs can never be
the same bytes (this one starts with ``STORED_FORM_TAG``, the canonical form with ``{``), so
a hash commits to the event's content whichever form it was computed on.

The domain writes the bytes the way the application's ``JSONTranscoder`` does (same
compact separators, same ``{"_type_", "_data_"}`` wrappers, same names); the application's
mapper checks, as it stores each chained event, that the row it writes verifies
(``application/sealing.py``), so a difference between the two can never be stored.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from hacienda_ledger.aggregates.integrity import event_hash, topic_of

STORED_FORM_TAG = b"hacienda-ledger stored event 1\n"
_OPENING = re.compile(
    rb'\{"timestamp":\{"_type_":"datetime_iso","_data_":"[^"\\]*"\}'
    rb'(?:,"originator_topic":"[^"\\]*")?'
    rb',"prev_hash":"([0-9a-f]{64})","hash":"([0-9a-f]{64})?"'
)
"""The opening of a state hashed in its stored form: group 1 its ``prev_hash``, group 2 its
``hash`` (absent while the hash is being computed)."""


#: The library's scalar transcodings (``eventsourcing.persistence``: ``UUIDAsHex``,
#: ``DecimalAsStr``, ``DatetimeAsISO``) and ours (``DateAsISO``), by exact type as the
#: transcoder looks them up: the name it writes, and the text.
_SCALARS: dict[type, tuple[str, Callable[[Any], str]]] = {
    UUID: ("uuid_hex", lambda value: value.hex),
    Decimal: ("decimal_str", str),
    datetime: ("datetime_iso", datetime.isoformat),
    date: ("date_iso", date.isoformat),
}


def _wrapped(value: Any) -> dict[str, Any]:
    """What the transcoder writes for a value JSON has no form of (``JSONTranscoder``'s
    ``_encode_obj``; value types through ``DataclassAsDict``: their fields, in order)."""
    scalar = _SCALARS.get(type(value))
    if scalar is not None:
        return {"_type_": scalar[0], "_data_": scalar[1](value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return {"_type_": type(value).__qualname__, "_data_": fields}
    raise TypeError(f"no stored form for {type(value).__name__}")


_ENCODER = json.JSONEncoder(default=_wrapped, separators=(",", ":"), ensure_ascii=False)


def unhashed_state(event: Any) -> bytes:
    """The state the library's mapper stores for ``event`` (every member but the id and
    version, which are columns; ``class_version`` last when above 1), as our transcoder
    encodes it, with its ``hash`` member empty."""
    state = dict(vars(event), hash="")
    del state["originator_id"], state["originator_version"]
    class_version = getattr(type(event), "class_version", 1)
    if class_version > 1:
        state["class_version"] = class_version
    return _ENCODER.encode(state).encode("utf-8")


def stored_digest(topic: str, originator_id: str, version: int, unhashed: bytes) -> str:
    """The hash of a stored row whose state has its ``hash`` member empty."""
    head = b"%s\n%s\n%d\n" % (topic.encode(), originator_id.encode(), version)
    return hashlib.sha256(STORED_FORM_TAG + head + unhashed).hexdigest()


def event_link(event: Any) -> str:
    """The hash of a chained event being recorded (its ``hash`` still empty): over its
    stored form where its state opens as ``_OPENING`` reads, its canonical form otherwise."""
    topic = topic_of(type(event))
    state = unhashed_state(event)
    opening = _OPENING.match(state)
    if opening is None or opening[2] is not None:
        return event_hash(topic, vars(event))
    return stored_digest(topic, str(event.originator_id), event.originator_version, state)


def stored_links(
    topic: str, originator_id: str, version: int, state: bytes
) -> tuple[str, str] | None:
    """``(prev_hash, hash)`` of a stored row hashed in its stored form, when its hash is
    that of its bytes; None otherwise (hashed in the canonical form, or not intact: the
    canonical verification then decides and names the problem)."""
    (found,) = chain_links(originator_id, [(version, topic, state)])
    return None if found is None else (found[1], found[2])


_TAGGED = hashlib.sha256(STORED_FORM_TAG)


def chain_links(
    originator_id: str, rows: Iterable[tuple[int, str, bytes]]
) -> list[tuple[int, str, str] | None]:
    """``(version, prev_hash, hash)`` of each of one chain's rows ``(version, topic,
    state)`` hashed in its stored form whose hash is that of its bytes, None for the others
    (``stored_links`` of each, with what the rows share computed once)."""
    middle = b"\n%s\n" % originator_id.encode()
    topics: dict[str, bytes] = {}
    found: list[tuple[int, str, str] | None] = []
    append, match = found.append, _OPENING.match
    for version, topic, state in rows:
        opening = match(state)
        if opening is None or opening[2] is None:
            append(None)
            continue
        stored = opening[2]
        named = topics.get(topic)
        if named is None:
            named = topics[topic] = topic.encode() + middle
        start, end = opening.span(2)
        digest = _TAGGED.copy()
        digest.update(b"%s%d\n%s%s" % (named, version, state[:start], state[end:]))
        if digest.hexdigest().encode() == stored:
            append((version, opening[1].decode(), stored.decode()))
        else:
            append(None)
    return found


def encoded_otherwise(event: Any, stored: bytes) -> bool:
    """Whether ``stored`` — the state the application wrote for an event just built — is
    not what the domain hashed: the event's hash is that of the domain's stored form, and
    the stored bytes do not verify. (A bug: the domain's encoding and the application's
    transcoder disagree. An event read back and upcast carries the hash of the form it was
    stored in, not this one: it is not taken for a disagreement.)"""
    topic, originator = topic_of(type(event)), str(event.originator_id)
    version = event.originator_version
    if stored_links(topic, originator, version, stored) is not None:
        return False
    ours = unhashed_state(event)
    opening = _OPENING.match(ours)
    return (
        opening is not None
        and opening[2] is None
        and event.hash == stored_digest(topic, originator, version, ours)
    )
