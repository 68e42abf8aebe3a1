"""Receivables per household: the balances projection links stays to their household."""

from __future__ import annotations

from datetime import date, timedelta

from hacienda_ledger.application import Ledger
from hacienda_ledger.application.projecting import ProjectionQueries, household_receivables
from tests.conftest import Clock, Site


def test_a_household_owes_the_sum_of_its_stays(ledger: Ledger, site: Site, clock: Clock) -> None:
    """Two stays of one household on two emplacements: each stay's receivable is listed
    under the household, and as of an earlier instant only what was charged by then."""
    household = site.household()
    first = site.arrive("1", household_ref=household)
    second = site.arrive("2", household_ref=household)
    site.arrive("3")  # another household's stay is not listed
    before = clock()
    clock.advance(days=3)
    ledger.assess_charges(first, through=date(2025, 1, 8), actor="c")  # 3 days
    ledger.assess_charges(second, through=date(2025, 1, 7), actor="c")  # 2 days
    ledger.post_receipt(
        site.register_id, stay_id=first, method="card", lines=[("pitch_fee", 300)], actor="c"
    )
    queries = ProjectionQueries(ledger)
    owed = household_receivables(queries, household)
    assert owed == {f"receivable/{first}": 900 - 300, f"receivable/{second}": 600}
    earlier = household_receivables(queries, household, before + timedelta(seconds=1))
    assert earlier == {f"receivable/{first}": 0, f"receivable/{second}": 0}
