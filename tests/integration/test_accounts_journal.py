"""Account numbers in the cash journal, VAT in a DSP aire's documents, and projection
tables of another shape rebuilt rather than followed. Every test runs on SQLite and on
PostgreSQL (the ``database_url`` fixture); files are read back with real readers."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import openpyxl
import pytest

from hacienda_ledger.application import Ledger
from hacienda_ledger.application.projecting import ProjectionQueries, followers
from hacienda_ledger.cli import main
from hacienda_ledger.projections.cash_journal import CashJournalProjection
from hacienda_ledger.projections.runner import Follower, ProjectionOutdated
from hacienda_ledger.projections.store import SHAPES
from hacienda_ledger.reports.documents import Documents
from hacienda_ledger.reports.exports import export_rows, to_xlsx
from hacienda_ledger.reports.generate import Job, Reports
from hacienda_ledger.reports.journal import journal_csv
from tests.conftest import Clock, standard_tariff
from tests.integration.test_reports import csv_rows, csv_section, pdf_text, sheet_rows


class ModeSite:
    """A collectivité, an aire of the given mode with 2 emplacements and the standard
    tariff, and a register taking every method (float 50.00 €)."""

    def __init__(self, ledger: Ledger, mode: str, code: str = "49007-A") -> None:
        self.ledger = ledger
        coll = ledger.create_collectivite(
            code=f"C-{code}", name="Angers Loire Métropole", siren="244900015", actor="admin"
        ).aggregate_id
        self.aire_id = ledger.create_aire(
            code=code,
            name="Aire des Perrins",
            collectivite_id=coll,
            sector="Anjou",
            mode=mode,
            insee_code="49007",
            departement="49",
            latitude=Decimal("47.4784"),
            longitude=Decimal("-0.5632"),
            actor="manager",
        ).aggregate_id
        for n in ("1", "2"):
            ledger.add_emplacement(self.aire_id, number=n, actor="manager")
        ledger.adopt_tariff(self.aire_id, standard_tariff(), actor="manager")
        self.register_id = ledger.open_register(
            self.aire_id,
            regie_ref="AC-2024-07",
            float_cents=5000,
            cash_ceiling_cents=500000,
            payment_methods=["cash", "cheque", "card", "transfer"],
            revenue_types=["pitch_fee", "water", "electricity", "deposit", "other"],
            actor="manager",
        ).aggregate_id


def a_month_of_cash(ledger: Ledger, clock: Clock, site: ModeSite) -> None:
    """Every kind of journal line: the float, a deposit, a payment of charges, a sale
    without stay and its cancellation, a departure with a deposit withheld for damage and
    the rest refunded, a count 0.50 € short, a slip paying in what it lists (the card and
    the cash), a day closed; then the shortfall made good, a count 1.00 € over taken as
    revenue, and a handover on a count."""
    from hacienda_ledger.aggregates.household import Profile
    from hacienda_ledger.aggregates.values import Composition

    reg = site.register_id
    household = ledger.record_household(
        aire_id=site.aire_id, profile=Profile("Famille Test"), actor="manager"
    ).aggregate_id
    stay = ledger.open_stay(
        site.aire_id,
        emplacement="1",
        household_ref=household,
        arrived_at=clock(),
        composition=Composition(2),
        agreement_ref="COT-1",
        entry_inspection_ref="EDL-E-1",
        water_index=Decimal("100"),
        electricity_index=Decimal("2000"),
        actor="cashier",
    ).aggregate_id
    ledger.post_receipt(reg, stay_id=stay, method="cash", lines=[("deposit", 15000)], actor="c")
    clock.advance(days=7)
    ledger.assess_charges(stay, through=date(2025, 1, 13), actor="c")  # 8 days: 24.00 €
    ledger.post_receipt(reg, stay_id=stay, method="card", settle_balance=True, actor="c")
    ledger.post_receipt(reg, stay_id=None, method="cash", lines=[("other", 1234)], actor="c")
    ledger.cancel_receipt(reg, number=3, reason="erreur de saisie", actor="c")
    clock.advance(days=1)
    ledger.depart(
        stay,
        departed_at=clock(),
        exit_inspection_ref="EDL-S-1",
        water_index=Decimal("100"),
        electricity_index=Decimal("2000"),
        actor="c",
    )
    ledger.withhold_deposit(
        reg, stay_id=stay, amount_cents=3000, reason="damage", reference="EDL-S-1", actor="c"
    )
    ledger.refund_deposit(reg, stay_id=stay, amount_cents=12000, method="cash", actor="c")
    ledger.count_cash(reg, counted_cents=7950, actor="c")  # book 80.00 €
    _, due = ledger.cash_register(reg).slip_preview(3)  # a slip pays in all it lists
    assert due == {"card": 2400, "cash": 2950}  # the cash: 30.00 € withheld, 0.50 € short
    ledger.remit(reg, through_receipt=3, amounts_by_method=due, actor="c")
    clock.advance(days=1)
    ledger.close_period(reg, period="day", day=date(2025, 1, 14), actor="c")
    ledger.regularise_cash_difference(reg, count_number=1, reference="QUIT-1", actor="c")
    ledger.count_cash(reg, counted_cents=5150, actor="c")  # book 50.50 €
    ledger.regularise_cash_difference(reg, count_number=2, reference="DEC-1", actor="c")
    incoming, _ = ledger.create_user(
        name="Régisseur suppléant", role="regisseur", aire_ids=(site.aire_id,), actor="admin"
    )
    ledger.hand_over(reg, incoming=incoming.aggregate_id, counted_cents=5150, actor="c")


# (kind, revenue type, method) of each journal line, and its (debit, credit) numbers
EXPECTED = {
    "regie": [
        ("opening", "float", "cash", "5411", "515"),
        ("receipt", "deposit", "cash", "5411", "165"),
        ("receipt", "pitch_fee", "card", "5411", "4111"),
        ("receipt", "other", "cash", "5411", "7588"),
        ("cancellation", "other", "cash", "7588", "5411"),
        ("withholding", "deposit", None, "165", "7588"),
        ("deposit_refund", "deposit", "cash", "165", "5411"),
        ("count", None, None, None, None),
        ("cash_short", None, "cash", "4718", "5411"),
        ("remittance", None, "card", "515", "5411"),
        ("remittance", None, "cash", "515", "5411"),
        ("day_closure", None, None, None, None),
        ("regularisation", None, "cash", "5411", "4718"),
        ("count", None, None, None, None),
        ("cash_over", None, "cash", "5411", "4718"),
        ("regularisation", None, None, "4718", "7588"),
        ("count", None, None, None, None),
        ("handover", None, None, None, None),
    ],
    "dsp": [
        ("opening", "float", "cash", "530", "512"),
        ("receipt", "deposit", "cash", "530", "165"),
        ("receipt", "pitch_fee", "card", "512", "411"),
        ("receipt", "other", "cash", "530", "758"),
        ("cancellation", "other", "cash", "758", "530"),
        ("withholding", "deposit", None, "165", "758"),
        ("deposit_refund", "deposit", "cash", "165", "530"),
        ("count", None, None, None, None),
        ("cash_short", None, "cash", "471", "530"),
        ("remittance", None, "card", "512", "512"),
        ("remittance", None, "cash", "512", "530"),
        ("day_closure", None, None, None, None),
        ("regularisation", None, "cash", "530", "471"),
        ("count", None, None, None, None),
        ("cash_over", None, "cash", "530", "471"),
        ("regularisation", None, None, "471", "758"),
        ("count", None, None, None, None),
        ("handover", None, None, None, None),
    ],
}


@pytest.mark.parametrize("mode", ["regie", "dsp"])
def test_each_journal_line_carries_its_debit_and_credit_account_numbers(
    ledger: Ledger, clock: Clock, mode: str
) -> None:
    """Given an aire in régie (M57) or DSP (PCG) mode, when a month of every kind of cash
    movement is recorded, then each journal line names the numbers of the accounts its
    entry debits and credits (none for a line that moves no money), the CSV prints them,
    the XLSX export holds them, and a rebuild gives the same rows."""
    site = ModeSite(ledger, mode)
    a_month_of_cash(ledger, clock, site)
    queries = ProjectionQueries(ledger)
    rows = queries.journal(site.register_id, None, None)
    found = [
        (r["kind"], r["revenue_type"], r["method"], r["debit_account"], r["credit_account"])
        for r in rows
    ]
    assert found == EXPECTED[mode]
    assert {r["aire_id"] for r in rows} == {str(site.aire_id)}

    table = csv_rows(journal_csv(rows))
    header = table[0]
    debit, credit = header.index("Compte débit"), header.index("Compte crédit")
    assert [(line[debit], line[credit]) for line in table[1:]] == [
        (d or "", c or "") for *_, d, c in EXPECTED[mode]
    ]
    columns, exported = export_rows(
        queries,
        "cash_journal",
        aire_ids=[str(site.aire_id)],
        register_ids=[str(site.register_id)],
        start=None,
        end=None,
    )
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx("cash_journal", columns, exported, clock())))
    sheet = [tuple(r) for r in book["cash_journal"].iter_rows(values_only=True)]
    at = {name: n for n, name in enumerate(sheet[0])}
    assert [(r[at["debit_account"]], r[at["credit_account"]]) for r in sheet[1:]] == [
        (d, c) for *_, d, c in EXPECTED[mode]
    ]
    (journal,) = followers(ledger, ["cash_journal"])
    assert journal.check() == []


def a_dsp_year(ledger: Ledger, clock: Clock) -> ModeSite:
    """A DSP aire's receipts in March 2025: 24.00 € of pitch fee with 8.78 € of water, 15.55 €
    of electricity by card, 10.50 € of pitch fee cancelled."""
    clock.now = datetime(2025, 3, 10, 9, tzinfo=UTC)
    site = ModeSite(ledger, "dsp", code="49099-DSP")
    reg = site.register_id
    lines = [("pitch_fee", 2400), ("water", 878)]
    ledger.post_receipt(reg, stay_id=None, method="cash", lines=lines, actor="c")
    ledger.post_receipt(reg, stay_id=None, method="card", lines=[("electricity", 1555)], actor="c")
    ledger.post_receipt(reg, stay_id=None, method="cash", lines=[("pitch_fee", 1050)], actor="c")
    ledger.cancel_receipt(reg, number=3, reason="erreur de saisie", actor="c")
    return site


def test_the_dsp_report_and_receipts_show_ht_tva_and_ttc(ledger: Ledger, clock: Clock) -> None:
    """Given a DSP aire's year, when its annual report is built, then its section by type
    gives HT, TVA and TTC, each the sum of the lines split one by one (10 % pitch fee:
    24.00 → 21.82 + 2.18; 5.5 % water: 8.78 → 8.32 + 0.46; 20 % electricity: 15.55 → 12.96
    + 2.59; the cancelled 10.50 € nets to nothing), the TTC equal to the year's revenue by
    type, in the PDF, the CSV and the XLSX; a DSP receipt prints its HT/TVA/TTC block, a
    régie's none."""
    site = a_dsp_year(ledger, clock)
    regie = ModeSite(ledger, "regie", code="49007-R")
    ledger.post_receipt(
        regie.register_id, stay_id=None, method="cash", lines=[("other", 500)], actor="c"
    )
    clock.now = datetime(2026, 1, 5, 9, tzinfo=UTC)
    reports = Reports(ledger)
    stored = reports.run([Job("dsp", site.aire_id, "2025")])
    files = {s.format: reports.store.get(s.report_id)[1] for s in stored}
    title = "Recettes de l'année par nature : HT, TVA, TTC"
    expected = [
        ["Électricité", "20,00", "12,96", "2,59", "15,55"],
        ["Droit d'usage", "10,00", "21,82", "2,18", "24,00"],
        ["Eau", "5,50", "8,32", "0,46", "8,78"],
        ["Total", "", "43,10", "5,23", "48,33"],
    ]
    section = csv_section(csv_rows(files["csv"]), title)
    assert section[0] == ["Nature", "Taux (%)", "Montant HT (€)", "TVA (€)", "Montant TTC (€)"]
    assert section[1:] == expected
    by_type = csv_section(csv_rows(files["csv"]), "Recettes de l'année par nature")
    assert {r[0]: r[1] for r in by_type[1:]} == {r[0]: r[4] for r in expected[:-1]}

    sheet = sheet_rows(files["xlsx"], "TVA")
    assert sheet[1] == ("Nature", "Taux", "Montant HT (€)", "TVA (€)", "Montant TTC (€)")

    def numbers(row: tuple[Any, ...]) -> tuple[Any, ...]:
        return (row[0], *(None if v is None else Decimal(str(v)) for v in row[1:]))

    assert [numbers(r) for r in sheet[2:6]] == [
        ("Électricité", Decimal("0.2"), Decimal("12.96"), Decimal("2.59"), Decimal("15.55")),
        ("Droit d'usage", Decimal("0.1"), Decimal("21.82"), Decimal("2.18"), Decimal(24)),
        ("Eau", Decimal("0.055"), Decimal("8.32"), Decimal("0.46"), Decimal("8.78")),
        ("Total", None, Decimal("43.1"), Decimal("5.23"), Decimal("48.33")),
    ]
    text = pdf_text(files["pdf"])
    assert title in text
    assert "Droit d'usage 10,0 % 21,82 € 2,18 € 24,00 €" in text
    assert "Total 43,10 € 5,23 € 48,33 €" in text

    documents = Documents(reports.figures)
    receipt = pdf_text(documents.render(site.register_id, "receipt", 1).content)
    assert "Décomposition HT / TVA / TTC" in receipt
    assert "Droit d'usage 10,0 % 21,82 € 2,18 € 24,00 €" in receipt
    assert "Eau 5,5 % 8,32 € 0,46 € 8,78 €" in receipt
    assert "Total 30,14 € 2,64 € 32,78 €" in receipt
    plain = pdf_text(documents.render(regie.register_id, "receipt", 1).content)
    assert "TVA" not in plain


