"""A chained event's hash over its stored bytes (``aggregates/stored_form.py``): the domain
writes exactly the bytes the application's transcoder stores, for every chained event class;
where the stored form would be ambiguous the event falls back to the canonical form; and the
mapper refuses to store an event whose bytes are not those the domain hashed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import Transcoding

from hacienda_ledger.aggregates.chained import Chained
from hacienda_ledger.aggregates.integrity import (
    GENESIS,
    UNCHAINED,
    ChainLink,
    event_hash,
    topic_of,
    verify_chain,
)
from hacienda_ledger.aggregates.stored_form import (
    STORED_FORM_TAG,
    event_link,
    stored_digest,
    stored_links,
    unhashed_state,
)
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.sealing import StoredFormMismatch
from hacienda_ledger.settings import Settings
from tests.unit.test_event_shapes import PAYLOADS, ledger, payload_id, stored_of

__all__ = ["ledger"]  # the module-scoped SQLite ledger of test_event_shapes


def _chained_payloads(ledger_: Ledger) -> list[dict[str, Any]]:
    return [
        p
        for p in PAYLOADS
        if isinstance(ledger_.mapper.to_domain_event(stored_of(p)), Chained.Event)
    ]


def rehashed(event: Any) -> Any:
    """``event`` built anew by its class, as ``trigger_event`` builds it (its hash computed
    on the way), linked to the genesis for an event from before the chain."""
    fields = {name: getattr(event, name) for name in type(event).__dataclass_fields__}
    fields.update(hash=UNCHAINED, prev_hash=event.prev_hash or GENESIS)
    return type(event)(**fields)


def test_every_chained_event_class_is_hashed_over_the_bytes_the_mapper_stores(
    ledger: Ledger,
) -> None:
    """For each chained event class (its stored payload, read as the current version): the
    row the mapper writes verifies by its bytes alone, and the fast verification vouches for
    it with the same links."""
    payloads = _chained_payloads(ledger)
    kinds = {p["topic"].split(":")[1].split(".")[0] for p in payloads}
    assert kinds == {"Aire", "Stay", "Intervention", "Document"}
    checked = set()
    for payload in payloads:
        read = ledger.mapper.to_domain_event(stored_of(payload))
        if not set(type(read).__dataclass_fields__) <= set(vars(read)):
            continue  # an old shape read as it was (Stay.Extended v1): its v3 is checked
        event = rehashed(read)
        checked.add(payload["topic"])
        stored = ledger.mapper.to_stored_event(event)
        originator = str(stored.originator_id)
        links = stored_links(stored.topic, originator, stored.originator_version, stored.state)
        assert links == (event.prev_hash, event.hash), payload_id(payload)
        assert stored.state == unhashed_state(event).replace(
            b'"hash":""', b'"hash":"%s"' % event.hash.encode(), 1
        )
    assert checked == {p["topic"] for p in payloads}


def test_the_stored_hash_covers_every_byte_and_the_row_s_columns(ledger: Ledger) -> None:
    """One byte changed anywhere in the state (a space inserted keeps the content), another
    id, version or topic: the bytes no longer verify in their stored form."""
    payload = next(p for p in _chained_payloads(ledger) if "Stay.MeterRead" in p["topic"])
    event = rehashed(ledger.mapper.to_domain_event(stored_of(payload)))
    stored = ledger.mapper.to_stored_event(event)
    topic, originator, version, state = (
        stored.topic,
        str(stored.originator_id),
        stored.originator_version,
        stored.state,
    )
    assert stored_links(topic, originator, version, state) is not None
    for i in range(0, len(state), 7):
        changed = state[:i] + bytes([state[i] ^ 0x01]) + state[i + 1 :]
        assert stored_links(topic, originator, version, changed) is None
    assert stored_links(topic, originator, version, state.replace(b",", b", ", 1)) is None
    assert stored_links(topic, str(uuid4()), version, state) is None
    assert stored_links(topic, originator, version + 1, state) is None
    assert stored_links(topic + "X", originator, version, state) is None
    digest = stored_digest(topic, originator, version, b"{}")
    assert digest != event_hash(topic, {}) and STORED_FORM_TAG.endswith(b"\n")


class Probe(Chained):
    """A chained aggregate whose event holds free-form notes (none of ours does)."""

    class Noted(Chained.Event):
        notes: dict[str, str]


def noted(notes: dict[str, str], *, notes_first: bool = False) -> Probe.Noted:
    """A ``Noted`` event as ``trigger_event`` builds it (its hash computed on the way), or
    with its notes stored before its links (no event class of ours stores them so)."""
    state = {
        "originator_id": uuid4(),
        "originator_version": 1,
        "timestamp": datetime(2026, 12, 6, 9, tzinfo=UTC),
        "prev_hash": GENESIS,
        "hash": UNCHAINED,
        "notes": notes,
    }
    if notes_first:
        state = {"notes": state.pop("notes"), **state}
    event = object.__new__(Probe.Noted)
    object.__setattr__(event, "__dict__", state)
    object.__setattr__(event, "hash", event_link(event))
    return event


def test_links_named_inside_a_value_are_not_the_event_s(ledger: Ledger) -> None:
    """A value holding ``hash`` and ``prev_hash`` keys of its own: the links are read where
    the event's own members stand (the opening of the state), and the row verifies."""
    event = noted({"prev_hash": "b" * 64, "hash": "a" * 64})
    topic = topic_of(Probe.Noted)
    assert event.hash != event_hash(topic, vars(event))
    stored = ledger.mapper.to_stored_event(event)
    links = stored_links(topic, str(event.originator_id), 1, stored.state)
    assert links == (GENESIS, event.hash)


def test_an_event_whose_state_does_not_open_with_its_links_is_hashed_in_the_canonical_form(
    ledger: Ledger,
) -> None:
    """Fields stored before the links: the stored form cannot read them where it expects
    them, so the event is hashed in the canonical form, which verification checks (and the
    mapper stores it)."""
    event = noted({"note": "a" * 64}, notes_first=True)
    topic = topic_of(Probe.Noted)
    assert event.hash == event_hash(topic, vars(event))
    stored = ledger.mapper.to_stored_event(event)
    assert stored.state.startswith(b'{"notes":')
    assert stored_links(topic, str(event.originator_id), 1, stored.state) is None
    assert verify_chain([ChainLink(1, topic, dict(vars(event)), event.hash)]).ok


class DayAsText(Transcoding):
    """A date transcoding that writes other bytes than the domain's (``date_iso``)."""

    type = date
    name = "day_text"

    def encode(self, obj: date) -> str:
        return obj.strftime("%d/%m/%Y")

    def decode(self, data: str) -> date:
        day, month, year = data.split("/")
        return date(int(year), int(month), int(day))


def test_the_mapper_refuses_a_chained_event_whose_bytes_are_not_those_hashed(
    tmp_path: Any,
) -> None:
    """The application's transcoder made to write dates otherwise than the domain does: a
    chained event holding a date is refused as it is stored, never recorded with a hash its
    bytes do not verify (an alarm of tampering where there was none)."""
    other = Ledger(Settings(database_url=f"sqlite:///{tmp_path / 'other.sqlite3'}"))
    other.mapper.transcoder.register(DayAsText())
    payload = next(
        p
        for p in PAYLOADS
        if p["topic"].endswith("Stay.Extended") and '"class_version":3' in p["state"]
    )
    event = rehashed(other.mapper.to_domain_event(stored_of(payload)))
    with pytest.raises(StoredFormMismatch, match="nothing is recorded"):
        other.mapper.to_stored_event(event)
