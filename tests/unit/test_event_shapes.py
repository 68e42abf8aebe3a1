"""Released event classes never change shape: stored v1 payloads still decode, re-encode
byte for byte, and (for register events) still verify against their stored hash. A household
event's sealed fields re-encode byte for byte through the transcoder; without the
household's key (none is in the test database) they decode as ``ERASED``."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate, CanMutateAggregate
from eventsourcing.persistence import StoredEvent

from hacienda_ledger.aggregates import (
    aire,
    collectivite,
    document,
    household,
    intervention,
    register,
    seal,
    stay,
    user,
)
from hacienda_ledger.aggregates import aire as aire_module
from hacienda_ledger.aggregates.household import ERASED
from hacienda_ledger.aggregates.integrity import event_hash
from hacienda_ledger.application import Ledger, idempotency
from hacienda_ledger.application.verification import vouched
from hacienda_ledger.settings import Settings

AGGREGATE_MODULES = (
    aire,
    collectivite,
    document,
    household,
    intervention,
    register,
    seal,
    stay,
    user,
)


def own_fields(cls: type) -> set[str]:
    """The fields of a created event beyond the library's and the chain links."""
    common = {*Aggregate.Created.__dataclass_fields__, "prev_hash", "hash"}
    return set(getattr(cls, "__dataclass_fields__", {})) - common


FIXTURE = Path(__file__).parents[1] / "fixtures/events-v1.jsonl"
PAYLOADS = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]


def event_classes() -> set[str]:
    topics = set()
    for module in (*AGGREGATE_MODULES, idempotency):
        for _, agg in inspect.getmembers(module, inspect.isclass):
            if agg.__module__ != module.__name__:
                continue
            for name, cls in vars(agg).items():
                if (
                    inspect.isclass(cls)
                    and issubclass(cls, CanMutateAggregate)
                    and cls.__qualname__.startswith(agg.__name__ + ".")
                    and name not in {"Event", "PeriodClosedEvent"}  # bases, never stored
                    # the library makes a ``Created`` for every aggregate; only one that
                    # declares fields of its own (``User.Created``) is stored
                    and (name != "Created" or own_fields(cls))
                ):
                    topics.add(f"{module.__name__}:{cls.__qualname__}")
    return topics


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    path = tmp_path_factory.mktemp("shapes") / "s.sqlite3"
    return Ledger(Settings(database_url=f"sqlite:///{path}"))


def test_every_event_class_has_a_stored_v1_payload() -> None:
    """A new event class must add its payload to the fixture (see make_events_v1.py)."""
    assert event_classes() == {p["topic"] for p in PAYLOADS}


def stored_of(payload: dict) -> StoredEvent:
    return StoredEvent(
        originator_id=UUID(payload["originator_id"]),
        originator_version=payload["originator_version"],
        topic=payload["topic"],
        state=payload["state"].encode("utf-8"),
    )


def payload_id(payload: dict) -> str:
    version = json.loads(payload["state"]).get("class_version", 1)
    return payload["topic"].split(":")[1] + (f"-v{version}" if version > 1 else "")


@pytest.mark.parametrize("payload", PAYLOADS, ids=payload_id)
def test_stored_payload_decodes_and_reencodes_identically(ledger: Ledger, payload: dict) -> None:
    """The v1 payload decodes to its class and encodes back to the same bytes."""
    stored = stored_of(payload)
    event = ledger.mapper.to_domain_event(stored)
    assert f"{type(event).__module__}:{type(event).__qualname__}" == payload["topic"]
    sealed = getattr(type(event), "personal_fields", ())
    if sealed:
        transcoder = ledger.mapper.transcoder
        assert transcoder.encode(transcoder.decode(stored.state)) == stored.state
        assert all(getattr(event, name) is ERASED for name in sealed)
        return
    stored_version = json.loads(payload["state"]).get("class_version", 1)
    if stored_version < getattr(type(event), "class_version", 1):
        # an older version, upcast on the way in: it now reads, and writes back, as the
        # current version (whose own payload is checked byte for byte on its line)
        again = ledger.mapper.to_domain_event(ledger.mapper.to_stored_event(event))
        assert vars(again) == vars(event)
        if payload["topic"].startswith(register.__name__):
            # a register event's hash covers what was stored, not what it upcasts to:
            # verification reads the stored payload, and it still vouches for it
            row = (payload["originator_version"], payload["topic"], stored.state)
            assert vouched(payload["originator_id"], row) is not None
        return
    assert ledger.mapper.to_stored_event(event).state == stored.state
    if hasattr(event, "prev_hash"):
        assert event.hash == event_hash(payload["topic"], vars(event))


def test_an_emplacement_recorded_before_version_2_entered_service_the_day_it_was_added(
    ledger: Ledger,
) -> None:
    """``EmplacementAdded`` v1 had no ``in_service_from``: upcast, it reads None, and the
    emplacement counts from the day it was recorded, as it always did."""
    (v1,) = [
        p
        for p in PAYLOADS
        if p["topic"].endswith("Aire.EmplacementAdded") and "class_version" not in p["state"]
    ]
    stored = stored_of(v1)
    event = ledger.mapper.to_domain_event(stored)
    assert event.in_service_from is None
    aire = aire_module.Aire.__new__(aire_module.Aire)
    aire.emplacements = {}
    event.apply(aire)
    (emplacement,) = aire.emplacements.values()
    assert emplacement.in_service_from == event.timestamp.date()


def v1_of(name: str) -> dict:
    (v1,) = [
        p
        for p in PAYLOADS
        if p["topic"].endswith(f"CashRegister.{name}") and "class_version" not in p["state"]
    ]
    return v1


def test_register_events_recorded_before_issue_15_read_as_they_were(ledger: Ledger) -> None:
    """v1 register payloads, upcast: a receipt names no cheque; a slip lists no lines (its
    receipt range only); a count has no breakdown and is numbered by its place (0 here); a
    closure did not keep deposits apart (``third_party`` None), yet its revenue and its
    third-party funds still read from its totals by revenue type."""
    decode = ledger.mapper.to_domain_event
    receipt = decode(stored_of(v1_of("ReceiptIssued")))
    slip = decode(stored_of(v1_of("RemittanceMade")))
    count = decode(stored_of(v1_of("CashCounted")))
    assert (receipt.cheque, slip.lines, count.number, count.denominations) == (None, None, 0, [])
    closure = decode(stored_of(v1_of("DayClosed")))
    assert closure.third_party is None
    types = closure.totals.by_revenue_type
    assert closure.revenue_cents == sum(a for t, a in types.items() if t != "deposit")
    assert closure.third_party_cents == types.get("deposit", 0)


def test_a_cancellation_recorded_before_approvals_was_asked_and_made_alone(
    ledger: Ledger,
) -> None:
    """``ReceiptCancelled`` v1 had no ``requested_by``, ``requested_at`` nor
    ``approved_by``: upcast, whoever recorded it asked for it then, and nobody approved it
    (None); its stored hash still verifies against its stored fields (no upcast there)."""
    v1 = v1_of("ReceiptCancelled")
    event = ledger.mapper.to_domain_event(stored_of(v1))
    assert (event.requested_by, event.requested_at, event.approved_by) == (
        event.actor,
        event.timestamp,
        None,
    )
    stored = json.loads(v1["state"])
    assert "requested_by" not in stored
    decoded = ledger.mapper.transcoder.decode(v1["state"].encode("utf-8"))
    assert (
        event_hash(
            v1["topic"],
            {
                **decoded,
                "originator_id": UUID(v1["originator_id"]),
                "originator_version": v1["originator_version"],
            },
        )
        == event.hash
    )
