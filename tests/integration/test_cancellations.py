"""Cancellations and quittances, on SQLite and PostgreSQL (issue 15, points 5 and 6).

A cashier only asks for a receipt to be cancelled: until a régisseur approves it the
receipt stands (balances, the stay's settlement, the projections unchanged); the approval
reverses it, naming who asked and who approved; a refusal or a withdrawal leaves it
standing; a régisseur's own cancellation needs no second approval; the admin handles no
cash. The monthly report lists the month's cancellations (its register of cancellations)
and the requests refused, withdrawn or pending at its end; the quittance, opened back with
pypdf, names everything a payer and a comptable read on it.

Commands go through ``Ledger.handle(command, user)``: the pipeline checks each user's role
and scope, as the API does.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import reduce
from typing import Any
from uuid import UUID

import pytest
from pypdf import PdfReader

from hacienda_ledger.aggregates.errors import CancellationPending, Forbidden
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.aggregates.user import User
from hacienda_ledger.application import Ledger
from hacienda_ledger.application import commands as c
from hacienda_ledger.application.projecting import followers, stay_balances
from hacienda_ledger.projections.cash_journal import CashJournalProjection
from hacienda_ledger.projections.runner import ProjectionOutdated
from hacienda_ledger.reports.documents import Documents
from hacienda_ledger.reports.generate import Reports
from tests.conftest import Clock, Site, standard_tariff
from tests.integration.test_reports import csv_rows, csv_section, pdf_text, sheet_rows, table_rows


@dataclass
class People:
    cashier: User
    regisseur: User
    elsewhere: User  # a régisseur of another aire
    manager: User
    admin: User


def user(ledger: Ledger, name: str, role: str, **scope: Any) -> User:
    outcome, _ = ledger.create_user(name=name, role=role, actor="t", **scope)
    return ledger.user(outcome.aggregate_id)


@pytest.fixture
def people(ledger: Ledger, site: Site) -> People:
    other = Site(ledger, code="85191-B")
    return People(
        cashier=user(ledger, "Camille Caisse", "cashier", aire_ids=[site.aire_id]),
        regisseur=user(ledger, "Régis Seur", "regisseur", aire_ids=[site.aire_id]),
        elsewhere=user(ledger, "Autre Régisseur", "regisseur", aire_ids=[other.aire_id]),
        manager=user(
            ledger,
            "Manon Anjou",
            "manager",
            sectors=["Anjou"],
            collectivite_id=site.collectivite_id,
        ),
        admin=user(ledger, "Admin", "admin"),
    )


def run(ledger: Ledger, who: User, command: type[c.Command], *args: Any, **fields: Any) -> Any:
    """``command`` sent by ``who`` (its actor their id), checked as the API checks it."""
    return ledger.handle(command(*args, actor=str(who.id), **fields), who)


def paid_stay(ledger: Ledger, clock: Clock, site: Site, people: People) -> tuple[UUID, int]:
    """A stay charged 3 days (9.00 €) and a card receipt by the cashier that settles them;
    returns the stay and the receipt's number."""
    stay = site.arrive("1")
    clock.advance(days=2)
    ledger.assess_charges(stay, through=date(2025, 1, 8), actor="c")
    number = run(
        ledger,
        people.cashier,
        c.IssueReceipt,
        site.register_id,
        stay_id=stay,
        method="card",
        lines=[("pitch_fee", 900)],
    ).result["number"]
    return stay, number


def money_now(ledger: Ledger, stay: UUID, register: UUID) -> tuple[Any, ...]:
    """What a reversal changes, read from the aggregates and from the projections."""
    queries = Reports(ledger).queries
    reg = ledger.cash_register(register)
    revenue = sorted(
        (r["revenue_type"], r["method"], r["amount_cents"])
        for r in queries.select("revenue", "revenue_monthly")
    )
    return (
        ledger.stay_account(stay),
        dict(ledger.stay(stay).settlement.movements),
        dict(reg.balances),
        reg.perpetual_total_cents,
        stay_balances(queries, stay),
        revenue,
    )


