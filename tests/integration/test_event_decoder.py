"""``EventDecoder`` (orjson, the transcoder's own transcodings) gives exactly the events of the
library's mapper: for every stored event kind, for a generated world on SQLite and
PostgreSQL, and in the projection rows rebuilt from them. Where something besides the
transcoder applies (an upcaster, a cipher, sealed household fields, a row that does not
decode) the mapper decodes the row, or raises what it raises."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.compressor import ZlibCompressor
from eventsourcing.cryptography import AESCipher
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import Environment

from hacienda_ledger.application import Ledger
from hacienda_ledger.application.decoding import EventDecoder
from hacienda_ledger.application.projecting import followers
from hacienda_ledger.application.sealing import SealingMapper
from hacienda_ledger.generator import generate
from hacienda_ledger.projections.base import Row
from hacienda_ledger.projections.runner import rebuild
from hacienda_ledger.settings import Settings

FIXTURE = Path(__file__).parents[1] / "fixtures/events-v1.jsonl"
PAYLOADS = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]


def stored_of(payload: dict[str, Any]) -> StoredEvent:
    return StoredEvent(
        originator_id=UUID(payload["originator_id"]),
        originator_version=payload["originator_version"],
        topic=payload["topic"],
        state=payload["state"].encode("utf-8"),
    )


def same_event(a: Any, b: Any) -> bool:
    """Same class, same attributes in the same order, every value of the same type (repr
    tells ``Decimal('4')`` from ``4`` and a tuple from a list, where ``==`` does not)."""
    return type(a) is type(b) and repr(vars(a)) == repr(vars(b))


@pytest.mark.parametrize(
    "payload",
    PAYLOADS,
    ids=lambda p: p["topic"].split(":")[1] + ("-v2" if "class_version" in p["state"] else ""),
)
def test_every_stored_event_kind_decodes_as_the_mapper_decodes_it(
    ledger: Ledger, payload: dict[str, Any]
) -> None:
    """Every released event class: the same event either way; household events (sealed
    personal fields) are left to the mapper, every other class is decoded directly."""
    stored = stored_of(payload)
    decoder = EventDecoder(ledger.mapper)
    assert decoder.direct
    expected = ledger.mapper.to_domain_event(stored)
    assert same_event(decoder(stored), expected)
    sealed = getattr(type(expected), "personal_fields", ())
    direct = decoder._direct(stored)
    upcast = json.loads(payload["state"]).get("class_version", 1) != getattr(
        type(expected), "class_version", 1
    )
    if sealed or upcast:  # the mapper's: sealed fields, or an upcaster to run
        assert direct is None
    else:
        assert direct is not None and same_event(direct, expected)


def test_an_integer_orjson_would_round_is_decoded_by_the_mapper(ledger: Ledger) -> None:
    """A receipt recorded before money had a ceiling, of 10^26 cents: orjson reads integers
    past 64 bits as floats (100000000000000004764729344), so the row is left to the mapper,
    which reads them exactly; an integer within 64 bits is still decoded directly."""
    (payload,) = [
        p
        for p in PAYLOADS
        if p["topic"].endswith("CashRegister.ReceiptIssued") and "class_version" in p["state"]
    ]
    huge = payload["state"].replace("15000", str(10**26))
    decoder = EventDecoder(ledger.mapper)
    for state, direct in ((huge, False), (payload["state"].replace("15000", str(2**63)), True)):
        stored = stored_of({**payload, "state": state})
        event = decoder(stored)
        assert same_event(event, ledger.mapper.to_domain_event(stored))
        assert (decoder._direct(stored) is not None) == direct
    expected = (10**26, [10**26])
    actual = decoder(stored_of({**payload, "state": huge}))
    assert expected == (actual.total_cents, [x.amount_cents for x in actual.lines])


class Noted(Aggregate):
    """A test aggregate whose event class is at version 2 (an upcaster adds a field)."""

    class Written(Aggregate.Event):
        class_version = 2
        text: str
        tone: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["tone"] = "plain"


def test_rows_of_an_older_class_version_are_upcast_by_the_mapper(ledger: Ledger) -> None:
    """A v1 row of a class now at v2: the mapper's upcaster runs (no direct decoding); a row
    already at v2 is decoded directly."""
    topic = f"{__name__}:Noted.Written"
    originator = uuid4()
    v1 = b'{"timestamp":{"_type_":"datetime_iso","_data_":"2025-01-06T08:00:00+00:00"},"text":"a"}'
    v2 = v1[:-1] + b',"tone":"loud","class_version":2}'
    decoder = EventDecoder(ledger.mapper)
    for state, tone, direct in ((v1, "plain", False), (v2, "loud", True)):
        stored = StoredEvent(originator, 2, topic, state)
        event = decoder(stored)
        assert event.tone == tone
        assert same_event(event, ledger.mapper.to_domain_event(stored))
        assert (decoder._direct(stored) is not None) == direct


@pytest.mark.parametrize("wrapping", ["cipher", "compressor"])
def test_with_a_cipher_or_a_compressor_the_mapper_decodes_every_row(
    ledger: Ledger, wrapping: str
) -> None:
    """An encrypted or compressed state is not JSON: such a mapper is never bypassed."""
    if wrapping == "cipher":
        key = AESCipher.create_key(16)
        cipher = AESCipher(Environment(env={"CIPHER_KEY": key}))
        mapper = SealingMapper(transcoder=ledger.mapper.transcoder, cipher=cipher)
    else:
        mapper = SealingMapper(transcoder=ledger.mapper.transcoder, compressor=ZlibCompressor())
    # the current version's payload (an older one's upcast fields come in another order)
    plain = stored_of([p for p in PAYLOADS if p["topic"].endswith("ReceiptIssued")][-1])
    event = ledger.mapper.to_domain_event(plain)
    wrapped = mapper.to_stored_event(event)
    decoder = EventDecoder(mapper)
    assert not decoder.direct
    assert same_event(decoder(wrapped), event)


@pytest.mark.parametrize(
    "state",
    [
        b"not json",
        b'{"timestamp":{"_type_":"no_such_type","_data_":"x"}}',
        b'{"timestamp":{"_type_":"uuid_hex","_data_":"not a uuid"}}',
        b"[1, 2]",
    ],
    ids=["not-json", "unknown-type", "bad-value", "not-an-object"],
)
def test_a_row_that_does_not_decode_raises_what_the_mapper_raises(
    ledger: Ledger, state: bytes
) -> None:
    stored = StoredEvent(uuid4(), 1, f"{__name__}:Noted.Written", state)
    raised = []
    for decode in (ledger.mapper.to_domain_event, EventDecoder(ledger.mapper)):
        with pytest.raises(Exception) as caught:
            decode(stored)
        raised.append((type(caught.value), str(caught.value)))
    assert raised[0] == raised[1]


def projection_rows(ledger: Ledger, *, direct: bool) -> dict[str, list[Row]]:
    """Every projection rebuilt from zero in one pass, decoding directly or through the
    mapper only; every table's rows."""
    chosen = followers(ledger)
    chosen[0].source.decoder.direct = direct  # type: ignore[attr-defined]
    rebuild(chosen)
    return {
        spec.name: follower.rows(spec.name)
        for follower in chosen
        for spec in follower.projection.tables
    }


