"""The right-of-access export as a PDF: the same content as its JSON, laid out for reading.

``access_pdf`` takes the export as the API serialises it (``HouseholdExportPublic``, dumped
to JSON types) and writes every part of it: the record, documents, each stay with its
meter readings and extensions (their reason and evidence, or « effacé »), receipts with
their lines and cancellation, deposits refunded or withheld, advances received, applied
(with the charges they paid) and refunded, receipts printed, and the
access log. Nothing is read from elsewhere, so the PDF never says more or less than the JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from hacienda_ledger.reports.french import day_fr, instant_fr, label, money
from hacienda_ledger.reports.pdf import Document

ERASED = "effacé"
ADVANCE_MOVES = {
    "received": "reçue",
    "cancelled": "annulée",
    "applied": "imputée",
    "refunded": "remboursée",
}
WIDTH = 182  # mm between the margins of a portrait A4 page


def _text(value: Any) -> str:
    """A JSON value as the PDF writes it: instants and days in French, null as « — »."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, str):
        try:
            if len(value) == 10:
                return day_fr(date.fromisoformat(value))
            if "T" in value:
                return instant_fr(datetime.fromisoformat(value))
        except ValueError:
            pass
        return value
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value) or "—"
    if isinstance(value, Mapping):
        return ", ".join(f"{k} : {_text(v)}" for k, v in value.items())
    return str(value)


def _table(
    doc: Document, title: str, columns: Sequence[tuple[str, str]], rows: Sequence[Mapping[str, Any]]
) -> None:
    """A heading and one row per item, ``columns`` as (field, French title); money fields
    (``*_cents``) in euros."""
    doc.heading(title)
    if not rows:
        doc.paragraph("Aucun.")
        return
    cells = [
        [money(r[f]) if f.endswith("_cents") else _text(r[f]) for f, _ in columns] for r in rows
    ]
    width = WIDTH / len(columns)
    doc.grid([t for _, t in columns], cells, [width] * len(columns), align="L" * len(columns))


def _record(doc: Document, household: Mapping[str, Any]) -> None:
    doc.heading("Votre dossier")
    erased = household["erased"]
    pairs = [
        ("Nom", ERASED if erased else _text(household["display_name"])),
        ("Enregistré le", _text(household["registered_at"])),
        ("Contact", ERASED if erased else _text(household["contact"])),
        ("Caravanes", ERASED if erased else _text(household["caravans"])),
        ("Véhicules", ERASED if erased else _text(household["vehicles"])),
        ("Notes", ERASED if erased else _text(household["notes"])),
        ("Données effacées", _text(erased)),
    ]
    doc.key_values(pairs)
    members = household["members"]
    _table(
        doc,
        "Membres",
        (("name", "Nom"), ("birth_year", "Année"), ("age_band", "Âge"), ("relationship", "Lien")),
        members,
    )
    _table(
        doc,
        "Documents vus ou signés",
        (("kind", "Document"), ("date", "Date"), ("reference", "Référence"), ("stay_id", "Séjour")),
        household["documents"],
    )


def _stay(doc: Document, stay: Mapping[str, Any]) -> None:
    doc.heading(f"Séjour {stay['stay_id']}")
    doc.key_values(
        [
            ("Aire", f"{stay['aire_name']} — emplacement {stay['emplacement']}"),
            ("Arrivée", _text(stay["arrived_at"])),
            ("Départ", _text(stay["departed_at"])),
            ("Composition", f"{stay['adults']} adulte(s), enfants {_text(stay['children'])}"),
            ("Facturé", money(stay["charged_cents"])),
            ("Réglé", money(stay["settled_cents"])),
            ("Reste dû", money(stay["balance_due_cents"])),
            ("Dépôt détenu", money(stay["deposit_held_cents"])),
            ("Avance détenue", money(stay.get("advance_held_cents", 0))),
        ]
    )
    _table(
        doc,
        "Relevés de compteurs",
        (
            ("seq", "N°"),
            ("meter", "Compteur"),
            ("index", "Index"),
            ("read_at", "Relevé le"),
            ("corrects", "Corrige"),
        ),
        [dict(r, meter=label(r["meter"])) for r in stay["readings"]],
    )
    _table(
        doc,
        "Prolongations",
        (("until", "Jusqu'au"), ("reason", "Motif"), ("evidence_ref", "Justificatif")),
        [
            dict(
                e,
                reason=label(e["reason"]) if e["reason"] else ERASED,
                evidence_ref=e["evidence_ref"] or ERASED,
            )
            for e in stay["extensions"]
        ],
    )


def access_pdf(export: Mapping[str, Any], generated_at: datetime) -> bytes:
    """The export (``HouseholdExportPublic`` as JSON types) as a PDF."""
    household = export["household"]
    doc = Document(
        "Vos données — droit d'accès",
        (("Ménage", household["id"]), ("Exporté le", _text(export["exported_at"]))),
        generated_at,
    )
    _record(doc, household)
    for stay in export["stays"]:
        _stay(doc, stay)
    receipts = [
        dict(
            r,
            lines="; ".join(
                f"{label(x['revenue_type'])} {money(x['amount_cents'])}" for x in r["lines"]
            ),
            method=label(r["method"]),
            cancelled="annulée" if r["cancelled"] else "",
        )
        for r in export["receipts"]
    ]
    _table(
        doc,
        "Quittances",
        (
            ("number", "N°"),
            ("issued_at", "Le"),
            ("method", "Mode"),
            ("lines", "Lignes"),
            ("total_cents", "Total"),
            ("cancelled", "Annulée"),
            ("cancellation_reason", "Motif"),
        ),
        receipts,
    )
    _table(
        doc,
        "Dépôts de garantie rendus ou retenus",
        (
            ("at", "Le"),
            ("kind", "Mouvement"),
            ("amount_cents", "Montant"),
            ("reason", "Motif"),
            ("reference", "Référence"),
        ),
        [
            dict(d, kind="rendu" if d["kind"] == "refunded" else "retenu")
            for d in export["deposits"]
        ],
    )
    _table(
        doc,
        "Avances (payées avant les redevances) : reçues, imputées, remboursées",
        (
            ("at", "Le"),
            ("kind", "Mouvement"),
            ("amount_cents", "Montant"),
            ("method", "Mode"),
            ("detail", "Quittance ou redevances payées"),
        ),
        [
            dict(
                a,
                kind=ADVANCE_MOVES[a["kind"]],
                method=label(a["method"]) if a["method"] else "",
                detail=(
                    f"n° {a['receipt_number']}"
                    if a["receipt_number"] is not None
                    else "; ".join(
                        f"{c['charge']} {label(c['revenue_type'])} {money(c['amount_cents'])}"
                        for c in a["charges"]
                    )
                ),
            )
            for a in export.get("advances", [])
        ],
    )
    _table(
        doc,
        "Quittances imprimées",
        (
            ("document", "Document"),
            ("number", "N°"),
            ("duplicate", "Duplicata"),
            ("printed_at", "Le"),
        ),
        export["printed"],
    )
    _table(
        doc,
        "Qui a lu vos données",
        (("at", "Le"), ("role", "Rôle"), ("user_id", "Utilisateur"), ("endpoint", "Par")),
        export["access_log"],
    )
    return doc.bytes()
