"""Receipts (quittances), deposit receipts (récépissés) and remittance slips (bordereaux).

A document reproduces one register event: its lines and amounts come from the cash journal
projection; the stay and household of a receipt from the recorded event itself, and what a
receipt settled from the stay's own record of it (``Stay.Settled``): each charge line with
its period, quantity × unit price and the délibération of its tariff. It is dated by the
event's recorded time, which is also the PDF's creation date: printing a document again
gives the same bytes, save for its marks. Which exemplar is printed is the caller's to say:

- the **original**, once: the print recorded by ``Ledger.print_document``;
- a **duplicata**, « DUPLICATA n°k »: each one recorded first (``Ledger.record_reprint``),
  which gives ``k``;
- a **copy for consultation**, « COPIE », neither: what anyone who reads the register gets
  once the original is out, recorded nowhere (it is not given to a payer).

A cancelled receipt is marked « ANNULÉE » on every page, with the reason, when, who asked
and who approved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from hacienda_ledger.aggregates.errors import ReceiptNotFound, SlipNotFound
from hacienda_ledger.aggregates.household import Erased
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.aggregates.settlement import Allocation
from hacienda_ledger.aggregates.user import User
from hacienda_ledger.aggregates.values import TARIFF_REF_JOINER, ChargeLine
from hacienda_ledger.application import Ledger
from hacienda_ledger.reports.agents import Agents
from hacienda_ledger.reports.figures import Figures
from hacienda_ledger.reports.figures.model import ChainHead, moment
from hacienda_ledger.reports.french import day_fr, instant_fr, label, money
from hacienda_ledger.reports.render import Report, Section, identity_lines, to_pdf
from hacienda_ledger.reports.tables import table
from hacienda_ledger.reports.vat import receipt_vat_sections

PayerName = Callable[[UUID], "str | None"]
DOCUMENT_TITLES = {
    "receipt": "Quittance",
    "deposit_receipt": "Récépissé de dépôt de garantie",
    "slip": "Bordereau de versement",
}
CANCELLED = "ANNULÉE"
COPY = "COPIE"
NNBSP = "\u202f"
#: What a quantity counts, by charge component (``person:<band>`` reads as ``person``).
UNITS = {"pitch": "jour", "person": "jour-personne", "water": "m³", "electricity": "kWh"}


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


DETAIL = table(
    "Détail",
    "Nature|text|22",
    "Période|text|42",
    "Quantité × prix unitaire|text|34",
    "Délibération|text",
    "Montant|money|19",
    "Payé ici|money|19",
)
BY_METHOD = table("Montants versés par mode de paiement", "Mode|text|110", "Montant|money")
SLIP_LINES = table(
    "Lignes du bordereau",
    "Ligne|text|66",
    "Mode|text|26",
    "Chèque (n°, banque)|text|42",
    "Dépôt conservé|money",
    "Montant versé|money",
    note="Les dépôts de garantie sont des fonds de tiers : ils restent en caisse "
    "jusqu'à leur remboursement ou leur retenue et ne sont pas versés ici. Un écart "
    "de caisse figure sur sa propre ligne, avec le numéro de l'arrêté qui l'a constaté.",
)
RECEIPTS_COVERED = table(
    "Quittances couvertes",
    "Quittance n°|int|26",
    "Jour|date|26",
    "Mode|text",
    "Recettes|money",
    "Dépôt de garantie|money",
    "État|text|22",
    note="Bordereau enregistré avant que les bordereaux ne détaillent leurs lignes : "
    "ce qu'il n'a pas versé des quittances et mouvements qu'il couvrait est reporté "
    "au bordereau suivant.",
)


@dataclass(frozen=True)
class Printed:
    document: str
    number: int
    register_id: str
    content: bytes
    filename: str


def _number(value: Decimal) -> str:
    """A quantity as written in French, without trailing zeros: ``2,5``, ``8``, ``4,444``."""
    return f"{value.normalize():f}".replace(".", ",")


def _price(value: Decimal) -> str:
    """A unit price in euros, at least to the cent: ``3,00 €``, ``3,5120 €``."""
    exponent = value.as_tuple().exponent
    places = max(2, -exponent if isinstance(exponent, int) else 2)
    return f"{value:.{places}f}".replace(".", ",") + f"{NNBSP}€"


def quantity_times_price(line: ChargeLine) -> str:
    """``8 jours × 3,00 €``, ``2,5 m³ × 3,5120 €``: how the line's amount is made."""
    unit = UNITS.get(line.component.split(":")[0], "")
    quantity = _number(line.quantity)
    if unit in ("jour", "jour-personne") and abs(line.quantity) != 1:
        unit = "jours" if unit == "jour" else "jours-personnes"
    band = line.component.split(":", 1)[1] if ":" in line.component else ""
    unit = f"{unit} ({band})" if band else unit
    return f"{quantity} {unit} × {_price(line.unit_price)}".replace("  ", " ")


