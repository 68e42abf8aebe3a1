"""Statistical disclosure control of the analytics tables: primary and complementary
suppression (issue 19; the method and its limits: docs/analytics.md).

A **cell** is any hashable key (the analytics use ``(table, unit, period, measure)``); its
value an ``int``. A **relation** is an equation every published table satisfies:
``parent = Σ children`` (a département and its aires, a year and its months, the
departures and their stay-length bands). An attacker holds every published value and every
relation.

1. **Primary**: a cell counting households or people with a value from 1 to
   ``threshold − 1`` is suppressed (0 is published: it counts nobody).
2. **Complementary, per relation**: a relation with exactly one suppressed cell would give
   it back by subtraction; another cell of it is suppressed (its smallest unsuppressed
   child, else its parent). Repeated until no relation has exactly one (a fixed point).
3. **Complementary, across relations**: a suppressed cell may still be the solution of a
   combination of relations (two levels and two periods at once). The relations holding
   suppressed cells are reduced (Gaussian elimination modulo the prime 2⁶¹ − 1: a cell
   fixed over the rationals is fixed modulo p too, so the reduction can only err towards
   suppressing more, and with coefficients ±1 it practically never does); a cell
   whose value the system fixes gets one more cell suppressed beside it, and steps 2–3
   run again until no suppressed cell is determined — but those fixed by relations whose
   every cell is suppressed: no published value enters, so the relations fix them to 0,
   which counts nobody.

Whether a cell is determined depends only on which cells are suppressed and on the
relations, never on the values: so measures that follow another's pattern (``follow``)
are exactly as protected as it.

**Released cells** (``pinned``): a publication that continues earlier ones cannot take back
what they released. Their suppressed cells come in ``first``; their published cells are
``pinned``: never chosen as complements, so the protection is found among the new cells
only. A relation whose protection only a pinned cell could give is refused
(``UnsafePublication``): nothing is published rather than a recoverable count.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
PRIME = 2**61 - 1


@dataclass(frozen=True)
class Relation(Generic[K]):
    """``parent = Σ children``: what every published table satisfies."""

    parent: K
    children: tuple[K, ...]

    @property
    def cells(self) -> tuple[K, ...]:
        return (self.parent, *self.children)


def primary(values: Mapping[K, int], threshold: int, sensitive: Callable[[K], bool]) -> set[K]:
    """The cells counting households or people (``sensitive``) from 1 to threshold − 1."""
    return {k for k, v in values.items() if sensitive(k) and 0 < v < threshold}


class UnsafePublication(Exception):
    """A suppressed cell stays recoverable and only a released (pinned) cell could hide it."""


def suppress(
    values: Mapping[K, int],
    relations: Sequence[Relation[K]],
    first: Iterable[K],
    pinned: Collection[K] = frozenset(),
) -> set[K]:
    """The suppressed cells: ``first`` (the primary ones, and those released suppressed) and
    the complementary cells, never a ``pinned`` one (released published), that leave none of
    them recoverable from the relations, alone or combined."""
    hidden = set(first)
    closed = set(pinned)
    if closed & hidden:
        raise UnsafePublication(
            f"released published and suppressed: {sorted(closed & hidden, key=repr)[:3]}"
        )
    touching: dict[K, list[Relation[K]]] = {}
    for relation in relations:
        for cell in relation.cells:
            touching.setdefault(cell, []).append(relation)
    changed: set[K] | None = None  # None: the first round, every relation looked at
    while True:
        before = set(hidden)
        _per_relation(values, relations, touching, hidden, changed, closed=closed)
        if changed is not None:
            changed |= hidden - before
        # after the first round, only the relations around what changed can fix a cell
        near = relations if changed is None else _reachable(changed, hidden, touching)
        found = determined(near, hidden)
        before = set(hidden)
        added = [
            c
            for c in sorted(found, key=repr)
            if _around(values, c, touching, hidden, closed) is not None
        ]
        changed = hidden - before
        if not added:
            # Nothing is fixed, or only cells whose every related cell is suppressed: the
            # relations then fix them to 0 whatever the rest (no published value enters),
            # which tells of nobody. With released cells, a cell only a pinned one could
            # have hidden is still fixed by published values: refused.
            if closed:
                silent = [r for r in relations if all(c in hidden for c in r.cells)]
                zero = determined(silent, hidden)  # fixed to 0: no published value enters
                unsafe = found - zero
                if unsafe:
                    shown = sorted(unsafe, key=repr)[:3]
                    raise UnsafePublication(f"counts recoverable from released cells: {shown}")
            return hidden


def _per_relation(
    values: Mapping[K, int],
    relations: Sequence[Relation[K]],
    touching: Mapping[K, list[Relation[K]]],
    hidden: set[K],
    changed: set[K] | None,
    *,
    closed: Collection[K] = frozenset(),
) -> None:
    """Until no relation holds exactly one suppressed cell, suppress one more in it (only the
    relations of the ``changed`` cells need a look, when the others are done already)."""
    if changed is None:
        pending = [r for r in relations if any(c in hidden for c in r.cells)]
    else:
        pending = [r for c in sorted(changed, key=repr) for r in touching.get(c, [])]
    while pending:
        relation = pending.pop()
        if sum(c in hidden for c in relation.cells) != 1:
            continue
        added = _one_more(values, [relation], hidden, closed)
        if added is None:  # every other cell released published: it gives the cell back
            raise UnsafePublication(f"a suppressed count only released cells surround: {relation}")
        pending.extend(touching.get(added, []))


def _one_more(
    values: Mapping[K, int],
    relations: Sequence[Relation[K]],
    hidden: set[K],
    closed: Collection[K] = frozenset(),
) -> K | None:
    """Suppress the smallest unsuppressed child of the first relation that has one (ties by
    key), else its parent, never a ``closed`` (released published) cell; None if every cell
    of these relations is suppressed or closed already."""
    for relation in relations:
        open_children = [c for c in relation.children if c not in hidden and c not in closed]
        if open_children:
            chosen = min(
                open_children, key=lambda c: (values.get(c, 0) == 0, values.get(c, 0), repr(c))
            )
            hidden.add(chosen)
            return chosen
        if relation.parent not in hidden and relation.parent not in closed:
            hidden.add(relation.parent)
            return relation.parent
    return None


def _reachable(
    changed: set[K], hidden: set[K], touching: Mapping[K, list[Relation[K]]]
) -> list[Relation[K]]:
    """The relations joined to the changed cells through suppressed cells."""
    seen = {c for c in changed if c in hidden}
    stack = sorted(seen, key=repr)  # in order: the same publication in every process
    found: dict[int, Relation[K]] = {}
    while stack:
        for relation in touching.get(stack.pop(), []):
            if id(relation) in found:
                continue
            found[id(relation)] = relation
            for cell in relation.cells:
                if cell in hidden and cell not in seen:
                    seen.add(cell)
                    stack.append(cell)
    return list(found.values())


def _around(
    values: Mapping[K, int],
    cell: K,
    touching: Mapping[K, list[Relation[K]]],
    hidden: set[K],
    closed: Collection[K] = frozenset(),
) -> K | None:
    """One more cell suppressed in the relations of ``cell``, or, when they are all
    suppressed, in the relations of their cells, and so on outwards."""
    seen: set[K] = {cell}
    frontier = [cell]
    while frontier:
        relations = [r for c in frontier for r in touching.get(c, [])]
        added = _one_more(values, relations, hidden, closed)
        if added is not None:
            return added
        frontier = [c for r in relations for c in r.cells if c not in seen]
        seen.update(frontier)
    return None


def determined(relations: Sequence[Relation[K]], hidden: set[K]) -> set[K]:
    """The suppressed cells whose value the relations fix, the published values known.

    Each relation with a suppressed cell is a row over the suppressed cells (the known
    ones move to the constant side, which does not matter here); a cell is fixed exactly
    when its unit vector lies in the rows' span: in the reduced row echelon form, its
    column is a pivot whose row has no other non-zero entry."""
    rows: list[dict[K, int]] = []
    for relation in relations:
        row: dict[K, int] = {}
        for cell, sign in ((relation.parent, 1), *((c, -1) for c in relation.children)):
            if cell in hidden:
                row[cell] = (row.get(cell, 0) + sign) % PRIME
        row = {k: v for k, v in row.items() if v}
        if row:
            rows.append(row)
    found: set[K] = set()
    for component in _components(rows):
        pivots = _reduce(component)
        found.update(col for col, row in pivots.items() if len(row) == 1)
    return found


def _components(rows: list[dict[K, int]]) -> list[list[dict[K, int]]]:
    """The rows grouped by the cells they share (each group reduces on its own)."""
    parent: dict[K, K] = {}

    def root(cell: K) -> K:
        while parent.setdefault(cell, cell) != cell:
            parent[cell] = parent[parent[cell]]
            cell = parent[cell]
        return cell

    for row in rows:
        first, *others = row
        for other in others:
            parent[root(other)] = root(first)
    groups: dict[K, list[dict[K, int]]] = {}
    for row in rows:
        groups.setdefault(root(next(iter(row))), []).append(row)
    return list(groups.values())


def _reduce(rows: list[dict[K, int]]) -> dict[K, dict[K, int]]:
    """Reduced row echelon form of sparse rows: pivot column -> its row (pivot 1).

    ``holding`` indexes, for each column, the pivots whose row has it: a new pivot is
    eliminated from those rows only, never by scanning every pivot (quadratic in the
    suppressed cells: most of the time of a national publication before it)."""
    pivots: dict[K, dict[K, int]] = {}
    holding: dict[K, set[K]] = {}
    for given in rows:
        row = dict(given)
        for col in [c for c in row if c in pivots]:
            _subtract(row, pivots[col], row.get(col, 0))
        if not row:
            continue
        col = min(row, key=repr)
        inverse = pow(row[col], PRIME - 2, PRIME)
        unit = {k: v * inverse % PRIME for k, v in row.items()}
        for pivot in list(holding.get(col, ())):
            _subtract(pivots[pivot], unit, pivots[pivot][col], pivot, holding)
        pivots[col] = unit
        for k in unit:
            holding.setdefault(k, set()).add(col)
    return pivots


def _subtract(
    row: dict[K, int],
    pivot: dict[K, int],
    factor: int,
    owner: K | None = None,
    holding: dict[K, set[K]] | None = None,
) -> None:
    """``row -= factor × pivot``; with ``holding``, the index of the pivot row ``owner``
    kept up to date."""
    if not factor:
        return
    for k, v in pivot.items():
        value = (row.get(k, 0) - factor * v) % PRIME
        if value:
            if holding is not None and k not in row:
                holding.setdefault(k, set()).add(owner)  # type: ignore[arg-type]
            row[k] = value
        else:
            if holding is not None and k in row:
                holding[k].discard(owner)
            row.pop(k, None)