def test_a_cashiers_cancellation_waits_and_changes_nothing_until_the_regisseur_approves(
    ledger: Ledger, clock: Clock, site: Site, people: People
) -> None:
    """Given a stay's 9.00 € paid by card, when the cashier asks for the receipt to be
    cancelled, then it is pending and nothing moves (balances, settlement, revenue and
    receivable projections); when the régisseur approves it, the receipt is reversed: the
    9.00 € are due again, and the journal says why, who asked and when, who approved."""
    reg = site.register_id
    stay, number = paid_stay(ledger, clock, site, people)
    before = money_now(ledger, stay, reg)
    assert before[0]["balance_due_cents"] == 0
    clock.advance(hours=1)
    asked_at = clock()
    asked = run(
        ledger, people.cashier, c.RequestCancellation, reg, number=number, reason="mauvais mode"
    )
    assert asked.result["status"] == "pending"
    assert money_now(ledger, stay, reg) == before
    register = ledger.cash_register(reg)
    assert not register.open_receipts[str(number)].cancelled
    (pending,) = register.pending
    assert (pending.number, pending.requested_by) == (number, str(people.cashier.id))

    clock.advance(hours=2)
    run(ledger, people.regisseur, c.ApproveCancellation, reg, number=number)
    after = money_now(ledger, stay, reg)
    assert after[0]["balance_due_cents"] == 900 and after[0]["settled_cents"] == 0
    assert after[1] == {}  # the settlement is reversed
    assert after[4] == (900, 0)  # the receivable projection owes it again
    assert ("pitch_fee", "card", 0) in after[5]
    event = ledger.register_event(reg, ledger.cash_register(reg).version)
    assert isinstance(event, CashRegister.ReceiptCancelled)
    assert (event.requested_by, event.requested_at, event.approved_by, event.reason) == (
        str(people.cashier.id),
        asked_at,
        str(people.regisseur.id),
        "mauvais mode",
    )
    rows = Reports(ledger).queries.receipt_lines(reg, number)
    assert [r["kind"] for r in rows] == ["receipt", "cancellation_requested", "cancellation"]
    asked_row, cancelled_row = rows[1], rows[2]
    assert (asked_row["reason"], asked_row["requested_by"]) == (
        "mauvais mode",
        str(people.cashier.id),
    )
    assert asked_row["amount_in_cents"] == asked_row["amount_out_cents"] == 0
    assert {
        k: cancelled_row[k] for k in ("reason", "requested_by", "requested_at", "approved_by")
    } == {
        "reason": "mauvais mode",
        "requested_by": str(people.cashier.id),
        "requested_at": asked_row["recorded_at"],
        "approved_by": str(people.regisseur.id),
    }
    assert ledger.audit.verify_register(reg).ok


def test_a_regisseurs_own_cancellation_needs_no_second_approval(
    ledger: Ledger, clock: Clock, site: Site, people: People
) -> None:
    """Given a receipt, the régisseur's cancellation is recorded at once, one event naming
    them as who asked and who approved; nothing was pending."""
    reg = site.register_id
    stay, number = paid_stay(ledger, clock, site, people)
    version = ledger.cash_register(reg).version
    done = run(ledger, people.regisseur, c.CancelReceipt, reg, number=number, reason="doublon")
    assert done.result["status"] == "cancelled" and done.version == version + 1
    event = ledger.register_event(reg, version + 1)
    assert isinstance(event, CashRegister.ReceiptCancelled)
    assert event.requested_by == event.approved_by == event.actor == str(people.regisseur.id)
    assert ledger.stay_account(stay)["balance_due_cents"] == 900


