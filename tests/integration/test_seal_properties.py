"""A sealed month stays what it was: whatever valid commands follow a seal (arrivals,
readings, charges, receipts, cancellations of the sealed month's receipts, departures,
tariffs, closures, register closures), the sealed month's seal and the figures its documents
are built from (the monthly report's, January's ALT2 line) are identical. Commands the ledger
refuses are part of the sequence too: they must change nothing. The clock walks through
February and March one day at a time."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import hypothesis
from hypothesis import HealthCheck
from hypothesis import strategies as st

from hacienda_ledger.aggregates.errors import LedgerError
from hacienda_ledger.application import Ledger
from hacienda_ledger.reports.generate import Reports
from hacienda_ledger.settings import Settings
from tests.conftest import Clock, standard_tariff
from tests.integration.test_seals import January

Action = Callable[[January, int], Any]


def _receipt(j: January, n: int) -> Any:
    lines = [("pitch_fee", 100 + n), ("water", n)]
    return j.ledger.post_receipt(
        j.site.register_id, stay_id=j.stay_id, method="card", lines=lines, actor="c"
    )


def _arrival(j: January, n: int) -> Any:
    household = j.site.household(f"Famille {n}")
    return j.site.arrive(str(2 + n % 3), household_ref=household)


def _reading(j: January, n: int) -> Any:
    index = Decimal(104 + n)
    return j.ledger.record_meter_reading(
        j.stay_id, meter="water", index=index, read_at=j.clock(), actor="c"
    )


def _charges(j: January, n: int) -> Any:
    return j.ledger.assess_charges(j.stay_id, through=j.clock().date(), actor="c")


def _cancel(j: January, n: int) -> Any:
    return j.ledger.cancel_receipt(
        j.site.register_id, number=1 + n % 3, reason="régularisation", actor="c"
    )


def _depart(j: January, n: int) -> Any:
    return j.ledger.depart(
        j.stay_id,
        departed_at=j.clock(),
        exit_inspection_ref="EDL-S",
        water_index=Decimal(200),
        electricity_index=Decimal(3000),
        actor="c",
    )


def _tariff(j: January, n: int) -> Any:
    effective = j.clock().date() + timedelta(days=n % 20)
    return j.ledger.adopt_tariff(
        j.site.aire_id, standard_tariff(effective, pitch_fee_per_day_cents=500 + n), actor="m"
    )


def _closure(j: January, n: int) -> Any:
    start = j.clock().date() + timedelta(days=1 + n % 10)
    return j.ledger.schedule_closure(
        j.site.aire_id,
        start=start,
        end=start + timedelta(days=2),
        reason="x",
        urgent=True,
        actor="m",
    )


def _day_closed(j: January, n: int) -> Any:
    day = j.clock().date() - timedelta(days=1)
    return j.ledger.close_period(j.site.register_id, period="day", day=day, actor="r")


def _back_dated(j: January, n: int) -> Any:
    """Anything dated in January (an arrival on the 25th, a reading, charges through the
    31st, a tariff from the 15th): always refused once January is sealed."""
    january = j.clock() - timedelta(days=40 + n % 5)
    if n % 4 == 0:
        household = j.site.household(f"Famille tardive {n}")
        return j.site.arrive("4", household_ref=household, arrived_at=january)
    if n % 4 == 1:
        return j.ledger.record_meter_reading(
            j.stay_id, meter="water", index=Decimal(150), read_at=january, actor="c"
        )
    if n % 4 == 2:
        return j.ledger.assess_charges(j.stay_id, through=date(2025, 1, 31), actor="c")
    return j.ledger.adopt_tariff(j.site.aire_id, standard_tariff(date(2025, 1, 15)), actor="m")


ACTIONS: dict[str, Action] = {
    "receipt": _receipt,
    "arrival": _arrival,
    "reading": _reading,
    "charges": _charges,
    "cancel": _cancel,
    "depart": _depart,
    "tariff": _tariff,
    "closure": _closure,
    "day closed": _day_closed,
    "back-dated": _back_dated,
}


def sealed_january(path: Path) -> January:
    clock = Clock()
    ledger = Ledger(Settings(database_url=f"sqlite:///{path}"), clock=clock)
    january = January(ledger, clock)
    _receipt(january, 7)
    january.seal_january()
    return january


def january_figures(january: January) -> tuple[Any, ...]:
    reports = Reports(january.ledger)
    aire_id = january.site.aire_id
    monthly = reports.figures.monthly(aire_id, "2025-01")
    alt2 = reports.figures.alt2(aire_id, 2025).months[0]
    return monthly, alt2, tuple(january.ledger.audit.seal_events(aire_id))


@hypothesis.settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@hypothesis.given(
    st.lists(
        st.tuples(st.sampled_from(sorted(ACTIONS)), st.integers(0, 30), st.integers(0, 3)),
        min_size=1,
        max_size=12,
    )
)
def test_whatever_follows_a_seal_the_sealed_month_stays_the_same(
    steps: list[tuple[str, int, int]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        january = sealed_january(Path(tmp) / "p.sqlite3")
        try:
            before = january_figures(january)
            assert before[0].arrivals == 1 and before[1].month == "2025-01"
            for name, n, days in steps:
                january.clock.advance(days=days, hours=1)
                with contextlib.suppress(LedgerError):  # a refusal records nothing
                    ACTIONS[name](january, n)
            assert january.clock().date() >= date(2025, 2, 3)
            assert january_figures(january) == before
        finally:
            january.ledger.close()
