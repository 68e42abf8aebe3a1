"""How the demo's households pay (``demo._simulate``): what is due, line by line (« settle
the balance »), and, for about one household in six, a week of pitch fee ahead at arrival
(an advance: held for the stay, applied by the charges assessed, what is left refunded when
it leaves; issue 15)."""

from __future__ import annotations

import random
from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    from hacienda_ledger.application import Ledger


def pay_ahead(
    ledger: Ledger,
    ahead: random.Random,
    stay_id: UUID,
    day: date,
    info: dict[str, Any],
) -> None:
    """About one household in six pays a week of pitch fee ahead at arrival (an advance:
    held for it, applied by the charges assessed, what is left refunded when it leaves)."""
    tariff = ledger.aire(info["aire"]).tariff_on(day)
    if ahead.random() >= 0.16 or tariff is None:
        return
    info["advance_method"] = ahead.choice(["cash", "cash", "card"])
    ledger.post_receipt(
        info["register"],
        stay_id=stay_id,
        method=info["advance_method"],
        lines=[("advance", 7 * tariff.pitch_fee_per_day_cents)],
        actor="cashier-anjou",
        idempotency_key=f"demo-advance-{stay_id}",
    )


def settle(ledger: Ledger, register_id: UUID, stay_id: UUID, method: str, key: str) -> None:
    """Pay what the stay owes, line by line (« settle the balance »), if anything."""
    if ledger.stay(stay_id).settlement.due_by_type():
        ledger.post_receipt(
            register_id,
            stay_id=stay_id,
            method=method,
            settle_balance=True,
            actor="cashier-anjou",
            idempotency_key=key,
        )
