"""CashRegister, issue 15 (points 3, 4 and 7): balanced slips, closures that keep deposits
apart from revenue, cash counts by denomination, handovers and the régularisation of a
count's difference. Given past events, run a command, check the new events or the error.

The helpers (a register with a 50.00 float, receipts, ``unchanged``...) are those of
``test_register``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from hacienda_ledger.aggregates.errors import (
    CashDifferenceNotOpen,
    CountNotFound,
    InsufficientFunds,
    InvalidValue,
    LedgerError,
    SlipUnbalanced,
)
from hacienda_ledger.aggregates.register import (
    CashRegister,
    Cheque,
    Denomination,
    OutdatedSnapshot,
    ReceiptLine,
    SlipLine,
)
from hacienda_ledger.aggregates.values import Totals
from tests.unit.test_register import (
    AIRE_ID,
    OTHER_STAY,
    STAY_ID,
    at,
    body,
    cancel,
    header,
    open_register,
    receipt,
    refused,
    remit,
    snapshot,
    unchanged,
)


def count(register: CashRegister, *notes: tuple[int, int], **kwargs: Any) -> int:
    return register.count_cash(
        denominations=tuple(Denomination(v, n) for v, n in notes),
        actor="regisseur",
        at=register.modified_on,
        **kwargs,
    )


def regularise(register: CashRegister, number: int, reference: str = "QUIT-REG-1") -> str:
    return register.regularise_difference(
        count_number=number, reference=reference, actor="regisseur", at=register.modified_on
    )


def slip_of(register: CashRegister) -> CashRegister.RemittanceMade:
    (event,) = [e for e in register.collect_events() if isinstance(e, CashRegister.RemittanceMade)]
    return event


def cheque_receipt(register: CashRegister, amount: int, number: str, bank: str) -> int:
    return register.issue_receipt(
        aire_id=AIRE_ID,
        stay_id=STAY_ID,
        household_ref=None,
        method="cheque",
        lines=(ReceiptLine("pitch_fee", amount),),
        actor="cashier",
        at=register.modified_on,
        cheque=Cheque(number, bank),
    )


# --- balanced slips -------------------------------------------------------------------------


def test_a_slip_lists_its_receipts_and_pays_in_their_revenue() -> None:
    """Given a cash receipt of 20.00 with a 150.00 deposit, a card receipt and a cheque, the
    slip lists each receipt with what it pays in (the deposit stays in the register, shown
    as held), the cheque by number and bank, and pays in exactly their total by method."""
    register = open_register()
    receipt(register, ("deposit", 15000), ("pitch_fee", 2000))
    receipt(register, ("water", 1500), method="card")
    cheque_receipt(register, 900, "0012345", "Crédit Agricole Anjou")
    register.collect_events()
    assert remit(register, 3, cash=2000, card=1500, cheque=900) == 1
    event = slip_of(register)
    assert event.lines == (
        SlipLine("receipt", 1, "cash", 2000, held_cents=15000),
        SlipLine("receipt", 2, "card", 1500),
        SlipLine("receipt", 3, "cheque", 900, "0012345", "Crédit Agricole Anjou"),
    )
    assert (event.amounts_by_method, event.total_cents) == (
        {"card": 1500, "cash": 2000, "cheque": 900},
        4400,
    )
    assert register.unremitted == {} and register.cheques == {}


def test_a_slip_that_does_not_pay_in_its_receipts_is_refused() -> None:
    """Receipts 1 to 5 bring 24.00: a slip paying in 0.01 € for them is refused with the
    amounts expected, records nothing, and the receipts can still be cancelled."""
    register = open_register()
    for amount in (400, 500, 600, 400, 500):
        receipt(register, ("pitch_fee", amount))
    register.collect_events()
    before = snapshot(register)
    with pytest.raises(SlipUnbalanced) as error:
        remit(register, 5, cash=1)
    assert refused(error) == ("slip_unbalanced", "amounts_by_method_cents")
    assert (error.value.expected, error.value.extensions["given_cents"]) == (
        {"cash": 2400},
        {"cash": 1},
    )
    assert unchanged(register, before)
    cancel(register, 5)
    assert register.open_receipts["5"].cancelled


@pytest.mark.parametrize(
    "amounts",
    [{"cash": 2000}, {"cash": 2000, "card": 1499}, {"card": 1500}, {"cash": 1999, "card": 1500}],
)
def test_every_method_of_a_slip_must_balance(amounts: dict[str, int]) -> None:
    """Paying in a method short, or leaving one out, is refused: the expected amounts name
    every method."""
    register = open_register()
    receipt(register, ("pitch_fee", 2000))
    receipt(register, ("pitch_fee", 1500), method="card")
    with pytest.raises(SlipUnbalanced) as error:
        remit(register, 2, **amounts)
    assert error.value.expected == {"card": 1500, "cash": 2000}


def test_a_cash_shortfall_is_its_own_line_naming_its_count() -> None:
    """Receipts 1 to 7 bring 94.58 in cash; a count finds 1.50 short. The slip lists the
    seven receipts and the shortfall (count n°1), and pays in 93.08: what they total. The
    94.58 of the receipts alone is more than the cash holds; 93.00 does not balance."""
    register = open_register()
    for amount in (1500, 1200, 1800, 1000, 1458, 1300, 1200):
        receipt(register, ("pitch_fee", amount))
    count(register, counted_cents=5000 + 9458 - 150)
    register.collect_events()
    with pytest.raises(InsufficientFunds):
        remit(register, 7, cash=9458)
    with pytest.raises(SlipUnbalanced) as error:
        remit(register, 7, cash=9300)
    assert error.value.expected == {"cash": 9308}
    remit(register, 7, cash=9308)
    event = slip_of(register)
    assert event.lines[-1] == SlipLine("cash_short", 1, "cash", -150)
    assert sum(x.amount_cents for x in event.lines) == event.total_cents == 9308


def test_a_shortfall_made_good_is_paid_in_with_it() -> None:
    """The régisseur makes the 1.50 good (régularisation of count 1): the slip lists the
    shortfall and the cash put back, and pays in all the receipts brought."""
    register = open_register()
    receipt(register, ("pitch_fee", 9458))
    count(register, counted_cents=5000 + 9458 - 150)
    assert regularise(register, 1) == "deficit"
    register.collect_events()
    remit(register, 1, cash=9458)
    assert slip_of(register).lines == (
        SlipLine("receipt", 1, "cash", 9458),
        SlipLine("cash_short", 1, "cash", -150),
        SlipLine("deficit_made_good", 1, "cash", 150),
    )


def test_a_surplus_is_paid_in() -> None:
    """A count finding 1.50 over: the slip pays it in on a line of its own."""
    register = open_register()
    receipt(register, ("pitch_fee", 2000))
    count(register, counted_cents=7150)
    register.collect_events()
    remit(register, 1, cash=2150)
    assert slip_of(register).lines[-1] == SlipLine("cash_over", 1, "cash", 150)


def test_a_shortfall_the_cash_does_not_cover_is_carried_to_the_next_slip() -> None:
    """No cash came in and a count finds 2.00 short: the card receipts are paid in, cash pays
    in nothing (the shortfall carried forward), and the next slip starts from it."""
    register = open_register()
    receipt(register, ("pitch_fee", 1000), method="card")
    count(register, counted_cents=4800)
    register.collect_events()
    with pytest.raises(SlipUnbalanced) as error:
        remit(register, 1, card=999)
    assert error.value.expected == {"card": 1000}  # cash: nothing to pay in
    remit(register, 1, card=1000, cash=0)
    assert slip_of(register).lines == (
        SlipLine("receipt", 1, "card", 1000),
        SlipLine("cash_short", 1, "cash", -200),
        SlipLine("carried_forward", 1, "cash", 200),
    )
    receipt(register, ("pitch_fee", 500))
    register.collect_events()
    remit(register, 2, cash=300)
    assert slip_of(register).lines == (
        SlipLine("receipt", 2, "cash", 500),
        SlipLine("carried", 1, "cash", -200),
    )


def test_a_withheld_deposit_is_paid_in_on_its_own_line() -> None:
    """A card deposit withheld against damage is the aire's money: the slip covering its
    receipt lists the receipt (deposit held) and the withholding, which it pays in."""
    register = open_register()
    receipt(register, ("deposit", 15000), method="card")
    register.withhold_deposit(
        aire_id=AIRE_ID,
        stay_id=STAY_ID,
        amount_cents=15000,
        reason="damage",
        reference="EDL-S-1",
        actor="c",
        at=register.modified_on,
    )
    version = register.version
    register.collect_events()
    remit(register, 1, card=15000)
    assert slip_of(register).lines == (
        SlipLine("receipt", 1, "card", 0, held_cents=15000),
        SlipLine("deposit_withheld", version, "card", 15000),
    )


def test_a_refund_in_another_method_than_the_deposit_moves_money_between_methods() -> None:
    """A 150.00 deposit paid by card and refunded in cash: the cash paid out and the card
    money it frees are two lines of the slip, which pays the card money in."""
    register = open_register()
    receipt(register, ("deposit", 15000), method="card", stay_id=STAY_ID)
    receipt(register, ("pitch_fee", 20000), stay_id=OTHER_STAY)
    register.refund_deposit(
        aire_id=AIRE_ID,
        stay_id=STAY_ID,
        amount_cents=15000,
        method="cash",
        actor="c",
        at=register.modified_on,
    )
    version = register.version
    register.collect_events()
    with pytest.raises(SlipUnbalanced) as error:
        remit(register, 2, cash=5000)
    assert error.value.expected == {"card": 15000, "cash": 5000}
    remit(register, 2, cash=5000, card=15000)
    assert slip_of(register).lines[2:] == (
        SlipLine("deposit_refunded", version, "card", 15000),
        SlipLine("deposit_refunded", version, "cash", -15000),
    )


def test_a_cancelled_receipt_is_listed_and_brings_nothing() -> None:
    register = open_register()
    receipt(register, ("pitch_fee", 2000))
    receipt(register, ("pitch_fee", 700))
    cancel(register, 2)
    register.collect_events()
    remit(register, 2, cash=2000)
    assert slip_of(register).lines[1] == SlipLine("receipt", 2, "cash", 0, cancelled=True)


def test_a_slip_recorded_before_lines_leaves_what_it_did_not_pay_to_the_next() -> None:
    """A slip of the first version paid in 0.01 € for 24.00 of receipts (it was accepted
    then): the 23.99 it left is carried to the next slip, which pays it in."""
    register = open_register()
    receipt(register, ("pitch_fee", 2400))
    register._append(
        CashRegister.RemittanceMade,
        register.modified_on,
        slip_number=1,
        first_receipt=1,
        last_receipt=1,
        amounts_by_method={"cash": 1},
        receipts_by_method={"cash": 2400},
        total_cents=1,
        actor="cashier",
        lines=None,
    )
    register.collect_events()
    assert list(register.unremitted.values()) == [SlipLine("carried", 1, "cash", 2399)]
    assert register.remittable("cash") == 2399
    remit(register, 1, cash=2399)
    assert slip_of(register).lines == (SlipLine("carried", 1, "cash", 2399),)


@pytest.mark.parametrize(
    ("method", "cheque", "field"),
    [
        ("cash", Cheque("0012345", "La Banque Postale"), "cheque"),
        ("cheque", Cheque(" ", "La Banque Postale"), "cheque.number"),
        ("cheque", Cheque("0012345", ""), "cheque.bank"),
    ],
)
def test_a_receipt_names_a_cheque_for_a_cheque_payment_only(
    method: str, cheque: Cheque, field: str
) -> None:
    register = open_register()
    before = snapshot(register)
    with pytest.raises(InvalidValue) as error:
        register.issue_receipt(
            aire_id=AIRE_ID,
            stay_id=STAY_ID,
            household_ref=None,
            method=method,
            lines=(ReceiptLine("pitch_fee", 900),),
            actor="cashier",
            at=register.modified_on,
            cheque=cheque,
        )
    assert refused(error) == ("invalid_value", field)
    assert unchanged(register, before)


# --- cash counts by denomination --------------------------------------------------------------


def test_a_count_by_denomination() -> None:
    """The notes and coins counted make the amount counted; they are kept largest first,
    those counted none left out; counts are numbered."""
    register = open_register()
    receipt(register, ("pitch_fee", 2150))
    register.collect_events()
    difference = count(register, (50, 3), (2000, 1), (5000, 1), (100, 0))
    (event,) = register.collect_events()
    assert difference == 0
    assert body(event) == (
        CashRegister.CashCounted,
        dict(
            header(register, 3, register.modified_on),
            counted_cents=7150,
            book_cents=7150,
            difference_cents=0,
            actor="regisseur",
            number=1,
            denominations=(Denomination(5000, 1), Denomination(2000, 1), Denomination(50, 3)),
        ),
    )
    count(register, (5000, 1), (2000, 1), (100, 1), (50, 1))
    assert (register.last_count_number, register.open_difference_cents) == (2, {})


@pytest.mark.parametrize(
    ("notes", "counted", "field"),
    [
        ((), None, "denominations"),
        (((300, 1),), None, "denominations[0].value_cents"),
        (((500, 1), (500, 2)), None, "denominations[1].value_cents"),
        (((500, -1),), None, "denominations[0].count"),
        (((500, 2),), 1001, "counted_cents"),
    ],
)
def test_a_count_refuses(
    notes: tuple[tuple[int, int], ...], counted: int | None, field: str
) -> None:
    """Euro notes and coins only, each value once, whole counts; with an amount, the notes
    and coins must make it."""
    register = open_register()
    before = snapshot(register)
    with pytest.raises(InvalidValue) as error:
        count(register, *notes, counted_cents=counted)
    assert refused(error) == ("invalid_value", field)
    assert unchanged(register, before)


# --- régularisations of a count's difference -------------------------------------------------


def test_a_shortfall_regularised_is_made_good_in_cash_and_no_longer_open() -> None:
    register = open_register()
    receipt(register, ("pitch_fee", 2000))
    count(register, counted_cents=6800)
    assert register.open_difference_cents == {1: -200}
    register.collect_events()
    assert regularise(register, 1, " QUIT-REG-7 ") == "deficit"
    (event,) = register.collect_events()
    assert body(event) == (
        CashRegister.CashDifferenceRegularised,
        dict(
            header(register, 5, register.modified_on),
            count_number=1,
            kind="deficit",
            amount_cents=200,
            aire_id=AIRE_ID,
            reference="QUIT-REG-7",
            actor="regisseur",
        ),
    )
    assert (register.open_difference_cents, register.balances["cash"]) == ({}, 7000)


def test_a_surplus_regularised_becomes_revenue_and_moves_no_cash() -> None:
    register = open_register()
    count(register, counted_cents=5150)
    assert regularise(register, 1) == "excess"
    assert (register.open_difference_cents, register.balances["cash"]) == ({}, 5150)


@pytest.mark.parametrize(
    ("number", "reference", "error", "field"),
    [
        (3, "R", CountNotFound, "count"),
        (0, "R", CountNotFound, "count"),
        (1, "R", CashDifferenceNotOpen, "count"),  # regularised already
        (2, "R", CashDifferenceNotOpen, "count"),  # found no difference
        (1, " ", InvalidValue, "reference"),
    ],
)
def test_a_regularisation_refuses(
    number: int, reference: str, error: type[LedgerError], field: str
) -> None:
    register = open_register()
    count(register, counted_cents=4900)
    regularise(register, 1)
    count(register, counted_cents=5000)
    register.collect_events()
    before = snapshot(register)
    with pytest.raises(error) as raised:
        regularise(register, number, reference)
    assert refused(raised) == (error.code, field)
    assert unchanged(register, before)


# --- handovers --------------------------------------------------------------------------------


def test_a_handover_records_the_count_made_together() -> None:
    """The outgoing régisseur (the actor) hands over to the incoming one on a count; the
    count's difference is recorded as at any count."""
    register = open_register()
    receipt(register, ("pitch_fee", 2000))
    register.collect_events()
    when = register.modified_on
    number = register.hand_over(
        incoming="regisseur-2",
        denominations=(Denomination(5000, 1), Denomination(1000, 1), Denomination(500, 1)),
        actor="regisseur-1",
        at=when,
    )
    counted, short, handed = register.collect_events()
    assert (number, type(counted), type(short)) == (
        1,
        CashRegister.CashCounted,
        CashRegister.CashShort,
    )
    assert body(handed) == (
        CashRegister.HandedOver,
        dict(
            header(register, 5, when),
            count_number=1,
            outgoing="regisseur-1",
            incoming="regisseur-2",
            actor="regisseur-1",
        ),
    )
    assert (register.holder, register.open_difference_cents) == ("regisseur-2", {1: -500})


