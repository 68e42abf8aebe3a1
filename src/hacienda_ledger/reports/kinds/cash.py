"""The monthly report's register sections: receipts by revenue type and method, the
cancellations and the requests that did not cancel, third-party funds (deposits and
advances), remittances, cash counts with
their notes and coins and signatures, and register closures."""

from __future__ import annotations

from datetime import date

from hacienda_ledger.reports.figures.model import CashCount, MonthlyFigures
from hacienda_ledger.reports.french import day_fr, label, month_fr
from hacienda_ledger.reports.kinds.common import time_fr, when_fr
from hacienda_ledger.reports.render import Section
from hacienda_ledger.reports.tables import table

REQUEST_OUTCOMES = {"refused": "refusée", "withdrawn": "retirée", "pending": "en attente"}

RECEIPTS = table(
    "Recettes par nature et mode de paiement",
    "Nature|text|40",
    "Mode|text|32",
    "Montant net|money",
    "Quittances|int",
    "Annulations|int",
    note="Quittances moins annulations du mois (date d'enregistrement). Les dépôts de "
    "garantie et les avances sont des fonds de tiers : ils figurent à part et hors total ; "
    "une avance imputée sur les redevances compte, le jour où elle l'est, dans la nature "
    "qu'elle paie.",
    sheet="Recettes",
)
CANCELLATIONS = table(
    "Annulations de quittances",
    "Jour|date|18",
    "Heure|text|10",
    "Quittance n°|int|13",
    "Mode|text|16",
    "Montant|money|18",
    "Motif",
    "Demandée par|text|24",
    "Demandée le|text|22",
    "Approuvée par|text|24",
    note="Registre des annulations du mois (date d'enregistrement de l'annulation) : "
    "chaque quittance annulée reste dans la série des numéros. Une annulation demandée par "
    "un caissier n'est enregistrée qu'une fois approuvée par le régisseur ; celle du "
    "régisseur n'en demande pas d'autre (« — » : annulation enregistrée avant les "
    "approbations).",
    sheet="Annulations",
)
REQUESTS = table(
    "Demandes d'annulation refusées, retirées ou en attente",
    "Quittance n°|int|13",
    "Montant|money|18",
    "Motif de la demande",
    "Demandée par|text|24",
    "Demandée le|text|22",
    "Suite|text|16",
    "Par|text|24",
    "Le|text|22",
    note="Les quittances de ces demandes n'ont pas été annulées : elles comptent dans les "
    "recettes. Une demande en attente à la fin du mois attend la décision du régisseur.",
    sheet="Demandes d'annulation",
)
THIRD_PARTY = table(
    "Fonds de tiers : dépôts de garantie et avances",
    "Mouvement|text|70",
    "Dépôts de garantie|money",
    "Avances|money",
    note="Sommes détenues pour le compte des ménages, jamais des recettes : un dépôt est "
    "rendu ou retenu ; une avance (payée avant toute redevance) devient recette quand elle "
    "est imputée sur les redevances, à la nature de celles qu'elle paie, ou est remboursée.",
    sheet="Fonds de tiers",
)
REMITTANCES = table(
    "Versements au comptable",
    "Jour|date|24",
    "Bordereau n°|int",
    "Quittances",
    "Mode",
    "Montant|money",
    sheet="Versements",
)
COUNTS = table(
    "Arrêtés de caisse",
    "Jour|date|24",
    "N°|int|12",
    "Solde comptable|money",
    "Compté|money",
    "Écart|money",
    "Régularisation|text|48",
    note="Un écart reste ouvert tant qu'il n'est pas régularisé : déficit couvert par le "
    "régisseur, ou excédent pris en recette.",
    sheet="Arrêtés",
)
SIGNATURES = table(
    "Arrêtés de caisse — billetage et signatures",
    "N°|int|12",
    "Billets et pièces",
    "Signé par / remise de service à|text|80",
    sheet="Billetage",
)
CLOSURES = table(
    "Clôtures de caisse",
    "Période close|text|34",
    "Clôture",
    "Enregistrée le|date|24",
    "Recettes|money",
    "Fonds de tiers|money",
    "Grand total perpétuel|money",
    note="Clôtures des jours, du mois ou de l'année du rapport, quel que soit le jour où "
    "elles ont été enregistrées. Les fonds de tiers (dépôts de garantie) sont reçus à "
    "part : ni recettes, ni grand total perpétuel.",
    sheet="Clôtures",
)


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


