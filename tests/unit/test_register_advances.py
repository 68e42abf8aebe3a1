"""CashRegister, issue 15 (point 1): advances, money paid ahead of any charge. Given past
events, run a command, check the new events or the error (and that a refusal changes
nothing). Which charges an advance settles is the stay's (``tests/unit/test_settlement.py``);
through the ledger, on both backends: ``tests/integration/test_advances.py``.

The helpers (a register with a 50.00 float, receipts, ``unchanged``...) are those of
``test_register``.
"""

from __future__ import annotations

from datetime import date

import pytest

from hacienda_ledger.aggregates.accounts import advances, balances_of, cash, receivable
from hacienda_ledger.aggregates.errors import (
    AdvanceApplied,
    InsufficientFunds,
    InvalidValue,
    LedgerError,
    NoAdvanceHeld,
    NotAllowed,
)
from hacienda_ledger.aggregates.register import CashRegister, ReceiptLine
from hacienda_ledger.aggregates.register_rules import alerts, cash_position
from tests.unit.test_register import (
    AIRE_ID,
    OTHER_STAY,
    STAY_ID,
    at,
    cancel,
    open_register,
    receipt,
    refused,
    snapshot,
    unchanged,
)


def apply(register: CashRegister, *lines: tuple[str, int]) -> int:
    return register.apply_advance(
        aire_id=AIRE_ID,
        stay_id=STAY_ID,
        lines=tuple(ReceiptLine(t, c) for t, c in lines),
        actor="cashier",
        at=register.modified_on,
    )


def refund(register: CashRegister, amount: int | None = None, method: str = "cash") -> int:
    return register.refund_advance(
        aire_id=AIRE_ID,
        stay_id=STAY_ID,
        amount_cents=amount,
        method=method,
        actor="cashier",
        at=register.modified_on,
    )


def test_an_advance_line_is_held_for_its_stay_apart_from_revenue() -> None:
    """Given a register, when a receipt holds 80.00 € of advance and 5.00 € of pitch fee in
    cash, then the advance is held for the stay and reserved in cash: not revenue (the
    perpetual total counts the 5.00 €), not to be paid in, its own third-party total."""
    register = open_register()
    receipt(register, ("advance", 8000), ("pitch_fee", 500), when=at(1, 6))
    assert register.advance_held(STAY_ID) == 8000
    assert register.advance_held(OTHER_STAY) == 0
    assert register.advances_by_method == {"cash": 8000}
    assert register.perpetual_total_cents == 500
    assert register.remittable("cash") == 500
    assert register.daily_third_party["2025-01-06"].by_revenue_type == {"advance": 8000}
    assert register.settled(STAY_ID) == 500  # the advance settles nothing yet


def test_an_advance_needs_a_stay() -> None:
    register = open_register()
    before = snapshot(register)
    with pytest.raises(InvalidValue) as error:
        receipt(register, ("advance", 1000), stay_id=None)
    assert refused(error) == ("invalid_value", "stay_id")
    assert unchanged(register, before)


def test_an_advance_needs_a_register_that_collects_some_charge() -> None:
    """A register collecting deposits only takes no advance: it would pay nothing."""
    register = open_register(revenue_types=("deposit",))
    before = snapshot(register)
    with pytest.raises(NotAllowed) as error:
        receipt(register, ("advance", 1000))
    assert refused(error) == ("not_allowed", "lines[0].revenue_type")
    assert unchanged(register, before)


def test_applying_an_advance_makes_it_revenue_in_the_methods_it_was_paid_in() -> None:
    """Given 30.00 € of advance in cash and 20.00 € by card, when 40.00 € are applied (30.00
    of pitch fee, 10.00 of water), then ``AdvanceApplied`` releases cash first: 30.00 in
    cash, 10.00 by card; 10.00 € stay held; the day's revenue and the grand total count the
    40.00 €, the third-party total loses them, and they are to be paid in. The entry moves
    them from ``advances/<stay>`` to the receivable."""
    register = open_register()
    receipt(register, ("advance", 3000), when=at(1, 6))
    receipt(register, ("advance", 2000), method="card", when=at(1, 6, 10))
    version = apply(register, ("pitch_fee", 3000), ("water", 1000))
    events = register.collect_events()
    applied = events[-1]
    assert isinstance(applied, CashRegister.AdvanceApplied)
    assert (applied.originator_version, applied.amount_cents) == (version, 4000)
    assert applied.methods == {"card": 1000, "cash": 3000}
    assert register.advance_held(STAY_ID) == 1000
    assert register.advance_lots == {str(STAY_ID): {"card": 1000}}
    assert register.advance_applied(STAY_ID) == 4000
    assert register.settled(STAY_ID) == 4000
    assert register.perpetual_total_cents == 4000
    day = register.daily_totals["2025-01-06"]
    assert (day.by_revenue_type, day.by_method, day.receipts) == (
        {"pitch_fee": 3000, "water": 1000},
        {"cash": 3000, "card": 1000},
        0,
    )
    assert register.daily_third_party["2025-01-06"].by_revenue_type == {"advance": 1000}
    assert (register.remittable("cash"), register.remittable("card")) == (3000, 1000)
    balances = balances_of(events)
    assert (balances[advances(STAY_ID)], balances[receivable(STAY_ID)]) == (-1000, -4000)


