"""A service of the API process that runs in a daemon thread until it is stopped.

``ChainWatch``, the projections' ``Runner`` and the reports' ``Scheduler`` each loop in their
own thread: ``_loop`` runs until the ``_stop`` event is set, pausing with ``_stop.wait``;
``stop()`` sets it and waits (at most ``join_timeout`` seconds) for the thread to end.
"""

from __future__ import annotations

import threading
from typing import ClassVar


class Background:
    thread_name: ClassVar[str]
    join_timeout: ClassVar[float] = 30.0

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _loop(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.join_timeout)

    @property
    def alive(self) -> bool:
        """Whether its thread was started and has not ended."""
        return self._thread is not None and self._thread.is_alive()
