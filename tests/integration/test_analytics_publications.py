"""Stored analytics publications (issue 19, point 6) on SQLite and PostgreSQL: a job
publishes (computes, suppresses and stores every table), a read never computes; a fresh
ledger reads exactly what ``publish`` gives for the day; a new event changes nothing read
until the next publication; publishing again for the same day, position and threshold
computes nothing; the attacker recovers nothing from either of two days' stored
publications; the CLI publishes and says so."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hacienda_ledger.aggregates.errors import (
    AnalyticsNotPublished,
    ConcurrencyConflict,
    InvalidPeriod,
)
from hacienda_ledger.aggregates.values import paris_day
from hacienda_ledger.application import Ledger, projecting
from hacienda_ledger.application.analytics import SOURCES, Analytics
from hacienda_ledger.application.projecting import (
    ProjectionQueries,
    all_projections,
    projection_database,
)
from hacienda_ledger.cli import main
from hacienda_ledger.projections.analytics_cells import table_names
from hacienda_ledger.projections.analytics_store import PublicationStore, Raced, content_sha256
from hacienda_ledger.projections.analytics_tables import publish
from hacienda_ledger.projections.runner import Follower
from hacienda_ledger.projections.store import ProjectionDatabase
from hacienda_ledger.reports.generate import Reports, Scheduler
from hacienda_ledger.settings import Settings
from tests.conftest import Clock
from tests.integration.reports_world import build
from tests.integration.test_analytics import Territory, row
from tests.integration.test_reports import seal_months
from tests.unit.test_analytics_tables import _together, check, world

DAY = date(2025, 3, 31)


@pytest.fixture
def territory(ledger: Ledger, clock: Clock) -> Territory:
    """The territory of test_analytics, on 1 April: March is over, publishable."""
    built = Territory(ledger, clock)
    clock.now = datetime(2025, 4, 1, 9, tzinfo=UTC)
    return built


def service(ledger: Ledger, threshold: int = 3) -> Analytics:
    return Analytics(ProjectionQueries(ledger), threshold)


def test_a_fresh_ledger_reads_exactly_what_publish_gives(
    territory: Territory, settings: Settings
) -> None:
    """Published as of 31 March, then read in a ledger opened since (nothing of the
    publisher kept): every table, read whole or page by page, is exactly what ``publish``
    computes for that day, also after the projections are rebuilt (rebuild-equal); the
    publication names its day, the stream position, the threshold and the SHA-256 of
    what it stores."""
    ledger = territory.ledger
    publication, made = service(ledger).publish(DAY)
    assert made
    assert (publication.as_of, publication.position) == (DAY, ledger.last_position())
    assert publication.threshold == 3
    expected = service(ledger).compute(DAY)
    projecting.rebuild_all(ledger, ["occupancy", "analytics", "revenue", "interventions"])
    assert service(ledger).compute(DAY) == expected
    fresh = Ledger(settings)
    try:
        reader = service(fresh)
        for name in table_names():
            assert reader.table(name, None, {}) == expected[name], name
        paged: list[dict[str, Any]] = []
        while True:
            page = reader.read("aire_week", None, {}, offset=len(paged), limit=4)
            paged += page.rows
            if not page.more:
                break
        assert paged == expected["aire_week"] and len(paged) > 4
        stored = reader.store.tables(reader.latest())
        assert stored == expected
        assert content_sha256(stored) == publication.sha256 == content_sha256(expected)
        assert reader.latest() == publication
    finally:
        fresh.close()


def test_a_new_event_changes_no_read_until_the_next_publication(
    territory: Territory, clock: Clock
) -> None:
    """A family turned away on 1 April, after the publication as of 31 March: reads still
    give the publication's figures (nothing computed); the next publication, as of 30 April
    at the new position, counts it in April, and reads then serve it. A family turned away
    on 31 March recorded late, after March was published: March stays as released (each
    period is released once), in every publication since."""
    ledger = territory.ledger
    analytics = service(ledger, threshold=1)
    first, _ = analytics.publish(DAY)
    march = row({"t": analytics.table("aire_month", None, {})}, "t", "49007-A", "2025-03")
    for day in (date(2025, 4, 1), DAY):
        ledger.record_unmet_demand(
            territory.site.aire_id, day=day, reason="full", caravans=1, people=2, actor="c"
        )
    assert row({"t": analytics.table("aire_month", None, {})}, "t", "49007-A", "2025-03") == march
    assert analytics.latest() == first
    clock.now = datetime(2025, 5, 1, 9, tzinfo=UTC)
    second, made = analytics.publish(date(2025, 4, 30))
    assert made and second.position > first.position
    tables = {"t": analytics.table("aire_month", None, {})}
    assert row(tables, "t", "49007-A", "2025-04")["unmet_requests"] == 1
    assert row(tables, "t", "49007-A", "2025-03") == march
    assert analytics.latest() == second


def test_a_publication_is_of_a_day_that_is_over(territory: Territory) -> None:
    """Today (1 April) or later: refused (``invalid_period``), nothing stored: its periods
    would be released, final, before they are over."""
    analytics = service(territory.ledger)
    for day in (date(2025, 4, 1), date(2025, 12, 31)):
        with pytest.raises(InvalidPeriod, match="a day that is over"):
            analytics.publish(day)
    assert analytics.store.publications() == []


def test_publishing_again_computes_nothing(
    territory: Territory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same day, position and threshold: the publication stored is given back, nothing
    computed, nothing stored; another threshold is another publication."""
    analytics = service(territory.ledger)
    first, made = analytics.publish(DAY)
    assert made

    def refuse(_: date) -> dict[str, Any]:
        raise AssertionError("computed")

    monkeypatch.setattr(analytics, "compute", refuse)
    again, made = analytics.publish(DAY)
    assert (again, made) == (first, False)
    assert analytics.store.publications() == [first]
    other = service(territory.ledger, threshold=5)
    monkeypatch.undo()
    assert other.publish(DAY)[1] and len(analytics.store.publications()) == 2


