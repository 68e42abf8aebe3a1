"""Right of access: everything the ledger holds about one household, gathered in one read.

Its record and documents come from the household itself (``Households.read``); this module
gathers the rest, by the household's stays: each stay with its meter readings and its
extensions (with their why, decrypted while the household's key exists), and, from the
registers of the aires where it stayed, every receipt naming the household or one of its
stays (lines, amounts, number, when, cancelled or not, and why), every deposit refunded or
withheld, every advance (money paid ahead of charges) received, applied to charges (naming
the charges it paid, from the stay's settlement) or refunded, and every receipt document
printed for it (original and duplicates).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from hacienda_ledger.aggregates.household import Erased, Household, Justification
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.aggregates.stay import MeterReading, Stay

if TYPE_CHECKING:
    from hacienda_ledger.application.ledger import Ledger

RECEIPT_DOCUMENTS = ("receipt", "deposit_receipt")
DEPOSIT_MOVES = (CashRegister.DepositRefunded, CashRegister.DepositWithheld)
PRINTS = (CashRegister.DocumentPrinted, CashRegister.DocumentReprinted)


@dataclass(frozen=True)
class ExtensionRecord:
    version: int
    granted_at: datetime
    until: date
    reason: str | Erased | None  # None: no why was recorded (the household was erased first)
    evidence_ref: str | Erased | None


@dataclass(frozen=True)
class StayRecord:
    stay: Stay
    readings: tuple[MeterReading, ...]
    extensions: tuple[ExtensionRecord, ...]


@dataclass(frozen=True)
class ReceiptRecord:
    register_id: UUID
    number: int
    issued_at: datetime
    stay_id: UUID | None
    method: str
    lines: tuple[tuple[str, int], ...]  # revenue type, amount in cents
    total_cents: int
    cancelled_at: datetime | None = None
    cancellation_reason: str | None = None


@dataclass(frozen=True)
class DepositRecord:
    """A deposit refunded (``refunded``) or withheld (``withheld``, with its reason)."""

    register_id: UUID
    stay_id: UUID
    at: datetime
    kind: str
    amount_cents: int
    method: str | None
    reason: str | None
    reference: str | None


@dataclass(frozen=True)
class AdvanceRecord:
    """An advance of a stay: ``received`` (or ``cancelled``, with the receipt's number),
    ``applied`` to charges (the cents by revenue type, and each charge it paid: its name as
    ``GET /v1/stays/{id}`` gives it, its type and the cents) or ``refunded`` (the method)."""

    register_id: UUID
    stay_id: UUID
    at: datetime
    kind: str
    amount_cents: int
    method: str | None = None
    receipt_number: int | None = None
    by_revenue_type: tuple[tuple[str, int], ...] = ()
    charges: tuple[tuple[str, str, int], ...] = ()  # charge, revenue type, cents
    reference: str | None = None  # <register>/advance/<version> for an application


@dataclass(frozen=True)
class PrintedRecord:
    """A receipt document printed: its original (``duplicate`` 0) or a duplicate."""

    register_id: UUID
    document: str
    number: int
    duplicate: int
    printed_at: datetime


@dataclass
class Disclosure:
    stays: list[StayRecord]
    receipts: list[ReceiptRecord]
    deposits: list[DepositRecord]
    printed: list[PrintedRecord]
    advances: list[AdvanceRecord]


def _extensions(stay: Stay, why: dict[int, Justification]) -> tuple[ExtensionRecord, ...]:
    return tuple(
        ExtensionRecord(
            g.version,
            g.granted_at,
            g.until,
            why[g.version].reason if g.version in why else None,
            why[g.version].evidence_ref if g.version in why else None,
        )
        for g in stay.extensions
    )


class _Registers:
    """What one household finds in the registers' events: a fold over them."""

    def __init__(self, household_id: UUID, stay_ids: set[UUID]) -> None:
        self.household_id, self.stay_ids = household_id, stay_ids
        self.found = Disclosure([], [], [], [], [])
        self.receipts: dict[tuple[UUID, int], int] = {}  # -> index in found.receipts

    def concerns(self, event: Any) -> bool:
        return (
            getattr(event, "household_ref", None) == self.household_id
            or getattr(event, "stay_id", None) in self.stay_ids
        )

    def fold(self, register_id: UUID, event: Any) -> None:
        found = self.found
        self._advances(register_id, event)
        if isinstance(event, CashRegister.ReceiptIssued) and self.concerns(event):
            self.receipts[(register_id, event.number)] = len(found.receipts)
            found.receipts.append(
                ReceiptRecord(
                    register_id=register_id,
                    number=event.number,
                    issued_at=event.timestamp,
                    stay_id=event.stay_id,
                    method=event.method,
                    lines=tuple((x.revenue_type, x.amount_cents) for x in event.lines),
                    total_cents=event.total_cents,
                )
            )
        elif isinstance(event, CashRegister.ReceiptCancelled):
            at = self.receipts.get((register_id, event.number))
            if at is not None:
                found.receipts[at] = replace(
                    found.receipts[at],
                    cancelled_at=event.timestamp,
                    cancellation_reason=event.reason,
                )
        elif isinstance(event, DEPOSIT_MOVES) and event.stay_id in self.stay_ids:
            refunded = isinstance(event, CashRegister.DepositRefunded)
            found.deposits.append(
                DepositRecord(
                    register_id=register_id,
                    stay_id=event.stay_id,
                    at=event.timestamp,
                    kind="refunded" if refunded else "withheld",
                    amount_cents=event.amount_cents,
                    method=getattr(event, "method", None),
                    reason=getattr(event, "reason", None),
                    reference=getattr(event, "reference", None),
                )
            )
        elif (
            isinstance(event, PRINTS)
            and event.document in RECEIPT_DOCUMENTS
            and (register_id, event.number) in self.receipts
        ):
            found.printed.append(
                PrintedRecord(
                    register_id=register_id,
                    document=event.document,
                    number=event.number,
                    duplicate=getattr(event, "copy", 0),
                    printed_at=event.timestamp,
                )
            )

    def _advances(self, register_id: UUID, event: Any) -> None:
        stay_id = getattr(event, "stay_id", None)
        if stay_id is None or stay_id not in self.stay_ids:
            return
        add, at = self.found.advances.append, event.timestamp
        if isinstance(event, CashRegister.ReceiptIssued | CashRegister.ReceiptCancelled):
            cents = sum(x.amount_cents for x in event.lines if x.revenue_type == "advance")
            if cents:
                kind = "received" if isinstance(event, CashRegister.ReceiptIssued) else "cancelled"
                add(
                    AdvanceRecord(register_id, stay_id, at, kind, cents, event.method, event.number)
                )
        elif isinstance(event, CashRegister.AdvanceApplied):
            add(
                AdvanceRecord(
                    register_id,
                    event.stay_id,
                    at,
                    "applied",
                    event.amount_cents,
                    by_revenue_type=tuple((x.revenue_type, x.amount_cents) for x in event.lines),
                    reference=f"{register_id}/advance/{event.originator_version}",
                )
            )
        elif isinstance(event, CashRegister.AdvanceRefunded):
            add(
                AdvanceRecord(
                    register_id, event.stay_id, at, "refunded", event.amount_cents, event.method
                )
            )


def _charges_paid(found: Disclosure, stays: list[Stay]) -> None:
    """Each advance applied names the charges it paid, from its stay's settlement."""
    paid: dict[str, list[tuple[str, str, int]]] = {}
    for stay in stays:
        for due in stay.settlement.dues:
            for reference, cents in due.settled.items():
                paid.setdefault(reference, []).append((due.charge, due.revenue_type, cents))
    found.advances[:] = [
        replace(a, charges=tuple(paid.get(a.reference, ()))) if a.reference else a
        for a in found.advances
    ]


def disclose(ledger: Ledger, household: Household) -> Disclosure:
    """Every stay of the household (its readings; its extensions with their why, as the
    household read — in clear, or ``ERASED``), and what the registers of its aires hold
    about it, each register in the order it was recorded."""
    stays = [ledger.stay(stay_id) for stay_id, _ in household.stays]
    fold = _Registers(household.id, {s.id for s in stays})
    for register_id in dict.fromkeys(
        r for aire_id in household.aire_ids for r in ledger.aire(aire_id).register_ids
    ):
        for event in ledger.events.get(register_id):
            fold.fold(register_id, event)
    found = fold.found
    _charges_paid(found, stays)
    for stay in stays:
        why = {j.stay_version: j for j in household.justifications if j.stay_id == stay.id}
        found.stays.append(StayRecord(stay, stay.readings, _extensions(stay, why)))
    return found
