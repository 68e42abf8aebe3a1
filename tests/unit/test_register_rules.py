"""The régie's rules and their alerts: given a register's past events, when the day moves
on, then the alerts due or late that day. The clock is walked day by day across weekends
and French public holidays (14 July, 11 November, Easter Monday, Good Friday in Moselle),
never slept on. Calendars are the real ones (``application/calendar.py``). No database.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hacienda_ledger.aggregates.errors import InvalidAmount, InvalidValue, LedgerError
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.aggregates.register_rules import (
    Alert,
    MethodPosition,
    RegieRules,
    alerts,
    cash_position,
    held_receipts,
    working_day_after,
)
from hacienda_ledger.application.calendar import working_days
from tests.unit.test_register import (
    AIRE_ID,
    ALL_METHODS,
    ALL_TYPES,
    REGISTER_ID,
    body,
    cancel,
    receipt,
    refused,
    remit,
)

CEILING = "cash_ceiling_reached"
ANJOU = working_days("49")  # Maine-et-Loire: the national holidays only
MOSELLE = working_days("57")  # adds Good Friday and 26 December


def noon(day: date) -> datetime:
    """A recorded time on that Paris day (10:00 UTC is 11:00 or 12:00 in Paris)."""
    return datetime(day.year, day.month, day.day, 10, tzinfo=UTC)


def opened(on: date, **rules: Any) -> CashRegister:
    register = CashRegister.open(
        register_id=REGISTER_ID,
        aire_id=AIRE_ID,
        regie_ref="AC-2024-07",
        float_cents=5000,
        cash_ceiling_cents=120000,
        payment_methods=ALL_METHODS,
        revenue_types=ALL_TYPES,
        actor="manager",
        at=noon(on),
        **rules,
    )
    register.collect_events()
    return register


def walk(
    register: CashRegister, first: date, last: date, calendar: Any = ANJOU
) -> dict[date, list[tuple[str, str]]]:
    """Each day from ``first`` to ``last``: the alerts' (kind, status), closures aside."""
    seen = {}
    day = first
    while day <= last:
        seen[day] = [
            (a.kind, a.status)
            for a in alerts(register, day, calendar)
            if not a.kind.endswith("_not_closed")
        ]
        day += timedelta(days=1)
    return seen


# --- working days -------------------------------------------------------------------------


def test_working_days_skip_weekends_and_french_public_holidays() -> None:
    """Friday 11 July 2025: the next working day is Tuesday 15 (Monday 14 is the fête
    nationale); Monday 10 November: Wednesday 12 (Tuesday 11 is the armistice); Thursday
    17 April: Friday 18, but in Moselle Tuesday 22 (Good Friday, then Easter Monday)."""
    assert working_day_after(date(2025, 7, 11), ANJOU) == date(2025, 7, 15)
    assert working_day_after(date(2025, 11, 10), ANJOU) == date(2025, 11, 12)
    assert working_day_after(date(2025, 4, 17), ANJOU) == date(2025, 4, 18)
    assert working_day_after(date(2025, 4, 17), MOSELLE) == date(2025, 4, 22)
    assert working_day_after(date(2025, 12, 24), MOSELLE) == date(2025, 12, 29)
    assert working_day_after(date(2025, 7, 11), ANJOU, 2) == date(2025, 7, 16)


@given(st.dates(date(2024, 1, 1), date(2030, 12, 31)), st.integers(1, 10))
def test_the_nth_working_day_after_is_working_and_n_working_days_on(day: date, n: int) -> None:
    """Whatever the day and n: the answer is a working day, after the day, and exactly n
    working days lie in between (the day excluded, the answer included)."""
    found = working_day_after(day, ANJOU, n)
    between = [day + timedelta(days=k) for k in range(1, (found - day).days + 1)]
    assert found > day and ANJOU(found)
    assert sum(ANJOU(d) for d in between) == n


