"""A stay from arrival to departure, on SQLite and PostgreSQL, balances zero and chain intact."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hacienda_ledger.aggregates.accounts import balances_of
from hacienda_ledger.application import Ledger
from tests.conftest import Clock, Site


def all_events(ledger: Ledger) -> list[object]:
    events = []
    start = 1
    while True:
        batch = ledger.recorder.select_notifications(start=start, limit=500)
        if not batch:
            return events
        events.extend(ledger.mapper.to_domain_event(n) for n in batch)
        start = batch[-1].id + 1


def test_a_stay_from_arrival_to_departure(ledger: Ledger, site: Site, clock: Clock) -> None:
    """Deposit, charges, payment, refund, departure: the stay is closed, the emplacement free,
    a day charged ahead is credited, every balance sums to zero, the chain verifies."""
    stay_id = site.arrive()
    deposit = ledger.post_receipt(
        site.register_id,
        stay_id=stay_id,
        method="cash",
        lines=[("deposit", 15000)],
        actor="cashier",
        idempotency_key="dep-1",
    )
    assert deposit.result["number"] == 1
    clock.advance(days=7)
    ledger.record_meter_reading(
        stay_id, meter="water", index=Decimal("102.5"), read_at=clock(), actor="cashier"
    )
    charged = ledger.assess_charges(stay_id, through=date(2025, 1, 13), actor="cashier")
    # 6..13 January: 8 days x 3.00 (no person rates) = 2400; water 2.5 m3 x 3.512 = 8.78
    assert charged.result["total_cents"] == 2400 + 878
    ledger.post_receipt(
        site.register_id,
        stay_id=stay_id,
        method="card",
        lines=[("pitch_fee", 2400), ("water", 878)],
        actor="cashier",
        idempotency_key="pay-1",
    )
    departed = ledger.depart(
        stay_id,
        departed_at=clock(),
        exit_inspection_ref="EDL-S-1",
        water_index=Decimal("102.5"),
        electricity_index=Decimal("2000"),
        actor="cashier",
    )
    # Leaving on the 13th: the 13th is not occupied, so the day charged ahead is credited.
    assert departed.result["final_charges_cents"] == -300
    ledger.refund_deposit(  # after the departure: the bill is settled (3.00 € over)
        site.register_id,
        stay_id=stay_id,
        amount_cents=15000,
        method="cash",
        actor="cashier",
        idempotency_key="ref-1",
    )
    assert not ledger.stay(stay_id).is_open
    assert "1" not in ledger.aire(site.aire_id).occupants
    balances = balances_of(all_events(ledger))
    assert sum(balances.values()) == 0
    assert balances[f"receivable/{stay_id}"] == -300  # the household is owed 3.00 €
    report = ledger.audit.verify_register(site.register_id)
    assert report.ok, report.problems
    assert report.events == 4
