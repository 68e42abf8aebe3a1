"""Chain links read straight from the stored JSON equal the transcoder's, for every chained
event class we store, and for stored bytes the fast way cannot vouch for it steps aside."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
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
from hypothesis import given, settings
from hypothesis import strategies as st

from hacienda_ledger.aggregates.integrity import (
    GENESIS,
    ChainLink,
    event_hash,
    intact_report,
    verify_chain,
)
from hacienda_ledger.application import verification
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


def careless_hash(topic: str, originator_id: str, version: int, state: bytes) -> str:
    """The hash a reader that unwraps every ``{"_type_", "_data_"}`` it meets, whatever its
    key order, fields or text, would compute: what a forger who wants the fast path to
    vouch for a row the transcoder reads otherwise writes into ``hash``."""

    def unwrap(obj: dict[str, object]) -> object:
        if set(obj) == {"_type_", "_data_"}:
            if obj["_type_"] == "uuid_hex":
                return str(UUID(str(obj["_data_"])))
            return obj["_data_"]
        return obj

    fields = json.loads(state, object_hook=unwrap)
    fields.pop("hash")
    fields.pop("class_version", None)
    fields.update(originator_id=originator_id, originator_version=version)
    text = json.dumps({"topic": topic, "fields": fields}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def forged(payload: dict[str, object], old: bytes, new: bytes) -> StoredEvent:
    """``payload``'s row with ``old`` replaced by ``new`` and the careless hash written in."""
    event = stored(payload)
    state = event.state.replace(old, new, 1)
    assert state != event.state, old
    old_hash = json.loads(state)["hash"].encode()
    new_hash = careless_hash(event.topic, str(event.originator_id), event.originator_version, state)
    return stored(payload, state.replace(old_hash, new_hash.encode(), 1))


LINE = b'{"_type_":"ReceiptLine","_data_":{"revenue_type":"deposit","amount_cents":15000}}'
STAMP = b'{"_type_":"datetime_iso","_data_":"2025-01-06T08:00:00+00:00"}'
SWAPPED = b'15000,"revenue_type":"deposit"'
COMPOSITION = (
    b'{"_type_":"Composition","_data_":{"adults":1,"children":[["0-3","2"]],"caravans":1}}'
)
UNKNOWN = b'{"_type_":"Unknown","_data_":1}'


@pytest.mark.parametrize(
    ("old", "new", "slow_way"),
    [
        # the transcoder re-encodes the wrapper with "_type_" first: altered_bytes
        (STAMP, b'{"_data_":"2025-01-06T08:00:00+00:00","_type_":"datetime_iso"}', "altered"),
        # a value type's fields in another order: altered_bytes
        (
            LINE,
            LINE.replace(
                b'"revenue_type":"deposit","amount_cents":15000',
                b'"amount_cents":15000,"revenue_type":"deposit"',
            ),
            "altered",
        ),
        # a field the value type does not have: it no longer decodes
        (LINE, LINE.replace(b"15000}", b'15000,"x":1}'), "undecodable"),
        # a field missing: it no longer decodes
        (LINE, LINE.replace(b',"amount_cents":15000', b""), "undecodable"),
        # a value type whose decoding does more than take its fields (Composition casts)
        (
            LINE,
            b'{"_type_":"Composition","_data_":{"adults":1,"children":[["0-3","2"]],"caravans":1}}',
            "altered",
        ),
        # an unknown wrapper under class_version, which verification drops afterwards
        (
            b'"number":1,',
            b'"number":1,"class_version":{"_type_":"Unknown","_data_":1},',
            "undecodable",
        ),
        # a timestamp the transcoder reads but writes otherwise
        (b"08:00:00+00:00", b"08:00:00.000000+00:00", "altered"),
        (b"08:00:00+00:00", b"08:00:00-00:00", "altered"),
        (b"2025-01-06T08", b"2025-01-06T0\xd9\xa8", "undecodable"),  # an Arabic-Indic digit 8
        (b'"ae3704c7a3f156468b5a06a9f0950e90"', b'"AE3704C7A3F156468B5A06A9F0950E90"', "altered"),
        # a float where the canonical form refuses one
        (b'"total_cents":15000', b'"total_cents":15000.0', "float"),
    ],
)
def test_rows_forged_for_a_careless_reader_are_left_to_the_transcoder(
    old: bytes, new: bytes, slow_way: str
) -> None:
    """Each row here is what the transcoder reads as something else than what a reader
    unwrapping wrappers blindly sees, with the hash that reader would compute: the fast way
    must not vouch for it (the slow way then reports it, as ``slow_way`` says)."""
    payload = next(p for p in PAYLOADS if "ReceiptIssued" in str(p["topic"]))
    event = forged(payload, old, new)
    assert fast(event) is None
    try:
        state = transcoder().decode(event.state)
    except Exception:
        assert slow_way == "undecodable"
        return
    if slow_way == "altered":
        assert transcoder().encode(state) != event.state
    else:
        assert slow_way == "float"


@given(
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5, minutes=-30))])
        | st.timezones(),
    )
)
@settings(max_examples=300)
def test_timestamps_in_the_common_form_are_vouched_for_as_the_full_check_does(
    value: datetime,
) -> None:
    """The regular expression for isoformat()'s usual form agrees with reading the text
    back with fromisoformat(), on what isoformat() writes and on near misses of it."""
    text = value.isoformat()
    variants = {
        text,
        text.replace("+00:00", "-00:00"),
        text.replace("T", " "),
        text[:19] + ".000000" + text[19:],
        text[:8] + "31" + text[10:],
        text[:11] + "24" + text[13:],
        text[:19],
    }
    for variant in variants:
        assert vouched_datetime(variant) == full_datetime_check(variant), variant


def vouched_datetime(text: str) -> bool:
    try:
        return verification._datetime(text) == text
    except verification._NotVouched:
        return False


def full_datetime_check(text: str) -> bool:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return False
    return value.tzinfo is not None and value.isoformat() == text


HASHES = st.sampled_from([GENESIS, "a" * 64, "b" * 64, "c" * 64])


@given(
    st.lists(st.tuples(st.integers(0, 6), HASHES, HASHES) | st.none(), max_size=6),
    st.none() | st.tuples(st.integers(0, 3), HASHES),
)
def test_the_intact_report_is_verify_chains_whenever_it_gives_one(
    chain: list[tuple[int, str, str] | None], after: tuple[int, str] | None
) -> None:
    """Over arbitrary links (None: a link whose hash did not check), ``intact_report`` is
    either None or exactly the report ``verify_chain`` gives."""
    links = [
        ChainLink(v, "t", {"prev_hash": p}, h, True, h)
        if link is not None
        else ChainLink(i + 1, "t", {"prev_hash": "x"}, "y", True, "z")
        for i, link in enumerate(chain)
        for v, p, h in [link or (0, "", "")]
    ]
    quick = intact_report(chain, after=after)
    full = verify_chain(links, after=after)
    assert quick is None or quick == full
    assert (quick is not None) == full.ok
