"""The retention purge, run by the service: at start, then every interval (daily by default).

``Households.purge_due`` does the work (erase the personal data due, delete old access-log
entries), then ``documents.sweep_orphans`` (delete the documents' bytes no document names,
left by refused uploads, once older than their grace); this only schedules them on a
background thread of the API process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from hacienda_ledger.application.documents import sweep_orphans
from hacienda_ledger.application.households import RetentionReport
from hacienda_ledger.application.ledger import Ledger


class RetentionSchedule:
    """Runs ``ledger.purge_due(dry_run=False)`` and the documents' sweep now and then every
    ``interval`` seconds."""

    def __init__(
        self,
        ledger: Ledger,
        interval: float,
        *,
        on_run: Callable[[RetentionReport], None] = lambda _: None,
        on_error: Callable[[BaseException], None] = lambda _: None,
        may_run: Callable[[], bool] = lambda: True,
    ) -> None:
        self.ledger = ledger
        self.may_run = may_run  # one process of a deployment purges (BackgroundLeader)
        self.interval = interval
        self.on_run = on_run
        self.on_error = on_error
        self.stopping = threading.Event()
        self.runs = 0
        self.thread = threading.Thread(target=self._loop, name="retention", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout)

    def run_once(self) -> RetentionReport:
        report = self.ledger.households.purge_due(dry_run=False, actor="retention")
        sweep_orphans(self.ledger, actor="retention")  # logs its own line
        self.runs += 1
        return report

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                if self.may_run():
                    self.on_run(self.run_once())
            except Exception as exc:  # a failed run is logged; the next one is tried
                self.on_error(exc)
            self.stopping.wait(self.interval)
