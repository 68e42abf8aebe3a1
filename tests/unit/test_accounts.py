"""Double entry: the journal entry of every financial event, account by account.

Postings are debit positive, credit negative, in int cents; each entry sums to zero. Events
are made by the aggregates themselves (no database), then handed to ``entry_for``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from hacienda_ledger.aggregates.accounts import (
    Posting,
    apply_entry,
    balances_of,
    entry_for,
)
from hacienda_ledger.aggregates.aire import Aire
from hacienda_ledger.aggregates.collectivite import Collectivite
from hacienda_ledger.aggregates.register import CashRegister, ReceiptLine
from hacienda_ledger.aggregates.stay import Stay
from hacienda_ledger.aggregates.values import Composition, Tariff

REGISTER_ID = UUID("9b2f7e61-3c4d-4a5b-8c6d-7e8f9a0b1c2d")
AIRE_ID = UUID("5e3f8c1a-7d2b-4c4e-9a61-0b8f2d7c3e10")
STAY_ID = UUID("0c9d6e2f-1a3b-4c5d-8e7f-9a0b1c2d3e4f")
HOUSEHOLD = UUID("6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0")
ARRIVED = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
TARIFF = Tariff(
    effective_from=date(2025, 1, 1),
    deliberation_ref="DEL-2024-118",
    pitch_fee_per_day_cents=300,
    water_price_per_m3=Decimal("3.5120"),
    electricity_price_per_kwh=Decimal("0.2276"),
    deposit_cents=15000,
)

R = REGISTER_ID
RECEIVABLE = f"receivable/{STAY_ID}"
DEPOSITS = f"deposits/{STAY_ID}"
CASH = f"cash/{R}/cash"
CHEQUE = f"cash/{R}/cheque"
CARD = f"cash/{R}/card"
FLOAT = f"float/{R}"
REMITTED = f"remitted/{R}"
OVER_SHORT = f"over_short/{R}"


def revenue(revenue_type: str) -> str:
    return f"revenue/{AIRE_ID}/{revenue_type}"


def at(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2025, month, day, hour, 0, tzinfo=UTC)


def entry(*postings: tuple[str, int]) -> tuple[Posting, ...]:
    return tuple(Posting(account, amount) for account, amount in postings)


def open_stay() -> Stay:
    stay = Stay.open(
        stay_id=STAY_ID,
        aire_id=AIRE_ID,
        emplacement="1",
        household_ref=HOUSEHOLD,
        arrived_at=ARRIVED,
        composition=Composition(2),
        agreement_ref="COT-1",
        entry_inspection_ref="EDL-E-1",
        water_index=Decimal("100"),
        electricity_index=Decimal("2000"),
        max_consecutive_days=90,
        extension_cap_months=7,
        actor="cashier",
        at=ARRIVED,
    )
    stay.collect_events()
    return stay


def open_register(float_cents: int = 5000) -> CashRegister:
    register = CashRegister.open(
        register_id=REGISTER_ID,
        aire_id=AIRE_ID,
        regie_ref="AC-2024-07",
        float_cents=float_cents,
        cash_ceiling_cents=120000,
        payment_methods=("cash", "cheque", "card", "transfer"),
        revenue_types=("pitch_fee", "water", "electricity", "deposit", "other"),
        actor="manager",
        at=at(1, 6, 8),
    )
    register.collect_events()
    return register


def receipt(
    register: CashRegister,
    *lines: tuple[str, int],
    method: str = "cash",
    stay_id: UUID | None = STAY_ID,
) -> int:
    return register.issue_receipt(
        aire_id=AIRE_ID,
        stay_id=stay_id,
        household_ref=HOUSEHOLD if stay_id else None,
        method=method,
        lines=tuple(ReceiptLine(t, a) for t, a in lines),
        actor="cashier",
        at=register.modified_on,
    )


def last(aggregate: Any) -> Any:
    """The one event the last command added."""
    (event,) = aggregate.collect_events()
    return event


# --- charges ----------------------------------------------------------------------------


def test_charges_debit_the_household_and_credit_revenue_by_type() -> None:
    """Each charge line debits the stay's receivable and credits the aire's revenue of its type."""
    stay = open_stay()
    stay.read_meter(
        meter="water", index=Decimal("102.5"), read_at=at(1, 10), actor="c", at=at(1, 10)
    )
    stay.collect_events()
    stay.assess_charges(through=date(2025, 1, 10), tariffs=(TARIFF,), actor="c", at=at(1, 10))
    expected = entry(
        (RECEIVABLE, 1500),
        (revenue("pitch_fee"), -1500),
        (RECEIVABLE, 878),
        (revenue("water"), -878),
    )
    assert expected == entry_for(last(stay))


def test_a_credit_line_credits_the_household() -> None:
    """A negative charge line (a corrected meter index) credits the receivable and debits
    revenue."""
    stay = open_stay()
    stay.read_meter(meter="water", index=Decimal("110"), read_at=at(1, 10), actor="c", at=at(1, 10))
    stay.assess_charges(through=date(2025, 1, 10), tariffs=(TARIFF,), actor="c", at=at(1, 10))
    stay.read_meter(
        meter="water", index=Decimal("105"), read_at=at(1, 11), corrects=3, actor="c", at=at(1, 11)
    )
    stay.collect_events()
    stay.assess_charges(through=date(2025, 1, 10), tariffs=(TARIFF,), actor="c", at=at(1, 11))
    expected = entry((RECEIVABLE, -1756), (revenue("water"), 1756))
    assert expected == entry_for(last(stay))


def test_a_line_rounded_to_nothing_posts_nothing() -> None:
    """A charge line of 0 cents (1 litre of water) leaves no zero posting in the entry."""
    stay = open_stay()
    stay.read_meter(
        meter="water", index=Decimal("100.001"), read_at=at(1, 7), actor="c", at=at(1, 7)
    )
    stay.collect_events()
    stay.assess_charges(through=date(2025, 1, 6), tariffs=(TARIFF,), actor="c", at=at(1, 7))
    event = last(stay)
    assert [line.amount_cents for line in event.lines] == [300]
    stay.assess_charges(through=date(2025, 1, 7), tariffs=(TARIFF,), actor="c", at=at(1, 7))
    event = last(stay)
    assert [(line.component, line.amount_cents) for line in event.lines] == [
        ("pitch", 300),
        ("water", 0),
    ]
    expected = entry((RECEIVABLE, 300), (revenue("pitch_fee"), -300))
    assert expected == entry_for(event)


# --- the register -----------------------------------------------------------------------


def test_the_float_is_cash_advanced_by_the_comptable() -> None:
    """Opening with a float debits the cash drawer and credits the float account."""
    register = CashRegister.open(
        register_id=REGISTER_ID,
        aire_id=AIRE_ID,
        regie_ref="AC-2024-07",
        float_cents=5000,
        cash_ceiling_cents=120000,
        payment_methods=("cash",),
        revenue_types=("pitch_fee",),
        actor="manager",
        at=at(1, 6, 8),
    )
    expected = entry((CASH, 5000), (FLOAT, -5000))
    assert expected == entry_for(last(register))


def test_a_register_without_float_posts_nothing() -> None:
    """No float, no entry."""
    register = CashRegister.open(
        register_id=REGISTER_ID,
        aire_id=AIRE_ID,
        regie_ref="AC-2024-07",
        float_cents=0,
        cash_ceiling_cents=120000,
        payment_methods=("card",),
        revenue_types=("pitch_fee",),
        actor="manager",
        at=at(1, 6, 8),
    )
    assert entry_for(last(register)) == ()


def test_a_receipt_with_a_deposit_line() -> None:
    """A card receipt of 150.00 deposit and 21.00 pitch fee for a stay: the card account is
    debited 171.00; the deposit is credited to deposits held (third-party funds, never revenue)
    and the pitch fee to the household's receivable."""
    register = open_register()
    receipt(register, ("deposit", 15000), ("pitch_fee", 2100), method="card")
    expected = entry((CARD, 17100), (DEPOSITS, -15000), (RECEIVABLE, -2100))
    assert expected == entry_for(last(register))