# --- cheques --------------------------------------------------------------------------------


def test_a_cheque_is_due_by_the_next_working_day_across_the_14_july_weekend() -> None:
    """Given a cheque received on Friday 11 July 2025, when the days pass, then it is due
    Friday to Tuesday 15 July (Saturday, Sunday and the 14th do not count) and late from
    Wednesday 16, 5 days old, with its receipt number, amount and rule."""
    register = opened(date(2025, 7, 1))
    number = receipt(register, ("pitch_fee", 4500), method="cheque", when=noon(date(2025, 7, 11)))
    seen = walk(register, date(2025, 7, 11), date(2025, 7, 17))
    due, late = [("cheque_not_remitted", "due")], [("cheque_not_remitted", "late")]
    assert seen == {
        date(2025, 7, 11): due,
        date(2025, 7, 12): due,
        date(2025, 7, 13): due,
        date(2025, 7, 14): due,
        date(2025, 7, 15): due,
        date(2025, 7, 16): late,
        date(2025, 7, 17): late,
    }
    (alert,) = [a for a in alerts(register, date(2025, 7, 16), ANJOU) if a.receipt_number]
    assert alert == Alert(
        kind="cheque_not_remitted",
        status="late",
        since=date(2025, 7, 11),
        due_on=date(2025, 7, 15),
        age_days=5,
        amount_cents=4500,
        rule="cheques are remitted by the next working day (AC-2024-07)",
        receipt_number=number,
    )


def test_a_cheque_of_the_eve_of_11_november_and_of_easter_in_moselle() -> None:
    """Monday 10 November 2025: due Wednesday 12 (the 11th is a holiday), late on the 13th.
    In Moselle, Thursday 17 April 2025: due Tuesday 22 (Good Friday and Easter Monday)."""
    november = opened(date(2025, 11, 3))
    receipt(november, ("water", 1200), method="cheque", when=noon(date(2025, 11, 10)))
    seen = walk(november, date(2025, 11, 11), date(2025, 11, 13))
    assert [s[0][1] for s in seen.values()] == ["due", "due", "late"]
    easter = opened(date(2025, 4, 1))
    receipt(easter, ("water", 1200), method="cheque", when=noon(date(2025, 4, 17)))
    moselle = walk(easter, date(2025, 4, 18), date(2025, 4, 23), MOSELLE)
    assert [s[0][1] for s in moselle.values()] == ["due"] * 5 + ["late"]
    anjou = walk(easter, date(2025, 4, 18), date(2025, 4, 19))
    assert [s[0][1] for s in anjou.values()] == ["due", "late"]


def test_a_cheque_remitted_or_cancelled_or_all_deposit_is_no_alert() -> None:
    """Given three cheques on Monday 7 July: one cancelled, one a deposit only (third-party
    funds, kept to be refunded), one remitted; a fourth part deposit: only the fourth is
    late on the 9th, for its part that is not a deposit."""
    register = opened(date(2025, 7, 1))
    day = noon(date(2025, 7, 7))
    receipt(register, ("other", 1000), method="cheque", when=day)
    cancel(register, 1, when=day)
    receipt(register, ("deposit", 15000), method="cheque", when=day)
    receipt(register, ("pitch_fee", 2000), method="cheque", when=day)
    remit(register, 3, when=day, cheque=2000)
    receipt(register, ("deposit", 15000), ("water", 700), method="cheque", when=day)
    found = [
        (a.kind, a.receipt_number, a.amount_cents)
        for a in alerts(register, date(2025, 7, 9), ANJOU)
    ]
    assert found == [("day_not_closed", None, 32700), ("cheque_not_remitted", 4, 700)]


