"""CashRegister: given past events, run a command, check the new events or the error.

Register events carry ``prev_hash`` and ``hash``; event bodies are compared without them
(``body``) and the chain is checked on its own at the end. No database.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic

from hacienda_ledger.aggregates.errors import (
    CancellationNotPending,
    CancellationPending,
    InsufficientFunds,
    InvalidAmount,
    InvalidPeriod,
    InvalidValue,
    LedgerError,
    NotAllowed,
    NotRequester,
    PeriodClosed,
    ReceiptAlreadyCancelled,
    ReceiptAlreadyRemitted,
    ReceiptNotFound,
    SelfApproval,
)
from hacienda_ledger.aggregates.integrity import GENESIS, ChainLink, event_hash, verify_chain
from hacienda_ledger.aggregates.register import (
    CashRegister,
    Denomination,
    OpenReceipt,
    PendingCancellation,
    ReceiptLine,
    SlipLine,
)
from hacienda_ledger.aggregates.values import Totals

REGISTER_ID = UUID("9b2f7e61-3c4d-4a5b-8c6d-7e8f9a0b1c2d")
AIRE_ID = UUID("5e3f8c1a-7d2b-4c4e-9a61-0b8f2d7c3e10")
STAY_ID = UUID("0c9d6e2f-1a3b-4c5d-8e7f-9a0b1c2d3e4f")
OTHER_STAY = UUID("1d0e7f3a-2b4c-4d6e-9f8a-0b1c2d3e4f50")
HOUSEHOLD = UUID("6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0")
ALL_METHODS = ("cash", "cheque", "card", "transfer")
ALL_TYPES = ("pitch_fee", "water", "electricity", "deposit", "other")
# Monday 6 January 2025, 09:00 in Paris.
OPENED = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)


def at(month: int, day: int, hour: int = 9, minute: int = 0, year: int = 2025) -> datetime:
    """A recorded time in UTC (hour 9 UTC is 10:00 in Paris in winter, 11:00 in summer)."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def open_register(**overrides: Any) -> CashRegister:
    """A register with a 50.00 float and a 1,200.00 ceiling, its Opened event collected."""
    values: dict[str, Any] = dict(
        register_id=REGISTER_ID,
        aire_id=AIRE_ID,
        regie_ref="AC-2024-07",
        float_cents=5000,
        cash_ceiling_cents=120000,
        payment_methods=ALL_METHODS,
        revenue_types=ALL_TYPES,
        actor="manager",
        at=OPENED,
    )
    values.update(overrides)
    register = CashRegister.open(**values)
    register.collect_events()
    return register


def receipt(
    register: CashRegister,
    *lines: tuple[str, int],
    method: str = "cash",
    stay_id: UUID | None = STAY_ID,
    when: datetime | None = None,
) -> int:
    return register.issue_receipt(
        aire_id=AIRE_ID,
        stay_id=stay_id,
        household_ref=HOUSEHOLD if stay_id else None,
        method=method,
        lines=tuple(ReceiptLine(t, a) for t, a in lines),
        actor="cashier",
        at=when or register.modified_on,
    )


def cancel(register: CashRegister, number: int, when: datetime | None = None) -> None:
    register.cancel_receipt(
        number=number,
        reason="erreur de saisie",
        household_ref=HOUSEHOLD,
        actor="cashier",
        at=when or register.modified_on,
    )


def remit(
    register: CashRegister, through: int, when: datetime | None = None, **amounts: int
) -> int:
    return register.remit(
        through_receipt=through,
        amounts_by_method=amounts,
        actor="cashier",
        at=when or register.modified_on,
    )


def body(event: object) -> tuple[type, dict[str, Any]]:
    """An event's class and stored fields, less its two hashes."""
    fields = {k: v for k, v in vars(event).items() if k not in {"hash", "prev_hash"}}
    return type(event), fields


def header(register: CashRegister, version: int, when: datetime) -> dict[str, Any]:
    return dict(originator_id=register.id, originator_version=version, timestamp=when)


def refused(error: pytest.ExceptionInfo[LedgerError]) -> tuple[str, str | None]:
    return error.value.code, error.value.field


def unchanged(register: CashRegister, before: tuple[Any, ...]) -> bool:
    """No event added and the state a refusal must not touch is as it was."""
    return register.collect_events() == [] and before == snapshot(register)


def snapshot(register: CashRegister) -> tuple[Any, ...]:
    return (
        register.version,
        register.last_number,
        dict(register.balances),
        dict(register.deposits_held),
        dict(register.open_receipts),
        register.head_hash,
        dict(register.pending_cancellations),
    )


# --- opening ----------------------------------------------------------------------------


def test_open_a_register() -> None:
    """Opening records the acte constitutif, float, ceiling, what the register collects and
    the régie's other rules (by default: remitted at least monthly, cheques by the next
    working day); the float is in the cash drawer and the chain starts from the genesis
    hash."""
    register = CashRegister.open(
        register_id=REGISTER_ID,
        aire_id=AIRE_ID,
        regie_ref="AC-2024-07",
        float_cents=5000,
        cash_ceiling_cents=120000,
        payment_methods=("cash", "card", "cash"),
        revenue_types=("pitch_fee", "deposit"),
        actor="manager",
        at=OPENED,
    )
    (event,) = register.collect_events()
    expected = (
        CashRegister.Opened,
        dict(
            header(register, 1, OPENED),
            originator_topic=get_topic(CashRegister),
            aire_id=AIRE_ID,
            regie_ref="AC-2024-07",
            float_cents=5000,
            cash_ceiling_cents=120000,
            payment_methods=("cash", "card"),
            revenue_types=("pitch_fee", "deposit"),
            actor="manager",
            remittance_frequency="monthly",
            remittance_days=None,
            cheque_working_days=1,
        ),
    )
    assert expected == body(event)
    assert isinstance(event, CashRegister.Opened)
    assert event.prev_hash == GENESIS
    assert (register.balances, register.last_number) == ({"cash": 5000, "card": 0}, 0)


@pytest.mark.parametrize(
    ("overrides", "error", "field"),
    [
        ({"regie_ref": " "}, InvalidValue, "regie_ref"),
        ({"float_cents": -1}, InvalidAmount, "float_cents"),
        ({"float_cents": 50.0}, InvalidAmount, "float_cents"),
        ({"cash_ceiling_cents": 0}, InvalidAmount, "cash_ceiling_cents"),
        ({"payment_methods": ()}, InvalidValue, "payment_methods"),
        ({"payment_methods": ("cash", "bitcoin")}, InvalidValue, "payment_methods"),
        ({"revenue_types": ()}, InvalidValue, "revenue_types"),
        ({"revenue_types": ("pitch_fee", "rent")}, InvalidValue, "revenue_types"),
    ],
)
def test_open_refuses(overrides: dict[str, Any], error: type[LedgerError], field: str) -> None:
    """A register names its acte, has a non-negative float, a positive ceiling, and collects
    known revenue types by known payment methods."""
    values: dict[str, Any] = dict(
        register_id=REGISTER_ID,
        aire_id=AIRE_ID,
        regie_ref="AC-2024-07",
        float_cents=5000,
        cash_ceiling_cents=120000,
        payment_methods=ALL_METHODS,
        revenue_types=ALL_TYPES,
        actor="manager",
        at=OPENED,
    )
    values.update(overrides)
    with pytest.raises(error) as raised:
        CashRegister.open(**values)
    assert refused(raised) == (error.code, field)


# --- receipts ---------------------------------------------------------------------------


def test_issue_a_receipt() -> None:
    """A receipt gets number 1, its lines and total, and puts the money in its method."""
    register = open_register()
    number = receipt(register, ("pitch_fee", 2100), ("water", 878), when=at(1, 6))
    (event,) = register.collect_events()
    expected = (
        CashRegister.ReceiptIssued,
        dict(
            header(register, 2, at(1, 6)),
            number=1,
            aire_id=AIRE_ID,
            stay_id=STAY_ID,
            household_ref=HOUSEHOLD,
            method="cash",
            lines=(ReceiptLine("pitch_fee", 2100), ReceiptLine("water", 878)),
            total_cents=2978,
            actor="cashier",
            cheque=None,
        ),
    )
    assert expected == body(event)
    assert number == 1
    assert register.balances["cash"] == 5000 + 2978