def test_a_receipt_without_a_stay_is_revenue() -> None:
    """A receipt naming no stay (a sale at the counter) is credited straight to revenue."""
    register = open_register()
    receipt(register, ("other", 500), ("electricity", 228), method="cheque", stay_id=None)
    expected = entry((CHEQUE, 728), (revenue("other"), -500), (revenue("electricity"), -228))
    assert expected == entry_for(last(register))


def test_a_cancellation_reverses_its_receipt() -> None:
    """A cancellation posts the exact opposite of the receipt it cancels."""
    register = open_register()
    receipt(register, ("deposit", 15000), ("pitch_fee", 2100), method="card")
    issued = entry_for(last(register))
    register.cancel_receipt(
        number=1, reason="erreur", household_ref=HOUSEHOLD, actor="c", at=register.modified_on
    )
    expected = entry((CARD, -17100), (DEPOSITS, 15000), (RECEIVABLE, 2100))
    cancelled = entry_for(last(register))
    assert expected == cancelled
    assert [p.amount_cents for p in issued] == [-p.amount_cents for p in cancelled]


def test_a_deposit_refund() -> None:
    """A refund debits the deposits held and credits the method it is paid back by."""
    register = open_register()
    receipt(register, ("deposit", 15000))
    register.collect_events()
    register.refund_deposit(
        aire_id=AIRE_ID,
        stay_id=STAY_ID,
        amount_cents=12000,
        method="cash",
        actor="c",
        at=register.modified_on,
    )
    expected = entry((DEPOSITS, 12000), (CASH, -12000))
    assert expected == entry_for(last(register))


