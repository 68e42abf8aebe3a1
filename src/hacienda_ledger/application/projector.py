"""The projector watched: its heartbeat, and how far behind each projection is.

The projector (``hacienda-ledger project``, which ``serve`` starts beside the API on
PostgreSQL) beats every ``BEAT_EVERY`` seconds: a row of ``projector_heartbeat`` set to the
database's own clock (so that processes on other machines agree on its age). The API's
processes read it, and each projection's position in ``projection_tracking``, to say
whether the projections are followed (``GET /ready``) and how far behind they are
(``/metrics``). Where the projections are followed by a thread of the API process itself,
that thread's life is what is watched.

A projection that fails to fold its next event is retried for ever (``Runner.run``): its lag
may stay small while nothing new is recorded, so the failure itself is watched. The
projector records it in ``projector_failures`` (the projection, since when by the database's
clock, the exception's class: no message, since ``/ready`` needs no token and a message may
quote the data), and clears it once a step succeeds; a thread of the API process is asked
directly. Either makes ``/ready`` 503.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from hacienda_ledger.application.ledger import Ledger
from hacienda_ledger.application.projecting import all_projections
from hacienda_ledger.background import Background
from hacienda_ledger.projections.runner import Runner
from hacienda_ledger.projections.store import FAILURES, HEARTBEAT, TRACKING
from hacienda_ledger.settings import Settings

BEAT_EVERY = 2.0  # seconds between two beats of the projector

#: Seconds since the Unix epoch, by the database's clock.
_NOW = {
    True: "EXTRACT(EPOCH FROM clock_timestamp())::double precision",
    False: "(julianday('now') - 2440587.5) * 86400.0",
}


def beat(ledger: Ledger, pid: int | None = None) -> None:
    """Record that the projector is alive now (the database's clock)."""
    sql = ledger.journal.sql
    sql.execute(
        f"INSERT INTO {HEARTBEAT} (name, beat, pid) VALUES ('projector', {_NOW[sql.postgres]}, ?) "
        "ON CONFLICT (name) DO UPDATE SET beat = excluded.beat, pid = excluded.pid",
        (os.getpid() if pid is None else pid,),
    )


class Heartbeat(Background):
    """In the projector's process: ``beat`` every ``every`` seconds, on a thread of its
    own, so that a long batch never reads as a dead projector (its lag says it is behind).
    A beat that fails (the database away) is given to ``on_error`` and tried again."""

    thread_name = "projector-heartbeat"
    join_timeout = 5.0

    def __init__(
        self,
        ledger: Ledger,
        every: float = BEAT_EVERY,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        super().__init__()
        self.ledger, self.every, self.on_error = ledger, every, on_error

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                beat(self.ledger)
            except Exception as exc:  # the database away: said, and tried again
                if self.on_error is not None:
                    self.on_error(exc)
            self._stop.wait(self.every)


class Failures:
    """In the projector's process: the projection its runner fails to fold, recorded for the
    API's processes (``failed``, its ``on_error``), and cleared once a step succeeds
    (``recovered``). A record that cannot be written (the database away) is said and given
    up: the database's own absence makes ``/ready`` 503 already."""

    def __init__(self, ledger: Ledger, runner: Runner, said: Callable[[Exception], None]) -> None:
        self.ledger, self.runner, self.said = ledger, runner, said

    def failed(self, exc: Exception) -> None:
        self.said(exc)
        sql = self.ledger.journal.sql
        try:
            sql.execute(
                f"INSERT INTO {FAILURES} (name, since, error) VALUES (?, {_NOW[sql.postgres]}, ?) "
                "ON CONFLICT (name) DO UPDATE SET error = excluded.error",
                (self.runner.failing or "(connection)", type(exc).__name__),
            )
        except Exception as unrecorded:  # the database away: said, tried at the next error
            self.said(unrecorded)

    def recovered(self) -> None:
        self.ledger.journal.sql.execute(f"DELETE FROM {FAILURES}")


@dataclass(frozen=True)
class Failing:
    """A projection that fails to fold its next event: for how long (seconds) and the
    exception's class."""

    seconds: float
    error: str


@dataclass(frozen=True)
class ProjectorState:
    """What ``watch`` found: the stream's last position, each projection's lag behind it
    (positions), and the projector: ``mode`` ``thread`` (a thread of this process) or
    ``process`` (another process, known by its heartbeat), whether it runs, and the age of
    its last beat in seconds (None: none recorded)."""

    position: int
    lags: dict[str, int]
    mode: str
    running: bool
    heartbeat_age: float | None = None
    required: bool = True  # a projector is expected (else the lags alone are judged)
    failing: dict[str, Failing] = field(default_factory=dict)

    def not_ready(self, max_lag: int) -> list[str]:
        """Why the service is not ready (nothing: it is): the projector down, or a
        projection more than ``max_lag`` positions behind."""
        reasons = []
        if self.required and not self.running:
            if self.mode == "thread":
                reasons.append("the projections' thread has stopped")
            elif self.heartbeat_age is None:
                reasons.append("no projector has beaten yet")
            else:
                reasons.append(f"the projector's last beat is {self.heartbeat_age:.0f} s old")
        behind = {name: lag for name, lag in self.lags.items() if lag > max_lag}
        if behind:
            listed = ", ".join(f"{name} {lag}" for name, lag in sorted(behind.items()))
            reasons.append(f"projections behind by more than {max_lag} positions: {listed}")
        for name, failing in sorted(self.failing.items()):
            reasons.append(
                f"the projection {name} fails to fold its next event ({failing.error}) "
                f"for {failing.seconds:.0f} s: see the projector's log"
            )
        return reasons

    def body(self) -> dict[str, Any]:
        """What ``/ready`` shows of it."""
        age = None if self.heartbeat_age is None else round(self.heartbeat_age, 1)
        projector: dict[str, Any] = {"mode": self.mode, "running": self.running}
        if self.mode == "process":
            projector["heartbeat_age_seconds"] = age
        failing = {
            name: asdict(f) | {"seconds": round(f.seconds, 1)} for name, f in self.failing.items()
        }
        return {
            "position": self.position,
            "lags": self.lags,
            "projector": projector,
            "failing": failing,
        }


def watch(
    ledger: Ledger,
    thread: Background | None,
    names: Sequence[str] = (),
    settings: Settings | None = None,
    position: int | None = None,
) -> ProjectorState:
    """The projections' lags and the projector's state. ``thread``: the follower thread of
    this process, when the projections are followed here (else a projector process is
    watched by its heartbeat, required when ``projector_expected`` or once one has beaten
    in this database; ``settings``: the API's, default the ledger's). The last position
    (``position`` when the caller has just read it: ``/ready``'s probe), then the tracking
    rows and the heartbeat in one read-only transaction of the ledger's connections: a few
    milliseconds."""
    names = list(names) or [p.name for p in all_projections()]
    if position is None:
        position = ledger.last_position()
    sql = ledger.journal.sql
    marks = ", ".join("?" for _ in names)
    with sql.cursor(commit=False) as cur:
        cur.execute(
            sql.text(f"SELECT name, position FROM {TRACKING} WHERE name IN ({marks})"), names
        )
        positions = {str(row["name"]): int(row["position"]) for row in cur.fetchall()}
        now = _NOW[sql.postgres]
        cur.execute(f"SELECT {now} - beat AS age FROM {HEARTBEAT} WHERE name = 'projector'")
        found = cur.fetchone()
        cur.execute(f"SELECT name, {now} - since AS age, error FROM {FAILURES}")
        recorded = {
            str(row["name"]): Failing(max(0.0, float(row["age"])), str(row["error"]))
            for row in cur.fetchall()
        }
    lags = {name: max(0, position - positions.get(name, 0)) for name in names}
    age = None if found is None else max(0.0, float(found["age"]))
    settings = settings or ledger.settings
    if thread is not None:
        return ProjectorState(position, lags, "thread", thread.alive, age, failing=_failing(thread))
    running = age is not None and age <= settings.ready_heartbeat_seconds
    required = settings.projector_expected or age is not None
    return ProjectorState(position, lags, "process", running, age, required, recorded)


def _failing(thread: Background) -> dict[str, Failing]:
    """What the projections' thread of this process fails to fold, if anything."""
    # (read in this order: the runner sets the name and error before since, clears since first)
    since = getattr(thread, "failing_since", None)
    name, error = str(getattr(thread, "failing", "")), getattr(thread, "error", None)
    if since is None or error is None:
        return {}
    return {name or "(connection)": Failing(time.monotonic() - since, type(error).__name__)}
