"""Fold tests for the balances and cash-journal projections, without a database: every
event kind they read, folded into MemoryRows, gives the rows a Trésorerie expects."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from uuid import uuid4

import hypothesis
import pytest
from hypothesis import strategies as st

from hacienda_ledger.aggregates.register import CashRegister, ReceiptLine
from hacienda_ledger.aggregates.stay import Stay
from hacienda_ledger.aggregates.values import ChargeLine
from hacienda_ledger.projections.balances import BalancesProjection, instant
from hacienda_ledger.projections.base import MemoryRows, last_one, table
from hacienda_ledger.projections.cash_journal import CashJournalProjection
from hacienda_ledger.projections.runner import fold
from tests.unit.chains import after

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)
AIRE = uuid4()
STAY = uuid4()


def register_events() -> list[object]:
    """A day of a register touching every event kind the journal reads."""
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
    at = T0

    def tick() -> datetime:
        nonlocal at
        at += timedelta(minutes=10)
        return at

    r.issue_receipt(
        aire_id=AIRE,
        stay_id=STAY,
        household_ref=None,
        method="cash",
        lines=(ReceiptLine("deposit", 15000),),
        actor="c",
        at=tick(),
    )
    r.issue_receipt(
        aire_id=AIRE,
        stay_id=STAY,
        household_ref=None,
        method="card",
        lines=(ReceiptLine("pitch_fee", 2100), ReceiptLine("other", 300)),
        actor="c",
        at=tick(),
    )
    r.issue_receipt(
        aire_id=AIRE,
        stay_id=None,
        household_ref=None,
        method="cash",
        lines=(ReceiptLine("other", 500),),
        actor="c",
        at=tick(),
    )
    r.cancel_receipt(number=3, reason="erreur", household_ref=None, actor="c", at=tick())
    r.withhold_deposit(
        aire_id=AIRE,
        stay_id=STAY,
        amount_cents=2000,
        reason="damage",
        reference="PV-1",
        actor="c",
        at=tick(),
    )
    r.refund_deposit(
        aire_id=AIRE, stay_id=STAY, amount_cents=13000, method="cash", actor="c", at=tick()
    )
    # the receipts' revenue and the deposit withheld (issue 15: a slip pays in its movements)
    r.remit(through_receipt=3, amounts_by_method={"card": 2400, "cash": 2000}, actor="c", at=tick())
    r.count_cash(counted_cents=4900, actor="c", at=tick())  # book 5000: short 100
    r.count_cash(counted_cents=5000, actor="c", at=tick())  # book 4900: over 100
    r.reprint(document="slip", number=1, actor="c", at=tick())
    r.close_period(period="day", day=date(2025, 3, 3), actor="c", at=tick())
    return list(r.collect_events())


def test_cash_journal_lines_and_running_balances() -> None:
    """One line per event (per receipt line), in order, with running balances by method;
    remittances carry their slip and receipt range, closures the perpetual total."""
    events = register_events()
    rows = fold(CashJournalProjection(), list(enumerate(events, start=1))).rows("cash_journal")
    summary = [
        (
            r["version"],
            r["line"],
            r["kind"],
            r["revenue_type"],
            r["method"],
            r["amount_in_cents"],
            r["amount_out_cents"],
            r["balance_cash_cents"],
            r["balance_card_cents"],
        )
        for r in rows
    ]
    assert summary == [
        (1, 0, "opening", "float", "cash", 5000, 0, 5000, 0),
        (2, 0, "receipt", "deposit", "cash", 15000, 0, 20000, 0),
        (3, 0, "receipt", "pitch_fee", "card", 2100, 0, 20000, 2100),
        (3, 1, "receipt", "other", "card", 300, 0, 20000, 2400),
        (4, 0, "receipt", "other", "cash", 500, 0, 20500, 2400),
        (5, 0, "cancellation", "other", "cash", 0, 500, 20000, 2400),
        (6, 0, "withholding", "deposit", None, 0, 0, 20000, 2400),
        (7, 0, "deposit_refund", "deposit", "cash", 0, 13000, 7000, 2400),
        (8, 0, "remittance", None, "card", 0, 2400, 7000, 0),
        (8, 1, "remittance", None, "cash", 0, 2000, 5000, 0),
        (9, 0, "count", None, None, 0, 0, 5000, 0),
        (10, 0, "cash_short", None, "cash", 0, 100, 4900, 0),
        (11, 0, "count", None, None, 0, 0, 4900, 0),
        (12, 0, "cash_over", None, "cash", 100, 0, 5000, 0),
        (13, 0, "reprint", None, None, 0, 0, 5000, 0),
        (14, 0, "day_closure", None, None, 0, 0, 5000, 0),
    ]
    remittance = rows[8]
    assert (remittance["slip_number"], remittance["first_receipt"], remittance["last_receipt"]) == (
        1,
        1,
        3,
    )
    closure = rows[-1]
    assert closure["perpetual_total_cents"] == 2400 + 500 - 500  # revenue: the deposit apart
    assert [r["receipt_number"] for r in rows[1:6]] == [1, 2, 2, 3, 3]
    assert all(
        r["chain_hash"] == e.hash
        for r in rows
        for e in events  # type: ignore[attr-defined]
        if e.originator_version == r["version"]
    )  # type: ignore[attr-defined]


def test_deposit_movements_per_aire_with_kind_reason_and_amount() -> None:
    """Deposits received, refunded and withheld (with the reason) are rows of their aire and
    stay; receipts without a deposit line and other events leave no row."""
    events = register_events()
    rows = fold(CashJournalProjection(), list(enumerate(events, start=1))).rows("deposit_movements")
    assert [
        (r["version"], r["aire_id"], r["stay_id"], r["kind"], r["reason"], r["amount_cents"])
        for r in rows
    ] == [
        (2, str(AIRE), str(STAY), "received", None, 15000),
        (6, str(AIRE), str(STAY), "withheld", "damage", 2000),
        (7, str(AIRE), str(STAY), "refunded", None, 13000),
    ]
    assert {r["day"] for r in rows} == {date(2025, 3, 3)}


def charges_assessed(at: datetime, until: date, *lines: ChargeLine) -> Stay.ChargesAssessed:
    """The stay's charges through ``until``, of these lines, recorded at ``at``."""
    return Stay.ChargesAssessed(
        **after(),  # a chain of its own: the folds do not read the links
        originator_id=STAY,
        originator_version=2,
        timestamp=at,
        aire_id=AIRE,
        household_ref=uuid4(),
        charged_until=until,
        lines=lines,
        total_cents=sum(x.amount_cents for x in lines),
        billed_index={},
        actor="c",
    )


