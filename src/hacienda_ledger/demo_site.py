"""What happens on the demo's aires besides money (issue 18): interventions and documents.

Every aire gets a few months of realistic interventions, recorded on their day as the
demo's simulated clock runs (``Work.day``, called by ``demo._simulate`` each morning at
08:00): the sanitary blocks cleaned every Monday, the general meters read on the first of
each month, a repair with its cost and the supplier's invoice, an incident that puts an
emplacement out of service for three days and back (planned on its day, done three days
later), pest control in October. The first aire's intervenant is named on its aire's.

The first aire has its own documents: a règlement intérieur (a PDF this module generates
with fpdf2, valid from 1 January 2025) and the arrêté that approves it, uploaded before the
first arrival, and a second version of the règlement, valid from 1 October 2025, uploaded on
20 September: every stay opened there names the version in force on its arrival day.

Its own ``random.Random``, so that the money's story (``demo.py``'s generator) is not
changed by the interventions' draws, only by the emplacements they take out of service.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from fpdf import FPDF

from hacienda_ledger.aggregates.document import sniff
from hacienda_ledger.application import Ledger

ACTOR = "intervenant-demo"
MANAGER = "manager-demo"
NEXT: dict[str, Any] = {"new_x": "LMARGIN", "new_y": "NEXT"}  # each paragraph below the last
SUPPLIERS = ("Plomberie Ligérienne", "Élec'Anjou Services", "Serrurerie du Val")


class Clock(Protocol):
    def at(self, day: date, hour: int, minute: int = 0) -> datetime: ...

    def __call__(self) -> datetime: ...


class Site(Protocol):
    """What ``Work`` reads of a demo aire."""

    code: str
    name: str
    emplacements: int
    aire_id: UUID | None


def reglement_pdf(aire_name: str, version: int, valid_from: date) -> bytes:
    """A règlement intérieur of a few articles, as a PDF (fixed dates: the same bytes on
    every run, so its SHA-256 too)."""
    pdf = FPDF()
    pdf.set_creation_date(datetime(2025, 1, 1, tzinfo=UTC))
    pdf.set_title(f"Règlement intérieur - {aire_name}")
    pdf.add_page()
    pdf.set_font("helvetica", "B", 16)
    pdf.multi_cell(0, 9, f"Règlement intérieur\n{aire_name}", align="C", **NEXT)
    pdf.set_font("helvetica", size=10)
    pdf.ln(4)
    pdf.multi_cell(0, 6, f"Version {version}, applicable dès le {valid_from:%d/%m/%Y}.", **NEXT)
    for title, text in ARTICLES:
        pdf.ln(3)
        pdf.set_font("helvetica", "B", 11)
        pdf.multi_cell(0, 6, title, **NEXT)
        pdf.set_font("helvetica", size=10)
        pdf.multi_cell(0, 5, text, **NEXT)
    return bytes(pdf.output())


def arrete_pdf(aire_name: str) -> bytes:
    pdf = FPDF()
    pdf.set_creation_date(datetime(2024, 6, 1, tzinfo=UTC))
    pdf.add_page()
    pdf.set_font("helvetica", "B", 14)
    pdf.multi_cell(0, 8, "Arrêté n° 2024-118 approuvant le règlement intérieur", **NEXT)
    pdf.set_font("helvetica", size=10)
    text = (
        f"Le Président arrête : le règlement intérieur de l'{aire_name} est approuvé ; il "
        "est affiché à l'accueil et remis à chaque famille."
    )
    pdf.multi_cell(0, 5, text, **NEXT)
    return bytes(pdf.output())


ARTICLES = (
    ("Article 1 - Admission", "L'accueil est ouvert du lundi au vendredi de 9 h à 12 h. "
     "Chaque famille signe la convention d'occupation et le présent règlement."),
    ("Article 2 - Durée de séjour", "La durée de séjour est limitée ; une prolongation peut "
     "être accordée pour scolarisation, soins ou activité professionnelle."),
    ("Article 3 - Redevances", "Le droit de place et les fluides sont payés chaque semaine "
     "auprès du régisseur, contre quittance. Un dépôt de garantie est demandé à l'arrivée."),
    ("Article 4 - Vie sur l'aire", "Le respect du voisinage, la propreté des emplacements "
     "et des sanitaires s'imposent à tous."),
)  # fmt: skip


def upload(ledger: Ledger, aire_id: UUID, content: bytes, **fields: Any) -> UUID:
    """Store the bytes and record the document (as the manager, the demo's way)."""
    digest = ledger.documents.put(content, ledger.now())
    return ledger.upload_document(
        aire_id, size=len(content), media_type=sniff(content), sha256=digest, actor=MANAGER,
        **fields,
    ).aggregate_id  # fmt: skip


def record_documents(ledger: Ledger, site: Site) -> UUID:
    """The first aire's règlement intérieur (version 1) and its arrêté; the règlement's id."""
    assert site.aire_id
    upload(
        ledger, site.aire_id, arrete_pdf(site.name), kind="arrete",
        title="Arrêté n° 2024-118 approuvant le règlement intérieur",
        filename="arrete-2024-118.pdf", valid_from=date(2024, 6, 1),
    )  # fmt: skip
    return upload(
        ledger, site.aire_id, reglement_pdf(site.name, 1, date(2025, 1, 1)),
        kind="reglement_interieur", title="Règlement intérieur",
        filename="reglement-interieur-v1.pdf", valid_from=date(2025, 1, 1),
    )  # fmt: skip


@dataclass
class Work:
    """The interventions of the demo's aires, day by day (``day`` each morning)."""

    ledger: Ledger
    clock: Clock
    sites: Sequence[Site]
    reglement: UUID
    intervenant: UUID
    rng: random.Random = field(default_factory=lambda: random.Random(18))
    pending: list[tuple[date, UUID]] = field(default_factory=list)  # incidents to close

    def day(self, day: date) -> None:
        self.clock.at(day, 8)
        for due, incident in [p for p in self.pending if p[0] == day]:
            self.ledger.set_intervention_status(incident, status="done", actor=ACTOR)
            self.pending.remove((due, incident))
        for index, site in enumerate(self.sites):
            self._site(day, index, site)
        if day == date(2025, 9, 20):
            self._new_reglement(day)

    def _record(self, site: Site, day: date, hours: float, **fields: Any) -> UUID:
        assert site.aire_id
        started = self.clock()
        who = [self.intervenant] if site is self.sites[0] else []
        return self.ledger.record_intervention(
            site.aire_id,
            started_at=started,
            ended_at=started + timedelta(hours=hours)
            if fields.get("status") != "planned"
            else None,
            who=who,
            actor=ACTOR,
            **fields,
        ).aggregate_id

    def _site(self, day: date, index: int, site: Site) -> None:
        if day.weekday() == 0:
            what = "Nettoyage des sanitaires et des parties communes"
            self._record(site, day, 1.5, kind="cleaning", description=what)
        if day.day == 1:
            what = "Relevé des compteurs généraux eau et électricité"
            self._record(site, day, 1, kind="meter_round", description=what)
        if day == date(2025, 9, 3) + timedelta(days=index):
            n = str(self.rng.randint(1, site.emplacements))
            self._record(
                site, day, 3, kind="repair", emplacements=[n],
                description=f"Remplacement du robinet de la borne {n}",
                cost_cents=self.rng.choice([18600, 24250, 31900]),
                supplier_ref=f"{self.rng.choice(SUPPLIERS)} FAC-2025-{300 + index}",
            )  # fmt: skip
        if day == date(2025, 8, 11) + timedelta(days=2 * index):
            self._incident(site, day)
        if day == date(2025, 10, 14) + timedelta(days=index):
            self._record(site, day, 2, kind="pest_control", cost_cents=42000,
                         supplier_ref=f"Anjou Nuisibles DEV-{index + 1}",
                         description="Dératisation des locaux techniques")  # fmt: skip

    def _incident(self, site: Site, day: date) -> None:
        """A borne électrique broken: a free emplacement out of service for three days."""
        assert site.aire_id
        aire = self.ledger.aire(site.aire_id)
        free = sorted(n for n in aire.emplacements if n not in aire.occupants and n != "2")
        if not free:
            return
        n = self.rng.choice(free)
        incident = self._record(
            site, day, 0, kind="incident", label="borne électrique", emplacements=[n],
            status="planned", out_of_service=True,
            description=f"Disjoncteur de la borne {n} détruit : emplacement fermé",
        )  # fmt: skip
        self.pending.append((day + timedelta(days=3), incident))

    def _new_reglement(self, day: date) -> None:
        site = self.sites[0]
        assert site.aire_id
        content = reglement_pdf(site.name, 2, date(2025, 10, 1))
        digest = self.ledger.documents.put(content, self.clock())
        self.ledger.upload_document_version(
            site.aire_id, self.reglement, title=None, sha256=digest, size=len(content),
            media_type=sniff(content), filename="reglement-interieur-v2.pdf",
            valid_from=date(2025, 10, 1), valid_to=None, actor=MANAGER,
        )  # fmt: skip
