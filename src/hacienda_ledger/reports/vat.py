"""The VAT block of a DSP aire's documents: each revenue type with its rate, its amount
excluding tax (HT), its tax (TVA) and its amount including tax (TTC), and their totals.

The amounts come from ``aggregates.vat`` (one rule: HT rounded half up per line, TVA the
rest); here they are only laid out, the same way on a receipt and in the DSP report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from hacienda_ledger.aggregates.vat import VatLine, vat_lines, vat_totals
from hacienda_ledger.reports.french import label
from hacienda_ledger.reports.render import Column, Section

VAT_RULE = (
    "Montants encaissés toutes taxes comprises (TTC). Par ligne : HT = TTC ÷ (1 + taux), "
    "arrondi au centime le plus proche (une demi-unité au centime supérieur) ; TVA = TTC − HT. "
    "Les totaux sont les sommes des lignes. Les dépôts de garantie, fonds de tiers, ne sont "
    "pas soumis à la TVA. Une avance (payée avant toute redevance) est taxée quand elle est "
    "imputée sur les redevances, au taux de la nature qu'elle paie ; tant qu'elle est "
    "détenue ou si elle est remboursée, elle ne l'est pas (choix de l'exploitant, à "
    "confirmer avec son comptable)."
)


def vat_section(
    lines: Sequence[VatLine], *, title: str = "TVA", note: str = VAT_RULE, sheet: str = "TVA"
) -> Section:
    """The lines as a section: nature, rate, HT, TVA, TTC, and a total."""
    return Section(
        title,
        (
            Column("Nature", "text", 50),
            Column("Taux", "rate", 20),
            Column("Montant HT", "money"),
            Column("TVA", "money"),
            Column("Montant TTC", "money"),
        ),
        tuple(
            (label(v.revenue_type), v.rate / 100, v.ht_cents, v.vat_cents, v.ttc_cents)
            for v in lines
        ),
        total=(
            "Total",
            None,
            sum(v.ht_cents for v in lines),
            sum(v.vat_cents for v in lines),
            sum(v.ttc_cents for v in lines),
        ),
        note=note,
        sheet=sheet,
    )


def receipt_vat_sections(
    mode: str, lines: Iterable[tuple[str, int]], rates: Mapping[str, Decimal]
) -> tuple[Section, ...]:
    """A receipt's VAT block, by revenue type and rate: none unless the aire is in ``dsp``
    mode and the receipt has a line that carries VAT."""
    found = vat_totals(vat_lines(mode, lines, rates))
    if not found:
        return ()
    return (vat_section(found, title="Décomposition HT / TVA / TTC"),)
