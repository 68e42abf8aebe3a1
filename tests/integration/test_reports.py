"""Reports built from the projections, opened back and checked figure by figure.

Every file kind is opened with a real reader (pypdf for PDF text, pypdfium2 to render the
first page, openpyxl for XLSX, the csv module for CSV) and its figures are compared with
the hand-computed figures of ``reports_world`` and with the projections. Storage tests run
on SQLite and PostgreSQL (the ``database_url`` fixture)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import openpyxl
import pypdfium2
import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from hacienda_ledger.aggregates.errors import InvalidPeriod, ReceiptNotFound
from hacienda_ledger.aggregates.integrity import event_hash, topic_of
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.aggregates.seal import Seals
from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.attestations import attestation_hash, create_key
from hacienda_ledger.application.projecting import followers
from hacienda_ledger.cli import main
from hacienda_ledger.reports.documents import Documents
from hacienda_ledger.reports.french import month_fr
from hacienda_ledger.reports.generate import Job, Reports, Scheduler
from hacienda_ledger.reports.render import render, to_pdf
from hacienda_ledger.settings import Settings
from tests.conftest import Clock, Site
from tests.integration.reports_world import World, build

GENERATED = datetime(2025, 3, 5, 9, tzinfo=UTC)


def pdf_text(content: bytes) -> str:
    """Every page's text, French spaces (narrow and no-break) made plain."""
    reader = PdfReader(io.BytesIO(content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return re.sub(r"[\u202f\u00a0]", " ", text)


def csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))


def csv_section(rows: list[list[str]], title: str) -> list[list[str]]:
    """The header and rows of one section (title line, header line, rows, empty line)."""
    start = rows.index([title])
    block = []
    for row in rows[start + 1 :]:
        if not row:
            break
        block.append(row)
    return block


def sheet_rows(content: bytes, name: str) -> list[tuple[Any, ...]]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    return [tuple(r) for r in book[name].iter_rows(values_only=True)]


def table_rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """A sheet's table: the rows after its title and header, up to the first empty row."""
    found = []
    for row in rows[2:]:
        if all(v is None for v in row):
            break
        found.append(row)
    return found


@pytest.fixture
def world(ledger: Ledger, clock: Clock) -> World:
    return build(ledger, clock)