def test_receipt_numbers_run_one_to_n() -> None:
    """Receipts are numbered 1, 2, 3... whatever their method or stay."""
    register = open_register()
    numbers = [
        receipt(register, ("pitch_fee", 300)),
        receipt(register, ("water", 100), method="card"),
        receipt(register, ("other", 500), stay_id=None),
        receipt(register, ("deposit", 15000), method="cheque"),
        receipt(register, ("electricity", 68), method="transfer"),
    ]
    assert numbers == [1, 2, 3, 4, 5]
    assert [e.number for e in register.collect_events()] == numbers  # type: ignore[attr-defined]


def test_a_deposit_receipt_holds_the_deposit_for_its_stay() -> None:
    """Deposit lines are held for the stay (third-party funds), other lines are not."""
    register = open_register()
    receipt(register, ("deposit", 15000), ("pitch_fee", 2100), method="cheque")
    assert (register.deposit_held(STAY_ID), register.deposit_held(OTHER_STAY)) == (15000, 0)


RESTRICTED = dict(payment_methods=("cash", "card"), revenue_types=("pitch_fee", "deposit"))


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"method": "cheque"}, NotAllowed, "method"),
        ({"method": "bitcoin"}, InvalidValue, "method"),
        ({"lines": ()}, InvalidValue, "lines"),
        ({"lines": (ReceiptLine("pitch_fee", 0),)}, InvalidAmount, "lines[0].amount_cents"),
        ({"lines": (ReceiptLine("pitch_fee", -300),)}, InvalidAmount, "lines[0].amount_cents"),
        (
            {"lines": (ReceiptLine("pitch_fee", 300), ReceiptLine("water", 12.5))},
            InvalidAmount,
            "lines[1].amount_cents",
        ),
        (
            {"lines": (ReceiptLine("pitch_fee", 300), ReceiptLine("water", 878))},
            NotAllowed,
            "lines[1].revenue_type",
        ),
        ({"lines": (ReceiptLine("deposit", 15000),), "stay_id": None}, InvalidValue, "stay_id"),
    ],
)
def test_issue_receipt_refuses(
    kwargs: dict[str, Any], error: type[LedgerError], field: str
) -> None:
    """A receipt uses a method and revenue types the register collects, has at least one line
    of a positive int amount, and a deposit names its stay; a refusal takes no number."""
    register = open_register(**RESTRICTED)
    receipt(register, ("pitch_fee", 300))
    register.collect_events()
    before = snapshot(register)
    values: dict[str, Any] = dict(
        aire_id=AIRE_ID,
        stay_id=STAY_ID,
        household_ref=HOUSEHOLD,
        method="cash",
        lines=(ReceiptLine("pitch_fee", 300),),
    )
    values.update(kwargs)
    with pytest.raises(error) as raised:
        register.issue_receipt(**values, actor="cashier", at=at(1, 6))
    assert refused(raised) == (error.code, field)
    assert unchanged(register, before)
    assert receipt(register, ("pitch_fee", 300)) == 2


# --- cancellations ----------------------------------------------------------------------


def test_cancel_a_receipt() -> None:
    """A cancellation reverses the receipt under its own number; the receipt stays in the
    sequence, marked cancelled, and the next receipt takes the next number. Made on the
    régisseur's own authority, it names them as who asked and who approved."""
    register = open_register()
    receipt(register, ("pitch_fee", 2100), ("water", 878), when=at(1, 6))
    receipt(register, ("other", 500), method="card", when=at(1, 6, 10))
    register.collect_events()
    register.cancel_receipt(
        number=1, reason="erreur de montant", household_ref=HOUSEHOLD, actor="chef", at=at(1, 6, 11)
    )
    (event,) = register.collect_events()
    expected = (
        CashRegister.ReceiptCancelled,
        dict(
            header(register, 4, at(1, 6, 11)),
            number=1,
            aire_id=AIRE_ID,
            stay_id=STAY_ID,
            household_ref=HOUSEHOLD,
            method="cash",
            lines=(ReceiptLine("pitch_fee", 2100), ReceiptLine("water", 878)),
            total_cents=2978,
            reason="erreur de montant",
            actor="chef",
            requested_by="chef",
            requested_at=at(1, 6, 11),
            approved_by="chef",
        ),
    )
    assert expected == body(event)
    assert register.open_receipts["1"].cancelled
    assert register.balances["cash"] == 5000
    assert receipt(register, ("pitch_fee", 300)) == 3


def test_cancelling_a_deposit_receipt_releases_the_deposit() -> None:
    """A cancelled deposit receipt is no longer held for the stay."""
    register = open_register()
    receipt(register, ("deposit", 15000))
    cancel(register, 1)
    assert register.deposit_held(STAY_ID) == 0


def test_cancel_refuses_a_second_cancellation() -> None:
    """A receipt is cancelled once only."""
    register = open_register()
    receipt(register, ("pitch_fee", 2100))
    cancel(register, 1)
    register.collect_events()
    before = snapshot(register)
    with pytest.raises(ReceiptAlreadyCancelled) as error:
        cancel(register, 1)
    assert refused(error) == ("receipt_already_cancelled", "number")
    assert unchanged(register, before)


def test_cancel_refuses_a_remitted_receipt() -> None:
    """A receipt paid in to the comptable is corrected there, not cancelled here."""
    register = open_register()
    receipt(register, ("pitch_fee", 2100), method="card")
    remit(register, 1, card=2100)
    register.collect_events()
    before = snapshot(register)
    with pytest.raises(ReceiptAlreadyRemitted) as error:
        cancel(register, 1)
    assert refused(error) == ("receipt_already_remitted", "number")
    assert unchanged(register, before)


@pytest.mark.parametrize("number", [0, 2, -1])
def test_cancel_refuses_an_unknown_number(number: int) -> None:
    """Only a number already issued can be cancelled."""
    register = open_register()
    receipt(register, ("pitch_fee", 2100))
    register.collect_events()
    before = snapshot(register)
    with pytest.raises(ReceiptNotFound) as error:
        cancel(register, number)
    assert refused(error) == ("receipt_not_found", "number")
    assert unchanged(register, before)


def test_cancel_refuses_without_a_reason() -> None:
    """A cancellation says why."""
    register = open_register()
    receipt(register, ("pitch_fee", 2100))
    register.collect_events()
    before = snapshot(register)
    with pytest.raises(InvalidValue) as error:
        register.cancel_receipt(
            number=1, reason="  ", household_ref=None, actor="c", at=register.modified_on
        )
    assert refused(error) == ("invalid_value", "reason")
    assert unchanged(register, before)


def test_cancel_refuses_a_deposit_already_partly_refunded() -> None:
    """A deposit receipt cannot be cancelled once part of the deposit has left."""
    register = open_register()
    receipt(register, ("deposit", 15000))
    register.refund_deposit(
        aire_id=AIRE_ID,
        stay_id=STAY_ID,
        amount_cents=5000,
        method="cash",
        actor="c",
        at=register.modified_on,
    )
    register.collect_events()
    before = snapshot(register)
    with pytest.raises(InsufficientFunds) as error:
        cancel(register, 1)
    assert refused(error) == ("insufficient_funds", "number")
    assert unchanged(register, before)


# --- a cashier asks, the régisseur decides -----------------------------------------------


def ask(register: CashRegister, number: int, who: str = "cashier", reason: str = "doublon") -> None:
    register.request_cancellation(number=number, reason=reason, actor=who, at=register.modified_on)


def approve(register: CashRegister, number: int, who: str = "regisseur") -> None:
    register.approve_cancellation(
        number=number, household_ref=HOUSEHOLD, actor=who, at=register.modified_on
    )


def money_state(register: CashRegister) -> tuple[Any, ...]:
    """Everything a reversal changes: balances, receipts, deposits, what each stay settled,
    the day's totals and the perpetual total."""
    return (
        dict(register.balances),
        dict(register.open_receipts),
        dict(register.deposits_held),
        dict(register.settled_by_stay),
        dict(register.daily_totals),
        register.perpetual_total_cents,
    )


def test_a_cashier_asks_and_the_receipt_stands() -> None:
    """Given a receipt of 21.00 + 8.78 for a stay, when the cashier asks for its
    cancellation, then a ``CancellationRequested`` (number, reason, cashier) is recorded and
    the cancellation is pending; the receipt stands: balances, the stay's settlement, the
    deposits, the day's totals and the perpetual total are as they were."""
    register = open_register()
    receipt(register, ("pitch_fee", 2100), ("water", 878), when=at(1, 6))
    register.collect_events()
    before = money_state(register)
    register.request_cancellation(
        number=1, reason="erreur de montant", actor="cashier", at=at(1, 6, 10)
    )
    (event,) = register.collect_events()
    assert body(event) == (
        CashRegister.CancellationRequested,
        dict(
            header(register, 3, at(1, 6, 10)),
            number=1,
            reason="erreur de montant",
            actor="cashier",
        ),
    )
    assert money_state(register) == before
    assert not register.open_receipts["1"].cancelled
    pending = PendingCancellation(1, "erreur de montant", "cashier", at(1, 6, 10))
    assert register.pending_cancellation(1) == pending
    assert register.pending == (pending,)


