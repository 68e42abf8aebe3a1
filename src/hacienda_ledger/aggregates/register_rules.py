"""The régie's rules and what is due or late under them; the aggregate is in ``register``.

A régie's **acte constitutif** sets how its collected money reaches the comptable public
(``RegieRules``):

- **a remittance at least every period** (``remittance_frequency``: ``monthly`` by default,
  ``weekly``, or every ``remittance_days`` days): no receipt waits longer than the period
  after the day it was received;
- **the cash ceiling** (plafond d'encaisse): once the cash and cheques held, less the float,
  reach it, a remittance is due by the next working day;
- **cheques remitted by the next working day** (``cheque_working_days``, 1 by default: the
  N-th working day after the day received).

A **working day** (jour ouvré) is a Monday to Friday that is not a public holiday. Which
days are holidays is not the domain's to know: every function here takes ``is_working``, a
predicate the application builds from the French public holidays of the aire's
département (``application/calendar.py``). A deadline of the periodic rule that falls on a
day that is not a working day moves to the next working day.

``alerts`` is a pure function of (register state, its rules, today, ``is_working``): what is
due or late on that Europe/Paris day, each with a stable ``kind``, the day it arose
(``since``), the last day allowed (``due_on``), its amount and the rule. ``cash_position``
is, in the same way, what the register holds and has not yet remitted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from hacienda_ledger.aggregates.errors import InvalidValue
from hacienda_ledger.aggregates.register_books import OpenReceipt, held_cents
from hacienda_ledger.aggregates.values import (
    PaymentMethod,
    Totals,
    add_months,
    month_bounds,
    paris_day,
    require_cents,
)

WorkingDay = Callable[[date], bool]
"""Whether a day is a working day (jour ouvré) where the register is."""

MAX_REMITTANCE_DAYS = 92  # a quarter: no acte sets a longer period between remittances
MAX_CHEQUE_WORKING_DAYS = 10


class RemittanceFrequency(StrEnum):
    MONTHLY = "monthly"
    WEEKLY = "weekly"
    DAYS = "days"  # every ``remittance_days`` days


@dataclass(frozen=True)
class RegieRules:
    """What the régie's acte constitutif (or the act amending it, ``decision_ref``) sets."""

    decision_ref: str
    cash_ceiling_cents: int
    remittance_frequency: str = RemittanceFrequency.MONTHLY.value
    remittance_days: int | None = None
    cheque_working_days: int = 1

    @classmethod
    def checked(
        cls,
        *,
        decision_ref: str,
        cash_ceiling_cents: int,
        remittance_frequency: RemittanceFrequency | str = RemittanceFrequency.MONTHLY,
        remittance_days: int | None = None,
        cheque_working_days: int = 1,
    ) -> RegieRules:
        """The rules, or ``InvalidValue``/``InvalidAmount`` naming the field at fault."""
        if not decision_ref.strip():
            raise InvalidValue("rules are set by a named act", field="decision_ref")
        require_cents(cash_ceiling_cents, "cash_ceiling_cents")
        try:
            frequency = RemittanceFrequency(remittance_frequency)
        except ValueError:
            raise InvalidValue(
                "remittance_frequency is monthly, weekly or days", field="remittance_frequency"
            ) from None
        if frequency is RemittanceFrequency.DAYS:
            if not _whole(remittance_days, 1, MAX_REMITTANCE_DAYS):
                raise InvalidValue(
                    f"every 1 to {MAX_REMITTANCE_DAYS} days", field="remittance_days"
                )
        elif remittance_days is not None:
            raise InvalidValue(
                "remittance_days goes with the frequency days only", field="remittance_days"
            )
        if not _whole(cheque_working_days, 1, MAX_CHEQUE_WORKING_DAYS):
            raise InvalidValue(
                f"1 to {MAX_CHEQUE_WORKING_DAYS} working days", field="cheque_working_days"
            )
        return cls(
            decision_ref, cash_ceiling_cents, frequency.value, remittance_days, cheque_working_days
        )

    def remittance_due_on(self, received_on: date, is_working: WorkingDay) -> date:
        """The last day to remit a receipt of ``received_on`` under the periodic rule: a
        month (same day next month, clamped to its end), 7 days or N days later, moved to
        the next working day if it is not one."""
        if self.remittance_frequency == RemittanceFrequency.MONTHLY.value:
            deadline = add_months(received_on, 1)
        elif self.remittance_frequency == RemittanceFrequency.WEEKLY.value:
            deadline = received_on + timedelta(days=7)
        else:
            deadline = received_on + timedelta(days=self.remittance_days or 1)
        return deadline if is_working(deadline) else working_day_after(deadline, is_working)

    def cheque_due_on(self, received_on: date, is_working: WorkingDay) -> date:
        """The last day to remit a cheque received on ``received_on``."""
        return working_day_after(received_on, is_working, self.cheque_working_days)

    @property
    def period_text(self) -> str:
        if self.remittance_frequency == RemittanceFrequency.MONTHLY.value:
            return "at least monthly"
        if self.remittance_frequency == RemittanceFrequency.WEEKLY.value:
            return "at least weekly"
        return f"at least every {self.remittance_days} days"

    @property
    def cheque_text(self) -> str:
        if self.cheque_working_days == 1:
            return "by the next working day"
        return f"within {self.cheque_working_days} working days"


