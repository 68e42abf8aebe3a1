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
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.domain import Snapshot as LibrarySnapshot

from hacienda_ledger.aggregates.errors import (
    CancellationNotPending,
    CancellationPending,
    CashDifferenceNotOpen,
    CountNotFound,
    InsufficientFunds,
    InvalidValue,
    NotRequester,
    PeriodClosed,
    ReceiptAlreadyCancelled,
    ReceiptAlreadyRemitted,
    ReceiptNotFound,
    SelfApproval,
    SlipNotFound,
    SlipUnbalanced,
)
from hacienda_ledger.aggregates.integrity import GENESIS, event_hash, topic_of
from hacienda_ledger.aggregates.register_books import (
    DOCUMENTS,
    Cheque,
    Denomination,
    OpenReceipt,
    PendingCancellation,
    ReceiptLine,
    SlipLine,
    accepted_method,
    carried,
    check_cheque,
    check_denominations,
    check_lines,
    closure_span,
    compose_slip,
    held_cents,
    is_third_party,
    lot_after_release,
    members,
    receipts_by_method,
    remittance_amounts,
    sealed_totals,
    slip_totals,
    split_lines,
)
from hacienda_ledger.aggregates.register_rules import RegieRules, RemittanceFrequency
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


class CashRegister(Aggregate):
    """One cash point: its receipts, deposits, remittances, counts, handovers and closures."""

    # The register's state (what snapshots hold). v2: ``rules``, ``receipt_days`` and
    # ``ceiling_reached_at`` (the régie's rules). v3: the movements not yet paid in,
    # cheques, counts and their open differences, the holder, and the closures' revenue
    # apart from third-party funds. v4: ``pending_cancellations``. No snapshot older than
    # v3 can be brought up to date exactly; a v3 one can (see ``upcast_v3_v4``).
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
            register = super().mutate(_)
            for name, value in vars(register).items():
                if isinstance(value, list) and not name.startswith("_"):
                    setattr(register, name, tuple(value))
            return register  # type: ignore[return-value]

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
            register.cash_ceiling_cents = self.cash_ceiling_cents
            register.rules = RegieRules(
                self.regie_ref,
                self.cash_ceiling_cents,
                self.remittance_frequency,
                self.remittance_days,
                self.cheque_working_days,
            )
            register.receipt_days = {}
            register.ceiling_reached_at = None
            register.payment_methods = tuple(self.payment_methods)
            register.revenue_types = tuple(self.revenue_types)
            register.last_number = 0
            register.open_receipts = {}
            register.last_remitted_number = 0
            register.last_slip_number = 0
            register.balances = dict.fromkeys(self.payment_methods, 0)
            register.balances[PaymentMethod.CASH.value] = self.float_cents
            register.deposits_held = {}
            register.deposits_by_method = {}
            register.deposit_lots = {}
            register.settled_by_stay = {}
            register.daily_totals = {}
            register.daily_third_party = {}
            register.perpetual_total_cents = 0
            register.unremitted = {}
            register.cheques = {}
            register.last_count_number = 0
            register.open_differences = {}
            register.holder = None
            register.closed_through = None
            register.closed_months = ()
            register.closed_years = ()
            register.last_closure = None
            register.reprints = {}
            register.pending_cancellations = {}
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
            register._drop_pending(self.number)
            key = str(self.number)
            receipt = register.open_receipts[key]
            register.open_receipts[key] = OpenReceipt(
                receipt.number,
                receipt.aire_id,
                receipt.stay_id,
                receipt.method,
                receipt.lines,
                cancelled=True,
            )
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
            pending = dict(register.pending_cancellations)
            pending[str(self.number)] = {
                "reason": self.reason,
                "requested_by": self.actor,
                "requested_at": self.timestamp,
            }
            register.pending_cancellations = pending

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
                key = str(self.stay_id)
                register.settled_by_stay[key] = (
                    register.settled_by_stay.get(key, 0) + self.amount_cents
                )

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
            register.last_slip_number = self.slip_number
            if self.lines is None:  # v1: it covered every movement then, and paid what it paid
                lines, _ = register._slip(self.slip_number, self.last_receipt)
                totals = slip_totals([x for x in lines if x.kind != "carried_forward"])
                for method, amount in self.amounts_by_method.items():
                    totals[method] = totals.get(method, 0) - amount
                register.unremitted = carried(self.slip_number, totals)
            else:
                for line in self.lines:
                    if line.kind == "carried_forward":
                        short = {line.method: -line.amount_cents}
                        register.unremitted.update(carried(self.slip_number, short))
                    elif line.kind != "receipt":
                        register.unremitted.pop(line.key, None)
            register.last_remitted_number = self.last_receipt
            for number in range(self.first_receipt, self.last_receipt + 1):
                register.open_receipts.pop(str(number), None)
                register.cheques.pop(str(number), None)
            for method, amount in self.amounts_by_method.items():
                register._move(method, -amount)

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
            register.open_differences = {
                k: v for k, v in register.open_differences.items() if k != str(self.count_number)
            }
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
            if register.closed_through is None or self.end > register.closed_through:
                register.closed_through = self.end
            register.last_closure = (
                self.period.value,
                self.start.isoformat(),
                self.end.isoformat(),
                self.originator_version,
            )

    class DocumentPrinted(Event):
        """The original of a receipt, deposit receipt or remittance slip was printed: any
        later print is a duplicata (``DocumentReprinted``)."""

        document: str
        number: int
        actor: str

        def evolve(self, register: CashRegister) -> None:
            reprints = dict(getattr(register, "reprints", {}))
            reprints.setdefault(f"{self.document}/{self.number}", 0)
            register.reprints = reprints

    class DocumentReprinted(Event):
        """A receipt, deposit receipt or remittance slip was printed again (copy 1, 2...)."""

        document: str
        number: int
        copy: int
        actor: str

        def evolve(self, register: CashRegister) -> None:
            # Registers snapshotted before reprints existed have no ``reprints`` yet.
            reprints = dict(getattr(register, "reprints", {}))
            reprints[f"{self.document}/{self.number}"] = self.copy
            register.reprints = reprints

    class RulesSet(Event):
        """The régie's rules changed, by the act amending its acte constitutif."""

        decision_ref: str
        cash_ceiling_cents: int
        remittance_frequency: str
        remittance_days: int | None
        cheque_working_days: int
        actor: str

        def evolve(self, register: CashRegister) -> None:
            register.cash_ceiling_cents = self.cash_ceiling_cents
            register.rules = RegieRules(
                self.decision_ref,
                self.cash_ceiling_cents,
                self.remittance_frequency,
                self.remittance_days,
                self.cheque_working_days,
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
            register.closed_years = (*register.closed_years, self.start.year)
            year = f"{self.start.year}-"
            register.daily_totals = {
                d: t for d, t in register.daily_totals.items() if not d.startswith(year)
            }
            register.daily_third_party = {
                d: t for d, t in register.daily_third_party.items() if not d.startswith(year)
            }

    def __init__(self) -> None:
        """State is set by the created event's ``apply``; declared here for readers."""
        self.aire_id: UUID
        self.regie_ref: str
        self.float_cents: int
        self.cash_ceiling_cents: int
        self.payment_methods: tuple[str, ...]
        self.revenue_types: tuple[str, ...]
        self.last_number: int
        self.open_receipts: dict[str, OpenReceipt]
        self.last_remitted_number: int
        self.last_slip_number: int
        self.balances: dict[str, int]
        self.deposits_held: dict[str, int]
        self.deposits_by_method: dict[str, int]
        self.deposit_lots: dict[str, dict[str, int]]
        self.settled_by_stay: dict[str, int]
        self.daily_totals: dict[str, Totals]  # revenue, per Paris day
        self.daily_third_party: dict[str, Totals]  # deposits, per Paris day
        self.perpetual_total_cents: int  # revenue only, since the register opened
        self.unremitted: dict[str, SlipLine]  # movements for the next slip, by key
        self.cheques: dict[str, Cheque]  # receipt number -> cheque, until remitted
        self.last_count_number: int
        self.open_differences: dict[str, int]  # count number -> over (+) / short (-)
        self.holder: str | None  # who holds the régie since the last handover
        self.closed_through: date | None
        self.closed_months: tuple[str, ...]
        self.closed_years: tuple[int, ...]
        self.last_closure: tuple[str, str, str, int] | None
        # "receipt/12" -> duplicatas printed so far (0: only the original), for every
        # document printed at least once
        self.reprints: dict[str, int]
        # receipt number -> {"reason", "requested_by", "requested_at"}: cancellations asked
        # for and not yet decided (see ``pending_cancellation``)
        self.pending_cancellations: dict[str, dict[str, Any]]
        self.head_hash: str
        self.rules: RegieRules
        self.receipt_days: dict[str, str]  # first receipt number of a Paris day -> the day
        self.ceiling_reached_at: datetime | None  # since when cash in hand >= the ceiling

    # --- state helpers (used only by events) --------------------------------------------

    def _move(self, method: str, amount: int) -> None:
        self.balances[method] = self.balances.get(method, 0) + amount

    def _drop_pending(self, number: int) -> None:
        """A pending cancellation is decided (approved, refused) or withdrawn."""
        pending = dict(self.pending_cancellations)
        pending.pop(str(number), None)
        self.pending_cancellations = pending

    def _deposit_in(self, stay_id: UUID, amount: int, method: str) -> None:
        """A deposit is held for its stay, reserved in the method it was paid with."""
        key = str(stay_id)
        lot = self.deposit_lots.setdefault(key, {})
        lot[method] = lot.get(method, 0) + amount
        self.deposits_by_method[method] = self.deposits_by_method.get(method, 0) + amount
        self.deposits_held[key] = self.deposits_held.get(key, 0) + amount

    def _deposit_out(self, stay_id: UUID, amount: int, *, first: str) -> None:
        """A deposit leaves (refund, withholding, cancellation): see ``lot_after_release``."""
        key = str(stay_id)
        lot = self.deposit_lots.get(key, {})
        left = lot_after_release(lot, amount, first)
        for method, held in lot.items():
            taken = held - left.get(method, 0)
            if taken:
                self.deposits_by_method[method] -= taken
        if left:
            self.deposits_held[key] = sum(left.values())
            self.deposit_lots[key] = left
        else:
            self.deposits_held.pop(key, None)
            self.deposit_lots.pop(key, None)

    def _settle(
        self, stay_id: UUID | None, lines: tuple[ReceiptLine, ...], method: str, sign: int
    ) -> None:
        """Deposit lines are held for the stay (and reserved in the method they were paid
        with); other lines settle its charges."""
        if stay_id is None:
            return
        key = str(stay_id)
        for line in lines:
            if line.revenue_type == RevenueType.DEPOSIT.value:
                if sign > 0:
                    self._deposit_in(stay_id, line.amount_cents, method)
                else:
                    self._deposit_out(stay_id, line.amount_cents, first=method)
            else:
                self.settled_by_stay[key] = (
                    self.settled_by_stay.get(key, 0) + sign * line.amount_cents
                )

    def _count(
        self, timestamp: datetime, lines: tuple[ReceiptLine, ...], method: str, sign: int
    ) -> None:
        """A receipt (+1) or a cancellation (-1) in its day's totals: revenue in
        ``daily_totals`` and the perpetual grand total, deposits apart."""
        day = paris_day(timestamp).isoformat()
        revenue, held = split_lines(lines)
        if revenue:
            totals = self.daily_totals.get(day, Totals())
            self.daily_totals[day] = totals.add(revenue, method, sign)
            self.perpetual_total_cents += sign * sum(amount for _, amount in revenue)
        if held:
            totals = self.daily_third_party.get(day, Totals())
            self.daily_third_party[day] = totals.add(held, method, sign)

    # --- what is to be paid in ----------------------------------------------------------

    def _unremitted(self) -> dict[str, int]:
        """By method: the balance less the funds held in it for others and, for cash, the
        float. What the movements not yet on a slip (and the receipts not yet remitted)
        add up to; negative when a shortfall ate into the float."""
        due = {}
        for method in {*self.balances, *self.deposits_by_method}:
            amount = self.balances.get(method, 0) - self.deposits_by_method.get(method, 0)
            due[method] = amount - (self.float_cents if method == PaymentMethod.CASH.value else 0)
        return due

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

    def _slip(self, number: int, through: int) -> tuple[tuple[SlipLine, ...], dict[str, int]]:
        """Slip ``number`` covering receipts up to ``through``: its lines and what it pays."""
        first = self.last_remitted_number + 1
        return compose_slip(
            number,
            receipts=self.open_receipts,
            first=first,
            last=through,
            cheques=self.cheques,
            movements=self.unremitted,
        )

    def _open_difference(self, amount: int) -> None:
        """The count just recorded found ``amount`` over (+) or short (-)."""
        self.open_differences = {
            **self.open_differences,
            str(self.last_count_number): amount,
        }

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
        full = dict(
            fields,
            originator_id=self.id,
            originator_version=self.version + 1,
            timestamp=at,
            prev_hash=self.head_hash,
        )
        digest = event_hash(topic_of(event_class), full)
        self.trigger_event(
            event_class, timestamp=at, prev_hash=self.head_hash, hash=digest, **fields
        )

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
        methods = members(PaymentMethod, payment_methods, "payment_methods")
        types = members(RevenueType, revenue_types, "revenue_types")
        fields: dict[str, Any] = dict(
            aire_id=aire_id,
            regie_ref=regie_ref,
            float_cents=float_cents,
            cash_ceiling_cents=cash_ceiling_cents,
            payment_methods=methods,
            revenue_types=types,
            actor=actor,
            remittance_frequency=rules.remittance_frequency,
            remittance_days=rules.remittance_days,
            cheque_working_days=rules.cheque_working_days,
        )
        topic = topic_of(cls.Opened)
        full = dict(
            fields,
            originator_id=register_id,
            originator_version=1,
            timestamp=at,
            originator_topic=topic_of(cls),
            prev_hash=GENESIS,
        )
        return cls._create(
            cls.Opened,
            id=register_id,
            timestamp=at,
            prev_hash=GENESIS,
            hash=event_hash(topic, full),
            **fields,
        )

    def issue_receipt(
        self,
        *,
        aire_id: UUID,
        stay_id: UUID | None,
        household_ref: UUID | None,
        method: PaymentMethod | str,
        lines: tuple[ReceiptLine, ...],
        actor: str,
        at: datetime,
        cheque: Cheque | None = None,
    ) -> int:
        """Issue the next numbered receipt; returns its number. A cheque payment may name
        its cheque (number and bank), which the slip that remits it lists."""
        method = accepted_method(method, self.payment_methods)
        check_lines(lines, self.revenue_types, stay_id)
        cheque = check_cheque(cheque, method)
        number = self.last_number + 1
        self._append(
            self.ReceiptIssued,
            at,
            number=number,
            aire_id=aire_id,
            stay_id=stay_id,
            household_ref=household_ref,
            method=method,
            lines=tuple(lines),
            total_cents=sum(line.amount_cents for line in lines),
            actor=actor,
            cheque=cheque,
        )
        return number

    def pending_cancellation(self, number: int) -> PendingCancellation | None:
        """The cancellation of receipt ``number`` asked for and not yet decided, if any."""
        found = self.pending_cancellations.get(str(number))
        return None if found is None else PendingCancellation(number=number, **found)

    @property
    def pending(self) -> tuple[PendingCancellation, ...]:
        """Every cancellation waiting for the régisseur, by receipt number."""
        numbers = sorted(int(n) for n in self.pending_cancellations)
        return tuple(p for p in map(self.pending_cancellation, numbers) if p is not None)

    def _cancellable(self, number: int) -> OpenReceipt:
        """The receipt, if a cancellation could reverse it now: it exists, is not remitted
        nor cancelled, and the register still holds its money (and its deposit)."""
        if not 1 <= number <= self.last_number:
            raise ReceiptNotFound(f"no receipt {number} on this register", field="number")
        receipt = self.open_receipts.get(str(number))
        if receipt is None:
            raise ReceiptAlreadyRemitted(
                f"receipt {number} was remitted to the comptable; correct it there", field="number"
            )
        if receipt.cancelled:
            raise ReceiptAlreadyCancelled(f"receipt {number} is already cancelled", field="number")
        if receipt.stay_id is not None and receipt.deposit_cents > self.deposit_held(
            receipt.stay_id
        ):
            raise InsufficientFunds(
                "part of this deposit was already refunded or withheld", field="number"
            )
        if receipt.total_cents > self.balances.get(receipt.method, 0):
            raise InsufficientFunds(
                f"the register no longer holds this receipt's {receipt.method} "
                f"({self.balances.get(receipt.method, 0)} cents)",
                field="number",
            )
        return receipt

    def _asked(self, number: int) -> PendingCancellation:
        found = self.pending_cancellation(number)
        if found is None:
            if 1 <= number <= self.last_number:
                raise CancellationNotPending(
                    f"no cancellation of receipt {number} is pending", field="number"
                )
            raise ReceiptNotFound(f"no receipt {number} on this register", field="number")
        return found

    def request_cancellation(self, *, number: int, reason: str, actor: str, at: datetime) -> int:
        """Ask for a receipt to be cancelled (a cashier): nothing is reversed until a
        régisseur approves it; returns its number. Refused when the receipt could not be
        cancelled now, or when a cancellation of it is pending already."""
        if not reason.strip():
            raise InvalidValue("say why the receipt is cancelled", field="reason")
        self._cancellable(number)
        if self.pending_cancellation(number) is not None:
            raise CancellationPending(
                f"a cancellation of receipt {number} is already pending", field="number"
            )
        self._append(self.CancellationRequested, at, number=number, reason=reason, actor=actor)
        return number

    def cancel_receipt(
        self, *, number: int, reason: str, household_ref: UUID | None, actor: str, at: datetime
    ) -> None:
        """Reverse a receipt on the régisseur's own authority (no second approval: they
        ask and approve); it stays in the sequence, marked cancelled. Once only. A
        cancellation a cashier asked for is approved or refused instead
        (``cancellation_pending``)."""
        if not reason.strip():
            raise InvalidValue("say why the receipt is cancelled", field="reason")
        receipt = self._cancellable(number)
        if self.pending_cancellation(number) is not None:
            raise CancellationPending(
                f"a cashier asked for receipt {number} to be cancelled: approve or refuse it",
                field="number",
            )
        self._reverse(
            receipt,
            reason=reason,
            household_ref=household_ref,
            requested=(actor, at),
            actor=actor,
            at=at,
        )

    def approve_cancellation(
        self, *, number: int, household_ref: UUID | None, actor: str, at: datetime
    ) -> None:
        """The régisseur approves a pending cancellation: the receipt is reversed, with the
        reason given when it was asked for. Never by who asked (``self_approval``)."""
        asked = self._asked(number)
        if asked.requested_by == actor:
            raise SelfApproval(
                "a cancellation is approved by someone other than who asked for it",
                field="number",
            )
        receipt = self._cancellable(number)
        requested = (asked.requested_by, asked.requested_at)
        self._reverse(
            receipt,
            reason=asked.reason,
            household_ref=household_ref,
            requested=requested,
            actor=actor,
            at=at,
        )

    def refuse_cancellation(self, *, number: int, reason: str, actor: str, at: datetime) -> int:
        """The régisseur refuses a pending cancellation, saying why: the receipt stands."""
        if not reason.strip():
            raise InvalidValue("say why the cancellation is refused", field="reason")
        self._asked(number)
        self._append(self.CancellationRefused, at, number=number, reason=reason, actor=actor)
        return number

    def withdraw_cancellation(self, *, number: int, actor: str, at: datetime) -> int:
        """Who asked for a cancellation withdraws it (``not_requester`` for anyone else)."""
        asked = self._asked(number)
        if asked.requested_by != actor:
            raise NotRequester(
                "only who asked for a cancellation withdraws it; the régisseur refuses it",
                field="number",
            )
        self._append(self.CancellationWithdrawn, at, number=number, actor=actor)
        return number

    def _reverse(
        self,
        receipt: OpenReceipt,
        *,
        reason: str,
        household_ref: UUID | None,
        requested: tuple[str, datetime],
        actor: str,
        at: datetime,
    ) -> None:
        self._append(
            self.ReceiptCancelled,
            at,
            number=receipt.number,
            aire_id=receipt.aire_id,
            stay_id=receipt.stay_id,
            household_ref=household_ref,
            method=receipt.method,
            lines=receipt.lines,
            total_cents=receipt.total_cents,
            reason=reason,
            actor=actor,
            requested_by=requested[0],
            requested_at=requested[1],
            approved_by=actor,
        )

    def deposit_held(self, stay_id: UUID) -> int:
        return self.deposits_held.get(str(stay_id), 0)

    def _require_held(self, stay_id: UUID, amount_cents: int) -> None:
        if amount_cents > self.deposit_held(stay_id):
            raise InsufficientFunds(
                f"only {self.deposit_held(stay_id)} cents are held for this stay",
                field="amount_cents",
            )

    def settled(self, stay_id: UUID) -> int:
        """What this register collected against the stay's charges (receipts net of
        cancellations, plus deposit withheld for unpaid charges)."""
        return self.settled_by_stay.get(str(stay_id), 0)

    def refund_deposit(
        self,
        *,
        aire_id: UUID,
        stay_id: UUID,
        amount_cents: int,
        method: PaymentMethod | str,
        actor: str,
        at: datetime,
    ) -> None:
        method = accepted_method(method, self.payment_methods)
        require_cents(amount_cents, "amount_cents")
        self._require_held(stay_id, amount_cents)
        if amount_cents > self.balances.get(method, 0):
            raise InsufficientFunds(
                f"the register holds {self.balances.get(method, 0)} cents in {method}",
                field="method",
            )
        self._append(
            self.DepositRefunded,
            at,
            aire_id=aire_id,
            stay_id=stay_id,
            amount_cents=amount_cents,
            method=method,
            actor=actor,
        )

    def withhold_deposit(
        self,
        *,
        aire_id: UUID,
        stay_id: UUID,
        amount_cents: int,
        reason: WithholdingReason | str,
        reference: str,
        actor: str,
        at: datetime,
    ) -> None:
        """Keep part of a deposit against damage or an unpaid charge (named by reference)."""
        require_cents(amount_cents, "amount_cents")
        try:
            reason = WithholdingReason(reason)
        except ValueError:
            raise InvalidValue("reason is damage or unpaid_charges", field="reason") from None
        if not reference.strip():
            raise InvalidValue(
                "a withholding references the damage report or the charge", field="reference"
            )
        self._require_held(stay_id, amount_cents)
        self._append(
            self.DepositWithheld,
            at,
            aire_id=aire_id,
            stay_id=stay_id,
            amount_cents=amount_cents,
            reason=reason.value,
            reference=reference,
            actor=actor,
        )

    def remittable(self, method: str) -> int:
        """What can be paid in: the balance of a method, less the deposits held in it
        (third-party funds kept to refund them) and, for cash, less the float."""
        return max(0, self._unremitted().get(method, 0))

    def slip_preview(self, through_receipt: int) -> tuple[tuple[SlipLine, ...], dict[str, int]]:
        """The next slip covering receipts up to ``through_receipt``: its lines and the
        amounts by method it must pay in (their total)."""
        if not self.last_remitted_number <= through_receipt <= self.last_number:
            raise InvalidValue(
                f"the slip covers receipts up to one of {self.last_remitted_number} "
                f"(none new) to {self.last_number}",
                field="through_receipt",
            )
        return self._slip(self.last_slip_number + 1, through_receipt)

    def remit(
        self, *, through_receipt: int, amounts_by_method: dict[str, int], actor: str, at: datetime
    ) -> int:
        """Pay collected money in to the comptable under the next numbered slip: it lists
        the receipts up to ``through_receipt`` and every other movement since the last slip,
        and pays in exactly what they total by method (``slip_unbalanced`` otherwise). It
        lists no receipt whose cancellation is pending (``cancellation_pending``)."""
        lines, expected = self.slip_preview(through_receipt)
        amounts = remittance_amounts(amounts_by_method, self.payment_methods, self.remittable)
        first = self.last_remitted_number + 1
        self._check_none_pending(first, through_receipt)
        if amounts != expected:
            wrong = sorted(m for m in {*amounts, *expected} if amounts.get(m) != expected.get(m))
            raise SlipUnbalanced(
                f"the slip's movements total {expected or 'nothing'} by method (cents), "
                f"not {amounts}: {', '.join(wrong)} differ",
                expected=expected,
                given=amounts,
            )
        in_range = receipts_by_method(self.open_receipts, first, through_receipt)
        slip = self.last_slip_number + 1
        self._append(
            self.RemittanceMade,
            at,
            slip_number=slip,
            first_receipt=first,
            last_receipt=through_receipt,
            amounts_by_method=amounts,
            receipts_by_method=in_range,
            total_cents=sum(amounts.values()),
            actor=actor,
            lines=lines,
        )
        return slip

    def _check_none_pending(self, first: int, last: int) -> None:
        """A slip lists no receipt whose cancellation waits for a decision: the régisseur
        approves or refuses it first (once remitted, a receipt can no longer be cancelled)."""
        waiting = [p.number for p in self.pending if first <= p.number <= last]
        if waiting:
            raise CancellationPending(
                f"receipt {waiting[0]} has a cancellation pending: approve or refuse it "
                "before remitting it",
                field="through_receipt",
            )

    def count_cash(
        self,
        *,
        denominations: tuple[Denomination, ...] = (),
        counted_cents: int | None = None,
        actor: str,
        at: datetime,
    ) -> int:
        """Record a cash count (arrêté de caisse) against the book balance: the notes and
        coins counted, their total, and who counted (the actor signs it); a difference is
        its own event. Returns the difference (positive: over, negative: short)."""
        kept, counted = check_denominations(tuple(denominations), counted_cents)
        book = self.balances.get(PaymentMethod.CASH.value, 0)
        difference = counted - book
        self._append(
            self.CashCounted,
            at,
            counted_cents=counted,
            book_cents=book,
            difference_cents=difference,
            actor=actor,
            number=self.last_count_number + 1,
            denominations=kept,
        )
        if difference > 0:
            self._append(self.CashOver, at, amount_cents=difference, actor=actor)
        elif difference < 0:
            self._append(self.CashShort, at, amount_cents=-difference, actor=actor)
        return difference

    def hand_over(
        self,
        *,
        incoming: str,
        denominations: tuple[Denomination, ...] = (),
        counted_cents: int | None = None,
        actor: str,
        at: datetime,
    ) -> int:
        """A remise de service: the actor hands the régie over to ``incoming`` on a count
        they make together (recorded first, with its difference if any). Returns the count's
        number."""
        if not incoming.strip() or incoming == actor:
            raise InvalidValue("the régie is handed over to someone else", field="incoming")
        self.count_cash(
            denominations=denominations, counted_cents=counted_cents, actor=actor, at=at
        )
        number = self.last_count_number
        self._append(
            self.HandedOver, at, count_number=number, outgoing=actor, incoming=incoming, actor=actor
        )
        return number

    def regularise_difference(
        self, *, count_number: int, reference: str, actor: str, at: datetime
    ) -> str:
        """Settle the difference a count found: a shortfall (déficit) made good in cash by
        the régisseur, a surplus (excédent) taken as the aire's revenue; ``reference`` names
        the receipt of the payment or the decision. Returns ``deficit`` or ``excess``."""
        if not reference.strip():
            raise InvalidValue("a régularisation names its payment or decision", field="reference")
        if isinstance(count_number, bool) or not 1 <= count_number <= self.last_count_number:
            raise CountNotFound(f"no cash count {count_number} on this register", field="count")
        difference = self.open_differences.get(str(count_number))
        if difference is None:
            raise CashDifferenceNotOpen(
                f"count {count_number} found no difference, or it is already regularised",
                field="count",
            )
        kind = EXCESS if difference > 0 else DEFICIT
        self._append(
            self.CashDifferenceRegularised,
            at,
            count_number=count_number,
            kind=kind,
            amount_cents=abs(difference),
            aire_id=self.aire_id,
            reference=reference.strip(),
            actor=actor,
        )
        return kind

    def close_period(self, *, period: Period | str, day: date, actor: str, at: datetime) -> None:
        """Seal a day, month or year: totals, perpetual grand total and the chain head."""
        period, start, end = closure_span(
            period,
            day,
            at=at,
            opened_at=self.created_on,
            closed_through=self.closed_through,
            closed_months=self.closed_months,
            closed_years=self.closed_years,
        )
        totals = sealed_totals(self.daily_totals, start, end)
        third_party = sealed_totals(self.daily_third_party, start, end)
        event_class = {
            Period.DAY: self.DayClosed,
            Period.MONTH: self.MonthClosed,
            Period.YEAR: self.YearClosed,
        }[period]
        # A closure may seal a day the clock has already left: it is dated now, and only
        # later events are refused inside it.
        self._append(
            event_class,
            at,
            start=start,
            end=end,
            totals=totals,
            perpetual_total_cents=self.perpetual_total_cents,
            sealed_version=self.version,
            sealed_hash=self.head_hash,
            actor=actor,
            third_party=third_party,
        )

    def set_rules(
        self,
        *,
        decision_ref: str,
        cash_ceiling_cents: int,
        remittance_frequency: RemittanceFrequency | str,
        remittance_days: int | None,
        cheque_working_days: int,
        actor: str,
        at: datetime,
    ) -> RegieRules:
        """Record the régie's rules as an act amending its acte constitutif sets them."""
        rules = RegieRules.checked(
            decision_ref=decision_ref,
            cash_ceiling_cents=cash_ceiling_cents,
            remittance_frequency=remittance_frequency,
            remittance_days=remittance_days,
            cheque_working_days=cheque_working_days,
        )
        self._append(
            self.RulesSet,
            at,
            decision_ref=rules.decision_ref,
            cash_ceiling_cents=rules.cash_ceiling_cents,
            remittance_frequency=rules.remittance_frequency,
            remittance_days=rules.remittance_days,
            cheque_working_days=rules.cheque_working_days,
            actor=actor,
        )
        return rules

    def _check_document(self, document: str, number: int) -> str:
        """The key of a document that exists (``receipt/12``, ``slip/3``)."""
        if document not in DOCUMENTS:
            raise InvalidValue(f"document is one of {', '.join(DOCUMENTS)}", field="document")
        last = self.last_slip_number if document == "slip" else self.last_number
        if not 1 <= number <= last:
            raise (SlipNotFound if document == "slip" else ReceiptNotFound)(
                f"no {document.replace('_', ' ')} {number} on this register", field="number"
            )
        return f"{document}/{number}"

    def printed(self, document: str, number: int) -> bool:
        """Whether the document was printed already (its original, or a duplicata)."""
        return f"{document}/{number}" in getattr(self, "reprints", {})

    def print_original(self, *, document: str, number: int, actor: str, at: datetime) -> bool:
        """The first print of a document is its original: recorded (``DocumentPrinted``),
        True. A document printed before records nothing here, False: a later print is a
        duplicata, recorded by ``reprint``."""
        key = self._check_document(document, number)
        if key in getattr(self, "reprints", {}):
            return False
        self._append(self.DocumentPrinted, at, document=document, number=number, actor=actor)
        return True

    def reprint(self, *, document: str, number: int, actor: str, at: datetime) -> int:
        """Record one more copy of a printed document; returns its copy number (1, 2...).

        ``document`` is ``receipt`` or ``deposit_receipt`` (numbered by receipt) or
        ``slip`` (numbered by bordereau). A reprint is dated now, so it is refused only when
        now lies in a closed period (never, in practice: closures seal the past)."""
        key = self._check_document(document, number)
        copy = int(getattr(self, "reprints", {}).get(key, 0)) + 1
        self._append(
            self.DocumentReprinted, at, document=document, number=number, copy=copy, actor=actor
        )
        return copy

    @property
    def open_difference_cents(self) -> dict[int, int]:
        """Each count whose difference is not regularised yet: over (+) or short (-)."""
        return {
            int(k): v for k, v in sorted(self.open_differences.items(), key=lambda x: int(x[0]))
        }

    @property
    def cash_in_hand_cents(self) -> int:
        """Cash and cheques held, less the float: what the ceiling is checked against."""
        return (
            self.balances.get(PaymentMethod.CASH.value, 0)
            - self.float_cents
            + self.balances.get(PaymentMethod.CHEQUE.value, 0)
        )

    @property
    def remittance_due(self) -> bool:
        return self.cash_in_hand_cents >= self.cash_ceiling_cents


DEFICIT, EXCESS = "deficit", "excess"

#: The kind of slip line each movement leaves (anything else: ``adjustment``).
MOVEMENT_KINDS: dict[type, str] = {
    CashRegister.DepositRefunded: "deposit_refunded",
    CashRegister.DepositWithheld: "deposit_withheld",
    CashRegister.CashOver: "cash_over",
    CashRegister.CashShort: "cash_short",
    CashRegister.CashDifferenceRegularised: "deficit_made_good",
}
