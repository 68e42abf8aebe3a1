"""The shipped boundaries of the départements (``data/departements.geojson``, issue 19):
the 101 of INSEE's list and no other, small enough to ship, and placed where the public
list of Maine-et-Loire's aires says (each of its 46 sites inside département 49)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

from matplotlib.path import Path as Outline

from hacienda_ledger.reports import pictures


def _data(name: str) -> str:
    return resources.files("hacienda_ledger").joinpath(f"data/{name}").read_text("utf-8")


def test_the_101_departements_of_insee_and_a_shippable_size() -> None:
    """The codes are INSEE's 101 (``departements-regions.json``), each with a name and at
    least one ring; the file stays under 300 KB."""
    insee = set(json.loads(_data("departements-regions.json"))["departements"])
    found = pictures.boundaries()
    assert set(found) == insee
    assert all(name and rings and all(len(r) >= 4 for r in rings) for name, rings in found.values())
    assert len(_data("departements.geojson").encode()) < 300_000


def test_every_maine_et_loire_aire_lies_in_departement_49() -> None:
    """The 46 sites of the Maine-et-Loire list (converted from Lambert-93) fall inside the
    simplified outline of 49, and none inside a neighbour."""
    sites = json.loads(_data("aires-49.json"))
    assert len(sites) == 46
    outlines = {
        code: [Outline(r) for r in rings] for code, (_, rings) in pictures.boundaries().items()
    }
    for site in sites:
        point = (float(site["longitude"]), float(site["latitude"]))
        inside = [c for c, paths in outlines.items() if any(p.contains_point(point) for p in paths)]
        assert inside == ["49"], (site["lieu"], inside)


def test_importing_the_app_reads_no_boundaries() -> None:
    """Importing the API (its pictures route names the départements it accepts) parses no
    GeoJSON: in a fresh interpreter, the boundaries' cache has missed nothing after it."""
    code = (
        "import hacienda_ledger.api.app\n"
        "from hacienda_ledger.reports import pictures\n"
        "print(pictures.boundaries.cache_info().misses)"
    )
    source = str(Path(pictures.__file__).parents[2])  # the package this test imported
    env = {**os.environ, "PYTHONPATH": source}
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert found.stdout.split() == ["0"]


def test_the_codes_the_route_accepts_are_the_boundaries_codes() -> None:
    """``DEPARTEMENTS`` (what the pictures route's ``departement`` accepts, known without
    reading the file) is the boundaries' 101 codes, sorted."""
    assert tuple(sorted(pictures.boundaries())) == pictures.DEPARTEMENTS