def _whole(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def working_day_after(day: date, is_working: WorkingDay, n: int = 1) -> date:
    """The ``n``-th working day after ``day`` (``day`` itself never counts)."""
    found = day
    for _ in range(n):
        found += timedelta(days=1)
        for _ in range(366):  # a calendar with no working day in a year is a mistake
            if is_working(found):
                break
            found += timedelta(days=1)
        else:
            raise InvalidValue(f"no working day in the year after {day}")
    return found


# --- alerts -------------------------------------------------------------------------------


class AlertKind(StrEnum):
    CASH_CEILING_REACHED = "cash_ceiling_reached"
    REMITTANCE_OVERDUE = "remittance_overdue"
    CHEQUE_NOT_REMITTED = "cheque_not_remitted"
    DAY_NOT_CLOSED = "day_not_closed"
    MONTH_NOT_CLOSED = "month_not_closed"


class AlertStatus(StrEnum):
    DUE = "due"  # to do by ``due_on``, which is today or later
    LATE = "late"  # ``due_on`` has passed


@dataclass(frozen=True)
class Alert:
    """One obligation of the régie that is due or late on a day."""

    kind: str
    status: str
    since: date  # the day it arose: received, ceiling reached, day or month ended
    due_on: date  # the last day allowed
    age_days: int  # days from ``since`` to the day the alerts are for
    amount_cents: int
    rule: str
    receipt_number: int | None = None  # the receipt concerned (the oldest, when several)


class RegisterState(Protocol):
    """What the alerts and the cash position read of a ``CashRegister``."""

    @property
    def rules(self) -> RegieRules: ...
    @property
    def float_cents(self) -> int: ...
    @property
    def balances(self) -> Mapping[str, int]: ...
    @property
    def deposits_by_method(self) -> Mapping[str, int]: ...
    @property
    def advances_by_method(self) -> Mapping[str, int]: ...
    @property
    def open_receipts(self) -> Mapping[str, OpenReceipt]: ...
    @property
    def receipt_days(self) -> Mapping[str, str]: ...
    @property
    def ceiling_reached_at(self) -> datetime | None: ...
    @property
    def cash_in_hand_cents(self) -> int: ...
    @property
    def daily_totals(self) -> Mapping[str, Totals]: ...
    @property
    def daily_third_party(self) -> Mapping[str, Totals]: ...
    @property
    def closed_through(self) -> date | None: ...
    @property
    def closed_months(self) -> tuple[str, ...]: ...
    @property
    def closed_years(self) -> tuple[int, ...]: ...
    @property
    def created_on(self) -> datetime: ...


@dataclass(frozen=True)
class HeldReceipt:
    """A receipt not yet remitted (nor cancelled), as of a day."""

    number: int
    method: str
    received_on: date
    amount_cents: int  # the whole receipt
    deposit_cents: int  # of which funds held for others (deposits, advances), not remitted
    age_days: int

    @property
    def remittable_cents(self) -> int:
        """What the comptable is owed of it: the receipt less its deposit lines."""
        return self.amount_cents - self.deposit_cents


def held_receipts(register: RegisterState, today: date) -> tuple[HeldReceipt, ...]:
    """Every receipt not yet remitted nor cancelled, in number order, with the day it was
    received (``receipt_days``: the first number of each day, in order)."""
    runs = [(int(first), date.fromisoformat(day)) for first, day in register.receipt_days.items()]
    held = []
    run = 0
    for receipt in sorted(register.open_receipts.values(), key=lambda r: r.number):
        while run + 1 < len(runs) and runs[run + 1][0] <= receipt.number:
            run += 1
        if receipt.cancelled or not runs or runs[run][0] > receipt.number:
            continue
        day = runs[run][1]
        held.append(
            HeldReceipt(
                receipt.number,
                receipt.method,
                day,
                receipt.total_cents,
                held_cents(receipt.lines),
                (today - day).days,
            )
        )
    return tuple(held)


def _status(today: date, due_on: date) -> str:
    return (AlertStatus.LATE if today > due_on else AlertStatus.DUE).value


def alerts(register: RegisterState, today: date, is_working: WorkingDay) -> tuple[Alert, ...]:
    """What is due or late on ``today`` under the register's rules, by due day.

    - ``cash_ceiling_reached``: cash and cheques held, less the float, are at or over the
      ceiling; since the day they reached it, due by the next working day.
    - ``remittance_overdue``: receipts (their part that is not deposits) kept past the last
      day of the periodic rule; one alert for all of them, named by the oldest; listed
      once late.
    - ``cheque_not_remitted``: each cheque receipt with something to remit, from the day it
      was received, due by the rule's working day.
    - ``day_not_closed``: days with receipts or cancellations that no closure covers, once
      over; one alert from the oldest, with their net total.
    - ``month_not_closed``: each month over, from the register's first, that the register
      has not closed itself (``closes_month``: its month's closure or its year's, what
      sealing the aire's month requires; a later month's closure does not count), with its
      net total.
    """
    rules = register.rules
    found: list[Alert] = []
    if register.ceiling_reached_at is not None:
        since = paris_day(register.ceiling_reached_at)
        due = working_day_after(since, is_working)
        found.append(
            Alert(
                AlertKind.CASH_CEILING_REACHED.value,
                _status(today, due),
                since,
                due,
                (today - since).days,
                register.cash_in_hand_cents,
                f"cash and cheques held, less the float, reach the cash ceiling of "
                f"{_euros(rules.cash_ceiling_cents)}: remit by the next working day "
                f"({rules.decision_ref})",
            )
        )
    held = [r for r in held_receipts(register, today) if r.remittable_cents > 0]
    overdue = [r for r in held if today > rules.remittance_due_on(r.received_on, is_working)]
    if overdue:
        oldest = overdue[0]
        due = rules.remittance_due_on(oldest.received_on, is_working)
        found.append(
            Alert(
                AlertKind.REMITTANCE_OVERDUE.value,
                AlertStatus.LATE.value,
                oldest.received_on,
                due,
                oldest.age_days,
                sum(r.remittable_cents for r in overdue),
                f"receipts are remitted {rules.period_text} ({rules.decision_ref})",
                oldest.number,
            )
        )
    for cheque in held:
        if cheque.method != PaymentMethod.CHEQUE.value:
            continue
        due = rules.cheque_due_on(cheque.received_on, is_working)
        found.append(
            Alert(
                AlertKind.CHEQUE_NOT_REMITTED.value,
                _status(today, due),
                cheque.received_on,
                due,
                cheque.age_days,
                cheque.remittable_cents,
                f"cheques are remitted {rules.cheque_text} ({rules.decision_ref})",
                cheque.number,
            )
        )
    found.extend(_closures_due(register, today))
    order = list(AlertKind)
    return tuple(
        sorted(
            found,
            key=lambda a: (a.due_on, order.index(AlertKind(a.kind)), a.receipt_number or 0),
        )
    )


def _received(register: RegisterState) -> dict[str, int]:
    """What each Paris day received, net of cancellations: revenue and third-party funds
    (deposits), which the register keeps apart and a closure covers alike."""
    days = dict.fromkeys(register.daily_totals, 0) | dict.fromkeys(register.daily_third_party, 0)
    for totals in (register.daily_totals, register.daily_third_party):
        for d, t in totals.items():
            days[d] += t.net_cents
    return days


def closes_month(register: RegisterState, month: str) -> bool:
    """Whether the register has closed ``month`` (``YYYY-MM``) itself: its month closure, or
    its year's. What sealing the aire's month needs of each register, and what the
    ``month_not_closed`` alert asks for; a later month's closure, or a day's, does not count
    (the month would stay open, and its seal refused, for good)."""
    return month in register.closed_months or int(month[:4]) in register.closed_years


def _closures_due(register: RegisterState, today: date) -> list[Alert]:
    closed = register.closed_through or date.min
    received = _received(register)
    unclosed = sorted(
        (date.fromisoformat(d), net)
        for d, net in received.items()
        if closed < date.fromisoformat(d) < today
    )
    found = []
    if unclosed:
        first = unclosed[0][0]
        found.append(
            Alert(
                AlertKind.DAY_NOT_CLOSED.value,
                AlertStatus.LATE.value,
                first,
                first,
                (today - first).days,
                sum(net for _, net in unclosed),
                f"each day with receipts is closed (clôture journalière): "
                f"{len(unclosed)} day(s) not closed",
            )
        )
    month = paris_day(register.created_on).replace(day=1)
    while True:
        first, last = month_bounds(month.isoformat()[:7])
        if last >= today:
            break
        if not closes_month(register, month.isoformat()[:7]):
            net = sum(n for d, n in received.items() if first.isoformat() <= d <= last.isoformat())
            found.append(
                Alert(
                    AlertKind.MONTH_NOT_CLOSED.value,
                    AlertStatus.LATE.value,
                    last,
                    last,
                    (today - last).days,
                    net,
                    "each month is closed before the aire's month is sealed",
                )
            )
        month = last + timedelta(days=1)
    return found


def _euros(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d} €"


# --- the cash position ----------------------------------------------------------------------


@dataclass(frozen=True)
class MethodPosition:
    """What the register holds in one payment method, and what of it is not yet remitted."""

    method: str
    balance_cents: int  # float, deposits and receipts not yet remitted, all included
    float_cents: int  # of which the float (cash only)
    deposits_cents: int  # of which deposits and advances held (third-party funds)
    unremitted: tuple[HeldReceipt, ...]  # receipts of this method not yet remitted

    @property
    def unremitted_cents(self) -> int:
        return sum(r.amount_cents for r in self.unremitted)

    @property
    def oldest_days(self) -> int | None:
        return max((r.age_days for r in self.unremitted), default=None)


def cash_position(
    register: RegisterState, today: date, methods: tuple[str, ...]
) -> tuple[MethodPosition, ...]:
    """What the register holds on ``today`` in each of ``methods``: balance, float, deposits
    and advances held (third-party funds) and the receipts not yet remitted (for card and
    transfer: not yet credited to the Trésor account, the ledger knowing no other crediting
    than the remittance)."""
    held = held_receipts(register, today)
    return tuple(
        MethodPosition(
            method,
            register.balances.get(method, 0),
            register.float_cents if method == PaymentMethod.CASH.value else 0,
            register.deposits_by_method.get(method, 0) + register.advances_by_method.get(method, 0),
            tuple(r for r in held if r.method == method),
        )
        for method in methods
    )
