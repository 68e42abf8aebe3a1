"""The application layer: commands, load and save, idempotency, retries, transcodings."""

from hacienda_ledger.application.ledger import Ledger, Outcome

__all__ = ["Ledger", "Outcome"]
