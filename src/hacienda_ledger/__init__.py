"""hacienda-ledger: an event-sourced ledger for French Traveller halting sites."""

__version__ = "0.1.0"
