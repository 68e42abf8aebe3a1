"""``serve``'s projector, supervised: started as a child process, started again when it dies.

A projector that dies (killed, out of memory, a fault) is started again after a pause that
doubles from ``FIRST_DELAY`` up to ``MAX_DELAY`` while it keeps dying, and is back to
``FIRST_DELAY`` once it has stayed up ``STEADY`` seconds. Each death is logged in one line
(``projector_died``: its exit code, the signal that ended it, how long it lived, when it
is started again), each start again too (``projector_restarted``: its new pid). A thread
of the serving process waits on the child; ``stop()`` ends it as ``serve`` always did
(SIGTERM, then SIGKILL after 30 s) and starts none again.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import structlog

FIRST_DELAY = 0.5
MAX_DELAY = 30.0
STEADY = 60.0


def _signal_name(code: int) -> str | None:
    """The signal that ended a child (a negative exit code), by name."""
    if code >= 0:
        return None
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


class Supervisor:
    """Run ``command`` as a child process, and start it again each time it dies."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        first_delay: float = FIRST_DELAY,
        max_delay: float = MAX_DELAY,
        steady: float = STEADY,
        spawn: Callable[[list[str]], Any] = subprocess.Popen,
    ) -> None:
        self.command = list(command)
        self.first_delay, self.max_delay, self.steady = first_delay, max_delay, steady
        self.spawn = spawn
        self.log = structlog.get_logger("hacienda_ledger.projector")
        self.restarts = 0
        self.process: Any = None
        self._started_at = 0.0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self._lock:
            self._start()
        self._thread = threading.Thread(target=self._watch, name="projector-supervisor")
        self._thread.daemon = True
        self._thread.start()

    def _start(self) -> None:
        self.process = self.spawn(self.command)
        self._started_at = time.monotonic()

    def _watch(self) -> None:
        delay = self.first_delay
        while True:
            process = self.process
            code = process.wait()
            if self._stopping.is_set():
                return
            lived = time.monotonic() - self._started_at
            if lived >= self.steady:
                delay = self.first_delay
            self.log.error(
                "projector_died",
                pid=process.pid,
                exit_code=code,
                signal=_signal_name(code),
                lived_s=round(lived, 1),
                restart_in_s=delay,
            )
            after = self._restart(delay)
            if after is None:
                return
            delay = after
            self.log.warning("projector_restarted", pid=self.process.pid, restarts=self.restarts)

    def _restart(self, delay: float) -> float | None:
        """Start it again after ``delay`` (and again, longer, while it cannot be started);
        the next delay, or None once stopped."""
        while not self._stopping.wait(delay):
            delay = min(delay * 2, self.max_delay)
            with self._lock:
                if self._stopping.is_set():
                    return None
                try:
                    self._start()
                except OSError as exc:  # no process could be made: said, and tried again
                    self.log.error("projector_start_failed", error=str(exc), retry_in_s=delay)
                    continue
                self.restarts += 1
                return delay
        return None

    def stop(self, timeout: float = 30.0) -> None:
        """End the child (SIGTERM, SIGKILL after ``timeout``) and start none again."""
        with self._lock:
            self._stopping.set()
            process = self.process
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._thread is not None:
            self._thread.join(timeout=5)