def test_a_register_may_give_cheques_more_working_days() -> None:
    """With 2 working days, a cheque of Friday 11 July 2025 is due Wednesday 16."""
    register = opened(date(2025, 7, 1), cheque_working_days=2)
    receipt(register, ("water", 1200), method="cheque", when=noon(date(2025, 7, 11)))
    (alert,) = [a for a in alerts(register, date(2025, 7, 16), ANJOU) if a.receipt_number]
    assert (alert.due_on, alert.status, alert.rule) == (
        date(2025, 7, 16),
        "due",
        "cheques are remitted within 2 working days (AC-2024-07)",
    )


# --- the periodic remittance -----------------------------------------------------------------


def test_a_month_without_a_remittance_is_late_the_day_after_its_last_day() -> None:
    """Given cash receipts on Friday 10 January 2025 and on 20 January, monthly: the first
    is due by Monday 10 February; on the 11th one alert, late since then, names receipt 1
    and counts only what is overdue; once remitted, no alert."""
    register = opened(date(2025, 1, 6))
    receipt(register, ("pitch_fee", 3000), when=noon(date(2025, 1, 10)))
    receipt(register, ("pitch_fee", 2500), when=noon(date(2025, 1, 20)))
    seen = walk(register, date(2025, 2, 9), date(2025, 2, 11))
    assert seen == {
        date(2025, 2, 9): [],
        date(2025, 2, 10): [],
        date(2025, 2, 11): [("remittance_overdue", "late")],
    }
    (late,) = [a for a in alerts(register, date(2025, 2, 11), ANJOU) if a.receipt_number]
    assert (late.since, late.due_on, late.age_days, late.amount_cents, late.receipt_number) == (
        date(2025, 1, 10),
        date(2025, 2, 10),
        32,
        3000,
        1,
    )
    assert late.rule == "receipts are remitted at least monthly (AC-2024-07)"
    remit(register, 2, when=noon(date(2025, 2, 11)), cash=5500)
    assert walk(register, date(2025, 2, 11), date(2025, 3, 31))[date(2025, 3, 31)] == []


@pytest.mark.parametrize(
    ("rules", "received", "last_day"),
    [
        # a month after Saturday 11 October is Tuesday 11 November: moved to Wednesday 12
        ({}, date(2025, 10, 11), date(2025, 11, 12)),
        # a week after Monday 7 July is the 14th: moved to Tuesday 15
        ({"remittance_frequency": "weekly"}, date(2025, 7, 7), date(2025, 7, 15)),
        # 10 days after Friday 4 July is the 14th too
        (
            {"remittance_frequency": "days", "remittance_days": 10},
            date(2025, 7, 4),
            date(2025, 7, 15),
        ),
        # a month after 31 January is 28 February (a Friday)
        ({}, date(2025, 1, 31), date(2025, 2, 28)),
    ],
)
def test_the_periodic_rule_moves_a_deadline_off_holidays_and_weekends(
    rules: dict[str, Any], received: date, last_day: date
) -> None:
    """The last day of the period, moved to the next working day when it is not one: no
    alert on it, late the day after."""
    register = opened(received - timedelta(days=1), **rules)
    receipt(register, ("pitch_fee", 3000), method="card", when=noon(received))
    seen = walk(register, last_day, last_day + timedelta(days=1))
    assert seen == {last_day: [], last_day + timedelta(days=1): [("remittance_overdue", "late")]}


# --- the cash ceiling ------------------------------------------------------------------------