def test_a_handover_is_to_someone_else() -> None:
    register = open_register()
    before = snapshot(register)
    with pytest.raises(InvalidValue) as error:
        register.hand_over(incoming="r1", counted_cents=5000, actor="r1", at=register.modified_on)
    assert refused(error) == ("invalid_value", "incoming")
    assert unchanged(register, before)


# --- closures: revenue apart from third-party funds -------------------------------------------


def test_a_year_closure_keeps_deposits_apart_from_revenue() -> None:
    """176.00 received in the year, of which a 150.00 deposit: the closure shows 26.00 of
    revenue and 150.00 of third-party funds, and the perpetual grand total counts 26.00."""
    register = open_register()
    receipt(register, ("deposit", 15000), ("pitch_fee", 2000), when=at(3, 10))
    receipt(register, ("water", 600), method="card", when=at(6, 2))
    register.collect_events()
    register.close_period(period="year", day=date(2025, 6, 1), actor="chef", at=at(1, 2, year=2026))
    (event,) = register.collect_events()
    assert isinstance(event, CashRegister.YearClosed)
    assert (event.revenue_cents, event.third_party_cents, event.perpetual_total_cents) == (
        2600,
        15000,
        2600,
    )
    assert event.totals == Totals({"pitch_fee": 2000, "water": 600}, {"cash": 2000, "card": 600}, 2)
    assert event.third_party == Totals({"deposit": 15000}, {"cash": 15000}, 1)