def _cancellations(f: MonthlyFigures) -> Section:
    return CANCELLATIONS.section(
        (
            (
                e.day,
                time_fr(e.recorded_at),
                e.receipt_number,
                label(e.method),
                e.amount_cents,
                e.reason or "",
                e.requested_by or "",
                when_fr(e.requested_at),
                e.approved_by or "—",
            )
            for e in f.cancellations
        ),
        ("Total", "", None, "", sum(e.amount_cents for e in f.cancellations), "", "", "", "")
        if f.cancellations
        else None,
    )


def _requests(f: MonthlyFigures) -> Section:
    return REQUESTS.section(
        (
            r.receipt_number,
            r.amount_cents,
            r.reason + (f" (refus : {r.decision})" if r.decision else ""),
            r.requested_by,
            when_fr(r.requested_at),
            REQUEST_OUTCOMES[r.outcome],
            r.decided_by,
            when_fr(r.decided_at),
        )
        for r in f.cancellation_requests
    )


def _third_party(f: MonthlyFigures) -> Section:
    """Deposits and advances side by side: received, cancelled, refunded, withheld (a
    deposit) or applied to charges (an advance, by the type it paid), held at the end."""
    d, a = f.deposits, f.advances
    return THIRD_PARTY.section(
        (
            ("Reçus dans le mois", d.received_cents, a.received_cents),
            ("Annulés dans le mois", d.cancelled_cents, a.cancelled_cents),
            ("Remboursés dans le mois", d.refunded_cents, a.refunded_cents),
            *(
                (f"Retenus dans le mois — {label(reason)}", amount, None)
                for reason, amount in d.withheld_by_reason_cents.items()
            ),
            ("Retenus dans le mois (total)", d.withheld_cents, None),
            *(
                (f"Imputées sur les redevances — {label(kind)}", None, amount)
                for kind, amount in a.applied_by_type_cents.items()
            ),
            ("Imputées sur les redevances (total)", None, a.applied_cents),
            ("Détenus en fin de mois", d.held_at_end_cents, a.held_at_end_cents),
        )
    )


def cash_sections(f: MonthlyFigures) -> tuple[Section, ...]:
    """The month's register sections, in the report's order."""
    receipts = RECEIPTS.section(
        (
            (label(m.revenue_type), label(m.method), m.amount_cents, m.receipts, m.cancellations)
            for m in f.money
        ),
        ("Total hors fonds de tiers", "", f.receipts_total_cents, None, None),
    )
    remittances = REMITTANCES.section(
        (
            (
                e.day,
                e.slip_number,
                f"{e.first_receipt} à {e.last_receipt}",
                label(e.method),
                e.amount_cents,
            )
            for e in f.remittances
        ),
        ("Total", None, "", "", sum(e.amount_cents for e in f.remittances))
        if f.remittances
        else None,
    )
    counts = COUNTS.section(
        (c.day, c.number, c.book_cents, c.counted_cents, c.difference_cents, _regularisation(c))
        for c in f.counts
    )
    signatures = SIGNATURES.section(
        (
            c.number,
            _billetage(c.denominations),
            c.counted_by + (f" → {c.handed_over_to}" if c.handed_over_to else ""),
        )
        for c in f.counts
    )
    closures = CLOSURES.section(
        (
            _closed_period(c.first_day, c.last_day),
            label(f"{c.period}_closure"),
            c.day,
            c.revenue_cents,
            c.third_party_cents,
            c.perpetual_total_cents,
        )
        for c in f.register_closures
    )
    return (
        receipts,
        _cancellations(f),
        _requests(f),
        _third_party(f),
        remittances,
        counts,
        signatures,
        closures,
    )