def test_a_read_serves_the_latest_publication_as_of_the_day_asked(territory: Territory) -> None:
    """Publications as of 31 January and 10 March, kept both: the latest by default, the
    January one for a day of February, none before 31 January (``analytics_not_published``,
    naming the command); nothing stored at all: the same refusal for every read."""
    analytics = service(territory.ledger)
    with pytest.raises(AnalyticsNotPublished, match="hacienda-ledger analytics publish"):
        analytics.read("france_month", None, {})
    january, _ = analytics.publish(date(2025, 1, 31))
    march, _ = analytics.publish(DAY)
    assert analytics.latest() == march
    assert analytics.latest(date(2025, 2, 15)) == january
    assert [r["period"] for r in analytics.table("france_month", date(2025, 2, 15), {})] == [
        "2025-01"
    ]
    assert analytics.read("france_month", None, {}).publication == march
    with pytest.raises(AnalyticsNotPublished):
        analytics.latest(date(2025, 1, 30))


def test_the_serving_process_publishes_yesterday_once_a_day(territory: Territory) -> None:
    """``publish_due`` (the reports scheduler's look): on 11 March it publishes as of the
    10th, then nothing more that day nor the next look; on the 12th, as of the 11th."""
    analytics = service(territory.ledger)
    made = analytics.publish_due(date(2025, 3, 11))
    assert made is not None and made.as_of == date(2025, 3, 10)
    assert analytics.publish_due(date(2025, 3, 11)) is None
    later = analytics.publish_due(date(2025, 3, 12))
    assert later is not None and later.as_of == date(2025, 3, 11)