def test_the_regisseur_approves_and_the_receipt_is_reversed() -> None:
    """Given a cashier's pending request, when the régisseur approves it, then the receipt is
    reversed (``ReceiptCancelled`` with the request's reason, who asked and when, and who
    approved) and nothing is pending any more."""
    register = open_register()
    receipt(register, ("pitch_fee", 2100), ("water", 878), when=at(1, 6))
    register.request_cancellation(number=1, reason="doublon", actor="cashier", at=at(1, 6, 10))
    register.collect_events()
    register.approve_cancellation(
        number=1, household_ref=HOUSEHOLD, actor="regisseur", at=at(1, 6, 15)
    )
    (event,) = register.collect_events()
    assert body(event) == (
        CashRegister.ReceiptCancelled,
        dict(
            header(register, 4, at(1, 6, 15)),
            number=1,
            aire_id=AIRE_ID,
            stay_id=STAY_ID,
            household_ref=HOUSEHOLD,
            method="cash",
            lines=(ReceiptLine("pitch_fee", 2100), ReceiptLine("water", 878)),
            total_cents=2978,
            reason="doublon",
            actor="regisseur",
            requested_by="cashier",
            requested_at=at(1, 6, 10),
            approved_by="regisseur",
        ),
    )
    assert register.open_receipts["1"].cancelled
    assert register.balances["cash"] == 5000
    assert register.settled(STAY_ID) == 0
    assert register.perpetual_total_cents == 0
    assert register.pending == ()


def test_who_asked_cannot_approve() -> None:
    """Given a cancellation asked for by the cashier, the same cashier's approval is 409
    ``self_approval``: nothing recorded, still pending."""
    register = open_register()
    receipt(register, ("pitch_fee", 2100))
    ask(register, 1, who="cashier")
    register.collect_events()
    before = snapshot(register)
    with pytest.raises(SelfApproval) as error:
        approve(register, 1, who="cashier")
    assert refused(error) == ("self_approval", "number")
    assert unchanged(register, before)
    assert register.pending_cancellation(1) is not None


@pytest.mark.parametrize(
    ("number", "error", "code"),
    [
        (1, CancellationNotPending, "cancellation_not_pending"),
        (2, ReceiptNotFound, "receipt_not_found"),
    ],
)
def test_nothing_pending_is_neither_approved_refused_nor_withdrawn(
    number: int, error: type[LedgerError], code: str
) -> None:
    """Given receipt 1 and no request, approving, refusing or withdrawing the cancellation of
    receipt 1 is 409 ``cancellation_not_pending``, of receipt 2 (never issued) 404
    ``receipt_not_found``; nothing recorded."""
    register = open_register()
    receipt(register, ("pitch_fee", 2100))
    register.collect_events()
    before = snapshot(register)
    decisions = [
        lambda: approve(register, number),
        lambda: register.refuse_cancellation(
            number=number, reason="non", actor="regisseur", at=register.modified_on
        ),
        lambda: register.withdraw_cancellation(
            number=number, actor="cashier", at=register.modified_on
        ),
    ]
    for decide in decisions:
        with pytest.raises(error) as raised:
            decide()
        assert refused(raised) == (code, "number")
        assert unchanged(register, before)


def test_a_cancellation_is_asked_once() -> None:
    """Given a pending request, asking again (anyone) is 409 ``cancellation_pending``, and so
    is a régisseur's own cancellation of that receipt: the request is decided first."""
    register = open_register()
    receipt(register, ("pitch_fee", 2100))
    ask(register, 1)
    register.collect_events()
    before = snapshot(register)
    with pytest.raises(CancellationPending) as error:
        ask(register, 1, who="other-cashier")
    assert refused(error) == ("cancellation_pending", "number")
    with pytest.raises(CancellationPending):
        register.cancel_receipt(
            number=1, reason="x", household_ref=None, actor="regisseur", at=register.modified_on
        )
    assert unchanged(register, before)


def test_asking_refuses_what_could_not_be_cancelled() -> None:
    """A request is refused, recording nothing, when the receipt could not be cancelled now:
    no reason, never issued, already cancelled, remitted, or its deposit partly refunded."""
    register = open_register()
    receipt(register, ("pitch_fee", 2100), method="card")  # 1: remitted below
    receipt(register, ("other", 500), stay_id=None)  # 2: cancelled below
    receipt(register, ("deposit", 15000))  # 3: part refunded below
    remit(register, 1, card=2100)
    cancel(register, 2)
    register.refund_deposit(
        aire_id=AIRE_ID,
        stay_id=STAY_ID,
        amount_cents=100,
        method="cash",
        actor="c",
        at=register.modified_on,
    )
    register.collect_events()
    before = snapshot(register)
    cases = [
        (3, "  ", "invalid_value", "reason"),
        (4, "x", "receipt_not_found", "number"),
        (2, "x", "receipt_already_cancelled", "number"),
        (1, "x", "receipt_already_remitted", "number"),
        (3, "x", "insufficient_funds", "number"),
    ]
    for number, reason, code, field in cases:
        with pytest.raises(LedgerError) as error:
            ask(register, number, reason=reason)
        assert refused(error) == (code, field), number
        assert unchanged(register, before)


def test_the_regisseur_refuses_and_the_receipt_stands() -> None:
    """Given a pending request, the régisseur's refusal (with a reason) records
    ``CancellationRefused``; the receipt stands and a new request may be made. A refusal
    says why (``invalid_value`` on ``reason``)."""
    register = open_register()
    receipt(register, ("pitch_fee", 2100))
    ask(register, 1)
    register.collect_events()
    before = money_state(register)
    with pytest.raises(InvalidValue) as error:
        register.refuse_cancellation(number=1, reason=" ", actor="regisseur", at=at(1, 6, 12))
    assert refused(error) == ("invalid_value", "reason")
    register.refuse_cancellation(
        number=1, reason="la quittance est juste", actor="regisseur", at=at(1, 6, 12)
    )
    (event,) = register.collect_events()
    assert body(event) == (
        CashRegister.CancellationRefused,
        dict(
            header(register, 4, at(1, 6, 12)),
            number=1,
            reason="la quittance est juste",
            actor="regisseur",
        ),
    )
    assert money_state(register) == before
    assert register.pending == ()
    ask(register, 1)
    assert register.pending_cancellation(1) is not None


def test_who_asked_withdraws_and_nobody_else() -> None:
    """Given the cashier's pending request, another's withdrawal is 409 ``not_requester``
    (nothing recorded); the cashier's own records ``CancellationWithdrawn``: the receipt
    stands, nothing pending."""
    register = open_register()
    receipt(register, ("pitch_fee", 2100))
    ask(register, 1, who="cashier")
    register.collect_events()
    before = snapshot(register)
    with pytest.raises(NotRequester) as error:
        register.withdraw_cancellation(number=1, actor="someone-else", at=at(1, 6, 12))
    assert refused(error) == ("not_requester", "number")
    assert unchanged(register, before)
    register.withdraw_cancellation(number=1, actor="cashier", at=at(1, 6, 12))
    (event,) = register.collect_events()
    assert body(event) == (
        CashRegister.CancellationWithdrawn,
        dict(header(register, 4, at(1, 6, 12)), number=1, actor="cashier"),
    )
    assert register.pending == () and not register.open_receipts["1"].cancelled


def test_no_slip_lists_a_receipt_whose_cancellation_is_pending() -> None:
    """Given receipts 1 and 2 and a request on 2, a slip through 2 is 409
    ``cancellation_pending`` (nothing recorded) whether or not it pays in its lines' total
    (the régisseur's decision comes before the slip's balance), a slip through 1 is made;
    once the request is refused, the slip through 2 is made too."""
    register = open_register()
    receipt(register, ("pitch_fee", 2100), method="card")
    receipt(register, ("pitch_fee", 300), method="card")
    ask(register, 2)
    register.collect_events()
    before = snapshot(register)
    for card in (2400, 1):
        with pytest.raises(CancellationPending) as error:
            remit(register, 2, card=card)
        assert refused(error) == ("cancellation_pending", "through_receipt")
    assert unchanged(register, before)
    assert remit(register, 1, card=2100) == 1
    register.refuse_cancellation(number=2, reason="non", actor="regisseur", at=at(1, 6, 12))
    assert remit(register, 2, card=300) == 2


