"""Whether an emplacement takes a stay arriving on a day (``Aire.admit``).

An arrival may be recorded late, back-dated to the day the household came. The stay then
occupies its emplacement from that day up to now, so the emplacement must have been free
all that time: no stay on it now, and none left it after the arrival day. The stays on one
emplacement follow one another (each admitted once the one before has left, on or after
the day it left), so the last one to leave it is the one that left it last: its end day
(``Stay.end_day``, the first day it no longer occupied it) is the first day a new stay may
arrive on it.
"""

from __future__ import annotations

from datetime import date

from hacienda_ledger.aggregates.aire_values import Emplacement
from hacienda_ledger.aggregates.errors import EmplacementUnavailable


def check_admission(
    e: Emplacement,
    *,
    arrival_day: date,
    closed: bool,
    occupied: bool,
    left_on: date | None,
) -> None:
    """``EmplacementUnavailable`` unless ``e`` takes a stay arriving on ``arrival_day``: it
    is in service that day, the aire open (``closed``: it is not), no stay on it now
    (``occupied``: one is), and its last stay (if any) left it on or before that day
    (``left_on``: the end day of the stay that left it last, None when none has)."""
    if e.in_service_from is not None and arrival_day < e.in_service_from:
        raise EmplacementUnavailable(
            f"emplacement {e.number} enters service on {e.in_service_from}",
            field="emplacement",
        )
    if not e.in_service_on(arrival_day):
        raise EmplacementUnavailable(
            f"emplacement {e.number} is out of service", field="emplacement"
        )
    if closed:
        raise EmplacementUnavailable("the aire is closed that day", field="arrived_at")
    if occupied:
        raise EmplacementUnavailable(
            f"emplacement {e.number} is occupied: a stay is on it now, which a stay arriving "
            f"on {arrival_day} would share",
            field="emplacement",
        )
    if left_on is not None and arrival_day < left_on:
        raise EmplacementUnavailable(
            f"emplacement {e.number} was occupied on {arrival_day} by a stay recorded on it: "
            f"free from {left_on} on",
            field="emplacement",
        )