def test_the_ceiling_reached_on_a_friday_before_the_14_july_is_due_on_tuesday() -> None:
    """Given a 1,200.00 ceiling and cash reaching it on Friday 11 July 2025 (cash and
    cheques less the float), then a remittance is due through Tuesday 15 July and late
    from the 16th; the alert carries what is held; a remittance below the ceiling ends it,
    and reaching it again starts it anew."""
    register = opened(date(2025, 7, 1))
    receipt(register, ("pitch_fee", 60000), when=noon(date(2025, 7, 10)))
    assert walk(register, date(2025, 7, 10), date(2025, 7, 10)) == {date(2025, 7, 10): []}
    receipt(register, ("pitch_fee", 60000), method="cheque", when=noon(date(2025, 7, 11)))
    seen = walk(register, date(2025, 7, 11), date(2025, 7, 16))
    assert [k for k, _ in seen[date(2025, 7, 11)]] == [
        "cash_ceiling_reached",
        "cheque_not_remitted",
    ]
    assert [dict(s)["cash_ceiling_reached"] for s in seen.values()] == ["due"] * 5 + ["late"]
    (ceiling,) = [a for a in alerts(register, date(2025, 7, 16), ANJOU) if a.kind == CEILING]
    assert (ceiling.since, ceiling.due_on, ceiling.amount_cents) == (
        date(2025, 7, 11),
        date(2025, 7, 15),
        120000,
    )
    remit(register, 2, when=noon(date(2025, 7, 16)), cash=60000, cheque=60000)
    assert register.ceiling_reached_at is None
    assert walk(register, date(2025, 7, 16), date(2025, 7, 16)) == {date(2025, 7, 16): []}
    receipt(register, ("pitch_fee", 120000), when=noon(date(2025, 7, 21)))
    (again,) = [a for a in alerts(register, date(2025, 7, 21), ANJOU) if a.kind == CEILING]
    assert again.since == date(2025, 7, 21)


def test_card_and_transfer_never_reach_the_ceiling() -> None:
    """Money on the Trésor account is not cash in hand."""
    register = opened(date(2025, 7, 1))
    receipt(register, ("pitch_fee", 200000), method="card", when=noon(date(2025, 7, 2)))
    receipt(register, ("pitch_fee", 200000), method="transfer", when=noon(date(2025, 7, 2)))
    assert register.ceiling_reached_at is None


# --- closures ----------------------------------------------------------------------------------


def test_a_day_with_receipts_and_a_month_over_must_be_closed() -> None:
    """Given receipts on Monday 6 and Tuesday 7 January 2025: on the 8th, one alert for the
    days not closed, from the 6th, with their net total; closing the 7th (which seals the
    6th) ends it. On 1 February January is not closed: an alert until it is."""
    register = opened(date(2025, 1, 6))
    receipt(register, ("pitch_fee", 1000), method="card", when=noon(date(2025, 1, 6)))
    receipt(register, ("pitch_fee", 500), method="card", when=noon(date(2025, 1, 7)))
    assert alerts(register, date(2025, 1, 7), ANJOU)[0].since == date(2025, 1, 6)
    (day,) = [a for a in alerts(register, date(2025, 1, 8), ANJOU) if a.kind == "day_not_closed"]
    assert (day.status, day.since, day.due_on, day.age_days, day.amount_cents) == (
        "late",
        date(2025, 1, 6),
        date(2025, 1, 6),
        2,
        1500,
    )
    register.close_period(period="day", day=date(2025, 1, 7), actor="c", at=noon(date(2025, 1, 8)))
    kinds = [a.kind for a in alerts(register, date(2025, 1, 8), ANJOU)]
    assert "day_not_closed" not in kinds
    assert "month_not_closed" not in [a.kind for a in alerts(register, date(2025, 1, 31), ANJOU)]
    (month,) = [
        a for a in alerts(register, date(2025, 2, 1), ANJOU) if a.kind == "month_not_closed"
    ]
    assert (month.since, month.due_on, month.amount_cents) == (date(2025, 1, 31),) * 2 + (1500,)
    register.close_period(
        period="month", day=date(2025, 1, 31), actor="c", at=noon(date(2025, 2, 3))
    )
    assert "month_not_closed" not in [a.kind for a in alerts(register, date(2025, 2, 3), ANJOU)]


