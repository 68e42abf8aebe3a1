"""A table's columns are written ``title|kind|width`` (``reports/tables.py``): each spec gives
the ``render.Column`` it names, and a spec that names no kind of column is refused."""

from __future__ import annotations

import pytest

from hacienda_ledger.reports.render import Column, Section
from hacienda_ledger.reports.tables import column, table


def test_a_column_spec_gives_the_column_it_names() -> None:
    """Kind ``text`` and width 0 (share what is left) when left out."""
    specs = ("Jour|date|24", "Montant|money", "Motif", "Signé par / remise de service à|text|80")
    assert [column(s) for s in specs] == [
        Column("Jour", "date", 24),
        Column("Montant", "money"),
        Column("Motif", "text", 0),
        Column("Signé par / remise de service à", "text", 80),
    ]


@pytest.mark.parametrize("spec", ["Jour|day|24", "Jour|date|24|2", "Jour|date|large"])
def test_a_spec_that_names_no_column_is_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        column(spec)


def test_a_tables_section_holds_its_rows_total_and_note() -> None:
    """The table's note unless the section is given its own."""
    deposits = table("Dépôts", "Mouvement|text|90", "Montant|money", note="n", sheet="D")
    rows = iter([("Reçus", 100), ("Remboursés", 40)])
    assert deposits.section(rows, ("Total", 140)) == Section(
        "Dépôts",
        (Column("Mouvement", "text", 90), Column("Montant", "money")),
        (("Reçus", 100), ("Remboursés", 40)),
        total=("Total", 140),
        note="n",
        sheet="D",
    )
    assert deposits.section([], note="autre").note == "autre"