def drop_column(ledger: Ledger, table: str, column: str) -> None:
    """What a database built by the previous version holds: the table without a column."""
    (journal,) = followers(ledger, ["cash_journal"])
    with journal.db.transaction() as cur:
        cur.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        cur.execute(f"DELETE FROM {SHAPES} WHERE name = 'cash_journal'")


def run(database_url: str, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["--database-url", database_url, *args])
    return code, capsys.readouterr().out


def test_a_journal_built_by_the_previous_version_is_rebuilt_not_followed(
    ledger: Ledger, clock: Clock, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given live journal tables built before the account numbers (no ``credit_account``
    column, no shape recorded) and events since, when a follower starts, then it refuses to
    follow them (half old, half new), ``rebuild --check`` names the one difference and exits
    1 without touching them, and ``rebuild`` gives them the numbers, after which the check
    is clean and following goes on. The other projections, in their shape, are recorded as
    they are."""
    site = ModeSite(ledger, "regie")
    ledger.post_receipt(
        site.register_id, stay_id=None, method="cash", lines=[("other", 500)], actor="c"
    )
    ProjectionQueries(ledger).journal(site.register_id, None, None)  # built live
    drop_column(ledger, "cash_journal", "credit_account")
    ledger.post_receipt(
        site.register_id, stay_id=None, method="card", lines=[("other", 700)], actor="c"
    )

    journal = Follower(*_parts(ledger, "cash_journal"))
    assert journal.outdated is not None and "cash_journal" in journal.outdated
    with pytest.raises(ProjectionOutdated, match="hacienda-ledger rebuild cash_journal"):
        journal.catch_up()
    code, out = run(database_url, "rebuild", "cash_journal", "--check", capsys=capsys)
    assert code == 1
    assert "rebuild it (hacienda-ledger rebuild cash_journal)" in out
    assert "cash_journal: 1 differences with the live tables" in out
    with journal.db.transaction() as cur:
        assert "credit_account" not in journal.db.columns(cur, "cash_journal")

    code, out = run(database_url, "rebuild", "cash_journal", capsys=capsys)
    assert code == 0, out
    code, out = run(database_url, "rebuild", "--check", capsys=capsys)
    assert code == 0, out
    assert journal.catch_up() > 0  # read again: rebuilt by another process, followed again
    rows = ProjectionQueries(ledger).journal(site.register_id, None, None)
    assert [(r["receipt_number"], r["credit_account"]) for r in rows if r["receipt_number"]] == [
        (1, "7588"),
        (2, "7588"),
    ]


def _parts(ledger: Ledger, name: str) -> tuple[Any, Any, Any]:
    (found,) = followers(ledger, [name])
    return found.projection, found.db, found.source


@pytest.mark.parametrize(
    "added", ["journal_aire_modes", "register_closures", "cash_counts", "cash_count_heads"]
)
def test_a_table_added_since_or_another_shape_makes_the_projection_outdated(
    ledger: Ledger, clock: Clock, added: str
) -> None:
    """Given followed tables, when a table the projection now has was missing (the
    projection had folded events without it: the aires' modes, or the closures and counts
    of issue 15), or the shape recorded is another (a number of the chart corrected), then
    the projection is outdated; tables of a projection's columns with no shape recorded (a
    database of the previous version) are taken as they are and their shape recorded."""
    site = ModeSite(ledger, "dsp")
    ledger.post_receipt(
        site.register_id, stay_id=None, method="cash", lines=[("other", 500)], actor="c"
    )
    queries = ProjectionQueries(ledger)
    queries.journal(site.register_id, None, None)
    queries.account_balances([f"float/{site.register_id}"], None)
    db = queries.followers["cash_journal"].db
    with db.transaction() as cur:
        cur.execute(f"DROP TABLE {added}")
        cur.execute(f"DELETE FROM {SHAPES}")
    fresh = {f.projection.name: f for f in followers(ledger)}
    assert fresh["cash_journal"].outdated is not None
    assert f"({added} changed or added)" in fresh["cash_journal"].outdated
    assert fresh["balances"].outdated is None
    with db.transaction() as cur:
        assert db.shape(cur, "balances") == fresh["balances"].projection.shape
        cur.execute(f"UPDATE {SHAPES} SET shape = 'earlier' WHERE name = 'balances'")
    (balances,) = followers(ledger, ["balances"])
    assert balances.outdated is not None and "shape earlier" in balances.outdated
    assert balances.check() == [balances.outdated]
    balances.rebuild()
    assert balances.outdated is None and balances.check() == []
    assert isinstance(UUID(str(site.aire_id)), UUID)


def test_a_journal_recorded_in_the_shape_before_counts_and_closures_is_rebuilt(
    ledger: Ledger, clock: Clock
) -> None:
    """Given live journal tables of a version with the account numbers but without the
    closures and counts of issue 15 (its shape recorded, those tables absent), when a
    follower starts, then it is outdated and refuses to follow; a rebuild records the
    current shape and fills the closures and counts from the events, and the check is
    clean."""
    site = ModeSite(ledger, "regie")
    reg = site.register_id
    ledger.post_receipt(reg, stay_id=None, method="cash", lines=[("other", 500)], actor="c")
    ledger.count_cash(reg, counted_cents=5400, actor="c")
    clock.advance(days=1)
    ledger.close_period(reg, period="day", day=clock().date() - timedelta(days=1), actor="c")
    queries = ProjectionQueries(ledger)
    queries.journal(reg, None, None)  # built live
    added = ("register_closures", "cash_counts", "cash_count_heads")

    class Earlier(CashJournalProjection):
        tables = tuple(t for t in CashJournalProjection.tables if t.name not in added)

    earlier = Earlier().shape
    assert earlier != CashJournalProjection().shape
    db = queries.followers["cash_journal"].db
    with db.transaction() as cur:
        for name in added:
            cur.execute(f"DROP TABLE {name}")
        db.set_shape(cur, "cash_journal", earlier)

    journal = Follower(*_parts(ledger, "cash_journal"))
    assert journal.outdated is not None and f"shape {earlier}" in journal.outdated
    with pytest.raises(ProjectionOutdated, match="hacienda-ledger rebuild cash_journal"):
        journal.catch_up()
    assert journal.check() == [journal.outdated]
    journal.rebuild()
    assert journal.outdated is None and journal.check() == []
    with db.transaction() as cur:
        assert db.shape(cur, "cash_journal") == CashJournalProjection().shape
    fresh = ProjectionQueries(ledger)
    closures = fresh.select("cash_journal", "register_closures", where={"register_id": str(reg)})
    counts = fresh.select("cash_journal", "cash_counts", where={"register_id": str(reg)})
    assert [(r["period"], r["revenue_cents"]) for r in closures] == [("day", 500)]
    assert [(r["number"], r["difference_cents"]) for r in counts] == [(1, -100)]