def test_a_generated_world_decodes_and_rebuilds_the_same_either_way(database_url: str) -> None:
    """Two aires over two months (SQLite and PostgreSQL): every stored event decodes to the
    mapper's event, every projection table rebuilt either way holds the same rows, and
    those rows are the ones a rebuild aside with upserts only finds (``check``)."""
    settings = Settings(database_url=database_url)
    generate(
        settings, aires=2, years=1, seed=5, start_year=2025, first_day=date(2025, 6, 1), days=60
    )
    ledger = Ledger(settings)
    try:
        decoder = EventDecoder(ledger.mapper)
        notifications = ledger.recorder.select_notifications(start=1, limit=10**6)
        assert len(notifications) > 1000
        direct = 0
        for n in notifications:
            assert same_event(decoder(n), ledger.mapper.to_domain_event(n)), n.topic
            direct += decoder._direct(n) is not None
        assert direct > len(notifications) // 2
        by_mapper = projection_rows(ledger, direct=False)
        assert sum(len(rows) for rows in by_mapper.values()) > 1000
        assert projection_rows(ledger, direct=True) == by_mapper
        # rebuilt with rows copied in as new (COPY, no upsert; PostgreSQL), the tables are
        # those the followers build batch by batch with upserts
        for follower in followers(ledger, batch_size=500):
            assert follower.check() == []
    finally:
        ledger.close()
