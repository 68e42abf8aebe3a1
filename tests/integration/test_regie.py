"""The régie's rules with storage, on SQLite and PostgreSQL: a register's alerts as of an
instant come from the register as it then stood, and a register snapshot taken before the
rules existed is not used (the register is replayed from its events)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import reduce
from uuid import UUID

from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.regie import standing
from tests.conftest import Clock, Site

V2_STATE = ("rules", "receipt_days", "ceiling_reached_at")


def replayed(ledger: Ledger, register_id: UUID, version: int | None = None) -> CashRegister:
    events = ledger.events.get(register_id, lte=version)
    register: CashRegister = reduce(lambda agg, e: e.mutate(agg), events, None)
    return register


def test_a_snapshot_from_before_the_rules_is_not_used(ledger: Ledger, clock: Clock) -> None:
    """Given a register whose only snapshot has the v1 shape (no rules, no receipt days),
    when it is loaded (now, or as of a version after the snapshot), then it is replayed from
    its events: the same register as a replay, rules and receipt days included."""
    site = Site(ledger)
    for _ in range(3):
        ledger.post_receipt(
            site.register_id, stay_id=None, method="cheque", lines=[("other", 100)], actor="c"
        )
        clock.advance(days=1)
    old = CashRegister.Snapshot.take(ledger.cash_register(site.register_id))
    for name in ("class_version", *V2_STATE):
        old.state.pop(name)
    assert ledger.snapshots is not None
    ledger.snapshots.put([old])
    ledger.post_receipt(
        site.register_id, stay_id=None, method="cash", lines=[("other", 100)], actor="c"
    )
    fresh = Ledger(ledger.settings, clock=clock)
    try:
        assert [s.originator_version for s in fresh.snapshots.get(site.register_id)] == [4]  # type: ignore[union-attr]
        loaded = fresh.cash_register(site.register_id)
        assert loaded == replayed(fresh, site.register_id)
        assert loaded.receipt_days == {
            "1": "2025-01-06",
            "2": "2025-01-07",
            "3": "2025-01-08",
            "4": "2025-01-09",
        }
        assert fresh.cash_register(site.register_id, version=4) == replayed(
            fresh, site.register_id, 4
        )
    finally:
        fresh.close()


def test_the_standing_as_of_a_month_end_is_the_register_as_it_then_stood(
    ledger: Ledger, clock: Clock
) -> None:
    """Given a cheque received on 30 January 2025 and one on 3 February, the standing at the
    last instant of January lists the first only (still due: the 31st is its last day), and
    its position holds one cheque; today's lists both, the first late."""
    site = Site(ledger)
    clock.now = datetime(2025, 1, 30, 10, tzinfo=UTC)
    ledger.post_receipt(
        site.register_id, stay_id=None, method="cheque", lines=[("other", 700)], actor="c"
    )
    clock.now = datetime(2025, 2, 3, 10, tzinfo=UTC)
    ledger.post_receipt(
        site.register_id, stay_id=None, method="cheque", lines=[("other", 900)], actor="c"
    )
    end_of_january = datetime(2025, 1, 31, 22, 59, 59, tzinfo=UTC)  # 23:59:59 in Paris
    then = standing(ledger, site.register_id, end_of_january)
    assert then.today == date(2025, 1, 31) and then.register.last_number == 1
    cheques = [(a.receipt_number, a.status) for a in then.alerts if a.receipt_number]
    assert cheques == [(1, "due")]
    (cheque,) = [p for p in then.position if p.method == "cheque"]
    assert (cheque.balance_cents, [r.number for r in cheque.unremitted]) == (700, [1])
    now = standing(ledger, site.register_id)
    cheques = [(a.receipt_number, a.status) for a in now.alerts if a.receipt_number]
    assert now.today == date(2025, 2, 3) and cheques == [(1, "late"), (2, "due")]
