"""A consistent copy of a ledger, taken while it serves: ``hacienda-ledger backup``.

What a backup holds: the events' database (events, snapshots, idempotency records, the
aires' documents, projections, the access log) and, when the keys live apart
(``HACIENDA_KEYS_URL``), the key store, each in the form its backend restores natively:

- **SQLite**: the file copied by SQLite's online backup API (``sqlite3.Connection.backup``):
  a snapshot of one instant, whatever the server writes meanwhile (a plain file copy of a
  database in write-ahead-log mode can miss what the log holds, or tear a page);
- **PostgreSQL**: ``pg_dump --format=custom`` of one snapshot exported by a transaction that
  first reads the stream's last position, so the manifest's position is exactly the dump's.

Beside them, ``manifest.json``: when, by which version, the stream's last position and the
number of stored events in the copy, and each file's SHA-256 (so a copy damaged in storage is
seen before it is restored). The attestation signing key is never in a backup: it is kept
elsewhere, by design (docs/integrity.md). Restoring is the backend's own tool (docs/operations.md):
a file copied into place, ``pg_restore``; then ``hacienda-ledger verify``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg

from hacienda_ledger import __version__
from hacienda_ledger.application.database import EVENTS_TABLE
from hacienda_ledger.settings import Settings

MANIFEST = "manifest.json"


class BackupFailed(RuntimeError):
    """The copy could not be made (the folder, the dump tool): the message says why."""


@dataclass(frozen=True)
class Manifest:
    made_at: str
    software_version: str
    backend: str
    position: int  # the stream's last position in the copy (0: no event)
    events: int  # stored events in the copy (the stream's and the snapshots' tables apart)
    keys: str  # "with the events" or "apart"
    files: dict[str, str] = field(default_factory=dict)  # file name -> SHA-256 (hex)


def backup(settings: Settings, folder: Path, *, now: datetime) -> Manifest:
    """Copy the ledger ``settings`` names into ``folder`` (created; it must be empty)."""
    if folder.exists() and any(folder.iterdir()):
        raise BackupFailed(f"{folder} is not empty: give a new folder for each backup")
    folder.mkdir(parents=True, exist_ok=True)
    if settings.is_postgres:
        position, events = _dump_postgres(settings.database_url, folder / "events.dump")
    else:
        position, events = _copy_sqlite(settings.sqlite_path, folder / "events.sqlite3")
    keys = settings.keys_database()
    apart = keys.database_url != settings.database_url
    if apart and keys.is_postgres:
        _dump_postgres(keys.database_url, folder / "keys.dump", events_table=False)
    elif apart:
        _copy_sqlite(keys.sqlite_path, folder / "keys.sqlite3", events_table=False)
    manifest = Manifest(
        made_at=now.isoformat(),
        software_version=__version__,
        backend="postgresql" if settings.is_postgres else "sqlite",
        position=position,
        events=events,
        keys="apart" if apart else "with the events",
        files={p.name: _sha256(p) for p in sorted(folder.iterdir())},
    )
    (folder / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2) + "\n")
    return manifest


def check(folder: Path) -> list[str]:
    """What is wrong with a backup folder (empty: every file is there, as it was made)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        return [f"no readable {MANIFEST} in {folder}: {exc}"]
    wrong = []
    for name, digest in manifest["files"].items():
        path = folder / name
        if not path.exists():
            wrong.append(f"{name}: missing")
        elif _sha256(path) != digest:
            wrong.append(f"{name}: its SHA-256 differs from the manifest's (damaged or changed)")
    return wrong


def _copy_sqlite(source: Path, target: Path, *, events_table: bool = True) -> tuple[int, int]:
    if not source.exists():
        raise BackupFailed(f"no database at {source}")
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)  # one snapshot, page by page, while writers go on
    if not events_table:
        return 0, 0
    with closing(sqlite3.connect(target)) as copy:
        row = copy.execute(
            f"SELECT COALESCE(MAX(rowid), 0), COUNT(*) FROM {EVENTS_TABLE['sqlite']}"
        ).fetchone()
    return int(row[0]), int(row[1])


def _dump_postgres(url: str, target: Path, *, events_table: bool = True) -> tuple[int, int]:
    """``pg_dump`` of a snapshot this connection exports after reading the position in it."""
    if shutil.which("pg_dump") is None:
        raise BackupFailed("pg_dump is not on PATH: install the PostgreSQL client tools")
    with psycopg.connect(url) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()
        assert snapshot is not None
        position = events = 0
        if events_table:
            row = conn.execute(
                "SELECT COALESCE(MAX(notification_id), 0), COUNT(*) "
                f"FROM {EVENTS_TABLE['postgres']}"
            ).fetchone()
            assert row is not None
            position, events = int(row[0]), int(row[1])
        dump = ["pg_dump", "--format=custom", f"--snapshot={snapshot[0]}", "--file", str(target)]
        done = subprocess.run(
            [*dump, "--dbname", url],
            check=False,
            capture_output=True,
            text=True,
        )
        conn.rollback()
    if done.returncode:
        raise BackupFailed(f"pg_dump failed: {done.stderr.strip()}")
    return position, events


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