def test_no_more_is_applied_than_is_held() -> None:
    register = open_register()
    receipt(register, ("advance", 1000))
    register.collect_events()
    before = snapshot(register)
    with pytest.raises(NoAdvanceHeld) as error:
        apply(register, ("pitch_fee", 1001))
    assert refused(error) == ("no_advance_held", "amount_cents")
    assert unchanged(register, before)
    with pytest.raises(InvalidValue):
        apply(register)
    assert unchanged(register, before)


def test_what_is_held_is_refunded_all_of_it_or_part() -> None:
    """Given 25.00 € held, a refund of 10.00 € by card is refused while the register holds no
    card money (insufficient_funds); 10.00 € in cash go back, then the rest (no amount
    given); a refund with nothing held, or of more than is held, is no_advance_held."""
    register = open_register()
    receipt(register, ("advance", 2500))
    register.collect_events()
    before = snapshot(register)
    for amount, method, error_type, code in (
        (1000, "card", InsufficientFunds, "insufficient_funds"),
        (2501, "cash", NoAdvanceHeld, "no_advance_held"),
    ):
        with pytest.raises(error_type) as error:
            refund(register, amount, method)
        assert refused(error)[0] == code
        assert unchanged(register, before)
    assert refund(register, 1000) == 1000
    assert refund(register) == 1500
    events = register.collect_events()
    assert [type(e) for e in events] == [CashRegister.AdvanceRefunded] * 2
    assert (register.advance_held(STAY_ID), register.advance_refunded(STAY_ID)) == (0, 2500)
    assert register.balances["cash"] == 5000
    assert balances_of(events)[cash(register.id, "cash")] == -2500
    before = snapshot(register)
    with pytest.raises(NoAdvanceHeld) as error:
        refund(register)
    assert refused(error) == ("no_advance_held", "amount_cents")
    assert unchanged(register, before)


def test_a_receipt_whose_advance_was_applied_cannot_be_cancelled() -> None:
    """Given an advance receipt of 10.00 € of which 6.00 € were applied, cancelling it (or
    asking to) is advance_applied and records nothing; once a second advance covers it
    again, it is cancelled and no longer held."""
    register = open_register()
    first = receipt(register, ("advance", 1000))
    apply(register, ("pitch_fee", 600))
    register.collect_events()
    before = snapshot(register)
    for attempt in (
        lambda: cancel(register, first),
        lambda: register.request_cancellation(
            number=first, reason="x", actor="cashier", at=register.modified_on
        ),
    ):
        with pytest.raises(AdvanceApplied) as error:
            attempt()
        assert refused(error) == ("advance_applied", "number")
        assert unchanged(register, before)
    receipt(register, ("advance", 2000))
    cancel(register, first)
    assert register.advance_held(STAY_ID) == 1400
    assert register.advance_applied(STAY_ID) == 600


@pytest.mark.parametrize("bad", [0, -5])
def test_an_advance_line_is_positive_cents(bad: int) -> None:
    register = open_register()
    before = snapshot(register)
    with pytest.raises(LedgerError):
        receipt(register, ("advance", bad))
    assert unchanged(register, before)


def test_an_advance_held_is_not_money_waiting_to_be_remitted() -> None:
    """Given an advance of 80.00 € received in cash on 6 January and nothing else, then two
    months later no periodic remittance is due (the advance is the household's, kept to be
    applied or refunded), and the cash position counts it with the funds held for others;
    once 30.00 € of it are applied, they are no longer held but to be paid in (a movement of
    the next slip, as a deposit withheld is)."""
    register = open_register()
    receipt(register, ("advance", 8000), when=at(1, 6))
    weekdays = lambda day: day.weekday() < 5  # noqa: E731
    assert [a for a in alerts(register, date(2025, 3, 10), weekdays) if a.receipt_number] == []
    (cash_held,) = cash_position(register, date(2025, 3, 10), ("cash",))
    assert (cash_held.balance_cents, cash_held.float_cents, cash_held.deposits_cents) == (
        13000,
        5000,
        8000,
    )
    apply(register, ("pitch_fee", 3000))
    (cash_held,) = cash_position(register, date(2025, 3, 10), ("cash",))
    assert cash_held.deposits_cents == 5000
    assert register.remittable("cash") == 3000
