"""French conventions for the files readers open: labels, amounts, dates, CSV.

PDF amounts read ``1 234,56 €`` (narrow no-break space between thousands); CSV amounts are
``1234,56`` (decimal comma, no separator, so that a French Excel reads a number); dates are
``dd/mm/yyyy``; CSV is UTF-8 with a BOM, ``;`` separated, CRLF line ends, and no text in it
starts a formula (``sheets.csv_value``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from hacienda_ledger.aggregates.values import PARIS
from hacienda_ledger.reports.sheets import csv_value

LABELS = {
    # operations of the cash journal
    "opening": "Ouverture (fonds de caisse)",
    "receipt": "Quittance",
    "cancellation": "Annulation de quittance",
    "cancellation_requested": "Demande d'annulation",
    "cancellation_refused": "Demande d'annulation refusée",
    "cancellation_withdrawn": "Demande d'annulation retirée",
    "deposit_refund": "Remboursement de caution",
    "withholding": "Retenue sur caution",
    "advance_applied": "Avance imputée sur les redevances",
    "advance_refund": "Remboursement d'avance",
    "remittance": "Versement au comptable",
    "count": "Arrêté de caisse",
    "cash_over": "Excédent de caisse",
    "cash_short": "Déficit de caisse",
    "day_closure": "Clôture journalière",
    "month_closure": "Clôture mensuelle",
    "year_closure": "Clôture annuelle",
    "print": "Impression (original)",
    "reprint": "Réimpression (duplicata)",
    "rules": "Règles de la régie (acte modificatif)",
    "regularisation": "Régularisation d'écart de caisse",
    "handover": "Remise de service",
    # lines of a remittance slip (bordereau)
    "deposit_refunded": "Remboursement de dépôt",
    "deposit_withheld": "Dépôt retenu",
    "advance_refunded": "Remboursement d'avance (autre mode)",
    "deficit_made_good": "Déficit couvert par le régisseur",
    "carried": "Report du bordereau précédent",
    "carried_forward": "À reporter au bordereau suivant",
    "adjustment": "Ajustement",
    # régularisations of a count's difference
    "deficit": "déficit couvert",
    "excess": "excédent pris en recette",
    # revenue types and payment methods
    "pitch_fee": "Droit d'usage",
    "water": "Eau",
    "electricity": "Électricité",
    "deposit": "Dépôt de garantie",
    "advance": "Avance sur redevances",
    "other": "Autre",
    "float": "Fonds de caisse",
    "cash": "Espèces",
    "cheque": "Chèque",
    "card": "Carte bancaire",
    "transfer": "Virement",
    # extension reasons and withholding reasons
    "school": "Scolarité",
    "training": "Formation",
    "work": "Emploi",
    "hospitalisation": "Hospitalisation",
    "granted": "accordée",  # an extension as reports show it: never why
    "damage": "Dégradations",
    "unpaid_charges": "Impayés",
    # the régie's alerts, their status, its remittance frequencies
    "cash_ceiling_reached": "Plafond d'encaisse atteint",
    "remittance_overdue": "Versement périodique en retard",
    "cheque_not_remitted": "Chèque non versé",
    "day_not_closed": "Journée non clôturée",
    "month_not_closed": "Mois non clôturé",
    "month_not_sealed": "Mois non arrêté",
    "due": "à faire",
    "late": "en retard",
    # interventions' kinds (issue 18; ``other`` is « Autre » above)
    "cleaning": "Nettoyage",
    "repair": "Réparation",
    "maintenance": "Entretien",
    "meter_round": "Relevé des compteurs",
    "inspection": "Contrôle",
    "incident": "Incident",
    "official_visit": "Visite officielle",
    "pest_control": "Dératisation / désinsectisation",
    # management modes
    "regie": "Régie",
    "marche": "Marché public",
    "dsp": "Délégation de service public",
}

MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)

NNBSP = "\u202f"  # narrow no-break space: the French thousands separator


def label(value: str | None) -> str:
    return "" if value is None else LABELS.get(value, value)


def euros(cents: int | None) -> str:
    """CSV notation: decimal comma, no thousands separator (Excel reads it as a number)."""
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100},{abs(cents) % 100:02d}"


def money(cents: int) -> str:
    """PDF notation: ``1 234,56 €``."""
    sign = "-" if cents < 0 else ""
    whole = f"{abs(cents) // 100:,}".replace(",", NNBSP)
    return f"{sign}{whole},{abs(cents) % 100:02d}{NNBSP}€"


def decimal_fr(value: Decimal | None, places: int = 2) -> str:
    if value is None:
        return ""
    return f"{value:.{places}f}".replace(".", ",")


def percent(rate: Decimal | None) -> str:
    """A fraction as a French percentage with one decimal: ``0.8123`` -> ``81,2 %``."""
    if rate is None:
        return "—"
    return decimal_fr((rate * 100).quantize(Decimal("0.1")), 1) + f"{NNBSP}%"


def day_fr(day: date | None) -> str:
    return "" if day is None else day.strftime("%d/%m/%Y")


def instant_fr(moment: datetime) -> str:
    """A moment in Paris time: ``28/11/2026 à 19:05``."""
    local = moment.astimezone(PARIS)
    return local.strftime("%d/%m/%Y à %H:%M")


def month_fr(month: str) -> str:
    """``2025-03`` -> ``mars 2025``."""
    return f"{MONTHS[int(month[5:7]) - 1]} {month[:4]}"


def csv_text(blocks: Iterable[Sequence[Sequence[Any]]]) -> bytes:
    """Blocks of rows, separated by an empty line, as French CSV bytes (BOM, ``;``); every
    cell through ``sheets.csv_value``, so that no text in it runs as a formula."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    for n, block in enumerate(blocks):
        if n:
            writer.writerow([])
        for row in block:
            writer.writerow([csv_value(v) for v in row])
    return out.getvalue().encode("utf-8")