def seal_months(ledger: Ledger, world: World, *months: str) -> None:
    """The register closes each month, the stays are charged through its end, and the aire
    seals it (months not sealed yet), each earlier month of 2025 first: months are sealed
    in order, and the world's aire is in service from January."""
    sealed = {s.month for s in ledger.audit.seal_events(world.site.aire_id)}
    last_asked = max(months)
    for month in [f"2025-{m:02d}" for m in range(1, 13) if f"2025-{m:02d}" <= last_asked]:
        if month in sealed:
            continue
        year, number = map(int, month.split("-"))
        last = date(year + number // 12, number % 12 + 1, 1) - timedelta(days=1)
        register = ledger.cash_register(world.site.register_id)
        if month not in register.closed_months:  # its own closure, whatever closed after
            ledger.close_period(world.site.register_id, period="month", day=last, actor="c")
        for stay_id in (world.stay_a, world.stay_b):  # charged through the month's end
            if ledger.stay(stay_id).uncharged_through(last):
                ledger.assess_charges(stay_id, through=last, actor="c")
        ledger.seal_month(world.site.aire_id, month=month, actor="m")


def monthly_files(ledger: Ledger, world: World) -> dict[str, bytes]:
    seal_months(ledger, world, "2025-02")
    reports = Reports(ledger)
    stored = reports.run(reports.month_jobs("2025-02", [world.site.aire_id]))
    assert {s.format for s in stored} == {"pdf", "xlsx", "csv"}
    return {s.format: reports.store.get(s.report_id)[1] for s in stored}


# --- the monthly activity report ----------------------------------------------------------


def dsp_aire_with_a_sale(ledger: Ledger, collectivite_id: UUID) -> tuple[UUID, UUID]:
    """An aire in DSP of the collectivité, with one emplacement and a register, and a sale
    of 12.34 € (``other``, cash, no stay) recorded now: (aire id, register id)."""
    aire = ledger.create_aire(
        code="49099-DSP",
        name="Aire déléguée",
        collectivite_id=collectivite_id,
        sector="Anjou",
        mode="dsp",
        insee_code="49099",
        departement="49",
        latitude=Decimal("47.1"),
        longitude=Decimal("-0.5"),
        actor="m",
    ).aggregate_id
    ledger.add_emplacement(aire, number="1", actor="m")
    register = ledger.open_register(
        aire,
        regie_ref="DSP-1",
        float_cents=0,
        cash_ceiling_cents=100000,
        payment_methods=["cash"],
        revenue_types=["pitch_fee", "other"],
        actor="m",
    ).aggregate_id
    ledger.post_receipt(register, stay_id=None, method="cash", lines=[("other", 1234)], actor="c")
    return aire, register


def test_monthly_report_figures_in_every_format_match_the_hand_computed_month(
    ledger: Ledger, world: World
) -> None:
    """February 2025 of the small world: occupancy, money, deposits, remittance, count,
    closure, extension and unpaid balances read back from the PDF, the XLSX and the CSV
    equal the figures computed by hand in ``reports_world``; March's receipt is not in it."""
    files = monthly_files(ledger, world)

    text = pdf_text(files["pdf"])
    for expected in (
        "Rapport mensuel d'activité — 49007-A — février 2025",
        "35,7 %",  # 80 / 224
        "Places-jours disponibles 224",
        "Places-jours occupées 80",
        "Ménages présents 2",
        "Personnes présentes 4",
        "Durée moyenne de séjour (jours) 21,00",
        "Droit d'usage Carte bancaire 63,00 €",
        "Total hors fonds de tiers 63,00 €",
        "Reçus dans le mois 150,00 €",
        "Remboursés dans le mois 120,00 €",
        "Retenus dans le mois — Dégradations 30,00 €",
        "Détenus en fin de mois 0,00 €",
        "25/02/2025 1 1 à 3 Carte bancaire 33,00 €",
        "25/02/2025 1 1 à 3 Espèces 30,00 €",  # the deposit withheld, paid in
        "26/02/2025 1 50,00 € 49,00 € -1,00 € écart ouvert",
        "1 20 € × 2, 5 € × 1, 2 € × 2 c",  # the notes and coins, and who counted
        # closures by the period they close: February's, recorded on 2 March, is here; the
        # 150 € deposit is third-party money, neither revenue nor in the perpetual total
        # (receipts 2 and 4: 63.00 €)
        "26/02/2025 Clôture journalière 27/02/2025 0,00 € 0,00 € 63,00 €",
        "février 2025 Clôture mensuelle 02/03/2025 63,00 € 150,00 € 63,00 €",
        "Prolongation — accordée 20/02/2025 30/06/2025",  # never why (issue 16)
        f"{world.household_b} 57,00 €",
        "Total 57,00 €",
    ):
        assert expected in text, expected
    # the March receipt (a cheque): in no money line, and no cheque held at the month's end
    assert "57,00 € 0 0" not in text and "Droit d'usage Chèque" not in text
    assert "AC-2024-07 Chèque" not in text

    money = sheet_rows(files["xlsx"], "Recettes")
    assert money[1] == ("Nature", "Mode", "Montant net (€)", "Quittances", "Annulations")
    lines = [r for r in money[2:] if len(r) == 5 and isinstance(r[2], int | float)]
    assert [(a, b, Decimal(str(c)), d, e) for a, b, c, d, e in lines] == [
        ("Dépôt de garantie", "Espèces", Decimal(150), 1, 0),
        ("Autre", "Espèces", Decimal(0), 1, 1),
        ("Droit d'usage", "Carte bancaire", Decimal(63), 2, 0),
        ("Total hors fonds de tiers", None, Decimal(63), None, None),
    ]
    days = sheet_rows(files["xlsx"], "Jours")
    assert len(days) == 2 + 28 + 1  # title, header, 28 days, total
    assert days[2][0] == datetime(2025, 2, 1)  # a real date cell
    assert days[-1][1:3] == (224, 80)
    book = openpyxl.load_workbook(io.BytesIO(files["xlsx"]))
    assert book["Recettes"]["C3"].number_format.endswith('"€"')
    unpaid = sheet_rows(files["xlsx"], "Impayés")
    assert {r[1]: Decimal(str(r[2])) for r in unpaid[2:]} == {
        str(world.household_b): Decimal(57),
        None: Decimal(57),  # the total row (A settled everything when it left)
    }

    rows = csv_rows(files["csv"])
    assert rows[0] == ["Rapport mensuel d'activité — 49007-A — février 2025"]
    counts = dict(map(tuple, csv_section(rows, "Occupation — effectifs")[1:]))  # type: ignore[arg-type]
    assert counts["Places-jours disponibles"] == "224"
    assert counts["Places-jours occupées"] == "80"
    assert csv_section(rows, "Occupation du mois")[1] == ["Taux d'occupation", "35,71"]
    third_party = csv_section(rows, "Fonds de tiers : dépôts de garantie et avances")
    deposits = {r[0]: r[1] for r in third_party[1:]}
    assert third_party[0] == ["Mouvement", "Dépôts de garantie (€)", "Avances (€)"]
    assert deposits["Retenus dans le mois (total)"] == "30,00"
    assert csv_section(rows, "Arrêtés de caisse")[1] == [
        "26/02/2025",
        "1",
        "50,00",
        "49,00",
        "-1,00",
        "écart ouvert",
    ]
    assert csv_section(rows, "Clôtures de caisse")[1:] == [
        ["26/02/2025", "Clôture journalière", "27/02/2025", "0,00", "0,00", "63,00"],
        ["février 2025", "Clôture mensuelle", "02/03/2025", "63,00", "150,00", "63,00"],
    ]
    unpaid_csv = csv_section(rows, "Soldes impayés en fin de mois")
    assert unpaid_csv[-1] == ["Total", "", "57,00"]


def test_monthly_report_names_its_aire_period_time_version_and_chain_head(
    ledger: Ledger, world: World
) -> None:
    """Each file names the aire, the period, the generation time, the software version and
    the register's chain head at the end of the month, which the ledger confirms: the
    register replayed to the end of February has that head hash and version."""
    files = monthly_files(ledger, world)
    end = datetime(2025, 2, 28, 22, 59, 59, tzinfo=UTC)  # 23:59:59 in Paris
    register = ledger.audit.register_as_of(world.site.register_id, end)
    assert register.version == 13  # the day closure of 27 February (after January's)
    head = f"événement n°{register.version}, dernière quittance n°4, empreinte {register.head_hash}"
    assert ledger.audit.verify_register(world.site.register_id).ok
    text = pdf_text(files["pdf"]).replace("\n", " ")
    rows = csv_rows(files["csv"])
    identity = {r[0]: r[1] for r in rows[1:9] if len(r) == 2}
    for found in (text, " ".join(identity.values())):
        assert "49007-A" in found and str(world.site.aire_id) in found
        assert "février 2025" in found
        assert "05/03/2025 à 10:00" in found  # 09:00 UTC in Paris
        assert "hacienda-ledger 0.1.0" in found
    assert head.replace(" ", "") in text.replace(" ", "")  # the PDF wraps the line anywhere
    assert identity[f"Régie {register.regie_ref}"].endswith(head)
    xlsx = dict(r[:2] for r in sheet_rows(files["xlsx"], "Identification")[1:])
    assert xlsx[f"Régie {register.regie_ref}"].endswith(head)


def test_monthly_figures_equal_the_projections(ledger: Ledger, world: World) -> None:
    """The report's figures are the projections' own: occupancy as the occupancy projection
    computes it, receipts as the revenue table holds them, receivables as the balances
    projection sums them at the end of the month."""
    reports = Reports(ledger)
    figures = reports.figures.monthly(world.site.aire_id, "2025-02")
    queries = reports.queries
    assert figures.occupancy == queries.occupancy(world.site.aire_id, "2025-02", date(2025, 2, 28))
    revenue = [r for r in queries.revenue_rows(world.site.aire_id) if r["month"] == "2025-02"]
    assert sorted((m.revenue_type, m.method, m.amount_cents) for m in figures.money) == sorted(
        (r["revenue_type"], r["method"], r["amount_cents"]) for r in revenue
    )
    end = datetime(2025, 2, 28, 23, 0, tzinfo=UTC)
    for unpaid in figures.unpaid:
        owed = queries.account_balances([f"receivable/{unpaid.stay_id}"], end)
        assert owed[f"receivable/{unpaid.stay_id}"] == unpaid.balance_cents
    assert {u.stay_id: u.balance_cents for u in figures.unpaid} == {
        str(world.stay_b): 5700,
    }


def test_generating_twice_gives_the_same_bytes_and_a_rebuild_the_same_figures(
    ledger: Ledger, world: World
) -> None:
    """Same figures and same time: identical bytes in every format. Another time: only the
    generation time differs. After every projection is rebuilt from position zero, a new
    revision (``force``) has the same content but for its generation time."""
    reports = Reports(ledger)
    job = Job("monthly", world.site.aire_id, "2025-02")
    first, *_ = reports.model(job, GENERATED)
    again, *_ = reports.model(job, GENERATED)
    later, *_ = reports.model(job, datetime(2025, 4, 1, 12, tzinfo=UTC))
    for fmt in ("pdf", "xlsx", "csv"):
        assert render(first, fmt) == render(again, fmt), fmt
    normal = pdf_text(render(later, "pdf")).replace("01/04/2025 à 14:00", "05/03/2025 à 10:00")
    assert normal == pdf_text(render(first, "pdf"))
    before = reports.build(job, generated_at=GENERATED)
    for follower in followers(ledger):
        follower.rebuild()
    after = Reports(ledger).build(job, force=True, generated_at=datetime(2025, 5, 1, tzinfo=UTC))
    assert [s.revision for s in after] == [2, 2, 2]
    old = {s.format: reports.store.get(s.report_id)[1] for s in before}
    new = {s.format: reports.store.get(s.report_id)[1] for s in after}
    assert (
        new["csv"].replace(b"01/05/2025 \xc3\xa0 02:00", b"05/03/2025 \xc3\xa0 10:00") == old["csv"]
    )
    assert sheet_rows(new["xlsx"], "Jours") == sheet_rows(old["xlsx"], "Jours")


def test_a_month_not_over_is_refused_and_a_bad_month_is_invalid(
    ledger: Ledger, world: World
) -> None:
    """Only periods that are over are built (the clock is on 5 March 2025)."""
    reports = Reports(ledger)
    with pytest.raises(InvalidPeriod):
        reports.month_jobs("2025-03")
    with pytest.raises(InvalidPeriod):
        reports.month_jobs("2025-13")
    with pytest.raises(InvalidPeriod):
        reports.year_jobs(2025)


# --- annual reports -----------------------------------------------------------------------


def test_alt2_and_dsp_reports_of_the_year(ledger: Ledger, clock: Clock, world: World) -> None:
    """ALT2 2025: February's row is the hand-computed one (8 places, 80 occupancy days of
    224, 33.00 € of pitch fees, 452.00 + 217.00 = 669.00 € of aid); the operator summary
    adds the year of every aire; a DSP aire gets its revenue by month beside the year
    before, and the regie aire gets none."""
    dsp_site = Site(ledger, code="49099-D")
    clock.now = datetime(2025, 3, 10, 9, tzinfo=UTC)
    dsp_aire, _ = dsp_aire_with_a_sale(ledger, dsp_site.collectivite_id)
    clock.now = datetime(2026, 1, 5, 9, tzinfo=UTC)
    reports = Reports(ledger)
    jobs = reports.year_jobs(2025)
    assert sorted((j.kind, j.aire_id is None) for j in jobs) == sorted(
        [("alt2", False)] * 3 + [("alt2_summary", True), ("dsp", False)]
    )
    stored = reports.run(jobs)
    files = {(s.kind, s.aire_id, s.format): reports.store.get(s.report_id)[1] for s in stored}

    aire = str(world.site.aire_id)
    rows = sheet_rows(files[("alt2", aire, "xlsx")], "Mois par mois")
    february = rows[3]
    assert february[0] == "février 2025"
    assert february[1:4] == (8, 80, 224)
    assert Decimal(str(february[4])) == Decimal("0.3571")
    assert [Decimal(str(v)) for v in february[5:9]] == [63, 452, 217, 669]
    text = pdf_text(files[("alt2", aire, "pdf")])
    assert "février 2025 8 80 224 35,7 % 63,00 € 452,00 € 217,00 € 669,00 €" in text
    assert "avant le 15/01/2026" in text
    alt2_csv = csv_section(csv_rows(files[("alt2", aire, "csv")]), "Mois par mois")
    assert alt2_csv[2] == [
        "février 2025",
        "8",
        "80",
        "224",
        "35,71",
        "63,00",
        "452,00",
        "217,00",
        "669,00",
    ]

    summary = table_rows(sheet_rows(files[("alt2_summary", "", "xlsx")], "Synthèse par aire"))
    per_aire = {r[0].split(" — ")[0]: r for r in summary[:-1]}
    assert set(per_aire) == {"49007-A", "49099-D", "49099-DSP"}
    total = summary[-1]
    assert total[0] == "Total de l'opérateur"
    assert Decimal(str(total[8])) == sum(Decimal(str(r[8])) for r in per_aire.values())

    dsp = sheet_rows(files[("dsp", str(dsp_aire), "xlsx")], "Recettes par mois")
    march = [r for r in dsp[2:] if r[0] == "mars"]
    assert [(r[1], Decimal(str(r[2])), Decimal(str(r[3])), Decimal(str(r[4]))) for r in march] == [
        ("Autre", Decimal("12.34"), Decimal(0), Decimal("12.34"))
    ]
    assert ("dsp", aire, "pdf") not in files
    assert "Rapport annuel du délégataire (DSP) 2025 — 49099-DSP" in pdf_text(
        files[("dsp", str(dsp_aire), "pdf")]
    )


# --- receipts, deposit receipts, slips; reprints ------------------------------------------


def test_documents_render_and_reprints_are_recorded_and_numbered(
    ledger: Ledger, world: World
) -> None:
    """A receipt names its number, lines, total, payer (the household reference, or the
    name the payer-name function gives) and chain hash; a deposit receipt exists only for a
    receipt with a deposit; a slip lists its receipts. A reprint records
    ``DocumentReprinted`` on the register (its chain still verifies) and is the same PDF
    marked DUPLICATA n°1, then n°2."""
    reports = Reports(ledger)
    reg = world.site.register_id
    documents = Documents(reports.figures)
    receipt = pdf_text(documents.render(reg, "receipt", 2).content)
    event = ledger.register_event(reg, 3)
    assert "Quittance n°2 — 49007-A" in receipt
    # the line it settled, no longer the bare revenue type (issue 15: a quittance lacked
    # the period, quantity and unit price, the délibération)
    settled = "Droit d'usage du 03/02/2025 au 14/02/2025 12 jours × 3,00 € DEL-2024-118"
    assert f"{settled} 36,00 € 33,00 €" in receipt and "Total 33,00 €" in receipt
    assert f"ménage réf. {world.household_a}" in receipt
    assert event.hash in receipt.replace("\n", "")
    named = Documents(
        reports.figures, payer_name=lambda h: "Famille Exemple" if h == world.household_a else None
    )
    assert "Payeur Famille Exemple" in pdf_text(named.render(reg, "receipt", 2).content)
    deposit = pdf_text(documents.render(reg, "deposit_receipt", 1).content)
    assert "Récépissé de dépôt de garantie n°1" in deposit and "150,00 €" in deposit
    with pytest.raises(ReceiptNotFound):
        documents.render(reg, "deposit_receipt", 2)
    cancelled = pdf_text(documents.render(reg, "receipt", 3).content)
    assert "annulée le 14/02/2025" in cancelled
    slip = pdf_text(documents.render(reg, "slip", 1).content)
    # the slip's lines and their total, which is what it pays in
    assert "Bordereau de versement n°1" in slip and "Total versé 63,00 €" in slip
    assert "Quittance n°1 Espèces 150,00 € 0,00 €" in slip  # the deposit is not remitted
    assert "Quittance n°3 (annulée) Espèces 0,00 € 0,00 €" in slip
    assert "Dépôt retenu (opération n°7 de la caisse) Espèces 0,00 € 30,00 €" in slip
    assert "Total des lignes 63,00 €" in slip

    original = documents.render(reg, "receipt", 2).content
    assert documents.render(reg, "receipt", 2).content == original  # the same every time
    version = ledger.cash_register(reg).version
    for copy in (1, 2):
        outcome = ledger.record_reprint(reg, document="receipt", number=2, actor="c")
        assert outcome.result["copy"] == copy
        text = pdf_text(documents.render(reg, "receipt", 2, copy=copy).content)
        assert f"DUPLICATA n°{copy}" in text
        marks = f"DUPLICATA n°{copy}\n", f"Exemplaire duplicata n°{copy}"
        plain = text.replace(marks[0], "").replace(marks[1], "Exemplaire original")
        assert plain == pdf_text(original)
    last = ledger.register_event(reg, version + 2)
    assert isinstance(last, CashRegister.DocumentReprinted)
    assert (last.document, last.number, last.copy) == ("receipt", 2, 2)
    assert ledger.audit.verify_register(reg).ok


def test_every_pdf_kind_renders_its_first_page_to_an_image(
    ledger: Ledger, clock: Clock, world: World
) -> None:
    """The first page of each PDF kind renders (pdfium) to an A4-sized, non-blank image."""
    reports = Reports(ledger)
    documents = Documents(reports.figures)
    reg = world.site.register_id
    pdfs = {
        "monthly": monthly_files(ledger, world)["pdf"],
        "receipt": documents.render(reg, "receipt", 2).content,
        "deposit_receipt": documents.render(reg, "deposit_receipt", 1).content,
        "slip": documents.render(reg, "slip", 1).content,
    }
    clock.now = datetime(2026, 1, 5, 9, tzinfo=UTC)
    for job in [*reports.year_jobs(2025), Job("dsp", world.site.aire_id, "2025")]:
        report, *_ = reports.model(job, GENERATED)
        pdfs[job.kind] = to_pdf(report)
    assert set(pdfs) == {
        "monthly",
        "receipt",
        "deposit_receipt",
        "slip",
        "alt2",
        "alt2_summary",
        "dsp",
    }
    for kind, content in pdfs.items():
        page = pypdfium2.PdfDocument(content)[0]
        size = sorted(page.get_size())
        assert abs(size[0] - 595.28) < 0.5 and abs(size[1] - 841.89) < 0.5, kind  # A4
        image = page.render(scale=1).to_pil().convert("L")
        width, height = image.size
        assert sorted((width, height)) == [596, 842], kind
        histogram = image.histogram()
        dark = sum(histogram[:128])
        assert 0.005 < dark / (width * height) < 0.5, kind  # ink on a white page


# --- delivery: the service on its own, the CLI ----------------------------------------------


def test_the_scheduler_builds_what_is_due_once(ledger: Ledger, clock: Clock, world: World) -> None:
    """What the service builds on its own is what was sealed: nothing before a seal; on 3
    January 2026, once every month of 2025 the aire lived is sealed, each sealed month's
    report and the 2025 annual reports; a second look finds them built and stores
    nothing."""
    reports = Reports(ledger)
    today = date(2026, 1, 3)
    clock.now = datetime(2026, 1, 3, 9, tzinfo=UTC)
    assert reports.due(today) == []
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    seal_months(ledger, world, *months)
    expected = [("alt2", "2025"), ("alt2_summary", "2025"), *(("monthly", m) for m in months)]
    assert sorted((j.kind, j.period) for j in reports.due(today)) == expected
    scheduler = Scheduler(reports, interval=3600, delay=0, today=lambda: today)
    stored = scheduler.tick()
    assert sorted({(s.kind, s.period) for s in stored}) == expected
    assert len(stored) == 3 * len(expected)
    assert not any("PROVISOIRE" in s.filename for s in stored)
    assert scheduler.tick() == []
    waiting = Scheduler(
        reports, interval=3600, delay=0, today=lambda: today, caught_up=lambda: False
    )
    assert waiting.tick() == []


def test_a_month_not_sealed_gives_provisional_documents(ledger: Ledger, world: World) -> None:
    """``reports generate`` for a month nobody sealed builds documents marked « PROVISOIRE »
    on every PDF page, in their file names, titles and metadata; once sealed, the same
    report names its seal instead."""
    reports = Reports(ledger)
    stored = reports.run(reports.month_jobs("2025-02", [world.site.aire_id]))
    files = {s.format: (s, reports.store.get(s.report_id)[1]) for s in stored}
    assert all("PROVISOIRE" in s.filename for s, _ in files.values())
    pdf = PdfReader(io.BytesIO(files["pdf"][1]))
    assert len(pdf.pages) > 1
    assert all("PROVISOIRE" in page.extract_text() for page in pdf.pages)
    assert pdf.metadata is not None and pdf.metadata.subject == "PROVISOIRE"
    book = openpyxl.load_workbook(io.BytesIO(files["xlsx"][1]))
    assert book.properties.keywords == "PROVISOIRE"
    assert str(book.worksheets[0]["A1"].value).startswith("PROVISOIRE — ")
    rows = csv_rows(files["csv"][1])
    assert rows[0][0].startswith("PROVISOIRE — ")
    assert rows[1] == ["Statut", "PROVISOIRE : mois non scellé : 2025-02"]
    seal_months(ledger, world, "2025-02")
    (seal,) = [s for s in ledger.audit.seal_events(world.site.aire_id) if s.month == "2025-02"]
    again = reports.run(reports.month_jobs("2025-02", [world.site.aire_id]), force=True)
    final = {s.format: (s, reports.store.get(s.report_id)[1]) for s in again}
    assert not any("PROVISOIRE" in s.filename for s, _ in final.values())
    text = pdf_text(final["pdf"][1])
    assert "PROVISOIRE" not in text and f"empreinte {seal.hash}" in text


def test_a_provisional_report_is_built_again_final_once_its_month_is_sealed(
    ledger: Ledger, clock: Clock, world: World
) -> None:
    """February's monthly report built on 5 March before the seal is provisional; once
    February is sealed, the service's look (``run_due``) builds it again, final and naming
    the seal, as revision 2 next to the provisional one (kept); a second look builds
    nothing."""
    reports = Reports(ledger)
    aire = world.site.aire_id
    built = reports.run(reports.month_jobs("2025-02", [aire]))
    assert [(s.revision, s.provisional) for s in built] == [(1, True)] * 3
    seal_months(ledger, world, "2025-02")
    seal = {s.month: s for s in ledger.audit.seal_events(aire)}["2025-02"]
    today = date(2025, 3, 5)
    rebuilt = [s for s in reports.run_due(today) if s.period == "2025-02"]
    assert sorted(s.filename for s in rebuilt) == [
        f"monthly-{str(aire)[:8]}-2025-02-r2.{fmt}" for fmt in ("csv", "pdf", "xlsx")
    ]
    listed = reports.store.list(kind="monthly", aire_id=str(aire), period="2025-02")
    assert sorted((s.format, s.revision, s.provisional) for s in listed) == [
        (fmt, revision, revision == 1) for fmt in ("csv", "pdf", "xlsx") for revision in (1, 2)
    ]
    (pdf,) = [s for s in rebuilt if s.format == "pdf"]
    text = pdf_text(reports.store.get(pdf.report_id)[1])
    assert "PROVISOIRE" not in text and f"empreinte {seal.hash}" in text
    assert reports.run_due(today) == []


def test_no_declaration_is_due_for_a_year_the_aire_was_not_in_service(
    ledger: Ledger, world: World
) -> None:
    """The world's aire entered service in January 2025: in March 2025 nothing is due (no
    2024 ALT2, DSP or summary, although no month of 2024 is left to seal), and 2024 has no
    annual job at all."""
    reports = Reports(ledger)
    assert reports.due(date(2025, 3, 5)) == []
    assert reports.year_jobs(2024) == []


# --- each month's seal in the declarations ------------------------------------------------

STATUS_LINE = re.compile(
    r"^(\S+ 2025) (scellé|provisoire|hors service)(?: ([0-9a-f]{64}))?[ ]*$", re.M
)
MONTHS_2025 = [f"2025-{m:02d}" for m in range(1, 13)]


def recomputed_seal_hashes(ledger: Ledger, aire_id: UUID) -> dict[str, str]:
    """Each sealed month's hash recomputed from its stored ``MonthSealed`` event (its fields
    under its topic, canonical JSON, SHA-256), checked against the hash it carries."""
    found = {}
    for seal in ledger.audit.seal_events(aire_id):
        found[seal.month] = event_hash(topic_of(Seals.MonthSealed), vars(seal))
        assert found[seal.month] == seal.hash
    return found


def canonical_sha256(document: dict[str, Any]) -> str:
    """An attestation's hash as an auditor recomputes it from the JSON file, without this
    project's code: the document without its signature, sorted keys, no spaces, UTF-8."""
    body = {k: v for k, v in document.items() if k != "signature"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def identity_of(files: dict[str, bytes]) -> list[dict[str, str]]:
    """The identification lines of the CSV and of the XLSX's first sheet."""
    rows = csv_rows(files["csv"])
    csv_lines = {r[0]: r[1] for r in rows[1 : rows.index([])] if len(r) == 2}
    xlsx_lines = {r[0]: r[1] for r in sheet_rows(files["xlsx"], "Identification")[1:]}
    return [csv_lines, xlsx_lines]


def test_a_hash_stays_on_its_labels_line_in_the_pdf() -> None:
    """« empreinte » and the widest SHA-256 in hex (all digits: 130 mm at 8 pt) on a line of
    128 mm: the value is set a little smaller rather than leave the hash on a line of its
    own; a value far longer than a line still wraps."""
    from hacienda_ledger.reports.pdf import Document

    widest = "0" * 64
    long = "registre 1234, événement n°3, " * 6 + f"empreinte {widest}"
    doc = Document(
        "t", [("Arrêté mensuel 2025-02", f"empreinte {widest}"), ("Régie", long)], GENERATED
    )
    text = pdf_text(doc.bytes())
    assert f"Arrêté mensuel 2025-02 empreinte {widest}\n" in text
    assert "\n" in text[text.index("Régie") : text.index(widest, text.index("Régie"))]


def test_annual_declarations_list_each_month_sealed_with_its_hash_or_provisional(
    ledger: Ledger, clock: Clock, world: World
) -> None:
    """2025 with January and February sealed and the rest not: the ALT2 declaration lists
    its twelve months, « scellé » with the seal's whole hash or « provisoire », in the PDF,
    the CSV and the XLSX; so does the DSP report of a DSP aire that sealed March, which also
    lists the régularisation of March recorded in April (and January and February « hors
    service »: the aire entered service on 10 March). Every hash printed is the one
    recomputed from the stored seal event; both declarations are provisional."""
    seal_months(ledger, world, "2025-01", "2025-02")
    clock.now = datetime(2025, 3, 10, 9, tzinfo=UTC)
    dsp_aire, dsp_register = dsp_aire_with_a_sale(ledger, world.site.collectivite_id)
    clock.now = datetime(2025, 4, 2, 9, tzinfo=UTC)
    ledger.close_period(dsp_register, period="month", day=date(2025, 3, 31), actor="c")
    ledger.seal_month(dsp_aire, month="2025-03", actor="m")
    ledger.regularise(
        dsp_aire, month="2025-03", place_days=2, amount_cents=600, reason="oubli", actor="m"
    )
    clock.now = datetime(2026, 1, 5, 9, tzinfo=UTC)
    reports = Reports(ledger)
    aire = world.site.aire_id
    stored = reports.run([Job("alt2", aire, "2025"), Job("dsp", dsp_aire, "2025")])
    files = {(s.kind, s.format): reports.store.get(s.report_id)[1] for s in stored}

    for kind, aire_id, sealed, start in (
        ("alt2", aire, ["2025-01", "2025-02"], "2025-01"),
        ("dsp", dsp_aire, ["2025-03"], "2025-03"),  # in service from 10 March
    ):
        hashes = recomputed_seal_hashes(ledger, aire_id)
        assert sorted(hashes) == sealed
        expected = {
            month_fr(m): ("scellé", hashes[m])
            if m in hashes
            else ("hors service" if m < start else "provisoire", "")
            for m in MONTHS_2025
        }
        text = pdf_text(files[(kind, "pdf")])
        assert {m: (status, h) for m, status, h in STATUS_LINE.findall(text)} == expected, kind
        assert "PROVISOIRE" in text
        block = csv_section(csv_rows(files[(kind, "csv")]), "Statut des mois")
        assert block[0] == ["Mois", "Statut", "Empreinte de l'arrêté mensuel (SHA-256)"]
        assert {r[0]: (r[1], r[2]) for r in block[1:]} == expected, kind
        sheet = table_rows(sheet_rows(files[(kind, "xlsx")], "Statut des mois"))
        assert {r[0]: (r[1], r[2] or "") for r in sheet} == expected, kind

    regularisations = csv_section(csv_rows(files[("dsp", "csv")]), "Régularisations")
    assert regularisations == [
        ["Mois corrigé", "Enregistrée le", "Places-jours", "Montant (€)", "Motif"],
        ["mars 2025", "02/04/2025", "2", "6,00", "oubli"],
    ]
    assert "mars 2025 02/04/2025 2 6,00 € oubli" in pdf_text(files[("dsp", "pdf")])


def test_a_sealed_months_report_prints_its_seal_and_attestation_hashes(
    ledger: Ledger, clock: Clock, world: World, tmp_path: Path
) -> None:
    """The monthly report of a sealed month names its seal's hash and its attestation's, in
    every format: the seal's as recomputed from its stored event, the attestation's as an
    auditor recomputes it from the file exported for safekeeping (``attestation_hash``, the
    one definition, agrees). Issued again months later the attestation is the same
    document, a new revision of the report prints the same hashes, and ``verify
    --attestations`` still vouches for the store."""
    ledger.settings.attestation_key = tmp_path / "key.pem"
    assert create_key(ledger.settings.attestation_key)
    files = monthly_files(ledger, world)
    aire = world.site.aire_id
    seal_hash = recomputed_seal_hashes(ledger, aire)["2025-02"]
    folder = tmp_path / "attestations"
    cli = [
        "--database-url",
        ledger.settings.database_url,
        "--attestation-key",
        str(ledger.settings.attestation_key),
    ]
    assert main([*cli, "attestations", "export", "--dir", str(folder)]) == 0
    (path,) = folder.glob("seal-*-2025-02.json")  # January's is exported beside it
    document = json.loads(path.read_text(encoding="utf-8"))
    attested = canonical_sha256(document)
    assert attested == attestation_hash(document) != seal_hash

    text = pdf_text(files["pdf"])
    assert f"Arrêté mensuel 2025-02 empreinte {seal_hash}" in text
    assert f"Attestation de l'arrêté 2025-02 empreinte {attested}" in text
    for lines in identity_of(files):
        assert lines["Arrêté mensuel 2025-02"] == f"empreinte {seal_hash}"
        assert lines["Attestation de l'arrêté 2025-02"] == f"empreinte {attested}"

    clock.now = datetime(2025, 6, 1, 9, tzinfo=UTC)
    assert ledger.audit.attestation(aire, "2025-02") == document
    assert ledger.audit.attestation_hash(aire, "2025-02") == attested
    reports = Reports(ledger)
    (again,) = [
        s for s in reports.build(Job("monthly", aire, "2025-02"), force=True) if s.format == "pdf"
    ]
    assert again.revision == 2
    text = pdf_text(reports.store.get(again.report_id)[1])
    assert f"Attestation de l'arrêté 2025-02 empreinte {attested}" in text
    assert main([*cli, "verify", "--attestations", str(folder)]) == 0


def test_without_an_attestation_key_the_report_names_the_seal_and_says_so(
    ledger: Ledger, world: World, tmp_path: Path
) -> None:
    """No key file where the setting points: the sealed month's report is built all the
    same, names its seal's hash and says the attestation is unavailable."""
    ledger.settings.attestation_key = tmp_path / "no-key.pem"
    files = monthly_files(ledger, world)
    seal_hash = recomputed_seal_hashes(ledger, world.site.aire_id)["2025-02"]
    assert ledger.audit.attestation_hash(world.site.aire_id, "2025-02") is None
    unavailable = (
        "indisponible : aucune clé d'attestation n'est configurée (l'arrêté est identifié "
        "par son empreinte ci-dessus)"
    )
    for lines in identity_of(files):
        assert lines["Arrêté mensuel 2025-02"] == f"empreinte {seal_hash}"
        assert lines["Attestation de l'arrêté 2025-02"] == unavailable
    text = pdf_text(files["pdf"])
    assert f"Arrêté mensuel 2025-02 empreinte {seal_hash}" in text
    assert "Attestation de l'arrêté 2025-02 indisponible" in text


def test_cli_generates_every_due_report_then_skips_them(
    settings: Settings, ledger: Ledger, world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """``reports generate --month`` builds every aire's monthly report, a second run skips
    them, ``--force`` stores a new revision; a bad month is a mistake (exit 2) and stores
    nothing."""
    from hacienda_ledger.cli import main

    url = settings.database_url
    assert main(["--database-url", url, "reports", "generate", "--month", "2025-13"]) == 2
    assert "invalid_period" in capsys.readouterr().err
    assert main(["--database-url", url, "reports", "generate", "--month", "2025-02"]) == 0
    assert "1 reports: 3 files stored, 0 already there" in capsys.readouterr().out
    assert main(["--database-url", url, "reports", "generate", "--month", "2025-02"]) == 0
    assert "0 files stored, 1 already there" in capsys.readouterr().out
    assert (
        main(["--database-url", url, "reports", "generate", "--month", "2025-02", "--force"]) == 0
    )
    revisions = sorted(r.revision for r in Reports(ledger).store.list(period="2025-02"))
    assert revisions == [1, 1, 1, 2, 2, 2]


# --- the API --------------------------------------------------------------------------------


def _client(settings: Settings, ledger: Ledger) -> TestClient:
    return TestClient(
        create_app(settings.model_copy(update={"reports_auto": False}), ledger=ledger)
    )


def test_api_lists_reports_within_each_callers_scope_and_downloads_them(
    settings: Settings, ledger: Ledger, clock: Clock, world: World
) -> None:
    """Admins see every report; a collectivité's auditor the reports of its aires only (and
    not the operator summary); another collectivité's auditor none; an analyst only the
    anonymised ones (ALT2, summary), never a monthly report with unpaid balances. A download
    carries its SHA-256, which matches its bytes; an unknown report is a problem+json 404."""
    # in service since January (as the world's aire): a monthly report of 2025-02 is built
    # only for an aire in service then
    other = Site(ledger, code="85191-B", in_service_from=date(2025, 1, 6))
    clock.now = datetime(2026, 1, 5, 9, tzinfo=UTC)
    reports = Reports(ledger)
    reports.run(reports.month_jobs("2025-02"))
    reports.run(reports.year_jobs(2025))
    tokens = {
        "admin": ledger.create_user(name="a", role="admin", actor="t")[1],
        "auditor": ledger.create_user(
            name="au", role="auditor", collectivite_id=world.site.collectivite_id, actor="t"
        )[1],
        "auditor_b": ledger.create_user(
            name="ab", role="auditor", collectivite_id=other.collectivite_id, actor="t"
        )[1],
        "analyst": ledger.create_user(name="an", role="analyst", actor="t")[1],
        "cashier": ledger.create_user(
            name="c", role="cashier", aire_ids=[world.site.aire_id], actor="t"
        )[1],
    }
    with _client(settings, ledger) as client:

        def listing(role: str, **params: str) -> list[dict[str, Any]]:
            response = client.get(
                "/v1/reports", params=params, headers={"Authorization": f"Bearer {tokens[role]}"}
            )
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["count"] == len(body["data"])
            return list(body["data"])

        everything = listing("admin")
        assert {(r["kind"], r["aire_id"]) for r in everything} == {
            ("monthly", str(world.site.aire_id)),
            ("monthly", str(other.aire_id)),
            ("alt2", str(world.site.aire_id)),
            ("alt2", str(other.aire_id)),
            ("alt2_summary", ""),
        }
        mine = listing("auditor")
        assert {r["aire_id"] for r in mine} == {str(world.site.aire_id)}
        assert {r["kind"] for r in mine} == {"monthly", "alt2"}
        assert {r["aire_id"] for r in listing("auditor_b")} == {str(other.aire_id)}
        assert {r["kind"] for r in listing("analyst")} == {"alt2", "alt2_summary"}
        assert {r["aire_id"] for r in listing("cashier")} == {str(world.site.aire_id)}
        assert {r["period"] for r in listing("admin", kind="monthly")} == {"2025-02"}
        assert len(listing("admin", aire_id=str(world.site.aire_id), period="2025")) == 3

        monthly_pdf = next(r for r in mine if r["kind"] == "monthly" and r["format"] == "pdf")
        auth = {"Authorization": f"Bearer {tokens['auditor']}"}
        response = client.get(f"/v1/reports/{monthly_pdf['report_id']}", headers=auth)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/pdf"
        digest = hashlib.sha256(response.content).hexdigest()
        assert response.headers["x-content-sha256"] == digest == monthly_pdf["sha256"]
        assert "35,7 %" in pdf_text(response.content)
        xlsx = next(r for r in mine if r["format"] == "xlsx")
        response = client.get(f"/v1/reports/{xlsx['report_id']}", headers=auth)
        assert response.headers["content-type"].startswith("application/vnd.openxmlformats")

        from tests.e2e.api_world import assert_problem

        hidden = {"Authorization": f"Bearer {tokens['analyst']}"}
        assert_problem(
            client.get(f"/v1/reports/{monthly_pdf['report_id']}", headers=hidden),
            404,
            "report_not_found",
        )
        assert_problem(
            client.get(f"/v1/reports/{UUID(int=7)}", headers=auth), 404, "report_not_found"
        )
        assert_problem(client.get("/v1/reports/not-a-uuid", headers=auth), 404, "report_not_found")
        assert_problem(
            client.get("/v1/reports", params={"period": "2025-13"}, headers=auth),
            422,
            "validation_error",
        )
        assert_problem(client.get("/v1/reports"), 401, "unauthenticated")


def test_api_prints_documents_and_records_each_reprint(
    settings: Settings, ledger: Ledger, world: World
) -> None:
    """The cashier's first print is the original, recorded (``DocumentPrinted``,
    ``X-Print: original``); every later ``GET`` is a copy for consultation marked « COPIE »,
    the same bytes every time, recording nothing (before issue 15 the unmarked original came
    back every time and nothing was recorded); each reprint records an event and comes back
    marked DUPLICATA n°1, then n°2; an unknown receipt is a 404 problem that records nothing;
    an auditor gets the copy, never the original, and may not reprint; the admin handles
    no cash, so it reprints nothing either."""
    reg = world.site.register_id
    cashier = ledger.create_user(
        name="Camille", role="cashier", aire_ids=[world.site.aire_id], actor="t"
    )[1]
    admin = ledger.create_user(name="a", role="admin", actor="t")[1]
    auditor = ledger.create_user(
        name="au", role="auditor", collectivite_id=world.site.collectivite_id, actor="t"
    )[1]
    auth = {"Authorization": f"Bearer {cashier}"}
    base = f"/v1/registers/{reg}/documents"
    from tests.e2e.api_world import assert_problem

    with _client(settings, ledger) as client:
        version = ledger.cash_register(reg).version
        reader = {"Authorization": f"Bearer {auditor}"}
        consulted = client.get(f"{base}/receipt/2", headers=reader)  # before the original
        assert consulted.headers["x-print"] == "copie"
        assert ledger.cash_register(reg).version == version
        first = client.get(f"{base}/receipt/2", headers=auth)
        assert first.status_code == 200 and first.headers["content-type"] == "application/pdf"
        assert first.headers["x-print"] == "original"
        assert "Exemplaire original" in pdf_text(first.content)
        printed = ledger.register_event(reg, version + 1)
        assert isinstance(printed, CashRegister.DocumentPrinted)
        assert (printed.document, printed.number) == ("receipt", 2)
        copy = client.get(f"{base}/receipt/2", headers=auth)
        assert copy.headers["x-print"] == "copie"
        assert "COPIE" in pdf_text(copy.content) and "COPIE" not in pdf_text(first.content)
        assert client.get(f"{base}/receipt/2", headers=auth).content == copy.content
        assert client.get(f"{base}/receipt/2", headers=reader).content == copy.content
        assert consulted.content == copy.content
        assert ledger.cash_register(reg).version == version + 1
        for n in (1, 2):
            again = client.post(f"{base}/receipt/2/reprints", headers=auth)
            assert again.status_code == 200, again.text
            assert again.headers["x-copy"] == str(n)
            assert f"DUPLICATA n°{n}" in pdf_text(again.content)
        assert ledger.cash_register(reg).version == version + 3
        slip = client.post(f"{base}/slip/1/reprints", headers=auth)
        assert "DUPLICATA n°1" in pdf_text(slip.content)
        assert ledger.cash_register(reg).version == version + 4
        assert_problem(
            client.post(f"{base}/receipt/99/reprints", headers=auth), 404, "receipt_not_found"
        )
        assert_problem(client.post(f"{base}/slip/9/reprints", headers=auth), 404, "slip_not_found")
        assert_problem(client.get(f"{base}/receipt/99", headers=auth), 404, "receipt_not_found")
        assert_problem(client.get(f"{base}/invoice/1", headers=auth), 422, "validation_error")
        assert ledger.cash_register(reg).version == version + 4
        assert client.get(f"{base}/slip/1", headers=reader).status_code == 200
        assert_problem(client.post(f"{base}/slip/1/reprints", headers=reader), 403, "forbidden")
        admin_auth = {"Authorization": f"Bearer {admin}"}
        assert_problem(client.post(f"{base}/slip/1/reprints", headers=admin_auth), 403, "forbidden")
        assert client.get(f"{base}/slip/1", headers=admin_auth).headers["x-print"] == "copie"
        assert ledger.cash_register(reg).version == version + 4
        journal = client.get(f"/v1/registers/{reg}/journal", params={"format": "csv"}, headers=auth)
        assert journal.text.count("Réimpression (duplicata)") == 3
        assert journal.text.count("Impression (original)") == 1


def test_api_exports_projection_tables_as_french_csv_and_xlsx(
    settings: Settings, ledger: Ledger, world: World
) -> None:
    """``revenue_monthly`` of the aire for February as CSV (semicolons, decimal comma, BOM)
    and XLSX (numbers); ``deposit_movements`` filtered by period; an unknown table is a 422
    problem; an analyst may not export the cash tables."""
    admin = ledger.create_user(name="a", role="admin", actor="t")[1]
    analyst = ledger.create_user(name="an", role="analyst", actor="t")[1]
    auth = {"Authorization": f"Bearer {admin}"}
    from tests.e2e.api_world import assert_problem

    with _client(settings, ledger) as client:
        params = {"aire_id": str(world.site.aire_id), "from": "2025-02-01", "to": "2025-02-28"}
        response = client.get("/v1/exports/revenue_monthly", params=params, headers=auth)
        assert response.status_code == 200, response.text
        rows = csv_rows(response.content)
        body = rows[rows.index([]) + 1 :]
        header, data = body[0], body[1:]
        assert header[:5] == ["aire_id", "month", "revenue_type", "method", "amount (€)"]
        assert sorted((r[2], r[3], r[4]) for r in data) == [
            ("deposit", "cash", "150,00"),
            ("other", "cash", "0,00"),
            ("pitch_fee", "card", "63,00"),
        ]
        xlsx = client.get(
            "/v1/exports/revenue_monthly", params={**params, "format": "xlsx"}, headers=auth
        )
        sheet = sheet_rows(xlsx.content, "revenue_monthly")
        assert sorted(Decimal(str(r[4])) for r in sheet[1:]) == [0, 63, 150]
        march = client.get(
            "/v1/exports/revenue_monthly",
            params={"aire_id": str(world.site.aire_id), "from": "2025-03-01"},
            headers=auth,
        )
        march_rows = csv_rows(march.content)
        assert [r[4] for r in march_rows[march_rows.index([]) + 2 :]] == ["57,00"]
        deposits = client.get("/v1/exports/deposit_movements", params=params, headers=auth)
        kinds = [r[5] for r in csv_rows(deposits.content)[5:]]
        assert sorted(kinds) == ["received", "refunded", "withheld"]
        closures = client.get("/v1/exports/register_closures", params=params, headers=auth)
        closure_rows = csv_rows(closures.content)
        assert [r[2] for r in closure_rows[closure_rows.index([]) + 2 :]] == ["day", "month"]
        counts = client.get("/v1/exports/cash_counts", params=params, headers=auth)
        assert len(csv_rows(counts.content)[csv_rows(counts.content).index([]) + 2 :]) == 1
        assert_problem(client.get("/v1/exports/users", headers=auth), 422, "invalid_value")
        assert_problem(
            client.get("/v1/exports/cash_journal", headers={"Authorization": f"Bearer {analyst}"}),
            403,
            "forbidden",
        )


def test_unknown_document_is_refused_before_anything_is_recorded(
    ledger: Ledger, world: World
) -> None:
    """The aggregate refuses a reprint of a receipt that does not exist."""
    from hacienda_ledger.aggregates.errors import SlipNotFound

    reg = world.site.register_id
    version = ledger.cash_register(reg).version
    with pytest.raises(ReceiptNotFound):
        ledger.record_reprint(reg, document="receipt", number=0, actor="c")
    with pytest.raises(SlipNotFound):
        ledger.record_reprint(reg, document="slip", number=2, actor="c")
    from hacienda_ledger.aggregates.errors import InvalidValue

    with pytest.raises(InvalidValue):
        ledger.record_reprint(reg, document="facture", number=1, actor="c")
    assert ledger.cash_register(reg).version == version


def test_the_api_process_builds_the_reports_due_on_its_own(
    settings: Settings, ledger: Ledger, world: World
) -> None:
    """Started with the projections followed, the API process looks for reports due (here
    at once) and builds the sealed months' monthly reports, with no command (no annual
    report of 2024: the aire entered service in 2025); the lifespan stops the thread on
    shutdown."""
    import time

    auto = settings.model_copy(update={"reports_auto": True, "reports_first_delay": 0.0})
    seal_months(ledger, world, "2025-02")
    store = Reports(ledger).store
    assert store.list() == []
    with TestClient(create_app(auto, ledger=ledger)):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(store.list()) < 6:
            time.sleep(0.2)
    found = {(r.kind, r.period) for r in store.list()}
    assert found == {("monthly", "2025-01"), ("monthly", "2025-02")}
    assert len(store.list()) == 6


def test_a_printed_receipt_names_its_payer_until_erasure(
    settings: Settings, ledger: Ledger, world: World
) -> None:
    """The receipt names the household's display name (the read is logged); once its
    personal data is erased, the same receipt says so and every amount is unchanged."""
    reg = world.site.register_id
    admin = ledger.create_user(name="a", role="admin", actor="t")[1]
    auth = {"Authorization": f"Bearer {admin}"}
    url = f"/v1/registers/{reg}/documents/receipt/1"
    with _client(settings, ledger) as client:
        before = pdf_text(client.get(url, headers=auth).content)
        assert "Famille A" in before
        log = client.get(f"/v1/households/{world.household_a}/access-log", headers=auth)
        reads = [e["endpoint"] for e in log.json()["data"]]
        assert "GET /v1/registers/{register_id}/documents/{document}/{number}" in reads, reads
        ledger.erase_household(world.household_a, reason="request", actor="t")
        after = pdf_text(client.get(url, headers=auth).content)
    assert "Famille A" not in after and "[données effacées]" in after
    assert before.replace("Famille A", "[données effacées]") == after
