"""The service verifies every register's chain on its own: at start, then every day.

A broken chain is reported through ``on_report`` (the API logs it at error level, for the
operator's alerting). Each clean verification also leaves the checkpoints that make later
verifications and an auditor's history as of any instant fast (``VerifiedPrefixes``).
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from hacienda_ledger.aggregates.integrity import VerificationReport
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.application.ledger import Ledger
from hacienda_ledger.background import Background

OnReport = Callable[[UUID, VerificationReport], None]


class ChainWatch(Background):
    thread_name = "chain-watch"

    def __init__(self, ledger: Ledger, on_report: OnReport, every: float = 86400.0) -> None:
        super().__init__()
        self.ledger = ledger
        self.on_report = on_report
        self.every = every

    def run_once(self) -> int:
        """Verify every register; returns how many were verified."""
        n = 0
        for register_id in self.ledger.ids_of(CashRegister.Opened):
            if self._stop.is_set():
                break
            self.on_report(register_id, self.ledger.audit.verify_register(register_id))
            n += 1
        return n

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.every)