def test_balances_fold_every_financial_event_and_sum_to_zero() -> None:
    """Balances fold the postings of every financial event; their sum is zero; postings keep
    the recorded time, so a balance as of an instant is a sum of postings."""
    events = register_events()
    charge_at = T0 + timedelta(minutes=5)
    pitch = ChargeLine(
        "pitch_fee", "pitch", date(2025, 3, 3), date(2025, 3, 9), Decimal(7), Decimal(3), 2100, "D"
    )
    charges = charges_assessed(charge_at, date(2025, 3, 10), pitch)
    rows = fold(BalancesProjection(), list(enumerate([charges, *events], start=1)))
    balances = {r["account"]: r["balance_cents"] for r in rows.rows("balances")}
    assert sum(balances.values()) == 0
    # charged 21.00, paid 24.00 (a stay receipt settles its charges, "other" line included)
    assert balances[f"receivable/{STAY}"] == 2100 - 2400
    assert balances[f"deposits/{STAY}"] == 0  # 150 held, 20 withheld, 130 refunded
    assert balances[f"revenue/{AIRE}/other"] == -2000  # the damage withheld; receipt 3 cancelled
    assert balances[f"revenue/{AIRE}/pitch_fee"] == -2100
    postings = rows.rows("postings")
    assert {p["recorded_at"] for p in postings if p["position"] == 1} == {instant(charge_at)}
    before_refund = sum(
        p["amount_cents"]
        for p in postings
        if p["account"] == f"deposits/{STAY}"
        and p["recorded_at"] < instant(T0 + timedelta(minutes=55))
    )
    assert before_refund == -15000 + 2000  # held less withheld, refund not yet