@pytest.mark.parametrize(
    ("reason", "credited"),
    [("damage", revenue("other")), ("unpaid_charges", RECEIVABLE)],
)
def test_a_withholding(reason: str, credited: str) -> None:
    """Withholding debits the deposits held; against damage it is revenue of the aire (other),
    against unpaid charges it settles the household's receivable. No cash moves."""
    register = open_register()
    receipt(register, ("deposit", 15000))
    register.collect_events()
    register.withhold_deposit(
        aire_id=AIRE_ID,
        stay_id=STAY_ID,
        amount_cents=3000,
        reason=reason,
        reference="EDL-S-1",
        actor="c",
        at=register.modified_on,
    )
    expected = entry((DEPOSITS, 3000), (credited, -3000))
    assert expected == entry_for(last(register))


def test_a_remittance() -> None:
    """Paying in debits 'remitted' and credits each method's account, method by method."""
    register = open_register()
    receipt(register, ("pitch_fee", 2000))
    receipt(register, ("pitch_fee", 1500), method="card")
    register.collect_events()
    register.remit(
        through_receipt=2,
        amounts_by_method={"cash": 2000, "card": 1500},
        actor="c",
        at=register.modified_on,
    )
    expected = entry((REMITTED, 1500), (CARD, -1500), (REMITTED, 2000), (CASH, -2000))
    assert expected == entry_for(last(register))


def test_cash_over() -> None:
    """A surplus found at the count debits cash and credits over/short; the count itself posts
    nothing."""
    register = open_register()
    register.count_cash(counted_cents=5150, actor="c", at=at(1, 6, 17))
    counted, over = register.collect_events()
    assert entry_for(counted) == ()
    expected = entry((CASH, 150), (OVER_SHORT, -150))
    assert expected == entry_for(over)


def test_cash_short() -> None:
    """A shortfall found at the count debits over/short and credits cash."""
    register = open_register()
    register.count_cash(counted_cents=4800, actor="c", at=at(1, 6, 17))
    counted, short = register.collect_events()
    assert entry_for(counted) == ()
    expected = entry((OVER_SHORT, 200), (CASH, -200))
    assert expected == entry_for(short)


def test_a_shortfall_made_good_by_the_regisseur() -> None:
    """Its régularisation brings the cash back and clears over/short; a handover posts
    nothing."""
    register = open_register()
    register.count_cash(counted_cents=4800, actor="c", at=at(1, 6, 17))
    register.regularise_difference(count_number=1, reference="Q-1", actor="r", at=at(1, 6, 18))
    register.hand_over(incoming="r2", counted_cents=5000, actor="r", at=at(1, 6, 19))
    *_, regularised, counted, handed = register.collect_events()
    assert entry((CASH, 200), (OVER_SHORT, -200)) == entry_for(regularised)
    assert entry_for(counted) == entry_for(handed) == ()


