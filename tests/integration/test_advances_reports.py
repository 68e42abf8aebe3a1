"""Advances where an auditor reads them (issue 15), on SQLite and PostgreSQL: the cash
journal names each application by the type it paid, the monthly report's third-party funds
list advances beside deposits, the DSP annual report counts applied advances as revenue of
the type they paid and never the held ones, the VAT of a DSP aire taxes an advance when it
is applied (at the rate of what it paid), and the right-of-access export lists a stay's
advances received, applied (with the charges they paid) and refunded. Given → when → then.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

from hacienda_ledger.aggregates.household import Profile
from hacienda_ledger.aggregates.values import Composition
from hacienda_ledger.aggregates.vat import split
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.disclosure import disclose
from hacienda_ledger.application.projecting import followers
from hacienda_ledger.reports.generate import Job, Reports
from hacienda_ledger.reports.journal import journal_csv
from tests.conftest import Clock, Site, standard_tariff
from tests.integration.test_reports import csv_rows, csv_section, dsp_aire_with_a_sale


def caught_up(ledger: Ledger) -> Reports:
    for follower in followers(ledger):
        follower.catch_up()
    return Reports(ledger)


def paid_ahead(ledger: Ledger, site: Site, clock: Clock) -> UUID:
    """A stay arriving on Monday 6 January 2025 that pays 50.00 € ahead in cash and a
    150.00 € deposit by card; on Wednesday 3 days (9.00 € of pitch fee) are charged, paid by
    the advance; on Thursday 10.00 € of the advance are refunded in cash: 31.00 € held."""
    stay = site.arrive("1")
    ledger.post_receipt(
        site.register_id, stay_id=stay, method="cash", lines=[("advance", 5000)], actor="c"
    )
    ledger.post_receipt(
        site.register_id, stay_id=stay, method="card", lines=[("deposit", 15000)], actor="c"
    )
    clock.advance(days=2)
    ledger.assess_charges(stay, through=date(2025, 1, 8), actor="manager")
    clock.advance(days=1)
    ledger.refund_advance(
        site.register_id, stay_id=stay, method="cash", amount_cents=1000, actor="c"
    )
    return stay


def test_the_journal_names_the_advance_received_applied_by_type_and_refunded(
    ledger: Ledger, site: Site, clock: Clock
) -> None:
    """Given an advance received, applied to 9.00 € of pitch fee and partly refunded, when
    the cash journal is read (rows and CSV), then the receipt line is of type ``advance``,
    the application a line of the pitch fee it paid with ``applied_cents`` 900 that moves
    no cash (its entry: 4191 advances to 4111 the household's receivable), and the refund a
    line out of cash naming the stay; the CSV shows the same under plain French labels."""
    stay = paid_ahead(ledger, site, clock)
    rows = caught_up(ledger).queries.select("cash_journal", "cash_journal")
    moves = [
        (
            r["kind"],
            r["revenue_type"],
            r["amount_in_cents"],
            r["amount_out_cents"],
            r["applied_cents"],
            r["stay_id"],
        )
        for r in rows
        if r["kind"] in ("receipt", "advance_applied", "advance_refund")
    ]
    assert moves == [
        ("receipt", "advance", 5000, 0, None, None),
        ("receipt", "deposit", 15000, 0, None, None),
        ("advance_applied", "pitch_fee", 0, 0, 900, str(stay)),
        ("advance_refund", "advance", 0, 1000, None, str(stay)),
    ]
    applied = next(r for r in rows if r["kind"] == "advance_applied")
    assert (applied["debit_account"], applied["credit_account"]) == ("4191", "4111")
    assert applied["balance_cash_cents"] == 5000 + 5000  # the float and the advance: no move
    table = csv_rows(journal_csv(rows))
    header = table[0]
    assert "Avance imputée (€)" in header
    lines = [dict(zip(header, line, strict=True)) for line in table[1:]]
    (line,) = [x for x in lines if x["Opération"] == "Avance imputée sur les redevances"]
    assert (line["Nature"], line["Avance imputée (€)"], line["Recette (€)"]) == (
        "Droit d'usage",
        "9,00",
        "0,00",
    )
    (refund,) = [x for x in lines if x["Opération"] == "Remboursement d'avance"]
    assert (refund["Nature"], refund["Dépense (€)"]) == ("Avance sur redevances", "10,00")


def test_the_monthly_report_lists_advances_with_the_deposits_as_third_party_funds(
    ledger: Ledger, site: Site, clock: Clock
) -> None:
    """Given January's advance (50.00 € received, 9.00 € applied to pitch fee, 10.00 €
    refunded) and deposit (150.00 €), when January's and February's reports are made, then
    January's « Fonds de tiers » section lists both side by side with 31.00 € of advances
    and 150.00 € of deposits held at the month's end, and February's, with nothing moving,
    still holds them; the receipts' total leaves both out (9.00 € is January's revenue,
    from the advance applied)."""
    paid_ahead(ledger, site, clock)
    reports = caught_up(ledger)
    january = reports.figures.monthly(site.aire_id, "2025-01")
    advances = january.advances
    assert (
        advances.received_cents,
        advances.cancelled_cents,
        advances.applied_cents,
        advances.applied_by_type_cents,
        advances.refunded_cents,
        advances.held_at_end_cents,
    ) == (5000, 0, 900, {"pitch_fee": 900}, 1000, 3100)
    held = advances.received_cents - advances.applied_cents - advances.refunded_cents
    assert held == advances.held_at_end_cents
    assert january.receipts_total_cents == 900
    february = reports.figures.monthly(site.aire_id, "2025-02").advances
    assert (february.received_cents, february.held_at_end_cents) == (0, 3100)

    stored = reports.run([Job("monthly", site.aire_id, "2025-01")])
    (csv_file,) = [reports.store.get(s.report_id)[1] for s in stored if s.format == "csv"]
    section = csv_section(csv_rows(csv_file), "Fonds de tiers : dépôts de garantie et avances")
    assert section[0] == ["Mouvement", "Dépôts de garantie (€)", "Avances (€)"]
    by_row = {r[0]: r[1:] for r in section[1:]}
    assert by_row["Reçus dans le mois"] == ["150,00", "50,00"]
    assert by_row["Remboursés dans le mois"] == ["0,00", "10,00"]
    assert by_row["Imputées sur les redevances — Droit d'usage"] == ["", "9,00"]
    assert by_row["Imputées sur les redevances (total)"] == ["", "9,00"]
    assert by_row["Détenus en fin de mois"] == ["150,00", "31,00"]


def dsp_stay_paying_ahead(ledger: Ledger, site: Site, clock: Clock) -> tuple[UUID, UUID]:
    """A DSP aire (with a sale of 12.34 € of ``other``) where a household pays 50.00 € ahead
    and is then charged 3 days (9.00 € of pitch fee, paid by the advance): (aire, register)."""
    aire, register = dsp_aire_with_a_sale(ledger, site.collectivite_id)
    ledger.adopt_tariff(aire, standard_tariff(), actor="m")
    household = ledger.record_household(
        aire_id=aire, profile=Profile("Famille Avance"), actor="m"
    ).aggregate_id
    stay = ledger.open_stay(
        aire,
        emplacement="1",
        household_ref=household,
        arrived_at=ledger.clock(),
        composition=Composition(2, ()),
        agreement_ref="COT-D",
        entry_inspection_ref="EDL-D",
        water_index=Decimal("10"),
        electricity_index=Decimal("20"),
        actor="c",
    ).aggregate_id
    ledger.post_receipt(register, stay_id=stay, method="cash", lines=[("advance", 5000)], actor="c")
    clock.advance(days=2)
    ledger.assess_charges(stay, through=date(2025, 1, 8), actor="m")
    return aire, register


def test_a_dsp_aire_taxes_an_advance_when_applied_at_the_rate_of_what_it_paid(
    ledger: Ledger, site: Site, clock: Clock
) -> None:
    """Given a DSP aire where 50.00 € were paid ahead and 9.00 € of them applied to pitch
    fee, when the year's DSP figures are read, then the revenue and the VAT count the 9.00 €
    as pitch fee at 10 % (HT 8.18 €, TVA 0.82 €) beside the 12.34 € sale at 20 %, and the
    41.00 € still held appear in neither: third-party funds, not taxed until applied."""
    aire, _ = dsp_stay_paying_ahead(ledger, site, clock)
    figures = caught_up(ledger).figures.dsp(aire, 2025)
    revenue = {r.revenue_type: r.amount_cents for r in figures.revenue if r.amount_cents}
    assert revenue["pitch_fee"] == 900
    assert "advance" not in revenue  # the 41.00 € held: third-party funds, not revenue
    vat = {v.revenue_type: (v.rate, v.ttc_cents, v.ht_cents, v.vat_cents) for v in figures.vat}
    assert vat == {
        "pitch_fee": (Decimal(10), 900, *split(900, Decimal(10))),
        "other": (Decimal(20), 1234, *split(1234, Decimal(20))),
    }
    assert split(900, Decimal(10)) == (818, 82)
    reports = Reports(ledger)
    stored = reports.run([Job("dsp", aire, "2025")])
    (csv_file,) = [reports.store.get(s.report_id)[1] for s in stored if s.format == "csv"]
    rows = csv_rows(csv_file)
    by_type = {r[0]: r[1] for r in csv_section(rows, "Recettes de l'année par nature")[1:]}
    assert by_type == {"Autre": "12,34", "Droit d'usage": "9,00"}  # no advance held
    taxed = {
        r[0]: r[2:] for r in csv_section(rows, "Recettes de l'année par nature : HT, TVA, TTC")
    }
    assert taxed["Droit d'usage"] == ["8,18", "0,82", "9,00"]


def test_the_access_export_lists_a_stay_s_advances_and_the_charges_they_paid(
    ledger: Ledger, site: Site, clock: Clock
) -> None:
    """Given January's advance (received, applied to the stay's charge, partly refunded),
    when the household's data are gathered for its right of access, then its advances are
    listed in order: received (receipt 1, cash), applied (9.00 € of pitch fee, naming the
    charge it paid as the stay names it), refunded (10.00 €, cash)."""
    stay = paid_ahead(ledger, site, clock)
    household = ledger.household(ledger.stay(stay).household_ref)
    found = disclose(ledger, household)
    (due,) = ledger.stay(stay).settlement.dues
    moves = [
        (a.kind, a.amount_cents, a.method, a.receipt_number, a.by_revenue_type, a.charges)
        for a in found.advances
    ]
    assert moves == [
        ("received", 5000, "cash", 1, (), ()),
        ("applied", 900, None, None, (("pitch_fee", 900),), ((due.charge, "pitch_fee", 900),)),
        ("refunded", 1000, "cash", None, (), ()),
    ]
    assert found.advances[1].reference in due.settled
