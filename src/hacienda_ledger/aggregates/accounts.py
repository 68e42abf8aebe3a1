"""Double entry: every financial event maps to one balanced journal entry.

``entry_for(event)`` is a pure function: it returns the postings (debit positive, credit
negative, int cents) of one event, or ``()`` for events that move no money. The postings of
an entry always sum to zero, so the sum of all balances is zero at every point of the stream.

Accounts are strings ``<kind>/<scope...>``; see docs/accounts.md for the chart and how each
kind maps to the régisseur's accounts (instruction codificatrice 06-031-A-B-M):

=================================  ===============================================
``receivable/<stay>``              créance sur l'usager (household receivable, per stay)
``revenue/<aire>/<type>``          produits (revenue by aire and type)
``cash/<register>/cash``           caisse (numéraire)
``cash/<register>/cheque``         chèques à l'encaissement
``cash/<register>/card|transfer``  compte de dépôt de fonds au Trésor (DFT)
``float/<register>``               fonds de caisse (advance from the comptable)
``deposits/<stay>``                recettes perçues pour le compte de tiers (deposits held)
``advances/<stay>``                avances reçues des redevables (paid ahead, held until applied)
``remitted/<register>``            recettes versées (paid in to the comptable)
``over_short/<register>``          excédents et déficits de caisse
=================================  ===============================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from uuid import UUID

from hacienda_ledger.aggregates.register import DEFICIT, CashRegister, ReceiptLine
from hacienda_ledger.aggregates.stay import Stay
from hacienda_ledger.aggregates.values import PaymentMethod, RevenueType, WithholdingReason

_named = lru_cache(maxsize=16_384)
"""Account names are pure functions of ids: remembered, as a stream names the same accounts
over and over (formatting a UUID is most of building the name)."""


@dataclass(frozen=True)
class Posting:
    account: str
    amount_cents: int  # debit > 0, credit < 0


def _per_id(kind: str) -> Callable[[UUID], str]:
    """The accounts of ``kind`` kept one per id: ``<kind>/<id>``."""

    @_named
    def account(scope: UUID) -> str:
        return f"{kind}/{scope}"

    return account


receivable = _per_id("receivable")
float_account = _per_id("float")
deposits = _per_id("deposits")
advances = _per_id("advances")
remitted = _per_id("remitted")
over_short = _per_id("over_short")


@_named
def revenue(aire_id: UUID, revenue_type: str) -> str:
    return f"revenue/{aire_id}/{revenue_type}"


@_named
def cash(register_id: UUID, method: str) -> str:
    return f"cash/{register_id}/{method}"


def _receipt_credits(
    aire_id: UUID, stay_id: UUID | None, lines: Iterable[ReceiptLine]
) -> list[tuple[str, int]]:
    """Where the money of receipt lines goes: deposits or advances held, the stay's
    receivable, or straight to revenue when the receipt names no stay."""
    credits = []
    for line in lines:
        if line.revenue_type == RevenueType.DEPOSIT.value and stay_id is not None:
            credits.append((deposits(stay_id), line.amount_cents))
        elif line.revenue_type == RevenueType.ADVANCE.value and stay_id is not None:
            credits.append((advances(stay_id), line.amount_cents))
        elif stay_id is not None:
            credits.append((receivable(stay_id), line.amount_cents))
        else:
            credits.append((revenue(aire_id, line.revenue_type), line.amount_cents))
    return credits


def entry_lines(event: Any) -> list[tuple[str, int]]:
    """The postings of ``entry_for(event)`` as (account, amount) pairs, in the same order
    (what a projection folds: no ``Posting`` object per line)."""
    postings: list[tuple[str, int]] = []
    if isinstance(event, Stay.ChargesAssessed):
        owed = receivable(event.originator_id)
        for line in event.lines:
            postings.append((owed, line.amount_cents))
            postings.append((revenue(event.aire_id, line.revenue_type), -line.amount_cents))
    elif isinstance(event, CashRegister.Opened):
        if event.float_cents:
            postings.append(
                (cash(event.originator_id, PaymentMethod.CASH.value), event.float_cents)
            )
            postings.append((float_account(event.originator_id), -event.float_cents))
    elif isinstance(event, CashRegister.ReceiptIssued | CashRegister.ReceiptCancelled):
        sign = 1 if isinstance(event, CashRegister.ReceiptIssued) else -1
        postings.append((cash(event.originator_id, event.method), sign * event.total_cents))
        for account, amount in _receipt_credits(event.aire_id, event.stay_id, event.lines):
            postings.append((account, -sign * amount))
    elif isinstance(event, CashRegister.DepositRefunded):
        postings.append((deposits(event.stay_id), event.amount_cents))
        postings.append((cash(event.originator_id, event.method), -event.amount_cents))
    elif isinstance(event, CashRegister.DepositWithheld):
        postings.append((deposits(event.stay_id), event.amount_cents))
        if event.reason == WithholdingReason.UNPAID_CHARGES.value:
            postings.append((receivable(event.stay_id), -event.amount_cents))
        else:
            postings.append((revenue(event.aire_id, RevenueType.OTHER.value), -event.amount_cents))
    elif isinstance(event, CashRegister.AdvanceApplied):
        postings.append((advances(event.stay_id), event.amount_cents))
        postings.append((receivable(event.stay_id), -event.amount_cents))
    elif isinstance(event, CashRegister.AdvanceRefunded):
        postings.append((advances(event.stay_id), event.amount_cents))
        postings.append((cash(event.originator_id, event.method), -event.amount_cents))
    elif isinstance(event, CashRegister.RemittanceMade):
        for method, amount in sorted(event.amounts_by_method.items()):
            postings.append((remitted(event.originator_id), amount))
            postings.append((cash(event.originator_id, method), -amount))
    elif isinstance(event, CashRegister.CashOver):
        postings.append((cash(event.originator_id, PaymentMethod.CASH.value), event.amount_cents))
        postings.append((over_short(event.originator_id), -event.amount_cents))
    elif isinstance(event, CashRegister.CashShort):
        postings.append((over_short(event.originator_id), event.amount_cents))
        postings.append((cash(event.originator_id, PaymentMethod.CASH.value), -event.amount_cents))
    elif isinstance(event, CashRegister.CashDifferenceRegularised):
        register = event.originator_id
        if event.kind == DEFICIT:  # made good in cash by the régisseur
            postings.append((cash(register, PaymentMethod.CASH.value), event.amount_cents))
            postings.append((over_short(register), -event.amount_cents))
        else:  # a surplus taken as the aire's revenue
            postings.append((over_short(register), event.amount_cents))
            postings.append((revenue(event.aire_id, RevenueType.OTHER.value), -event.amount_cents))
    return [(account, amount) for account, amount in postings if amount]


def entry_for(event: Any) -> tuple[Posting, ...]:
    """The balanced journal entry of one event (empty for non-financial events)."""
    return tuple(Posting(account, amount) for account, amount in entry_lines(event))


def apply_entry(balances: dict[str, int], entry: Iterable[Posting]) -> dict[str, int]:
    """Fold one entry into a balance sheet (a new dict; accounts at zero are kept)."""
    result = dict(balances)
    for posting in entry:
        result[posting.account] = result.get(posting.account, 0) + posting.amount_cents
    return result


def balances_of(events: Iterable[Any]) -> dict[str, int]:
    """Balances are a fold over the entries of a stream of events."""
    balances: dict[str, int] = {}
    for event in events:
        balances = apply_entry(balances, entry_for(event))
    return balances