def test_an_approval_checks_the_money_again() -> None:
    """Given a request on a deposit receipt, and then part of the deposit refunded, the
    approval is 409 ``insufficient_funds``: nothing recorded, the request still pending
    (the régisseur refuses it)."""
    register = open_register()
    receipt(register, ("deposit", 15000))
    ask(register, 1)
    register.refund_deposit(
        aire_id=AIRE_ID,
        stay_id=STAY_ID,
        amount_cents=100,
        method="cash",
        actor="c",
        at=register.modified_on,
    )
    register.collect_events()
    before = snapshot(register)
    with pytest.raises(InsufficientFunds):
        approve(register, 1)
    assert unchanged(register, before)
    assert register.pending_cancellation(1) is not None


def test_a_snapshot_keeps_the_pending_cancellations() -> None:
    """A register snapshotted while a cancellation waits restores it (reason, who asked,
    when), and the régisseur approves it from there as from the register itself."""
    register = open_register()
    receipt(register, ("pitch_fee", 300))
    ask(register, 1)
    register.collect_events()
    snap = CashRegister.Snapshot.take(register)
    restored = snap.mutate(None)
    assert restored == register
    assert restored.pending == register.pending != ()
    approve(restored, 1)
    assert restored.open_receipts["1"].cancelled and restored.pending == ()


def test_a_snapshot_from_before_cancellation_requests_reads_none_pending() -> None:
    """A v3 snapshot (taken by a ledger that knew no requests) has no
    ``pending_cancellations``: upcast to v4 it has none pending, as a replay of its events
    would, and the register takes a request and its approval."""
    register = open_register()
    receipt(register, ("pitch_fee", 300))
    register.collect_events()
    snap = CashRegister.Snapshot.take(register)
    state = {k: v for k, v in snap.state.items() if k != "pending_cancellations"}
    v3 = CashRegister.Snapshot(
        originator_id=snap.originator_id,
        originator_version=snap.originator_version,
        timestamp=snap.timestamp,
        topic=snap.topic,
        state={**state, "class_version": 3},
    )
    restored = v3.mutate(None)
    assert restored == register
    assert restored.pending == ()
    ask(restored, 1)
    approve(restored, 1)
    assert restored.open_receipts["1"].cancelled and restored.pending == ()


# --- deposits: refund and withholding ---------------------------------------------------


def test_refund_a_deposit() -> None:
    """A refund takes money out of its method and off the deposit held for the stay."""
    register = open_register()
    receipt(register, ("deposit", 15000), when=at(1, 6))
    register.collect_events()
    register.refund_deposit(
        aire_id=AIRE_ID,
        stay_id=STAY_ID,
        amount_cents=12000,
        method="cash",
        actor="cashier",
        at=at(1, 9),
    )
    (event,) = register.collect_events()
    expected = (
        CashRegister.DepositRefunded,
        dict(
            header(register, 3, at(1, 9)),
            aire_id=AIRE_ID,
            stay_id=STAY_ID,
            amount_cents=12000,
            method="cash",
            actor="cashier",
        ),
    )
    assert expected == body(event)
    assert (register.deposit_held(STAY_ID), register.balances["cash"]) == (3000, 5000 + 3000)


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"amount_cents": 15001}, InsufficientFunds, "amount_cents"),
        ({"stay_id": OTHER_STAY}, InsufficientFunds, "amount_cents"),
        ({"method": "cheque"}, InsufficientFunds, "method"),  # no cheque in the register
        ({"method": "transfer"}, NotAllowed, "method"),
        ({"amount_cents": 0}, InvalidAmount, "amount_cents"),
    ],
)
def test_refund_refuses(kwargs: dict[str, Any], error: type[LedgerError], field: str) -> None:
    """A refund is never more than the deposit held for that stay nor than the register holds
    in that method, uses an allowed method and a positive amount."""
    register = open_register(payment_methods=("cash", "cheque", "card"))
    receipt(register, ("deposit", 15000), method="card")
    register.collect_events()
    before = snapshot(register)
    values: dict[str, Any] = dict(
        aire_id=AIRE_ID, stay_id=STAY_ID, amount_cents=10000, method="card"
    )
    values.update(kwargs)
    with pytest.raises(error) as raised:
        register.refund_deposit(**values, actor="cashier", at=register.modified_on)
    assert refused(raised) == (error.code, field)
    assert unchanged(register, before)


@pytest.mark.parametrize("reason", ["damage", "unpaid_charges"])
def test_withhold_a_deposit(reason: str) -> None:
    """Withholding keeps part of the deposit against damage or unpaid charges, with its
    reference; no money moves in the register."""
    register = open_register()
    receipt(register, ("deposit", 15000), when=at(1, 6))
    register.collect_events()
    register.withhold_deposit(
        aire_id=AIRE_ID,
        stay_id=STAY_ID,
        amount_cents=4000,
        reason=reason,
        reference="EDL-S-1",
        actor="cashier",
        at=at(1, 9),
    )
    (event,) = register.collect_events()
    expected = (
        CashRegister.DepositWithheld,
        dict(
            header(register, 3, at(1, 9)),
            aire_id=AIRE_ID,
            stay_id=STAY_ID,
            amount_cents=4000,
            reason=reason,
            reference="EDL-S-1",
            actor="cashier",
        ),
    )
    assert expected == body(event)
    assert (register.deposit_held(STAY_ID), register.balances["cash"]) == (11000, 5000 + 15000)


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"amount_cents": 15001}, InsufficientFunds, "amount_cents"),
        ({"stay_id": OTHER_STAY}, InsufficientFunds, "amount_cents"),
        ({"reason": "rent"}, InvalidValue, "reason"),
        ({"reference": " "}, InvalidValue, "reference"),
        ({"amount_cents": 0}, InvalidAmount, "amount_cents"),
    ],
)
def test_withhold_refuses(kwargs: dict[str, Any], error: type[LedgerError], field: str) -> None:
    """A withholding is never more than the deposit held, gives one of the two reasons and
    references the damage report or the charge."""
    register = open_register()
    receipt(register, ("deposit", 15000))
    register.collect_events()
    before = snapshot(register)
    values: dict[str, Any] = dict(
        aire_id=AIRE_ID, stay_id=STAY_ID, amount_cents=4000, reason="damage", reference="EDL-S-1"
    )
    values.update(kwargs)
    with pytest.raises(error) as raised:
        register.withhold_deposit(**values, actor="cashier", at=register.modified_on)
    assert refused(raised) == (error.code, field)
    assert unchanged(register, before)


def test_refund_and_withholding_together_never_exceed_the_deposit() -> None:
    """After withholding 40.00 of 150.00, a refund of 110.01 is refused and 110.00 accepted."""
    register = open_register()
    receipt(register, ("deposit", 15000))
    register.withhold_deposit(
        aire_id=AIRE_ID,
        stay_id=STAY_ID,
        amount_cents=4000,
        reason="damage",
        reference="EDL-S-1",
        actor="c",
        at=register.modified_on,
    )
    refund: dict[str, Any] = dict(aire_id=AIRE_ID, stay_id=STAY_ID, method="cash", actor="c")
    with pytest.raises(InsufficientFunds):
        register.refund_deposit(amount_cents=11001, at=register.modified_on, **refund)
    register.refund_deposit(amount_cents=11000, at=register.modified_on, **refund)
    assert register.deposit_held(STAY_ID) == 0


# --- remittances ------------------------------------------------------------------------


def test_remit_collected_money() -> None:
    """A slip covers the receipts not yet remitted, lists the receipts by method (cancelled
    ones left out) and pays in the amounts given; the receipts are no longer open."""
    register = open_register()
    receipt(register, ("pitch_fee", 2000), when=at(1, 6))
    receipt(register, ("pitch_fee", 1500), method="card")
    receipt(register, ("water", 500))
    cancel(register, 3)
    register.collect_events()
    slip = remit(register, 3, when=at(1, 31, 15), cash=2000, card=1500)
    (event,) = register.collect_events()
    expected = (
        CashRegister.RemittanceMade,
        dict(
            header(register, 6, at(1, 31, 15)),
            slip_number=1,
            first_receipt=1,
            last_receipt=3,
            amounts_by_method={"card": 1500, "cash": 2000},
            receipts_by_method={"card": 1500, "cash": 2000},
            total_cents=3500,
            actor="cashier",
            lines=(
                SlipLine("receipt", 1, "cash", 2000),
                SlipLine("receipt", 2, "card", 1500),
                SlipLine("receipt", 3, "cash", 0, cancelled=True),
            ),
        ),
    )
    assert expected == body(event)
    assert slip == 1
    assert (register.balances["cash"], register.balances["card"]) == (5000, 0)
    assert register.open_receipts == {}


