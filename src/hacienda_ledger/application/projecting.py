"""Wiring the projections to the ledger: their database, the event source, the followers.

Projection tables live in the events' own database (same SQLite file, same PostgreSQL
database), so a batch's rows and its tracking position commit together. Reads of several
projections that must agree (an analytics publication's facts) are made in one snapshot of
that database, every projection read standing at one position there
(``ProjectionQueries.read_together``).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from functools import partial
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import Notification
from psycopg import IsolationLevel
from psycopg.rows import tuple_row

from hacienda_ledger.aggregates.accounts import deposits, receivable
from hacienda_ledger.aggregates.errors import ConcurrencyConflict, SealedFiguresChanged
from hacienda_ledger.aggregates.household import Household
from hacienda_ledger.aggregates.integrity import plain
from hacienda_ledger.aggregates.register_books import is_third_party
from hacienda_ledger.aggregates.values import month_bounds
from hacienda_ledger.application.decoding import EventDecoder
from hacienda_ledger.application.forked import Shared, can_fork
from hacienda_ledger.application.ledger import Ledger
from hacienda_ledger.projections.analytics import AnalyticsProjection
from hacienda_ledger.projections.balances import BalancesProjection, instant
from hacienda_ledger.projections.base import Projection, Row
from hacienda_ledger.projections.cash_journal import CashJournalProjection, summaries
from hacienda_ledger.projections.checking import check
from hacienda_ledger.projections.intervention_list import InterventionListProjection
from hacienda_ledger.projections.interventions import InterventionsProjection
from hacienda_ledger.projections.occupancy import (
    Alt2Month,
    OccupancyFacts,
    OccupancyMonth,
    OccupancyProjection,
    alt2_month,
    alt2_year,
    occupancy_month,
)
from hacienda_ledger.projections.revenue import RevenueComparison, RevenueProjection, revenue_year
from hacienda_ledger.projections.runner import Follower, Progress, Runner, rebuild
from hacienda_ledger.projections.store import ProjectionDatabase
from hacienda_ledger.projections.unmet import UnmetDemand, unmet_demand
from hacienda_ledger.settings import Settings


def all_projections() -> list[Projection]:
    return [
        BalancesProjection(),
        CashJournalProjection(),
        OccupancyProjection(),
        RevenueProjection(),
        InterventionsProjection(),
        InterventionListProjection(),
        AnalyticsProjection(),
    ]


class LedgerSource:
    """The ledger's notification log, as a follower reads it.

    The followers of one process share it, and each new event is read by several of them
    (a receipt by the balances, the cash journal, the revenue...): the last ``cache_size``
    events decoded are kept, so that each is decoded once. Events are immutable, and the
    same position always decodes to the same event — except household events, whose
    personal fields read as erased once the key is gone: those are never kept.
    Events are decoded by ``EventDecoder`` (orjson where only the transcoder applies, the
    library's mapper otherwise: household events always go through the mapper)."""

    def __init__(self, ledger: Ledger, cache_size: int = 4096) -> None:
        self.ledger = ledger
        self.cache_size = cache_size
        self.decoder = EventDecoder(ledger.mapper)
        self._decoded: OrderedDict[int, Any] = OrderedDict()
        self._guard = threading.Lock()

    def select(self, start: int, limit: int, topics: Sequence[str]) -> Sequence[Any]:
        """Up to ``limit`` notifications of these topics from position ``start`` on.

        On PostgreSQL the library filters topics in SQL (``topic = ANY(...) ORDER BY
        notification_id LIMIT n``), which the planner answers by fetching every matching
        row after ``start`` and sorting them for the first ``n``: each page costs the rest
        of the stream (measured: 11 µs a row returned on 30,000 events, against 2.7 µs a row
        read in position order), so a whole rebuild grows with the square of the stream.
        Here the stream is read in windows of positions (a range of the primary index, so
        each query costs its window, never the rest of the stream), the topics picked by the
        server within each window — rows of other topics are neither sent nor built — until
        ``limit`` are found or the stream ends. A window that finds few widens the next."""
        if not topics or not self.ledger.settings.is_postgres:
            return self.ledger.recorder.select_notifications(
                start=start, limit=limit, topics=topics
            )
        wanted = list(topics)
        found: list[Notification] = []
        position, span = start, max(limit, 1)
        last = self.ledger.last_position()
        while len(found) < limit and position <= last:
            needed = limit - len(found)
            page = self._window(position, position + span, wanted)
            found.extend(page)
            position += span
            if len(page) * 2 < needed:
                span = min(span * 2, WINDOW_MAX)
        return found[:limit]

    def _window(self, start: int, end: int, topics: list[str]) -> list[Notification]:
        """Notifications of these topics at positions ``start`` ≤ p < ``end``, in position
        order: plain tuples read in binary, each made a ``Notification`` without its
        constructor."""
        recorder: Any = self.ledger.recorder
        sql = (
            "SELECT notification_id, originator_id, originator_version, topic, state "
            f"FROM {recorder.events_table_name} "
            "WHERE notification_id >= %s AND notification_id < %s AND topic = ANY(%s) "
            "ORDER BY notification_id"
        )
        with recorder.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
            cur.execute(sql, (start, end, topics), binary=True, prepare=True)
            rows = cur.fetchall()
        page = []
        for position, originator_id, version, topic, state in rows:
            notification = _new(Notification)
            _set(
                notification,
                "__dict__",
                {
                    "originator_id": originator_id,
                    "originator_version": version,
                    "topic": topic,
                    "state": state,
                    "id": position,
                },
            )
            page.append(notification)
        return page

    def decode(self, notification: Any) -> Any:
        position = notification.id
        with self._guard:
            event = self._decoded.get(position)
        if event is not None:
            return event
        event = self.decoder(notification)
        if not notification.topic.startswith(_SEALED_PREFIX):
            with self._guard:
                self._decoded[position] = event
                if len(self._decoded) > self.cache_size:
                    self._decoded.popitem(last=False)
        return event

    def decode_once(self, notification: Any) -> Any:
        """A rebuild decodes each event once for all its projections: keeping it for other
        followers would only keep it alive (measured: a tenth more CPU for the rebuild)."""
        return self.decoder(notification)

    def max_position(self) -> int:
        return self.ledger.last_position()


_SEALED_PREFIX = Household.__module__ + ":"
WINDOW_MAX = 200_000  # positions read by one query of ``LedgerSource.select``, at most
_new, _set = object.__new__, object.__setattr__


def projection_database(ledger: Ledger) -> ProjectionDatabase:
    settings = ledger.settings
    if settings.is_postgres:
        return ProjectionDatabase(conninfo=settings.postgres_conninfo)
    return ProjectionDatabase(sqlite_path=str(settings.sqlite_path))


def unfollowed(ledger: Ledger, names: Sequence[str] = ()) -> list[str]:
    """The projections (of ``names``; default all) never followed in this database: it
    holds not all their live tables, or no tracking row of them. Asked before a follower
    is made (making one creates both): a check has nothing to compare them with."""
    db = projection_database(ledger)
    chosen = [p for p in all_projections() if not names or p.name in names]
    with db.transaction() as cur:
        return [
            p.name
            for p in chosen
            if not db.tracked(cur, p.name) or not all(db.columns(cur, t.name) for t in p.tables)
        ]


def followers(ledger: Ledger, names: Sequence[str] = (), batch_size: int = 2000) -> list[Follower]:
    db = projection_database(ledger)
    source = LedgerSource(ledger)
    chosen = [p for p in all_projections() if not names or p.name in names]
    unknown = set(names) - {p.name for p in chosen}
    if unknown:
        raise KeyError(f"unknown projections: {', '.join(sorted(unknown))}")
    return [Follower(p, db, source, batch_size=batch_size) for p in chosen]


REBUILD_BATCH = 5000
"""Events per batch of a rebuild (live followers: 2,000). Fewer, larger transactions:
measured 5 % faster than 2,000 (medians of six alternating runs, 5 aires × 5 years); a
batch's rows stay small beside what a rebuild keeps."""


def rebuild_all(
    ledger: Ledger,
    names: Sequence[str] = (),
    on_batch: Callable[[Progress], None] | None = None,
    *,
    jobs: int = 1,
) -> dict[str, int]:
    """Rebuild the named projections (default: all) in one pass over the stream, each
    stored event decoded once, then swap each one's fresh tables in; returns the positions.

    ``jobs`` > 1 shares the projections between that many processes (by their
    ``rebuild_cost``), each its own pass over the events its projections read: one
    interpreter folds on one core, and the projections are independent of one another.
    The others are forked from this one (nothing to import again) and each opens its own
    connections; ``on_batch`` follows this process's share only. Where processes cannot
    be forked, one pass does it all."""
    return _in_shares(
        ledger,
        followers(ledger, names),
        jobs,
        lambda chosen: rebuild(chosen, on_batch, batch_size=REBUILD_BATCH),
        _rebuild_share,
    )


def check_all(
    ledger: Ledger,
    names: Sequence[str] = (),
    on_batch: Callable[[Progress], None] | None = None,
    *,
    jobs: int = 1,
) -> dict[str, list[str]]:
    """``rebuild --check``: each named projection (default: all) rebuilt aside, as
    ``rebuild_all`` rebuilds them (one pass, shared between ``jobs`` processes), and
    compared with its live tables (``projections/checking.py``); its differences by name."""
    chosen = followers(ledger, names)
    found = _in_shares(
        ledger,
        chosen,
        jobs,
        lambda group: check(group, on_batch, batch_size=REBUILD_BATCH),
        _check_share,
    )
    return {f.projection.name: found[f.projection.name] for f in chosen}


def _in_shares(
    ledger: Ledger,
    chosen: Sequence[Follower],
    jobs: int,
    here: Callable[[Sequence[Follower]], dict[str, Any]],
    there: Callable[[Settings, list[str], Any], None],
) -> dict[str, Any]:
    """``here`` on the costliest share of the followers, ``there`` on each other share in
    a process forked for it; their results by projection."""
    groups = shares(chosen, jobs)
    if len(groups) <= 1 or not can_fork():
        return here(chosen)
    others = Shared(there, [(ledger.settings, [f.projection.name for f in g]) for g in groups[1:]])
    try:
        results = here(groups[0])
    finally:
        found = others.results()
    for share in found:
        results.update(share)
    missing = sorted({f.projection.name for f in chosen} - set(results))
    if missing:
        raise RuntimeError(f"failed for {', '.join(missing)} (see its error above)")
    return results


def shares(chosen: Sequence[Follower], jobs: int) -> list[list[Follower]]:
    """The followers in at most ``jobs`` groups of about equal ``rebuild_cost`` (the
    costliest first, each to the lightest group so far); the first group is the costliest."""
    groups: list[list[Follower]] = [[] for _ in range(max(1, min(jobs, len(chosen))))]
    for follower in sorted(chosen, key=lambda f: -f.projection.rebuild_cost):
        lightest = min(groups, key=lambda g: sum(f.projection.rebuild_cost for f in g))
        lightest.append(follower)
    return [g for g in groups if g]


def _share(
    run: Callable[..., dict[str, Any]], settings: Settings, names: list[str], results: Any
) -> None:
    """In a forked process: ``rebuild`` or ``check`` these projections with connections of
    its own."""
    ledger = Ledger(settings.model_copy(update={"create_tables": False}))
    try:
        results.put(run(followers(ledger, names), batch_size=REBUILD_BATCH))
    finally:
        ledger.close()


_rebuild_share = partial(_share, rebuild)
_check_share = partial(_share, check)


def runner(ledger: Ledger) -> Runner:
    return Runner(followers(ledger))


T = TypeVar("T")
#: Reads of several projections together tried at most that many times while followers
#: move them apart between their catch-up and the read (``read_together``).
TOGETHER = 3


@contextmanager
def read_snapshot(db: ProjectionDatabase) -> Iterator[Any]:
    """A cursor in one read-only transaction that sees one committed state of the database
    from its first read to its end, whatever is committed meanwhile, and holds no writer
    back: SQLite in WAL mode (the ledger's file) fixes a deferred transaction's snapshot at
    its first read; PostgreSQL at REPEATABLE READ, at its first statement. (``transaction``
    would not do: on SQLite it takes the writer's lock, on PostgreSQL each statement of
    READ COMMITTED sees what was committed before it.)"""
    with db.connect() as conn:
        if db.dialect == "postgres":
            conn.isolation_level = IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            with conn.transaction(), conn.cursor() as cur:
                yield cur
            return
        cur = conn.cursor()
        cur.execute("BEGIN")
        try:
            yield cur
        finally:
            cur.execute("ROLLBACK")  # nothing written


class Snapshot:
    """Projection tables as one read transaction sees them (``read_together``): every table
    read of the same committed state, the projections read all standing at ``position``."""

    def __init__(self, chosen: dict[str, Follower], cur: Any, position: int) -> None:
        self._chosen, self._cur, self.position = chosen, cur, position

    def select(self, name: str, table_name: str) -> list[Row]:
        """Every row of one table of the projection ``name`` (one of those read together)."""
        follower = self._chosen[name]
        return follower.db.select(self._cur, follower.projection.table(table_name))


class ProjectionQueries:
    """Reads of the projection tables, up to date with the stream when they are asked
    (read-your-writes: the followers catch up to the current position first)."""

    def __init__(self, ledger: Ledger, runner: Runner | None = None) -> None:
        self.ledger = ledger
        self.runner = runner
        self.followers = {
            f.projection.name: f for f in (runner.followers if runner else followers(ledger))
        }

    def current(self, name: str) -> Follower:
        follower = self.followers[name]
        position = self.ledger.last_position()
        # its own position only: a projection that fails holds back none of the others' reads
        if self.runner is None or not self.runner.wait(position, timeout=5.0, name=name):
            follower.catch_up()
        return follower

    def read_together(self, names: Sequence[str], read: Callable[[Snapshot], T]) -> tuple[int, T]:
        """``read`` of the named projections in one snapshot of their database in which
        they all stand at one stream position: (that position, what ``read`` gave).

        Each is caught up first (``current``), then their tracking positions are read in
        the snapshot before ``read`` runs in it: rows and position commit together, so the
        rows read are exactly the fold of the events up to that position — what a replay
        of the stream to it gives — whatever followers commit meanwhile. When one stands
        apart (a follower, the runner's or another process's, moved it after its
        catch-up; or an event was recorded while the others caught up), those behind the
        furthest are caught up again (the others already stand past it) and all are read
        again, ``TOGETHER`` times at most, then ``ConcurrencyConflict``."""
        chosen = {name: self.followers[name] for name in names}
        db = chosen[names[0]].db
        where = (db.sqlite_path, db.conninfo)
        apart = [n for n, f in chosen.items() if (f.db.sqlite_path, f.db.conninfo) != where]
        if apart:  # one transaction cannot read two databases
            raise ValueError(f"projections {', '.join(apart)} are not in {names[0]}'s database")
        behind: Sequence[str] = names
        for _ in range(TOGETHER):
            for name in behind:
                self.current(name)
            with read_snapshot(db) as cur:
                positions = {name: db.position(cur, name) for name in names}
                furthest = max(positions.values())
                if min(positions.values()) == furthest:
                    return furthest, read(Snapshot(chosen, cur, furthest))
            behind = [name for name in names if positions[name] < furthest]
        stood = ", ".join(f"{name} at {p}" for name, p in positions.items())
        raise ConcurrencyConflict(
            f"the projections kept moving while read together ({TOGETHER} times; last "
            f"{stood}): try again"
        )

    def select(
        self,
        name: str,
        table_name: str,
        *,
        where: dict[str, Any] | None = None,
        between: tuple[str, Any, Any] | None = None,
        limit: int | None = None,
    ) -> list[Row]:
        """Rows of one projection table, caught up first, filtered by equal columns and an
        inclusive range on one column (what reports and exports read); at most ``limit``."""
        follower = self.current(name)
        spec = follower.projection.table(table_name)
        with follower.db.transaction() as cur:
            return follower.db.select(cur, spec, where=where, between=between, limit=limit)

    def journal(
        self,
        register_id: UUID,
        start: date | None,
        end: date | None,
        *,
        after: tuple[int, int] | None = None,
        limit: int | None = None,
    ) -> list[Row]:
        """The register's journal lines in the period, in sequence; with ``after`` (a line's
        version and line number) only those after it, and at most ``limit`` (a page)."""
        follower = self.current("cash_journal")
        spec = follower.projection.table("cash_journal")
        key = (str(register_id), *after) if after is not None else None
        with follower.db.transaction() as cur:
            rows = follower.db.select(
                cur,
                spec,
                where={"register_id": str(register_id)},
                between=("day", start, end),
                after=key,
                limit=limit,
            )
        return rows

    def receipt_lines(self, register_id: UUID, number: int) -> list[Row]:
        """The journal lines of one receipt number: its issue, and its cancellation if any."""
        follower = self.current("cash_journal")
        spec = follower.projection.table("cash_journal")
        with follower.db.transaction() as cur:
            return follower.db.select(
                cur, spec, where={"register_id": str(register_id), "receipt_number": number}
            )

    @staticmethod
    def journal_summaries(rows: list[Row]) -> dict[str, list[Row]]:
        """Daily and monthly summaries of journal lines."""
        return {"days": summaries(rows, "day"), "months": summaries(rows, "month")}

    def account_balances(self, accounts: Sequence[str], as_of: datetime | None) -> dict[str, int]:
        """Balances of the given accounts, now or as of an instant (sum of postings)."""
        follower = self.current("balances")
        spec = follower.projection.table("postings")
        result = dict.fromkeys(accounts, 0)
        with follower.db.transaction() as cur:
            for account in accounts:
                for row in follower.db.select(
                    cur,
                    spec,
                    where={"account": account},
                    order=False,
                    between=("recorded_at", None, instant(as_of) if as_of else None),
                ):
                    result[account] += row["amount_cents"]
        return result

    def _aire_rows(self, name: str, table_name: str, aire_id: UUID) -> list[Row]:
        follower = self.followers[name]
        spec = follower.projection.table(table_name)
        with follower.db.transaction() as cur:
            return follower.db.select(cur, spec, where={"aire_id": str(aire_id)})

    def occupancy_facts(self, aire_id: UUID) -> OccupancyFacts:
        self.current("occupancy")

        return OccupancyFacts.from_tables(_AireRows(self, "occupancy", aire_id))

    def occupancy(self, aire_id: UUID, month: str, as_of: date) -> OccupancyMonth:
        return occupancy_month(self.occupancy_facts(aire_id), aire_id, month, as_of)

    def interventions_rows(self, aire_id: UUID) -> list[Row]:
        """The aire's interventions per month and kind (``projections/interventions.py``)."""
        self.current("interventions")
        return self._aire_rows("interventions", "interventions_monthly", aire_id)

    def intervention_ids(
        self,
        aire_id: UUID,
        *,
        start: date | None = None,
        end: date | None = None,
        kind: str | None = None,
        emplacement: str | None = None,
        status: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[list[UUID], bool]:
        """A page of the aire's interventions in the order recorded (their ids), those that
        overlap ``start``..``end`` (both included, either open) of that kind, emplacement
        and status; and whether more follow. One indexed query of the caught-up
        ``intervention_list`` projection (read-your-writes: ``current``)."""
        follower = self.current("intervention_list")
        db = follower.db
        spec = follower.projection.table("intervention_list")
        cols = {c.name: c for c in spec.columns}
        mark = db.mark
        conditions, params = [f"aire_id = {mark}"], [str(aire_id)]
        for column, op, value in (
            ("last_day", ">=", start),
            ("first_day", "<=", end),
            ("kind", "=", kind),
            ("status", "=", status),
        ):
            if value is not None:
                conditions.append(f"{column} {op} {mark}")
                params.append(db.to_sql(cols[column], value))
        if emplacement is not None:
            conditions.append(
                f"intervention_id IN (SELECT intervention_id FROM intervention_emplacements "
                f"WHERE emplacement = {mark})"
            )
            params.append(emplacement)
        sql = (
            f"SELECT intervention_id FROM intervention_list WHERE {' AND '.join(conditions)} "
            f"ORDER BY aire_id, position LIMIT {int(limit) + 1} OFFSET {int(offset)}"
        )
        # through the ledger's own pooled connections (the tables are in its database): a
        # projection database's transaction opens a connection of its own
        datastore: Any = self.ledger.recorder.datastore  # type: ignore[attr-defined]
        with datastore.transaction(commit=False) as curs:
            if self.ledger.settings.is_postgres:
                curs.row_factory = tuple_row
            curs.execute(sql, params)
            found = [UUID(str(r[0])) for r in curs.fetchall()]
        return found[:limit], len(found) > limit

    def unmet_demand(self, aire_id: UUID, month: str, as_of: date) -> UnmetDemand:
        """The month's unmet requests on the aire, through ``as_of``."""
        first, last = month_bounds(month)
        return unmet_demand(self.occupancy_facts(aire_id), aire_id, first, min(last, as_of))

    def revenue_rows(self, aire_id: UUID) -> list[Row]:
        self.current("revenue")
        return self._aire_rows("revenue", "revenue_monthly", aire_id)

    def revenue(self, aire_id: UUID, year: int) -> tuple[RevenueComparison, ...]:
        # Deposits and advances held are third-party funds, never revenue: they stay out of
        # revenue figures (an advance applied counts as the revenue of what it settled).
        rows = [r for r in self.revenue_rows(aire_id) if not is_third_party(r["revenue_type"])]
        return revenue_year(rows, aire_id, year)

    def alt2(self, aire_id: UUID, year: int, as_of: date) -> tuple[Alt2Month, ...]:
        pitch_fees: dict[str, int] = {}
        for row in self.revenue_rows(aire_id):
            if row["revenue_type"] == "pitch_fee" and row["month"].startswith(f"{year}-"):
                pitch_fees[row["month"]] = pitch_fees.get(row["month"], 0) + row["amount_cents"]
        return alt2_year(
            self.occupancy_facts(aire_id),
            aire_id,
            year,
            as_of=as_of,
            pitch_fee_revenue_cents=pitch_fees,
            rates=self.ledger.settings.alt2_rates or None,
        )


class _AireRows:
    """One aire's rows of a projection's tables (what the occupancy figures read)."""

    def __init__(self, queries: ProjectionQueries, name: str, aire_id: UUID) -> None:
        self.queries, self.name, self.aire_id = queries, name, aire_id

    def rows(self, table_name: str) -> list[Row]:
        return self.queries._aire_rows(self.name, table_name, self.aire_id)


def household_receivables(
    queries: ProjectionQueries, household_ref: UUID, as_of: datetime | None = None
) -> dict[str, int]:
    """What a household owes, stay by stay (receivable accounts of its stays), now or as of
    an instant; the household is known by its opaque reference only."""
    follower = queries.current("balances")
    spec = follower.projection.table("stays")
    with follower.db.transaction() as cur:
        stays = follower.db.select(cur, spec, where={"household_ref": str(household_ref)})
    accounts = [f"receivable/{row['stay_id']}" for row in stays]
    return queries.account_balances(accounts, as_of)


def stay_balances(
    queries: ProjectionQueries, stay_id: UUID, as_of: datetime | None = None
) -> tuple[int, int]:
    """What the household owes on a stay (its receivable account) and the deposit held for
    it (the deposits account is a credit: held is its opposite), now or as of an instant."""
    found = queries.account_balances([receivable(stay_id), deposits(stay_id)], as_of)
    return found[receivable(stay_id)], -found[deposits(stay_id)]


def _digest(value: Any) -> str:
    body = json.dumps(plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def month_digests(queries: ProjectionQueries, aire_id: UUID, month: str) -> dict[str, str]:
    """Digests of the figures an aire's month documents are built from, as the projections
    give them at the month's end: its occupancy (day by day, rate, stays ended) and its ALT2
    line (places, place-days, rate, pitch-fee revenue, aid)."""
    _, last = month_bounds(month)
    facts = queries.occupancy_facts(aire_id)
    occupancy = occupancy_month(facts, aire_id, month, last)
    pitch_fees = sum(
        row["amount_cents"]
        for row in queries.revenue_rows(aire_id)
        if row["revenue_type"] == "pitch_fee" and row["month"] == month
    )
    alt2 = alt2_month(
        facts,
        aire_id,
        month,
        as_of=last,
        pitch_fee_revenue_cents=pitch_fees,
        rates=queries.ledger.settings.alt2_rates or None,
        occupancy=occupancy,
    )
    return {f"occupancy:{month}": _digest(occupancy), f"alt2:{month}": _digest(alt2)}


def sealed_occupancy(
    queries: ProjectionQueries, aire_id: UUID, month: str, digests: dict[str, str]
) -> OccupancyMonth:
    """The aire's sealed ``month`` occupancy as its seal recorded it: recomputed from the
    occupancy projection caught up with every event recorded (``current``), then checked
    against the digest the seal recorded among ``digests`` (``month_digests``), so that it
    is the sealed figure and not a projection that lags; ``SealedFiguresChanged`` when it
    differs. A seal without that digest is taken as the projection gives the month."""
    _, last = month_bounds(month)
    occupancy = queries.occupancy(aire_id, month, last)
    recorded = digests.get(f"occupancy:{month}")
    if recorded is not None and recorded != _digest(occupancy):
        raise SealedFiguresChanged(
            f"the occupancy of {month} is no longer the one sealed: verify the aire's seals",
            field="month",
        )
    return occupancy
