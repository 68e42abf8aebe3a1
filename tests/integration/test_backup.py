"""A backup taken while cashiers write, restored elsewhere, verifies and holds exactly the
stream up to the position its manifest names: ``hacienda-ledger backup`` (both backends).
A damaged copy is seen before it is restored; a folder already used is refused."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from bench.scratch import scratch_postgres

from hacienda_ledger.application import Ledger
from hacienda_ledger.application import commands as c
from hacienda_ledger.cli import main
from hacienda_ledger.settings import Settings
from tests.conftest import POSTGRES_URL, Site


def _receipt(site: Site, cents: int) -> c.IssueReceipt:
    return c.IssueReceipt(
        register_id=site.register_id,
        stay_id=None,
        method="cash",
        lines=[("pitch_fee", cents)],
        actor="cashier",
    )


@pytest.fixture
def restored_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """Where the backup is restored: another SQLite file, or another PostgreSQL database."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/restored.sqlite3"
        return
    assert POSTGRES_URL
    with scratch_postgres(urlunsplit(urlsplit(POSTGRES_URL)._replace(path="/postgres"))) as url:
        yield url


def _restore(folder: Path, url: str) -> None:
    """What docs/operations.md says to do: the file put in place, or ``pg_restore``."""
    settings = Settings(database_url=url)
    if settings.is_postgres:
        subprocess.run(
            ["pg_restore", "--no-owner", "--dbname", url, str(folder / "events.dump")],
            check=True,
        )
    else:
        shutil.copy(folder / "events.sqlite3", settings.sqlite_path)


def _positions(url: str) -> list[int]:
    ledger = Ledger(Settings(database_url=url))
    try:
        return [n.id for n in ledger.recorder.select_notifications(start=1, limit=1_000_000)]
    finally:
        ledger.close()


def test_a_backup_taken_while_cashiers_write_restores_to_a_ledger_that_verifies(
    site: Site,
    database_url: str,
    restored_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Given a register with receipts and a cashier still writing, when the ledger is
    backed up (CLI) and the copy restored elsewhere, then the copy's stream is exactly the
    source's up to the manifest's position (nothing torn, nothing after it), every chain
    verifies, and the files match the manifest."""
    ledger = site.ledger
    for cents in range(100, 120):
        ledger.handle(_receipt(site, cents), None)
    stop, busy = threading.Event(), threading.Event()
    written: list[int] = []

    def cashier() -> None:
        cents = 500
        while not stop.is_set() and cents < 900:
            written.append(ledger.handle(_receipt(site, cents), None).position)
            cents += 1
            if len(written) == 5:
                busy.set()

    writing = threading.Thread(target=cashier)
    writing.start()
    assert busy.wait(30)  # the cashier is writing when the backup starts
    try:
        folder = tmp_path / "backup-1"
        assert main(["--database-url", database_url, "backup", "--output", str(folder)]) == 0
    finally:
        stop.set()
        writing.join()
    said = capsys.readouterr().out
    assert "backed up to" in said and "hacienda-ledger verify" in said
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["keys"] == "with the events" and manifest["software_version"]
    assert main(["backup", "--check", str(folder)]) == 0

    _restore(folder, restored_url)
    copied = _positions(restored_url)
    source = _positions(database_url)
    assert copied == [p for p in source if p <= manifest["position"]]
    assert copied[-1] == manifest["position"] and len(copied) <= manifest["events"]
    assert main(["--database-url", restored_url, "verify"]) == 0
    assert "0 broken" in capsys.readouterr().out


def test_a_damaged_or_reused_backup_folder_is_said(
    site: Site,
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A byte changed in the copy is found by ``backup --check`` (exit 1, the file named);
    a folder that already holds a backup is refused (exit 2), and left as it was."""
    site.ledger.handle(_receipt(site, 300), None)
    folder = tmp_path / "backup"
    assert main(["--database-url", database_url, "backup", "--output", str(folder)]) == 0
    (copy,) = [p for p in folder.iterdir() if p.name != "manifest.json"]
    before = copy.read_bytes()
    assert main(["--database-url", database_url, "backup", "--output", str(folder)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert copy.read_bytes() == before
    damaged = bytearray(before)
    damaged[len(damaged) // 2] ^= 0xFF
    copy.write_bytes(bytes(damaged))
    assert main(["backup", "--check", str(folder)]) == 1
    out = capsys.readouterr().out
    assert f"{copy.name}: its SHA-256 differs" in out and "damaged" in out