def test_slips_are_numbered_and_continue_the_receipt_range() -> None:
    """The second slip is number 2 and starts after the last receipt of the first."""
    register = open_register()
    receipt(register, ("pitch_fee", 2000), method="card")
    remit(register, 1, card=2000)
    receipt(register, ("pitch_fee", 900), method="cheque")
    receipt(register, ("water", 300), method="cheque")
    register.collect_events()
    assert remit(register, 3, cheque=1200) == 2
    (event,) = register.collect_events()
    assert isinstance(event, CashRegister.RemittanceMade)
    assert (event.first_receipt, event.last_receipt, event.receipts_by_method) == (
        2,
        3,
        {"cheque": 1200},
    )


def test_remit_part_of_the_range() -> None:
    """A slip may stop before the last receipt; the later receipts stay open."""
    register = open_register()
    receipt(register, ("pitch_fee", 2000), method="card")
    receipt(register, ("pitch_fee", 900), method="card")
    remit(register, 1, card=2000)
    assert (register.last_remitted_number, sorted(register.open_receipts)) == (1, ["2"])


def test_remittance_keeps_the_float_in_cash() -> None:
    """Cash remittable is the cash less the float: 20.00 collected over a 50.00 float."""
    register = open_register()
    receipt(register, ("pitch_fee", 2000))
    register.collect_events()
    before = snapshot(register)
    with pytest.raises(InsufficientFunds) as error:
        remit(register, 1, cash=2001)
    assert refused(error) == ("insufficient_funds", "amounts_by_method_cents.cash")
    assert unchanged(register, before)
    remit(register, 1, cash=2000)
    assert register.balances["cash"] == 5000


def test_remittance_keeps_the_cash_deposits_held() -> None:
    """Deposits held are third-party funds kept to refund them: not remitted with the cash."""
    register = open_register()
    receipt(register, ("deposit", 15000), ("pitch_fee", 2000))
    assert register.remittable("cash") == 2000
    with pytest.raises(InsufficientFunds):
        remit(register, 1, cash=2001)


def test_a_deposit_paid_by_card_does_not_hold_back_the_cash() -> None:
    """A 150.00 deposit paid by card is not in the cash drawer: the 20.00 of cash collected
    over the float can still be paid in."""
    register = open_register()
    receipt(register, ("deposit", 15000), method="card")
    receipt(register, ("pitch_fee", 2000))
    assert register.remittable("cash") == 2000


def test_remittance_keeps_a_card_deposit_in_the_card_account() -> None:
    """A deposit paid by card is held back from the card money paid in, not from the cash."""
    register = open_register()
    receipt(register, ("deposit", 15000), ("pitch_fee", 1500), method="card")
    register.collect_events()
    before = snapshot(register)
    with pytest.raises(InsufficientFunds) as error:
        remit(register, 1, card=1501)
    assert refused(error) == ("insufficient_funds", "amounts_by_method_cents.card")
    assert unchanged(register, before)
    assert remit(register, 1, card=1500) == 1


def test_a_withheld_deposit_becomes_remittable() -> None:
    """A deposit withheld against damage is the aire's money now: it can be paid in."""
    register = open_register()
    receipt(register, ("deposit", 15000), method="card")
    assert register.remittable("card") == 0
    register.withhold_deposit(
        aire_id=AIRE_ID,
        stay_id=STAY_ID,
        amount_cents=15000,
        reason="damage",
        reference="EDL-S-1",
        actor="c",
        at=register.modified_on,
    )
    assert register.remittable("card") == 15000


def test_withholding_releases_the_reserve_of_that_stay_only() -> None:
    """Stay A paid its deposit by card, stay B in cash. Withholding A's deposit frees the card
    money, and B's cash deposit stays held back from the remittance."""
    register = open_register()
    receipt(register, ("deposit", 15000), method="card", stay_id=STAY_ID)
    receipt(register, ("deposit", 15000), method="cash", stay_id=OTHER_STAY)
    register.withhold_deposit(
        aire_id=AIRE_ID,
        stay_id=STAY_ID,
        amount_cents=15000,
        reason="damage",
        reference="EDL-S-1",
        actor="c",
        at=register.modified_on,
    )
    assert (register.remittable("cash"), register.remittable("card")) == (0, 15000)


@pytest.mark.parametrize(("method", "amount"), [("card", 1501), ("cheque", 1), ("transfer", 1)])
def test_remittance_never_exceeds_what_a_method_holds(method: str, amount: int) -> None:
    """Card, cheque and transfer can be paid in up to their balance, not a cent more."""
    register = open_register()
    receipt(register, ("pitch_fee", 1500), method="card")
    register.collect_events()
    before = snapshot(register)
    with pytest.raises(InsufficientFunds) as error:
        remit(register, 1, **{method: amount})
    assert refused(error) == ("insufficient_funds", f"amounts_by_method_cents.{method}")
    assert unchanged(register, before)


@pytest.mark.parametrize(
    ("through", "amounts", "error", "field"),
    [
        (0, {"cash": 100}, InvalidValue, "through_receipt"),  # before the last slip's end
        (4, {"cash": 100}, InvalidValue, "through_receipt"),  # not issued yet
        (3, {}, InvalidAmount, "amounts_by_method_cents"),
        (3, {"cash": 0, "card": 0}, InvalidAmount, "amounts_by_method_cents"),
        (3, {"cash": -100}, InvalidAmount, "amounts_by_method_cents.cash"),
        (3, {"transfer": 100}, NotAllowed, "method"),
        (3, {"bitcoin": 100}, InvalidValue, "method"),
    ],
)
def test_remit_refuses(
    through: int, amounts: dict[str, int], error: type[LedgerError], field: str
) -> None:
    """A slip covers receipts issued and not yet remitted, pays in something, by methods the
    register accepts, in non-negative amounts."""
    register = open_register(payment_methods=("cash", "card"))
    receipt(register, ("pitch_fee", 1000), method="card")
    remit(register, 1, card=1000)
    receipt(register, ("pitch_fee", 2000))
    receipt(register, ("pitch_fee", 700))
    register.collect_events()
    before = snapshot(register)
    with pytest.raises(error) as raised:
        remit(register, through, **amounts)
    assert refused(raised) == (error.code, field)
    assert unchanged(register, before)


def test_a_slip_may_pay_in_without_new_receipts() -> None:
    """Money found at a count after the last slip can be paid in under a new slip that lists
    no receipt."""
    register = open_register()
    receipt(register, ("pitch_fee", 2000))
    remit(register, 1, cash=2000)
    register.count_cash(counted_cents=5150, actor="c", at=register.modified_on)
    register.collect_events()
    assert remit(register, 1, cash=150) == 2
    (event,) = register.collect_events()
    assert isinstance(event, CashRegister.RemittanceMade)
    assert (event.amounts_by_method, event.receipts_by_method, event.total_cents) == (
        {"cash": 150},
        {},
        150,
    )
    assert register.last_remitted_number == 1


# --- cash counts ------------------------------------------------------------------------


def test_a_cash_count_that_matches() -> None:
    """A count equal to the book balance records the count only."""
    register = open_register()
    receipt(register, ("pitch_fee", 2000), when=at(1, 6))
    register.collect_events()
    assert register.count_cash(counted_cents=7000, actor="cashier", at=at(1, 6, 17)) == 0
    expected = [
        (
            CashRegister.CashCounted,
            dict(
                header(register, 3, at(1, 6, 17)),
                counted_cents=7000,
                book_cents=7000,
                difference_cents=0,
                actor="cashier",
                number=1,
                denominations=(),
            ),
        )
    ]
    assert expected == [body(e) for e in register.collect_events()]


