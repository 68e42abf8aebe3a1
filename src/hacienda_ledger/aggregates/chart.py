"""Account numbers: the ledger's chart as a comptable reads it, by the aire's mode.

The ledger's accounts (``aggregates/accounts.py``) are named ``<kind>/<scope...>``. A
comptable reads numbers: those of the **M57** nomenclature (the budget and accounting
instruction of local authorities) for an aire run by the collectivité itself, in ``regie``
or ``marche`` mode, and those of the **PCG** (plan comptable général) for an aire run by a
delegate in ``dsp`` mode, who keeps the revenue on its own account. ``CHARTS`` is the one
table of them, keyed by mode and by the account's kind and detail (the payment method of a
cash account, the revenue type of a revenue account); ``account_number(mode, account)``
reads it. docs/accounts.md gives each number's source and says which were verified.

``entry_pairs(event)`` gives an event's journal entry as lines of one debit and one credit
account (what the cash journal prints beside each of its lines).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hacienda_ledger.aggregates.accounts import entry_lines
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.aggregates.values import Mode


@dataclass(frozen=True)
class AccountNumber:
    number: str
    label: str


ChartKey = tuple[str, str | None]  # (kind, payment method or revenue type)
Chart = Mapping[ChartKey, AccountNumber]

M57: Chart = {
    # The régisseur's money, whatever its form, is the comptable's "disponibilités chez
    # les régisseurs" until it is paid in; the régisseur's own accounts (caisse, chèques à
    # l'encaissement, compte de dépôt de fonds au Trésor) have names and no numbers.
    ("cash", "cash"): AccountNumber("5411", "Régisseurs – caisse (numéraire)"),
    ("cash", "cheque"): AccountNumber("5411", "Régisseurs – chèques à l'encaissement"),
    ("cash", "card"): AccountNumber("5411", "Régisseurs – carte bancaire (DFT)"),
    ("cash", "transfer"): AccountNumber("5411", "Régisseurs – virements (DFT)"),
    # The float is advanced from, and what is paid in reaches, the comptable's account at
    # the Trésor: an opening reads 5411 / 515, a remittance 515 / 5411.
    ("float", None): AccountNumber("515", "Compte au Trésor (fonds de caisse avancé)"),
    ("remitted", None): AccountNumber("515", "Compte au Trésor (recettes versées)"),
    ("deposits", None): AccountNumber("165", "Dépôts et cautionnements reçus"),
    # Paid ahead of any charge: the users' money until applied to their charges.
    ("advances", None): AccountNumber("4191", "Redevables – avances reçues"),
    ("receivable", None): AccountNumber("4111", "Redevables – amiable"),
    ("revenue", "pitch_fee"): AccountNumber(
        "7066", "Redevances et droits des services à caractère social (droits d'usage)"
    ),
    ("revenue", "water"): AccountNumber(
        "70878", "Remboursements de frais par d'autres redevables (eau)"
    ),
    ("revenue", "electricity"): AccountNumber(
        "70878", "Remboursements de frais par d'autres redevables (électricité)"
    ),
    ("revenue", "other"): AccountNumber("7588", "Autres produits divers de gestion courante"),
    ("over_short", None): AccountNumber("4718", "Autres recettes à régulariser"),
}

PCG: Chart = {
    ("cash", "cash"): AccountNumber("530", "Caisse"),
    ("cash", "cheque"): AccountNumber("5112", "Chèques à encaisser"),
    ("cash", "card"): AccountNumber("512", "Banques (cartes bancaires)"),
    ("cash", "transfer"): AccountNumber("512", "Banques (virements)"),
    # The float is drawn from, and the takings are banked to, the delegate's bank account.
    ("float", None): AccountNumber("512", "Banques (fonds de caisse)"),
    ("remitted", None): AccountNumber("512", "Banques (recettes remises en banque)"),
    ("deposits", None): AccountNumber("165", "Dépôts et cautionnements reçus"),
    ("advances", None): AccountNumber("4191", "Clients – avances et acomptes reçus"),
    ("receivable", None): AccountNumber("411", "Clients"),
    # Revenue is TTC in the ledger: its HT part is 706, its VAT part 44571 (aggregates/vat.py).
    ("revenue", "pitch_fee"): AccountNumber("706", "Prestations de services (droits d'usage)"),
    ("revenue", "water"): AccountNumber("706", "Prestations de services (eau)"),
    ("revenue", "electricity"): AccountNumber("706", "Prestations de services (électricité)"),
    ("revenue", "other"): AccountNumber("758", "Produits divers de gestion courante"),
    ("over_short", None): AccountNumber("471", "Comptes d'attente (écarts de caisse)"),
}

VAT_COLLECTED = AccountNumber("44571", "TVA collectée")
"""Where the VAT part of a DSP aire's revenue goes (not a ledger account: the ledger's
revenue accounts hold amounts including tax)."""

CHARTS: Mapping[Mode, Chart] = {Mode.REGIE: M57, Mode.MARCHE: M57, Mode.DSP: PCG}
CHART_NAMES: Mapping[Mode, str] = {Mode.REGIE: "M57", Mode.MARCHE: "M57", Mode.DSP: "PCG"}


def charts_digest() -> str:
    """A digest of every number of every chart: what a journal printed them with."""
    numbers = sorted(
        (mode.value, kind, detail or "", found.number)
        for mode, chart in CHARTS.items()
        for (kind, detail), found in chart.items()
    )
    return hashlib.sha256(json.dumps(numbers).encode()).hexdigest()[:12]


_DETAILED = frozenset({"cash", "revenue"})  # kinds whose last scope is part of the key


def chart_key(account: str) -> ChartKey:
    """``cash/<register>/card`` -> ``("cash", "card")``; ``float/<register>`` ->
    ``("float", None)``."""
    kind, _, rest = account.partition("/")
    return (kind, rest.rpartition("/")[2] if kind in _DETAILED else None)


def account_number(mode: Mode | str, account: str) -> AccountNumber:
    """The number of a ledger account in the chart of the aire's mode (``KeyError`` for an
    account the chart does not know: the mapping is tested to cover every account)."""
    return CHARTS[Mode(mode)][chart_key(account)]


def entry_pairs(event: Any) -> list[tuple[str, str, int]]:
    """The event's journal entry as lines of (debit account, credit account, amount > 0),
    in the order of its postings. A receipt's (or cancellation's) cash posting is paired
    with each of its lines; every other entry is a sequence of debit and credit pairs."""
    postings = entry_lines(event)
    if not postings:
        return []
    if isinstance(event, CashRegister.ReceiptIssued | CashRegister.ReceiptCancelled):
        cash, _ = postings[0]
        return [
            (cash, account, -amount) if amount < 0 else (account, cash, amount)
            for account, amount in postings[1:]
        ]
    if len(postings) % 2:
        raise ValueError(f"{type(event).__name__}: postings are not in pairs")
    pairs = []
    for (first, a), (second, b) in zip(postings[::2], postings[1::2], strict=True):
        if a + b:
            raise ValueError(f"{type(event).__name__}: an unbalanced pair of postings")
        pairs.append((first, second, a) if a > 0 else (second, first, b))
    return pairs
