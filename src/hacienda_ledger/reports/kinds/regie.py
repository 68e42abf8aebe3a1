"""The régie at the month's end, from each register itself: the alerts then open, the cash
position, the cheques not remitted and the card and transfer receipts not yet credited."""

from __future__ import annotations

from collections.abc import Iterator

from hacienda_ledger.aggregates.register_rules import HeldReceipt, RegieRules
from hacienda_ledger.reports.figures.model import RegieMonthEnd
from hacienda_ledger.reports.french import label, money
from hacienda_ledger.reports.render import Section
from hacienda_ledger.reports.tables import table

ALERTS = table(
    "Alertes de la régie ouvertes en fin de mois",
    "Régie|text|24",
    "Alerte|text|46",
    "Statut|text|17",
    "Depuis|date",
    "Échéance|date",
    "Âge (jours)|int",
    "Quittance n°|int",
    "Montant|money",
    sheet="Alertes",
)
ALERTS_NOTE = (
    " « à faire » : l'échéance (dernier jour permis) n'est pas passée ; « en retard » : "
    "elle l'est. Jours ouvrés : du lundi au vendredi, hors jours fériés du département de "
    "l'aire. Une échéance du versement périodique qui tombe un jour non ouvré passe au jour "
    "ouvré suivant. Versement en retard : les quittances gardées au-delà de la période, "
    "dépôts de garantie exclus (montant : leur total ; quittance : la plus ancienne). "
    "Journée ou mois non clôturé : une journée avec des quittances, ou un mois écoulé, "
    "qu'aucune clôture ne couvre."
)
POSITIONS = table(
    "Position de caisse en fin de mois",
    "Régie|text|22",
    "Mode|text|26",
    "Solde|money",
    "Fonds de caisse|money|24",
    "Fonds de tiers|money|24",
    "Non versées|int|20",
    "Non versé|money",
    "Âge max. (jours)|int|24",
    note="Les modes où la régie détient quelque chose. Solde : ce qu'elle détient dans ce "
    "mode, fonds de caisse et fonds de tiers compris. Fonds de tiers : les dépôts de "
    "garantie et les avances (payées avant les redevances) détenus dans ce mode. Non "
    "versées (nombre), non versé (montant) et âge maximal : les quittances non annulées "
    "pas encore versées au comptable, dépôts compris. Carte bancaire et virement : une "
    "quittance non versée est tenue pour non encore créditée au compte de dépôt de fonds "
    "au Trésor (le registre ne connaît pas d'autre crédit que le versement).",
    sheet="Position de caisse",
)
CHEQUES = table(
    "Chèques non versés en fin de mois",
    "Régie|text|24",
    "Quittance n°|int",
    "Reçu le|date",
    "Montant|money",
    "Dont dépôt|money",
    "Âge (jours)|int",
    "Échéance|date",
    note="Un chèque de dépôt de garantie (fonds de tiers, gardé pour être rendu) n'a pas "
    "d'échéance de versement.",
    sheet="Chèques non versés",
)
CREDITS = table(
    "Cartes et virements non encore crédités",
    "Régie|text|24",
    "Quittance n°|int",
    "Mode|text|30",
    "Reçu le|date",
    "Montant|money",
    "Âge (jours)|int",
    sheet="Non crédités",
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


def _unremitted(
    regie: tuple[RegieMonthEnd, ...], methods: tuple[str, ...]
) -> Iterator[tuple[RegieMonthEnd, HeldReceipt]]:
    """Each register's receipts of ``methods`` not remitted at the month's end."""
    for r in regie:
        for p in r.position:
            if p.method in methods:
                yield from ((r, h) for h in p.unremitted)


def regie_sections(regie: tuple[RegieMonthEnd, ...]) -> tuple[Section, ...]:
    """The alerts, the cash position, the cheques not remitted and the card and transfer
    receipts not yet credited."""
    alerts = ALERTS.section(
        (
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
        + ALERTS_NOTE,
    )
    positions = POSITIONS.section(
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
    )
    due_on = {
        (r.register_id, a.receipt_number): a.due_on
        for r in regie
        for a in r.alerts
        if a.kind == "cheque_not_remitted"
    }
    cheques = [
        (
            r.regie_ref,
            h.number,
            h.received_on,
            h.amount_cents,
            h.deposit_cents,
            h.age_days,
            due_on.get((r.register_id, h.number)),
        )
        for r, h in _unremitted(regie, ("cheque",))
    ]
    credits = [
        (r.regie_ref, h.number, label(h.method), h.received_on, h.amount_cents, h.age_days)
        for r, h in _unremitted(regie, ("card", "transfer"))
    ]
    cheque_total = sum(c[3] for c in cheques), sum(c[4] for c in cheques)
    return (
        alerts,
        positions,
        CHEQUES.section(
            cheques,
            ("Total", None, None, *cheque_total, None, None) if cheques else None,
        ),
        CREDITS.section(
            credits,
            ("Total", None, "", None, sum(c[4] for c in credits), None) if credits else None,
        ),
    )
