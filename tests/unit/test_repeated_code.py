"""Repeated code may not grow: ``make test`` runs ``.ci/duplicates``, which fails when the
pairs of repeated places in ``src/`` exceed ``.ci/duplicates-ceiling`` (issue 13). The
check is run here on a copy of the tree, as it is and with a module written again."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]

pytestmark = pytest.mark.skipif(
    shutil.which("duplicates") is None,
    reason="the duplicates command is a tool of the team's machines; absent here",
)


def check(tmp_path: Path, change: Callable[[Path], None] | None = None) -> tuple[int, str]:
    """``.ci/duplicates`` on a copy of src/ and .ci/ changed by ``change``."""
    shutil.copytree(ROOT / ".ci", tmp_path / ".ci")
    ignored = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "src", tmp_path / "src", ignore=ignored)
    if change is not None:
        change(tmp_path / "src/hacienda_ledger")
    found = subprocess.run(
        [str(tmp_path / ".ci/duplicates")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return found.returncode, found.stdout + found.stderr


def ceiling() -> int:
    return int((ROOT / ".ci/duplicates-ceiling").read_text(encoding="utf-8"))


def test_the_tree_is_within_its_ceiling(tmp_path: Path) -> None:
    """The tree as it is: within the ceiling, and the check says how many pairs."""
    code, output = check(tmp_path)
    pairs = int(output.split("duplicates: ", 1)[1].split(" ", 1)[0])
    assert (code, pairs <= ceiling()) == (0, True)


def test_a_module_written_again_fails_the_check(tmp_path: Path) -> None:
    """A projection copied under another name (every one of its functions a new pair) fails
    ``make test``, saying the count is over the ceiling and how to see the new pairs."""

    def copy_a_module(package: Path) -> None:
        source = package / "projections/balances.py"
        (package / "projections/balances_again.py").write_text(
            source.read_text(encoding="utf-8").replace("balances", "totals"), encoding="utf-8"
        )

    code, output = check(tmp_path, copy_a_module)
    assert code == 1
    assert f"is over the ceiling of {ceiling()}" in output
    assert "duplicates --change --base main" in output