def test_a_surplus_taken_as_revenue() -> None:
    """Its régularisation clears over/short into the aire's other revenue; no cash moves."""
    register = open_register()
    register.count_cash(counted_cents=5150, actor="c", at=at(1, 6, 17))
    register.regularise_difference(count_number=1, reference="D-1", actor="r", at=at(1, 6, 18))
    regularised = register.collect_events()[-1]
    assert entry((OVER_SHORT, 150), (revenue("other"), -150)) == entry_for(regularised)


# --- events that move no money ----------------------------------------------------------


def non_financial_events() -> list[Any]:
    """Every event class that records facts but moves no money."""
    events: list[Any] = []
    coll = Collectivite.register(
        code="ALM", name="Angers Loire Métropole", siren="244900015", actor="a", at=ARRIVED
    )
    events += coll.collect_events()
    aire = Aire.register(
        code="49007-A",
        name="Aire des Perrins",
        collectivite_id=coll.id,
        sector="Anjou",
        mode="regie",
        insee_code="49007",
        departement="49",
        latitude=Decimal("47.4784"),
        longitude=Decimal("-0.5632"),
        actor="m",
        at=ARRIVED,
    )
    aire.add_emplacement(number="1", actor="m", at=ARRIVED)
    aire.put_out_of_service(number="1", start=date(2025, 1, 7), reason="x", actor="m", at=ARRIVED)
    aire.put_back_in_service(number="1", start=date(2025, 1, 8), actor="m", at=ARRIVED)
    aire.schedule_closure(
        start=date(2025, 8, 1), end=date(2025, 8, 10), reason="x", actor="m", at=ARRIVED
    )
    aire.adopt_tariff(TARIFF, actor="m", at=ARRIVED)
    aire.set_stay_rules(max_consecutive_days=90, extension_cap_months=7, actor="m", at=ARRIVED)
    aire.admit(
        stay_id=STAY_ID, emplacement="1", arrival_day=date(2025, 1, 9), actor="c", at=ARRIVED
    )
    aire.release(stay_id=STAY_ID, actor="c", at=ARRIVED)
    aire.attach_register(REGISTER_ID, actor="m", at=ARRIVED)
    events += aire.collect_events()
    stay = Stay.open(
        stay_id=STAY_ID,
        aire_id=AIRE_ID,
        emplacement="1",
        household_ref=HOUSEHOLD,
        arrived_at=ARRIVED,
        composition=Composition(2),
        agreement_ref="COT-1",
        entry_inspection_ref="EDL-E-1",
        water_index=Decimal("100"),
        electricity_index=Decimal("2000"),
        max_consecutive_days=1,
        extension_cap_months=7,
        actor="cashier",
        at=ARRIVED,
    )
    stay.read_meter(meter="water", index=Decimal(101), read_at=at(1, 7), actor="c", at=at(1, 7))
    stay.assess_charges(through=date(2025, 1, 7), tariffs=(TARIFF,), actor="c", at=at(1, 7))
    stay.extend(reason="work", evidence_ref="CDD", until=date(2025, 2, 1), actor="c", at=at(1, 7))
    stay.depart(
        departed_at=at(1, 8),
        exit_inspection_ref="EDL-S-1",
        water_index=Decimal(101),
        electricity_index=Decimal(2000),
        actor="c",
        at=at(1, 8),
    )
    events += [e for e in stay.collect_events() if not isinstance(e, Stay.ChargesAssessed)]
    register = open_register()
    register.count_cash(counted_cents=5000, actor="c", at=at(1, 6, 17))
    register.close_period(period="day", day=date(2025, 1, 6), actor="c", at=at(1, 7))
    register.close_period(period="month", day=date(2025, 1, 6), actor="c", at=at(2, 1))
    register.close_period(
        period="year", day=date(2025, 1, 6), actor="c", at=datetime(2026, 1, 2, 9, 0, tzinfo=UTC)
    )
    events += register.collect_events()
    return events


