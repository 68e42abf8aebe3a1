"""Advances (issue 15, point 1), on SQLite and PostgreSQL: money paid ahead of any charge.

An ``advance`` line on a stay is accepted whatever is due and held for the stay as
third-party funds (``advances/<stay>``), like a deposit; it is applied to the stay's open
charges, oldest first, in the same transaction as what opens them (charges assessed, the
departure's final bill, the advance itself received, a receipt cancelled), when it becomes
revenue; what is left is refunded on request or after the departure (409
``no_advance_held`` when nothing is held). A receipt whose advance was applied is not
cancelled (409 ``advance_applied``). Given → when → then; a refusal records nothing.
"""

from __future__ import annotations

import contextlib
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from hacienda_ledger.aggregates.accounts import advances, balances_of, receivable, revenue
from hacienda_ledger.aggregates.errors import (
    AdvanceApplied,
    InvalidValue,
    LedgerError,
    NoAdvanceHeld,
    NothingDue,
    StayClosed,
)
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.aggregates.values import PARIS
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.projecting import followers
from hacienda_ledger.reports.generate import Reports
from hacienda_ledger.settings import Settings
from tests.conftest import Clock, Site, _truncate_postgres


def advance(ledger: Ledger, site: Site, stay: UUID | None, cents: int, **kw: Any) -> int:
    """An advance of ``cents`` for the stay, in cash (unless told otherwise): its number."""
    outcome = ledger.post_receipt(
        site.register_id,
        stay_id=stay,
        method=kw.pop("method", "cash"),
        lines=[("advance", cents), *kw.pop("lines", [])],
        actor="cashier",
    )
    return int(outcome.result["number"])


def account(ledger: Ledger, stay: UUID) -> dict[str, int]:
    return ledger.stay_account(stay)


def all_events(ledger: Ledger) -> list[Any]:
    return [
        ledger.mapper.to_domain_event(n)
        for n in ledger.recorder.select_notifications(start=1, limit=100_000)
    ]


def money(ledger: Ledger, site: Site, stay: UUID) -> tuple[Any, ...]:
    """What a refused command must leave as it was."""
    register = ledger.cash_register(site.register_id)
    return (
        register.version,
        ledger.stay(stay).version,
        account(ledger, stay),
        dict(register.balances),
    )


def refused(ledger: Ledger, site: Site, stay: UUID, error: type[LedgerError], run: Any) -> str:
    """``run()`` raises ``error`` and changes nothing; returns the error's code."""
    before = money(ledger, site, stay)
    with pytest.raises(error) as raised:
        run()
    assert money(ledger, site, stay) == before
    return str(raised.value.code)


def test_an_advance_is_accepted_with_nothing_due_and_held_apart_from_revenue(
    ledger: Ledger, site: Site
) -> None:
    """Given a stay with nothing charged (a pitch fee line would be 409 nothing_due), when
    50.00 € are paid as an advance, then the receipt stands and the stay holds it: nothing
    settled, nothing due, no revenue (the perpetual grand total unchanged), the register
    keeps it out of what is to be paid in, and its account is ``advances/<stay>``."""
    stay = site.arrive("1")
    pitch = [("pitch_fee", 500)]
    assert (
        refused(
            ledger,
            site,
            stay,
            NothingDue,
            lambda: ledger.post_receipt(
                site.register_id, stay_id=stay, method="cash", lines=pitch, actor="c"
            ),
        )
        == "nothing_due"
    )
    number = advance(ledger, site, stay, 5000)
    assert account(ledger, stay) == {
        "charged_cents": 0,
        "settled_cents": 0,
        "balance_due_cents": 0,
        "deposit_held_cents": 0,
        "advance_held_cents": 5000,
        "advance_applied_cents": 0,
        "advance_refunded_cents": 0,
    }
    register = ledger.cash_register(site.register_id)
    assert register.perpetual_total_cents == 0
    assert register.remittable("cash") == 0  # held for the household, like a deposit
    lines, amounts = register.slip_preview(number)
    assert (lines[0].amount_cents, lines[0].held_cents, amounts) == (0, 5000, {})
    balances = balances_of(all_events(ledger))
    assert balances[advances(stay)] == -5000
    assert sum(balances.values()) == 0