def test_a_posting_is_an_events_net_amount_on_one_account() -> None:
    """A charge of several lines posts once to the stay's receivable (their sum) and once
    to each revenue account, numbered in the entry's order; the balances are the same."""

    def line(revenue_type: str, cents: int) -> ChargeLine:
        day = date(2025, 3, 3)
        return ChargeLine(revenue_type, revenue_type, day, day, Decimal(1), Decimal(1), cents, "t")

    charges = charges_assessed(
        T0, date(2025, 3, 4), line("pitch_fee", 300), line("water", 120), line("pitch_fee", 300)
    )
    rows = fold(BalancesProjection(), [(1, charges)])
    assert [(p["seq"], p["account"], p["amount_cents"]) for p in rows.rows("postings")] == [
        (0, f"receivable/{STAY}", 720),
        (1, f"revenue/{AIRE}/pitch_fee", -600),
        (2, f"revenue/{AIRE}/water", -120),
    ]
    assert {r["account"]: r["balance_cents"] for r in rows.rows("balances")} == {
        f"receivable/{STAY}": 720,
        f"revenue/{AIRE}/pitch_fee": -600,
        f"revenue/{AIRE}/water": -120,
    }


def test_daily_and_monthly_summaries_of_the_journal() -> None:
    """A day's summary: money in and out by method, receipts by revenue type net of the
    cancellation, counts, and the balances the day ends with."""
    from hacienda_ledger.projections.cash_journal import summaries

    events = register_events()
    rows = fold(CashJournalProjection(), list(enumerate(events, start=1))).rows("cash_journal")
    (day,) = summaries(rows, "day")
    (month,) = summaries(rows, "month")
    assert day["period"] == "2025-03-03" and month["period"] == "2025-03"
    assert day["in_by_method_cents"] == {"cash": 15000 + 500 + 100, "card": 2100 + 300}
    assert day["out_by_method_cents"] == {"cash": 500 + 13000 + 2000 + 100, "card": 2400}
    assert day["receipts_by_revenue_type_cents"] == {
        "deposit": 15000,
        "pitch_fee": 2100,
        "other": 300 + 500 - 500,
    }
    assert (day["receipts"], day["cancellations"]) == (3, 1)
    assert day["closing_balances_cents"] == {"cash": 5000, "cheque": 0, "card": 0, "transfer": 0}
    assert {k: v for k, v in month.items() if k != "period"} == {
        k: v for k, v in day.items() if k != "period"
    }


@hypothesis.given(
    st.datetimes(
        min_value=datetime(2, 1, 2),
        max_value=datetime(9998, 12, 30),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=2)), timezone(-timedelta(hours=9, minutes=30))]
        ),
    )
)
def test_instant_is_the_utc_text_strftime_writes(moment: datetime) -> None:
    """``instant`` (written by isoformat) is exactly ``%Y-%m-%dT%H:%M:%S.%fZ`` of the UTC time,
    microseconds or not, any offset, any year."""
    expected = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert instant.__wrapped__(moment) == expected


def test_a_row_added_is_kept_as_given_once_and_of_the_tables_columns() -> None:
    """``Rows.add`` in memory: the row is the table's row (the dict given away), a key added
    twice or a row of other columns is refused."""
    spec = table("lines", {"k": "int"}, v="text")
    rows = MemoryRows((spec,))
    row = {"k": 1, "v": "a"}
    rows.add("lines", row)
    assert rows.rows("lines") == [row] and rows.data["lines"][(1,)] is row
    with pytest.raises(KeyError, match="added twice"):
        rows.add("lines", {"k": 1, "v": "b"})
    with pytest.raises(KeyError, match="columns"):
        rows.add("lines", {"k": 2})
    with pytest.raises(KeyError, match="columns"):
        rows.add("lines", {"k": 2, "v": "c", "extra": 0})
    assert rows.rows("lines") == [row]


def test_the_recorded_time_is_derived_once_per_event_and_exactly() -> None:
    """``last_one``: the same object asked again gets the remembered result, an equal but
    other object is computed afresh; ``instant`` of a UTC time and of the same instant in
    another offset is the same text."""
    calls: list[object] = []

    def day_of(moment: datetime) -> date:
        calls.append(moment)
        return moment.date()

    remembered = last_one(day_of)
    first = datetime(2025, 3, 3, 9, tzinfo=UTC)
    equal = datetime(2025, 3, 3, 9, tzinfo=UTC)
    assert remembered(first) == remembered(first) == date(2025, 3, 3)
    assert calls == [first]
    assert remembered(equal) == date(2025, 3, 3) and len(calls) == 2
    assert remembered.__name__ == "day_of"
    paris = first.astimezone(timezone(timedelta(hours=1)))
    assert instant(first) == instant(paris) == "2025-03-03T09:00:00.000000Z"