def test_a_cash_count_over_the_book() -> None:
    """Counting 1.50 more than the book records the count, then the surplus as its own event;
    the cash balance becomes what was counted."""
    register = open_register()
    receipt(register, ("pitch_fee", 2000), when=at(1, 6))
    register.collect_events()
    assert register.count_cash(counted_cents=7150, actor="cashier", at=at(1, 6, 17)) == 150
    expected = [
        (
            CashRegister.CashCounted,
            dict(
                header(register, 3, at(1, 6, 17)),
                counted_cents=7150,
                book_cents=7000,
                difference_cents=150,
                actor="cashier",
                number=1,
                denominations=(),
            ),
        ),
        (
            CashRegister.CashOver,
            dict(header(register, 4, at(1, 6, 17)), amount_cents=150, actor="cashier"),
        ),
    ]
    assert expected == [body(e) for e in register.collect_events()]
    assert register.balances["cash"] == 7150


def test_a_cash_count_short_of_the_book() -> None:
    """Counting 2.00 less than the book records the count, then the shortfall."""
    register = open_register()
    receipt(register, ("pitch_fee", 2000), when=at(1, 6))
    register.collect_events()
    assert register.count_cash(counted_cents=6800, actor="cashier", at=at(1, 6, 17)) == -200
    expected = [
        (
            CashRegister.CashCounted,
            dict(
                header(register, 3, at(1, 6, 17)),
                counted_cents=6800,
                book_cents=7000,
                difference_cents=-200,
                actor="cashier",
                number=1,
                denominations=(),
            ),
        ),
        (
            CashRegister.CashShort,
            dict(header(register, 4, at(1, 6, 17)), amount_cents=200, actor="cashier"),
        ),
    ]
    assert expected == [body(e) for e in register.collect_events()]
    assert register.balances["cash"] == 6800


@pytest.mark.parametrize("counted", [-1, 70.0])
def test_cash_count_refuses_what_is_not_cents(counted: Any) -> None:
    """A count is a non-negative int of cents."""
    register = open_register()
    before = snapshot(register)
    with pytest.raises(InvalidAmount) as error:
        register.count_cash(counted_cents=counted, actor="cashier", at=at(1, 6, 17))
    assert refused(error) == ("invalid_amount", "counted_cents")
    assert unchanged(register, before)


# --- the cash ceiling -------------------------------------------------------------------


def test_a_receipt_past_the_ceiling_is_accepted_and_calls_for_a_remittance() -> None:
    """Cash and cheques over the ceiling (the float aside) are still taken, and a remittance
    becomes due."""
    register = open_register(cash_ceiling_cents=10000)
    receipt(register, ("pitch_fee", 6000))
    assert not register.remittance_due
    assert receipt(register, ("pitch_fee", 4001), method="cheque") == 2
    assert (register.cash_in_hand_cents, register.remittance_due) == (10001, True)
    remit(register, 2, cash=6000, cheque=4001)
    assert (register.cash_in_hand_cents, register.remittance_due) == (0, False)


def test_card_and_transfer_do_not_count_towards_the_ceiling() -> None:
    """Card and transfer money sits at the Trésor, not in the register: no remittance due."""
    register = open_register(cash_ceiling_cents=10000)
    receipt(register, ("pitch_fee", 9000), method="card")
    receipt(register, ("pitch_fee", 9000), method="transfer")
    assert (register.cash_in_hand_cents, register.remittance_due) == (0, False)


def test_a_remittance_is_due_when_the_ceiling_is_reached() -> None:
    """Cash in hand exactly at the ceiling already calls for a remittance."""
    register = open_register(cash_ceiling_cents=10000)
    receipt(register, ("pitch_fee", 10000))
    assert (register.cash_in_hand_cents, register.remittance_due) == (10000, True)


# --- closures ---------------------------------------------------------------------------


def monday_and_tuesday() -> CashRegister:
    """Monday 6 January: receipts 1 (cash), 2 (card deposit), 3 (cash, cancelled at 12:00);
    Tuesday 7: receipt 4 (cheque)."""
    register = open_register()
    receipt(register, ("pitch_fee", 2100), ("water", 878), when=at(1, 6, 9))
    receipt(register, ("deposit", 15000), method="card", when=at(1, 6, 10))
    receipt(register, ("other", 500), stay_id=None, when=at(1, 6, 11))
    cancel(register, 3, when=at(1, 6, 12))
    receipt(register, ("pitch_fee", 900), method="cheque", when=at(1, 7, 9))
    register.collect_events()
    return register


def test_close_a_day() -> None:
    """A day closure stores the day's revenue by revenue type and method (cancellations
    deducted), the deposits received apart (third-party funds), the perpetual grand total of
    revenue so far, and the version and hash it seals."""
    register = monday_and_tuesday()
    head, version = register.head_hash, register.version
    register.close_period(period="day", day=date(2025, 1, 6), actor="chef", at=at(1, 7, 10))
    (event,) = register.collect_events()
    expected = (
        CashRegister.DayClosed,
        dict(
            header(register, 7, at(1, 7, 10)),
            start=date(2025, 1, 6),
            end=date(2025, 1, 6),
            totals=Totals(
                by_revenue_type={"pitch_fee": 2100, "water": 878, "other": 0},
                by_method={"cash": 2978},
                receipts=2,
                cancellations=1,
            ),
            perpetual_total_cents=2978 + 900,
            sealed_version=version,
            sealed_hash=head,
            actor="chef",
            third_party=Totals({"deposit": 15000}, {"card": 15000}, receipts=1),
        ),
    )
    assert expected == body(event)
    assert (version, register.closed_through) == (6, date(2025, 1, 6))


def test_close_a_month() -> None:
    """A month closure sums the month's days; it may come without day closures."""
    register = monday_and_tuesday()
    receipt(register, ("electricity", 228), method="transfer", when=at(1, 31, 15))
    receipt(register, ("pitch_fee", 300), when=at(2, 1, 9))
    register.collect_events()
    register.close_period(period="month", day=date(2025, 1, 15), actor="chef", at=at(2, 1, 10))
    (event,) = register.collect_events()
    expected = Totals(
        by_revenue_type={"pitch_fee": 3000, "water": 878, "other": 0, "electricity": 228},
        by_method={"cash": 2978, "cheque": 900, "transfer": 228},
        receipts=4,
        cancellations=1,
    )
    assert isinstance(event, CashRegister.MonthClosed)
    assert expected == event.totals
    assert event.third_party == Totals({"deposit": 15000}, {"card": 15000}, receipts=1)
    assert (event.start, event.end, event.perpetual_total_cents) == (
        date(2025, 1, 1),
        date(2025, 1, 31),
        2978 + 900 + 228 + 300,
    )
    assert register.closed_months == ("2025-01",)


def test_close_a_year_and_the_perpetual_total_goes_on() -> None:
    """A year closure sums the year; the perpetual grand total never resets afterwards."""
    register = open_register()
    receipt(register, ("pitch_fee", 2100), when=at(3, 10))
    receipt(register, ("water", 878), method="card", when=at(12, 31, 15))
    register.collect_events()
    register.close_period(period="year", day=date(2025, 6, 1), actor="chef", at=at(1, 2, year=2026))
    receipt(register, ("pitch_fee", 300), when=at(1, 2, 10, year=2026))
    register.close_period(period="day", day=date(2026, 1, 2), actor="c", at=at(1, 3, year=2026))
    year, _, day = register.collect_events()
    assert isinstance(year, CashRegister.YearClosed)
    assert isinstance(day, CashRegister.DayClosed)
    expected = Totals({"pitch_fee": 2100, "water": 878}, {"cash": 2100, "card": 878}, 2, 0)
    assert (year.start, year.end, year.totals, year.perpetual_total_cents) == (
        date(2025, 1, 1),
        date(2025, 12, 31),
        expected,
        2978,
    )
    assert (day.totals.net_cents, day.perpetual_total_cents) == (300, 2978 + 300)
    assert register.closed_years == (2025,)


def test_a_day_can_be_closed_at_the_end_of_it() -> None:
    """The day may be closed in the evening; nothing can then be recorded that day, and the
    next morning the register works again."""
    register = open_register()
    receipt(register, ("pitch_fee", 2100), when=at(1, 6, 9))
    register.close_period(period="day", day=date(2025, 1, 6), actor="chef", at=at(1, 6, 17))
    register.collect_events()
    before = snapshot(register)
    with pytest.raises(PeriodClosed) as error:
        receipt(register, ("pitch_fee", 300), when=at(1, 6, 18))
    assert error.value.code == "period_closed"
    assert unchanged(register, before)
    assert receipt(register, ("pitch_fee", 300), when=at(1, 7, 8)) == 2


