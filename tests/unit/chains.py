"""Expected events of a chained aggregate (the aire, a stay) in given → when → then tests.

``after(head)`` gives the two chain fields of an expected event that follows ``head``: its
``prev_hash`` is ``head`` and its ``hash`` is computed from its own content when it is
built, as the aggregate computes it. An expected event equal to the one recorded therefore
also checks both of its links.
"""

from __future__ import annotations

from hacienda_ledger.aggregates.chained import UNCHAINED
from hacienda_ledger.aggregates.integrity import GENESIS


def after(head: str = GENESIS) -> dict[str, str]:
    return {"prev_hash": head, "hash": UNCHAINED}
