"""Convert the shared list of Maine-et-Loire sites from Lambert-93 to WGS84 (lat/lon).

Source: ../shared/data/aires-maine-et-loire-2022.geojson (public repository
SIGGIF/aire_accueil_gens_voyage_49_2022). Output: src/hacienda_ledger/data/aires-49.json,
committed so that the package needs no projection library at run time. Run:

    .venv/bin/python scripts/convert_aires.py ../shared/data/aires-maine-et-loire-2022.geojson
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

from pyproj import Transformer

OUT = Path(__file__).resolve().parents[1] / "src/hacienda_ledger/data/aires-49.json"


def convert(source: Path) -> list[dict[str, str]]:
    data = json.loads(source.read_text(encoding="utf-8"))
    to_wgs84 = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)
    sites = []
    for feature in data["features"]:
        x, y = feature["geometry"]["coordinates"]
        lon, lat = to_wgs84.transform(x, y)
        sites.append(
            {
                "lieu": feature["properties"]["LIEU"],
                "type": feature["properties"]["TYPE"],
                "latitude": str(Decimal(repr(lat)).quantize(Decimal("0.000001"))),
                "longitude": str(Decimal(repr(lon)).quantize(Decimal("0.000001"))),
            }
        )
    return sites


if __name__ == "__main__":
    sites = convert(Path(sys.argv[1]))
    OUT.write_text(json.dumps(sites, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(sites)} sites -> {OUT}")
