"""``hacienda-ledger documents sweep``: the stored bytes that no document names (what
refused uploads left), deleted once older than the grace (application/documents.py)."""

from __future__ import annotations

from hacienda_ledger.application import Ledger
from hacienda_ledger.application.documents import sweep_orphans


def sweep(ledger: Ledger) -> int:
    """0, whether or not anything was deleted (said in one line)."""
    swept = sweep_orphans(ledger, actor="cli")
    hours = ledger.settings.document_orphan_grace_hours
    print(
        f"documents' bytes named by no document: {swept.deleted} deleted "
        f"({swept.bytes:,} bytes), stored before {swept.before.isoformat()} "
        f"(HACIENDA_DOCUMENT_ORPHAN_GRACE_HOURS={hours:g})"
    )
    return 0
