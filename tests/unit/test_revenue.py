"""Revenue: fold a real register's receipts and cancellations, then compare years by hand.

Events come from running CashRegister commands in time order (``collect_events()``),
folded with positions 1..n into ``MemoryRows``. No database. Months are those of the
Europe/Paris day of each event's recorded time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from hacienda_ledger.aggregates.integrity import topic_of
from hacienda_ledger.aggregates.register import CashRegister, ReceiptLine
from hacienda_ledger.projections.base import MemoryRows
from hacienda_ledger.projections.revenue import (
    REVENUE,
    RevenueComparison,
    RevenueProjection,
    revenue_year,
)

REGISTER_ID = UUID("9b2f7e61-3c4d-4a5b-8c6d-7e8f9a0b1c2d")
AIRE_ID = UUID("5e3f8c1a-7d2b-4c4e-9a61-0b8f2d7c3e10")
OTHER_AIRE = UUID("2a4b6c8d-0e1f-4a3b-8c5d-7e9f0a1b2c3d")
STAY_ID = UUID("0c9d6e2f-1a3b-4c5d-8e7f-9a0b1c2d3e4f")
HOUSEHOLD = UUID("6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0")
A = str(AIRE_ID)


def utc(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


class Till:
    """A register (every method and type allowed, 50.00 float) and its events in order."""

    def __init__(self, at: datetime) -> None:
        self.register = CashRegister.open(
            register_id=REGISTER_ID,
            aire_id=AIRE_ID,
            regie_ref="AC-2024-07",
            float_cents=5000,
            cash_ceiling_cents=10_000_000,
            payment_methods=("cash", "cheque", "card", "transfer"),
            revenue_types=("pitch_fee", "water", "electricity", "deposit", "other"),
            actor="manager",
            at=at,
        )
        self.events: list[Any] = list(self.register.collect_events())

    def receipt(
        self,
        at: datetime,
        *lines: tuple[str, int],
        method: str = "cash",
        aire_id: UUID = AIRE_ID,
    ) -> int:
        number = self.register.issue_receipt(
            aire_id=aire_id,
            stay_id=STAY_ID,
            household_ref=HOUSEHOLD,
            method=method,
            lines=tuple(ReceiptLine(t, a) for t, a in lines),
            actor="cashier",
            at=at,
        )
        self.events.extend(self.register.collect_events())
        return number

    def cancel(self, number: int, at: datetime) -> None:
        self.register.cancel_receipt(
            number=number,
            reason="erreur de saisie",
            household_ref=HOUSEHOLD,
            actor="cashier",
            at=at,
        )
        self.events.extend(self.register.collect_events())

    def fold(self) -> MemoryRows:
        projection = RevenueProjection()
        rows = MemoryRows(projection.tables)
        for position, event in enumerate(self.events, start=1):
            projection.apply(event, position, rows)
        return rows


def row(
    month: str,
    revenue_type: str,
    method: str,
    amount: int,
    *,
    receipts: int = 1,
    cancellations: int = 0,
    aire: str = A,
) -> dict[str, Any]:
    return {
        "aire_id": aire,
        "month": month,
        "revenue_type": revenue_type,
        "method": method,
        "amount_cents": amount,
        "receipts": receipts,
        "cancellations": cancellations,
    }


def by_key(rows: MemoryRows) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {
        (r["month"], r["revenue_type"], r["method"], r["aire_id"]): r for r in rows.rows(REVENUE)
    }


# --- the fold ----------------------------------------------------------------------------


def test_projection_names_its_table_and_topics() -> None:
    projection = RevenueProjection()
    assert projection.name == "revenue"
    assert [t.name for t in projection.tables] == [REVENUE]
    assert projection.tables[0].key == ("aire_id", "month", "revenue_type", "method")
    assert projection.topics == (
        "hacienda_ledger.aggregates.register:CashRegister.ReceiptIssued",
        "hacienda_ledger.aggregates.register:CashRegister.ReceiptCancelled",
        "hacienda_ledger.aggregates.register:CashRegister.AdvanceApplied",
    )
    assert projection.topics == (
        topic_of(CashRegister.ReceiptIssued),
        topic_of(CashRegister.ReceiptCancelled),
        topic_of(CashRegister.AdvanceApplied),
    )


def test_fold_receipt_issued_by_type_and_method() -> None:
    """Each line adds to its type; deposits stay their own type (third-party funds)."""
    till = Till(utc(2025, 1, 6, 8))
    # pitch 30.00 + water 8.78 + deposit 150.00 in cash
    till.receipt(utc(2025, 1, 10), ("pitch_fee", 3000), ("water", 878), ("deposit", 15000))
    # two pitch-fee lines on one card receipt: one receipt, 12.00 + 3.00 = 15.00
    till.receipt(utc(2025, 1, 20), ("pitch_fee", 1200), ("pitch_fee", 300), method="card")
    # a second cash pitch fee in January: 30.00 + 6.00 = 36.00 over 2 receipts
    till.receipt(utc(2025, 1, 25), ("pitch_fee", 600))
    assert by_key(till.fold()) == {
        ("2025-01", "pitch_fee", "cash", A): row("2025-01", "pitch_fee", "cash", 3600, receipts=2),
        ("2025-01", "water", "cash", A): row("2025-01", "water", "cash", 878),
        ("2025-01", "deposit", "cash", A): row("2025-01", "deposit", "cash", 15000),
        ("2025-01", "pitch_fee", "card", A): row("2025-01", "pitch_fee", "card", 1500),
    }


def test_fold_receipt_cancelled_in_its_own_month() -> None:
    """A cancellation subtracts in the month it is made, as the register's closures do."""
    till = Till(utc(2025, 1, 6, 8))
    number = till.receipt(utc(2025, 1, 30), ("pitch_fee", 2400), ("electricity", 512))
    till.receipt(utc(2025, 2, 3), ("pitch_fee", 900))
    till.cancel(number, utc(2025, 2, 4))
    assert by_key(till.fold()) == {
        ("2025-01", "pitch_fee", "cash", A): row("2025-01", "pitch_fee", "cash", 2400),
        ("2025-01", "electricity", "cash", A): row("2025-01", "electricity", "cash", 512),
        # February: +9.00 − 24.00 = −15.00
        ("2025-02", "pitch_fee", "cash", A): row(
            "2025-02", "pitch_fee", "cash", -1500, cancellations=1
        ),
        ("2025-02", "electricity", "cash", A): row(
            "2025-02", "electricity", "cash", -512, receipts=0, cancellations=1
        ),
    }


