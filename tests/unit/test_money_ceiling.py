"""The one ceiling for money, ``MAX_CENTS``, in the domain: an amount given or computed past
it (a charge's line or total, a receipt's line or total) is refused ``amount_too_large``
before any event; what feeds a charge (a fluid's unit price) is bounded too. No database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from hacienda_ledger.aggregates.errors import AmountTooLarge, InvalidValue
from hacienda_ledger.aggregates.values import (
    MAX_CENTS,
    MAX_UNIT_PRICE,
    require_cents,
    within_ceiling,
)
from tests.unit.test_register import open_register, receipt, snapshot, unchanged
from tests.unit.test_stay import JAN, assess, at, open_stay, read, tariff


def test_the_ceiling_is_ten_to_the_ten_cents_either_way() -> None:
    """``MAX_CENTS`` passes, one cent more is ``amount_too_large`` naming the field; a credit
    is held to the same ceiling; ``require_cents`` holds every amount given to it."""
    assert (
        MAX_CENTS,
        within_ceiling(MAX_CENTS, "amount_cents"),
        within_ceiling(-MAX_CENTS, "amount_cents"),
    ) == (10**10, MAX_CENTS, -MAX_CENTS)
    for cents in (MAX_CENTS + 1, -MAX_CENTS - 1):
        with pytest.raises(AmountTooLarge) as error:
            within_ceiling(cents, "amount_cents")
        assert (error.value.code, error.value.field) == ("amount_too_large", "amount_cents")
    with pytest.raises(AmountTooLarge) as error:
        require_cents(MAX_CENTS + 1, "deposit_cents", positive=False)
    assert (error.value.code, error.value.field) == ("amount_too_large", "deposit_cents")


def test_a_charge_past_the_ceiling_is_refused_then_charged_once_the_reading_is_corrected() -> None:
    """Given a mistyped electricity index (999 999 999 999 kWh: 2.3 × 10^13 cents at
    0.2276 €), assessing charges is refused ``amount_too_large`` and records nothing; once a
    reading corrects it (2 010 kWh), the same assessment charges the day and 10 kWh."""
    stay = open_stay()
    typo = read(stay, "electricity", "999999999999", at(1, 6, 12))
    stay.collect_events()
    version = stay.version
    with pytest.raises(AmountTooLarge) as error:
        assess(stay, date(2025, 1, 6))
    assert (error.value.code, stay.collect_events()) == ("amount_too_large", [])
    assert (version, 0) == (stay.version, stay.charged_cents)

    read(stay, "electricity", "2010", at(1, 6, 13), corrects=typo)
    charged = assess(stay, date(2025, 1, 6))
    assert charged is not None
    expected = [("pitch_fee", 300), ("electricity", 228)]  # a day at 3.00; 10 × 0.2276
    assert expected == [(x.revenue_type, x.amount_cents) for x in charged.lines]


def test_a_receipt_whose_total_passes_the_ceiling_is_refused() -> None:
    """Two lines each at the ceiling pass one by one, but their total does not: refused
    ``amount_too_large`` on ``lines``, no number taken, the register unchanged."""
    register = open_register()
    before = snapshot(register)
    with pytest.raises(AmountTooLarge) as error:
        receipt(register, ("pitch_fee", MAX_CENTS), ("water", MAX_CENTS))
    assert (error.value.code, error.value.field) == ("amount_too_large", "lines")
    assert unchanged(register, before)
    assert receipt(register, ("pitch_fee", MAX_CENTS)) == 1


def test_a_unit_price_past_its_bound_is_refused() -> None:
    """A fluid's unit price is at most ``MAX_UNIT_PRICE`` (1 000 € per m³ or kWh): the bound
    passes, a cent more is ``invalid_value`` naming the price."""
    tariff(electricity_price_per_kwh=MAX_UNIT_PRICE).validate()
    JAN.validate()
    with pytest.raises(InvalidValue) as error:
        tariff(water_price_per_m3=MAX_UNIT_PRICE + Decimal("0.01")).validate()
    assert (error.value.code, error.value.field) == ("invalid_value", "water_price_per_m3")