def test_charges_assessed_are_settled_by_the_advance_in_the_same_transaction(
    ledger: Ledger, site: Site, clock: Clock
) -> None:
    """Given an advance of 50.00 € held for a stay, when 3 days (9.00 €) are charged, then
    the same save records the charges, ``AdvanceApplied`` of 9.00 € on the register and the
    stay's settlement by ``<register>/advance/<version>``: nothing is due, 41.00 € held, and
    the 9.00 € are revenue now (pitch fee in the grand total, the day's totals, the revenue
    projection), no longer third-party funds."""
    stay = site.arrive("1")
    advance(ledger, site, stay, 5000)
    clock.advance(days=2)
    before = ledger.cash_register(site.register_id).version
    outcome = ledger.assess_charges(stay, through=date(2025, 1, 8), actor="manager")
    assert outcome.result["total_cents"] == 900
    register = ledger.cash_register(site.register_id)
    (applied,) = ledger.events.get(site.register_id, gt=before)
    assert isinstance(applied, CashRegister.AdvanceApplied)
    assert (applied.amount_cents, applied.methods) == (900, {"cash": 900})
    assert [(x.revenue_type, x.amount_cents) for x in applied.lines] == [("pitch_fee", 900)]
    settlement = ledger.stay(stay).settlement
    reference = f"{site.register_id}/advance/{applied.originator_version}"
    assert [d.settled for d in settlement.dues] == [{reference: 900}]
    assert account(ledger, stay) | {"deposit_held_cents": 0} == {
        "charged_cents": 900,
        "settled_cents": 900,
        "balance_due_cents": 0,
        "deposit_held_cents": 0,
        "advance_held_cents": 4100,
        "advance_applied_cents": 900,
        "advance_refunded_cents": 0,
    }
    assert register.perpetual_total_cents == 900
    day = "2025-01-08"
    assert register.daily_totals[day].by_revenue_type == {"pitch_fee": 900}
    assert register.daily_third_party[day].by_revenue_type == {"advance": -900}
    assert register.remittable("cash") == 900  # revenue now: to be paid in
    balances = balances_of(all_events(ledger))
    assert (balances[advances(stay)], balances[receivable(stay)]) == (-4100, 0)
    assert balances[revenue(site.aire_id, "pitch_fee")] == -900
    queries = Reports(ledger).queries
    rows = {
        (r["revenue_type"], r["method"]): r["amount_cents"]
        for r in queries.select("revenue", "revenue_monthly")
    }
    assert rows == {("advance", "cash"): 4100, ("pitch_fee", "cash"): 900}
    journal = [r["kind"] for r in queries.select("cash_journal", "cash_journal")]
    assert journal[-1] == "advance_applied"


def test_an_advance_smaller_than_the_charges_settles_the_oldest_and_leaves_the_rest_due(
    ledger: Ledger, site: Site, clock: Clock
) -> None:
    """Given 5.00 € held, when 9.00 € are charged, then the advance is applied whole (5.00 €
    of the 9.00 € charge) and 4.00 € are due, which a pitch fee receipt then settles; a
    further pitch fee line is nothing_due. An advance received while charges are due is
    applied to them at once."""
    stay = site.arrive("1")
    advance(ledger, site, stay, 500)
    clock.advance(days=2)
    ledger.assess_charges(stay, through=date(2025, 1, 8), actor="manager")
    assert account(ledger, stay)["balance_due_cents"] == 400
    assert account(ledger, stay)["advance_held_cents"] == 0
    (due,) = ledger.stay(stay).settlement.dues
    assert (due.remaining_cents, due.settled_cents) == (400, 500)
    clock.advance(days=1)
    ledger.assess_charges(stay, through=date(2025, 1, 9), actor="manager")  # 3.00 more
    advance(ledger, site, stay, 1000)  # applied at once to the 7.00 € due
    assert account(ledger, stay)["balance_due_cents"] == 0
    assert account(ledger, stay)["advance_held_cents"] == 300
    assert [d.remaining_cents for d in ledger.stay(stay).settlement.dues] == [0, 0]


