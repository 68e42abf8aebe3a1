"""Receipts (quittances), deposit receipts (récépissés) and remittance slips (bordereaux).

A document reproduces one register event: its lines and amounts come from the cash journal
projection; the stay and household of a receipt from the recorded event itself. It is dated
by the event's recorded time, which is also the PDF's creation date: printing a document
again gives the same bytes. A reprint is the same document marked « DUPLICATA n°k »; the
caller records the reprint as a register event first (``Ledger.record_reprint``), which
gives ``k``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from hacienda_ledger.aggregates.errors import ReceiptNotFound, SlipNotFound
from hacienda_ledger.aggregates.household import Erased
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.aggregates.user import User
from hacienda_ledger.application import Ledger
from hacienda_ledger.reports.figures import ChainHead, Figures
from hacienda_ledger.reports.french import day_fr, label, money
from hacienda_ledger.reports.render import Column, Report, Section, identity_lines, to_pdf
from hacienda_ledger.reports.vat import receipt_vat_sections

PayerName = Callable[[UUID], "str | None"]
DOCUMENT_TITLES = {
    "receipt": "Quittance",
    "deposit_receipt": "Récépissé de dépôt de garantie",
    "slip": "Bordereau de versement",
}


def no_payer_name(_: UUID) -> str | None:
    """Until households carry names (issue 7): the receipt names the household reference."""
    return None


def payer_names(ledger: Ledger, user: User, endpoint: str) -> PayerName:
    """The payer's display name on a receipt (each read recorded in the household's access
    log, as read through ``endpoint``), « [données effacées] » once its personal data is
    erased."""

    def name(household_id: UUID) -> str | None:
        names = ledger.households.payer_names(user, [household_id], endpoint=endpoint)
        found = names.get(household_id)
        if found is None:
            return None
        return "[données effacées]" if isinstance(found, Erased) else str(found)

    return name


@dataclass(frozen=True)
class Printed:
    document: str
    number: int
    register_id: str
    content: bytes
    filename: str


def _moment(recorded_at: str) -> datetime:
    return datetime.fromisoformat(recorded_at.replace("Z", "+00:00"))


class Documents:
    def __init__(self, figures: Figures, payer_name: PayerName = no_payer_name) -> None:
        self.figures = figures
        self.payer_name = payer_name

    def _rows(self, register_id: UUID, **where: Any) -> list[dict[str, Any]]:
        return self.figures.queries.select(
            "cash_journal", "cash_journal", where={"register_id": str(register_id), **where}
        )

    def _document(
        self,
        title: str,
        subject: list[tuple[str, str]],
        sections: tuple[Section, ...],
        *,
        register_id: UUID,
        row: dict[str, Any],
        last_receipt: int,
    ) -> Report:
        """A document of the event in ``row``: dated by its recorded time, naming the
        register's chain head as of that event."""
        register = self.figures.ledger.cash_register(register_id)
        head = ChainHead(
            register_id=str(register_id),
            regie_ref=register.regie_ref,
            version=row["version"],
            chain_hash=row["chain_hash"],
            last_receipt=last_receipt,
            recorded_at=row["recorded_at"],
        )
        moment = _moment(row["recorded_at"])
        return Report(
            title=title,
            identity=identity_lines(subject=subject, heads=[head], generated_at=moment),
            sections=sections,
            generated_at=moment,
        )

    def check(self, register_id: UUID, document: str, number: int) -> None:
        """Raise unless the document exists (before a reprint is recorded): rendered without
        the payer's name, so that a reprint refused afterwards has read no personal data."""
        Documents(self.figures).render(register_id, document, number)

    def render(self, register_id: UUID, document: str, number: int, copy: int = 0) -> Printed:
        if document == "slip":
            report = self._slip(register_id, number)
        elif document in ("receipt", "deposit_receipt"):
            report = self._receipt(register_id, number, deposit=document == "deposit_receipt")
        else:
            raise ReceiptNotFound(f"no document {document!r}", field="document")
        if copy:
            report = Report(
                report.title,
                report.identity,
                report.sections,
                report.generated_at,
                stamp=f"DUPLICATA n°{copy}",
            )
        suffix = f"-duplicata-{copy}" if copy else ""
        return Printed(
            document,
            number,
            str(register_id),
            to_pdf(report),
            f"{document}-{str(register_id)[:8]}-{number}{suffix}.pdf",
        )

    def _receipt(self, register_id: UUID, number: int, *, deposit: bool) -> Report:
        rows = self._rows(register_id, receipt_number=number)
        issued = [r for r in rows if r["kind"] == "receipt"]
        noun = "récépissé" if deposit else "quittance"
        if not issued:
            raise ReceiptNotFound(f"no receipt {number} on this register", field="number")
        first = issued[0]
        event = self.figures.ledger.register_event(register_id, first["version"])
        assert isinstance(event, CashRegister.ReceiptIssued)
        lines = [(r["revenue_type"], r["amount_in_cents"]) for r in issued]
        if deposit:
            lines = [(t, a) for t, a in lines if t == "deposit"]
            if not lines:
                raise ReceiptNotFound(
                    f"receipt {number} holds no deposit: there is no récépissé", field="number"
                )
        aire = self.figures.aire(event.aire_id)
        household = event.household_ref
        payer = (self.payer_name(household) if household else None) or (
            f"ménage réf. {household}" if household else "paiement sans séjour"
        )
        cancelled = [r for r in rows if r["kind"] == "cancellation"]
        subject = [
            ("Aire", f"{aire.code} — {aire.name}"),
            ("Collectivité", aire.collectivite_name),
            (f"{noun.capitalize()} n°", str(number)),
            ("Émise le", day_fr(first["day"])),
            ("Payeur", payer),
            ("Séjour", str(event.stay_id) if event.stay_id else "—"),
            ("Mode de paiement", label(first["method"])),
            ("Agent", first["cashier"] or ""),
        ]
        total = sum(a for _, a in lines)
        sections = [
            Section(
                "Détail",
                (Column("Nature", "text", 110), Column("Montant", "money")),
                tuple((label(t), a) for t, a in lines),
                total=("Total", total),
                note=(
                    "Somme reçue pour le compte de tiers (dépôt de garantie) : elle sera "
                    "remboursée au départ, déduction faite des retenues justifiées."
                    if deposit
                    else f"Arrêtée la présente quittance à la somme de {money(total)}."
                ),
            )
        ]
        rates = self.figures.ledger.settings.dsp_vat_rates  # a dsp aire's receipt: HT, TVA, TTC
        sections.extend(receipt_vat_sections(aire.mode, lines, rates))
        if cancelled:
            sections.append(
                Section(
                    "Annulation",
                    (),
                    (),
                    note=f"Cette quittance a été annulée le {day_fr(cancelled[0]['day'])} "
                    "(elle reste dans la série des numéros).",
                )
            )
        title = DOCUMENT_TITLES["deposit_receipt" if deposit else "receipt"]
        return self._document(
            f"{title} n°{number} — {aire.code}",
            subject,
            tuple(sections),
            register_id=register_id,
            row=first,
            last_receipt=number,
        )

    def _slip(self, register_id: UUID, number: int) -> Report:
        rows = [r for r in self._rows(register_id, slip_number=number) if r["kind"] == "remittance"]
        if not rows:
            raise SlipNotFound(f"no slip {number} on this register", field="number")
        first = rows[0]
        lo, hi = first["first_receipt"], first["last_receipt"]
        event = self.figures.ledger.register_event(register_id, first["version"])
        assert isinstance(event, CashRegister.RemittanceMade)
        register = self.figures.ledger.cash_register(register_id)
        aire = self.figures.aire(register.aire_id)
        covered = f"n°{lo} à n°{hi}" if lo <= hi else "aucune quittance nouvelle"
        subject = [
            ("Régie", f"{register.regie_ref} (aire {aire.code} — {aire.name})"),
            ("Collectivité", aire.collectivite_name),
            ("Bordereau n°", str(number)),
            ("Versé le", day_fr(first["day"])),
            ("Quittances couvertes", covered),
            ("Agent", first["cashier"] or ""),
        ]
        total = sum(r["amount_out_cents"] for r in rows)
        by_method = Section(
            "Montants versés par mode de paiement",
            (Column("Mode", "text", 110), Column("Montant", "money")),
            tuple((label(r["method"]), r["amount_out_cents"]) for r in rows),
            total=("Total versé", total),
        )
        if event.lines is None:
            sections = (by_method, self._receipts_before_lines(register_id, first, lo, hi))
        else:
            sections = (self._slip_lines(event), by_method)
        return self._document(
            f"{DOCUMENT_TITLES['slip']} n°{number} — régie {register.regie_ref}",
            subject,
            sections,
            register_id=register_id,
            row=first,
            last_receipt=hi,
        )

    @staticmethod
    def _slip_lines(event: CashRegister.RemittanceMade) -> Section:
        """Every line of a slip (receipts, cheques one by one, the other movements), and
        their total: what the slip pays in."""
        assert event.lines is not None
        rows = []
        for line in event.lines:
            if line.kind == "receipt":
                what = f"Quittance n°{line.reference}" + (" (annulée)" if line.cancelled else "")
            elif line.kind in ("cash_over", "cash_short", "deficit_made_good"):
                what = f"{label(line.kind)} — arrêté de caisse n°{line.reference}"
            elif line.kind in ("carried", "carried_forward"):
                what = f"{label(line.kind)} (bordereau n°{line.reference})"
            else:
                what = f"{label(line.kind)} (opération n°{line.reference} de la caisse)"
            cheque = f"n°{line.cheque_number} — {line.bank}" if line.cheque_number else ""
            rows.append((what, label(line.method), cheque, line.held_cents, line.amount_cents))
        return Section(
            "Lignes du bordereau",
            (
                Column("Ligne", "text", 66),
                Column("Mode", "text", 26),
                Column("Chèque (n°, banque)", "text", 42),
                Column("Dépôt conservé", "money"),
                Column("Montant versé", "money"),
            ),
            tuple(rows),
            total=("Total des lignes", "", "", None, sum(x.amount_cents for x in event.lines)),
            note="Les dépôts de garantie sont des fonds de tiers : ils restent en caisse "
            "jusqu'à leur remboursement ou leur retenue et ne sont pas versés ici. Un écart "
            "de caisse figure sur sa propre ligne, avec le numéro de l'arrêté qui l'a constaté.",
        )

    def _receipts_before_lines(
        self, register_id: UUID, first: dict[str, Any], lo: int, hi: int
    ) -> Section:
        """A slip recorded before slips listed their lines: the receipts of its range, from
        the cash journal; what it did not pay in was carried to the next slip."""
        journal = self._rows(register_id)
        receipts: dict[int, dict[str, Any]] = {}
        for r in journal:
            n = r["receipt_number"]
            if n is None or not lo <= n <= hi:
                continue
            entry = receipts.setdefault(
                n,
                {
                    "day": r["day"],
                    "method": r["method"],
                    "amount": 0,
                    "deposit": 0,
                    "cancelled": False,
                },
            )
            if r["kind"] == "receipt":
                side = "deposit" if r["revenue_type"] == "deposit" else "amount"
                entry[side] += r["amount_in_cents"]
            elif r["kind"] == "cancellation" and r["version"] <= first["version"]:
                entry["cancelled"] = True
        return Section(
            "Quittances couvertes",
            (
                Column("Quittance n°", "int", 26),
                Column("Jour", "date", 26),
                Column("Mode", "text"),
                Column("Recettes", "money"),
                Column("Dépôt de garantie", "money"),
                Column("État", "text", 22),
            ),
            tuple(
                (
                    n,
                    e["day"],
                    label(e["method"]),
                    e["amount"],
                    e["deposit"],
                    "annulée" if e["cancelled"] else "",
                )
                for n, e in sorted(receipts.items())
            ),
            note="Bordereau enregistré avant que les bordereaux ne détaillent leurs lignes : "
            "ce qu'il n'a pas versé des quittances et mouvements qu'il couvrait est reporté "
            "au bordereau suivant.",
        )
