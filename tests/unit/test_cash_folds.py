"""Fold tests for the cash journal's issue-15 tables, without a database: a register's
counts (by denomination, a handover, a régularisation) and its closures (by the period they
close, revenue apart from deposits) give the rows the monthly report reads."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

from hacienda_ledger.aggregates.register import CashRegister, Denomination, ReceiptLine
from hacienda_ledger.projections.cash_journal import CashJournalProjection
from hacienda_ledger.projections.runner import fold

T0 = datetime(2025, 8, 28, 8, tzinfo=UTC)  # Thursday 28 August 2025, 10:00 in Paris
AIRE, STAY = uuid4(), uuid4()


def register_events() -> list[object]:
    """28 August: a receipt of 26.00 € with a 150 € deposit, a count by denomination (1.00 €
    short), a handover on a count (0.50 € over), the shortfall made good; 31 August closed
    on 2 September."""
    r = CashRegister.open(
        register_id=uuid4(),
        aire_id=AIRE,
        regie_ref="AC-1",
        float_cents=5000,
        cash_ceiling_cents=100000,
        payment_methods=("cash", "card"),
        revenue_types=("pitch_fee", "deposit", "other"),
        actor="m",
        at=T0,
    )
    r.issue_receipt(
        aire_id=AIRE,
        stay_id=STAY,
        household_ref=None,
        method="cash",
        lines=(ReceiptLine("deposit", 15000), ReceiptLine("pitch_fee", 2600)),
        actor="c",
        at=T0,
    )
    r.count_cash(
        denominations=(Denomination(10000, 2), Denomination(2000, 1), Denomination(50, 10)),
        actor="r1",
        at=T0 + timedelta(hours=1),
    )  # 225.00 against 226.00
    r.hand_over(incoming="r2", counted_cents=22550, actor="r1", at=T0 + timedelta(hours=2))
    r.regularise_difference(
        count_number=1, reference="QUIT-1", actor="r1", at=T0 + timedelta(hours=3)
    )
    r.close_period(
        period="month", day=date(2025, 8, 1), actor="r2", at=datetime(2025, 9, 2, 7, tzinfo=UTC)
    )
    return list(r.collect_events())


def test_cash_counts_with_their_notes_signer_handover_and_regularisation() -> None:
    events = register_events()
    rows = fold(CashJournalProjection(), list(enumerate(events, start=1))).rows("cash_counts")
    assert [
        (
            r["number"],
            r["counted_cents"],
            r["difference_cents"],
            r["denominations"],
            r["counted_by"],
            r["handed_over_to"],
            r["regularisation"],
            r["regularised_on"],
        )
        for r in rows
    ] == [
        (1, 22500, -100, "10000×2 2000×1 50×10", "r1", None, "deficit", date(2025, 8, 28)),
        (2, 22550, 50, None, "r1", "r2", None, None),
    ]


def test_closures_name_the_period_they_close_with_revenue_apart_from_deposits() -> None:
    """August's closure recorded on 2 September is August's: 26.00 € of revenue, 150.00 € of
    third-party funds, a perpetual grand total of revenue only."""
    events = register_events()
    projection = fold(CashJournalProjection(), list(enumerate(events, start=1)))
    (closure,) = projection.rows("register_closures")
    assert {k: v for k, v in closure.items() if k not in ("register_id", "chain_hash")} == {
        "version": len(events),
        "period": "month",
        "first_day": date(2025, 8, 1),
        "last_day": date(2025, 8, 31),
        "day": date(2025, 9, 2),
        "revenue_cents": 2600,
        "third_party_cents": 15000,
        "perpetual_total_cents": 2600,
    }
    kinds = [r["kind"] for r in projection.rows("cash_journal")]
    assert kinds.count("handover") == 1 and kinds.count("regularisation") == 1
