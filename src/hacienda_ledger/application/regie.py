"""What a register owes the régie's rules on a day: its alerts and its cash position.

Both are computed from the register itself (the aggregate, loaded from its events), never
from a projection, so they are exact at the instant asked for: now (the Ledger's clock) for
``GET /v1/registers/{id}/alerts``, or the last instant of a month for the monthly report.
The rules are the domain's (``aggregates/register_rules.py``); the working days are those of
the register's aire (its département's public holidays, ``calendar.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING
from uuid import UUID

from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.aggregates.register_rules import (
    Alert,
    MethodPosition,
    alerts,
    cash_position,
)
from hacienda_ledger.aggregates.values import paris_day
from hacienda_ledger.application.calendar import working_days

if TYPE_CHECKING:
    from hacienda_ledger.application.ledger import Ledger


@dataclass(frozen=True)
class Standing:
    """A register on a day: what is due or late, and what it holds not yet remitted."""

    register: CashRegister
    today: date
    alerts: tuple[Alert, ...]
    position: tuple[MethodPosition, ...]


def standing(ledger: Ledger, register_id: UUID, as_of: datetime | None = None) -> Standing:
    """The register's standing now, or as it stood at ``as_of`` (the register as of then,
    the alerts for that Paris day): ``RegisterNotFound`` if it did not exist then."""
    if as_of is None:
        register = ledger.cash_register(register_id)
        today = paris_day(ledger.now())
    else:
        register = ledger.audit.register_as_of(register_id, as_of)
        today = paris_day(as_of)
    is_working = working_days(ledger.aire(register.aire_id).departement)
    return Standing(
        register,
        today,
        alerts(register, today, is_working),
        cash_position(register, today, register.payment_methods),
    )