def test_the_departure_settles_the_final_bill_from_the_advance_and_the_rest_is_refunded(
    ledger: Ledger, site: Site, clock: Clock
) -> None:
    """Given an advance of 20.00 € held and a household leaving on its third day with 1 m³
    of water drawn, when the departure is recorded, then its final bill (6.00 € of pitch fee
    and 3.51 € of water) is settled by the advance in the same command; then the 10.49 €
    left are refunded (``amount_cents`` left out: all of it), after which a second refund is
    409 no_advance_held, and so is one of more than is held."""
    stay = site.arrive("1")
    advance(ledger, site, stay, 2000)
    clock.advance(days=2)
    ledger.depart(
        stay,
        departed_at=clock(),
        exit_inspection_ref="EDL-S",
        water_index=Decimal("101"),
        electricity_index=Decimal("2000"),
        actor="cashier",
    )
    assert account(ledger, stay)["charged_cents"] == 951
    assert account(ledger, stay)["balance_due_cents"] == 0
    assert account(ledger, stay)["advance_held_cents"] == 1049
    assert refused(
        ledger,
        site,
        stay,
        NoAdvanceHeld,
        lambda: ledger.refund_advance(
            site.register_id, stay_id=stay, method="cash", amount_cents=1050, actor="c"
        ),
    ) == ("no_advance_held")
    outcome = ledger.refund_advance(site.register_id, stay_id=stay, method="cash", actor="c")
    assert (outcome.result["amount_cents"], outcome.result["advance_held_cents"]) == (1049, 0)
    assert account(ledger, stay)["advance_refunded_cents"] == 1049
    refund = ledger.register_event(site.register_id, outcome.version)
    assert isinstance(refund, CashRegister.AdvanceRefunded)
    assert refused(
        ledger,
        site,
        stay,
        NoAdvanceHeld,
        lambda: ledger.refund_advance(site.register_id, stay_id=stay, method="cash", actor="c"),
    ) == ("no_advance_held")
    register = ledger.cash_register(site.register_id)
    assert register.balances["cash"] == 5000 + 951  # the float and the revenue
    report = ledger.audit.verify_register(site.register_id)  # the new events are chained
    assert (report.ok, report.events, report.head_hash) == (
        True,
        register.version,
        register.head_hash,
    )
    assert ledger.audit.verify_chain_of(stay, "stay").ok
    balances = balances_of(all_events(ledger))
    assert balances[advances(stay)] == 0
    assert balances[receivable(stay)] == 0
    assert sum(balances.values()) == 0
    with pytest.raises(StayClosed):  # no advance for a stay that has ended
        advance(ledger, site, stay, 100)


def test_a_receipt_whose_advance_was_applied_is_not_cancelled(
    ledger: Ledger, site: Site, clock: Clock
) -> None:
    """Given an advance receipt of 10.00 € of which 9.00 € were applied to charges, when the
    régisseur cancels it, then 409 advance_applied and nothing is recorded; an advance
    receipt still held whole is cancelled (held no more, nothing refunded)."""
    stay = site.arrive("1")
    first = advance(ledger, site, stay, 1000)
    clock.advance(days=2)
    ledger.assess_charges(stay, through=date(2025, 1, 8), actor="manager")
    code = refused(
        ledger,
        site,
        stay,
        AdvanceApplied,
        lambda: ledger.cancel_receipt(site.register_id, number=first, reason="x", actor="r"),
    )
    assert code == "advance_applied"
    second = advance(ledger, site, stay, 2000)
    assert account(ledger, stay)["advance_held_cents"] == 2100
    ledger.cancel_receipt(site.register_id, number=second, reason="erreur", actor="r")
    assert account(ledger, stay)["advance_held_cents"] == 100
    assert account(ledger, stay)["advance_refunded_cents"] == 0


