"""Tables created by one process at a time, on PostgreSQL.

Every process that opens the ledger creates what it needs (``CREATE TABLE IF NOT EXISTS``, the
library's ``CREATE OR REPLACE FUNCTION``, indexes): API workers, the projector, the
benchmarks' writers, two cashiers' processes started together. PostgreSQL does not serialise
those statements: two at once fail with "duplicate key value violates unique constraint
pg_type_typname_nsp_index" or "tuple concurrently updated" (seen in CI). Whoever creates
tables takes this advisory lock first — in its transaction (``LOCK``), or on a connection of
its own while the library's statements run on others (``LOCK_SESSION`` / ``UNLOCK_SESSION``)
— so one process creates, and the others then find everything there.
"""

from __future__ import annotations

# The key keeps its first name: processes of the version before this module was renamed
# (from ``schema.py``) and of this one, started together, still take one lock.
KEY = "hacienda_ledger_schema"
LOCK = f"SELECT pg_advisory_xact_lock(hashtext('{KEY}'))"
LOCK_SESSION = f"SELECT pg_advisory_lock(hashtext('{KEY}'))"
UNLOCK_SESSION = f"SELECT pg_advisory_unlock(hashtext('{KEY}'))"
