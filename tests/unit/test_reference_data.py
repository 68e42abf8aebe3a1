"""The packaged list of Maine-et-Loire sites is the shared source converted to WGS84."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from hacienda_ledger.demo import reference_sites

FIXTURE = Path(__file__).parents[1] / "fixtures/aires-maine-et-loire-2022.geojson"


def test_packaged_sites_match_a_fresh_conversion_of_the_source() -> None:
    """Re-running the pyproj conversion on the source gives exactly the packaged file."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "convert_aires", Path(__file__).parents[2] / "scripts/convert_aires.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.convert(FIXTURE) == reference_sites()


def test_every_site_lies_in_maine_et_loire() -> None:
    """46 sites, all inside the département's bounding box (lat 46.9-47.9, lon -1.4-0.3)."""
    sites = reference_sites()
    assert len(sites) == 46
    for site in sites:
        assert Decimal("46.9") < Decimal(site["latitude"]) < Decimal("47.9"), site
        assert Decimal("-1.4") < Decimal(site["longitude"]) < Decimal("0.3"), site
    angers = {s["lieu"]: s for s in sites}["Angers les Chalets"]
    assert abs(Decimal(angers["latitude"]) - Decimal("47.47")) < Decimal("0.05")


def test_every_departement_has_its_region() -> None:
    """The packaged départements → régions (INSEE): all 101 départements (01–95 less 20,
    2A and 2B, the five overseas), each in one of the 18 régions, which all hold one."""
    from hacienda_ledger.projections.analytics import regions

    names, region_of = regions()
    mainland = {f"{n:02d}" for n in range(1, 96) if n != 20} | {"2A", "2B"}
    assert set(region_of) == mainland | {"971", "972", "973", "974", "976"}
    assert len(region_of) == 101 and len(names) == 18
    assert set(region_of.values()) == set(names)
    assert (region_of["49"], names["52"]) == ("52", "Pays de la Loire")
    assert (region_of["2B"], region_of["75"], region_of["976"]) == ("94", "11", "06")
