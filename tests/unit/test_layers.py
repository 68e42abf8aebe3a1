"""The layers hold: aggregates import only the stdlib and eventsourcing's domain, and a
forbidden import anywhere fails the import-linter contracts that ``make test`` checks."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
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


# --- the import-linter contracts (pyproject.toml), run on a copy of the source tree -----

ROOT = Path(__file__).parents[2]


def lint_imports(tmp_path: Path, change: Callable[[Path], None] | None = None) -> tuple[int, str]:
    """``lint-imports`` (as ``make test`` runs it) on a copy of src/ changed by ``change``."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    package = tmp_path / "src/hacienda_ledger"
    ignored = shutil.ignore_patterns("__pycache__", "*.ttf", "*.json")
    shutil.copytree(ROOT / "src/hacienda_ledger", package, ignore=ignored)
    if change is not None:
        change(package)
    command = Path(sys.executable).parent / "lint-imports"
    found = subprocess.run(
        [str(command) if command.exists() else "lint-imports", "--no-cache"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path / "src"), "COLUMNS": "500"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return found.returncode, found.stdout + found.stderr


def add_line(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")


def test_the_source_tree_keeps_every_contract(tmp_path: Path) -> None:
    """The tree as it is: every contract kept."""
    code, output = lint_imports(tmp_path)
    assert (code, output.strip().splitlines()[-1].endswith(" kept, 0 broken.")) == (0, True)


def test_projections_importing_the_application_breaks_the_contracts(tmp_path: Path) -> None:
    """A projection that imports the application fails ``make test``, naming the
    projections' contract and the layers."""
    code, output = lint_imports(
        tmp_path,
        lambda src: add_line(src / "projections/balances.py", "import hacienda_ledger.application"),
    )
    assert code != 0
    assert "projections are read models: events in, rows out BROKEN" in output
    assert "-> aggregates BROKEN" in output  # the layers contract's name ends so
    assert "hacienda_ledger.projections.balances -> hacienda_ledger.application" in output


def test_a_route_opening_a_database_breaks_the_api_contract(tmp_path: Path) -> None:
    """A route that imports sqlite3 (or psycopg, or the projections) fails."""
    code, output = lint_imports(
        tmp_path, lambda src: add_line(src / "api/routes/audit.py", "import sqlite3")
    )
    assert code != 0
    assert "api translates: no storage, no read-model internals, no rendering BROKEN" in output
    assert "hacienda_ledger.api.routes.audit -> sqlite3" in output


def test_a_module_in_no_layer_breaks_the_layers_contract(tmp_path: Path) -> None:
    """Every top-level module is placed in a layer: a new one that is not fails."""
    code, output = lint_imports(
        tmp_path, lambda src: (src / "stray.py").write_text('"""Nowhere."""\n', encoding="utf-8")
    )
    assert code != 0
    assert "-> aggregates BROKEN" in output
    assert "hacienda_ledger.stray" in output