def test_a_closure_on_the_paris_day() -> None:
    """23:00 UTC on 6 January is already 7 January in Paris: not inside the closed day."""
    register = open_register()
    register.close_period(period="day", day=date(2025, 1, 6), actor="chef", at=at(1, 6, 17))
    with pytest.raises(PeriodClosed):
        receipt(register, ("pitch_fee", 300), when=at(1, 6, 22, 59))
    assert receipt(register, ("pitch_fee", 300), when=at(1, 6, 23, 0)) == 1


@pytest.mark.parametrize(
    "command",
    [
        "issue",
        "cancel",
        "refund",
        "withhold",
        "remit",
        "count",
    ],
)
def test_nothing_is_recorded_inside_a_closed_period(command: str) -> None:
    """After the day is closed at 17:00, every command later that day is refused."""
    register = open_register()
    receipt(register, ("deposit", 15000), ("pitch_fee", 2000), when=at(1, 6, 9))
    register.close_period(period="day", day=date(2025, 1, 6), actor="chef", at=at(1, 6, 16))
    register.collect_events()
    before = snapshot(register)
    when = at(1, 6, 17)
    actions = {
        "issue": lambda: receipt(register, ("pitch_fee", 300), when=when),
        "cancel": lambda: cancel(register, 1, when=when),
        "refund": lambda: register.refund_deposit(
            aire_id=AIRE_ID, stay_id=STAY_ID, amount_cents=100, method="cash", actor="c", at=when
        ),
        "withhold": lambda: register.withhold_deposit(
            aire_id=AIRE_ID,
            stay_id=STAY_ID,
            amount_cents=100,
            reason="damage",
            reference="EDL",
            actor="c",
            at=when,
        ),
        "remit": lambda: remit(register, 1, when=when, cash=2000),
        "count": lambda: register.count_cash(counted_cents=22000, actor="c", at=when),
    }
    with pytest.raises(PeriodClosed):
        actions[command]()
    assert unchanged(register, before)


@pytest.mark.parametrize(
    ("period", "day"),
    [
        ("day", date(2025, 1, 7)),
        ("month", date(2025, 1, 6)),
        ("year", date(2025, 1, 6)),
        ("day", date(2025, 2, 1)),
    ],
)
def test_close_refuses_a_period_not_over(period: str, day: date) -> None:
    """A day, month or year ending after today cannot be closed yet."""
    register = open_register()
    before = snapshot(register)
    with pytest.raises(InvalidPeriod) as error:
        register.close_period(period=period, day=day, actor="chef", at=at(1, 6, 17))
    assert refused(error) == ("invalid_period", "date")
    assert unchanged(register, before)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("day", date(2025, 1, 6)), ("day", date(2025, 1, 6))),
        (("day", date(2025, 1, 7)), ("day", date(2025, 1, 6))),  # earlier than the last closed
        (("month", date(2025, 1, 6)), ("month", date(2025, 1, 31))),
        (("month", date(2025, 1, 6)), ("day", date(2025, 1, 20))),  # a day of a closed month
        (("year", date(2025, 1, 6)), ("year", date(2025, 12, 31))),
        (("year", date(2025, 1, 6)), ("day", date(2025, 3, 1))),  # a day of a closed year
    ],
)
def test_close_refuses_a_period_already_closed(
    first: tuple[str, date], second: tuple[str, date]
) -> None:
    """A period is closed once; a day inside a closed month or year is already closed."""
    register = open_register()
    register.close_period(period=first[0], day=first[1], actor="chef", at=at(1, 8, year=2026))
    register.collect_events()
    before = snapshot(register)
    with pytest.raises(PeriodClosed) as error:
        register.close_period(period=second[0], day=second[1], actor="chef", at=at(1, 9, year=2026))
    assert refused(error) == ("period_closed", "date")
    assert unchanged(register, before)


def test_close_refuses_a_month_of_a_closed_year() -> None:
    """A closed year seals its months: closing January afterwards is refused, not recorded with
    its totals lost."""
    register = open_register()
    receipt(register, ("pitch_fee", 2100), when=at(1, 6))
    register.close_period(period="year", day=date(2025, 1, 6), actor="chef", at=at(1, 2, year=2026))
    register.collect_events()
    before = snapshot(register)
    with pytest.raises(PeriodClosed) as error:
        register.close_period(
            period="month", day=date(2025, 1, 6), actor="chef", at=at(1, 2, 10, year=2026)
        )
    assert refused(error) == ("period_closed", "date")
    assert unchanged(register, before)


def test_close_refuses_a_day_before_the_register_existed() -> None:
    """There is nothing to close before the register was opened."""
    register = open_register()
    before = snapshot(register)
    with pytest.raises(InvalidValue) as error:
        register.close_period(period="day", day=date(2025, 1, 5), actor="chef", at=at(1, 6, 17))
    assert refused(error) == ("invalid_value", "date")
    assert unchanged(register, before)


def test_close_refuses_an_unknown_period() -> None:
    """A period is a day, a month or a year."""
    register = open_register()
    before = snapshot(register)
    with pytest.raises(InvalidValue) as error:
        register.close_period(period="week", day=date(2025, 1, 6), actor="chef", at=at(1, 13))
    assert refused(error) == ("invalid_value", "period")
    assert unchanged(register, before)


# --- the register's clock ---------------------------------------------------------------


def test_the_clock_cannot_go_back() -> None:
    """An event dated before the register's last event is refused."""
    register = open_register()
    receipt(register, ("pitch_fee", 2100), when=at(1, 6, 10))
    register.collect_events()
    before = snapshot(register)
    with pytest.raises(InvalidValue) as error:
        receipt(register, ("pitch_fee", 300), when=at(1, 6, 10) - timedelta(seconds=1))
    assert refused(error) == ("invalid_value", "at")
    assert unchanged(register, before)
    assert receipt(register, ("pitch_fee", 300), when=at(1, 6, 10)) == 2


def test_recorded_times_carry_their_offset() -> None:
    """A naive recorded time is refused."""
    register = open_register()
    before = snapshot(register)
    with pytest.raises(InvalidValue) as error:
        receipt(register, ("pitch_fee", 300), when=datetime(2025, 1, 6, 10, 0))
    assert error.value.code == "invalid_value"
    assert unchanged(register, before)


# --- the hash chain ---------------------------------------------------------------------


def every_kind_of_event() -> list[Any]:
    """One register's whole life: every event class, in order."""
    register = CashRegister.open(
        register_id=REGISTER_ID,
        aire_id=AIRE_ID,
        regie_ref="AC-2024-07",
        float_cents=5000,
        cash_ceiling_cents=120000,
        payment_methods=ALL_METHODS,
        revenue_types=ALL_TYPES,
        actor="manager",
        at=OPENED,
    )
    receipt(register, ("deposit", 15000), ("pitch_fee", 2100), when=at(1, 6, 9))
    receipt(register, ("other", 500), stay_id=None, method="card", when=at(1, 6, 10))
    cancel(register, 2, when=at(1, 6, 11))
    register.request_cancellation(number=1, reason="doublon", actor="c", at=at(1, 6, 11, 10))
    register.refuse_cancellation(number=1, reason="non", actor="r", at=at(1, 6, 11, 20))
    register.request_cancellation(number=1, reason="erreur", actor="c", at=at(1, 6, 11, 30))
    register.withdraw_cancellation(number=1, actor="c", at=at(1, 6, 11, 40))
    register.print_original(document="receipt", number=1, actor="c", at=at(1, 6, 11, 50))
    register.reprint(document="receipt", number=1, actor="c", at=at(1, 6, 11, 55))
    register.withhold_deposit(
        aire_id=AIRE_ID,
        stay_id=STAY_ID,
        amount_cents=3000,
        reason="unpaid_charges",
        reference="CHG-1",
        actor="c",
        at=at(1, 6, 12),
    )
    register.refund_deposit(
        aire_id=AIRE_ID,
        stay_id=STAY_ID,
        amount_cents=12000,
        method="cash",
        actor="c",
        at=at(1, 6, 13),
    )
    register.count_cash(counted_cents=10000, actor="c", at=at(1, 6, 16))
    register.count_cash(counted_cents=10100, actor="c", at=at(1, 6, 16, 30))
    register.regularise_difference(count_number=1, reference="R-1", actor="c", at=at(1, 6, 16, 40))
    remit(register, 2, when=at(1, 6, 16, 45), cash=5200)
    register.hand_over(
        incoming="r2", denominations=(Denomination(5000, 1),), actor="c", at=at(1, 6, 16, 50)
    )
    register.set_rules(
        decision_ref="AM-2025-01",
        cash_ceiling_cents=100000,
        remittance_frequency="weekly",
        remittance_days=None,
        cheque_working_days=2,
        actor="m",
        at=at(1, 6, 16, 55),
    )
    register.close_period(period="day", day=date(2025, 1, 6), actor="c", at=at(1, 6, 17))
    register.close_period(period="month", day=date(2025, 1, 6), actor="c", at=at(2, 1, 8))
    register.close_period(period="year", day=date(2025, 1, 6), actor="c", at=at(1, 1, 8, year=2026))
    return list(register.collect_events())