def test_events_that_move_no_money_have_an_empty_entry() -> None:
    """Registrations, emplacements, closures, tariffs, stays' facts, counts and closures post
    nothing."""
    events = non_financial_events()
    kinds = {type(e).__qualname__ for e in events}
    assert {
        "Stay.Opened",
        "Stay.MeterRead",
        "Stay.LimitExceeded",
        "Stay.Extended",
        "Stay.Departed",
        "CashRegister.CashCounted",
        "CashRegister.DayClosed",
        "CashRegister.MonthClosed",
        "CashRegister.YearClosed",
        "Aire.ClosureScheduled",
        "Aire.StayAdmitted",
    } <= kinds
    assert {type(e).__qualname__: entry_for(e) for e in events} == dict.fromkeys(kinds, ())


# --- the books balance ------------------------------------------------------------------


def a_stay_and_its_money() -> list[Any]:
    """Arrival with a deposit, charges, payment, a cancelled receipt, a withholding for an
    unpaid charge, a refund of the rest, a count with a shortfall and a remittance."""
    events: list[Any] = []
    register = CashRegister.open(
        register_id=REGISTER_ID,
        aire_id=AIRE_ID,
        regie_ref="AC-2024-07",
        float_cents=5000,
        cash_ceiling_cents=120000,
        payment_methods=("cash", "cheque", "card", "transfer"),
        revenue_types=("pitch_fee", "water", "electricity", "deposit", "other"),
        actor="manager",
        at=at(1, 6, 8),
    )
    stay = open_stay()
    receipt(register, ("deposit", 15000), method="cheque")
    stay.read_meter(
        meter="water", index=Decimal("102.5"), read_at=at(1, 12), actor="c", at=at(1, 12)
    )
    stay.assess_charges(through=date(2025, 1, 12), tariffs=(TARIFF,), actor="c", at=at(1, 12))
    receipt(register, ("pitch_fee", 2100))
    receipt(register, ("water", 800), method="card")
    receipt(register, ("other", 1000), stay_id=None)
    register.cancel_receipt(
        number=4, reason="doublon", household_ref=None, actor="c", at=register.modified_on
    )
    register.withhold_deposit(
        aire_id=AIRE_ID,
        stay_id=STAY_ID,
        amount_cents=78,
        reason="unpaid_charges",
        reference="CHG-water",
        actor="c",
        at=register.modified_on,
    )
    register.refund_deposit(
        aire_id=AIRE_ID,
        stay_id=STAY_ID,
        amount_cents=15000 - 78,
        method="cheque",
        actor="c",
        at=register.modified_on,
    )
    register.count_cash(counted_cents=7050, actor="c", at=register.modified_on)
    register.remit(
        through_receipt=4,
        amounts_by_method={"cash": 2050, "card": 800, "cheque": 78},
        actor="c",
        at=register.modified_on,
    )
    events += stay.collect_events()
    events += register.collect_events()
    return events


def test_every_entry_sums_to_zero() -> None:
    """Each event's entry is balanced on its own."""
    entries = [entry_for(e) for e in a_stay_and_its_money()]
    assert [sum(p.amount_cents for p in e) for e in entries] == [0] * len(entries)
    assert sum(1 for e in entries if e) == 11


def test_the_books_after_a_stay() -> None:
    """After the stay is paid and its deposit settled, the household owes nothing, no deposit
    is held, revenue shows the charges, the register holds its float, the shortfall is on
    over/short and the rest was remitted."""
    balances = balances_of(a_stay_and_its_money())
    expected = {
        RECEIVABLE: 0,
        DEPOSITS: 0,
        revenue("pitch_fee"): -2100,
        revenue("water"): -878,
        revenue("other"): 0,
        CASH: 5000,
        CHEQUE: 0,
        CARD: 0,
        FLOAT: -5000,
        OVER_SHORT: 50,
        REMITTED: 2928,
    }
    assert expected == balances
    assert sum(balances.values()) == 0


def test_apply_entry_returns_new_balances() -> None:
    """Folding an entry gives a new balance sheet and leaves the old one as it was."""
    before = {CASH: 5000, FLOAT: -5000}
    after = apply_entry(before, entry((CASH, 300), (revenue("other"), -300)))
    assert (before, after) == (
        {CASH: 5000, FLOAT: -5000},
        {CASH: 5300, FLOAT: -5000, revenue("other"): -300},
    )
