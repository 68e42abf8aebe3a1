"""``hacienda-ledger backup --output DIR`` and ``backup --check DIR`` (application/backup.py)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from hacienda_ledger.application.backup import BackupFailed, backup, check
from hacienda_ledger.settings import Settings


def run(args: argparse.Namespace, settings: Settings | None) -> int:
    """0: copied (or, with ``--check``, every file as the manifest says); 1: a backup
    folder found damaged; 2: not done (said in one line)."""
    if args.check:
        wrong = check(Path(args.check))
        for line in wrong:
            print(f"{args.check}: {line}")
        print(f"{args.check}: {'damaged' if wrong else 'every file as the manifest says'}")
        return 1 if wrong else 0
    assert settings is not None
    try:
        made = backup(settings, Path(args.output), now=datetime.now(UTC))
    except BackupFailed as exc:
        print(f"hacienda-ledger backup: error: {exc}", file=sys.stderr)
        return 2
    print(
        f"backed up to {args.output}: {made.events:,} stored events, stream position "
        f"{made.position:,}, keys {made.keys} ({', '.join(made.files)}); restore as "
        "docs/operations.md says, then run hacienda-ledger verify"
    )
    return 0
