"""A register's cancellations as a lifecycle (hypothesis ``RuleBasedStateMachine``).

Cashiers (``c1``, ``c2``) issue receipts and ask for cancellations; the régisseur (``r1``)
approves, refuses, cancels on their own authority and remits; a cashier withdraws what they
asked. A model says what each step should do; after every step the register agrees with it:
its balances and perpetual total count every receipt not cancelled (a pending request moves
no money), exactly the model's requests are pending, a refusal names its code and records
nothing, and the hash chain holds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import hypothesis.strategies as st
from eventsourcing.utils import get_topic
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from hacienda_ledger.aggregates.errors import LedgerError
from hacienda_ledger.aggregates.integrity import ChainLink, verify_chain
from hacienda_ledger.aggregates.register import CashRegister, ReceiptLine

METHODS = ("cash", "cheque", "card")
FLOAT = 5000


class CancellationLifecycle(RuleBasedStateMachine):
    @initialize()
    def open(self) -> None:
        self.clock = datetime(2025, 1, 6, 8, tzinfo=UTC)
        self.register = CashRegister.open(
            register_id=UUID("9b2f7e61-3c4d-4a5b-8c6d-7e8f9a0b1c2d"),
            aire_id=UUID("5e3f8c1a-7d2b-4c4e-9a61-0b8f2d7c3e10"),
            regie_ref="AC-2024-07",
            float_cents=FLOAT,
            cash_ceiling_cents=10**9,
            payment_methods=(*METHODS, "transfer"),
            revenue_types=("other",),
            actor="m",
            at=self.clock,
        )
        self.events: list[Any] = list(self.register.collect_events())
        # the model: each receipt's method, amount, state and who asked for its cancellation
        self.receipts: dict[int, dict[str, Any]] = {}
        self.balances = dict.fromkeys((*METHODS, "transfer"), 0) | {"cash": FLOAT}
        self.remitted_through = 0

    def now(self) -> datetime:
        self.clock += timedelta(minutes=7)
        return self.clock

    def attempt(self, expected: str | None, step: Any) -> None:
        """Run a step: it succeeds when the model expects no refusal, else it is refused
        with that code and records nothing."""
        version = self.register.version
        try:
            step()
        except LedgerError as error:
            assert error.code == expected, (error.code, expected)
            assert self.register.version == version
            assert self.register.collect_events() == []
            return
        assert expected is None, f"expected {expected}"
        self.events.extend(self.register.collect_events())

    def refusal(self, number: int) -> str | None:
        """Why the receipt could not be cancelled now, if it could not."""
        receipt = self.receipts[number]
        if number <= self.remitted_through:
            return "receipt_already_remitted"
        if receipt["state"] == "cancelled":
            return "receipt_already_cancelled"
        if receipt["amount"] > self.balances[receipt["method"]]:
            return "insufficient_funds"
        return None

    def reverse(self, number: int) -> None:
        receipt = self.receipts[number]
        receipt["state"], receipt["asked_by"] = "cancelled", None
        self.balances[receipt["method"]] -= receipt["amount"]

    # --- rules ------------------------------------------------------------------------

    @rule(method=st.sampled_from(METHODS), amount=st.integers(1, 9000))
    def issue(self, method: str, amount: int) -> None:
        number = self.register.issue_receipt(
            aire_id=self.register.aire_id,
            stay_id=None,
            household_ref=None,
            method=method,
            lines=(ReceiptLine("other", amount),),
            actor="c1",
            at=self.now(),
        )
        self.events.extend(self.register.collect_events())
        self.receipts[number] = {"method": method, "amount": amount, "state": "standing"}
        self.balances[method] += amount

    @rule(data=st.data(), who=st.sampled_from(["c1", "c2"]))
    def ask(self, data: st.DataObject, who: str) -> None:
        if not self.receipts:
            return
        number = data.draw(st.sampled_from(sorted(self.receipts)))
        receipt = self.receipts[number]
        expected = self.refusal(number)
        if expected is None and receipt["state"] == "pending":
            expected = "cancellation_pending"

        def step() -> None:
            self.register.request_cancellation(
                number=number, reason="erreur", actor=who, at=self.now()
            )

        self.attempt(expected, step)
        if expected is None:
            receipt["state"], receipt["asked_by"] = "pending", who

    @rule(data=st.data(), who=st.sampled_from(["r1", "c1", "c2"]))
    def approve(self, data: st.DataObject, who: str) -> None:
        if not self.receipts:
            return
        number = data.draw(st.sampled_from(sorted(self.receipts)))
        receipt = self.receipts[number]
        if receipt["state"] != "pending":
            expected: str | None = "cancellation_not_pending"
        elif receipt["asked_by"] == who:
            expected = "self_approval"
        else:
            expected = self.refusal(number)

        def step() -> None:
            self.register.approve_cancellation(
                number=number, household_ref=None, actor=who, at=self.now()
            )

        self.attempt(expected, step)
        if expected is None:
            self.reverse(number)

    @rule(data=st.data())
    def cancel_alone(self, data: st.DataObject) -> None:
        """The régisseur's own cancellation: at once, unless a request waits."""
        if not self.receipts:
            return
        number = data.draw(st.sampled_from(sorted(self.receipts)))
        expected = self.refusal(number)
        if expected is None and self.receipts[number]["state"] == "pending":
            expected = "cancellation_pending"

        def step() -> None:
            self.register.cancel_receipt(
                number=number, reason="doublon", household_ref=None, actor="r1", at=self.now()
            )

        self.attempt(expected, step)
        if expected is None:
            self.reverse(number)

    @rule(data=st.data(), withdraw=st.booleans(), who=st.sampled_from(["r1", "c1", "c2"]))
    def decline(self, data: st.DataObject, withdraw: bool, who: str) -> None:
        """A refusal (the régisseur's) or a withdrawal (only who asked)."""
        if not self.receipts:
            return
        number = data.draw(st.sampled_from(sorted(self.receipts)))
        receipt = self.receipts[number]
        expected: str | None = None
        if receipt["state"] != "pending":
            expected = "cancellation_not_pending"
        elif withdraw and receipt["asked_by"] != who:
            expected = "not_requester"

        def step() -> None:
            if withdraw:
                self.register.withdraw_cancellation(number=number, actor=who, at=self.now())
            else:
                self.register.refuse_cancellation(
                    number=number, reason="non", actor="r1", at=self.now()
                )

        self.attempt(expected, step)
        if expected is None:
            receipt["state"], receipt["asked_by"] = "standing", None

    @rule()
    def remit(self) -> None:
        """The régisseur pays in everything remittable through the last receipt."""
        last = max(self.receipts, default=0)
        amounts = {m: self.register.remittable(m) for m in METHODS}
        if last == self.remitted_through or not any(amounts.values()):
            return
        pending = [
            n
            for n, r in self.receipts.items()
            if n > self.remitted_through and r["state"] == "pending"
        ]
        expected = "cancellation_pending" if pending else None

        def step() -> None:
            self.register.remit(
                through_receipt=last,
                amounts_by_method={m: a for m, a in amounts.items() if a},
                actor="r1",
                at=self.now(),
            )

        self.attempt(expected, step)
        if expected is None:
            self.remitted_through = last
            for method, amount in amounts.items():
                self.balances[method] -= amount

    # --- what always holds -------------------------------------------------------------

    @invariant()
    def money_follows_only_what_was_cancelled(self) -> None:
        if not hasattr(self, "register"):
            return
        register = self.register
        assert {m: register.balances.get(m, 0) for m in self.balances} == self.balances
        standing = sum(r["amount"] for r in self.receipts.values() if r["state"] != "cancelled")
        assert register.perpetual_total_cents == standing
        pending = {n: r["asked_by"] for n, r in self.receipts.items() if r["state"] == "pending"}
        assert {p.number: p.requested_by for p in register.pending} == pending
        for number, receipt in self.receipts.items():
            kept = register.open_receipts.get(str(number))
            if kept is not None:
                assert kept.cancelled == (receipt["state"] == "cancelled")

    def teardown(self) -> None:
        if not hasattr(self, "register"):
            return
        links = [
            ChainLink(e.originator_version, get_topic(type(e)), vars(e), e.hash)
            for e in self.events
        ]
        assert verify_chain(links).ok


CancellationLifecycle.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None
)
TestCancellationLifecycle = CancellationLifecycle.TestCase
