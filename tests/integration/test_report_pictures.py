"""The analytics pictures in the annual reports (issue 19, point 5), on SQLite and
PostgreSQL: the DSP report shows its aire's département (a table of its months, a map and
a series in the PDF), the ALT2 summary the map of France; the PDF opened back with pypdf
(its images decoded, their text present), the XLSX with openpyxl, and the figures equal to
the published analytics tables."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from PIL import Image
from pypdf import PdfReader

from hacienda_ledger.application import Ledger
from hacienda_ledger.reports.french import MONTHS
from hacienda_ledger.reports.generate import Job, Reports
from hacienda_ledger.reports.kinds.territory import TITLE
from tests.conftest import Clock, Site
from tests.integration.reports_world import World, build
from tests.integration.test_reports import dsp_aire_with_a_sale, pdf_text, sheet_rows, table_rows


@pytest.fixture
def world(ledger: Ledger, clock: Clock) -> World:
    return build(ledger, clock)


def pdf_images(content: bytes) -> list[Image.Image]:
    reader = PdfReader(io.BytesIO(content))
    return [Image.open(io.BytesIO(i.data)) for page in reader.pages for i in page.images]


def test_the_dsp_report_shows_its_departement_map_and_months(
    ledger: Ledger, clock: Clock, world: World
) -> None:
    """The DSP aire of Maine-et-Loire: its report's « Territoire » sheet lists the
    département's months of 2025 as the published ``departement_month`` table says (rate
    and unmet requests, blank where suppressed), and its PDF holds two pictures (the
    département's map 800 × 800, its series 900 × 450) under that section's heading."""
    site = Site(ledger, code="49099-D")
    clock.now = datetime(2025, 3, 10, 9, tzinfo=UTC)
    dsp_aire, _ = dsp_aire_with_a_sale(ledger, site.collectivite_id)
    clock.now = datetime(2026, 1, 5, 9, tzinfo=UTC)
    reports = Reports(ledger)
    stored = reports.build(Job("dsp", dsp_aire, "2025"))
    files = {s.format: reports.store.get(s.report_id)[1] for s in stored}

    published = reports.analytics.table("departement_month", date(2025, 12, 31), {"code": "49"})
    expected = [
        (MONTHS[int(str(r["period"])[5:7]) - 1], r["occupancy_rate"], r["unmet_requests"])
        for r in sorted(published, key=lambda r: str(r["period"]))
        if str(r["period"]).startswith("2025-")
    ]
    assert expected, "the world has months in 2025"
    found = [
        (m, None if rate is None else Decimal(str(rate)), unmet)
        for m, rate, unmet in table_rows(sheet_rows(files["xlsx"], "Territoire"))
    ]
    assert found == [(m, None if r is None else Decimal(r), u) for m, r, u in expected]

    images = pdf_images(files["pdf"])
    assert sorted(i.size for i in images) == [(800, 800), (900, 450)]
    text = pdf_text(files["pdf"])
    assert TITLE.split(" (")[0] in text
    assert "seuil de secret : 11" in text


def test_the_alt2_summary_shows_the_map_of_france(
    ledger: Ledger, clock: Clock, world: World
) -> None:
    """The operator-wide ALT2 summary of 2025: one row per département published in
    ``departement_year`` (Maine-et-Loire's here), and the map of France in its PDF."""
    clock.now = datetime(2026, 1, 5, 9, tzinfo=UTC)
    reports = Reports(ledger)
    stored = reports.build(Job("alt2_summary", None, "2025"))
    files = {s.format: reports.store.get(s.report_id)[1] for s in stored}
    rows = table_rows(sheet_rows(files["xlsx"], "Territoire"))
    published = reports.analytics.table("departement_year", date(2025, 12, 31), {"period": "2025"})
    assert [r[0].split(" — ")[0] for r in rows] == sorted(str(r["code"]) for r in published)
    assert [r[2] for r in rows] == [
        r["unmet_requests"] for r in sorted(published, key=lambda r: str(r["code"]))
    ]
    assert [i.size for i in pdf_images(files["pdf"])] == [(800, 800)]
    assert "Maine-et-Loire" in " ".join(r[0] for r in rows)