def test_fold_uses_the_paris_month_of_the_recorded_time() -> None:
    """23:30 UTC on 31 January 2025 is 00:30 on 1 February in Paris (CET, UTC+1);
    21:30 UTC on 31 March 2025 is 23:30 CEST, still March."""
    till = Till(utc(2025, 1, 6, 8))
    till.receipt(utc(2025, 1, 31, 22, 59), ("water", 100))
    till.receipt(utc(2025, 1, 31, 23, 30), ("water", 200))
    till.receipt(utc(2025, 3, 31, 21, 30), ("water", 400))
    till.receipt(utc(2025, 3, 31, 22, 30), ("water", 800))
    assert [(r["month"], r["amount_cents"]) for r in till.fold().rows(REVENUE)] == [
        ("2025-01", 100),
        ("2025-02", 200),
        ("2025-03", 400),
        ("2025-04", 800),
    ]


def test_fold_follows_the_receipts_aire() -> None:
    """A régie may collect for several aires: rows go to the aire the receipt names."""
    till = Till(utc(2025, 1, 6, 8))
    till.receipt(utc(2025, 1, 10), ("pitch_fee", 1000))
    till.receipt(utc(2025, 1, 11), ("pitch_fee", 2000), aire_id=OTHER_AIRE)
    other = str(OTHER_AIRE)
    assert by_key(till.fold()) == {
        ("2025-01", "pitch_fee", "cash", A): row("2025-01", "pitch_fee", "cash", 1000),
        ("2025-01", "pitch_fee", "cash", other): row(
            "2025-01", "pitch_fee", "cash", 2000, aire=other
        ),
    }


def test_other_register_events_change_nothing() -> None:
    """Opening, deposit refunds, counts and remittances are not receipts."""
    till = Till(utc(2025, 1, 6, 8))
    assert till.fold().rows(REVENUE) == []
    till.receipt(utc(2025, 1, 10), ("deposit", 15000), ("pitch_fee", 3000))
    before = till.fold().rows(REVENUE)
    register = till.register
    register.refund_deposit(
        aire_id=AIRE_ID,
        stay_id=STAY_ID,
        amount_cents=15000,
        method="cash",
        actor="cashier",
        at=utc(2025, 1, 12),
    )
    register.count_cash(counted_cents=8100, actor="cashier", at=utc(2025, 1, 12, 18))
    register.remit(
        through_receipt=1, amounts_by_method={"cash": 3100}, actor="cashier", at=utc(2025, 1, 13)
    )
    events = register.collect_events()
    assert {type(e).__name__ for e in events} == {
        "DepositRefunded",
        "CashCounted",
        "CashOver",
        "RemittanceMade",
    }
    till.events.extend(events)
    assert till.fold().rows(REVENUE) == before


