"""An aire's documents: uploads (multipart) and verified downloads through the ASGI app.

One client (``TestClient``), an admin's token, PDFs of 0.1 MB and 10.5 MB (just under the
default ``HACIENDA_DOCUMENT_MAX_BYTES``), five uploads and five downloads of each, medians.
SQLite in a temporary folder, or the PostgreSQL database named as the argument (its tables
must be empty or absent)::

    PYTHONPATH=src .venv/bin/python -m bench.documents [postgresql://...]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from decimal import Decimal

from fastapi.testclient import TestClient

from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger
from hacienda_ledger.settings import Settings

TOKEN = "bench-documents-admin-token"
SIZES = (100_000, 10 * 1024 * 1024 - 1024)


def run(url: str) -> list[str]:
    settings = Settings(
        database_url=url,
        run_projections=False,
        reports_auto=False,
        run_retention=False,
        verify_every_hours=0,
    )
    ledger = Ledger(settings)
    ledger.access.bootstrap_admin(TOKEN)
    coll = ledger.create_collectivite(code="B", name="B", siren="244900015", actor="bench")
    aire = ledger.create_aire(
        code="49007-B", name="Bench", collectivite_id=coll.aggregate_id, sector="S",
        mode="regie", insee_code="49007", departement="49", latitude=Decimal("47.4"),
        longitude=Decimal("-0.5"), actor="bench",
    ).aggregate_id  # fmt: skip
    headers = {"Authorization": f"Bearer {TOKEN}"}
    lines = []
    with TestClient(create_app(settings, ledger=ledger)) as client:
        for size in SIZES:
            ups, downs = [], []
            for i in range(5):
                content = b"%PDF-1.4\n" + bytes([i]) * (size - 9)
                form = {"kind": "plan", "title": "Plan", "valid_from": "2025-01-01"}
                started = time.perf_counter()
                keyed = {**headers, "Idempotency-Key": f"bench-{size}-{i}"}
                answer = client.post(
                    f"/v1/aires/{aire}/documents", data=form, headers=keyed,
                    files={"file": ("plan.pdf", content, "application/pdf")},
                )  # fmt: skip
                ups.append(time.perf_counter() - started)
                assert answer.status_code == 201, answer.text
                started = time.perf_counter()
                got = client.get(
                    f"/v1/aires/{aire}/documents/{answer.json()['id']}", headers=headers
                )
                downs.append(time.perf_counter() - started)
                assert got.content == content
            up, down = statistics.median(ups) * 1000, statistics.median(downs) * 1000
            lines.append(f"{size / 1e6:.1f} MB: upload {up:.0f} ms, download {down:.0f} ms")
    ledger.close()
    return lines


def main() -> None:
    if len(sys.argv) > 1:
        lines = run(sys.argv[1])
    else:
        with tempfile.TemporaryDirectory() as tmp:
            lines = run(f"sqlite:///{tmp}/bench.sqlite3")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