def test_a_month_is_not_closed_by_a_later_months_closure() -> None:
    """Given a receipt on 6 January 2025 and February's month closure recorded on 1 March
    (January's not): January is still ``month_not_closed`` (sealing the aire's January needs
    its own closure), February is not; once January is closed, neither is."""
    register = opened(date(2025, 1, 6))
    receipt(register, ("pitch_fee", 1000), method="card", when=noon(date(2025, 1, 6)))
    register.close_period(
        period="month", day=date(2025, 2, 28), actor="c", at=noon(date(2025, 3, 1))
    )
    months = [
        (a.since, a.amount_cents)
        for a in alerts(register, date(2025, 3, 1), ANJOU)
        if a.kind == "month_not_closed"
    ]
    assert months == [(date(2025, 1, 31), 1000)]
    register.close_period(
        period="month", day=date(2025, 1, 31), actor="c", at=noon(date(2025, 3, 1))
    )
    left = [a.kind for a in alerts(register, date(2025, 3, 1), ANJOU)]
    assert "month_not_closed" not in left


# --- the rules themselves ----------------------------------------------------------------------


def test_rules_set_by_an_amending_act_replace_those_of_the_acte() -> None:
    """Given a register opened with the defaults, when an amending act lowers the ceiling
    under what is held and makes remittances weekly, then ``RulesSet`` records every rule,
    the ceiling is reached from that moment, and the alerts cite the new act."""
    register = opened(date(2025, 7, 1))
    assert register.rules == RegieRules("AC-2024-07", 120000)
    receipt(register, ("pitch_fee", 30000), when=noon(date(2025, 7, 2)))
    register.set_rules(
        decision_ref="AM-2025-07",
        cash_ceiling_cents=20000,
        remittance_frequency="weekly",
        remittance_days=None,
        cheque_working_days=1,
        actor="manager",
        at=noon(date(2025, 7, 3)),
    )
    (_, event) = register.collect_events()
    assert body(event) == (
        CashRegister.RulesSet,
        dict(
            originator_id=register.id,
            originator_version=3,
            timestamp=noon(date(2025, 7, 3)),
            decision_ref="AM-2025-07",
            cash_ceiling_cents=20000,
            remittance_frequency="weekly",
            remittance_days=None,
            cheque_working_days=1,
            actor="manager",
        ),
    )
    assert register.rules == RegieRules("AM-2025-07", 20000, "weekly", None, 1)
    assert register.cash_ceiling_cents == 20000 and register.remittance_due
    found = alerts(register, date(2025, 7, 10), ANJOU)
    assert [(a.kind, a.since, a.rule.endswith("(AM-2025-07)")) for a in found] == [
        ("day_not_closed", date(2025, 7, 2), False),
        ("cash_ceiling_reached", date(2025, 7, 3), True),
        ("remittance_overdue", date(2025, 7, 2), True),
    ]


@pytest.mark.parametrize(
    ("overrides", "error", "field"),
    [
        ({"decision_ref": " "}, InvalidValue, "decision_ref"),
        ({"cash_ceiling_cents": 0}, InvalidAmount, "cash_ceiling_cents"),
        ({"remittance_frequency": "yearly"}, InvalidValue, "remittance_frequency"),
        ({"remittance_frequency": "days"}, InvalidValue, "remittance_days"),
        ({"remittance_frequency": "days", "remittance_days": 93}, InvalidValue, "remittance_days"),
        ({"remittance_days": 10}, InvalidValue, "remittance_days"),
        ({"cheque_working_days": 0}, InvalidValue, "cheque_working_days"),
        ({"cheque_working_days": 11}, InvalidValue, "cheque_working_days"),
        ({"cheque_working_days": True}, InvalidValue, "cheque_working_days"),
    ],
)
def test_rules_refused(overrides: dict[str, Any], error: type[LedgerError], field: str) -> None:
    """Rules name their act, a positive ceiling, a known frequency (days with 1 to 92 of
    them, and only then), and 1 to 10 working days for cheques; nothing is recorded."""
    register = opened(date(2025, 7, 1))
    values: dict[str, Any] = dict(
        decision_ref="AM-1",
        cash_ceiling_cents=1000,
        remittance_frequency="monthly",
        remittance_days=None,
        cheque_working_days=1,
        actor="m",
        at=noon(date(2025, 7, 2)),
    )
    values.update(overrides)
    with pytest.raises(error) as raised:
        register.set_rules(**values)
    assert refused(raised) == (error.code, field)
    assert register.version == 1 and not register.pending_events