def test_who_may_not_cancel_records_nothing(
    ledger: Ledger, clock: Clock, site: Site, people: People
) -> None:
    """A cashier neither cancels on their own authority nor approves nor refuses, nor signs
    for the cash (a handover, a régularisation, a remittance, a count); a régisseur of
    another aire decides and signs nothing here; the manager and the admin handle no cash
    at all (receipts, requests, refunds, remittances, counts, handovers, régularisations,
    closures, prints): each is ``Forbidden`` and records nothing."""
    reg = site.register_id
    stay, number = paid_stay(ledger, clock, site, people)
    run(ledger, people.cashier, c.RequestCancellation, reg, number=number, reason="x")
    position = ledger.last_position()
    decisions: list[tuple[type[c.Command], dict[str, Any]]] = [
        (c.CancelReceipt, {"number": number, "reason": "x"}),
        (c.ApproveCancellation, {"number": number}),
        (c.RefuseCancellation, {"number": number, "reason": "non"}),
    ]
    signing: list[tuple[type[c.Command], dict[str, Any]]] = [
        (c.RegulariseCashDifference, {"count_number": 1, "reference": "R-1"}),
        (c.HandOver, {"incoming": people.regisseur.id, "counted_cents": 5000}),
        (c.Remit, {"through_receipt": number, "amounts_by_method": {"card": 900}}),
        (c.CountCash, {"counted_cents": 5000}),
    ]
    cash: list[tuple[type[c.Command], dict[str, Any]]] = [
        *decisions,
        *signing,
        (c.IssueReceipt, {"stay_id": None, "method": "cash", "lines": [("other", 100)]}),
        (c.RequestCancellation, {"number": number, "reason": "x"}),
        (c.WithdrawCancellation, {"number": number}),
        (c.RefundDeposit, {"stay_id": stay, "amount_cents": 100, "method": "cash"}),
        (c.ClosePeriod, {"period": "day", "day": date(2025, 1, 7)}),
        (c.RecordReprint, {"document": "receipt", "number": number}),
        (c.PrintDocument, {"document": "receipt", "number": number}),
    ]
    refused = [
        *((people.cashier, command, fields) for command, fields in (*decisions, *signing)),
        *((people.elsewhere, command, fields) for command, fields in (*decisions, *signing)),
        *((people.manager, command, fields) for command, fields in cash),
        *((people.admin, command, fields) for command, fields in cash),
    ]
    for who, command, fields in refused:
        with pytest.raises(Forbidden):
            run(ledger, who, command, reg, **fields)
    assert ledger.last_position() == position
    assert ledger.cash_register(reg).pending_cancellation(number) is not None


@dataclass
class Month:
    """January 2025 on the site's register: receipts 1 to 5 of 1.00 € to 5.00 € in cash."""

    people: People
    times: dict[str, datetime]


def a_month_of_cancellations(ledger: Ledger, clock: Clock, site: Site, people: People) -> Month:
    """Receipt 1 asked for by the cashier and approved by the régisseur; receipt 2 cancelled
    by the régisseur alone; receipt 3 asked for and refused; receipt 4 asked for and
    withdrawn; receipt 5 asked for on the 31st, still pending at the month's end."""
    reg = site.register_id
    times: dict[str, datetime] = {}

    def at(name: str, day: int, hour: int) -> None:
        clock.now = times[name] = datetime(2025, 1, day, hour, tzinfo=UTC)

    at("issued", 6, 9)
    for n in range(1, 6):
        run(
            ledger,
            people.cashier,
            c.IssueReceipt,
            reg,
            stay_id=None,
            method="cash",
            lines=[("other", 100 * n)],
        )
    at("asked 1", 7, 9)
    run(ledger, people.cashier, c.RequestCancellation, reg, number=1, reason="mauvais montant")
    at("approved 1", 7, 14)
    run(ledger, people.regisseur, c.ApproveCancellation, reg, number=1)
    at("cancelled 2", 8, 10)
    run(ledger, people.regisseur, c.CancelReceipt, reg, number=2, reason="doublon")
    at("asked 3", 9, 9)
    run(ledger, people.cashier, c.RequestCancellation, reg, number=3, reason="client parti")
    at("refused 3", 9, 16)
    run(
        ledger,
        people.regisseur,
        c.RefuseCancellation,
        reg,
        number=3,
        reason="la prestation est due",
    )
    at("asked 4", 10, 9)
    run(ledger, people.cashier, c.RequestCancellation, reg, number=4, reason="erreur")
    at("withdrawn 4", 10, 10)
    run(ledger, people.cashier, c.WithdrawCancellation, reg, number=4)
    at("asked 5", 31, 15)
    run(ledger, people.cashier, c.RequestCancellation, reg, number=5, reason="chèque refusé")
    clock.now = datetime(2025, 2, 3, 9, tzinfo=UTC)
    return Month(people, times)


