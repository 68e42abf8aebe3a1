"""The generator's plan of a world: plausible places, sizes, modes and tariff calendars,
the same for a seed, and a seasonal occupancy target within 60–90 %."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

import pytest

from hacienda_ledger.generator import (
    DEPARTEMENTS,
    GenerationSummary,
    plan_world,
    target_rate,
)


def test_a_national_plan_is_plausible() -> None:
    """250 aires over many départements, INSEE codes of their département, coordinates
    inside it, 8–40 emplacements, all three management modes, collectivités of 1–4 aires,
    and one or two tariff changes a year after the first tariff."""
    collectivites, sites = plan_world(250, 10, seed=1, start_year=2016)
    assert len(sites) == 250
    assert len({s.code for s in sites}) == 250
    assert len({s.register_id for s in sites}) == 250
    centres = {
        code: (Decimal(lat), Decimal(lon), Decimal(w)) for code, _, lat, lon, w in DEPARTEMENTS
    }
    for site in sites:
        assert site.insee.startswith(site.departement)
        assert len(site.insee) == 5 and site.insee[2:].isdigit()
        lat, lon, spread = centres[site.departement]
        if site.departement != "49":  # Maine-et-Loire aires stand on the public list's sites
            assert abs(site.latitude - lat) <= spread
            assert abs(site.longitude - lon) <= spread
        assert 8 <= site.emplacements <= 40
        years = Counter(t.effective_from.year for _, t in site.tariffs)
        assert years[2016] == 2  # the first tariff and its July change
        assert all(1 <= years[y] <= 2 for y in range(2017, 2026))
        for adopted, tariff in site.tariffs[1:]:
            assert (tariff.effective_from - adopted).days == 31
        for notice, start, _ in site.closures:
            assert (start - notice).days == 75  # told at least 2 months ahead
    assert len({s.departement for s in sites}) >= 30
    assert {c.mode for c in collectivites} == {"regie", "marche", "dsp"}
    sizes = Counter(s.collectivite for s in sites)
    assert set(sizes.values()) <= {1, 2, 3, 4}
    assert sum(1 for s in sites if s.closures) > 100
    assert sum(1 for s in sites if s.outages) > 200


def test_a_plan_depends_on_the_seed_only() -> None:
    """Same seed, same plan (repr of every collectivité and site); another seed, another."""
    assert repr(plan_world(20, 2, seed=5, start_year=2020)) == repr(
        plan_world(20, 2, seed=5, start_year=2020)
    )
    assert repr(plan_world(20, 2, seed=5, start_year=2020)) != repr(
        plan_world(20, 2, seed=6, start_year=2020)
    )


def test_the_seasonal_target_stays_within_60_and_90_percent() -> None:
    """Wintering fills the aires (January), spring empties them (May)."""
    for month in range(1, 13):
        for offset in (-0.04, 0.0, 0.04):
            assert 0.60 <= target_rate(date(2025, month, 15), offset) <= 0.90
    assert target_rate(date(2025, 1, 15), 0) > target_rate(date(2025, 5, 15), 0) + 0.2


def test_sizes_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="aires"):
        plan_world(0, 1, seed=1, start_year=2020)
    with pytest.raises(ValueError, match="years"):
        plan_world(1, 31, seed=1, start_year=2020)


def test_a_register_with_five_years_needs_five_years() -> None:
    """The benchmarks' register with 5 years of events: only from a 5-year generation."""
    register = plan_world(1, 1, seed=1, start_year=2020)[1][0].register_id
    summary = GenerationSummary(
        events=1,
        aires=1,
        registers=(register,),
        collectivites=1,
        stays=0,
        first_day=date(2020, 1, 1),
        last_day=date(2024, 12, 31),
        seconds=1.0,
        bulk=True,
    )
    assert summary.register_with_history(5) == register
    with pytest.raises(ValueError, match="not 6 years"):
        summary.register_with_history(6)
