"""The analytics tables as the API and the CLI read them (issue 19): publications made by a
job (``publish``: the facts read from the projections, every table computed and suppressed,
stored with its day, stream position, threshold and SHA-256), and reads of the latest
stored publication as of a day, filtered and paged in the database: a read never
computes. What is published and why: docs/analytics.md.

A publication's position is the one its facts stand at: the four projections it reads
(``SOURCES``) are caught up, then read in one snapshot of their database in which they all
stand at one position (``ProjectionQueries.read_together``), and that position is stored.
Its tables are then exactly those computed from the events up to it — what an auditor
replaying the stream to it computes — whatever is recorded while they are read."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from typing import Any

from eventsourcing.utils import get_topic

from hacienda_ledger.aggregates.errors import (
    AnalyticsNotPublished,
    AnalyticsTableNotFound,
    InvalidPeriod,
    InvalidValue,
)
from hacienda_ledger.aggregates.seal import Seals
from hacienda_ledger.aggregates.values import paris_day
from hacienda_ledger.application.projecting import Snapshot, projection_database
from hacienda_ledger.projections import occupancy as o
from hacienda_ledger.projections.analytics import AIRES, COLLECTIVITES, MOVES
from hacienda_ledger.projections.analytics_cells import AnalyticsInputs, table_names
from hacienda_ledger.projections.analytics_store import Publication, PublicationStore, Raced
from hacienda_ledger.projections.analytics_tables import publish
from hacienda_ledger.projections.base import Row

__all__ = ["COMMAND", "FILTERS", "LOCAL", "Analytics", "Publication", "TableRead"]

#: Publications computed at most that many times when others are stored meanwhile.
RACES = 3
#: The projections the tables are computed from, read together.
SOURCES = ("occupancy", "analytics", "revenue", "interventions")
#: The levels a territory confines (the others are benchmarks).
LOCAL = ("aire", "commune", "collectivite")
#: The columns a read may filter on, and equal values only.
FILTERS = (
    "code",
    "commune",
    "collectivite",
    "departement",
    "region",
    "period",
    "from_code",
    "to_code",
)
COMMAND = "hacienda-ledger analytics publish"


@dataclass(frozen=True)
class TableRead:
    """A page of one table and the publication it was read from."""

    publication: Publication
    rows: list[Row]
    more: bool


def facts(snapshot: Snapshot) -> AnalyticsInputs:
    """Every fact the tables are computed from, read in one snapshot of ``SOURCES``."""
    select = snapshot.select
    occupancy = o.OccupancyFacts(
        emplacements=select("occupancy", o.EMPLACEMENTS),
        out_of_service=select("occupancy", o.OUT_OF_SERVICE),
        closures=select("occupancy", o.CLOSURES),
        stays=select("occupancy", o.STAYS),
        people=select("occupancy", o.STAY_PEOPLE),
        unmet=select("occupancy", o.UNMET),
    )
    return AnalyticsInputs(
        occupancy=occupancy,
        aires=select("analytics", AIRES),
        collectivites=select("analytics", COLLECTIVITES),
        moves=select("analytics", MOVES),
        revenue=select("revenue", "revenue_monthly"),
        interventions=select("interventions", "interventions_monthly"),
    )


class Analytics:
    """Publishes the tables (a job) and reads the stored publications (every request)."""

    def __init__(self, queries: Any, threshold: int, store: PublicationStore | None = None):
        self.queries = queries
        self.threshold = threshold
        self.store = store or PublicationStore(projection_database(queries.ledger))

    # --- publishing (a job, never a read) ------------------------------------------------

    def inputs(self) -> tuple[int, AnalyticsInputs]:
        """Every fact the tables are computed from, and the stream position they stand at:
        the projections caught up, then read in one snapshot, all at that position."""
        read: tuple[int, AnalyticsInputs] = self.queries.read_together(SOURCES, facts)
        return read

    def compute(self, as_of: date) -> dict[str, list[Row]]:
        """Every table as of ``as_of``, computed and suppressed now (the stream as it
        stands), continuing the latest publication (its periods as it released them):
        what a publication stores. Costly: for jobs and tests, never a request."""
        return self._continuing(as_of)[2]

    def _continuing(self, as_of: date) -> tuple[int, int, dict[str, list[Row]]]:
        """``compute``, the id of the publication it continues (0 for none), and the
        position its facts stand at: (id, position, tables)."""
        latest = self.store.latest(self.threshold)
        released = None if latest is None else self.store.tables(latest)
        continued = 0 if latest is None else latest.publication_id
        position, inputs = self.inputs()
        return continued, position, publish(inputs, as_of, self.threshold, released)

    def publish(self, as_of: date) -> tuple[Publication, bool]:
        """Store the publication as of ``as_of`` at the position its facts stand at (the
        stream's, when they were read): (it, True); or (the one stored already for that
        day, position and threshold, False) — nothing computed when the stream has not
        moved since it was stored."""
        ledger = self.queries.ledger
        today = paris_day(ledger.clock())
        if as_of >= today:  # its periods would be released, final, before they are over
            raise InvalidPeriod(
                f"a publication is as of a day that is over: {as_of.isoformat()} is not "
                f"before today ({today.isoformat()})",
                field="as_of",
            )
        # its facts would stand at the stream's position: one stored at it is the same
        found = self.store.find(as_of, ledger.last_position(), self.threshold)
        if found is not None:
            return found, False
        attempt = 1
        while True:
            continued, position, tables = self._continuing(as_of)
            now = ledger.clock().astimezone(UTC).isoformat()
            try:
                return self.store.add(
                    tables, as_of=as_of, position=position, threshold=self.threshold,
                    published_at=now, continues=continued,
                )  # fmt: skip
            except Raced:  # another publisher stored one meanwhile: continue that one
                if attempt == RACES:
                    raise
                attempt += 1

    def last_day_of(self, year: int) -> date:
        """The day a publication of ``year`` is as of: its 31 December, or yesterday while
        the year is not over (its periods ended by then)."""
        yesterday = paris_day(self.queries.ledger.clock()) - timedelta(days=1)
        return min(date(year, 12, 31), yesterday)

    def ensure(self, as_of: date) -> Publication:
        """The latest publication as of exactly ``as_of``, published now if there is none
        (a report of a closed year: its figures are those of its last day)."""
        found = self.store.latest(self.threshold, as_of)
        if found is not None and found.as_of == as_of:
            return found
        return self.publish(as_of)[0]

    def publish_due(self, today: date) -> Publication | None:
        """The serving process's daily look: publish as of yesterday (the last whole day)
        if no publication is as of it or later, or if a month was sealed since the latest
        was made (as of its day, then); None when nothing was due."""
        day = today - timedelta(days=1)
        latest = self.store.latest(self.threshold)
        if latest is None or latest.as_of < day:
            return self.publish(day)[0]
        if self._sealed_since(latest.position):
            return self.publish(latest.as_of)[0]
        return None

    def _sealed_since(self, position: int) -> bool:
        """Whether a month was sealed after ``position`` (its publication predates it)."""
        recorder = self.queries.ledger.recorder
        topic = get_topic(Seals.MonthSealed)
        return bool(recorder.select_notifications(start=position + 1, limit=1, topics=[topic]))

    # --- reading (never computes) --------------------------------------------------------

    def latest(self, day: date | None = None) -> Publication:
        """The publication a read of ``day`` serves: the latest as of it or before (of
        them all with ``day`` None); ``AnalyticsNotPublished`` if there is none."""
        return self._found(self.store.latest(self.threshold, day), day)

    @staticmethod
    def _found(publication: Publication | None, day: date | None) -> Publication:
        if publication is None:
            when = "" if day is None else f" as of {day.isoformat()} or before"
            raise AnalyticsNotPublished(
                f"no analytics publication{when}: run `{COMMAND}` (the serving process "
                "publishes daily and after a month seal)",
                field="as_of" if day is not None else None,
            )
        return publication

    def read(
        self,
        name: str,
        day: date | None,
        filters: Mapping[str, str | None],
        territory: Collection[str] | None = None,
        *,
        offset: int = 0,
        limit: int | None = None,
    ) -> TableRead:
        """A page of one published table, its rows equal to every filter given; with a
        ``territory`` (aire ids), the rows of the aire, commune and collectivité levels of
        those aires only (the others are benchmarks, read whole). One connection: the
        publication, then its rows (one indexed query)."""
        if name not in table_names():
            raise AnalyticsTableNotFound(
                f"no analytics table {name!r}: {', '.join(table_names())}", field="table"
            )
        given = {k: v for k, v in filters.items() if v is not None}
        unknown = set(given) - set(FILTERS)
        if unknown:
            raise InvalidValue(f"no filter {sorted(unknown)[0]}", field=sorted(unknown)[0])
        level = name.split("_", maxsplit=1)[0]
        codes = None
        if territory is not None and level in LOCAL:
            codes = self._codes(territory)[level]
        asked = None if limit is None else limit + 1  # one more: whether a page follows
        found, rows = self.store.latest_rows(
            self.threshold, day, name, given, codes, offset=offset, limit=asked
        )
        publication = self._found(found, day)
        more = limit is not None and len(rows) > limit
        return TableRead(publication, rows[:limit] if more else rows, more)

    def table(
        self,
        name: str,
        day: date | None,
        filters: Mapping[str, str | None],
        territory: Collection[str] | None = None,
    ) -> list[Row]:
        """Every row of ``read`` (unpaged)."""
        return self.read(name, day, filters, territory).rows

    def places(self, as_of: date) -> dict[str, int]:
        """Each aire's places (its code) on ``as_of``: the places of its emplacements in
        service by then, out of service or not (a capacity, never a count of people)."""
        aires = self.queries.select("analytics", AIRES)
        codes = {a["aire_id"]: str(a["code"]) for a in aires}
        found = dict.fromkeys(codes.values(), 0)
        for e in self.queries.select("occupancy", o.EMPLACEMENTS):
            if e["aire_id"] in codes and e["added_on"] <= as_of:
                found[codes[e["aire_id"]]] += int(e["places"])
        return found

    def _codes(self, territory: Collection[str]) -> dict[str, set[str]]:
        """The codes of the aires given, their communes and their collectivités."""
        collectivites = self.queries.select("analytics", COLLECTIVITES)
        sirens = {c["collectivite_id"]: c["siren"] for c in collectivites}
        wanted = set(territory)
        aires = [a for a in self.queries.select("analytics", AIRES) if a["aire_id"] in wanted]
        return {
            "aire": {a["code"] for a in aires},
            "commune": {a["insee_code"] for a in aires},
            "collectivite": {sirens.get(a["collectivite_id"], a["collectivite_id"]) for a in aires},
        }
