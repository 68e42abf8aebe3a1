"""The monthly report shows the régie at the month's end, on SQLite and PostgreSQL: the
alerts then open and the cash position (cash, cheques not remitted with their age, card
and transfer receipts not yet credited), read back from the real PDF, CSV and XLSX.

The world of ``reports_world`` (February 2025, closed on 2 March; A's last card receipt of
24 February, receipt 4, 30.00 €, is not on slip 1), then March: the cheque of Monday 3 March
(receipt 5, 57.00 €) is never remitted, a card receipt on Friday 28 (receipt 6, 12.00 €)
and a transfer on Monday 31 (receipt 7, 9.00 €); no day is closed after February.

At the last instant of March (hand-computed): cash 49.00 € (float 50.00 + 150 deposit −
120 refunded − 30.00 withheld, paid in on slip 1 − 1.00 short); card 42.00 € (receipts 4
and 6, the oldest 35 days); the cheque, due Tuesday 4 March, 28 days old and late; the days
of 3 and 28 March not closed (69.00 €, from the 3rd); receipt 4 kept past the monthly
remittance (due Monday 24 March, 35 days, 30.00 €; the cheque's month runs to 3 April,
receipt 6's to 28 April); February closed (no month alert); the ceiling (1,200.00 €) far
off.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from hacienda_ledger.application import Ledger
from hacienda_ledger.application.regie import standing
from hacienda_ledger.reports.generate import Reports
from tests.conftest import Clock
from tests.integration.reports_world import World, build
from tests.integration.test_reports import (
    csv_rows,
    csv_section,
    pdf_text,
    sheet_rows,
    table_rows,
)


@pytest.fixture
def world(ledger: Ledger, clock: Clock) -> World:
    world = build(ledger, clock)
    register = world.site.register_id
    for day, method, cents in ((28, "card", 1200), (31, "transfer", 900)):
        clock.now = datetime(2025, 3, day, 9, tzinfo=UTC)
        ledger.post_receipt(
            register, stay_id=None, method=method, lines=[("other", cents)], actor="c"
        )
    return world


def march_files(ledger: Ledger, world: World) -> dict[str, bytes]:
    reports = Reports(ledger)
    stored = reports.run(reports.month_jobs("2025-03", [world.site.aire_id]))
    return {s.format: reports.store.get(s.report_id)[1] for s in stored}


def test_the_monthly_report_shows_the_alerts_open_and_the_cash_at_the_months_end(
    ledger: Ledger, clock: Clock, world: World
) -> None:
    """The March report lists, for régie AC-2024-07, the three alerts open at its end and
    the position by payment method, the cheque not remitted with its age and last day, and
    the card and transfer receipts not yet credited: the same in the PDF, CSV and XLSX."""
    clock.now = datetime(2025, 4, 2, 9, tzinfo=UTC)
    files = march_files(ledger, world)

    text = pdf_text(files["pdf"])
    for expected in (
        "Alertes de la régie ouvertes en fin de mois",
        "AC-2024-07 Journée non clôturée en retard 03/03/2025 03/03/2025 28 69,00 €",
        "AC-2024-07 Chèque non versé en retard 03/03/2025 04/03/2025 28 5 57,00 €",
        "AC-2024-07 Versement périodique en retard en retard 24/02/2025 24/03/2025 35 4 30,00 €",
        "Régie acte AC-2024-07 : recettes versées au moins une fois par mois ; plafond",
        "Position de caisse en fin de mois",
        "AC-2024-07 Espèces 49,00 € 50,00 € 0,00 € 0 0,00 €",
        "AC-2024-07 Chèque 57,00 € 0,00 € 0,00 € 1 57,00 € 28",
        "AC-2024-07 Carte bancaire 42,00 € 0,00 € 0,00 € 2 42,00 € 35",
        "AC-2024-07 Virement 9,00 € 0,00 € 0,00 € 1 9,00 € 0",
        "AC-2024-07 5 03/03/2025 57,00 € 0,00 € 28 04/03/2025",
        "AC-2024-07 4 Carte bancaire 24/02/2025 30,00 € 35",
        "AC-2024-07 6 Carte bancaire 28/03/2025 12,00 € 3",
        "AC-2024-07 7 Virement 31/03/2025 9,00 € 0",
        "Total 51,00 €",
    ):
        assert expected in text.replace("\n", " ") or expected in text, expected

    rows = csv_rows(files["csv"])
    alerts = csv_section(rows, "Alertes de la régie ouvertes en fin de mois")
    assert alerts[0] == [
        "Régie",
        "Alerte",
        "Statut",
        "Depuis",
        "Échéance",
        "Âge (jours)",
        "Quittance n°",
        "Montant (€)",
    ]
    assert {r[0] for r in alerts[1:]} == {"AC-2024-07"}
    assert [r[1:] for r in alerts[1:]] == [
        ["Journée non clôturée", "en retard", "03/03/2025", "03/03/2025", "28", "", "69,00"],
        ["Chèque non versé", "en retard", "03/03/2025", "04/03/2025", "28", "5", "57,00"],
        [
            "Versement périodique en retard",
            "en retard",
            "24/02/2025",
            "24/03/2025",
            "35",
            "4",
            "30,00",
        ],
    ]
    cheques = csv_section(rows, "Chèques non versés en fin de mois")
    assert cheques[1:] == [
        ["AC-2024-07", "5", "03/03/2025", "57,00", "0,00", "28", "04/03/2025"],
        ["Total", "", "", "57,00", "0,00", "", ""],
    ]
    credits = csv_section(rows, "Cartes et virements non encore crédités")
    assert [r[1:3] + r[4:] for r in credits[1:]] == [
        ["4", "Carte bancaire", "30,00", "35"],
        ["6", "Carte bancaire", "12,00", "3"],
        ["7", "Virement", "9,00", "0"],
        ["", "", "51,00", ""],
    ]

    position = table_rows(sheet_rows(files["xlsx"], "Position de caisse"))
    assert [(r[1], float(r[2]), r[5], float(r[6]), r[7]) for r in position] == [
        ("Espèces", 49.0, 0, 0.0, None),
        ("Chèque", 57.0, 1, 57.0, 28),
        ("Carte bancaire", 42.0, 2, 42.0, 35),
        ("Virement", 9.0, 1, 9.0, 0),
    ]
    xlsx_alerts = table_rows(sheet_rows(files["xlsx"], "Alertes"))
    assert [(r[1], r[3], r[4]) for r in xlsx_alerts] == [
        ("Journée non clôturée", datetime(2025, 3, 3), datetime(2025, 3, 3)),
        ("Chèque non versé", datetime(2025, 3, 3), datetime(2025, 3, 4)),
        ("Versement périodique en retard", datetime(2025, 2, 24), datetime(2025, 3, 24)),
    ]


def test_the_reports_alerts_are_those_the_api_gives_on_the_last_day(
    ledger: Ledger, clock: Clock, world: World
) -> None:
    """Asked on the evening of 31 March (nothing recorded since), the register's alerts are
    the report's: both are computed from the register at that day's end."""
    figures = Reports(ledger).figures.monthly(world.site.aire_id, "2025-03")
    clock.now = datetime(2025, 3, 31, 20, tzinfo=UTC)  # 22:00 in Paris
    now = standing(ledger, world.site.register_id)
    (regie,) = figures.regie
    assert now.today == date(2025, 3, 31)
    assert (regie.alerts, regie.position) == (now.alerts, now.position)
    assert [a.kind for a in regie.alerts] == [
        "day_not_closed",
        "cheque_not_remitted",
        "remittance_overdue",
    ]


def test_a_month_with_nothing_open_says_so(ledger: Ledger, world: World) -> None:
    """February, whose days are closed and whose receipts are all within the remittance
    period: no alert (« Néant. »); the position shows the cash held and the card receipt
    of the 24th (receipt 4, 4 days old), not yet remitted."""
    reports = Reports(ledger)
    stored = reports.run(reports.month_jobs("2025-02", [world.site.aire_id]))
    files = {s.format: reports.store.get(s.report_id)[1] for s in stored}
    rows = csv_rows(files["csv"])
    assert csv_section(rows, "Alertes de la régie ouvertes en fin de mois")[1:] == []
    assert csv_section(rows, "Position de caisse en fin de mois")[1:] == [
        ["AC-2024-07", "Espèces", "49,00", "50,00", "0,00", "0", "0,00", ""],
        ["AC-2024-07", "Carte bancaire", "30,00", "0,00", "0,00", "1", "30,00", "4"],
    ]
    text = pdf_text(files["pdf"])
    start = text.index("Alertes de la régie ouvertes en fin de mois")
    assert "Néant." in text[start : text.index("Position de caisse en fin de mois")]
