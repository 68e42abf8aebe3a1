"""Lettrage: what settles each charge of a stay, and what remains.

Every positive line of a stay's charges (``Stay.ChargesAssessed``) is a ``Due``, named
``"<version>.<line>"`` (the event's version in the stay, the line's index in it). What
settles it is recorded on the stay (``Stay.Settled``, in the same transaction as the money
that pays it): each receipt line settles the outstanding dues **of its own revenue type**,
oldest first; a deposit withheld for unpaid charges settles the oldest dues whatever their
type; an advance held for the stay settles the oldest dues of the types its register
collects, whenever some are open (``allocate_advance``). Settlements are named by the
movement that made them (``reference``: the register, ``receipt``, ``withholding`` or
``advance``, and its number), so that cancelling a receipt reverses exactly what it settled
(``Stay.SettlementReversed``).

Credits (negative lines: days charged ahead of a departure, given back) reduce the newest
dues of their type still open; a credit larger than what is open of its type is
``overpaid`` (owed back to the household), and taken first by the next dues of that type.

Invariants, for any sequence of events (tests/unit/test_settlement_properties.py): what
settles a due never exceeds it (``settled + credited <= amount``); the stay's balance is
its charges less its settlements; a line is refused when nothing of its type is due
(``NothingDue``) or when it exceeds what is due (``MoreThanDue``), nothing recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from hacienda_ledger.aggregates.errors import InvalidValue, MoreThanDue, NothingDue
from hacienda_ledger.aggregates.values import ChargeLine


@dataclass(frozen=True)
class Allocation:
    """Part of a movement that settles one due: the charge line, its type, the cents."""

    charge: str
    revenue_type: str
    amount_cents: int


@dataclass
class Due:
    """One charge line of a stay and what became of it."""

    charge: str
    revenue_type: str
    start: date
    end: date
    amount_cents: int
    credited_cents: int = 0
    settled: dict[str, int] = field(default_factory=dict)  # reference -> cents

    @property
    def settled_cents(self) -> int:
        return sum(self.settled.values())

    @property
    def remaining_cents(self) -> int:
        return self.amount_cents - self.credited_cents - self.settled_cents


@dataclass
class Settlement:
    """A stay's dues, what settled them, and what it overpaid (by revenue type)."""

    dues: list[Due] = field(default_factory=list)
    overpaid: dict[str, int] = field(default_factory=dict)
    movements: dict[str, tuple[Allocation, ...]] = field(default_factory=dict)

    # --- folding events ---------------------------------------------------------------

    def charge(self, version: int, lines: Iterable[ChargeLine]) -> None:
        """The lines of one ``ChargesAssessed`` (the stay's event ``version``)."""
        for index, line in enumerate(lines):
            if line.amount_cents > 0:
                due = Due(
                    f"{version}.{index}", line.revenue_type, line.start, line.end, line.amount_cents
                )
                self.dues.append(due)
                taken = min(self.overpaid.get(line.revenue_type, 0), due.amount_cents)
                if taken:
                    due.credited_cents += taken
                    self.overpaid[line.revenue_type] -= taken
            elif line.amount_cents < 0:
                self._credit(line.revenue_type, -line.amount_cents)

    def _credit(self, revenue_type: str, cents: int) -> None:
        for due in reversed(self.dues):
            if due.revenue_type == revenue_type and due.remaining_cents > 0:
                taken = min(due.remaining_cents, cents)
                due.credited_cents += taken
                cents -= taken
                if not cents:
                    return
        self.overpaid[revenue_type] = self.overpaid.get(revenue_type, 0) + cents

    def settle(self, reference: str, allocations: Sequence[Allocation]) -> None:
        by_charge = {due.charge: due for due in self.dues}
        for allocation in allocations:
            due = by_charge[allocation.charge]
            due.settled[reference] = due.settled.get(reference, 0) + allocation.amount_cents
        self.movements[reference] = (*self.movements.get(reference, ()), *allocations)

    def reverse(self, reference: str) -> None:
        for due in self.dues:
            due.settled.pop(reference, None)
        self.movements.pop(reference, None)

    # --- reading ----------------------------------------------------------------------

    def outstanding(self, revenue_type: str | None = None) -> int:
        """What is still due (of one revenue type, or of all)."""
        return sum(
            due.remaining_cents
            for due in self.dues
            if revenue_type is None or due.revenue_type == revenue_type
        )

    def due_by_type(self, *, unallocated: int = 0) -> dict[str, int]:
        """What is due of each revenue type (types with something due only), once
        ``unallocated`` money (see ``allocate``) has settled the oldest dues."""
        taken = self._taken(self._oldest_first(None, unallocated, {}))
        found: dict[str, int] = {}
        for due in self.dues:
            left = due.remaining_cents - taken.get(due.charge, 0)
            if left:
                found[due.revenue_type] = found.get(due.revenue_type, 0) + left
        return {t: cents for t, cents in found.items() if cents > 0}

    @property
    def settled_cents(self) -> int:
        return sum(due.settled_cents for due in self.dues)

    # --- deciding ---------------------------------------------------------------------

    def allocate(
        self,
        lines: Sequence[tuple[str, int]],
        *,
        unallocated: int = 0,
        named: Sequence[Sequence[str]] = (),
        positions: Sequence[int] = (),
    ) -> tuple[Allocation, ...]:
        """How ``(revenue type, cents)`` lines settle the dues. A line that names charges
        (``named[i]``, each ``"<version>.<line>"`` of this stay, of the line's revenue type)
        settles those, in the order named; the other lines settle the oldest dues of their
        type. ``NothingDue`` / ``MoreThanDue`` (nothing decided) when a line asks for more
        than is left of what it may settle; ``InvalidValue`` for a charge the stay does not
        have or of another type (``positions[i]``: line i's place in the request, for the
        error's field; i by default). ``unallocated``: money already collected for the stay
        that no settlement records (receipts recorded before settlements were): it is taken
        as settling the oldest dues first."""
        taken = self._taken(self._oldest_first(None, unallocated, {}))
        allocations: list[Allocation] = []
        wanted: dict[str, int] = {}
        for index, (revenue_type, cents) in enumerate(lines):
            charges = named[index] if index < len(named) else ()
            if charges:
                place = positions[index] if index < len(positions) else index
                found = self._named(place, revenue_type, cents, charges, taken)
                allocations += found
                for allocation in found:
                    taken[allocation.charge] = (
                        taken.get(allocation.charge, 0) + allocation.amount_cents
                    )
            else:
                wanted[revenue_type] = wanted.get(revenue_type, 0) + cents
        for revenue_type, cents in wanted.items():
            due = self._open(revenue_type, taken)
            if due <= 0:
                raise NothingDue(
                    f"nothing of {revenue_type} is due on this stay: pay what is due (or "
                    "record an advance)",
                    field="lines",
                )
            if cents > due:
                raise MoreThanDue(
                    f"{cents} cents of {revenue_type} asked, {due} due", field="lines"
                )
            allocations += self._oldest_first(revenue_type, cents, taken)
        return tuple(allocations)

    def _open(self, revenue_type: str, taken: dict[str, int]) -> int:
        """What is left of a type's dues past what ``taken`` holds of each."""
        return sum(
            max(due.remaining_cents - taken.get(due.charge, 0), 0)
            for due in self.dues
            if due.revenue_type == revenue_type
        )

    def _named(
        self,
        index: int,
        revenue_type: str,
        cents: int,
        charges: Sequence[str],
        taken: dict[str, int],
    ) -> list[Allocation]:
        """Line ``index`` settling the charges it names, in their order."""
        where = f"lines.{index}.charges"
        by_charge = {due.charge: due for due in self.dues}
        if len(set(charges)) != len(charges):
            raise InvalidValue("a line names each charge once", field=where)
        found: list[Allocation] = []
        left_to_pay = cents
        for charge in charges:
            due = by_charge.get(charge)
            if due is None:
                raise InvalidValue(f"this stay has no charge {charge}", field=where)
            if due.revenue_type != revenue_type:
                raise InvalidValue(
                    f"charge {charge} is {due.revenue_type}; this line pays {revenue_type}",
                    field=where,
                )
            left = due.remaining_cents - taken.get(charge, 0)
            if left_to_pay and left > 0:
                share = min(left, left_to_pay)
                found.append(Allocation(charge, revenue_type, share))
                left_to_pay -= share
        if not found:
            raise NothingDue(
                f"nothing is left to pay of charge(s) {', '.join(charges)}", field=where
            )
        if left_to_pay:
            raise MoreThanDue(
                f"{cents} cents asked, {cents - left_to_pay} left of charge(s) "
                f"{', '.join(charges)}",
                field=where,
            )
        return found

    def allocate_any(self, cents: int, *, unallocated: int = 0) -> tuple[Allocation, ...]:
        """``cents`` settling the oldest dues whatever their type (a deposit withheld for
        unpaid charges); ``MoreThanDue`` past the balance."""
        taken = self._taken(self._oldest_first(None, unallocated, {}))
        due = self.outstanding() - sum(taken.values())
        if cents > due:
            raise MoreThanDue(
                f"{cents} cents withheld for unpaid charges, {max(due, 0)} due",
                field="amount_cents",
            )
        return tuple(self._oldest_first(None, cents, taken))

    def allocate_advance(
        self, cents: int, types: Iterable[str], *, unallocated: int = 0
    ) -> tuple[Allocation, ...]:
        """Up to ``cents`` of an advance held for the stay settling its open dues of
        ``types`` (those the register holding it collects), oldest first; what no due
        takes stays held (never an error: an advance waits for later charges)."""
        taken = self._taken(self._oldest_first(None, unallocated, {}))
        kinds = set(types)
        found = []
        for due in self.dues:
            left = due.remaining_cents - taken.get(due.charge, 0)
            if cents and left > 0 and due.revenue_type in kinds:
                share = min(left, cents)
                found.append(Allocation(due.charge, due.revenue_type, share))
                cents -= share
        return tuple(found)

    @staticmethod
    def _taken(allocations: Sequence[Allocation]) -> dict[str, int]:
        return {a.charge: a.amount_cents for a in allocations}

    def _oldest_first(
        self, revenue_type: str | None, cents: int, taken: dict[str, int]
    ) -> list[Allocation]:
        """``cents`` over the open dues (of ``revenue_type``, or any), oldest first, past
        what ``taken`` already holds of each."""
        found = []
        for due in self.dues:
            if revenue_type not in (None, due.revenue_type):
                continue
            left = due.remaining_cents - taken.get(due.charge, 0)
            if cents and left > 0:
                share = min(left, cents)
                found.append(Allocation(due.charge, due.revenue_type, share))
                cents -= share
        return found

    def settled_through(self, prefix: str) -> int:
        """What the movements whose reference starts with ``prefix`` (one register's)
        settled."""
        return sum(
            a.amount_cents
            for reference, allocations in self.movements.items()
            if reference.startswith(prefix)
            for a in allocations
        )
