"""VAT of a DSP aire's receipts: amounts received include tax (TTC); each line is split into
its amount excluding tax (HT) and its tax (TVA) by one rule.

**The rule**, per line: HT = TTC ÷ (1 + rate), rounded to the cent half up (``to_cents``, the
ledger's one rounding: a tie goes away from zero), and TVA = TTC − HT, so that HT + TVA is
always exactly TTC. Totals are the sums of the lines' HT and TVA. A cancellation's line is
the negative of the receipt's, and so are its HT and TVA. Example: a 24.00 € pitch fee at
10 %: 24.00 ÷ 1.10 = 21.8181… → HT 21.82 €, TVA 24.00 − 21.82 = 2.18 €.

Only a ``dsp`` aire's receipts carry VAT: in ``regie`` and ``marche`` mode the money is the
collectivité's, collected for a public service outside the scope of VAT (CGI art. 256 B),
and nothing is split. Deposits, and any type without a rate (third-party funds), carry none:
an advance received has no rate; it is taxed when applied to charges, at the rate of the
type it pays (the report's figures split its ``advance_applied`` journal lines).
The rates per revenue type are settings (``dsp_vat_rates``), in percent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from hacienda_ledger.aggregates.values import Mode, to_cents


@dataclass(frozen=True)
class VatLine:
    revenue_type: str
    rate: Decimal  # percent: 10 for 10 %
    ttc_cents: int
    ht_cents: int
    vat_cents: int


def split(ttc_cents: int, rate: Decimal) -> tuple[int, int]:
    """(HT, TVA) of an amount including tax at ``rate`` percent: HT rounded half up to
    the cent, TVA the rest."""
    ht = to_cents(Decimal(ttc_cents) / (100 + rate))  # cents ÷ (100 + rate) = euros HT
    return ht, ttc_cents - ht


def vat_lines(
    mode: Mode | str, lines: Iterable[tuple[str, int]], rates: Mapping[str, Decimal]
) -> list[VatLine]:
    """The VAT of each (revenue type, amount TTC) line, in order: none outside ``dsp``
    mode, and none for a type without a rate (deposits)."""
    if Mode(mode) is not Mode.DSP:
        return []
    found = []
    for revenue_type, ttc in lines:
        rate = rates.get(revenue_type)
        if rate is None:
            continue
        ht, vat = split(ttc, rate)
        found.append(VatLine(revenue_type, rate, ttc, ht, vat))
    return found


def vat_totals(lines: Iterable[VatLine]) -> list[VatLine]:
    """The lines summed by revenue type and rate, in order of first appearance."""
    totals: dict[tuple[str, Decimal], VatLine] = {}
    for line in lines:
        key = (line.revenue_type, line.rate)
        seen = totals.get(key)
        totals[key] = (
            line
            if seen is None
            else VatLine(
                line.revenue_type,
                line.rate,
                seen.ttc_cents + line.ttc_cents,
                seen.ht_cents + line.ht_cents,
                seen.vat_cents + line.vat_cents,
            )
        )
    return list(totals.values())