def test_the_monthly_report_lists_each_cancellation_and_each_request_left_standing(
    ledger: Ledger, clock: Clock, site: Site, people: People
) -> None:
    """January's report, opened back in PDF, CSV and XLSX: its register of cancellations
    lists receipts 1 and 2 (day, time, number, method, amount, reason, who asked and when,
    who approved), by name; its requests list receipt 3 refused (with why), 4 withdrawn and
    5 pending at the month's end. Revenue counts the three receipts that stand."""
    a_month_of_cancellations(ledger, clock, site, people)
    reports = Reports(ledger)
    stored = reports.run(reports.month_jobs("2025-01", [site.aire_id]))
    files = {s.format: reports.store.get(s.report_id)[1] for s in stored}

    rows = csv_rows(files["csv"])
    cancellations = csv_section(rows, "Annulations de quittances")
    assert cancellations[0] == [
        "Jour",
        "Heure",
        "Quittance n°",
        "Mode",
        "Montant (€)",
        "Motif",
        "Demandée par",
        "Demandée le",
        "Approuvée par",
    ]
    assert cancellations[1:] == [
        [
            "07/01/2025",
            "15:00",
            "1",
            "Espèces",
            "1,00",
            "mauvais montant",
            "Camille Caisse",
            "07/01/2025 10:00",
            "Régis Seur",
        ],
        [
            "08/01/2025",
            "11:00",
            "2",
            "Espèces",
            "2,00",
            "doublon",
            "Régis Seur",
            "08/01/2025 11:00",
            "Régis Seur",
        ],
        ["Total", "", "", "", "3,00", "", "", "", ""],
    ]
    requests = csv_section(rows, "Demandes d'annulation refusées, retirées ou en attente")
    assert requests[1:] == [
        [
            "3",
            "3,00",
            "client parti (refus : la prestation est due)",
            "Camille Caisse",
            "09/01/2025 10:00",
            "refusée",
            "Régis Seur",
            "09/01/2025 17:00",
        ],
        [
            "4",
            "4,00",
            "erreur",
            "Camille Caisse",
            "10/01/2025 10:00",
            "retirée",
            "Camille Caisse",
            "10/01/2025 11:00",
        ],
        ["5", "5,00", "chèque refusé", "Camille Caisse", "31/01/2025 16:00", "en attente", "", ""],
    ]
    money = csv_section(rows, "Recettes par nature et mode de paiement")
    assert ["Autre", "Espèces", "12,00", "5", "2"] in money

    sheet = table_rows(sheet_rows(files["xlsx"], "Annulations"))
    assert [(r[2], Decimal(str(r[4])), r[5], r[6], r[8]) for r in sheet[:2]] == [
        (1, Decimal(1), "mauvais montant", "Camille Caisse", "Régis Seur"),
        (2, Decimal(2), "doublon", "Régis Seur", "Régis Seur"),
    ]
    pending = table_rows(sheet_rows(files["xlsx"], "Demandes d'annulation"))
    assert [(r[0], r[5]) for r in pending] == [(3, "refusée"), (4, "retirée"), (5, "en attente")]

    text = pdf_text(files["pdf"])
    for expected in (
        "Annulations de quittances",
        "mauvais montant Camille Caisse 07/01/2025 10:00 Régis Seur",
        "doublon Régis Seur 08/01/2025 11:00 Régis Seur",
        "Demandes d'annulation refusées, retirées ou en attente",
        "refusée Régis Seur 09/01/2025 17:00",
        "chèque refusé Camille Caisse 31/01/2025 16:00 en attente",
    ):
        assert expected in text, expected


