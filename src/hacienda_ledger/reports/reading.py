"""The stored reports as a caller may read them: listed within their scope, fetched by id.

A report outside the caller's scope is not found (``report_not_found``), as if it did not
exist; which kinds a role reads and which aires are in its scope is ``may_read_report``.
"""

from __future__ import annotations

from uuid import UUID

from hacienda_ledger.aggregates.errors import ReportNotFound
from hacienda_ledger.aggregates.user import User
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.access import AireScope, Permission, authorize, may_read_report
from hacienda_ledger.reports.store import ReportStore, StoredReport, valid_id


def _scope(ledger: Ledger, report: StoredReport) -> AireScope | None:
    return ledger.access.aire_scope(UUID(report.aire_id)) if report.aire_id else None


def readable(
    ledger: Ledger,
    store: ReportStore,
    user: User,
    *,
    kind: str | None = None,
    aire_id: UUID | None = None,
    period: str | None = None,
) -> list[StoredReport]:
    """The stored reports the user may read, filtered by kind, aire and period (an aire
    outside the user's scope is 403, not an empty list)."""
    authorize(user, Permission.READ_REPORTS)
    if aire_id is not None:
        authorize(user, Permission.READ_REPORTS, ledger.access.aire_scope(aire_id))
    found = store.list(kind=kind, aire_id=str(aire_id) if aire_id else None, period=period)
    return [r for r in found if may_read_report(user, r.kind, _scope(ledger, r))]


def read(
    ledger: Ledger, store: ReportStore, user: User, report_id: str
) -> tuple[StoredReport, bytes]:
    """A stored report and its bytes; one outside the user's scope is not found."""
    authorize(user, Permission.READ_REPORTS)
    stored, content = store.get(valid_id(report_id))
    if not may_read_report(user, stored.kind, _scope(ledger, stored)):
        raise ReportNotFound(f"no report {report_id}")
    return stored, content
