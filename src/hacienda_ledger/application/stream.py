"""One stored event read by its aggregate and version, straight from the events table.

A write's answer names the event's stream position (its notification id), and a replayed
write answers with the event its first answer named: one round trip each, on PostgreSQL a
single read on the pool's autocommit connection (no BEGIN/ROLLBACK), prepared.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    from hacienda_ledger.application.ledger import Ledger


def stored_row(ledger: Ledger, aggregate_id: UUID, version: int) -> tuple[int, str, bytes] | None:
    """(stream position, topic, stored state) of one event, or None if there is none."""
    datastore: Any = ledger.recorder.datastore  # type: ignore[attr-defined]
    if ledger.settings.is_postgres:
        sql = (
            f"SELECT notification_id, topic, state FROM {ledger.name.lower()}_events "
            "WHERE originator_id = %s AND originator_version = %s"
        )
        with datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(sql, (aggregate_id, version), prepare=True)
            found = curs.fetchone()
        if found is None:
            return None
        return int(found["notification_id"]), found["topic"], bytes(found["state"])
    with datastore.transaction(commit=False) as curs:
        curs.execute(
            "SELECT rowid, topic, state FROM stored_events WHERE originator_id = ? "
            "AND originator_version = ?",
            (aggregate_id.hex, version),
        )
        row = curs.fetchone()
    return (int(row[0]), row[1], bytes(row[2])) if row else None
