"""The demo pays what is due, line by line (issue 15): recomputed from its stored events, on
SQLite, every receipt line of a stay settles charges of its own revenue type (fluids are paid
as fluids), no type is paid beyond what was charged, and no household leaves with a balance
or gets its deposit back before its bill is settled."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.aggregates.stay import Stay
from hacienda_ledger.aggregates.values import PARIS
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.projecting import followers
from hacienda_ledger.demo import AIRES, SimulatedClock, load_demo
from hacienda_ledger.reports.generate import Reports
from hacienda_ledger.settings import Settings
from tests.integration.test_smoke_both_backends import all_events


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    path: Path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    clock = SimulatedClock(datetime(2025, 8, 1, 6, tzinfo=UTC))
    ledger = Ledger(Settings(database_url=f"sqlite:///{path}"), clock=clock)
    load_demo(ledger, clock)
    return ledger


def test_every_stay_is_paid_by_revenue_type_and_never_beyond_its_charges(demo: Ledger) -> None:
    charged: dict[tuple[str, str], int] = defaultdict(int)
    paid: dict[tuple[str, str], int] = defaultdict(int)
    departed: dict[str, datetime] = {}
    refunded: dict[str, datetime] = {}
    for event in all_events(demo):
        if isinstance(event, Stay.ChargesAssessed):
            for line in event.lines:
                charged[str(event.originator_id), line.revenue_type] += line.amount_cents
        elif isinstance(event, Stay.Departed):
            departed[str(event.originator_id)] = event.timestamp
        elif isinstance(event, CashRegister.ReceiptIssued | CashRegister.ReceiptCancelled):
            sign = 1 if isinstance(event, CashRegister.ReceiptIssued) else -1
            for receipt_line in event.lines:
                if event.stay_id is not None and receipt_line.revenue_type not in (
                    "deposit",
                    "advance",  # third-party funds: they pay the types they are applied to
                ):
                    key = (str(event.stay_id), receipt_line.revenue_type)
                    paid[key] += sign * receipt_line.amount_cents
        elif isinstance(event, CashRegister.AdvanceApplied):
            for applied in event.lines:
                paid[str(event.stay_id), applied.revenue_type] += applied.amount_cents
        elif isinstance(event, CashRegister.DepositRefunded):
            refunded[str(event.stay_id)] = event.timestamp
    assert paid, "the demo posts receipts for its stays"
    fluids = {t for _, t in paid} & {"water", "electricity"}
    assert fluids == {"water", "electricity"}, "water and electricity are paid as themselves"
    for key, cents in paid.items():
        assert 0 < cents <= charged[key], key
    assert departed, "households leave in the demo"
    for stay_id, left in departed.items():
        account = demo.stay_account(UUID(stay_id))
        assert account["balance_due_cents"] <= 0, stay_id
        assert account["deposit_held_cents"] == 0, stay_id
        assert refunded[stay_id] >= left, "the deposit goes back after the departure"


def test_the_demo_s_advances_are_held_applied_or_refunded_and_nothing_else(
    demo: Ledger,
) -> None:
    """Some households pay ahead; recomputed from the stored events, for every stay and in
    total, what was received as advances (net of cancellations) is what was applied to
    charges, refunded, and is still held (the stay's account); no stay that has left holds
    any, and the monthly reports' third-party funds agree with the events, month by month."""
    received: Counter[str] = Counter()
    applied: Counter[str] = Counter()
    refunded: Counter[str] = Counter()
    monthly: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    aire_of = {str(d.register_id): str(d.aire_id) for d in AIRES}
    departed: set[str] = set()
    for event in all_events(demo):
        month = event.timestamp.astimezone(PARIS).date().isoformat()[:7]
        if isinstance(event, CashRegister.ReceiptIssued | CashRegister.ReceiptCancelled):
            sign = 1 if isinstance(event, CashRegister.ReceiptIssued) else -1
            cents = sum(x.amount_cents for x in event.lines if x.revenue_type == "advance")
            if cents:
                received[str(event.stay_id)] += sign * cents
                kind = "received" if sign > 0 else "cancelled"
                monthly[aire_of[str(event.originator_id)], month][kind] += cents
        elif isinstance(event, CashRegister.AdvanceApplied):
            applied[str(event.stay_id)] += event.amount_cents
            monthly[aire_of[str(event.originator_id)], month]["applied"] += event.amount_cents
        elif isinstance(event, CashRegister.AdvanceRefunded):
            refunded[str(event.stay_id)] += event.amount_cents
            monthly[aire_of[str(event.originator_id)], month]["refunded"] += event.amount_cents
        elif isinstance(event, Stay.Departed):
            departed.add(str(event.originator_id))
    assert len(received) >= 3, "a few households pay ahead in the demo"
    assert sum(applied.values()) > 0 and sum(refunded.values()) > 0
    held_total = 0
    for stay_id, cents in received.items():
        account = demo.stay_account(UUID(stay_id))
        held = account["advance_held_cents"]
        assert (account["advance_applied_cents"], account["advance_refunded_cents"]) == (
            applied[stay_id],
            refunded[stay_id],
        )
        assert held + applied[stay_id] + refunded[stay_id] == cents, stay_id
        assert held >= 0 and (held == 0 or stay_id not in departed), stay_id
        held_total += held
    assert held_total + sum(applied.values()) + sum(refunded.values()) == sum(received.values())

    for follower in followers(demo):
        follower.catch_up()
    figures = Reports(demo).figures
    running: Counter[str] = Counter()
    for (aire, month), moved in sorted(monthly.items(), key=lambda x: (x[0][0], x[0][1])):
        running[aire] += moved["received"] - moved["cancelled"]
        running[aire] -= moved["applied"] + moved["refunded"]
        found = figures.monthly(UUID(aire), month).advances
        assert (
            found.received_cents,
            found.cancelled_cents,
            found.applied_cents,
            found.refunded_cents,
            found.held_at_end_cents,
        ) == (
            moved["received"],
            moved["cancelled"],
            moved["applied"],
            moved["refunded"],
            running[aire],
        ), (aire, month)


def test_the_demo_has_a_regisseur_beside_its_cashier(demo: Ledger) -> None:
    """The demo's régisseur (issue 15) holds the first aire, like its cashier, with its own
    token, printed with the others (``ROLES``): the one who approves the cashier's
    cancellations."""
    from hacienda_ledger.aggregates.user import Role
    from hacienda_ledger.demo import AIRES, ROLES, demo_token

    regisseur = demo.access.authenticate(demo_token("regisseur"))
    cashier = demo.access.authenticate(demo_token("cashier"))
    assert (regisseur.role, cashier.role) == (Role.REGISSEUR, Role.CASHIER)
    assert regisseur.aire_ids == cashier.aire_ids == (AIRES[0].aire_id,)
    assert set(ROLES) == {role.value for role in Role}


def test_the_demo_records_interventions_on_every_aire(demo: Ledger) -> None:
    """Issue 18 point 6: every aire has its Monday cleanings, its monthly meter rounds, a
    repair with its cost and supplier's reference, and an incident that took an emplacement
    out of service for three days and brought it back (done); the first aire's name its
    intervenant."""
    for demo_aire in AIRES:
        assert demo_aire.aire_id
        aire = demo.aire(demo_aire.aire_id)
        found = [demo.intervention(i) for i in aire.intervention_ids]
        kinds = Counter(i.kind.value for i in found)
        assert kinds["cleaning"] >= 12 and kinds["meter_round"] == 3, (demo_aire.code, kinds)
        [repair] = [i for i in found if i.kind.value == "repair"]
        assert repair.cost_cents and repair.supplier_ref
        [incident] = [i for i in found if i.kind.value == "incident"]
        assert (incident.status.value, incident.out_of_service_days) == ("done", 3)
        [number] = incident.emplacements
        start = incident.out_of_service_from
        assert start is not None
        assert not aire.emplacement(number).in_service_on(start)
        assert aire.emplacement(number).in_service_on(start + timedelta(days=3))
        assert all(i.status.value == "done" for i in found)
        named = {w for i in found for w in i.who}
        assert bool(named) == (demo_aire is AIRES[0])


def test_the_demo_s_first_aire_has_its_documents_and_its_stays_name_them(demo: Ledger) -> None:
    """The first aire has a règlement intérieur in two versions (a PDF the demo generated,
    read back verified) and an arrêté; each stay of it names the version in force on its
    arrival day (2 from 1 October 2025); no other aire's stay names any."""
    first = AIRES[0]
    assert first.aire_id
    documents = [demo.document(d) for d in demo.aire(first.aire_id).document_ids]
    assert [d.kind.value for d in documents] == ["arrete", "reglement_interieur"]
    rules = documents[1]
    assert [v.valid_from for v in rules.versions] == [date(2025, 1, 1), date(2025, 10, 1)]
    for version in rules.versions:
        assert demo.documents.get(version.sha256).startswith(b"%PDF-")
    by_aire: dict[UUID, list[Stay]] = defaultdict(list)
    for stay_id in {e.originator_id for e in all_events(demo) if type(e) is Stay.Opened}:
        stay = demo.stay(stay_id)
        by_aire[stay.aire_id].append(stay)
    assert by_aire[first.aire_id]
    for stay in by_aire[first.aire_id]:
        number = 2 if stay.arrival_day >= date(2025, 10, 1) else 1
        expected = (rules.id, number, rules.versions[number - 1].sha256)
        assert stay.rules == expected, stay.arrival_day
    others = [s for aire, stays in by_aire.items() if aire != first.aire_id for s in stays]
    assert others and all(s.rules is None for s in others)
