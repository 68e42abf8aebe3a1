"""The rapport mensuel d'activité of one aire: occupancy (rate, head counts, length of
stay, day by day, with its chart), the register's month (``cash``), the régie at the
month's end (``regie``), the aire's closures and extensions, its interventions by kind,
the balances left unpaid and the régularisations recorded in the month."""

from __future__ import annotations

from datetime import datetime

from hacienda_ledger.reports.figures.model import MonthlyFigures, rate_of
from hacienda_ledger.reports.french import label, month_fr
from hacienda_ledger.reports.kinds.cash import cash_sections
from hacienda_ledger.reports.kinds.common import (
    TITLES,
    rate_or_not_in_service,
    seal_lines,
    subject,
)
from hacienda_ledger.reports.kinds.regie import regie_sections
from hacienda_ledger.reports.render import Chart, Report, Section, identity_lines
from hacienda_ledger.reports.tables import table

RATE = table("Occupation du mois", "Indicateur|text|90", "Taux|rate", sheet="Occupation")
HEADCOUNTS = table("Occupation — effectifs", "Indicateur|text|90", "Nombre|int", sheet="Effectifs")
STAY_LENGTH = table(
    "Durée moyenne de séjour",
    "Indicateur|text|90",
    "Jours|decimal",
    note="Moyenne des séjours terminés dans le mois (départ − arrivée, 1 jour pour un "
    "départ le jour de l'arrivée).",
    sheet="Durée de séjour",
)
DAYS = table(
    "Occupation jour par jour",
    "Jour|date|24",
    "Places dispo.|int",
    "Places occ.|int",
    "Taux|rate",
    "Ménages|int",
    "Personnes|int",
    "Arrivées|int",
    "Départs|int",
    sheet="Jours",
)
AIRE_CLOSURES = table(
    "Fermetures de l'aire et prolongations accordées",
    "Objet|text|60",
    "Du / accordée le|date",
    "Au / jusqu'au|date",
    sheet="Fermetures",
)
UNPAID = table(
    "Soldes impayés en fin de mois",
    "Séjour|text|75",
    "Ménage (référence)|text|75",
    "Reste dû|money",
    sheet="Impayés",
)
REGULARISATIONS = table(
    "Régularisations enregistrées dans le mois",
    "Mois corrigé|text|34",
    "Places-jours|int",
    "Montant|money",
    "Motif|text|60",
    note="Corrections de mois scellés, enregistrées ce mois-ci : les documents "
    "du mois corrigé ne changent pas.",
    sheet="Régularisations",
)


INTERVENTIONS = table(
    "Interventions",
    "Type|text|60",
    "Prévues|int",
    "Faites|int",
    "Annulées|int",
    "Coût|money",
    "Empl.-jours hors service|int",
    note="Interventions commencées ou en cours dans le mois, par type, selon leur statut à la "
    "fin du mois (un changement de statut compte dans le mois où il est enregistré) ; coût "
    "des interventions faites dans le mois ; jours où des emplacements étaient hors service "
    "du fait d'un incident, dans le mois (emplacements × jours, jusqu'à la fin du mois pour "
    "un incident en cours).",
    sheet="Interventions",
)


def _interventions(f: MonthlyFigures) -> Section:
    lines = f.interventions
    total = (
        "Total",
        sum(i.planned for i in lines),
        sum(i.done for i in lines),
        sum(i.cancelled for i in lines),
        sum(i.cost_cents for i in lines),
        sum(i.out_of_service_days for i in lines),
    )
    return INTERVENTIONS.section(
        (
            (label(i.kind), i.planned, i.done, i.cancelled, i.cost_cents, i.out_of_service_days)
            for i in lines
        ),
        total if lines else None,
    )


def _chart(f: MonthlyFigures) -> Chart:
    days = f.occupancy.days
    return Chart(
        after=HEADCOUNTS.title,
        labels=tuple(f"{d.day.day}" for d in days),
        values=tuple(
            float(100 * d.places_occupied / d.places_available) if d.places_available else 0.0
            for d in days
        ),
        maximum=100,
        caption="Taux d'occupation journalier (places occupées ÷ places disponibles, en %)",
        unit=" %",
    )


def monthly(f: MonthlyFigures, generated_at: datetime) -> Report:
    occ = f.occupancy
    period = f"{month_fr(f.period.text)} (du {f.period.first:%d/%m/%Y} au {f.period.last:%d/%m/%Y})"
    counts = (
        ("Places-jours disponibles", occ.available_place_days),
        ("Places-jours occupées", occ.occupied_place_days),
        ("Ménages présents", f.households),
        ("Personnes présentes", f.people),
        ("Arrivées", f.arrivals),
        ("Départs", f.departures),
        ("Séjours terminés", occ.stays_ended),
    )
    days = DAYS.section(
        (
            (
                d.day,
                d.places_available,
                d.places_occupied,
                rate_of(d.places_occupied, d.places_available),
                d.households,
                sum(d.people.values()),
                d.arrivals,
                d.departures,
            )
            for d in occ.days
        ),
        (
            None,
            occ.available_place_days,
            occ.occupied_place_days,
            occ.occupancy_rate,
            None,
            None,
            f.arrivals,
            f.departures,
        ),
    )
    extensions = (
        (f"Prolongation — {label(reason)}", granted, until)
        for granted, reason, until in f.extensions
    )
    return Report(
        title=f"{TITLES['monthly']} — {f.aire.code} — {month_fr(f.period.text)}",
        identity=(
            *identity_lines(
                subject=subject(f.aire, period), heads=f.heads, generated_at=generated_at
            ),
            *seal_lines(f.seal),
        ),
        sections=(
            RATE.section((("Taux d'occupation", rate_or_not_in_service(occ)),)),
            HEADCOUNTS.section(counts),
            STAY_LENGTH.section((("Durée moyenne de séjour (jours)", occ.average_stay_days),)),
            days,
            *cash_sections(f),
            *regie_sections(f.regie),
            AIRE_CLOSURES.section(
                (
                    *(("Fermeture de l'aire", start, end) for start, end in f.aire_closures),
                    *extensions,
                )
            ),
            _interventions(f),
            UNPAID.section(
                ((u.stay_id, u.household_ref, u.balance_cents) for u in f.unpaid),
                ("Total", "", f.unpaid_total_cents) if f.unpaid else None,
            ),
            REGULARISATIONS.section(
                (month_fr(r.month), r.place_days, r.amount_cents, r.reason)
                for r in f.regularisations
            ),
        ),
        generated_at=generated_at,
        charts=(_chart(f),),
    )