def test_an_opening_refuses_rules_the_same_way() -> None:
    """The acte constitutif's rules are checked at opening too."""
    with pytest.raises(InvalidValue) as raised:
        opened(date(2025, 7, 1), remittance_frequency="days")
    assert refused(raised) == ("invalid_value", "remittance_days")


def test_a_register_opened_before_the_rules_reads_the_defaults() -> None:
    """A v1 ``Opened`` (no rules) upcasts to monthly remittances, cheques by the next
    working day."""
    state: dict[str, Any] = {}
    CashRegister.Opened.upcast_v1_v2(state)
    assert state == {
        "remittance_frequency": "monthly",
        "remittance_days": None,
        "cheque_working_days": 1,
    }


# --- the cash position -------------------------------------------------------------------------


def test_the_cash_position_lists_what_is_held_and_not_yet_remitted() -> None:
    """Given cash, two cheques (one a deposit), a card and a transfer receipt, one cheque
    remitted: the position on 31 July gives each method's balance with its float and
    deposits, and the receipts not remitted (card and transfer: not yet credited) with
    their age."""
    register = opened(date(2025, 7, 1))
    receipt(register, ("pitch_fee", 1000), when=noon(date(2025, 7, 2)))
    receipt(register, ("pitch_fee", 2000), method="cheque", when=noon(date(2025, 7, 3)))
    remit(register, 2, when=noon(date(2025, 7, 4)), cash=1000, cheque=2000)
    receipt(register, ("deposit", 15000), method="cheque", when=noon(date(2025, 7, 21)))
    receipt(register, ("water", 800), method="card", when=noon(date(2025, 7, 28)))
    receipt(register, ("electricity", 900), method="transfer", when=noon(date(2025, 7, 30)))
    position = {p.method: p for p in cash_position(register, date(2025, 7, 31), ALL_METHODS)}
    assert position["cash"] == MethodPosition("cash", 5000, 5000, 0, ())
    cheque = position["cheque"]
    assert (cheque.balance_cents, cheque.deposits_cents, cheque.unremitted_cents) == (15000,) * 3
    assert [(r.number, r.received_on, r.age_days) for r in cheque.unremitted] == [
        (3, date(2025, 7, 21), 10)
    ]
    assert (position["card"].unremitted_cents, position["card"].oldest_days) == (800, 3)
    assert (position["transfer"].unremitted_cents, position["transfer"].oldest_days) == (900, 1)
    assert position["cash"].oldest_days is None


def test_the_register_keeps_one_day_a_run_back_to_the_oldest_receipt_not_remitted() -> None:
    """Receipt numbers follow the clock: the register keeps the first number of each day
    with receipts (not one entry per receipt), and drops the days wholly remitted."""
    register = opened(date(2025, 7, 1))
    for day, count in ((1, 2), (2, 1), (3, 2)):
        for _ in range(count):
            receipt(register, ("pitch_fee", 100), method="card", when=noon(date(2025, 7, day)))
    assert register.receipt_days == {"1": "2025-07-01", "3": "2025-07-02", "4": "2025-07-03"}
    remit(register, 3, when=noon(date(2025, 7, 3)), card=300)
    assert register.receipt_days == {"4": "2025-07-03"}
    remit(register, 4, when=noon(date(2025, 7, 4)), card=100)
    assert register.receipt_days == {"4": "2025-07-03"}
    held = [(r.number, r.received_on) for r in held_receipts(register, date(2025, 7, 4))]
    assert held == [(5, date(2025, 7, 3))]