def test_the_reports_scheduler_publishes_again_after_a_seal(ledger: Ledger, clock: Clock) -> None:
    """The serving process's scheduler (reports, then the analytics due): its first look
    publishes as of yesterday; a look with nothing new publishes nothing; a month sealed
    since makes the next look publish again, as of the same day, at the new position (the
    latest publication a read serves)."""
    world = build(ledger, clock)
    clock.now = datetime(2025, 4, 2, 9, tzinfo=UTC)
    reports = Reports(ledger)
    scheduler = Scheduler(
        reports, interval=3600, delay=0, today=lambda: date(2025, 4, 2), analytics=reports.analytics
    )
    scheduler.tick()  # (the annual reports it builds publish as of their year's end)
    first = reports.analytics.latest()
    assert first.as_of == date(2025, 4, 1)
    made = reports.analytics.store.publications()
    scheduler.tick()
    assert reports.analytics.store.publications() == made
    seal_months(ledger, world, "2025-02")
    scheduler.tick()
    second = reports.analytics.latest()
    assert second.as_of == first.as_of and second.position > first.position


def test_the_cli_exports_the_stored_publication(
    territory: Territory, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``analytics export --as-of 2025-02-15`` reads the publication as of 31 January
    (stored by then) and computes nothing: its ``france_month`` CSV has January only, as
    that publication said, though February has happened since."""
    monkeypatch.setenv("HACIENDA_ANALYTICS_THRESHOLD", "3")
    service(territory.ledger).publish(date(2025, 1, 31))

    def refuse(*_: Any) -> Any:
        raise AssertionError("computed")

    monkeypatch.setattr(Analytics, "compute", refuse)
    out = tmp_path / "csv"
    args = ["--database-url", settings.database_url, "analytics", "export", "--as-of"]
    assert main([*args, "2025-02-15", "--format", "csv", "--output", str(out)]) == 0
    text = (out / "france_month.csv").read_bytes().decode("utf-8-sig")
    assert "2025-01" in text and "2025-02" not in text


@pytest.mark.parametrize("seed", [0, 1])
def test_the_attacker_recovers_nothing_from_the_days_stored_publications(
    ledger: Ledger, seed: int
) -> None:
    """Two days' publications of one generated world, the second continuing the first,
    stored and read back from the database: each is what ``publish`` gave, every count in
    it is 0 or at least the threshold, and no suppressed cell is recovered by one
    subtraction or by solving the relations — of either, or of both held together
    (docs/analytics.md, "Publications")."""
    store = PublicationStore(projection_database(ledger))
    facts = world(seed)
    stored = []
    released = None
    for position, day in enumerate((date(2025, 3, 31), date(2025, 6, 30)), start=1):
        tables = publish(facts, day, threshold=11, released=released)
        publication, _ = store.add(
            tables, as_of=day, position=position, threshold=11, published_at="2025-07-01"
        )
        stored.append((tables, publication))
        released = store.tables(publication)
    for tables, publication in stored:
        read = store.tables(publication)
        assert read == tables
        attacker = check(read, threshold=11)
        assert attacker.unknown
    both = _together(*(store.tables(p) for _, p in stored))
    assert not both.by_one_subtraction()
    assert set(both.by_solving().values()) <= {0}


def test_the_cli_publishes_and_says_what(
    territory: Territory, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """``analytics publish --as-of 2025-03-10``: exit 0, the publication named (day,
    position, rows, SHA-256); again: exit 0, stored already, nothing computed; without
    ``--as-of``: yesterday (Paris), the last day that is over; a day that is none: exit 2
    from the arguments."""
    url = settings.database_url
    assert main(["--database-url", url, "analytics", "publish", "--as-of", "2025-03-10"]) == 0
    said = capsys.readouterr().out
    (publication,) = service(territory.ledger, settings.analytics_threshold).store.publications()
    assert f"as of 2025-03-10, stream position {publication.position:,}" in said
    assert publication.sha256 in said and "(stored)" in said
    assert main(["--database-url", url, "analytics", "publish", "--as-of", "2025-03-10"]) == 0
    assert "stored already: nothing computed" in capsys.readouterr().out
    assert main(["--database-url", url, "analytics", "publish"]) == 0
    yesterday = (paris_day(datetime.now(UTC)) - timedelta(days=1)).isoformat()
    assert f"as of {yesterday}" in capsys.readouterr().out
    with pytest.raises(SystemExit) as refused:
        main(["--database-url", url, "analytics", "publish", "--as-of", "2025-13-01"])
    assert refused.value.code == 2
    assert "is not a day" in capsys.readouterr().err


class Interleaved(PublicationStore):
    """A store another publisher writes to just after this one reads the latest
    publication, once: two publications computed at once."""

    def __init__(
        self, store: PublicationStore, other: Analytics, day: date, then: Callable[[], Any]
    ) -> None:
        super().__init__(store.db)
        self.other, self.day, self.then, self.done = other, day, then, False

    def latest(self, threshold: int, day: date | None = None, cur: Any = None) -> Any:
        found = super().latest(threshold, day, cur)
        if not self.done and day is None and cur is None:
            self.done = True
            self.other.publish(self.day)
            self.then()
        return found


def test_two_publications_made_at_once_release_each_period_once(
    territory: Territory, clock: Clock
) -> None:
    """Another publisher stores the publication as of 31 March while this one computes
    April's from nothing, and a family turned away in March is recorded late meanwhile: the
    store refuses April's (it would release January to March a second time, suppressed on
    its own, March with the late family), and April's is computed again, continuing
    March's: every row March released is in it unchanged. A store asked directly to add a
    publication continuing one that is no longer the latest refuses it (``Raced``)."""
    ledger = territory.ledger
    clock.now = datetime(2025, 5, 1, 9, tzinfo=UTC)
    other = service(ledger)

    def late() -> None:
        ledger.record_unmet_demand(
            territory.site.aire_id, day=DAY, reason="full", caravans=1, people=2, actor="c"
        )

    mine = Analytics(ProjectionQueries(ledger), 3, Interleaved(other.store, other, DAY, late))
    april, made = mine.publish(date(2025, 4, 30))
    assert made
    march, later = other.store.publications()
    assert (march.as_of, later) == (DAY, april)
    released, continuing = other.store.tables(march), other.store.tables(april)
    for name, rows in released.items():
        assert all(r in continuing[name] for r in rows), name
    with pytest.raises(Raced):
        other.store.add(
            continuing, as_of=date(2025, 4, 29), position=april.position, threshold=3,
            published_at="2025-05-01", continues=march.publication_id,
        )  # fmt: skip
    assert other.store.publications() == [march, april]


class Replayed(ProjectionQueries):
    """The projections folded aside, in a database of their own, from the stream's events
    up to ``position`` and none after: what an auditor replaying the stream to a
    publication's position reads."""

    def __init__(self, ledger: Ledger, position: int, path: Path) -> None:
        super().__init__(ledger)
        self.db = ProjectionDatabase(sqlite_path=str(path))
        source = projecting.LedgerSource(ledger)
        self.followers = {p.name: Follower(p, self.db, source) for p in all_projections()}
        self.position = position

    def current(self, name: str) -> Follower:
        follower = self.followers[name]
        follower.catch_up(stop=self.position)
        return follower