def test_a_cancelled_payment_makes_charges_due_that_the_advance_held_then_settles(
    ledger: Ledger, site: Site, clock: Clock
) -> None:
    """Given 9.00 € charged and paid by a card receipt, then an advance of 30.00 € held,
    when the card receipt is cancelled, then the 9.00 € due again are settled by the
    advance in the same transaction: nothing is due, 21.00 € held."""
    stay = site.arrive("1")
    clock.advance(days=2)
    ledger.assess_charges(stay, through=date(2025, 1, 8), actor="manager")
    paid = ledger.post_receipt(
        site.register_id, stay_id=stay, method="card", lines=[("pitch_fee", 900)], actor="c"
    ).result["number"]
    advance(ledger, site, stay, 3000)
    assert account(ledger, stay)["advance_held_cents"] == 3000
    ledger.cancel_receipt(site.register_id, number=paid, reason="carte refusée", actor="r")
    assert account(ledger, stay)["balance_due_cents"] == 0
    assert account(ledger, stay)["advance_held_cents"] == 2100
    kinds = [type(e).__name__ for e in ledger.events.get(stay)][-2:]
    assert kinds == ["SettlementReversed", "Settled"]


def test_an_advance_needs_a_stay_and_a_register_that_collects_its_charges(
    ledger: Ledger, site: Site
) -> None:
    """An advance with no stay is 422 invalid_value on ``stay_id``; nothing is recorded."""
    version = ledger.cash_register(site.register_id).version
    with pytest.raises(InvalidValue) as raised:
        advance(ledger, site, None, 500)
    assert raised.value.field == "stay_id"
    assert ledger.cash_register(site.register_id).version == version


def test_closures_count_an_applied_advance_as_revenue_and_a_held_one_apart(
    ledger: Ledger, site: Site, clock: Clock
) -> None:
    """Given an advance of 50.00 € received on Monday and 9.00 € of it applied on
    Wednesday, when each day is closed, then Monday's closure has no revenue and 50.00 € of
    third-party funds, Wednesday's 9.00 € of pitch fee revenue and −9.00 € of advances
    (moved to revenue), and the perpetual grand total counts the 9.00 € only."""
    stay = site.arrive("1")
    advance(ledger, site, stay, 5000)
    clock.advance(days=2)
    ledger.assess_charges(stay, through=date(2025, 1, 8), actor="manager")
    clock.advance(days=1)
    for day in (date(2025, 1, 6), date(2025, 1, 7), date(2025, 1, 8)):
        ledger.close_period(site.register_id, period="day", day=day, actor="c")
    closures = [
        e
        for e in ledger.events.get(site.register_id)
        if isinstance(e, CashRegister.DayClosed) and e.start != date(2025, 1, 7)
    ]
    monday, wednesday = closures
    assert (monday.revenue_cents, monday.third_party_cents) == (0, 5000)
    assert (wednesday.revenue_cents, wednesday.third_party_cents) == (900, -900)
    assert wednesday.totals.by_revenue_type == {"pitch_fee": 900}
    assert (wednesday.totals.receipts, monday.totals.receipts) == (0, 0)
    assert wednesday.perpetual_total_cents == 900


def test_replay_and_snapshots_keep_advances(ledger: Ledger, site: Site, clock: Clock) -> None:
    """The register replayed from its events, and from a snapshot taken by an older version
    that knew no advances (its state without their fields), holds what the live one holds."""
    stay = site.arrive("1")
    advance(ledger, site, stay, 5000)
    clock.advance(days=2)
    ledger.assess_charges(stay, through=date(2025, 1, 8), actor="manager")
    live = ledger.cash_register(site.register_id)
    replayed = ledger.replayed(site.register_id)
    assert replayed.advance_lots == live.advance_lots == {str(stay): {"cash": 4100}}
    assert replayed.advances_applied == {str(stay): 900}
    snap = CashRegister.Snapshot.take(replayed)
    for name in ("advance_lots", "advances_by_method", "advances_applied", "advances_refunded"):
        snap.state.pop(name)
    restored = snap.mutate(None)
    assert restored.advance_held(stay) == 0 and restored.advances_by_method == {}
    assert restored.advances_applied == restored.advances_refunded == {}


