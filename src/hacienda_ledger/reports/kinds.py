"""The reports: figures (``figures.py``) laid out as report models (``render.py``).

``monthly`` (rapport mensuel d'activité), ``alt2`` (déclaration annuelle ALT2 of one aire),
``alt2_summary`` (the operator-wide ALT2 summary) and ``dsp`` (rapport annuel du délégataire).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from hacienda_ledger.aggregates.register_rules import RegieRules
from hacienda_ledger.aggregates.values import PARIS, month_bounds
from hacienda_ledger.projections.occupancy import ALT2_FORMULA, Alt2Month, OccupancyMonth, half_up
from hacienda_ledger.projections.revenue import RevenueComparison
from hacienda_ledger.reports.figures import (
    AireInfo,
    Alt2Figures,
    Alt2Summary,
    CashCount,
    DspFigures,
    MonthlyFigures,
    MonthSeal,
    Period,
    RegieMonthEnd,
    rate_of,
)
from hacienda_ledger.reports.french import MONTHS, day_fr, label, money, month_fr
from hacienda_ledger.reports.render import Chart, Column, Report, Section, identity_lines
from hacienda_ledger.reports.vat import VAT_RULE, vat_section

KINDS = ("monthly", "alt2", "alt2_summary", "dsp")
TITLES = {
    "monthly": "Rapport mensuel d'activité",
    "alt2": "Déclaration annuelle ALT2",
    "alt2_summary": "Déclaration annuelle ALT2 — synthèse de l'opérateur",
    "dsp": "Rapport annuel du délégataire (DSP)",
}


REQUEST_OUTCOMES = {"refused": "refusée", "withdrawn": "retirée", "pending": "en attente"}


def _when(moment: datetime | None) -> str:
    """``06/01/2025 10:00`` in Paris time, or empty."""
    return "" if moment is None else moment.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")


def _time(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(PARIS).strftime("%H:%M")


def _subject(aire: AireInfo, period: str) -> list[tuple[str, str]]:
    return [
        ("Aire", f"{aire.code} — {aire.name} (id {aire.id})"),
        ("Collectivité", f"{aire.collectivite_name} (id {aire.collectivite_id})"),
        ("Mode de gestion", label(aire.mode)),
        ("Période", period),
    ]


MONTH_SEALED, MONTH_PROVISIONAL = "scellé", "provisoire"
NOT_IN_SERVICE = "hors service"


def _seal_lines(seal: MonthSeal | None) -> tuple[tuple[str, str], ...]:
    """A sealed month's identification: its seal's hash, its attestation's hash (or why
    there is none), and what both are. Nothing for a month not sealed: the report is then
    marked provisional."""
    if seal is None:
        return ()
    attested = (
        f"empreinte {seal.attestation_hash}"
        if seal.attestation_hash is not None
        else "indisponible : aucune clé d'attestation n'est configurée (l'arrêté est "
        "identifié par son empreinte ci-dessus)"
    )
    return (
        (f"Arrêté mensuel {seal.month}", f"empreinte {seal.seal_hash}"),
        (f"Attestation de l'arrêté {seal.month}", attested),
        (
            "Empreintes",
            "SHA-256 en entier (64 caractères hexadécimaux). Arrêté : le hash de son "
            "événement (GET /v1/aires/{id}/seals). Attestation : le SHA-256 du document "
            "JSON signé sans sa clé « signature », clés triées, sans espaces, accents tels "
            "quels, en UTF-8 (GET /v1/aires/{id}/seals/{mois}/attestation).",
        ),
    )


def month_statuses(
    period: Period,
    seals: tuple[MonthSeal, ...],
    figures: tuple[OccupancyMonth, ...] | tuple[Alt2Month, ...],
) -> Section:
    """Each month of a year, « scellé » with its seal's hash, « hors service » before the
    aire entered service (nothing to seal), or « provisoire »."""
    sealed = {seal.month: seal.seal_hash for seal in seals}
    idle = {m.month for m in figures if not m.in_service}
    months = [f"{period.text}-{m:02d}" for m in range(1, 13)]
    return Section(
        "Statut des mois",
        (
            Column("Mois", "text", 30),
            Column("Statut", "text", 22),
            Column("Empreinte de l'arrêté mensuel (SHA-256)", "text"),
        ),
        tuple(
            (month_fr(m), MONTH_SEALED, sealed[m])
            if m in sealed
            else (month_fr(m), NOT_IN_SERVICE if m in idle else MONTH_PROVISIONAL, "")
            for m in months
        ),
        note="« scellé » : le mois est arrêté (arrêté mensuel de l'aire) ; ses chiffres ne "
        "changent plus, une correction est une régularisation enregistrée dans un mois "
        "ouvert. L'empreinte est le hash de l'arrêté, en entier (64 caractères "
        "hexadécimaux ; GET /v1/aires/{id}/seals). « provisoire » : le mois n'est pas "
        "scellé, ses chiffres peuvent encore changer. « hors service » : aucun emplacement de "
        "l'aire n'était encore en service ce mois-là.",
        sheet="Statut des mois",
    )


def rate_or_not_in_service(month: OccupancyMonth | Alt2Month) -> Decimal | str | None:
    """A month's occupancy rate, or « hors service » for a month before the aire entered
    service (no emplacement in service on any of its days), rather than a blank or 0 %."""
    return month.occupancy_rate if month.in_service else NOT_IN_SERVICE


def _regularisation(count: CashCount) -> str:
    """What became of a count's difference by the end of the period."""
    if not count.difference_cents:
        return ""
    if count.regularisation is None:
        return "écart ouvert"
    return f"{label(count.regularisation)} le {day_fr(count.regularised_on)}"


