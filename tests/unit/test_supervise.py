"""``serve``'s projector supervision (``cli/supervise.py``) on real child processes: a
child that dies is started again after a pause that doubles up to a ceiling and is back to
the first once a child has stayed up; each death is logged with its exit code; a stopped
supervisor ends its child and starts none again."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

from structlog.testing import capture_logs

from hacienda_ledger.cli.supervise import Supervisor

DIES = [sys.executable, "-c", "import sys; sys.exit(3)"]
LIVES = [sys.executable, "-c", "import time; time.sleep(60)"]


def supervise(command: list[str], restarts: int, **delays: float) -> list[dict[str, Any]]:
    """Run ``command`` under a supervisor until it was started again ``restarts`` times
    (at most 20 s), stop it; the log lines."""
    with capture_logs() as logs:
        supervisor = Supervisor(command, **delays)
        supervisor.start()
        deadline = time.monotonic() + 20
        while supervisor.restarts < restarts and time.monotonic() < deadline:
            time.sleep(0.02)
        supervisor.stop()
    assert supervisor.restarts >= restarts
    return logs


def test_a_child_that_keeps_dying_is_started_again_after_a_doubling_pause() -> None:
    """Each death logged with the exit code; pauses 0.05, 0.1, 0.2, then 0.2 (the
    ceiling); each start again logged with the new pid."""
    logs = supervise(DIES, 4, first_delay=0.05, max_delay=0.2, steady=60)
    died = [e for e in logs if e["event"] == "projector_died"][:4]
    assert [(e["exit_code"], e["signal"], e["log_level"]) for e in died] == [(3, None, "error")] * 4
    assert [e["restart_in_s"] for e in died] == [0.05, 0.1, 0.2, 0.2]
    restarted = [e for e in logs if e["event"] == "projector_restarted"][:4]
    assert [e["restarts"] for e in restarted] == [1, 2, 3, 4]
    assert len({e["pid"] for e in restarted}) == 4


def test_the_pause_is_back_to_the_first_once_a_child_stayed_up() -> None:
    """A child that lived ``steady`` seconds (here 0: any) resets the pause."""
    logs = supervise(DIES, 3, first_delay=0.05, max_delay=0.2, steady=0)
    died = [e for e in logs if e["event"] == "projector_died"][:3]
    assert [e["restart_in_s"] for e in died] == [0.05, 0.05, 0.05]


def test_stopping_ends_the_child_and_starts_none_again() -> None:
    """stop() terminates the running child (SIGTERM), logs no death, starts no other."""
    with capture_logs() as logs:
        supervisor = Supervisor(LIVES, first_delay=0.05)
        supervisor.start()
        child = supervisor.process
        supervisor.stop()
        time.sleep(0.2)  # a restart, were there one, would have come after 0.05 s
    assert child.poll() == -15
    assert supervisor.process is child and supervisor.restarts == 0
    assert [e for e in logs if e["event"] in {"projector_died", "projector_restarted"}] == []


def test_a_child_that_cannot_be_started_is_tried_again_and_said() -> None:
    """When making the process fails (no memory, no process slot), the failure is logged
    and tried again after a longer pause, instead of ending the supervision silently."""
    made: list[Any] = []

    def spawn(command: list[str]) -> Any:
        made.append(command)
        if len(made) in {2, 3}:  # the first two starts again fail
            raise OSError(11, "Resource temporarily unavailable")
        return subprocess.Popen(command)

    with capture_logs() as logs:
        supervisor = Supervisor(DIES, first_delay=0.05, max_delay=1, spawn=spawn)
        supervisor.start()
        deadline = time.monotonic() + 20
        while supervisor.restarts < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        supervisor.stop()
    failed = [e for e in logs if e["event"] == "projector_start_failed"]
    assert [(e["error"], e["retry_in_s"]) for e in failed] == [
        ("[Errno 11] Resource temporarily unavailable", 0.1),
        ("[Errno 11] Resource temporarily unavailable", 0.2),
    ]
    assert supervisor.restarts >= 1 and len(made) >= 4
