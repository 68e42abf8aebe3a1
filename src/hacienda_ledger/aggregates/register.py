"""The CashRegister aggregate (caisse / régie de recettes): receipts and cash movements.

Every event carries ``prev_hash`` and ``hash`` (see ``integrity``): the register's events form
a SHA-256 chain. Receipt numbers run 1, 2, 3... with no gap; a cancelled receipt keeps its
number. A cashier only asks for a cancellation (``CancellationRequested``): the receipt stands
until a régisseur approves it (``ReceiptCancelled``, naming who asked and who approved) or
refuses it, or the cashier withdraws it; a régisseur's own cancellation needs no second
approval. Money leaves only as a deposit refund or a remittance to the comptable. Events are
dated by their recorded time (Europe/Paris day); nothing can be dated inside a closed period.
The régie's rules (remittance period, cash ceiling, cheques) are set at opening and by
``RulesSet``; what each event changes that they watch is kept by ``_watch`` (see
``register_rules``).

What is to be paid in is followed movement by movement: every event that changes it
(``_unremitted``: a method's balance less the funds held in it for others, and the float)
leaves its change as lines for the next slip (``Event.apply``), and a slip lists them all
and pays in exactly their total (``remit``; ``slip_unbalanced`` otherwise).

This module holds the events (stored by their topic, ``...register:CashRegister.<Event>``,
they stay here), what they change besides their own effect, their chain and ``open``. The
state, the bookkeeping the events call and the queries are the base class's
(``register_state``); the other commands are functions bound below as methods, from
``register_receipts``, ``register_cash`` and ``register_records``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.domain import Snapshot as LibrarySnapshot

from hacienda_ledger.aggregates import register_cash as cash
from hacienda_ledger.aggregates import register_receipts as receipts
from hacienda_ledger.aggregates import register_records as records
from hacienda_ledger.aggregates.errors import InvalidValue, PeriodClosed
from hacienda_ledger.aggregates.integrity import GENESIS, event_hash, topic_of
from hacienda_ledger.aggregates.register_books import (
    DEFICIT,
    EXCESS,
    Cheque,
    Denomination,
    OpenReceipt,
    PendingCancellation,
    ReceiptLine,
    SlipLine,
    held_cents,
    is_third_party,
    members,
)
from hacienda_ledger.aggregates.register_rules import RegieRules, RemittanceFrequency
from hacienda_ledger.aggregates.register_state import CashRegisterState
from hacienda_ledger.aggregates.values import (
    PaymentMethod,
    Period,
    RevenueType,
    Totals,
    WithholdingReason,
    paris_day,
    require_cents,
)

__all__ = [
    "DEFICIT",
    "EXCESS",
    "CashRegister",
    "Cheque",
    "Denomination",
    "OpenReceipt",
    "OutdatedSnapshot",
    "PendingCancellation",
    "ReceiptLine",
    "RegieRules",
    "SlipLine",
]


class OutdatedSnapshot(LookupError):
    """A snapshot of an older shape that cannot be brought up to date exactly (the receipts'
    days, the movements to pay in, revenue kept apart from deposits): only the events can
    give them, so the register is replayed from its events instead (``Ledger.load`` does)."""


class CashRegister(CashRegisterState, Aggregate):
    """One cash point: its receipts, deposits, remittances, counts, handovers and closures."""

    # The register's state (what snapshots hold). v2: ``rules``, ``receipt_days`` and
    # ``ceiling_reached_at`` (the régie's rules). v3: the movements not yet paid in,
    # cheques, counts and their open differences, the holder, and the closures' revenue
    # apart from third-party funds. v4: ``pending_cancellations``. No snapshot older than
    # v3 can be brought up to date exactly; a v3 one can (see ``upcast_v3_v4``). Advances
    # added fields a v4 snapshot of before them lacks and ``Snapshot.mutate`` starts empty.
    class_version = 4

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """A v1 snapshot does not know when its open receipts were received: not used."""
        raise OutdatedSnapshot("a register snapshot from before the régie's rules")

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        """A v2 snapshot does not know the movements to pay in: not used."""
        raise OutdatedSnapshot("a register snapshot from before balanced slips")

    @staticmethod
    def upcast_v3_v4(state: dict[str, Any]) -> None:
        """A v3 snapshot was taken by a ledger that knew no cancellation requests, so none
        was pending: exactly what replaying its events gives."""
        state["pending_cancellations"] = {}

    class Snapshot(LibrarySnapshot):
        """Snapshots store tuples as JSON arrays; restore them as the events build them."""

        def mutate(self, _: None) -> CashRegister:
            register = cast(CashRegister, super().mutate(_))
            for name, value in vars(register).items():
                if isinstance(value, list) and not name.startswith("_"):
                    setattr(register, name, tuple(value))
            if not hasattr(register, "advance_lots"):  # taken before advances: none held
                register._no_advances()
            return register

    class Event(Aggregate.Event):
        prev_hash: str
        hash: str

        def apply(self, register: CashRegister) -> None:
            register.head_hash = self.hash
            before = register._unremitted()
            self.evolve(register)
            register._follow(self, before)
            register._watch(self)

        def evolve(self, register: CashRegister) -> None:
            """The event's own effect on the register."""

    class Opened(Aggregate.Created):
        """v2: the acte constitutif's rules besides the ceiling (``register_rules``)."""

        class_version = 2

        aire_id: UUID
        regie_ref: str
        float_cents: int
        cash_ceiling_cents: int
        payment_methods: tuple[str, ...]
        revenue_types: tuple[str, ...]
        actor: str
        prev_hash: str
        hash: str
        remittance_frequency: str
        remittance_days: int | None
        cheque_working_days: int

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Registers opened before the rules: monthly, cheques by the next working day."""
            state["remittance_frequency"] = RemittanceFrequency.MONTHLY.value
            state["remittance_days"] = None
            state["cheque_working_days"] = 1

        def apply(self, register: CashRegister) -> None:
            register.aire_id = self.aire_id
            register.regie_ref = self.regie_ref
            register.float_cents = self.float_cents
            register._set_rules(
                RegieRules(
                    self.regie_ref,
                    self.cash_ceiling_cents,
                    self.remittance_frequency,
                    self.remittance_days,
                    self.cheque_working_days,
                )
            )
            register._open_books(self.payment_methods, self.revenue_types)
            register.head_hash = self.hash

    class ReceiptIssued(Event):
        """v2: ``cheque`` (its number and bank, for a cheque payment); v1 receipts name none."""

        class_version = 2
        number: int
        aire_id: UUID
        stay_id: UUID | None
        household_ref: UUID | None
        method: str
        lines: tuple[ReceiptLine, ...]
        total_cents: int
        actor: str
        cheque: Cheque | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["cheque"] = None

        def evolve(self, register: CashRegister) -> None:
            register.last_number = self.number
            register.open_receipts[str(self.number)] = OpenReceipt(
                self.number, self.aire_id, self.stay_id, self.method, tuple(self.lines)
            )
            register._move(self.method, self.total_cents)
            register._count(self.timestamp, self.lines, self.method, +1)
            register._settle(self.stay_id, self.lines, self.method, +1)

    class ReceiptCancelled(Event):
        """The reversal of a receipt. v2: who asked for it (``requested_by``, at
        ``requested_at``) and who approved it (``approved_by``, the ``actor``): a régisseur
        cancelling on their own authority is both."""

        class_version = 2

        number: int
        aire_id: UUID
        stay_id: UUID | None
        household_ref: UUID | None
        method: str
        lines: tuple[ReceiptLine, ...]
        total_cents: int
        reason: str
        actor: str
        requested_by: str
        requested_at: datetime
        approved_by: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Before approvals, whoever recorded a cancellation asked for it then, alone:
            nobody approved it (None)."""
            state["requested_by"] = state["actor"]
            state["requested_at"] = state["timestamp"]
            state["approved_by"] = None

        def evolve(self, register: CashRegister) -> None:
            register._mark_cancelled(self.number)
            register._move(self.method, -self.total_cents)
            register._count(self.timestamp, self.lines, self.method, -1)
            register._settle(self.stay_id, self.lines, self.method, -1)

    class CancellationRequested(Event):
        """A cashier asks for a receipt to be cancelled, saying why. Nothing is reversed: the
        receipt stands, pending the régisseur's decision."""

        number: int
        reason: str
        actor: str

        def evolve(self, register: CashRegister) -> None:
            register._add_pending(self.number, self.reason, self.actor, self.timestamp)

    class CancellationRefused(Event):
        """The régisseur refuses a pending cancellation, saying why: the receipt stands."""

        number: int
        reason: str
        actor: str

        def evolve(self, register: CashRegister) -> None:
            register._drop_pending(self.number)

    class CancellationWithdrawn(Event):
        """Who asked for a cancellation withdraws it before it is decided."""

        number: int
        actor: str

        def evolve(self, register: CashRegister) -> None:
            register._drop_pending(self.number)

    class DepositRefunded(Event):
        aire_id: UUID
        stay_id: UUID
        amount_cents: int
        method: str
        actor: str

        def evolve(self, register: CashRegister) -> None:
            register._move(self.method, -self.amount_cents)
            register._deposit_out(self.stay_id, self.amount_cents, first=self.method)

    class DepositWithheld(Event):
        aire_id: UUID
        stay_id: UUID
        amount_cents: int
        reason: str
        reference: str
        actor: str

        def evolve(self, register: CashRegister) -> None:
            register._deposit_out(self.stay_id, self.amount_cents, first=PaymentMethod.CASH.value)
            if self.reason == WithholdingReason.UNPAID_CHARGES.value:
                register._settled(self.stay_id, self.amount_cents)

    class AdvanceApplied(Event):
        """Advances held for the stay settle its charges (``lines``: the cents applied by
        revenue type; the stay records which charges, ``Stay.Settled`` with the reference
        ``<register>/advance/<version>``): third-party funds become revenue, in the methods
        they were paid in (``methods``, cash first: ``register_books.pair_up``)."""

        aire_id: UUID
        stay_id: UUID
        lines: tuple[ReceiptLine, ...]
        amount_cents: int
        methods: dict[str, int]
        actor: str

        def evolve(self, register: CashRegister) -> None:
            day = paris_day(self.timestamp).isoformat()
            register._advance_applied(self.stay_id, tuple(self.lines), day)

    class AdvanceRefunded(Event):
        """What is left of the advances held for a stay goes back to the household."""

        aire_id: UUID
        stay_id: UUID
        amount_cents: int
        method: str
        actor: str

        def evolve(self, register: CashRegister) -> None:
            register._advance_refunded(self.stay_id, self.amount_cents, self.method)

    class RemittanceMade(Event):
        """v2: ``lines``, every receipt and movement the slip covers; their total by method
        is ``amounts_by_method``. A v1 slip listed only its receipt range (``lines`` None)
        and paid in what it was told: what it left unpaid is carried to the next slip."""

        class_version = 2
        slip_number: int
        first_receipt: int
        last_receipt: int
        amounts_by_method: dict[str, int]
        receipts_by_method: dict[str, int]
        total_cents: int
        actor: str
        lines: tuple[SlipLine, ...] | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["lines"] = None

        def evolve(self, register: CashRegister) -> None:
            register._remitted(
                self.slip_number,
                (self.first_receipt, self.last_receipt),
                self.amounts_by_method,
                self.lines,
            )

    class CashCounted(Event):
        """An arrêté de caisse. v2: its ``number`` (1, 2... per register) and the notes and
        coins counted (``denominations``, largest first; none for a count given as a sum);
        a v1 count is numbered by its place among the register's counts."""

        class_version = 2
        counted_cents: int
        book_cents: int
        difference_cents: int
        actor: str
        number: int
        denominations: tuple[Denomination, ...]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["number"] = 0  # numbered by its place: see evolve
            state["denominations"] = []

        def evolve(self, register: CashRegister) -> None:
            register.last_count_number = self.number or register.last_count_number + 1

    class CashOver(Event):
        """The surplus found by the count just recorded (an open difference until it is
        regularised)."""

        amount_cents: int
        actor: str

        def evolve(self, register: CashRegister) -> None:
            register._move(PaymentMethod.CASH.value, self.amount_cents)
            register._open_difference(self.amount_cents)

    class CashShort(Event):
        """The shortfall found by the count just recorded (open until regularised)."""

        amount_cents: int
        actor: str

        def evolve(self, register: CashRegister) -> None:
            register._move(PaymentMethod.CASH.value, -self.amount_cents)
            register._open_difference(-self.amount_cents)

    class CashDifferenceRegularised(Event):
        """The régularisation of a count's difference: a shortfall (``deficit``) made good
        in cash by the régisseur, or a surplus (``excess``) taken as the aire's revenue.
        Either way it is no longer open."""

        count_number: int
        kind: str
        amount_cents: int
        aire_id: UUID
        reference: str
        actor: str

        def evolve(self, register: CashRegister) -> None:
            register._close_difference(self.count_number)
            if self.kind == DEFICIT:
                register._move(PaymentMethod.CASH.value, self.amount_cents)

    class HandedOver(Event):
        """A remise de service: ``outgoing`` hands the régie over to ``incoming`` on the
        count ``count_number`` they made together (recorded just before)."""

        count_number: int
        outgoing: str
        incoming: str
        actor: str

        def evolve(self, register: CashRegister) -> None:
            register.holder = self.incoming

    class PeriodClosedEvent(Event):
        """A closure. v2: ``totals`` and ``perpetual_total_cents`` count revenue only, and
        ``third_party`` the funds held for others (deposits) received in the period. A v1
        closure counted both in ``totals`` and in its perpetual total (``third_party``
        None); ``revenue_cents`` and ``third_party_cents`` read either."""

        class_version = 2
        start: date
        end: date
        totals: Totals
        perpetual_total_cents: int
        sealed_version: int
        sealed_hash: str
        actor: str
        third_party: Totals | None

        period = Period.DAY

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["third_party"] = None

        @property
        def revenue_cents(self) -> int:
            """Revenue received in the period, net of cancellations."""
            if self.third_party is None:
                types = self.totals.by_revenue_type
                return sum(a for t, a in types.items() if not is_third_party(t))
            return self.totals.net_cents

        @property
        def third_party_cents(self) -> int:
            """Third-party funds (deposits) received in the period, net of cancellations."""
            if self.third_party is None:
                types = self.totals.by_revenue_type
                return sum(a for t, a in types.items() if is_third_party(t))
            return self.third_party.net_cents

        def evolve(self, register: CashRegister) -> None:
            register._closed(self.period, self.start, self.end, self.originator_version)

    class DocumentPrinted(Event):
        """The original of a receipt, deposit receipt or remittance slip was printed: any
        later print is a duplicata (``DocumentReprinted``)."""

        document: str
        number: int
        actor: str

        def evolve(self, register: CashRegister) -> None:
            register._reprinted(f"{self.document}/{self.number}", None)

    class DocumentReprinted(Event):
        """A receipt, deposit receipt or remittance slip was printed again (copy 1, 2...)."""

        document: str
        number: int
        copy: int
        actor: str

        def evolve(self, register: CashRegister) -> None:
            register._reprinted(f"{self.document}/{self.number}", self.copy)

    class RulesSet(Event):
        """The régie's rules changed, by the act amending its acte constitutif."""

        decision_ref: str
        cash_ceiling_cents: int
        remittance_frequency: str
        remittance_days: int | None
        cheque_working_days: int
        actor: str

        def evolve(self, register: CashRegister) -> None:
            register._set_rules(
                RegieRules(
                    self.decision_ref,
                    self.cash_ceiling_cents,
                    self.remittance_frequency,
                    self.remittance_days,
                    self.cheque_working_days,
                )
            )

    class DayClosed(PeriodClosedEvent):
        period = Period.DAY

    class MonthClosed(PeriodClosedEvent):
        period = Period.MONTH

        def evolve(self, register: CashRegister) -> None:
            super().evolve(register)
            register.closed_months = (*register.closed_months, self.start.isoformat()[:7])

    class YearClosed(PeriodClosedEvent):
        period = Period.YEAR

        def evolve(self, register: CashRegister) -> None:
            super().evolve(register)
            register._closed_year(self.start.year)

    # --- what the events change besides their own effect --------------------------------

    def _follow(self, event: CashRegister.Event, before: dict[str, int]) -> None:
        """Keep what the event changed in what is to be paid in as movement lines for the
        next slip. A receipt's revenue is listed from the receipt itself (its deposit is
        held, not paid in), so it leaves a line only for what it changed beyond that."""
        if isinstance(event, CashRegister.RemittanceMade):
            return
        after = self._unremitted()
        change = {m: after.get(m, 0) - before.get(m, 0) for m in {*after, *before}}
        kind, reference = MOVEMENT_KINDS.get(type(event), "adjustment"), event.originator_version
        if isinstance(event, CashRegister.ReceiptIssued | CashRegister.ReceiptCancelled):
            sign = 1 if isinstance(event, CashRegister.ReceiptIssued) else -1
            revenue = event.total_cents - held_cents(event.lines)
            change[event.method] = change.get(event.method, 0) - sign * revenue
            if isinstance(event, CashRegister.ReceiptIssued) and event.cheque is not None:
                self.cheques[str(event.number)] = event.cheque
        elif isinstance(event, CashRegister.CashOver | CashRegister.CashShort):
            reference = self.last_count_number
        elif isinstance(event, CashRegister.CashDifferenceRegularised):
            reference = event.count_number
        for method, amount in sorted(change.items()):
            if amount:
                line = SlipLine(kind, reference, method, amount)
                self.unremitted[line.key] = line

    def _watch(self, event: CashRegister.Event) -> None:
        """After every event, what the régie's rules are checked against: the Paris day each
        receipt not yet remitted was received, and since when the ceiling is reached.

        Receipt numbers follow the clock, so the days are kept as runs: the first number
        received on each day (one entry a day, not a receipt), back to the day of the
        oldest receipt not yet remitted."""
        if isinstance(event, self.ReceiptIssued):
            day = paris_day(event.timestamp).isoformat()
            if not self.receipt_days or next(reversed(self.receipt_days.values())) != day:
                self.receipt_days[str(event.number)] = day
        elif isinstance(event, self.RemittanceMade) and self.receipt_days:
            oldest = min(map(int, self.open_receipts), default=self.last_number + 1)
            starts = [int(k) for k in self.receipt_days]
            keep = max((n for n in starts if n <= oldest), default=starts[0])
            self.receipt_days = {k: d for k, d in self.receipt_days.items() if int(k) >= keep}
        if self.cash_in_hand_cents < self.cash_ceiling_cents:
            self.ceiling_reached_at = None
        elif self.ceiling_reached_at is None:
            self.ceiling_reached_at = event.timestamp

    # --- the chain ----------------------------------------------------------------------

    def _append(self, event_class: type[CashRegister.Event], at: datetime, **fields: Any) -> None:
        """Trigger the next event with its predecessor's hash and its own."""
        self._check_open_period(at)
        place = dict(originator_id=self.id, originator_version=self.version + 1)
        linked = _linked(event_class, fields, at=at, prev_hash=self.head_hash, **place)
        self.trigger_event(event_class, **linked)

    def _check_open_period(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise InvalidValue("recorded times carry their offset")
        if at < self.modified_on:
            raise InvalidValue("the register's clock cannot go back", field="at")
        if self.closed_through is not None and paris_day(at) <= self.closed_through:
            raise PeriodClosed(f"the register is closed through {self.closed_through}")

    # --- commands -----------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        *,
        register_id: UUID,
        aire_id: UUID,
        regie_ref: str,
        float_cents: int,
        cash_ceiling_cents: int,
        payment_methods: tuple[str, ...],
        revenue_types: tuple[str, ...],
        actor: str,
        at: datetime,
        remittance_frequency: RemittanceFrequency | str = RemittanceFrequency.MONTHLY,
        remittance_days: int | None = None,
        cheque_working_days: int = 1,
    ) -> CashRegister:
        """Open the register with its acte constitutif's float, ceiling and rules (by
        default: a remittance at least monthly, cheques by the next working day)."""
        if not regie_ref.strip():
            raise InvalidValue("a register names its acte constitutif", field="regie_ref")
        require_cents(float_cents, "float_cents", positive=False)
        rules = RegieRules.checked(
            decision_ref=regie_ref,
            cash_ceiling_cents=cash_ceiling_cents,
            remittance_frequency=remittance_frequency,
            remittance_days=remittance_days,
            cheque_working_days=cheque_working_days,
        )
        fields: dict[str, Any] = dict(
            aire_id=aire_id,
            regie_ref=regie_ref,
            float_cents=float_cents,
            cash_ceiling_cents=cash_ceiling_cents,
            payment_methods=members(PaymentMethod, payment_methods, "payment_methods"),
            revenue_types=members(RevenueType, revenue_types, "revenue_types"),
            actor=actor,
            remittance_frequency=rules.remittance_frequency,
            remittance_days=rules.remittance_days,
            cheque_working_days=rules.cheque_working_days,
        )
        place = dict(
            originator_id=register_id, originator_version=1, originator_topic=topic_of(cls)
        )
        linked = _linked(cls.Opened, fields, at=at, prev_hash=GENESIS, **place)
        return cls._create(cls.Opened, id=register_id, **linked)

    # Receipts and their cancellation (``register_receipts``).
    issue_receipt = receipts.issue_receipt
    request_cancellation = receipts.request_cancellation
    cancel_receipt = receipts.cancel_receipt
    approve_cancellation = receipts.approve_cancellation
    refuse_cancellation = receipts.refuse_cancellation
    withdraw_cancellation = receipts.withdraw_cancellation

    # Deposits, remittances, counts, handovers, régularisations (``register_cash``).
    refund_deposit = cash.refund_deposit
    apply_advance = cash.apply_advance
    refund_advance = cash.refund_advance
    withhold_deposit = cash.withhold_deposit
    remit = cash.remit
    count_cash = cash.count_cash
    hand_over = cash.hand_over
    regularise_difference = cash.regularise_difference

    # Closures, the régie's rules, prints of documents (``register_records``).
    close_period = records.close_period
    set_rules = records.set_rules
    print_original = records.print_original
    reprint = records.reprint


#: The kind of slip line each movement leaves (anything else: ``adjustment``).
MOVEMENT_KINDS: dict[type, str] = {
    CashRegister.DepositRefunded: "deposit_refunded",
    CashRegister.DepositWithheld: "deposit_withheld",
    CashRegister.AdvanceApplied: "advance_applied",
    CashRegister.AdvanceRefunded: "advance_refunded",
    CashRegister.CashOver: "cash_over",
    CashRegister.CashShort: "cash_short",
    CashRegister.CashDifferenceRegularised: "deficit_made_good",
}


def _linked(
    event_class: type[Any], fields: dict[str, Any], *, at: datetime, prev_hash: str, **place: Any
) -> dict[str, Any]:
    """What an event is triggered with: its fields, its time, its predecessor's hash and its
    own, taken over all of them and its ``place`` (originator id and version, and the
    aggregate's topic for the first)."""
    full = dict(fields, **place, timestamp=at, prev_hash=prev_hash)
    return dict(
        fields, timestamp=at, prev_hash=prev_hash, hash=event_hash(topic_of(event_class), full)
    )