def test_a_register_opened_since_the_locks_were_remembered_still_applies_its_advance(
    ledger: Ledger, site: Site, clock: Clock
) -> None:
    """Given charges assessed once (the aire's registers remembered for the locks) and paid,
    then a second register opened on the aire, holding an advance for the stay, when the
    next day is charged, then that register's advance settles it (written under the version
    check, not yet locked), and the aire's registers are remembered anew, both of them."""
    stay = site.arrive("1")
    ledger.assess_charges(stay, through=date(2025, 1, 6), actor="manager")
    ledger.post_receipt(
        site.register_id, stay_id=stay, method="card", settle_balance=True, actor="c"
    )
    assert ledger.access.registers_of_aire(site.aire_id) == (site.register_id,)
    second = ledger.open_register(
        site.aire_id,
        regie_ref="AC-2025-02",
        float_cents=0,
        cash_ceiling_cents=120000,
        payment_methods=["cash"],
        revenue_types=["pitch_fee"],
        actor="manager",
    ).aggregate_id
    ledger.post_receipt(
        second, stay_id=stay, method="cash", lines=[("advance", 1000)], actor="cashier"
    )
    clock.advance(days=1)
    ledger.assess_charges(stay, through=date(2025, 1, 7), actor="manager")
    assert ledger.cash_register(second).advance_held(stay) == 700
    assert account(ledger, stay)["balance_due_cents"] == 0
    assert ledger.access.registers_of_aire(site.aire_id) == (site.register_id, second)


def test_projections_rebuilt_from_the_stream_give_the_live_rows(
    ledger: Ledger, site: Site, clock: Clock
) -> None:
    """Given advances received, applied, refunded and a receipt holding one cancelled, when
    every projection is followed live and then checked against a rebuild from position
    zero, then both give the same rows (balances, cash journal, revenue, occupancy)."""
    live = followers(ledger, batch_size=3)
    stay = site.arrive("1")
    advance(ledger, site, stay, 2000)
    cancelled = advance(ledger, site, stay, 700, method="card")
    ledger.cancel_receipt(site.register_id, number=cancelled, reason="doublon", actor="r")
    clock.advance(days=2)
    ledger.assess_charges(stay, through=date(2025, 1, 8), actor="manager")
    ledger.refund_advance(site.register_id, stay_id=stay, method="cash", actor="c")
    for follower in live:
        follower.catch_up()
        assert follower.check() == [], follower.projection.name
    balances = {
        r["account"]: r["balance_cents"]
        for r in Reports(ledger).queries.select("balances", "balances")
    }
    assert balances[advances(stay)] == 0 and balances[receivable(stay)] == 0
    assert sum(balances.values()) == 0


# --- any sequence, through the ledger ---------------------------------------------------

ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("charge"), st.integers(0, 3)),  # days further
        st.tuples(st.just("advance"), st.integers(1, 2500)),
        st.tuples(st.just("pay"), st.integers(1, 1200)),  # a pitch fee line
        st.tuples(st.just("settle"), st.just(0)),  # « settle the balance »
        st.tuples(st.just("cancel"), st.integers(0, 50)),  # a receipt, by the régisseur
        st.tuples(st.just("refund"), st.integers(0, 2500)),  # 0: all that is held
        st.tuples(st.just("depart"), st.just(0)),
    ),
    min_size=3,
    max_size=12,
)


@hypothesis_settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=ACTIONS)
def test_whatever_happens_advances_never_overpay_a_charge_and_are_never_left_unused(
    database_url: str, tmp_path: Any, actions: list[tuple[str, int]]
) -> None:
    """For any sequence of charges, advances, pitch fee payments, « settle the balance »,
    cancellations, refunds and a departure — refused commands changing nothing — on the real
    handlers: no charge is settled beyond it; the stay's balance is its charges less what
    settled them; what is held as an advance is what was received less what was applied and
    refunded, never below zero; nothing is held while a charge is due; and the books
    balance."""
    if database_url.startswith("postgresql"):
        _truncate_postgres(database_url)
        url = database_url
    else:
        url = f"sqlite:///{tmp_path}/{uuid4().hex}.sqlite3"
    clock = Clock()
    ledger = Ledger(Settings(database_url=url), clock=clock)
    try:
        site = Site(ledger)
        stay = site.arrive("1")
        receipts: list[int] = []
        received = refunded = 0
        for kind, value in actions:
            with contextlib.suppress(LedgerError):  # a refusal changes nothing
                change = _act(ledger, site, stay, receipts, (kind, value), clock=clock)
                received, refunded = change(received, refunded)
            _check(ledger, site, stay, received, refunded)
        _check_read(ledger, site, stay, clock)
    finally:
        ledger.close()


