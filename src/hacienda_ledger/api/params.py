"""Path and query parameters: every day, moment, month, year and number a route takes,
range-checked in one place.

The ranges are the bodies' own (``schemas/common.py``): days and moments from 2000-01-01 to
2099-12-31 (a moment's own calendar day, in its offset), months and years within them, and
sequence numbers (receipts, slips) from 1 to 2^53 - 1, the largest integer JSON carries
exactly between implementations (both stores hold up to 2^63 - 1; validators of the OpenAPI
document read numbers as doubles).
A parameter outside its range is 422 ``validation_error`` naming it, before the route runs:
nothing is read, nothing is recorded. Outside these ranges the ledger's calendar arithmetic
overflowed (``as_of=0001-01-01T00:00:00+14:00`` is year 0 in UTC) and SQLite refused the
number (a 500 each). A number inside the range that names nothing is the resource's 404
(``receipt_not_found``, ``slip_not_found``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Path, Query

from hacienda_ledger.api.problems import ProblemError
from hacienda_ledger.api.schemas.common import (
    DATE_RANGE,
    MAX_NUMBER,
    Day,
    Moment,
    Month,
    Number,
    Year,
)

From = Annotated[Day | None, Query(alias="from", description=f"first day, {DATE_RANGE}")]
To = Annotated[Day | None, Query(alias="to", description=f"last day (included), {DATE_RANGE}")]
AsOf = Annotated[Moment, Query(description=f"ISO 8601 with its offset, {DATE_RANGE}")]
OptionalAsOf = Annotated[
    Moment | None, Query(description=f"ISO 8601 with its offset, {DATE_RANGE}")
]
MonthQuery = Annotated[Month, Query()]
MonthPath = Annotated[Month, Path()]
YearQuery = Annotated[Year, Query()]
NumberPath = Annotated[Number, Path()]
#: The last receipt a slip covers: 0 (or the last remitted) for a slip of no new receipt.
ThroughReceiptQuery = Annotated[
    int,
    Query(ge=0, le=MAX_NUMBER, description="the last receipt covered, from 0 to 2^53 - 1"),
]


def in_order(start: date | None, end: date | None) -> None:
    """A period's ``from`` no later than its ``to``: a reversed range is 422
    ``validation_error`` naming ``to``, not an empty answer that looks like no activity."""
    if start is not None and end is not None and start > end:
        raise ProblemError(
            422,
            "validation_error",
            f"from ({start}) is after to ({end}): give the first day first",
            field="to",
        )
