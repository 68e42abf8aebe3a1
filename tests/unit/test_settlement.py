"""Lettrage (aggregates/settlement.py): given a stay's charges, when money is paid, withheld
or cancelled, then what each charge line has left — and the invariants, for any sequence.

No database: ``Settlement`` is the stay's state, folded from its events.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hacienda_ledger.aggregates.errors import InvalidValue, LedgerError, MoreThanDue, NothingDue
from hacienda_ledger.aggregates.settlement import Allocation, Settlement
from hacienda_ledger.aggregates.values import ChargeLine

DAY = date(2025, 1, 6)
TYPES = ("pitch_fee", "water", "electricity")


def line(revenue_type: str, cents: int, day: int = 0) -> ChargeLine:
    start = DAY + timedelta(days=day)
    return ChargeLine(revenue_type, revenue_type, start, start, Decimal(1), Decimal(0), cents, "T")


def charged(*batches: list[ChargeLine]) -> Settlement:
    """A settlement after these ``ChargesAssessed`` (versions 2, 3, ...)."""
    found = Settlement()
    for version, lines in enumerate(batches, start=2):
        found.charge(version, lines)
    return found


def remaining(s: Settlement) -> dict[str, int]:
    return {d.charge: d.remaining_cents for d in s.dues}


def test_a_line_settles_the_oldest_charges_of_its_own_type() -> None:
    """Two weeks of pitch fee and one water line; 25.00 of pitch fee settles the first week
    (21.00) then 4.00 of the second; water is untouched."""
    s = charged([line("pitch_fee", 2100), line("water", 878)], [line("pitch_fee", 2100, 7)])
    allocations = s.allocate([("pitch_fee", 2500)])
    assert allocations == (
        Allocation("2.0", "pitch_fee", 2100),
        Allocation("3.0", "pitch_fee", 400),
    )
    s.settle("R/receipt/1", allocations)
    assert remaining(s) == {"2.0": 0, "2.1": 878, "3.0": 1700}
    assert s.due_by_type() == {"water": 878, "pitch_fee": 1700}


@pytest.mark.parametrize(
    ("lines", "error", "code"),
    [
        ([("electricity", 100)], NothingDue, "nothing_due"),
        ([("water", 879)], MoreThanDue, "more_than_due"),
        ([("water", 500), ("water", 379)], MoreThanDue, "more_than_due"),
    ],
)
def test_more_than_is_due_of_a_type_is_refused_and_decides_nothing(
    lines: list[tuple[str, int]], error: type[LedgerError], code: str
) -> None:
    s = charged([line("pitch_fee", 2100), line("water", 878)])
    with pytest.raises(error) as refused:
        s.allocate(lines)
    assert (refused.value.code, refused.value.field) == (code, "lines")
    assert remaining(s) == {"2.0": 2100, "2.1": 878}


def test_a_cancelled_receipt_makes_what_it_settled_due_again() -> None:
    s = charged([line("pitch_fee", 2100)])
    s.settle("R/receipt/1", s.allocate([("pitch_fee", 2100)]))
    s.settle("R/receipt/2", ())
    assert s.outstanding() == 0
    s.reverse("R/receipt/1")
    assert (s.outstanding(), s.settled_cents) == (2100, 0)
    assert "R/receipt/1" not in s.movements


def test_a_credit_reduces_the_newest_open_charges_and_what_is_left_is_overpaid() -> None:
    """Days charged ahead given back at the departure: 9.00 credited on two weeks of which
    the first is paid: the second week's open 21.00 drops to 12.00. A credit of 30.00 on a
    stay paid in full is owed back (overpaid), and the next pitch-fee charge takes it first."""
    s = charged([line("pitch_fee", 2100)], [line("pitch_fee", 2100, 7)])
    s.settle("R/receipt/1", s.allocate([("pitch_fee", 2100)]))
    s.charge(4, [line("pitch_fee", -900, 14)])
    assert remaining(s) == {"2.0": 0, "3.0": 1200}
    s.settle("R/receipt/2", s.allocate([("pitch_fee", 1200)]))
    s.charge(6, [line("pitch_fee", -3000, 15)])
    assert (s.outstanding(), s.overpaid) == (0, {"pitch_fee": 3000})
    s.charge(7, [line("pitch_fee", 2000, 20), line("water", 500, 20)])
    assert (s.due_by_type(), s.overpaid) == ({"water": 500}, {"pitch_fee": 1000})


def test_a_withholding_for_unpaid_charges_settles_the_oldest_whatever_their_type() -> None:
    s = charged([line("water", 300), line("pitch_fee", 2100)], [line("electricity", 500, 7)])
    allocations = s.allocate_any(2500)
    assert allocations == (Allocation("2.0", "water", 300), Allocation("2.1", "pitch_fee", 2100),
                           Allocation("3.0", "electricity", 100))  # fmt: skip
    with pytest.raises(MoreThanDue) as refused:
        s.allocate_any(2901)
    assert refused.value.field == "amount_cents"


def test_money_collected_before_settlements_were_recorded_is_taken_first() -> None:
    """A stay paid 21.00 by a receipt older than settlements (no allocation on record):
    those 21.00 settle its oldest charge before a new line is decided."""
    s = charged([line("pitch_fee", 2100)], [line("pitch_fee", 2100, 7)])
    assert s.due_by_type(unallocated=2100) == {"pitch_fee": 2100}
    assert s.allocate([("pitch_fee", 2100)], unallocated=2100) == (
        Allocation("3.0", "pitch_fee", 2100),
    )
    with pytest.raises(MoreThanDue):
        s.allocate([("pitch_fee", 2101)], unallocated=2100)


def test_a_line_naming_charges_settles_those_in_the_order_named() -> None:
    """Given two weeks of pitch fee (21.00 each), when a line of 25.00 names the second
    week then the first, then the second is settled in full and 4.00 goes to the first —
    not the oldest first; a line beside it naming nothing takes the oldest of what is left."""
    s = charged([line("pitch_fee", 2100)], [line("pitch_fee", 2100, 7)])
    allocations = s.allocate([("pitch_fee", 2500), ("pitch_fee", 1000)], named=[("3.0", "2.0"), ()])
    assert allocations == (
        Allocation("3.0", "pitch_fee", 2100),
        Allocation("2.0", "pitch_fee", 400),
        Allocation("2.0", "pitch_fee", 1000),
    )
    s.settle("R/receipt/1", allocations)
    assert remaining(s) == {"2.0": 700, "3.0": 0}


@pytest.mark.parametrize(
    ("lines", "named", "error", "code", "field"),
    [
        ([("water", 100)], [("9.0",)], InvalidValue, "invalid_value", "lines.0.charges"),
        ([("water", 100)], [("2.0",)], InvalidValue, "invalid_value", "lines.0.charges"),
        ([("water", 100)], [("2.1", "2.1")], InvalidValue, "invalid_value", "lines.0.charges"),
        ([("pitch_fee", 2101)], [("2.0",)], MoreThanDue, "more_than_due", "lines.0.charges"),
        (
            [("other", 1), ("pitch_fee", 2100), ("pitch_fee", 1)],
            [(), ("2.0",), ("2.0",)],
            NothingDue,
            "nothing_due",
            "lines.2.charges",
        ),
    ],
)
def test_a_line_naming_what_it_cannot_settle_is_refused_and_decides_nothing(
    lines: list[tuple[str, int]],
    named: list[tuple[str, ...]],
    error: type[LedgerError],
    code: str,
    field: str,
) -> None:
    """A charge the stay does not have, one of another type, one named twice, more than is
    left of what is named, or a charge another line already paid: refused, nothing decided
    (the stay: 21.00 of pitch fee and 8.78 of water)."""
    s = charged([line("pitch_fee", 2100), line("water", 878)])
    if lines[0][0] == "other":  # a charge of "other" too, so that the first line is valid
        s = charged([line("pitch_fee", 2100), line("water", 878), line("other", 1)])
    before = remaining(s)
    with pytest.raises(error) as raised:
        s.allocate(lines, named=named)
    assert (raised.value.code, raised.value.field) == (code, field)
    assert remaining(s) == before


# --- any sequence ---------------------------------------------------------------------------

operations = st.lists(
    st.one_of(
        st.tuples(st.just("charge"), st.sampled_from(TYPES), st.integers(-3000, 5000)),
        st.tuples(st.just("pay"), st.sampled_from(TYPES), st.integers(1, 6000)),
        st.tuples(st.just("pay_named"), st.sampled_from(TYPES), st.integers(1, 6000)),
        st.tuples(st.just("withhold"), st.just(""), st.integers(1, 6000)),
        st.tuples(st.just("cancel"), st.just(""), st.integers(0, 20)),
        st.tuples(st.just("advance"), st.just(""), st.integers(1, 6000)),
        st.tuples(st.just("refund_advance"), st.just(""), st.integers(1, 6000)),
    ),
    max_size=40,
)


class Advances:
    """An advance held for the stay, as the register holding it keeps it (a model of
    ``CashRegister.advance_held``): received, applied to the stay's charges, refunded.
    ``apply`` is what the handlers do whenever a charge may be open (``apply_advances``):
    the oldest open dues of the types the register collects take what is held."""

    def __init__(self) -> None:
        self.received = self.applied = self.refunded = self.held = 0
        self.applications = 0

    def apply(self, s: Settlement) -> None:
        allocations = s.allocate_advance(self.held, TYPES)
        if allocations:
            self.applications += 1
            s.settle(f"R/advance/{self.applications}", allocations)
            amount = sum(a.amount_cents for a in allocations)
            self.held -= amount
            self.applied += amount

    def refund(self, cents: int) -> None:
        if not self.held or cents > self.held:
            raise NothingDue("no advance held (the register answers no_advance_held)")
        self.held -= cents
        self.refunded += cents


@settings(max_examples=300, deadline=None)
@given(operations)
def test_whatever_happens_nothing_is_settled_beyond_a_charge_and_the_balance_adds_up(
    ops: list[tuple[str, str, int]],
) -> None:
    """For any sequence of charges (credits included), payments by type, withholdings,
    cancellations, advances received and refunded — refused ones changing nothing, an
    advance applied whenever a charge may be open: no charge line is settled beyond what is
    left of it, and what is due less what is owed back equals every charge line less what
    settled them; what is held as an advance is what was received less what was applied
    and refunded, never below zero, and nothing is held while a charge is open."""
    s = Settlement()
    lines_total, version, movements = 0, 1, []
    advances = Advances()
    for kind, revenue_type, cents in ops:
        before = (remaining(s), dict(s.overpaid))
        try:
            if kind == "charge" and cents:
                version += 1
                s.charge(version, [line(revenue_type, cents, version)])
                lines_total += cents
            elif kind == "pay":
                reference = f"R/receipt/{len(movements) + 1}"
                s.settle(reference, s.allocate([(revenue_type, cents)]))
                movements.append(reference)
            elif kind == "pay_named":  # the newest charges of the type, newest first
                reference = f"R/receipt/{len(movements) + 1}"
                newest = [d.charge for d in reversed(s.dues) if d.revenue_type == revenue_type]
                s.settle(reference, s.allocate([(revenue_type, cents)], named=[newest[:2]]))
                movements.append(reference)
            elif kind == "withhold":
                reference = f"R/withholding/{len(movements) + 1}"
                s.settle(reference, s.allocate_any(cents))
                movements.append(reference)
            elif kind == "cancel" and movements:
                s.reverse(movements.pop(cents % len(movements)))
            elif kind == "advance":
                advances.received += cents
                advances.held += cents
            elif kind == "refund_advance":
                advances.refund(cents)
            advances.apply(s)
        except (NothingDue, MoreThanDue, InvalidValue):
            assert (remaining(s), dict(s.overpaid)) == before
        for due in s.dues:
            assert 0 <= due.credited_cents + due.settled_cents <= due.amount_cents
            assert all(cents > 0 for cents in due.settled.values())
        assert all(cents >= 0 for cents in s.overpaid.values())
        owed_back = sum(s.overpaid.values())
        assert s.outstanding() - owed_back == lines_total - s.settled_cents
        assert advances.held == advances.received - advances.applied - advances.refunded >= 0
        assert advances.held == 0 or s.outstanding() == 0
        applied = sum(
            a.amount_cents
            for reference, found in s.movements.items()
            if "/advance/" in reference
            for a in found
        )
        assert applied == advances.applied
