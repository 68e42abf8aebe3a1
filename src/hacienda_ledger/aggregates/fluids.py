"""Metered fluids charged: consumption shared out over the days it covers, one line per
unit price (a tariff change that keeps the price does not split a line), each line rounded
once, half up. Used by ``Stay.assess_charges``; the rule, with examples, is in
docs/events.md."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from hacienda_ledger.aggregates.errors import NoTariffInForce
from hacienda_ledger.aggregates.values import (
    TARIFF_REF_JOINER,
    ChargeLine,
    Meter,
    Tariff,
    tariff_in_force,
    to_cents,
)

QUANTITY_STEP = Decimal("0.001")


@dataclass
class _PriceRun:
    """Consecutive days priced at one unit price, and the tariff versions that priced them."""

    unit_price: Decimal
    first: date
    last: date
    days: int
    refs: list[str]


def fluid_lines(
    meter: Meter,
    *,
    quantity: Decimal,
    billed_day: date,
    day: date,
    tariffs: tuple[Tariff, ...],
) -> list[ChargeLine]:
    """Consumption since the last billed reading, priced over the days it covers: the days
    after the billed reading day through the reading day (that day alone when both are the
    same day), each at the fluid's unit price in the tariff in force on it.

    One line per unit price: consecutive days at the same price form one line, whatever
    tariff versions they span (a tariff change that keeps the price does not split it).
    Where the price changes, the quantity is shared between the lines pro rata temporis, to
    0.001 half-up, the last line taking the remainder so that the quantities add up
    exactly. Each line is rounded to the cent once (``to_cents``)."""
    if quantity == 0:
        return []
    days = [billed_day + timedelta(days=i + 1) for i in range((day - billed_day).days)] or [day]
    runs: list[_PriceRun] = []
    for d in days:
        tariff = tariff_in_force(tariffs, d)
        if tariff is None:
            raise NoTariffInForce(f"no tariff in force on {d}", field="through")
        price = tariff.unit_price(meter)
        if runs and runs[-1].unit_price == price:
            run = runs[-1]
            run.last, run.days = d, run.days + 1
            if run.refs[-1] != tariff.ref:
                run.refs.append(tariff.ref)
        else:
            runs.append(_PriceRun(price, d, d, 1, [tariff.ref]))
    lines = []
    remaining = quantity
    for k, run in enumerate(runs):
        if k == len(runs) - 1:
            share = remaining
        else:
            share = (quantity * run.days / len(days)).quantize(
                QUANTITY_STEP, rounding=ROUND_HALF_UP
            )
        remaining -= share
        lines.append(
            ChargeLine(
                revenue_type=meter.value,
                component=meter.value,
                start=run.first if len(runs) > 1 else billed_day,
                end=run.last,
                quantity=share,
                unit_price=run.unit_price,
                amount_cents=to_cents(share * run.unit_price),
                tariff_ref=TARIFF_REF_JOINER.join(run.refs),
            )
        )
    return lines