def test_the_journal_csv_names_the_agents_of_each_step(
    ledger: Ledger, clock: Clock, site: Site, people: People
) -> None:
    """The cash journal's CSV, as the auditor downloads it: each request, refusal,
    withdrawal and cancellation is a line with its reason and its agents by name."""
    from hacienda_ledger.reports.agents import Agents
    from hacienda_ledger.reports.journal import journal_csv

    a_month_of_cancellations(ledger, clock, site, people)
    rows = Reports(ledger).queries.journal(site.register_id, None, None)
    table = csv_rows(journal_csv(rows, agent=Agents(ledger).name))
    header = table[0]
    wanted = ("N° quittance", "Opération", "Motif", "Demandée par", "Approuvée par", "Agent")
    found = [
        tuple(line[header.index(k)] for k in wanted)
        for line in table[1:]
        if "nnulation" in line[header.index("Opération")]
    ]
    assert found == [
        ("1", "Demande d'annulation", "mauvais montant", "Camille Caisse", "", "Camille Caisse"),
        ("1", "Annulation de quittance", "mauvais montant", "Camille Caisse", "Régis Seur",
         "Régis Seur"),
        ("2", "Annulation de quittance", "doublon", "Régis Seur", "Régis Seur", "Régis Seur"),
        ("3", "Demande d'annulation", "client parti", "Camille Caisse", "", "Camille Caisse"),
        ("3", "Demande d'annulation refusée", "la prestation est due", "", "", "Régis Seur"),
        ("4", "Demande d'annulation", "erreur", "Camille Caisse", "", "Camille Caisse"),
        ("4", "Demande d'annulation retirée", "", "", "", "Camille Caisse"),
        ("5", "Demande d'annulation", "chèque refusé", "Camille Caisse", "", "Camille Caisse"),
    ]  # fmt: skip


# --- the quittance ---------------------------------------------------------------------------


def test_the_quittance_names_everything_a_payer_and_a_comptable_read(
    ledger: Ledger, clock: Clock, site: Site, people: People
) -> None:
    """Given a stay on emplacement 3 charged its pitch fee and water read across a new
    délibération that kept the water price (one line naming both), paid by the cashier's
    receipt: its PDF, opened back, gives the date and time, the régie, the aire, the
    emplacement, the period covered, each line as quantity × unit price with its
    délibération and what the receipt paid of it, the payer, the agent's name and the chain
    hash. Once the régisseur approves its cancellation, it is marked « ANNULÉE » with the
    reason, when, who asked and who approved."""
    reg = site.register_id
    ledger.adopt_tariff(
        site.aire_id,
        standard_tariff(
            date(2025, 1, 8), deliberation_ref="DEL-2025-004", pitch_fee_per_day_cents=350
        ),
        actor="m",
    )
    stay = site.arrive("3")  # Monday 6 January 2025, 09:00 in Paris
    clock.now = datetime(2025, 1, 9, 16, tzinfo=UTC)
    ledger.record_meter_reading(
        stay, meter="water", index=Decimal("102.5"), read_at=clock(), actor="c"
    )
    ledger.assess_charges(stay, through=date(2025, 1, 9), actor="c")
    clock.now = datetime(2025, 1, 9, 16, 30, tzinfo=UTC)
    paid = run(
        ledger,
        people.cashier,
        c.IssueReceipt,
        reg,
        stay_id=stay,
        method="card",
        settle_balance=True,
    )
    number = paid.result["number"]
    event = ledger.register_event(reg, paid.version)
    documents = Documents(Reports(ledger).figures, payer_name=lambda _: "Famille Exemple")
    text = pdf_text(documents.render(reg, "receipt", number).content)
    flat = text.replace("\n", " ")
    for expected in (
        f"Quittance n°{number} — 49007-A",
        "Exemplaire original",
        "Émise le 09/01/2025 à 17:30",
        "Régie AC-2024-07",
        "Aire 49007-A — Aire d'accueil des Perrins",
        "Emplacement 3",
        "Période couverte du 06/01/2025 au 09/01/2025",
        "Payeur Famille Exemple",
        "Mode de paiement Carte bancaire",
        "Agent Camille Caisse",
        "Droit d'usage du 06/01/2025 au 07/01/2025 2 jours × 3,00 € DEL-2024-118 6,00 € 6,00 €",
        "Droit d'usage du 08/01/2025 au 09/01/2025 2 jours × 3,50 € DEL-2025-004 7,00 € 7,00 €",
        "Eau du 06/01/2025 au 09/01/2025 2,5 m³ × 3,5120 € DEL-2024-118 + DEL-2025-004 "
        "8,78 € 8,78 €",
        "Total 21,78 €",
        "Arrêtée la présente quittance à la somme de 21,78 €",
    ):
        assert expected in text, expected
    assert event.hash in flat.replace(" ", "")
    assert "ANNULÉE" not in text and "Camille" in text and str(people.cashier.id) not in flat
    # the first print is the original; a reprint is a duplicata; a reader's copy neither
    duplicata = pdf_text(documents.render(reg, "receipt", number, copy=1).content)
    assert "DUPLICATA n°1" in duplicata and "Exemplaire duplicata n°1" in duplicata
    copy = pdf_text(documents.render(reg, "receipt", number, consultation=True).content)
    assert "COPIE" in copy and "Exemplaire copie de consultation" in copy

    clock.now = datetime(2025, 1, 10, 8, tzinfo=UTC)
    run(ledger, people.cashier, c.RequestCancellation, reg, number=number, reason="payé deux fois")
    assert "ANNULÉE" not in pdf_text(documents.render(reg, "receipt", number).content)
    clock.now = datetime(2025, 1, 10, 13, tzinfo=UTC)
    run(ledger, people.regisseur, c.ApproveCancellation, reg, number=number)
    rendered = documents.render(reg, "receipt", number).content
    cancelled = pdf_text(rendered).replace("\n", " ")
    assert "ANNULÉE" in cancelled
    for expected in (
        "annulée le 10/01/2025 à 14:00",
        "Motif : payé deux fois.",
        "Demandée par Camille Caisse le 10/01/2025 à 09:00, approuvée par Régis Seur.",
        "8,78 € 8,78 €",  # the lines it paid are still printed
    ):
        assert expected in cancelled, expected
    assert PdfReader(io.BytesIO(rendered)).metadata.subject == "ANNULÉE"