def test_a_cancelled_deposit_leaves_the_third_party_funds() -> None:
    register = open_register()
    receipt(register, ("deposit", 15000), when=at(1, 6, 9))
    cancel(register, 1, when=at(1, 6, 10))
    register.close_period(period="day", day=date(2025, 1, 6), actor="c", at=at(1, 6, 17))
    event = register.collect_events()[-1]
    assert isinstance(event, CashRegister.DayClosed)
    assert (event.totals, event.perpetual_total_cents) == (Totals(), 0)
    assert event.third_party == Totals({"deposit": 0}, {"cash": 0}, 1, 1)


# --- snapshots of an older state ---------------------------------------------------------------


def test_snapshots_of_older_state_versions_are_not_used() -> None:
    """A snapshot taken before version 3 of the register's state cannot give the movements
    to pay in (nor, before version 2, the receipts' days): restoring one of version 1 or 2
    raises ``OutdatedSnapshot`` (the ledger then replays events)."""
    register = open_register()
    receipt(register, ("pitch_fee", 2000))
    register.collect_events()
    snap = CashRegister.Snapshot.take(register)
    assert snap.state["class_version"] == 4
    assert snap.mutate(None) == register
    for version in (1, 2):
        state = {k: v for k, v in snap.state.items() if k != "class_version"}
        if version > 1:
            state["class_version"] = version
        old = CashRegister.Snapshot(
            originator_id=snap.originator_id,
            originator_version=snap.originator_version,
            timestamp=snap.timestamp,
            topic=snap.topic,
            state=state,
        )
        with pytest.raises(OutdatedSnapshot):
            old.mutate(None)
