"""What the reports share: their titles, the subject and seal lines of their identification,
each month's status in an annual report, and an annual declaration's frame."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from hacienda_ledger.aggregates.values import PARIS
from hacienda_ledger.projections.occupancy import Alt2Month, OccupancyMonth
from hacienda_ledger.reports.figures.model import AireInfo, ChainHead, MonthSeal, Period
from hacienda_ledger.reports.french import label, month_fr
from hacienda_ledger.reports.render import Report, Section, identity_lines
from hacienda_ledger.reports.tables import table

KINDS = ("monthly", "alt2", "alt2_summary", "dsp")
TITLES = {
    "monthly": "Rapport mensuel d'activité",
    "alt2": "Déclaration annuelle ALT2",
    "alt2_summary": "Déclaration annuelle ALT2 — synthèse de l'opérateur",
    "dsp": "Rapport annuel du délégataire (DSP)",
}

MONTH_SEALED, MONTH_PROVISIONAL = "scellé", "provisoire"
NOT_IN_SERVICE = "hors service"


def when_fr(moment: datetime | None) -> str:
    """``06/01/2025 10:00`` in Paris time, or empty."""
    return "" if moment is None else moment.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")


def time_fr(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(PARIS).strftime("%H:%M")


def subject(aire: AireInfo, period: str) -> list[tuple[str, str]]:
    return [
        ("Aire", f"{aire.code} — {aire.name} (id {aire.id})"),
        ("Collectivité", f"{aire.collectivite_name} (id {aire.collectivite_id})"),
        ("Mode de gestion", label(aire.mode)),
        ("Période", period),
    ]


def seal_lines(seal: MonthSeal | None) -> tuple[tuple[str, str], ...]:
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


MONTH_STATUSES = table(
    "Statut des mois",
    "Mois|text|30",
    "Statut|text|22",
    "Empreinte de l'arrêté mensuel (SHA-256)",
    note="« scellé » : le mois est arrêté (arrêté mensuel de l'aire) ; ses chiffres ne "
    "changent plus, une correction est une régularisation enregistrée dans un mois "
    "ouvert. L'empreinte est le hash de l'arrêté, en entier (64 caractères "
    "hexadécimaux ; GET /v1/aires/{id}/seals). « provisoire » : le mois n'est pas "
    "scellé, ses chiffres peuvent encore changer. « hors service » : aucun emplacement de "
    "l'aire n'était encore en service ce mois-là.",
    sheet="Statut des mois",
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
    return MONTH_STATUSES.section(
        (month_fr(m), MONTH_SEALED, sealed[m])
        if m in sealed
        else (month_fr(m), NOT_IN_SERVICE if m in idle else MONTH_PROVISIONAL, "")
        for m in months
    )


def rate_or_not_in_service(month: OccupancyMonth | Alt2Month) -> Decimal | str | None:
    """A month's occupancy rate, or « hors service » for a month before the aire entered
    service (no emplacement in service on any of its days), rather than a blank or 0 %."""
    return month.occupancy_rate if month.in_service else NOT_IN_SERVICE


def declaration(
    title: str,
    lines: Sequence[tuple[str, str]],
    due: str,
    heads: Sequence[ChainHead],
    sections: tuple[Section, ...],
    *,
    generated_at: datetime,
    landscape: bool = False,
) -> Report:
    """An annual report: what it covers (``lines``), when it is due, the chain heads it was
    read at, and its sections."""
    return Report(
        title=title,
        identity=identity_lines(
            subject=[*lines, ("Échéance", due)], heads=heads, generated_at=generated_at
        ),
        sections=sections,
        generated_at=generated_at,
        landscape=landscape,
    )
