"""The figures of each report, read from the projections only (no event is replayed here):
``read.Figures`` reads them, ``register.RegisterFigures`` the registers' side, and
``model.py`` holds them as values.

An aire's identity (code, name, mode, collectivité, registers) comes from the ledger's
aggregates: it is reference data, not a figure. Every figure comes from a projection table:
``occupancy_*`` (occupancy, closures, extensions), ``revenue_monthly`` (receipts by revenue
type and method), ``cash_journal``, ``deposit_movements``, ``cash_counts`` and
``register_closures`` (cancellations, deposits, remittances, cash counts with their
handovers and régularisations, register closures by the period they close, chain heads)
and ``balances``/``postings``/``stays`` (receivables left unpaid at the end of the period).

The régie's standing at the period's end (``RegieMonthEnd``: the alerts then open, the cash
position and the cancellations still waiting for the régisseur) comes from each register
itself, as it stood at the last instant of the period (``application/regie.py``): it is
exact, and a projection holds no such state.

Cancellations (the month's register of cancellations) come from the cash journal: each one
with its reason, who asked and when, who approved and when; requests refused or withdrawn in
the month with the request they answer. Agents are named (``agents.Agents``).

The seals of the period's months (``MonthSeal``) come from the aire's seals
(``Audit.seal_events``) and, for a monthly report, the hash of the seal's attestation
(``Audit.attestation_hash``): they say which figures are final, and are no figures themselves.

A period's figures are counted **as of its last day** (Europe/Paris): a report is only
built for a period that is over, so building it again gives the same figures.
"""

from hacienda_ledger.reports.figures.read import Figures

__all__ = ["Figures"]