def _billetage(denominations: str | None) -> str:
    """``5000×1 50×3`` (cents × count, as the projection keeps them) -> ``50 € × 1,
    50 c × 3``."""
    if not denominations:
        return "non détaillé"
    found = []
    for item in denominations.split():
        value, count = (int(x) for x in item.split("×"))
        name = f"{value // 100} €" if value >= 100 else f"{value} c"
        found.append(f"{name} × {count}")
    return ", ".join(found)


def _closed_period(first: date, last: date) -> str:
    if first == last:
        return day_fr(first)
    if (first.month, first.day, last.month, last.day) == (1, 1, 12, 31):
        return f"année {first.year}"
    return month_fr(first.isoformat()[:7])


def monthly(f: MonthlyFigures, generated_at: datetime) -> Report:
    occ = f.occupancy
    period = f"{month_fr(f.period.text)} (du {f.period.first:%d/%m/%Y} au {f.period.last:%d/%m/%Y})"
    figures = (
        ("Taux d'occupation", rate_or_not_in_service(occ), "rate"),
        ("Places-jours disponibles", occ.available_place_days, "int"),
        ("Places-jours occupées", occ.occupied_place_days, "int"),
        ("Ménages présents", f.households, "int"),
        ("Personnes présentes", f.people, "int"),
        ("Arrivées", f.arrivals, "int"),
        ("Départs", f.departures, "int"),
        ("Séjours terminés", occ.stays_ended, "int"),
        ("Durée moyenne de séjour (jours)", occ.average_stay_days, "decimal"),
    )
    rate_section = Section(
        "Occupation du mois",
        (Column("Indicateur", "text", 90), Column("Taux", "rate")),
        ((figures[0][0], figures[0][1]),),
        sheet="Occupation",
    )
    counts_section = Section(
        "Occupation — effectifs",
        (Column("Indicateur", "text", 90), Column("Nombre", "int")),
        tuple((n, v) for n, v, k in figures if k == "int"),
        sheet="Effectifs",
    )
    stay_section = Section(
        "Durée moyenne de séjour",
        (Column("Indicateur", "text", 90), Column("Jours", "decimal")),
        ((figures[8][0], figures[8][1]),),
        note="Moyenne des séjours terminés dans le mois (départ − arrivée, 1 jour pour un "
        "départ le jour de l'arrivée).",
        sheet="Durée de séjour",
    )
    days = Section(
        "Occupation jour par jour",
        (
            Column("Jour", "date", 24),
            Column("Places dispo.", "int"),
            Column("Places occ.", "int"),
            Column("Taux", "rate"),
            Column("Ménages", "int"),
            Column("Personnes", "int"),
            Column("Arrivées", "int"),
            Column("Départs", "int"),
        ),
        tuple(
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
        total=(
            None,
            occ.available_place_days,
            occ.occupied_place_days,
            occ.occupancy_rate,
            None,
            None,
            f.arrivals,
            f.departures,
        ),
        sheet="Jours",
    )
    money = Section(
        "Recettes par nature et mode de paiement",
        (
            Column("Nature", "text", 40),
            Column("Mode", "text", 32),
            Column("Montant net", "money"),
            Column("Quittances", "int"),
            Column("Annulations", "int"),
        ),
        tuple(
            (label(m.revenue_type), label(m.method), m.amount_cents, m.receipts, m.cancellations)
            for m in f.money
        ),
        total=("Total hors dépôts de garantie", "", f.receipts_total_cents, None, None),
        note="Quittances moins annulations du mois (date d'enregistrement). Les dépôts de "
        "garantie sont des fonds de tiers : ils figurent à part et hors total.",
        sheet="Recettes",
    )
    cancellations = Section(
        "Annulations de quittances",
        (
            Column("Jour", "date", 18),
            Column("Heure", "text", 10),
            Column("Quittance n°", "int", 13),
            Column("Mode", "text", 16),
            Column("Montant", "money", 18),
            Column("Motif", "text"),
            Column("Demandée par", "text", 24),
            Column("Demandée le", "text", 22),
            Column("Approuvée par", "text", 24),
        ),
        tuple(
            (
                e.day,
                _time(e.recorded_at),
                e.receipt_number,
                label(e.method),
                e.amount_cents,
                e.reason or "",
                e.requested_by or "",
                _when(e.requested_at),
                e.approved_by or "—",
            )
            for e in f.cancellations
        ),
        total=("Total", "", None, "", sum(e.amount_cents for e in f.cancellations), "", "", "", "")
        if f.cancellations
        else None,
        note="Registre des annulations du mois (date d'enregistrement de l'annulation) : "
        "chaque quittance annulée reste dans la série des numéros. Une annulation demandée par "
        "un caissier n'est enregistrée qu'une fois approuvée par le régisseur ; celle du "
        "régisseur n'en demande pas d'autre (« — » : annulation enregistrée avant les "
        "approbations).",
        sheet="Annulations",
    )
    requests = Section(
        "Demandes d'annulation refusées, retirées ou en attente",
        (
            Column("Quittance n°", "int", 13),
            Column("Montant", "money", 18),
            Column("Motif de la demande", "text"),
            Column("Demandée par", "text", 24),
            Column("Demandée le", "text", 22),
            Column("Suite", "text", 16),
            Column("Par", "text", 24),
            Column("Le", "text", 22),
        ),
        tuple(
            (
                r.receipt_number,
                r.amount_cents,
                r.reason + (f" (refus : {r.decision})" if r.decision else ""),
                r.requested_by,
                _when(r.requested_at),
                REQUEST_OUTCOMES[r.outcome],
                r.decided_by,
                _when(r.decided_at),
            )
            for r in f.cancellation_requests
        ),
        note="Les quittances de ces demandes n'ont pas été annulées : elles comptent dans les "
        "recettes. Une demande en attente à la fin du mois attend la décision du régisseur.",
        sheet="Demandes d'annulation",
    )
    d = f.deposits
    deposits = Section(
        "Dépôts de garantie",
        (Column("Mouvement", "text", 90), Column("Montant", "money")),
        (
            ("Reçus dans le mois", d.received_cents),
            ("Annulés dans le mois", d.cancelled_cents),
            ("Remboursés dans le mois", d.refunded_cents),
            *(
                (f"Retenus dans le mois — {label(reason)}", amount)
                for reason, amount in d.withheld_by_reason_cents.items()
            ),
            ("Retenus dans le mois (total)", d.withheld_cents),
            ("Détenus en fin de mois", d.held_at_end_cents),
        ),
        sheet="Dépôts",
    )
    remittances = Section(
        "Versements au comptable",
        (
            Column("Jour", "date", 24),
            Column("Bordereau n°", "int"),
            Column("Quittances", "text"),
            Column("Mode", "text"),
            Column("Montant", "money"),
        ),
        tuple(
            (
                e.day,
                e.slip_number,
                f"{e.first_receipt} à {e.last_receipt}",
                label(e.method),
                e.amount_cents,
            )
            for e in f.remittances
        ),
        total=("Total", None, "", "", sum(e.amount_cents for e in f.remittances))
        if f.remittances
        else None,
        sheet="Versements",
    )
    counts = Section(
        "Arrêtés de caisse",
        (
            Column("Jour", "date", 24),
            Column("N°", "int", 12),
            Column("Solde comptable", "money"),
            Column("Compté", "money"),
            Column("Écart", "money"),
            Column("Régularisation", "text", 48),
        ),
        tuple(
            (c.day, c.number, c.book_cents, c.counted_cents, c.difference_cents, _regularisation(c))
            for c in f.counts
        ),
        note="Un écart reste ouvert tant qu'il n'est pas régularisé : déficit couvert par le "
        "régisseur, ou excédent pris en recette.",
        sheet="Arrêtés",
    )
    signatures = Section(
        "Arrêtés de caisse — billetage et signatures",
        (
            Column("N°", "int", 12),
            Column("Billets et pièces", "text"),
            Column("Signé par / remise de service à", "text", 80),
        ),
        tuple(
            (
                c.number,
                _billetage(c.denominations),
                c.counted_by + (f" → {c.handed_over_to}" if c.handed_over_to else ""),
            )
            for c in f.counts
        ),
        sheet="Billetage",
    )
    closures = Section(
        "Clôtures de caisse",
        (
            Column("Période close", "text", 34),
            Column("Clôture", "text"),
            Column("Enregistrée le", "date", 24),
            Column("Recettes", "money"),
            Column("Fonds de tiers", "money"),
            Column("Grand total perpétuel", "money"),
        ),
        tuple(
            (
                _closed_period(c.first_day, c.last_day),
                label(f"{c.period}_closure"),
                c.day,
                c.revenue_cents,
                c.third_party_cents,
                c.perpetual_total_cents,
            )
            for c in f.register_closures
        ),
        note="Clôtures des jours, du mois ou de l'année du rapport, quel que soit le jour où "
        "elles ont été enregistrées. Les fonds de tiers (dépôts de garantie) sont reçus à "
        "part : ni recettes, ni grand total perpétuel.",
        sheet="Clôtures",
    )
    aire_closures = Section(
        "Fermetures de l'aire et prolongations accordées",
        (
            Column("Objet", "text", 60),
            Column("Du / accordée le", "date"),
            Column("Au / jusqu'au", "date"),
        ),
        (
            *(("Fermeture de l'aire", start, end) for start, end in f.aire_closures),
            *(
                (f"Prolongation — {label(reason)}", granted, until)
                for granted, reason, until in f.extensions
            ),
        ),
        sheet="Fermetures",
    )
    unpaid = Section(
        "Soldes impayés en fin de mois",
        (
            Column("Séjour", "text", 75),
            Column("Ménage (référence)", "text", 75),
            Column("Reste dû", "money"),
        ),
        tuple((u.stay_id, u.household_ref, u.balance_cents) for u in f.unpaid),
        total=("Total", "", f.unpaid_total_cents) if f.unpaid else None,
        sheet="Impayés",
    )
    chart = Chart(
        after="Occupation — effectifs",
        labels=tuple(f"{d.day.day}" for d in occ.days),
        values=tuple(
            float(100 * d.places_occupied / d.places_available) if d.places_available else 0.0
            for d in occ.days
        ),
        maximum=100,
        caption="Taux d'occupation journalier (places occupées ÷ places disponibles, en %)",
        unit=" %",
    )
    return Report(
        title=f"{TITLES['monthly']} — {f.aire.code} — {month_fr(f.period.text)}",
        identity=(
            *identity_lines(
                subject=_subject(f.aire, period), heads=f.heads, generated_at=generated_at
            ),
            *_seal_lines(f.seal),
        ),
        sections=(
            rate_section,
            counts_section,
            stay_section,
            days,
            money,
            cancellations,
            requests,
            deposits,
            remittances,
            counts,
            signatures,
            closures,
            *regie_sections(f.regie),
            aire_closures,
            unpaid,
            Section(
                "Régularisations enregistrées dans le mois",
                REGULARISATION_COLUMNS,
                tuple(
                    (month_fr(r.month), r.place_days, r.amount_cents, r.reason)
                    for r in f.regularisations
                ),
                note="Corrections de mois scellés, enregistrées ce mois-ci : les documents "
                "du mois corrigé ne changent pas.",
                sheet="Régularisations",
            ),
        ),
        generated_at=generated_at,
        charts=(chart,),
    )


def rules_fr(rules: RegieRules) -> str:
    """A régie's rules as its acte says them."""
    if rules.remittance_frequency == "monthly":
        period = "au moins une fois par mois"
    elif rules.remittance_frequency == "weekly":
        period = "au moins une fois par semaine"
    else:
        period = f"au moins tous les {rules.remittance_days} jours"
    if rules.cheque_working_days == 1:
        cheques = "le jour ouvré suivant leur réception"
    else:
        cheques = f"dans les {rules.cheque_working_days} jours ouvrés suivant leur réception"
    return (
        f"acte {rules.decision_ref} : recettes versées {period} ; plafond d'encaisse "
        f"{money(rules.cash_ceiling_cents)} (atteint : versement au plus tard le jour ouvré "
        f"suivant) ; chèques versés {cheques}"
    )


def regie_sections(regie: tuple[RegieMonthEnd, ...]) -> tuple[Section, ...]:
    """The régie at the month's end, from each register itself: the alerts then open, the
    cash position, the cheques not remitted and the card and transfer receipts not yet
    credited."""
    alerts = Section(
        "Alertes de la régie ouvertes en fin de mois",
        (
            Column("Régie", "text", 24),
            Column("Alerte", "text", 46),
            Column("Statut", "text", 17),
            Column("Depuis", "date"),
            Column("Échéance", "date"),
            Column("Âge (jours)", "int"),
            Column("Quittance n°", "int"),
            Column("Montant", "money"),
        ),
        tuple(
            (
                r.regie_ref,
                label(a.kind),
                label(a.status),
                a.since,
                a.due_on,
                a.age_days,
                a.receipt_number,
                a.amount_cents,
            )
            for r in regie
            for a in r.alerts
        ),
        note="Au dernier instant du mois (heure de Paris), d'après le registre lui-même. "
        + " ".join(f"Régie {rules_fr(r.rules)}." for r in regie)
        + " « à faire » : l'échéance (dernier jour permis) n'est pas passée ; « en retard » : "
        "elle l'est. Jours ouvrés : du lundi au vendredi, hors jours fériés du département de "
        "l'aire. Une échéance du versement périodique qui tombe un jour non ouvré passe au jour "
        "ouvré suivant. Versement en retard : les quittances gardées au-delà de la période, "
        "dépôts de garantie exclus (montant : leur total ; quittance : la plus ancienne). "
        "Journée ou mois non clôturé : une journée avec des quittances, ou un mois écoulé, "
        "qu'aucune clôture ne couvre.",
        sheet="Alertes",
    )
    positions = Section(
        "Position de caisse en fin de mois",
        (
            Column("Régie", "text", 22),
            Column("Mode", "text", 26),
            Column("Solde", "money"),
            Column("Fonds de caisse", "money", 24),
            Column("Dépôts", "money"),
            Column("Non versées", "int", 20),
            Column("Non versé", "money"),
            Column("Âge max. (jours)", "int", 24),
        ),
        tuple(
            (
                r.regie_ref,
                label(p.method),
                p.balance_cents,
                p.float_cents,
                p.deposits_cents,
                len(p.unremitted),
                p.unremitted_cents,
                p.oldest_days,
            )
            for r in regie
            for p in r.position
            if p.balance_cents or p.unremitted
        ),
        note="Les modes où la régie détient quelque chose. Solde : ce qu'elle détient dans ce "
        "mode, fonds de caisse et dépôts de garantie compris. Non versées (nombre), non versé "
        "(montant) et âge maximal : les quittances non annulées pas encore versées au "
        "comptable, dépôts compris. Carte bancaire et virement : une quittance non versée est "
        "tenue pour non encore créditée au compte de dépôt de fonds au Trésor (le registre ne "
        "connaît pas d'autre crédit que le versement).",
        sheet="Position de caisse",
    )
    due_on = {
        (r.register_id, a.receipt_number): a.due_on
        for r in regie
        for a in r.alerts
        if a.kind == "cheque_not_remitted"
    }
    cheques = tuple(
        (
            r.regie_ref,
            h.number,
            h.received_on,
            h.amount_cents,
            h.deposit_cents,
            h.age_days,
            due_on.get((r.register_id, h.number)),
        )
        for r in regie
        for p in r.position
        if p.method == "cheque"
        for h in p.unremitted
    )
    cheque_section = Section(
        "Chèques non versés en fin de mois",
        (
            Column("Régie", "text", 24),
            Column("Quittance n°", "int"),
            Column("Reçu le", "date"),
            Column("Montant", "money"),
            Column("Dont dépôt", "money"),
            Column("Âge (jours)", "int"),
            Column("Échéance", "date"),
        ),
        cheques,
        total=(
            (
                "Total",
                None,
                None,
                sum(c[3] for c in cheques),
                sum(c[4] for c in cheques),
                None,
                None,
            )
            if cheques
            else None
        ),
        note="Un chèque de dépôt de garantie (fonds de tiers, gardé pour être rendu) n'a pas "
        "d'échéance de versement.",
        sheet="Chèques non versés",
    )
    credits = tuple(
        (r.regie_ref, h.number, label(h.method), h.received_on, h.amount_cents, h.age_days)
        for r in regie
        for p in r.position
        if p.method in ("card", "transfer")
        for h in p.unremitted
    )
    credit_section = Section(
        "Cartes et virements non encore crédités",
        (
            Column("Régie", "text", 24),
            Column("Quittance n°", "int"),
            Column("Mode", "text", 30),
            Column("Reçu le", "date"),
            Column("Montant", "money"),
            Column("Âge (jours)", "int"),
        ),
        credits,
        total=("Total", None, "", None, sum(c[4] for c in credits), None) if credits else None,
        sheet="Non crédités",
    )
    return (alerts, positions, cheque_section, credit_section)


REGULARISATION_COLUMNS = (
    Column("Mois corrigé", "text", 34),
    Column("Places-jours", "int"),
    Column("Montant", "money"),
    Column("Motif", "text", 60),
)


ALT2_COLUMNS = (
    Column("Mois", "text", 26),
    Column("Places", "int"),
    Column("Jours d'occupation", "int"),
    Column("Places-jours disponibles", "int"),
    Column("Taux", "rate"),
    Column("Droits d'usage", "money"),
    Column("Part fixe", "money"),
    Column("Part variable", "money"),
    Column("Aide totale", "money"),
)


def _alt2_year(f: Alt2Figures) -> tuple[Any, ...]:
    """The year of one declaration, from its ALT2_COLUMNS "Jours d'occupation" on."""
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


def alt2(f: Alt2Figures, generated_at: datetime) -> Report:
    rows = tuple(
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
    total = ("Total", None, *_alt2_year(f))
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
    return Report(
        title=f"{TITLES['alt2']} {f.period.text} — {f.aire.code}",
        identity=identity_lines(
            subject=[
                *_subject(f.aire, f"année {f.period.text}"),
                ("Échéance", f"avant le 15/01/{int(f.period.text) + 1}"),
            ],
            heads=f.heads,
            generated_at=generated_at,
        ),
        sections=(
            Section("Mois par mois", ALT2_COLUMNS, rows, total=total, note=note),
            month_statuses(f.period, f.seals, f.months),
            _alt2_regularisations(f),
        ),
        generated_at=generated_at,
        landscape=True,
    )


def _alt2_regularisations(f: Alt2Figures) -> Section:
    """Each régularisation of a sealed month beside the month's declared (sealed) aid and its
    aid regularised: the same formula with the place-days corrected."""
    months = {m.month: m for m in f.months}
    rows = []
    for r in f.regularisations:
        m = months.get(r.month)
        if m is None:
            continue
        first, last = month_bounds(r.month)
        days = (last - first).days + 1
        occupied = m.occupancy_days + r.place_days
        fixed, variable = m.fixed_cents_per_place, m.variable_cents_per_place
        regularised = half_up(fixed * m.available_place_days + variable * max(0, occupied), days)
        rows.append((month_fr(r.month), r.recorded_on, r.place_days, m.aid_cents, regularised))
    return Section(
        "Régularisations",
        (
            Column("Mois corrigé", "text", 34),
            Column("Enregistrée le", "date"),
            Column("Places-jours", "int"),
            Column("Aide déclarée (mois scellé)", "money"),
            Column("Aide régularisée", "money"),
        ),
        tuple(rows),
        note="Chiffres provisoires (mois scellés tels que déclarés) et régularisés.",
        sheet="Régularisations",
    )


def alt2_summary(s: Alt2Summary, generated_at: datetime) -> Report:
    columns = (Column("Aire", "text", 60), *ALT2_COLUMNS[1:])
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
    return Report(
        title=f"{TITLES['alt2_summary']} — {s.period.text}",
        identity=identity_lines(
            subject=[
                ("Périmètre", f"toutes les aires ({len(s.aires)})"),
                ("Période", f"année {s.period.text}"),
                ("Échéance", f"avant le 15/01/{int(s.period.text) + 1}"),
            ],
            heads=s.heads,
            generated_at=generated_at,
        ),
        sections=(
            Section(
                "Synthèse par aire",
                columns,
                tuple(rows),
                total=total,
                note="Places : capacité au dernier jour de l'année ; les autres colonnes sont "
                "les totaux des 12 mois de chaque déclaration.",
            ),
        ),
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


def dsp(f: DspFigures, generated_at: datetime) -> Report:
    year = int(f.period.text)
    revenue = [r for r in f.revenue if r.revenue_type != "deposit"]
    types = sorted({r.revenue_type for r in revenue})
    by_month = Section(
        "Recettes par nature et par mois",
        (
            Column("Mois", "text", 30),
            Column("Nature", "text", 36),
            Column(f"{year}", "money"),
            Column(f"{year - 1}", "money"),
            Column("Écart", "money"),
        ),
        tuple(
            (
                _month_name(r.month),
                label(r.revenue_type),
                r.amount_cents,
                r.previous_year_cents,
                r.difference_cents,
            )
            for r in revenue
        ),
        total=("Total", "", *_compared(revenue)),
        note="Recettes encaissées (quittances moins annulations), hors dépôts de garantie.",
        sheet="Recettes par mois",
    )
    by_type = Section(
        "Recettes de l'année par nature",
        (
            Column("Nature", "text", 50),
            Column(f"{year}", "money"),
            Column(f"{year - 1}", "money"),
            Column("Écart", "money"),
        ),
        tuple((label(t), *_compared([r for r in revenue if r.revenue_type == t])) for t in types),
        sheet="Recettes par nature",
    )
    available = sum(m.available_place_days for m in f.occupancy)
    occupied = sum(m.occupied_place_days for m in f.occupancy)
    occupancy = Section(
        "Occupation",
        (
            Column("Mois", "text", 30),
            Column("Places-jours disponibles", "int"),
            Column("Places-jours occupées", "int"),
            Column("Taux", "rate"),
            Column("Séjours terminés", "int"),
        ),
        tuple(
            (
                _month_name(m.month),
                m.available_place_days,
                m.occupied_place_days,
                rate_or_not_in_service(m),
                m.stays_ended,
            )
            for m in f.occupancy
        ),
        total=(
            "Année",
            available,
            occupied,
            rate_of(occupied, available),
            sum(m.stays_ended for m in f.occupancy),
        ),
        sheet="Occupation",
    )
    return Report(
        title=f"{TITLES['dsp']} {year} — {f.aire.code}",
        identity=identity_lines(
            subject=[
                *_subject(f.aire, f"année {year} (comparée à {year - 1})"),
                ("Échéance", f"avant le 01/06/{year + 1}"),
            ],
            heads=f.heads,
            generated_at=generated_at,
        ),
        sections=(
            by_type,
            *(
                (
                    vat_section(
                        f.vat,
                        title="Recettes de l'année par nature : HT, TVA, TTC",
                        note=f"{VAT_RULE} Taux par nature : réglage dsp_vat_rates.",
                    ),
                )
                if f.aire.mode == "dsp"
                else ()
            ),
            by_month,
            occupancy,
            month_statuses(f.period, f.seals, f.occupancy),
            Section(
                "Régularisations",
                (
                    REGULARISATION_COLUMNS[0],
                    Column("Enregistrée le", "date"),
                    *REGULARISATION_COLUMNS[1:],
                ),
                tuple(
                    (month_fr(r.month), r.recorded_on, r.place_days, r.amount_cents, r.reason)
                    for r in f.regularisations
                ),
                note="Corrections des mois scellés de l'année, enregistrées dans un mois ouvert "
                "(places-jours et montant ajoutés, ou retirés, aux chiffres du mois scellé) : "
                "les chiffres ci-dessus sont ceux des mois tels que scellés.",
                sheet="Régularisations",
            ),
        ),
        generated_at=generated_at,
    )
