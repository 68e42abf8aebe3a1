"""What a cash register records besides money in and out: closures, rules and prints.

Each command function here is a method of ``CashRegister`` (``register`` binds it by name):
the closure of a day, month or year (sealing its totals, revenue apart from the funds held
for others, and the chain's head), the régie's rules as an act amending its acte
constitutif sets them, and the print of a document (receipt, deposit receipt, slip): its
original once, then numbered duplicatas.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import TYPE_CHECKING

from hacienda_ledger.aggregates.errors import InvalidValue, ReceiptNotFound, SlipNotFound
from hacienda_ledger.aggregates.register_books import DOCUMENTS, closure_span, sealed_totals
from hacienda_ledger.aggregates.register_rules import RegieRules, RemittanceFrequency
from hacienda_ledger.aggregates.register_state import CashRegisterState
from hacienda_ledger.aggregates.values import Period

if TYPE_CHECKING:
    from hacienda_ledger.aggregates.register import CashRegister


# --- checks -----------------------------------------------------------------------------


def existing_document(register: CashRegisterState, document: str, number: int) -> str:
    """The key of a document that exists (``receipt/12``, ``slip/3``)."""
    if document not in DOCUMENTS:
        raise InvalidValue(f"document is one of {', '.join(DOCUMENTS)}", field="document")
    last = register.last_slip_number if document == "slip" else register.last_number
    if not 1 <= number <= last:
        raise (SlipNotFound if document == "slip" else ReceiptNotFound)(
            f"no {document.replace('_', ' ')} {number} on this register", field="number"
        )
    return f"{document}/{number}"


# --- commands (methods of CashRegister) -------------------------------------------------


def close_period(
    self: CashRegister, *, period: Period | str, day: date, actor: str, at: datetime
) -> None:
    """Seal a day, month or year: totals, perpetual grand total and the chain head."""
    period, start, end = closure_span(
        period,
        day,
        at=at,
        opened_at=self.created_on,
        closed_through=self.closed_through,
        closed_months=self.closed_months,
        closed_years=self.closed_years,
    )
    event_class = {
        Period.DAY: self.DayClosed,
        Period.MONTH: self.MonthClosed,
        Period.YEAR: self.YearClosed,
    }[period]
    # A closure may seal a day the clock has already left: it is dated now, and only
    # later events are refused inside it.
    self._append(
        event_class,
        at,
        start=start,
        end=end,
        totals=sealed_totals(self.daily_totals, start, end),
        perpetual_total_cents=self.perpetual_total_cents,
        sealed_version=self.version,
        sealed_hash=self.head_hash,
        actor=actor,
        third_party=sealed_totals(self.daily_third_party, start, end),
    )


def set_rules(
    self: CashRegister,
    *,
    decision_ref: str,
    cash_ceiling_cents: int,
    remittance_frequency: RemittanceFrequency | str,
    remittance_days: int | None,
    cheque_working_days: int,
    actor: str,
    at: datetime,
) -> RegieRules:
    """Record the régie's rules as an act amending its acte constitutif sets them."""
    rules = RegieRules.checked(
        decision_ref=decision_ref,
        cash_ceiling_cents=cash_ceiling_cents,
        remittance_frequency=remittance_frequency,
        remittance_days=remittance_days,
        cheque_working_days=cheque_working_days,
    )
    self._append(self.RulesSet, at, **asdict(rules), actor=actor)
    return rules


def print_original(
    self: CashRegister, *, document: str, number: int, actor: str, at: datetime
) -> bool:
    """The first print of a document is its original: recorded (``DocumentPrinted``),
    True. A document printed before records nothing here, False: a later print is a
    duplicata, recorded by ``reprint``."""
    if existing_document(self, document, number) in getattr(self, "reprints", {}):
        return False
    self._append(self.DocumentPrinted, at, document=document, number=number, actor=actor)
    return True


def reprint(self: CashRegister, *, document: str, number: int, actor: str, at: datetime) -> int:
    """Record one more copy of a printed document; returns its copy number (1, 2...).

    ``document`` is ``receipt`` or ``deposit_receipt`` (numbered by receipt) or
    ``slip`` (numbered by bordereau). A reprint is dated now, so it is refused only when
    now lies in a closed period (never, in practice: closures seal the past)."""
    key = existing_document(self, document, number)
    copy = int(getattr(self, "reprints", {}).get(key, 0)) + 1
    self._append(
        self.DocumentReprinted, at, document=document, number=number, copy=copy, actor=actor
    )
    return copy
