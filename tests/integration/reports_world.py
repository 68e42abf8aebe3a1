"""A small world for the report tests, with its figures computed by hand.

One aire in ``regie`` mode (Site: 4 emplacements of 2 places, 3.00 € a day, float 50 €),
its register opened on 6 January 2025 (nothing received in January); in February 2025
(28 days):

- stay A (2 adults, 1 child) on emplacement 1 from 3 to 24 February: 21 days charged
  (63.00 €: 36.00 € through the 14th, the rest at its departure), paid 33.00 € by card on
  the 14th and the remaining 30.00 € by card when it left (receipt 4); its 150 € deposit in
  cash, 30 € withheld for damage found at the exit inspection and 120 € refunded once the
  bill was settled; an extension granted on 20 February (school, until 30 June);
- stay B (1 adult) on emplacement 2 from 10 February, still there: 19 days to the 28th,
  charged 57.00 €, nothing paid;
- receipt 3 (other, 5.00 € cash, no stay) cancelled the same day;
- slip 1 on 25 February: receipts 1 to 3 (33.00 € by card) and the 30 € deposit withheld,
  now the aire's money (30.00 € cash): 63.00 € paid in, what its lines total (receipt 4 is
  not in it: 30.00 € by card still to pay in);
- a cash count on 26 February: book 50.00 € (50 float + 150 − 120 − 30 paid in), counted
  49.00 € (2 × 20 €, 5 €, 2 × 2 €): 1.00 € short, still open;
- the day of 26 February closed on the 27th (perpetual total of revenue 63.00 €: receipts
  2 and 4; the 150 € deposit is third-party money, kept apart);
- the month of January (empty) closed on 27 February, just before that day closure;
- the month of February closed on 2 March (its report shows it, recorded in March).

Hand-computed: available place-days 4 × 2 × 28 = 224; occupied (21 + 19) × 2 = 80; rate
80 / 224 = 0.3571 (35,7 %); households 2, people 4, arrivals 2, departures 1; average
stay 21 days; receipts net of cancellations, deposits aside: 63.00 €; unpaid at the end of
the month: B 57.00 € (A settled everything before its deposit went back). ALT2 for
February: places 8, aid = 56.50 × 8 + 75.95 × 8 × 80 / 224 = 452.00 + 217.00 = 669.00 €.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

from hacienda_ledger.aggregates.register import Denomination
from hacienda_ledger.aggregates.values import Composition
from hacienda_ledger.application import Ledger
from tests.conftest import Clock, Site


@dataclass
class World:
    site: Site
    stay_a: UUID
    stay_b: UUID
    household_a: UUID
    household_b: UUID


def build(ledger: Ledger, clock: Clock) -> World:
    site = Site(ledger)
    reg = site.register_id
    clock.now = datetime(2025, 2, 3, 10, tzinfo=UTC)
    household_a = site.household(
        "Famille A", household_id=UUID("aaaaaaaa-0000-4000-8000-000000000001")
    )
    household_b = site.household(
        "Famille B", household_id=UUID("bbbbbbbb-0000-4000-8000-000000000002")
    )
    stay_a = site.arrive("1", household_ref=household_a)
    ledger.post_receipt(reg, stay_id=stay_a, method="cash", lines=[("deposit", 15000)], actor="c")
    clock.now = datetime(2025, 2, 10, 10, tzinfo=UTC)
    stay_b = site.arrive("2", household_ref=household_b, composition=Composition(1))
    clock.now = datetime(2025, 2, 14, 10, tzinfo=UTC)
    ledger.assess_charges(stay_a, through=date(2025, 2, 14), actor="c")  # 12 days: 36.00
    ledger.post_receipt(reg, stay_id=stay_a, method="card", lines=[("pitch_fee", 3300)], actor="c")
    ledger.post_receipt(reg, stay_id=None, method="cash", lines=[("other", 500)], actor="c")
    clock.now = datetime(2025, 2, 14, 11, tzinfo=UTC)
    ledger.cancel_receipt(reg, number=3, reason="erreur de saisie", actor="c")
    clock.now = datetime(2025, 2, 20, 9, tzinfo=UTC)
    ledger.extend_stay(
        stay_a, reason="school", evidence_ref="CERT-1", until=date(2025, 6, 30), actor="c"
    )
    clock.now = datetime(2025, 2, 24, 9, tzinfo=UTC)
    ledger.depart(
        stay_a,
        departed_at=clock(),
        exit_inspection_ref="EDL-S-1",
        water_index=Decimal("100"),
        electricity_index=Decimal("2000"),
        actor="c",
    )
    ledger.post_receipt(reg, stay_id=stay_a, method="card", settle_balance=True, actor="c")
    ledger.withhold_deposit(
        reg, stay_id=stay_a, amount_cents=3000, reason="damage", reference="EDL-S-1", actor="c"
    )
    ledger.refund_deposit(reg, stay_id=stay_a, amount_cents=12000, method="cash", actor="c")
    clock.now = datetime(2025, 2, 25, 9, tzinfo=UTC)
    ledger.remit(reg, through_receipt=3, amounts_by_method={"card": 3300, "cash": 3000}, actor="c")
    clock.now = datetime(2025, 2, 26, 17, tzinfo=UTC)
    ledger.count_cash(  # 49.00 €: 2 notes of 20 €, one of 5 €, 2 coins of 2 €
        reg,
        denominations=(Denomination(2000, 2), Denomination(500, 1), Denomination(200, 2)),
        actor="c",
    )
    clock.now = datetime(2025, 2, 27, 8, tzinfo=UTC)
    # January, the register's first month (nothing received), closed late but within
    # February: February's closure would not stand for it (the seal and the month alert
    # need each month's own), and February's report has no alert open at its end
    ledger.close_period(reg, period="month", day=date(2025, 1, 1), actor="c")
    ledger.close_period(reg, period="day", day=date(2025, 2, 26), actor="c")
    clock.now = datetime(2025, 2, 28, 20, tzinfo=UTC)
    ledger.assess_charges(stay_b, through=date(2025, 2, 28), actor="c")
    # March: February's closure, recorded on the 2nd; a receipt after the month, which the
    # February report must not count
    clock.now = datetime(2025, 3, 2, 8, tzinfo=UTC)
    ledger.close_period(reg, period="month", day=date(2025, 2, 1), actor="c")
    clock.now = datetime(2025, 3, 3, 9, tzinfo=UTC)
    ledger.post_receipt(
        reg, stay_id=stay_b, method="cheque", lines=[("pitch_fee", 5700)], actor="c"
    )
    clock.now = datetime(2025, 3, 5, 9, tzinfo=UTC)
    return World(site, stay_a, stay_b, household_a, household_b)
