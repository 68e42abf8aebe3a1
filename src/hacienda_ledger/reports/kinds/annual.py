"""The annual reports: the déclaration ALT2 of one aire, the operator-wide ALT2 summary
and the rapport annuel du délégataire (DSP)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hacienda_ledger.aggregates.values import month_bounds
from hacienda_ledger.projections.occupancy import ALT2_FORMULA, half_up
from hacienda_ledger.projections.revenue import RevenueComparison
from hacienda_ledger.reports.figures.model import Alt2Figures, Alt2Summary, DspFigures, rate_of
from hacienda_ledger.reports.french import MONTHS, label, money, month_fr
from hacienda_ledger.reports.kinds.common import (
    TITLES,
    declaration,
    month_statuses,
    rate_or_not_in_service,
    subject,
)
from hacienda_ledger.reports.render import Report, Section
from hacienda_ledger.reports.tables import table
from hacienda_ledger.reports.vat import VAT_RULE, vat_section

ALT2_COLUMNS = (
    "Places|int",
    "Jours d'occupation|int",
    "Places-jours disponibles|int",
    "Taux|rate",
    "Droits d'usage|money",
    "Part fixe|money",
    "Part variable|money",
    "Aide totale|money",
)
ALT2_MONTHS = table("Mois par mois", "Mois|text|26", *ALT2_COLUMNS)
ALT2_AIRES = table(
    "Synthèse par aire",
    "Aire|text|60",
    *ALT2_COLUMNS,
    note="Places : capacité au dernier jour de l'année ; les autres colonnes sont "
    "les totaux des 12 mois de chaque déclaration.",
)
ALT2_REGULARISATIONS = table(
    "Régularisations",
    "Mois corrigé|text|34",
    "Enregistrée le|date",
    "Places-jours|int",
    "Aide déclarée (mois scellé)|money",
    "Aide régularisée|money",
    note="Chiffres provisoires (mois scellés tels que déclarés) et régularisés.",
    sheet="Régularisations",
)
DSP_REGULARISATIONS = table(
    "Régularisations",
    "Mois corrigé|text|34",
    "Enregistrée le|date",
    "Places-jours|int",
    "Montant|money",
    "Motif|text|60",
    note="Corrections des mois scellés de l'année, enregistrées dans un mois ouvert "
    "(places-jours et montant ajoutés, ou retirés, aux chiffres du mois scellé) : "
    "les chiffres ci-dessus sont ceux des mois tels que scellés.",
    sheet="Régularisations",
)
DSP_OCCUPANCY = table(
    "Occupation",
    "Mois|text|30",
    "Places-jours disponibles|int",
    "Places-jours occupées|int",
    "Taux|rate",
    "Séjours terminés|int",
    sheet="Occupation",
)


def _alt2_year(f: Alt2Figures) -> tuple[Any, ...]:
    """The year of one declaration, from its columns' "Jours d'occupation" on."""
    available = f.total("available_place_days")
    occupied = f.total("occupancy_days")
    return (
        occupied,
        available,
        rate_of(occupied, available),
        f.total("pitch_fee_revenue_cents"),
        f.total("fixed_part_cents"),
        f.total("variable_part_cents"),
        f.total("aid_cents"),
    )


def _due(year: str, day_month: str) -> str:
    """``avant le 15/01/2026`` for a declaration of 2025 due by 15 January."""
    return f"avant le {day_month}/{int(year) + 1}"


def alt2(f: Alt2Figures, generated_at: datetime) -> Report:
    rows = (
        (
            month_fr(m.month),
            m.places,
            m.occupancy_days,
            m.available_place_days,
            rate_or_not_in_service(m),
            m.pitch_fee_revenue_cents,
            m.fixed_part_cents,
            m.variable_part_cents,
            m.aid_cents,
        )
        for m in f.months
    )
    rates = f.months[0] if f.months else None
    note = (
        f"Formule : {ALT2_FORMULA}. Aide = (part fixe × places-jours disponibles + part "
        "variable × places-jours occupées) ÷ jours du mois, arrondie au centime une fois par "
        "mois ; un mois fermé tout entier n'ouvre droit à aucune aide."
    )
    if rates is not None:
        note += (
            f" Montants mensuels par place : part fixe {money(rates.fixed_cents_per_place)},"
            f" part variable {money(rates.variable_cents_per_place)}."
        )
    return declaration(
        f"{TITLES['alt2']} {f.period.text} — {f.aire.code}",
        subject(f.aire, f"année {f.period.text}"),
        _due(f.period.text, "15/01"),
        f.heads,
        (
            ALT2_MONTHS.section(rows, ("Total", None, *_alt2_year(f)), note=note),
            month_statuses(f.period, f.seals, f.months),
            _alt2_regularisations(f),
        ),
        generated_at=generated_at,
        landscape=True,
    )


def _alt2_regularisations(f: Alt2Figures) -> Section:
    """Each régularisation of a sealed month beside the month's declared (sealed) aid and its
    aid regularised after it: the same formula with the place-days corrected by it and by
    every régularisation of the month recorded before it (the last row of a month is its
    aid as regularised)."""
    months = {m.month: m for m in f.months}
    occupied_after = {m.month: m.occupancy_days for m in f.months}
    rows = []
    for r in f.regularisations:
        m = months.get(r.month)
        if m is None:
            continue
        first, last = month_bounds(r.month)
        days = (last - first).days + 1
        occupied = occupied_after[r.month] = occupied_after[r.month] + r.place_days
        fixed, variable = m.fixed_cents_per_place, m.variable_cents_per_place
        regularised = half_up(fixed * m.available_place_days + variable * max(0, occupied), days)
        rows.append((month_fr(r.month), r.recorded_on, r.place_days, m.aid_cents, regularised))
    return ALT2_REGULARISATIONS.section(rows)


