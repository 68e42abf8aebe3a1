"""The application layer stays readable (issue 13): no class in ``application/`` over 400
lines, no module in ``src/`` over 700 lines, no function in ``application/`` or ``api/``
over 60 lines. A definition's lines run from its ``def`` or ``class`` line to its last
(decorators apart: a route's decorator is its OpenAPI declaration)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).parents[2] / "src/hacienda_ledger"
MODULE_LINES = 700
CLASS_LINES = 400
FUNCTION_LINES = 60


def modules(under: Path = PACKAGE) -> Iterator[Path]:
    return (p for p in sorted(under.rglob("*.py")) if "__pycache__" not in p.parts)


def span(node: ast.stmt) -> int:
    assert node.end_lineno is not None
    return node.end_lineno - node.lineno + 1


def definitions(path: Path, kinds: tuple[type[ast.stmt], ...]) -> Iterator[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, kinds):
            yield f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}", span(node)  # type: ignore[attr-defined]


def over(limit: int, found: Iterator[tuple[str, int]]) -> dict[str, int]:
    return {where: lines for where, lines in found if lines > limit}


def test_no_module_is_over_700_lines() -> None:
    """Every module of src/ reads in one sitting."""
    sizes = (
        (str(p.relative_to(PACKAGE)), len(p.read_text(encoding="utf-8").splitlines()))
        for p in modules()
    )
    assert over(MODULE_LINES, sizes) == {}


def test_no_class_of_the_application_is_over_400_lines() -> None:
    """No class of application/ grows back into the 1,651-line Ledger."""
    found = (d for p in modules(PACKAGE / "application") for d in definitions(p, (ast.ClassDef,)))
    assert over(CLASS_LINES, found) == {}


def test_no_function_of_the_application_or_the_api_is_over_60_lines() -> None:
    """Handlers and routes stay short functions."""
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef)
    found = (
        d
        for layer in ("application", "api")
        for p in modules(PACKAGE / layer)
        for d in definitions(p, kinds)
    )
    assert over(FUNCTION_LINES, found) == {}


def test_the_scan_finds_what_is_too_long(tmp_path: Path) -> None:
    """The scan itself: a function of 61 lines and a module of 701 are reported."""
    path = tmp_path / "long.py"
    body = "".join(f"    x{i} = {i}\n" for i in range(60))
    path.write_text("def long():\n" + body, encoding="utf-8")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    function = tree.body[0]
    assert (span(function), over(FUNCTION_LINES, iter([("long", span(function))]))) == (
        61,
        {"long": 61},
    )
    assert over(MODULE_LINES, iter([("m", 701), ("n", 700)])) == {"m": 701}