def replayed(ledger: Ledger, position: int, day: date, threshold: int, path: Path) -> Any:
    """Every table as of ``day`` computed from the events up to ``position`` only (no
    publication before it)."""
    queries = Replayed(ledger, position, path)
    return Analytics(queries, threshold, PublicationStore(queries.db)).compute(day)


class Meanwhile(ProjectionQueries):
    """Queries during which another writer records an event just after the projection
    ``after`` is caught up for a read (``times`` times; None: every time)."""

    def __init__(
        self, ledger: Ledger, after: str, record: Callable[[], Any], times: int | None = 1
    ) -> None:
        super().__init__(ledger)
        self.after, self.record, self.times = after, record, times

    def current(self, name: str) -> Follower:
        follower = super().current(name)
        if name == self.after and self.times != 0:
            self.times = None if self.times is None else self.times - 1
            self.record()
        return follower


def late_family(territory: Territory) -> Callable[[], Any]:
    """A family turned away from aire A on 31 March, recorded now."""

    def record() -> Any:
        return territory.ledger.record_unmet_demand(
            territory.site.aire_id, day=DAY, reason="full", caravans=1, people=2, actor="c"
        )

    return record


def test_a_publication_holds_exactly_the_facts_of_its_position(
    territory: Territory, tmp_path: Path
) -> None:
    """A family turned away in March is recorded while the publication as of 31 March reads
    its facts, just after the occupancy projection is caught up (the other three then catch
    up past it): the publication's tables are exactly those computed from the events up to
    the position it records, replayed aside — and that position is the late family's, the
    four projections read at it together, so March counts the family. (Before: the position
    was read before the facts, and the facts read one table at a time, each caught up
    anew: the publication said the position before the family and counted it.)"""
    ledger = territory.ledger
    before = ledger.last_position()
    queries = Meanwhile(ledger, "occupancy", late_family(territory))
    publication, made = Analytics(queries, 1).publish(DAY)
    assert made
    stored = service(ledger).store.tables(publication)
    expected = replayed(ledger, publication.position, DAY, 1, tmp_path / "replay.sqlite3")
    assert expected == stored
    assert (before + 1, before + 1) == (ledger.last_position(), publication.position)
    without = replayed(ledger, before, DAY, 1, tmp_path / "before.sqlite3")
    march = row(stored, "aire_month", "49007-A", "2025-03")["unmet_requests"]
    assert 1 + row(without, "aire_month", "49007-A", "2025-03")["unmet_requests"] == march


