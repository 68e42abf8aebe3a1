"""Anonymised statistics of an aire: occupancy by day and month, ALT2 figures, revenue.

No household appears here: these are the figures analysts, the State and the CAF read."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request

from hacienda_ledger.aggregates.values import paris_day
from hacienda_ledger.api.deps import LedgerDep, UserDep
from hacienda_ledger.api.pages import PageDep
from hacienda_ledger.api.params import MonthQuery, YearQuery
from hacienda_ledger.api.routes.audit import queries
from hacienda_ledger.application.access import Permission

router = APIRouter(prefix="/v1/aires", tags=["statistics"])


def _plain(value: Any) -> Any:
    """Decimals as strings, dates as ISO text (the API's conventions)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


@router.get("/{aire_id}/occupancy")
def occupancy(
    aire_id: UUID, month: MonthQuery, request: Request, ledger: LedgerDep, user: UserDep
) -> dict[str, Any]:
    """Occupancy of one month, day by day: places available (capacity less closures and
    out-of-service emplacements), places occupied, households, people by age band, arrivals,
    departures; the month's place-days and rate (a decimal fraction), counted through
    today; ``unmet_demand``: the requests for a place not met in the month (how many,
    caravans, people, by reason)."""
    ledger.access.authorize(user, Permission.READ_STATISTICS, aire_id=aire_id)
    ledger.aire(aire_id)
    today = paris_day(ledger.clock())
    found = queries(request).occupancy(aire_id, month, today)
    unmet = queries(request).unmet_demand(aire_id, month, today)
    body = dict(asdict(found), in_service=found.in_service, unmet_demand=asdict(unmet))
    return _plain(body)  # type: ignore[no-any-return]


@router.get("/{aire_id}/alt2")
def alt2(
    aire_id: UUID, year: YearQuery, request: Request, ledger: LedgerDep, user: UserDep
) -> dict[str, Any]:
    """ALT2 figures month by month: places, occupancy days, rate, pitch-fee revenue, and the
    aid's fixed and variable parts (see docs/projections.md for the formula). Each month says
    whether it is ``sealed`` (its figures final); ``provisional`` is true while a month in
    service is not, as the ALT2 declaration marks it « PROVISOIRE »."""
    ledger.access.authorize(user, Permission.READ_STATISTICS, aire_id=aire_id)
    ledger.aire(aire_id)
    months = queries(request).alt2(aire_id, year, paris_day(ledger.clock()))
    sealed = {seal.month for seal in ledger.audit.seal_events(aire_id)}
    data = [
        _plain(dict(asdict(m), in_service=m.in_service, sealed=m.month in sealed)) for m in months
    ]
    return {
        "aire_id": str(aire_id),
        "year": year,
        "months": data,
        "aid_total_cents": sum(m.aid_cents for m in months),
        "provisional": any(m.in_service and m.month not in sealed for m in months),
    }


@router.get("/{aire_id}/revenue")
def revenue(
    aire_id: UUID,
    year: YearQuery,
    request: Request,
    ledger: LedgerDep,
    user: UserDep,
    page: PageDep,
) -> dict[str, Any]:
    """Receipts by month and revenue type (net of cancellations), with the same month of the
    previous year alongside and the difference (for DSP reporting); paginated."""
    ledger.access.authorize(user, Permission.READ_STATISTICS, aire_id=aire_id)
    ledger.aire(aire_id)
    rows, next_cursor = page.page(queries(request).revenue(aire_id, year))
    return {
        "aire_id": str(aire_id),
        "year": year,
        "data": [_plain(asdict(r)) for r in rows],
        "count": len(rows),
        "next_cursor": next_cursor,
    }