def test_a_journal_built_before_approvals_is_refused_until_rebuilt(
    ledger: Ledger, clock: Clock, site: Site, people: People
) -> None:
    """Given live journal tables built before approvals (no ``reason``, ``requested_by``,
    ``requested_at``, ``approved_by``: the shape of that version recorded), when a follower
    starts, then it is outdated and refuses to follow, and start-up leaves the table as it
    was (no column added in place: one upgrade path, the shape); a rebuild gives every line
    the columns, filled from the events, and records the current shape."""
    _, number = paid_stay(ledger, clock, site, people)
    run(
        ledger,
        people.cashier,
        c.RequestCancellation,
        site.register_id,
        number=number,
        reason="erreur de saisie",
    )
    run(ledger, people.regisseur, c.ApproveCancellation, site.register_id, number=number)
    queries = Reports(ledger).queries
    queries.journal(site.register_id, None, None)  # built live
    new = ("reason", "requested_by", "requested_at", "approved_by")

    class Earlier(CashJournalProjection):
        tables = tuple(
            replace(t, columns=tuple(col for col in t.columns if col.name not in new))
            if t.name == "cash_journal"
            else t
            for t in CashJournalProjection.tables
        )

    earlier = Earlier().shape
    assert earlier != CashJournalProjection().shape
    (journal,) = followers(ledger, ["cash_journal"])
    db = journal.db
    with db.transaction() as cur:
        for column in new:
            cur.execute(f"ALTER TABLE cash_journal DROP COLUMN {column}")
        db.set_shape(cur, "cash_journal", earlier)

    (journal,) = followers(ledger, ["cash_journal"])
    assert journal.outdated is not None and f"shape {earlier}" in journal.outdated
    with pytest.raises(ProjectionOutdated, match="hacienda-ledger rebuild cash_journal"):
        journal.catch_up()
    with db.transaction() as cur:
        assert not set(new) & set(db.columns(cur, "cash_journal"))
    journal.rebuild()
    assert journal.outdated is None and journal.check() == []
    with db.transaction() as cur:
        assert db.shape(cur, "cash_journal") == CashJournalProjection().shape
    rows = Reports(ledger).queries.select(
        "cash_journal", "cash_journal", where={"register_id": str(site.register_id)}
    )
    cancelled = [r for r in rows if r["kind"] == "cancellation"]
    assert [(r["reason"], r["requested_by"], r["approved_by"]) for r in cancelled] == [
        ("erreur de saisie", str(people.cashier.id), str(people.regisseur.id))
    ]


