"""One process of a deployment runs the background jobs that must not run twice at once.

``hacienda-ledger serve --workers N`` starts N API processes, and operators may run several
servers on one database: each would build the reports due and run the retention purge on its
own schedule. Both are idempotent, but two at once race for the same files and households,
and N of them do the work N times. ``BackgroundLeader.lead()`` is asked before each run:
the process that holds the deployment's lock runs it, the others skip it; the lock is taken
by whoever asks first and kept until that process ends (or closes it), after which the next
process to ask takes it over — no configuration, and no job left without a runner.

- PostgreSQL: a session advisory lock on a connection of its own (released by the server
  when the process or its connection dies; a lost connection is found at the next ask).
- SQLite file: an exclusive ``flock`` on ``<database>.background.lock`` beside it
  (released by the kernel when the process dies).
- SQLite in memory: one process by definition, always the leader.

The chain watch is not led: each process verifies every register at start so that its own
checkpoints make an auditor's first request warm (see integrity.md).
"""

from __future__ import annotations

import fcntl
import threading
from contextlib import suppress
from typing import IO, Any

import psycopg

from hacienda_ledger.settings import Settings

LOCK_KEY = "hacienda_ledger_background"


class BackgroundLeader:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._guard = threading.Lock()
        self._conn: Any = None
        self._file: IO[bytes] | None = None
        self._held = False

    def lead(self) -> bool:
        """Whether this process runs the background jobs now (taking the lock if free)."""
        with self._guard:
            if self.settings.is_postgres:
                return self._lead_postgres()
            if str(self.settings.sqlite_path) == ":memory:":
                return True
            return self._lead_file()

    def _lead_postgres(self) -> bool:
        if self._held:
            try:
                self._conn.execute("SELECT 1")
                return True
            except psycopg.Error:  # the connection, and the lock with it, is gone
                self._drop()
        try:
            if self._conn is None:
                self._conn = psycopg.connect(
                    self.settings.postgres_conninfo, autocommit=True, connect_timeout=10
                )
            row = self._conn.execute(
                "SELECT pg_try_advisory_lock(hashtext(%s))", (LOCK_KEY,)
            ).fetchone()
        except psycopg.Error:
            self._drop()
            return False
        self._held = bool(row and row[0])
        return self._held

    def _lead_file(self) -> bool:
        if self._held:
            return True
        if self._file is None:
            path = f"{self.settings.sqlite_path}.background.lock"
            self._file = open(path, "ab")  # noqa: SIM115 (kept open while the lock is held)
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self._held = True
        return True

    def _drop(self) -> None:
        conn, self._conn, self._held = self._conn, None, False
        if conn is not None:
            with suppress(psycopg.Error):
                conn.close()

    def close(self) -> None:
        """Let the lock go (another process takes the jobs over at its next ask)."""
        with self._guard:
            if self._held and self._conn is not None:
                with suppress(psycopg.Error):  # now, not when the server notices the close
                    self._conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (LOCK_KEY,))
            self._drop()
            if self._file is not None:
                self._file.close()  # closing the file releases its flock
                self._file = None
            self._held = False