def deliberations(tariff_ref: str) -> str:
    """The délibérations a line's tariff versions name (``<effective day>/<ref>``, several
    joined by `` + `` when a fluid line spans versions at one price)."""
    return TARIFF_REF_JOINER.join(
        part.split("/", 1)[1] if "/" in part else part
        for part in tariff_ref.split(TARIFF_REF_JOINER)
    )


def period_fr(start: Any, end: Any) -> str:
    return f"le {day_fr(start)}" if start == end else f"du {day_fr(start)} au {day_fr(end)}"


def exemplar(copy: int, consultation: bool) -> tuple[str, str | None]:
    """The exemplar's line (« Exemplaire ») and its stamp: the original (none), a duplicata
    (« DUPLICATA n°k ») or a copy for consultation (« COPIE »)."""
    if consultation:
        return "copie de consultation (ni original ni duplicata)", COPY
    if copy:
        return f"duplicata n°{copy}", f"DUPLICATA n°{copy}"
    return "original", None


class Documents:
    def __init__(self, figures: Figures, payer_name: PayerName = no_payer_name) -> None:
        self.figures = figures
        self.payer_name = payer_name
        self.agents = Agents(figures.ledger)

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
        recorded = moment(row["recorded_at"])
        return Report(
            title=title,
            identity=identity_lines(subject=subject, heads=[head], generated_at=recorded),
            sections=sections,
            generated_at=recorded,
        )

    def check(self, register_id: UUID, document: str, number: int) -> None:
        """Raise unless the document exists (before a print or a reprint is recorded): its
        journal lines are read, not its payer's name, so that a print refused afterwards has
        read no personal data."""
        if document == "slip":
            self._slip_rows(register_id, number)
        elif document in ("receipt", "deposit_receipt"):
            self._issued(register_id, number, deposit=document == "deposit_receipt")
        else:
            raise ReceiptNotFound(f"no document {document!r}", field="document")

    def render(
        self,
        register_id: UUID,
        document: str,
        number: int,
        copy: int = 0,
        *,
        consultation: bool = False,
    ) -> Printed:
        """The document's PDF: its original, duplicata ``copy`` (1, 2...), or with
        ``consultation`` a copy for consultation (see the module's docstring)."""
        self.check(register_id, document, number)
        which, stamp = exemplar(copy, consultation)
        if document == "slip":
            report = self._slip(register_id, number)
        else:
            report = self._receipt(register_id, number, deposit=document == "deposit_receipt")
        report = Report(
            report.title,
            (*report.identity[:1], ("Exemplaire", which), *report.identity[1:]),
            report.sections,
            report.generated_at,
            stamp=stamp,
            mark=report.mark,
        )
        suffix = "-copie" if consultation else f"-duplicata-{copy}" if copy else ""
        return Printed(
            document,
            number,
            str(register_id),
            to_pdf(report),
            f"{document}-{str(register_id)[:8]}-{number}{suffix}.pdf",
        )

    def _issued(
        self, register_id: UUID, number: int, *, deposit: bool
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The receipt's journal lines (issue, request, cancellation...) and its issue's."""
        rows = self._rows(register_id, receipt_number=number)
        issued = [r for r in rows if r["kind"] == "receipt"]
        if not issued:
            raise ReceiptNotFound(f"no receipt {number} on this register", field="number")
        if deposit and not any(r["revenue_type"] == "deposit" for r in issued):
            raise ReceiptNotFound(
                f"receipt {number} holds no deposit: there is no récépissé", field="number"
            )
        return rows, issued

    def _receipt(self, register_id: UUID, number: int, *, deposit: bool) -> Report:
        rows, issued = self._issued(register_id, number, deposit=deposit)
        noun = "récépissé" if deposit else "quittance"
        first = issued[0]
        ledger = self.figures.ledger
        event = ledger.register_event(register_id, first["version"])
        assert isinstance(event, CashRegister.ReceiptIssued)
        register = ledger.cash_register(register_id)
        aire = self.figures.aire(event.aire_id)
        stay = ledger.stay(event.stay_id) if event.stay_id else None
        household = event.household_ref
        payer = (self.payer_name(household) if household else None) or (
            f"ménage réf. {household}" if household else "paiement sans séjour"
        )
        settled = (
            ledger.settled_by(stay.id, f"{register_id}/receipt/{number}")
            if stay is not None and not deposit
            else []
        )
        covered = (
            period_fr(min(c.start for c, _ in settled), max(c.end for c, _ in settled))
            if settled
            else "—"
        )
        subject = [
            (f"{noun.capitalize()} n°", str(number)),
            ("Émise le", instant_fr(event.timestamp)),
            ("Régie", register.regie_ref),
            ("Aire", f"{aire.code} — {aire.name}"),
            ("Collectivité", aire.collectivite_name),
            ("Emplacement", stay.emplacement if stay is not None else "—"),
            ("Séjour", str(event.stay_id) if event.stay_id else "—"),
            ("Période couverte", covered),
            ("Payeur", payer),
            ("Mode de paiement", label(first["method"])),
            ("Agent", self.agents.name(first["cashier"])),
        ]
        lines = [(r["revenue_type"], r["amount_in_cents"]) for r in issued]
        if deposit:
            lines = [(t, a) for t, a in lines if t == "deposit"]
        total = sum(a for _, a in lines)
        sections = [
            self._detail(lines, settled, total, deposit=deposit),
            *self._taxes(lines, aire.mode),
        ]
        cancelled = [r for r in rows if r["kind"] == "cancellation"]
        if cancelled:
            sections.append(self._cancellation(cancelled[0], noun))
        title = DOCUMENT_TITLES["deposit_receipt" if deposit else "receipt"]
        report = self._document(
            f"{title} n°{number} — {aire.code}",
            subject,
            tuple(sections),
            register_id=register_id,
            row=first,
            last_receipt=number,
        )
        if cancelled:
            report = Report(
                report.title, report.identity, report.sections, report.generated_at, mark=CANCELLED
            )
        return report

    @staticmethod
    def _detail(
        lines: list[tuple[str, int]],
        settled: list[tuple[ChargeLine, Allocation]],
        total: int,
        *,
        deposit: bool,
    ) -> Section:
        """Each charge line the receipt settled: its period, quantity × unit price, the
        délibération of its tariff, its amount and what this receipt paid of it; then what
        no charge line names (a deposit, a payment without a stay, a receipt recorded
        before settlements were)."""
        rows: list[tuple[Any, ...]] = [
            (
                label(charge.revenue_type),
                period_fr(charge.start, charge.end),
                quantity_times_price(charge),
                deliberations(charge.tariff_ref),
                charge.amount_cents,
                allocation.amount_cents,
            )
            for charge, allocation in settled
        ]
        paid: dict[str, int] = {}
        for _, allocation in settled:
            paid[allocation.revenue_type] = (
                paid.get(allocation.revenue_type, 0) + allocation.amount_cents
            )
        for revenue_type, amount in lines:
            rest = amount - paid.pop(revenue_type, 0)
            if rest:
                rows.append((label(revenue_type), "—", "", "", None, rest))
        return DETAIL.section(
            rows,
            ("Total", "", "", "", None, total),
            note=(
                "Somme reçue pour le compte de tiers (dépôt de garantie) : elle sera "
                "remboursée au départ, déduction faite des retenues justifiées."
                if deposit
                else f"Arrêtée la présente quittance à la somme de {money(total)}."
                + (
                    " Chaque ligne est facturée au tarif en vigueur chaque jour, fixé par la "
                    "délibération citée."
                    if settled
                    else ""
                )
            ),
        )

    def _taxes(self, lines: list[tuple[str, int]], mode: str) -> tuple[Section, ...]:
        """VAT on the receipt, after the detail: a DSP aire's receipt gives excluding tax,
        tax and including tax by revenue type and rate (``reports/vat.py``, the rates from
        the settings); none for a régie or a marché."""
        rates = self.figures.ledger.settings.dsp_vat_rates
        return receipt_vat_sections(mode, lines, rates)

    def _cancellation(self, row: dict[str, Any], noun: str) -> Section:
        """Why, when, who asked and who approved (nobody, for a cancellation recorded
        before approvals existed)."""
        approved = self.agents.name(row["approved_by"])
        asked = row["requested_at"]
        requested = self.agents.name(row["requested_by"] or row["cashier"])
        when = instant_fr(moment(row["recorded_at"]))
        note = (
            f"Cette {noun} a été annulée le {when} (elle reste dans la série des numéros). "
            f"Motif : {row['reason'] or '—'}. Demandée par {requested}"
            + (f" le {instant_fr(moment(asked))}" if asked else "")
            + (f", approuvée par {approved}." if approved else ", sans approbation.")
        )
        return Section(CANCELLED.capitalize(), (), (), note=note)

    def _slip_rows(self, register_id: UUID, number: int) -> list[dict[str, Any]]:
        rows = [r for r in self._rows(register_id, slip_number=number) if r["kind"] == "remittance"]
        if not rows:
            raise SlipNotFound(f"no slip {number} on this register", field="number")
        return rows

    def _slip(self, register_id: UUID, number: int) -> Report:
        rows = self._slip_rows(register_id, number)
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
        by_method = BY_METHOD.section(
            ((label(r["method"]), r["amount_out_cents"]) for r in rows), ("Total versé", total)
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
        return SLIP_LINES.section(
            rows, ("Total des lignes", "", "", None, sum(x.amount_cents for x in event.lines))
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
        return RECEIPTS_COVERED.section(
            (
                n,
                e["day"],
                label(e["method"]),
                e["amount"],
                e["deposit"],
                "annulée" if e["cancelled"] else "",
            )
            for n, e in sorted(receipts.items())
        )
