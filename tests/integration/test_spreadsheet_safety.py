"""No export runs a formula, on SQLite and PostgreSQL: a world whose names start formulas,
every exportable table and every report downloaded as CSV and XLSX, opened back.

The household is named ``=HYPERLINK("http://evil.example/?x","Click")`` (issue 16), the
collectivité, the emplacements, an age band and the cashier's name start with the other
characters OWASP lists (``+``, ``-``, ``@``, tab). Every file the ledger makes for a
spreadsheet is enumerated from the code: each table of ``exports.EXPORTS`` through
``GET /v1/exports/{table}``, each report kind of ``kinds.KINDS`` as the service stores it,
and the cash journal's CSV with payers. In every one, no text cell starts a formula, the
payloads come back quoted, and negative amounts (a receipt cancelled the month after, a cash
shortfall) are numbers: unquoted French decimals in the CSV, numbers in the XLSX."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient

from hacienda_ledger.aggregates.household import Profile
from hacienda_ledger.aggregates.values import Composition
from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger
from hacienda_ledger.reports.exports import EXPORTS
from hacienda_ledger.reports.generate import Reports
from hacienda_ledger.reports.kinds import KINDS
from hacienda_ledger.reports.sheets import FORMULA_STARTS
from hacienda_ledger.settings import Settings
from tests.conftest import Clock, standard_tariff

HYPERLINK = '=HYPERLINK("http://evil.example/?x","Click")'
COLLECTIVITE = "@SUM(1+1)*cmd|' /C calc'!A0"
AIRE = "-2+3+cmd|' /C calc'!A0"
PITCH, OUT_OF_SERVICE = "=1+1", "+33"
BAND = "@bande"
CASHIER = "\t=cmd|' /C calc'!A0"
FRENCH_NUMBER = re.compile(r"-?\d+(,\d+)?")

# Where a payload must come back, quoted: table (or file) -> payloads.
QUOTED = {
    "occupancy_emplacements": {PITCH, OUT_OF_SERVICE},
    "occupancy_out_of_service": {OUT_OF_SERVICE},
    "occupancy_stays": {PITCH},
    "occupancy_stay_people": {BAND},
    "cash_journal": {CASHIER},
    "cash_counts": {CASHIER},  # who counted
    "journal with payers": {HYPERLINK, CASHIER},
    "monthly": {COLLECTIVITE},
}


class Hostile:
    """The world: ids of what the payloads were written into."""

    def __init__(self, ledger: Ledger, clock: Clock) -> None:
        m = "manager"
        self.collectivite_id = ledger.create_collectivite(
            code="C-SAFE", name=COLLECTIVITE, siren="244900015", actor=m
        ).aggregate_id
        self.aire_id = ledger.create_aire(
            code="49007-S",
            name=AIRE,
            collectivite_id=self.collectivite_id,
            sector="Anjou",
            mode="dsp",
            insee_code="49007",
            departement="49",
            latitude=Decimal("47.4784"),
            longitude=Decimal("-0.5632"),
            actor=m,
        ).aggregate_id
        for number in (PITCH, OUT_OF_SERVICE, "3"):
            ledger.add_emplacement(self.aire_id, number=number, actor=m)
        ledger.adopt_tariff(self.aire_id, standard_tariff(), actor=m)
        reg = self.register_id = ledger.open_register(
            self.aire_id,
            regie_ref="R-1",
            float_cents=5000,
            cash_ceiling_cents=10_000_000,
            payment_methods=["cash", "card"],
            revenue_types=["pitch_fee", "deposit", "other"],
            actor=m,
        ).aggregate_id
        household = ledger.record_household(
            aire_id=self.aire_id, profile=Profile(HYPERLINK), actor=m
        ).aggregate_id
        stay = ledger.open_stay(
            self.aire_id,
            emplacement=PITCH,
            household_ref=household,
            arrived_at=clock(),
            composition=Composition(2, ((BAND, 1),)),
            agreement_ref="COT-1",
            entry_inspection_ref="EDL-E-1",
            water_index=Decimal("100"),
            electricity_index=Decimal("2000"),
            actor=CASHIER,
        ).aggregate_id
        ledger.post_receipt(
            reg, stay_id=stay, method="cash", lines=[("deposit", 15000)], actor=CASHIER
        )
        ledger.assess_charges(stay, through=clock().date() + timedelta(days=9), actor=CASHIER)
        ledger.post_receipt(
            reg, stay_id=stay, method="card", lines=[("pitch_fee", 3000)], actor=CASHIER
        )
        ledger.put_out_of_service(
            self.aire_id, number=OUT_OF_SERVICE, start=date(2025, 1, 6), reason="fuite", actor=m
        )
        ledger.schedule_closure(
            self.aire_id,
            start=date(2025, 1, 20),
            end=date(2025, 1, 22),
            reason="travaux",
            urgent=True,
            actor=m,
        )
        clock.now = datetime(2025, 2, 10, 10, tzinfo=UTC)  # January's receipt cancelled now
        ledger.cancel_receipt(reg, number=2, reason="erreur", actor=CASHIER)
        ledger.extend_stay(
            stay, reason="school", evidence_ref="E-1", until=date(2025, 6, 30), actor=m
        )
        ledger.depart(  # the household leaves, pays its bill, and its deposit goes back
            stay,
            departed_at=clock(),
            exit_inspection_ref="PV-1",
            water_index=Decimal("100"),
            electricity_index=Decimal("2000"),
            actor=CASHIER,
        )
        ledger.post_receipt(reg, stay_id=stay, method="cash", settle_balance=True, actor=CASHIER)
        ledger.refund_deposit(reg, stay_id=stay, amount_cents=10000, method="cash", actor=CASHIER)
        ledger.withhold_deposit(
            reg, stay_id=stay, amount_cents=2000, reason="damage", reference="PV-1", actor=CASHIER
        )
        book = ledger.cash_register(reg).balances["cash"]
        ledger.count_cash(reg, counted_cents=book - 100, actor=CASHIER)  # 1.00 € short
        clock.now = datetime(2025, 2, 11, 8, tzinfo=UTC)  # the day closed (register_closures)
        ledger.close_period(reg, period="day", day=date(2025, 2, 10), actor=CASHIER)
        ledger.record_intervention(  # (the interventions' tables: issue 18)
            self.aire_id, kind="repair", started_at=clock(), description="=1+1", cost_cents=1250,
            actor=m,
        )  # fmt: skip
        clock.now = datetime(2026, 1, 5, 9, tzinfo=UTC)  # 2025 over: every report can be built


@pytest.fixture
def hostile(ledger: Ledger, clock: Clock) -> Hostile:
    return Hostile(ledger, clock)


@pytest.fixture
def client(settings: Settings, ledger: Ledger) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"reports_auto": False}), ledger=ledger)
    with TestClient(app) as client:
        yield client


# --- reading the files back ---------------------------------------------------------------------


def csv_cells(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=";"))


def xlsx_cells(content: bytes) -> list[list[Any]]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    rows = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            assert all(cell.data_type != "f" for cell in row), "a formula cell"
            rows.append([cell.value for cell in row])
    return rows


def texts(rows: list[list[Any]]) -> set[str]:
    return {v for row in rows for v in row if isinstance(v, str)}


def assert_safe(rows: list[list[Any]], fmt: str, name: str) -> None:
    """No text cell starts a formula; in a CSV, a cell that starts with ``-`` is a number."""
    for row in rows:
        for value in row:
            if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
                continue
            assert fmt == "csv" and FRENCH_NUMBER.fullmatch(value), (name, fmt, value)


def read(content: bytes, fmt: str, name: str) -> list[list[Any]]:
    rows: list[list[Any]] = csv_cells(content) if fmt == "csv" else xlsx_cells(content)
    assert_safe(rows, fmt, name)
    return rows


# --- every file ---------------------------------------------------------------------------------


def test_every_export_table_is_safe_to_open(
    ledger: Ledger, hostile: Hostile, client: TestClient
) -> None:
    """Each table of ``EXPORTS``, as CSV and XLSX: rows in it (the world fills every table),
    no text starting a formula, the names quoted where the table holds them; February's
    revenue of the receipt cancelled then is a negative number in both formats."""
    token = ledger.create_user(name="admin", role="admin", actor="t")[1]
    auth = {"Authorization": f"Bearer {token}"}
    for table in sorted(EXPORTS):
        for fmt in ("csv", "xlsx"):
            response = client.get(
                f"/v1/exports/{table}",
                params={"aire_id": str(hostile.aire_id), "format": fmt},
                headers=auth,
            )
            assert response.status_code == 200, (table, fmt, response.text)
            rows = read(response.content, fmt, table)
            header = 1 if fmt == "xlsx" else rows.index([]) + 2  # (the CSV names itself first)
            assert rows[header:], f"{table}: no rows, so nothing was checked"
            for payload in QUOTED.get(table, ()):
                assert "'" + payload in texts(rows), (table, fmt, payload)
            if table == "revenue_monthly":
                amount = rows[header - 1].index("amount (€)")
                february = [
                    r[amount] for r in rows[header:] if r[1] == "2025-02" and r[3] == "card"
                ]
                assert february == (["-30,00"] if fmt == "csv" else [-30])


def test_the_journal_with_payers_is_safe_to_open(
    ledger: Ledger, hostile: Hostile, client: TestClient
) -> None:
    """The auditor's journal CSV names the household ``=HYPERLINK(...)``: it comes back as
    the text ``'=HYPERLINK(...)``, beside its quoted cashier and unquoted amounts."""
    token = ledger.create_user(name="admin", role="admin", actor="t")[1]
    response = client.get(
        f"/v1/registers/{hostile.register_id}/journal",
        params={"format": "csv", "payers": "true"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    rows = read(response.content, "csv", "journal")
    header = rows[0]
    payers = [r[header.index("Payeur")] for r in rows[1:] if r[header.index("Payeur")]]
    assert set(payers) == {"'" + HYPERLINK}
    assert {r[header.index("Agent")] for r in rows[1:]} >= {"'" + CASHIER}
    out = [Decimal(r[header.index("Dépense (€)")].replace(",", ".")) for r in rows[1:]]
    assert Decimal(100) in out  # the refund, a number


def test_every_report_is_safe_to_open(ledger: Ledger, hostile: Hostile) -> None:
    """Each report kind of ``KINDS`` (February's monthly report, 2025's ALT2, summary and
    DSP report), as the service stores its CSV and XLSX: no text starting a formula, the
    collectivité's name quoted, the cash shortfall a number."""
    reports = Reports(ledger)
    aires = [hostile.aire_id]
    jobs = [*reports.month_jobs("2025-02", aires), *reports.year_jobs(2025)]
    stored = reports.run(jobs)
    assert {s.kind for s in stored} == set(KINDS)
    for s in stored:
        if s.format == "pdf":
            continue
        rows = read(reports.store.get(s.report_id)[1], s.format, s.kind)
        for payload in QUOTED.get(s.kind, ()):
            assert any(t.startswith("'" + payload) for t in texts(rows)), (s.kind, payload)
        if s.kind == "monthly":  # the count's row: day, number, book, counted, difference
            day = "10/02/2025" if s.format == "csv" else datetime(2025, 2, 10)
            after = rows[[r[:1] for r in rows].index(["Arrêtés de caisse"]) :]
            count = next(r for r in after if r and r[0] == day)
            want = ["1", "205,00", "204,00", "-1,00"] if s.format == "csv" else [1, 205, 204, -1]
            assert count[1:5] == want
