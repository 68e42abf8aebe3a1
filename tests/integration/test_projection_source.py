"""The followers of a process share one source: each event is decoded once for all of them,
except household events (never kept decoded: their personal fields read as erased once the
household's key is destroyed) — on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from hacienda_ledger.aggregates.household import Household
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.decoding import EventDecoder
from hacienda_ledger.application.projecting import LedgerSource, all_projections, followers
from hacienda_ledger.projections.runner import rebuild
from tests.conftest import Site


def test_each_event_is_decoded_once_for_every_follower(
    ledger: Ledger, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    stay = site.arrive()
    ledger.post_receipt(
        site.register_id, stay_id=stay, method="cash", lines=[("deposit", 15000)], actor="c"
    )
    decoded: Counter[int] = Counter()
    topics: dict[int, str] = {}
    decode = EventDecoder.__call__

    def counting(self: EventDecoder, stored: Any) -> Any:
        decoded[stored.id] += 1
        topics[stored.id] = stored.topic
        return decode(self, stored)

    monkeypatch.setattr(EventDecoder, "__call__", counting)
    chosen = followers(ledger)
    for follower in chosen:
        follower.catch_up()
    shared = [p for p, t in topics.items() if sum(t in f.projection.topics for f in chosen) > 1]
    assert shared, "some events are read by several projections"
    assert decoded and all(n == 1 for n in decoded.values()), decoded

    # Household events are decoded afresh each time they are asked for.
    source = chosen[0].source
    household_topics = [
        t
        for t in {n.topic for n in ledger.recorder.select_notifications(start=1, limit=1000)}
        if t.startswith(Household.__module__)
    ]
    assert household_topics
    (first, *_) = source.select(1, 1000, household_topics)
    decoded.clear()
    source.decode(first)
    source.decode(first)
    assert decoded[first.id] == 2


def test_a_rebuild_decodes_every_event_once_and_keeps_none(
    ledger: Ledger, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild's one pass decodes each event once for all projections; it keeps none
    for other followers (they would never ask: keeping them only held them in memory)."""
    stay = site.arrive()
    ledger.post_receipt(
        site.register_id, stay_id=stay, method="cash", lines=[("deposit", 15000)], actor="c"
    )
    decoded: Counter[int] = Counter()
    decode = EventDecoder.__call__

    def counting(self: EventDecoder, stored: Any) -> Any:
        decoded[stored.id] += 1
        return decode(self, stored)

    monkeypatch.setattr(EventDecoder, "__call__", counting)
    chosen = followers(ledger)
    rebuild(chosen)
    assert decoded and all(n == 1 for n in decoded.values()), decoded
    assert not chosen[0].source._decoded  # type: ignore[attr-defined]


def test_the_source_selects_what_the_library_selects(ledger: Ledger, site: Site) -> None:
    """Pages of notifications by topic (read in position order and picked in Python on
    PostgreSQL, where the library's query costs the rest of the stream a page) are the
    library's own: same notifications, same fields, for any start, limit and topics."""
    for i in range(4):
        stay = site.arrive(str(i + 1))
        ledger.post_receipt(
            site.register_id, stay_id=stay, method="cash", lines=[("deposit", 15000)], actor="c"
        )
        ledger.post_receipt(
            site.register_id, stay_id=None, method="card", lines=[("other", 100 + i)], actor="c"
        )
    source = LedgerSource(ledger)
    end = ledger.last_position()
    fields = ("id", "originator_id", "originator_version", "topic", "state")
    for projection in all_projections():
        for topics in (projection.topics, projection.topics[:1]):
            for start in (1, 2, end // 2, end, end + 1):
                for limit in (1, 3, 1000):
                    ours = source.select(start, limit, list(topics))
                    theirs = ledger.recorder.select_notifications(
                        start=start, limit=limit, topics=list(topics)
                    )
                    assert [tuple(getattr(n, f) for f in fields) for n in ours] == [
                        tuple(getattr(n, f) for f in fields) for n in theirs
                    ], (projection.name, topics, start, limit)
    assert source.select(1, 1000, []) == ledger.recorder.select_notifications(start=1, limit=1000)