def test_rebuilding_gives_the_same_rows() -> None:
    till = two_years()
    assert till.fold().rows(REVENUE) == till.fold().rows(REVENUE)


# --- a year against the one before -------------------------------------------------------


def two_years() -> Till:
    """Receipts in 2024 and 2025 (amounts in cents):

    2024-03  pitch_fee cash 10000, pitch_fee card 2500, water cash 1000
    2024-07  pitch_fee cash 8000
    2024-12  electricity transfer 700 (cancelled 2025-01-03: −700 in 2025-01)
    2025-01  pitch_fee cash 4000
    2025-03  pitch_fee cash 9000, deposit cheque 15000
    2025-08  water cash 1500
    """
    till = Till(utc(2024, 1, 2, 8))
    till.receipt(utc(2024, 3, 5), ("pitch_fee", 10000), ("water", 1000))
    till.receipt(utc(2024, 3, 6), ("pitch_fee", 2500), method="card")
    till.receipt(utc(2024, 7, 1), ("pitch_fee", 8000))
    late = till.receipt(utc(2024, 12, 30), ("electricity", 700), method="transfer")
    till.cancel(late, utc(2025, 1, 3))
    till.receipt(utc(2025, 1, 10), ("pitch_fee", 4000))
    till.receipt(utc(2025, 3, 10), ("pitch_fee", 9000))
    till.receipt(utc(2025, 3, 11), ("deposit", 15000), method="cheque")
    till.receipt(utc(2025, 8, 20), ("water", 1500))
    return till


def test_revenue_year_against_the_year_before() -> None:
    """Every month × every type the aire has in either year, methods added together."""
    lines = revenue_year(two_years().fold().rows(REVENUE), AIRE_ID, 2025)
    types = ["deposit", "electricity", "pitch_fee", "water"]
    assert [(x.month, x.revenue_type) for x in lines] == [
        (f"2025-{m:02d}", t) for m in range(1, 13) for t in types
    ]
    nonzero = [x for x in lines if x.amount_cents or x.previous_year_cents]
    assert nonzero == [
        # January: 40.00 this year; the December cancellation −7.00 lands in 2025-01
        RevenueComparison("2025-01", "electricity", -700, 0, -700),
        RevenueComparison("2025-01", "pitch_fee", 4000, 0, 4000),
        # March: deposit 150.00 (kept apart); pitch 90.00 vs 100.00 cash + 25.00 card = 125.00
        RevenueComparison("2025-03", "deposit", 15000, 0, 15000),
        RevenueComparison("2025-03", "pitch_fee", 9000, 12500, -3500),  # 9000 − 12500
        RevenueComparison("2025-03", "water", 0, 1000, -1000),
        RevenueComparison("2025-07", "pitch_fee", 0, 8000, -8000),
        RevenueComparison("2025-08", "water", 1500, 0, 1500),
        # December 2024's 7.00 stays in 2024 (only its cancellation moved to 2025)
        RevenueComparison("2025-12", "electricity", 0, 700, -700),
    ]


def test_revenue_year_of_the_year_before_compares_with_nothing() -> None:
    """2024 against 2023 (no receipts): previous year 0, difference = amount. The
    December receipt stays in 2024; its cancellation is 2025's."""
    lines = revenue_year(two_years().fold().rows(REVENUE), str(AIRE_ID), 2024)
    nonzero = {(x.month, x.revenue_type): x for x in lines if x.amount_cents}
    assert nonzero[("2024-03", "pitch_fee")] == RevenueComparison(
        "2024-03", "pitch_fee", 12500, 0, 12500
    )
    assert nonzero[("2024-12", "electricity")].amount_cents == 700
    assert sum(x.amount_cents for x in lines) == 10000 + 2500 + 1000 + 8000 + 700  # 22200
    assert all(x.difference_cents == x.amount_cents for x in lines)


def test_revenue_year_ignores_other_aires_and_years() -> None:
    till = two_years()
    till.receipt(utc(2025, 9, 1), ("pitch_fee", 99999), aire_id=OTHER_AIRE)
    rows = till.fold().rows(REVENUE)
    assert sum(x.amount_cents for x in revenue_year(rows, AIRE_ID, 2025)) == (
        -700 + 4000 + 9000 + 15000 + 1500
    )  # 28800
    other = revenue_year(rows, OTHER_AIRE, 2025)
    assert [(x.month, x.amount_cents) for x in other if x.amount_cents] == [("2025-09", 99999)]
    assert revenue_year(rows, AIRE_ID, 2030) == ()
