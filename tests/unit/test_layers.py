"""The domain stays pure: aggregates import only the stdlib and eventsourcing's domain."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

AGGREGATES = Path(__file__).parents[2] / "src/hacienda_ledger/aggregates"
ALLOWED_EVENTSOURCING = {"eventsourcing.domain", "eventsourcing.utils"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_aggregates_import_only_stdlib_and_eventsourcing_domain() -> None:
    """Every import in aggregates/ is stdlib, eventsourcing.domain/utils or aggregates/."""
    offenders = []
    for path in sorted(AGGREGATES.glob("*.py")):
        for name in imported_modules(path):
            top = name.split(".")[0]
            if name.startswith("hacienda_ledger.aggregates") or name in ALLOWED_EVENTSOURCING:
                continue
            if top == "__future__" or top in sys.stdlib_module_names:
                continue
            offenders.append(f"{path.name}: {name}")
    assert offenders == []