def alt2_summary(s: Alt2Summary, generated_at: datetime) -> Report:
    rows: list[tuple[Any, ...]] = []
    for f in s.aires:
        places = f.months[-1].places if f.months else 0
        rows.append((f"{f.aire.code} — {f.aire.name}", places, *_alt2_year(f)))
    occupied = sum(r[2] for r in rows)
    available = sum(r[3] for r in rows)
    total = (
        "Total de l'opérateur",
        sum(r[1] for r in rows),
        occupied,
        available,
        rate_of(occupied, available),
        *(sum(r[i] for r in rows) for i in range(5, 9)),
    )
    return declaration(
        f"{TITLES['alt2_summary']} — {s.period.text}",
        [
            ("Périmètre", f"toutes les aires ({len(s.aires)})"),
            ("Période", f"année {s.period.text}"),
        ],
        _due(s.period.text, "15/01"),
        s.heads,
        (ALT2_AIRES.section(rows, total),),
        generated_at=generated_at,
        landscape=True,
    )


def _compared(revenue: list[RevenueComparison]) -> tuple[int, int, int]:
    """The year, the year before and the difference, summed over ``revenue``."""
    return (
        sum(r.amount_cents for r in revenue),
        sum(r.previous_year_cents for r in revenue),
        sum(r.difference_cents for r in revenue),
    )


def _month_name(month: str) -> str:
    """``2025-03`` -> ``mars``."""
    return MONTHS[int(month[5:7]) - 1]


def _interventions(f: DspFigures, year: int) -> Section:
    """The year's interventions by kind beside the year before's (issue 18)."""
    lines = f.interventions
    columns = (
        *("done", "done_before", "cost_cents", "cost_before_cents"),
        *("out_of_service_days", "out_of_service_days_before"),
    )
    return table(
        "Interventions de l'année",
        "Type|text|44",
        f"Faites {year}|int",
        f"Faites {year - 1}|int",
        f"Coût {year}|money",
        f"Coût {year - 1}|money",
        f"Empl.-jours HS {year}|int",
        f"Empl.-jours HS {year - 1}|int",
        note="Interventions faites, par type, dans le mois où elles l'ont été ; leur coût ; "
        "jours où des emplacements étaient hors service du fait d'un incident.",
        sheet="Interventions",
    ).section(
        ((label(i.kind), *(getattr(i, c) for c in columns)) for i in lines),
        ("Total", *(sum(getattr(i, c) for i in lines) for c in columns)) if lines else None,
    )


def dsp(f: DspFigures, generated_at: datetime) -> Report:
    year = int(f.period.text)
    revenue = [r for r in f.revenue if r.revenue_type not in ("deposit", "advance")]
    types = sorted({r.revenue_type for r in revenue})
    compared = (f"{year}|money", f"{year - 1}|money", "Écart|money")
    by_month = table(
        "Recettes par nature et par mois",
        "Mois|text|30",
        "Nature|text|36",
        *compared,
        note="Recettes encaissées (quittances moins annulations), hors dépôts de garantie.",
        sheet="Recettes par mois",
    ).section(
        (
            (
                _month_name(r.month),
                label(r.revenue_type),
                r.amount_cents,
                r.previous_year_cents,
                r.difference_cents,
            )
            for r in revenue
        ),
        ("Total", "", *_compared(revenue)),
    )
    by_type = table(
        "Recettes de l'année par nature", "Nature|text|50", *compared, sheet="Recettes par nature"
    ).section((label(t), *_compared([r for r in revenue if r.revenue_type == t])) for t in types)
    available = sum(m.available_place_days for m in f.occupancy)
    occupied = sum(m.occupied_place_days for m in f.occupancy)
    occupancy = DSP_OCCUPANCY.section(
        (
            (
                _month_name(m.month),
                m.available_place_days,
                m.occupied_place_days,
                rate_or_not_in_service(m),
                m.stays_ended,
            )
            for m in f.occupancy
        ),
        (
            "Année",
            available,
            occupied,
            rate_of(occupied, available),
            sum(m.stays_ended for m in f.occupancy),
        ),
    )
    vat = vat_section(
        f.vat,
        title="Recettes de l'année par nature : HT, TVA, TTC",
        note=f"{VAT_RULE} Taux par nature : réglage dsp_vat_rates.",
    )
    return declaration(
        f"{TITLES['dsp']} {year} — {f.aire.code}",
        subject(f.aire, f"année {year} (comparée à {year - 1})"),
        _due(f.period.text, "01/06"),
        f.heads,
        (
            by_type,
            *((vat,) if f.aire.mode == "dsp" else ()),
            by_month,
            occupancy,
            _interventions(f, year),
            month_statuses(f.period, f.seals, f.occupancy),
            DSP_REGULARISATIONS.section(
                (month_fr(r.month), r.recorded_on, r.place_days, r.amount_cents, r.reason)
                for r in f.regularisations
            ),
        ),
        generated_at=generated_at,
    )
