"""Draw the analytics pictures of docs/analytics.md from a generated world.

    hacienda-ledger --database-url sqlite:////tmp/gen.sqlite3 demo generate \\
        --aires 24 --years 1 --seed 1 --start-year 2025
    .venv/bin/python scripts/analytics_pictures.py sqlite:////tmp/gen.sqlite3 [OUT_DIR]

Publishes the analytics tables as of 31 December 2025 (threshold 11) and writes the map of
France, the map of the département with the most aires (the first by code among equals)
and its months, each as PNG and SVG, into OUT_DIR (default docs/img):
``analytics-france``, ``analytics-departement``, ``analytics-series``. The same world
gives the same bytes.
"""

from __future__ import annotations

import sys
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

from hacienda_ledger.application import Ledger
from hacienda_ledger.application.analytics import Analytics
from hacienda_ledger.application.projecting import ProjectionQueries
from hacienda_ledger.reports.analytics_pictures import picture
from hacienda_ledger.settings import Settings

AS_OF = date(2025, 12, 31)


def main(url: str, out_dir: str = "docs/img") -> int:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    settings = Settings(database_url=url)
    ledger = Ledger(settings, clock=lambda: datetime(2026, 1, 5, 8, tzinfo=UTC))
    try:
        analytics = Analytics(ProjectionQueries(ledger), settings.analytics_threshold)
        aires = Counter(
            str(r["departement"])
            for r in analytics.table("aire_year", AS_OF, {"period": str(AS_OF.year)})
        )
        busiest = min(aires, key=lambda code: (-aires[code], code))
        print(f"département {busiest} ({aires[busiest]} aires)")
        pictures = {
            "analytics-france": ("france", None),
            "analytics-departement": ("departement", busiest),
            "analytics-series": ("series", busiest),
        }
        for stem, (name, departement) in pictures.items():
            for fmt in ("png", "svg"):
                content = picture(analytics, name, fmt, AS_OF, departement=departement, year=2025)
                path = out / f"{stem}.{fmt}"
                path.write_bytes(content)
                print(f"{path} ({len(content) // 1024} KiB)")
    finally:
        ledger.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
