"""Chain links read straight from the stored JSON equal the transcoder's, for every chained
event class we store, and for stored bytes the fast way cannot vouch for it steps aside."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    StoredEvent,
    UUIDAsHex,
)

from hacienda_ledger.aggregates.integrity import ChainLink, event_hash
from hacienda_ledger.application.transcodings import register_value_types
from hacienda_ledger.application.verification import fast_link

FIXTURE = Path(__file__).parents[1] / "fixtures/events-v1.jsonl"
# Events of a hash chain (registers'): the ones verification reads.
PAYLOADS = [
    p
    for p in (json.loads(line) for line in FIXTURE.read_text("utf-8").splitlines() if line)
    if "hash" in json.loads(p["state"])
]


def transcoder() -> JSONTranscoder:
    t = JSONTranscoder()
    t.register(UUIDAsHex())
    t.register(DecimalAsStr())
    t.register(DatetimeAsISO())
    register_value_types(t)
    return t


def stored(payload: dict[str, object], state: bytes | None = None) -> StoredEvent:
    return StoredEvent(
        originator_id=UUID(str(payload["originator_id"])),
        originator_version=int(str(payload["originator_version"])),
        topic=str(payload["topic"]),
        state=state if state is not None else str(payload["state"]).encode("utf-8"),
    )


def row(event: StoredEvent) -> tuple[int, str, bytes]:
    return event.originator_version, event.topic, event.state


def fast(event: StoredEvent) -> ChainLink | None:
    return fast_link(str(event.originator_id), row(event))


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: str(p["topic"]).split(":")[1])
def test_the_fast_link_hashes_what_the_transcoder_decodes(payload: dict[str, object]) -> None:
    event = stored(payload)
    link = fast(event)
    assert link is not None, "every stored event class is vouched for the fast way"
    state = transcoder().decode(event.state)
    state.pop("class_version", None)
    fields = dict(
        state, originator_id=event.originator_id, originator_version=event.originator_version
    )
    assert link.computed_hash == event_hash(event.topic, fields)
    assert link.stored_hash == state.get("hash")
    assert link.fields is not None and link.fields["prev_hash"] == state.get("prev_hash")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"T08", b" 08"),  # the same instant written otherwise
        (b'"number":', b'"number": '),  # the same JSON in other bytes
        (b'"hash":"', b'"hash":"0'),  # a hash that does not match: the slow way names it
        (b',"', b', "'),  # whitespace
        (b'"_type_":"uuid_hex"', b'"_type_":"uuid_str"'),  # a wrapper it does not know
    ],
)
def test_bytes_it_cannot_vouch_for_are_left_to_the_transcoder(old: bytes, new: bytes) -> None:
    payload = next(p for p in PAYLOADS if "ReceiptIssued" in str(p["topic"]))
    original = str(payload["state"]).encode("utf-8")
    if old == b'"T':
        old, new = b"T08", b" 08"
    assert old in original
    assert fast(stored(payload, original.replace(old, new, 1))) is None