def test_projections_that_keep_moving_publish_nothing(territory: Territory) -> None:
    """An event recorded after every catch-up of the occupancy projection, three times
    running, and another follower (another process's) catching the analytics projection
    up past it each time: its facts never stand at the others' position, so nothing is
    published (``concurrency_conflict``, to be published again) rather than a publication
    whose position its facts do not stand at."""
    ledger = territory.ledger
    family, other = late_family(territory), ProjectionQueries(ledger).followers["analytics"]

    def record() -> None:
        family()
        other.catch_up()

    analytics = Analytics(Meanwhile(ledger, "occupancy", record, None), 1)
    with pytest.raises(ConcurrencyConflict, match="kept moving") as refused:
        analytics.publish(DAY)
    assert (refused.value.code, analytics.store.publications()) == ("concurrency_conflict", [])


def test_only_the_projections_left_behind_are_caught_up_again(territory: Territory) -> None:
    """An event recorded after every catch-up of the occupancy projection (the other three
    then catch up past it): the second attempt catches up the occupancy alone, which then
    stands with the others at the family's position, and the publication is made there
    (the event recorded after that catch-up is left to the next one)."""
    ledger = territory.ledger
    before = ledger.last_position()
    caught: list[str] = []

    class Counted(Meanwhile):
        def current(self, name: str) -> Follower:
            caught.append(name)
            return super().current(name)

    queries = Counted(ledger, "occupancy", late_family(territory), None)
    publication, made = Analytics(queries, 1).publish(DAY)
    assert (made, caught) == (True, [*SOURCES, "occupancy"])
    assert (before + 1, before + 2) == (publication.position, ledger.last_position())


def test_projections_read_together_are_one_snapshot(territory: Territory) -> None:
    """Four projections read together: a family turned away is recorded and every
    projection caught up past it (a live follower) between two reads of the unmet demand
    in one ``read_together``: the second read is the first, and the position given is the
    one before the family; read together again, they stand at the family's position and
    count it."""
    ledger = territory.ledger
    queries = ProjectionQueries(ledger)
    before = ledger.last_position()

    def read(snapshot: projecting.Snapshot) -> tuple[list[Any], list[Any]]:
        first = snapshot.select("occupancy", "occupancy_unmet_demand")
        late_family(territory)()
        for follower in queries.followers.values():
            follower.catch_up()
        return first, snapshot.select("occupancy", "occupancy_unmet_demand")

    position, (first, second) = queries.read_together(SOURCES, read)
    assert (before, first) == (position, second)
    after, unmet = queries.read_together(
        SOURCES, lambda s: s.select("occupancy", "occupancy_unmet_demand")
    )
    assert (before + 1, len(first) + 1) == (after, len(unmet))
