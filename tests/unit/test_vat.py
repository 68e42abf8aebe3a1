"""VAT of a DSP aire's receipts: each line TTC split into HT (rounded half up to the cent)
and TVA (the rest); nothing outside DSP mode, nothing on deposits; rates are settings."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from hacienda_ledger.aggregates.values import RevenueType
from hacienda_ledger.aggregates.vat import VatLine, split, vat_lines, vat_totals
from hacienda_ledger.settings import DSP_VAT_RATES, Settings

RATES = {"pitch_fee": Decimal("10"), "water": Decimal("5.5"), "electricity": Decimal("20")}


def test_the_documented_example() -> None:
    """docs/accounts.md: 24.00 € at 10 % is 21.82 € HT and 2.18 € TVA; 8.78 € of water at
    5.5 % is 8.32 € HT and 0.46 € TVA."""
    assert split(2400, Decimal("10")) == (2182, 218)
    assert split(878, Decimal("5.5")) == (832, 46)
    assert split(0, Decimal("20")) == (0, 0)


def test_exact_and_inexact_quotients() -> None:
    """2.10 € at 5 % is exactly 2.00 € HT; 0.21 € at 10 % is 19.09… → 19 cents HT, 2 of
    TVA; 0.05 € at 99.99 % is 2.5001… cents → 3 (not a tie); a cancellation splits into the
    negatives of its receipt."""
    assert split(210, Decimal("5")) == (200, 10)
    assert split(21, Decimal("10")) == (19, 2)
    assert split(5, Decimal("99.99")) == (3, 2)
    assert split(-2400, Decimal("10")) == (-2182, -218)


def test_ties_go_away_from_zero() -> None:
    """A line whose exact HT ends in half a cent (15 cents at 20 %: 12.5) is rounded up, and
    its cancellation down: the same magnitude both ways."""
    assert split(15, Decimal("20")) == (13, 2)
    assert split(-15, Decimal("20")) == (-13, -2)


@given(
    ttc=st.integers(min_value=-(10**9), max_value=10**9),
    rate=st.decimals(min_value=0, max_value=Decimal("99.99"), places=2),
)
def test_ht_and_tva_always_make_the_amount_and_ht_is_the_nearest_cent(
    ttc: int, rate: Decimal
) -> None:
    """For any amount TTC and rate, HT + TVA == TTC, HT is the cent nearest the exact HT
    (TTC ÷ (1 + rate)), a tie rounded away from zero, and a negative amount (a
    cancellation) splits into the negatives."""
    ht, vat = split(ttc, rate)
    assert ht + vat == ttc
    exact = Fraction(ttc) * 100 / (100 + Fraction(rate))
    assert abs(ht - exact) <= Fraction(1, 2)
    if abs(ht - exact) == Fraction(1, 2):
        assert abs(ht) > abs(exact)
    assert split(-ttc, rate) == (-ht, -vat)


@given(
    lines=st.lists(
        st.tuples(
            st.sampled_from(["pitch_fee", "water", "electricity", "deposit"]),
            st.integers(min_value=-(10**7), max_value=10**7),
        ),
        max_size=30,
    )
)
def test_totals_are_the_sums_of_the_lines_and_reconcile(lines: list[tuple[str, int]]) -> None:
    """For any lines, the totals by type are the sums of the lines' HT, TVA and TTC, HT +
    TVA == TTC for each total, and the TTC of the lines carrying VAT is every line but the
    deposits."""
    split_lines = vat_lines("dsp", lines, RATES)
    assert sum(v.ttc_cents for v in split_lines) == sum(a for t, a in lines if t != "deposit")
    totals = vat_totals(split_lines)
    for total in totals:
        mine = [v for v in split_lines if v.revenue_type == total.revenue_type]
        assert total.ht_cents == sum(v.ht_cents for v in mine)
        assert total.vat_cents == sum(v.vat_cents for v in mine)
        assert total.ht_cents + total.vat_cents == total.ttc_cents
    assert sum(t.ttc_cents for t in totals) == sum(v.ttc_cents for v in split_lines)


def test_only_a_dsp_aires_lines_other_than_deposits_carry_vat() -> None:
    """Given a receipt of a deposit, a pitch fee and water: in régie or marché mode nothing
    is split; in DSP mode each line but the deposit is, at its type's rate."""
    lines = [("deposit", 15000), ("pitch_fee", 2400), ("water", 878)]
    assert vat_lines("regie", lines, RATES) == []
    assert vat_lines("marche", lines, RATES) == []
    assert vat_lines("dsp", lines, RATES) == [
        VatLine("pitch_fee", Decimal("10"), 2400, 2182, 218),
        VatLine("water", Decimal("5.5"), 878, 832, 46),
    ]


def test_rates_default_per_revenue_type_and_are_overridden_one_by_one() -> None:
    """The defaults (10 % pitch fee, 5.5 % water, 20 % electricity and other) cover every
    revenue type but deposits; a setting replaces the rates it names and keeps the others;
    an unknown type (a deposit) or a rate out of [0, 100) is refused."""
    assert set(DSP_VAT_RATES) == {t.value for t in RevenueType} - {"deposit", "advance"}
    assert Settings().dsp_vat_rates == DSP_VAT_RATES
    assert Settings(dsp_vat_rates={"water": "10"}).dsp_vat_rates == {
        **DSP_VAT_RATES,
        "water": Decimal("10"),
    }
    for bad in ({"deposit": "5"}, {"water": "100"}, {"water": "-1"}):
        with pytest.raises(ValidationError):
            Settings(dsp_vat_rates=bad)


def test_rates_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HACIENDA_DSP_VAT_RATES", '{"electricity": 5.5}')
    assert Settings().dsp_vat_rates["electricity"] == Decimal("5.5")
    assert Settings().dsp_vat_rates["pitch_fee"] == Decimal("10")
