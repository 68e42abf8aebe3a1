"""Draw the first page of each report kind from the demo, for docs/reports.md.

    .venv/bin/python scripts/report_pictures.py [OUT_DIR]   (default: docs/img)

Loads the demo into a temporary SQLite file, builds the reports of September 2025 and of
the year 2025 (as on 5 January 2026), prints a receipt (one that pays charges, water among
them), a deposit receipt, a slip and a reprint, and renders each PDF's first page to PNG
with pypdfium2.
"""

from __future__ import annotations

import io
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pypdfium2

from hacienda_ledger.aggregates.values import Mode
from hacienda_ledger.application import Ledger
from hacienda_ledger.demo import run_demo
from hacienda_ledger.reports.documents import Documents
from hacienda_ledger.reports.generate import Job, Reports
from hacienda_ledger.reports.render import to_pdf
from hacienda_ledger.settings import Settings

GENERATED = datetime(2026, 1, 5, 8, 30, tzinfo=UTC)


def png(pdf: bytes, path: Path) -> None:
    page = pypdfium2.PdfDocument(pdf)[0]
    image = page.render(scale=1.25).to_pil().quantize(colors=64)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    path.write_bytes(out.getvalue())
    print(f"{path} ({len(out.getvalue()) // 1024} KiB)")


def main(out_dir: str = "docs/img") -> int:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{tmp}/demo.sqlite3")
        run_demo(settings, out=io.StringIO(), journal=False)
        ledger = Ledger(settings, clock=lambda: GENERATED)
        try:
            reports = Reports(ledger)
            aires = reports.aire_ids()
            first = aires[0]
            dsp = next(a for a in aires if ledger.aire(a).mode == Mode.DSP)
            jobs = {
                "monthly": Job("monthly", first, "2025-09"),
                "alt2": Job("alt2", first, "2025"),
                "alt2_summary": Job("alt2_summary", None, "2025"),
                "dsp": Job("dsp", dsp, "2025"),
            }
            for name, job in jobs.items():
                report, *_ = reports.model(job, GENERATED)
                png(to_pdf(report), out / f"report-{name}.png")
            documents = Documents(reports.figures)
            register = ledger.aire(first).register_ids[0]
            deposit = next(
                r["receipt_number"]
                for r in reports.queries.journal(register, None, None)
                if r["kind"] == "receipt" and r["revenue_type"] == "deposit"
            )
            journal = reports.queries.journal(register, None, None)
            paying = next(  # a receipt that settles charges: its lines, periods, tariffs
                r["receipt_number"]
                for r in journal
                if r["kind"] == "receipt" and r["revenue_type"] == "water"
            )
            png(documents.render(register, "receipt", paying).content, out / "report-receipt.png")
            png(
                documents.render(register, "deposit_receipt", deposit).content,
                out / "report-deposit-receipt.png",
            )
            png(documents.render(register, "slip", 1).content, out / "report-slip.png")
            png(
                documents.render(register, "receipt", paying, copy=2).content,
                out / "report-receipt-duplicata.png",
            )
        finally:
            ledger.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
