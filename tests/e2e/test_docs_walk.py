"""docs/api.md runs: every `sh` block, in order, against a fresh server and the demo, succeeds."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.live_server import live_server

DOC = Path(__file__).parents[2] / "docs/api.md"


def sh_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def walk(base: str, admin_token: str, run: str) -> str:
    """Every ``sh`` block of docs/api.md, in order, as one script; what it printed."""
    for tool in ("curl", "jq", "bash"):
        if shutil.which(tool) is None:
            pytest.fail(f"docs/api.md needs {tool} on this machine")
    script = "\n".join(sh_blocks())
    assert script.count("curl") > 15
    done = subprocess.run(
        ["bash", "-c", script],
        env={"BASE": base, "ADMIN_TOKEN": admin_token, "RUN": run, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def assert_the_day_went_as_written(out: str) -> None:
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
    # an advance paid ahead: applied to the day charged, the rest refunded (issue 15)
    assert '"advance_applied_cents": 300' in out
    assert '"amount_cents": 9700' in out and '"advance_held_cents": 0' in out
    # an intervenant's day (issue 18): an incident out of service one day, no register
    assert '"role":"intervenant"' in out and '"out_of_service_days":1' in out
    assert '{"status":403,"code":"forbidden"}' in out
    # the aire's règlement intérieur (issue 18): read back with its hash; text refused
    assert "repr-digest: sha-256=:" in out.lower() and "x-document-version: 1" in out.lower()
    assert '{"status":415,"code":"unsupported_document_type"}' in out


def test_the_cashiers_day_in_the_api_docs_runs(tmp_path: Path) -> None:
    """The curl walk from an arrival to a departure works as written on an empty server,
    the chain verifies, the stay ends with nothing due, a cancellation is asked for by the
    cashier and approved by the régisseur, the receipt's original is printed once, and the
    documented mistake gets its problem document."""
    env = {
        "HACIENDA_DATABASE_URL": f"sqlite:///{tmp_path}/walk.sqlite3",
        "HACIENDA_ADMIN_TOKEN": "walk-admin-token",
    }
    with live_server(env) as base:
        assert_the_day_went_as_written(walk(base, "walk-admin-token", "1"))


def test_the_walk_runs_on_the_demo_make_run_serves_and_again(tmp_path: Path) -> None:
    """Issue 17: the walkthrough failed at its first step on the demo (409: the demo already
    has that collectivité). Loaded as `make run` loads it and served as it serves it, with
    the demo's admin token, the walk runs as written, and a second time on the same server."""
    env = {
        "HACIENDA_DATABASE_URL": f"sqlite:///{tmp_path}/demo.sqlite3",
        "HACIENDA_ATTESTATION_KEY": str(tmp_path / "attestation-key.pem"),
    }
    loaded = subprocess.run(
        [sys.executable, "-m", "hacienda_ledger.cli", "demo", "--no-journal"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert "demo-admin-token" in loaded.stdout
    with live_server(env, serve=True) as base:
        for run in ("1", "2"):
            assert_the_day_went_as_written(walk(base, "demo-admin-token", run))