def test_a_register_snapshot_keeps_its_pending_cancellations(
    ledger: Ledger, clock: Clock, site: Site, people: People
) -> None:
    """Given a cashier's request pending on a register whose snapshot is stored, when a fresh
    ledger loads the register, then the snapshot gives the request (who asked, when, why),
    equal to a replay; no slip lists the receipt while it waits; the régisseur approves it.
    A v3 snapshot (made before requests existed) of the same register before the request
    is upcast with none pending, and still loads as the replay does."""
    reg = site.register_id
    _, number = paid_stay(ledger, clock, site, people)
    v3 = CashRegister.Snapshot.take(ledger.cash_register(reg))
    v3.state.pop("pending_cancellations")
    v3.state["class_version"] = 3
    clock.advance(hours=1)
    run(ledger, people.cashier, c.RequestCancellation, reg, number=number, reason="doublon")
    snapshot = CashRegister.Snapshot.take(ledger.cash_register(reg))
    assert snapshot.state["class_version"] == 4
    assert ledger.snapshots is not None
    ledger.snapshots.put([v3, snapshot])
    fresh = Ledger(ledger.settings, clock=clock)
    try:
        versions = [s.originator_version for s in fresh.snapshots.get(reg)]  # type: ignore[union-attr]
        assert versions == [v3.originator_version, snapshot.originator_version]
        loaded = fresh.cash_register(reg)
        assert loaded == ledger.cash_register(reg)
        (pending,) = loaded.pending
        assert (pending.number, pending.reason, pending.requested_by) == (
            number,
            "doublon",
            str(people.cashier.id),
        )
        before = fresh.cash_register(reg, version=v3.originator_version)
        events = fresh.events.get(reg, lte=v3.originator_version)
        assert before == reduce(lambda agg, e: e.mutate(agg), events, None)
        assert before.pending == ()
        _, amounts = loaded.slip_preview(number)
        position = fresh.last_position()
        with pytest.raises(CancellationPending):
            run(
                fresh,
                people.regisseur,
                c.Remit,
                reg,
                through_receipt=number,
                amounts_by_method=amounts,
            )
        assert fresh.last_position() == position
        run(fresh, people.regisseur, c.ApproveCancellation, reg, number=number)
        assert fresh.cash_register(reg).pending == ()
    finally:
        fresh.close()


def test_the_monthly_counts_name_who_counted_and_who_took_over(
    ledger: Ledger, clock: Clock, site: Site, people: People
) -> None:
    """A count signed by the deputy régisseur and a régisseur's handover to that deputy,
    read in January's figures: each count names its agents (as the quittance and the
    register of cancellations do), never a user id; the shortfall stays open until a
    régisseur regularises it. (A cashier's count is no signature: ``forbidden``.)"""
    reg = site.register_id
    deputy = user(ledger, "Sacha Suppléant", "regisseur", aire_ids=[site.aire_id])
    with pytest.raises(Forbidden):
        run(ledger, people.cashier, c.CountCash, reg, counted_cents=4900)
    run(ledger, deputy, c.CountCash, reg, counted_cents=4900)
    clock.advance(hours=1)
    run(ledger, people.regisseur, c.HandOver, reg, incoming=deputy.id, counted_cents=4900)
    clock.now = datetime(2025, 2, 3, 9, tzinfo=UTC)
    counts = Reports(ledger).figures.monthly(site.aire_id, "2025-01").counts
    assert [
        (x.number, x.counted_by, x.handed_over_to, x.difference_cents, x.open) for x in counts
    ] == [
        (1, "Sacha Suppléant", None, -100, True),
        (2, "Régis Seur", "Sacha Suppléant", 0, False),
    ]