def test_every_event_class_is_in_the_chain_scenario() -> None:
    """The chain scenario below covers every kind of register event."""
    kinds = {type(e).__name__ for e in every_kind_of_event()}
    assert kinds == {
        "Opened",
        "ReceiptIssued",
        "ReceiptCancelled",
        "CancellationRequested",
        "CancellationRefused",
        "CancellationWithdrawn",
        "DocumentPrinted",
        "DocumentReprinted",
        "DepositWithheld",
        "DepositRefunded",
        "CashCounted",
        "CashOver",
        "CashShort",
        "CashDifferenceRegularised",
        "HandedOver",
        "RemittanceMade",
        "RulesSet",
        "DayClosed",
        "MonthClosed",
        "YearClosed",
    }


def test_every_event_hashes_its_canonical_form_and_links_to_the_previous() -> None:
    """Each event's ``hash`` is the SHA-256 of its topic and stored fields, and its
    ``prev_hash`` is the previous event's ``hash`` (the genesis hash for the first)."""
    events = every_kind_of_event()
    expected_hashes = [event_hash(get_topic(type(e)), vars(e)) for e in events]
    assert expected_hashes == [e.hash for e in events]
    assert [GENESIS, *expected_hashes[:-1]] == [e.prev_hash for e in events]
    assert [e.originator_version for e in events] == list(range(1, len(events) + 1))


def test_the_chain_verifies() -> None:
    """The events as the register made them pass verification, ending on the head hash."""
    events = every_kind_of_event()
    links = [ChainLink(e.originator_version, get_topic(type(e)), vars(e), e.hash) for e in events]
    report = verify_chain(links)
    assert (report.ok, report.events, report.head_hash) == (True, len(events), events[-1].hash)


def test_a_closure_seals_the_head_of_the_chain() -> None:
    """Each closure's sealed version and hash are those of the event just before it."""
    events = every_kind_of_event()
    pairs = [
        (before, closure)
        for before, closure in pairwise(events)
        if isinstance(closure, CashRegister.PeriodClosedEvent)
    ]
    expected = [(b.originator_version, b.hash) for b, _ in pairs]
    assert len(expected) == 3
    assert expected == [(c.sealed_version, c.sealed_hash) for _, c in pairs]


def test_open_receipts_remember_what_a_cancellation_needs() -> None:
    """The register keeps each unremitted receipt's stay, method and lines."""
    register = open_register()
    receipt(register, ("pitch_fee", 2100), method="card")
    expected = {"1": OpenReceipt(1, AIRE_ID, STAY_ID, "card", (ReceiptLine("pitch_fee", 2100),))}
    assert expected == register.open_receipts


# --- reprints of documents -------------------------------------------------------------------


def test_a_reprint_is_numbered_per_document_and_moves_no_money() -> None:
    """Given receipts 1 and 2 and slip 1: reprinting receipt 2 twice records copies 1 and 2,
    the slip's own count starts at 1, and balances and receipt numbers do not move."""
    register = open_register()
    receipt(register, ("deposit", 15000))
    receipt(register, ("pitch_fee", 2100), method="card")
    remit(register, 2, card=2100)
    register.collect_events()
    balances = dict(register.balances)
    when = at(1, 7)
    copies = [
        register.reprint(document="receipt", number=2, actor="cashier", at=when),
        register.reprint(document="receipt", number=2, actor="cashier", at=when),
        register.reprint(document="slip", number=1, actor="cashier", at=when),
        register.reprint(document="deposit_receipt", number=1, actor="cashier", at=when),
    ]
    assert copies == [1, 2, 1, 1]
    events = register.collect_events()
    assert [body(e) for e in events] == [
        (
            CashRegister.DocumentReprinted,
            {
                **header(register, 5, when),
                "document": "receipt",
                "number": 2,
                "copy": 1,
                "actor": "cashier",
            },
        ),
        (
            CashRegister.DocumentReprinted,
            {
                **header(register, 6, when),
                "document": "receipt",
                "number": 2,
                "copy": 2,
                "actor": "cashier",
            },
        ),
        (
            CashRegister.DocumentReprinted,
            {
                **header(register, 7, when),
                "document": "slip",
                "number": 1,
                "copy": 1,
                "actor": "cashier",
            },
        ),
        (
            CashRegister.DocumentReprinted,
            {
                **header(register, 8, when),
                "document": "deposit_receipt",
                "number": 1,
                "copy": 1,
                "actor": "cashier",
            },
        ),
    ]
    assert register.balances == balances and register.last_number == 2
    assert all(e.hash == event_hash(get_topic(type(e)), vars(e)) for e in events)
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]


@pytest.mark.parametrize(
    ("document", "number", "code"),
    [
        ("receipt", 0, "receipt_not_found"),
        ("receipt", 2, "receipt_not_found"),
        ("deposit_receipt", 3, "receipt_not_found"),
        ("slip", 1, "slip_not_found"),
        ("invoice", 1, "invalid_value"),
    ],
)
def test_reprint_refuses_a_document_that_was_never_printed(
    document: str, number: int, code: str
) -> None:
    """Given one receipt and no slip, a reprint of anything else is refused, recording nothing."""
    register = open_register()
    receipt(register, ("pitch_fee", 300))
    register.collect_events()
    before = snapshot(register)
    with pytest.raises(LedgerError) as error:
        register.reprint(document=document, number=number, actor="cashier", at=at(1, 7))
    assert error.value.code == code
    assert unchanged(register, before)


def test_a_register_snapshotted_before_reprints_existed_counts_from_one() -> None:
    """A register restored without ``reprints`` in its state (snapshots taken before the
    event existed) numbers its first reprint 1."""
    register = open_register()
    receipt(register, ("pitch_fee", 300))
    register.collect_events()
    del register.reprints
    assert register.reprint(document="receipt", number=1, actor="c", at=at(1, 7)) == 1
    assert register.reprint(document="receipt", number=1, actor="c", at=at(1, 7)) == 2


# --- the original print ----------------------------------------------------------------------


def test_the_first_print_is_the_original_and_later_ones_are_duplicatas() -> None:
    """Given receipt 1, its first print records ``DocumentPrinted`` (True: the original);
    a second records nothing (False); the reprints that follow are duplicatas 1, 2. Another
    document (the deposit receipt of the same number) has an original of its own."""
    register = open_register()
    receipt(register, ("deposit", 15000), ("pitch_fee", 300))
    register.collect_events()
    balances = dict(register.balances)
    when = at(1, 7)
    assert not register.printed("receipt", 1)
    assert register.print_original(document="receipt", number=1, actor="cashier", at=when)
    (event,) = register.collect_events()
    assert body(event) == (
        CashRegister.DocumentPrinted,
        {**header(register, 3, when), "document": "receipt", "number": 1, "actor": "cashier"},
    )
    assert register.printed("receipt", 1)
    assert not register.print_original(document="receipt", number=1, actor="cashier", at=when)
    assert register.collect_events() == []
    copies = [register.reprint(document="receipt", number=1, actor="c", at=when) for _ in "ab"]
    assert copies == [1, 2]
    assert register.print_original(document="deposit_receipt", number=1, actor="c", at=when)
    assert register.balances == balances


@pytest.mark.parametrize(
    ("document", "number", "code"),
    [("receipt", 2, "receipt_not_found"), ("slip", 1, "slip_not_found"), ("x", 1, "invalid_value")],
)
def test_nothing_is_printed_that_does_not_exist(document: str, number: int, code: str) -> None:
    """Given one receipt and no slip: printing another document is refused, nothing recorded."""
    register = open_register()
    receipt(register, ("pitch_fee", 300))
    register.collect_events()
    before = snapshot(register)
    with pytest.raises(LedgerError) as error:
        register.print_original(document=document, number=number, actor="c", at=at(1, 7))
    assert error.value.code == code
    assert unchanged(register, before)
