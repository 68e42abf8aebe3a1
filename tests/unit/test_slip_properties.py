"""Properties of issue 15's cash rules, drawn by hypothesis on the register alone (no
database): every slip pays in exactly the total of the movements it lists, and what is
still to be paid in is always what the movements not yet on a slip add up to; closures count
revenue apart from third-party funds; a count's difference stays open until regularised.

The commands are those of ``test_properties`` (receipts, cancellations, refunds,
withholdings, counts, day closures, charges...), plus balanced slips (sometimes off by a
cent, to be refused), counts by denomination, régularisations and handovers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from hacienda_ledger.aggregates.accounts import balances_of, over_short
from hacienda_ledger.aggregates.register import CashRegister, Denomination
from hacienda_ledger.aggregates.register_books import (
    DENOMINATIONS,
    THIRD_PARTY,
    held_cents,
    slip_totals,
)
from hacienda_ledger.aggregates.values import paris_day
from tests.unit.test_properties import (
    COMMANDS,
    PROPERTY_SETTINGS,
    Books,
    open_books,
)


def balanced_remit(books: Books, data: st.DataObject) -> None:
    register = books.register
    first = register.last_remitted_number
    through = data.draw(st.integers(first, max(first, register.last_number)), label="through")
    if not register.last_remitted_number <= through <= register.last_number:
        return
    _, expected = register.slip_preview(through)
    amounts = dict(expected)
    if amounts and data.draw(st.booleans(), label="off by a cent"):
        method = data.draw(st.sampled_from(sorted(amounts)), label="method off")
        amounts[method] += data.draw(st.sampled_from([-1, 1]), label="cent")
    books.run(
        register,
        lambda: register.remit(
            through_receipt=through, amounts_by_method=amounts, actor="regisseur", at=books.now
        ),
    )


def count_by_denomination(books: Books, data: st.DataObject) -> None:
    register = books.register
    notes = data.draw(
        st.lists(
            st.tuples(st.sampled_from(DENOMINATIONS), st.integers(0, 12)),
            max_size=4,
            unique_by=lambda x: x[0],
        ),
        label="denominations",
    )
    books.run(
        register,
        lambda: register.count_cash(
            denominations=tuple(Denomination(v, n) for v, n in notes),
            actor="regisseur",
            at=books.now,
        ),
    )


def regularise(books: Books, data: st.DataObject) -> None:
    register = books.register
    number = data.draw(st.integers(0, register.last_count_number + 1), label="count")
    books.run(
        register,
        lambda: register.regularise_difference(
            count_number=number, reference="R-1", actor="regisseur", at=books.now
        ),
    )


def hand_over(books: Books, data: st.DataObject) -> None:
    register = books.register
    book = register.balances.get("cash", 0)
    books.run(
        register,
        lambda: register.hand_over(
            incoming="regisseur-2", counted_cents=max(0, book), actor="regisseur", at=books.now
        ),
    )


def close_last_month(books: Books, data: st.DataObject) -> None:
    register = books.register
    day = paris_day(books.now).replace(day=1) - timedelta(days=1)
    books.run(
        register,
        lambda: register.close_period(period="month", day=day, actor="regisseur", at=books.now),
    )


CASH_COMMANDS: tuple[Callable[[Books, st.DataObject], None], ...] = (
    *COMMANDS,
    balanced_remit,
    balanced_remit,
    count_by_denomination,
    regularise,
    regularise,
    hand_over,
    close_last_month,
)


def play(data: st.DataObject) -> Books:
    books = open_books(data)
    for _ in range(data.draw(st.integers(1, 60), label="commands")):
        data.draw(st.sampled_from(CASH_COMMANDS), label="command")(books, data)
    return books


def to_pay_in(register: CashRegister) -> dict[str, int]:
    """What the movements not yet on a slip and the receipts not yet remitted add up to."""
    totals = slip_totals(list(register.unremitted.values()))
    for receipt in register.open_receipts.values():
        if not receipt.cancelled:
            revenue = receipt.total_cents - held_cents(receipt.lines)
            totals[receipt.method] = totals.get(receipt.method, 0) + revenue
    return {m: a for m, a in totals.items() if a}


@PROPERTY_SETTINGS
@given(st.data())
def test_every_slip_pays_in_the_total_of_the_movements_it_lists(data: st.DataObject) -> None:
    """Each slip lists every receipt of its range once and pays in, by method, exactly what
    its lines total (a method short of zero pays nothing, its lack carried forward); and
    after every event, what is left to pay in is what the movements not yet on a slip and
    the receipts not yet remitted add up to."""
    books = play(data)
    register_events = books.events_of(books.register.id)
    replayed: CashRegister | None = None
    for event in register_events:
        replayed = event.mutate(replayed)
        assert replayed is not None
        due = {m: a for m, a in replayed._unremitted().items() if a}
        assert to_pay_in(replayed) == due, event
        if not isinstance(event, CashRegister.RemittanceMade):
            continue
        assert event.lines is not None
        totals = slip_totals(event.lines)
        assert all(t >= 0 for t in totals.values())
        assert {m: t for m, t in totals.items() if t} == event.amounts_by_method
        assert sum(x.amount_cents for x in event.lines) == event.total_cents
        receipts = [x.reference for x in event.lines if x.kind == "receipt"]
        assert receipts == list(range(event.first_receipt, event.last_receipt + 1))


def receipt_lines(events: list[Any]) -> list[tuple[Any, int, str, int]]:
    """(recorded time, sign, revenue type, cents) of every receipt and cancellation line."""
    found = []
    for event in events:
        if isinstance(event, CashRegister.ReceiptIssued | CashRegister.ReceiptCancelled):
            sign = 1 if isinstance(event, CashRegister.ReceiptIssued) else -1
            for line in event.lines:
                found.append((event.timestamp, sign, line.revenue_type, line.amount_cents))
    return found


@PROPERTY_SETTINGS
@given(st.data())
def test_closures_count_revenue_apart_from_third_party_funds(data: st.DataObject) -> None:
    """A closure's revenue totals hold no third-party funds; they are the revenue lines of
    the receipts and cancellations of its days, and its third-party funds the deposit lines;
    the perpetual grand total is all the revenue so far, deposits never in it."""
    books = play(data)
    events = books.events_of(books.register.id)
    for i, event in enumerate(events):
        if not isinstance(event, CashRegister.PeriodClosedEvent):
            continue
        assert event.third_party is not None
        assert not THIRD_PARTY & event.totals.by_revenue_type.keys()
        assert set(event.third_party.by_revenue_type) <= THIRD_PARTY
        lines = receipt_lines(events[:i])
        inside = [x for x in lines if event.start <= paris_day(x[0]) <= event.end]
        revenue = sum(s * a for _, s, t, a in inside if t not in THIRD_PARTY)
        held = sum(s * a for _, s, t, a in inside if t in THIRD_PARTY)
        assert (event.totals.net_cents, event.third_party.net_cents) == (revenue, held)
        assert event.revenue_cents == revenue and event.third_party_cents == held
        everything = sum(s * a for _, s, t, a in lines if t not in THIRD_PARTY)
        assert event.perpetual_total_cents == everything


@PROPERTY_SETTINGS
@given(st.data())
def test_a_difference_is_open_until_regularised(data: st.DataObject) -> None:
    """Every count's difference is open until its régularisation, which settles it once;
    the excédents et déficits account holds exactly the open differences."""
    books = play(data)
    register = books.register
    found: dict[int, int] = {}
    settled: set[int] = set()
    number = 0
    for event in books.events_of(register.id):
        if isinstance(event, CashRegister.CashCounted):
            number = event.number or number + 1
            if event.difference_cents:
                found[number] = event.difference_cents
        elif isinstance(event, CashRegister.CashDifferenceRegularised):
            assert event.count_number in found and event.count_number not in settled
            assert event.amount_cents == abs(found[event.count_number])
            settled.add(event.count_number)
    still_open = {n: d for n, d in found.items() if n not in settled}
    assert register.open_difference_cents == still_open
    balance = balances_of(books.events).get(over_short(register.id), 0)
    assert balance == -sum(still_open.values())
