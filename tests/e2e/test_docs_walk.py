"""docs/api.md runs: every `sh` block, in order, against a fresh server, succeeds."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.live_server import live_server

DOC = Path(__file__).parents[2] / "docs/api.md"


def sh_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_cashiers_day_in_the_api_docs_runs(tmp_path: Path) -> None:
    """The curl walk from an arrival to a departure works as written, the chain verifies,
    the stay ends with nothing due, a cancellation is asked for by the cashier and approved
    by the régisseur, the receipt's original is printed once, and the documented mistake
    gets its problem document."""
    for tool in ("curl", "jq", "bash"):
        if shutil.which(tool) is None:
            pytest.fail(f"docs/api.md needs {tool} on this machine")
    env = {
        "HACIENDA_DATABASE_URL": f"sqlite:///{tmp_path}/walk.sqlite3",
        "HACIENDA_ADMIN_TOKEN": "walk-admin-token",
    }
    script = "\n".join(sh_blocks())
    assert script.count("curl") > 15
    with live_server(env) as base:
        done = subprocess.run(
            ["bash", "-c", script],
            env={"BASE": base, "ADMIN_TOKEN": "walk-admin-token", "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stderr + done.stdout
    out = done.stdout
    assert '"status": "departed"' in out
    assert '"balance_due_cents": 0' in out
    assert '"deposit_held_cents": 0' in out
    assert '"ok": true' in out
    assert '"code": "validation_error"' in out
    assert "application/pdf" in out and "x-copy: 1" in out.lower()
    # the régie's cash: a balanced slip, a count made good, a handover (issue 15)
    assert '"slip_number": 1' in out and '"kind": "deficit"' in out
    assert '"open_cash_differences": []' in out
    assert "x-print: original" in out.lower() and "x-print: copie" in out.lower()
    # a receipt keyed twice: the cashier asks, the régisseur approves
    assert '"kind": "cancellation_requested"' in out and '"kind": "receipt_cancelled"' in out
    assert '"reason": "encaissé deux fois"' in out
    # an intervenant's day (issue 18): an incident out of service one day, no register
    assert '"role":"intervenant"' in out and '"out_of_service_days":1' in out
    assert '{"status":403,"code":"forbidden"}' in out