def _check_read(ledger: Ledger, site: Site, stay: UUID, clock: Clock) -> None:
    """Where an auditor reads them, the advances agree with the stay: the register holds
    what the stay holds (by method, in total), the cash journal's ``advance_applied`` lines
    add up to what was applied and its refunds to what was refunded, and the monthly
    report's advances held at the end of the last month are the stay's."""
    found = account(ledger, stay)
    register = ledger.cash_register(site.register_id)
    assert sum(register.advances_by_method.values()) == found["advance_held_cents"]
    reports = Reports(ledger)
    for follower in followers(ledger):
        follower.catch_up()
    rows = reports.queries.select("cash_journal", "cash_journal")
    applied = sum(r["applied_cents"] or 0 for r in rows if r["kind"] == "advance_applied")
    refunds = sum(r["amount_out_cents"] for r in rows if r["kind"] == "advance_refund")
    assert (applied, refunds) == (found["advance_applied_cents"], found["advance_refunded_cents"])
    last = clock().astimezone(PARIS).date().isoformat()[:7]
    month = reports.figures.monthly(site.aire_id, last).advances
    assert month.held_at_end_cents == found["advance_held_cents"]


def _act(
    ledger: Ledger,
    site: Site,
    stay: UUID,
    receipts: list[int],
    action: tuple[str, int],
    *,
    clock: Clock,
) -> Any:
    """The command of one action, run; returns how it changes (received, refunded)."""
    kind, value = action
    register = site.register_id
    if kind == "charge":
        clock.advance(days=value)
        ledger.assess_charges(stay, through=clock().date(), actor="m")
    elif kind in ("advance", "pay", "settle"):
        lines = {"advance": [("advance", value)], "pay": [("pitch_fee", value)]}.get(kind, [])
        outcome = ledger.post_receipt(
            register,
            stay_id=stay,
            method="cash",
            lines=lines,
            settle_balance=kind == "settle",
            actor="c",
        )
        receipts.append(int(outcome.result["number"]))
        if kind == "advance":
            return lambda r, f: (r + value, f)
    elif kind == "cancel" and receipts:
        number = receipts[value % len(receipts)]
        held = ledger.cash_register(register).open_receipts[str(number)].advance_cents
        ledger.cancel_receipt(register, number=number, reason="x", actor="r")
        return lambda r, f: (r - held, f)
    elif kind == "refund":
        outcome = ledger.refund_advance(
            register, stay_id=stay, method="cash", amount_cents=value or None, actor="c"
        )
        return lambda r, f: (r, f + outcome.result["amount_cents"])
    elif kind == "depart":
        ledger.depart(
            stay,
            departed_at=clock(),
            exit_inspection_ref="EDL-S",
            water_index=Decimal("100"),
            electricity_index=Decimal("2000"),
            actor="c",
        )
    return lambda r, f: (r, f)


def _check(ledger: Ledger, site: Site, stay: UUID, received: int, refunded: int) -> None:
    found = account(ledger, stay)
    settlement = ledger.stay(stay).settlement
    for due in settlement.dues:
        assert 0 <= due.credited_cents + due.settled_cents <= due.amount_cents
    assert found["balance_due_cents"] == found["charged_cents"] - found["settled_cents"]
    assert found["settled_cents"] == settlement.settled_cents
    held = found["advance_held_cents"]
    assert held == received - found["advance_applied_cents"] - refunded >= 0
    assert found["advance_refunded_cents"] == refunded
    assert held == 0 or settlement.outstanding() == 0
    assert sum(balances_of(all_events(ledger)).values()) == 0
