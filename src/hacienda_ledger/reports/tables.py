"""A section's layout declared as data: its title, its columns, its note and its sheet.

Every table of the reports and documents is a ``Table``, declared once; its rows come
with each report (``Table.section``). A column is written ``"title|kind|width"``, the
kind (``text`` when left out) and the PDF width in mm (0, sharing what is left, when left
out) as ``render.Column`` takes them: ``"Jour|date|24"``, ``"Montant|money"``, ``"Motif"``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast, get_args

from hacienda_ledger.reports.render import Column, Kind, Section

COLUMN_KINDS: tuple[str, ...] = get_args(Kind)


def column(spec: str) -> Column:
    """``"Jour|date|24"`` -> ``Column("Jour", "date", 24)``."""
    title, *rest = spec.split("|")
    kind = rest[0] if rest else "text"
    if kind not in COLUMN_KINDS or len(rest) > 2:
        raise ValueError(f"a column is title|kind|width, not {spec!r}")
    if len(rest) == 2:
        return Column(title, cast(Kind, kind), int(rest[1]))
    return Column(title, cast(Kind, kind))


@dataclass(frozen=True)
class Table:
    """A section without its rows."""

    title: str
    columns: tuple[Column, ...]
    note: str = ""
    sheet: str = ""  # XLSX sheet name (default: the title, cut to 31 characters)

    def section(
        self,
        rows: Iterable[tuple[Any, ...]],
        total: tuple[Any, ...] | None = None,
        *,
        note: str | None = None,
    ) -> Section:
        """The section of ``rows`` (and their ``total`` line): the table's note unless
        another is given."""
        return Section(
            self.title,
            self.columns,
            tuple(rows),
            total=total,
            note=self.note if note is None else note,
            sheet=self.sheet,
        )


def table(title: str, *columns: str, note: str = "", sheet: str = "") -> Table:
    """The table ``title`` of ``columns`` (``"title|kind|width"`` each)."""
    return Table(title, tuple(column(c) for c in columns), note=note, sheet=sheet)
