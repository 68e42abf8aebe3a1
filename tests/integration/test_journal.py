"""The technical journal (JET) and the chained personal-data access log, on SQLite and
PostgreSQL: what is recorded and in which transaction, linear under concurrent appenders,
and every tampering of the stored rows caught by ``verify`` (an edited detail, a middle
row deleted, the tail cut: caught against the head a month seal recorded)."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from hacienda_ledger.aggregates.errors import AlreadyExists
from hacienda_ledger.aggregates.integrity import GENESIS, event_hash
from hacienda_ledger.aggregates.user import Role
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.access_log import TOPIC as ACCESS_TOPIC
from hacienda_ledger.application.access_log import Access
from hacienda_ledger.application.journal import Kind
from hacienda_ledger.cli import main
from hacienda_ledger.settings import Settings
from tests.conftest import Clock, Site
from tests.integration.test_seals import January


def execute(settings: Settings, statement: str, params: tuple[Any, ...] = ()) -> None:
    """A statement run on the stored rows behind the ledger's back (a DBA's edit)."""
    if settings.is_postgres:
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            conn.execute(statement.replace("?", "%s"), params)
        return
    with closing(sqlite3.connect(settings.sqlite_path)) as db, db:
        db.execute(statement, params)


def verify(settings: Settings, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``hacienda-ledger verify``: its exit code and what it printed."""
    code = main(["--database-url", settings.database_url, "verify", "--jobs", "1"])
    return code, capsys.readouterr().out


def broken(settings: Settings, capsys: pytest.CaptureFixture[str]) -> str:
    """``verify`` of a store found broken (exit 1): what it printed."""
    code, out = verify(settings, capsys)
    assert code == 1, out
    return out


def reads(ledger: Ledger, household_id: UUID, n: int) -> None:
    """``n`` reads of a household's personal data, logged."""
    at = ledger.clock()
    ledger.access_log.record([Access(household_id, at, "u", "admin", "GET /x")] * n)


@pytest.fixture
def january(ledger: Ledger, clock: Clock) -> January:
    """test_seals.py's lived January (a stay, a reading, charges and a receipt)."""
    return January(ledger, clock)


# --- what is recorded -------------------------------------------------------------------


def test_users_tokens_keys_erasures_and_seals_are_recorded_without_secrets(
    january: January,
) -> None:
    """A user and its token, a household's key taken into use, an erasure and its key
    destroyed, a month sealed: one entry each, with ids and no token, name or reason text;
    the chain is intact and numbered from 1."""
    ledger = january.ledger
    (_, token) = ledger.create_user(name="Ada Lovelace", role=Role.ADMIN, actor="cli")
    ledger.erase_household(january.household_id, reason="Mme X asked on 3/2", actor="m")
    january.seal_january()
    entries = ledger.journal.entries()
    kinds = [e.kind for e in entries]
    assert kinds.count("key_created") == 2  # the site's stay's household and the other one
    assert kinds[2:] == [
        "user_created",
        "token_created",
        "key_destroyed",
        "erasure",
        "month_sealed",
    ]
    assert [e.sequence for e in entries] == list(range(1, len(entries) + 1))
    stored = json.dumps([e.fields() for e in entries])
    for secret in (token, ledger.token_digest(token), "Ada", "Mme X", "Famille"):
        assert secret not in stored
    erasure = entries[kinds.index("erasure")]
    assert erasure.detail == {"reason": "other"}
    assert erasure.subjects == {"household": str(january.household_id)}
    assert erasure.collectivite_id == str(january.site.collectivite_id)
    sealed = entries[-1]
    assert sealed.subjects == {"aire": str(january.site.aire_id)}
    assert sealed.detail["month"] == "2025-01"
    assert ledger.journal.verify().ok


def test_an_entry_about_a_change_commits_with_it_or_not_at_all(ledger: Ledger) -> None:
    """The user's events and their entries are one transaction: a save that fails after
    the entries were appended leaves neither; a refused command appends nothing."""
    real = ledger.journal.append

    def append_then_fail(cursor: Any, pending: Any) -> Any:
        real(cursor, pending)
        raise RuntimeError("the database went away")

    ledger.journal.append = append_then_fail  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        ledger.create_user(name="a", role=Role.ADMIN, actor="cli", token="t-1")
    ledger.journal.append = real  # type: ignore[method-assign]
    assert ledger.journal.entries() == []
    assert ledger.last_position() == 0
    ledger.create_user(name="a", role=Role.ADMIN, actor="cli", token="t-1")
    with pytest.raises(AlreadyExists):
        ledger.create_user(name="b", role=Role.ADMIN, actor="cli", token="t-1")
    assert [e.kind for e in ledger.journal.entries()] == ["user_created", "token_created"]


def test_refused_logins_are_coalesced_without_the_token(ledger: Ledger, clock: Clock) -> None:
    """A thousand unknown tokens in a minute write one entry (the first), the next minute's
    first refusal writes the counts since; what is left is written when the ledger closes.
    No token is stored."""
    from hacienda_ledger.aggregates.errors import Unauthenticated

    for k in range(1000):
        with pytest.raises(Unauthenticated):
            ledger.access.authenticate(f"guess-{k}")
    assert [e.detail["refusals"] for e in ledger.journal.entries()] == [1]
    clock.advance(seconds=61)
    ledger.journalling.refused_login("no_token")
    ledger.journalling.refused_login("no_token")
    entries = ledger.journal.entries()
    assert [(e.kind, e.detail["refusals"]) for e in entries] == [
        ("login_refused", 1),
        ("login_refused", 1000),
    ]
    assert entries[1].detail["unknown_token"] == 999 and entries[1].detail["no_token"] == 1
    ledger.journalling.flush()
    assert ledger.journal.entries()[-1].detail == {
        "refusals": 1,
        "since": clock().isoformat(),
        "no_token": 1,
    }
    assert "guess" not in json.dumps([e.fields() for e in ledger.journal.entries()])


def test_rebuild_is_recorded(
    ledger: Ledger, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """``hacienda-ledger rebuild`` (and ``--check``) leave an entry naming the projections
    and the position reached."""
    Site(ledger)
    end = ledger.last_position()
    assert main(["--database-url", settings.database_url, "rebuild", "occupancy"]) == 0
    # only occupancy was ever followed here: the others would be "not checked" (exit 1)
    assert main(["--database-url", settings.database_url, "rebuild", "occupancy", "--check"]) == 0
    capsys.readouterr()
    rebuilds = ledger.journal.entries(kinds=["rebuild"])
    first = rebuilds[0]
    assert (first.actor, first.detail["projections"], first.detail["check"]) == (
        "cli",
        ["occupancy"],
        False,
    )
    assert rebuilds[1].detail["check"] is True and rebuilds[1].detail["differences"] == 0
    assert {e.detail["position"] for e in rebuilds} == {end}


def test_serve_records_its_start(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``hacienda-ledger serve`` records its start before it serves (the server itself is
    not run here: the app is not built and uvicorn's ``run`` is replaced)."""
    import uvicorn

    import hacienda_ledger.api.app

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)
    monkeypatch.setattr(hacienda_ledger.api.app, "create_app", lambda settings: None)
    monkeypatch.setattr(hacienda_ledger.api.app, "tune_gc", lambda settings: None)
    url = settings.database_url
    assert main(["--database-url", url, "serve", "--projections", "thread"]) == 0
    capsys.readouterr()
    ledger = Ledger(settings)
    try:
        (entry,) = ledger.journal.entries()
    finally:
        ledger.close()
    assert (entry.kind, entry.actor) == ("server_started", "system")
    assert entry.detail == {"workers": 1, "projections": "thread", "postgres": settings.is_postgres}


# --- linear under concurrency ---------------------------------------------------------------


def _append_from_process(url: str, n: int, ready: Any) -> None:
    """In another process: a ledger of its own appending ``n`` entries and saving users."""
    ledger = Ledger(Settings(database_url=url, create_tables=False))
    try:
        ready.wait()
        for k in range(n):
            if k % 5 == 0:
                ledger.create_user(name=f"u{k}", role=Role.ADMIN, actor="p")
            else:
                ledger.journal.record(Kind.EXPORT, actor="p", detail={"k": k})
    finally:
        ledger.close()


def test_appenders_in_several_processes_and_threads_keep_one_linear_chain(
    ledger: Ledger, settings: Settings
) -> None:
    """Three processes and three threads append at once, entries on their own and with the
    events of a save: every entry is there, numbered 1..N with no gap and no fork, and the
    chain is intact."""
    spawn = multiprocessing.get_context("spawn")
    ready = spawn.Event()
    processes = [
        spawn.Process(target=_append_from_process, args=(settings.database_url, 20, ready))
        for _ in range(3)
    ]
    for process in processes:
        process.start()
    errors: list[BaseException] = []

    def thread_appends() -> None:
        try:
            ready.wait()
            for k in range(20):
                if k % 4 == 0:
                    ledger.create_user(name=f"t{k}", role=Role.ADMIN, actor="t")
                else:
                    ledger.journal.record(Kind.DOWNLOAD, actor="t", detail={"k": k})
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=thread_appends) for _ in range(3)]
    for thread in threads:
        thread.start()
    ready.set()
    for thread in threads:
        thread.join()
    for process in processes:
        process.join(timeout=300)
    assert errors == []
    assert [p.exitcode for p in processes] == [0, 0, 0]
    entries = ledger.journal.entries()
    # each process: 4 users (2 entries each) + 16 records; each thread: 5 users + 15 records
    assert len(entries) == 3 * (4 * 2 + 16) + 3 * (5 * 2 + 15)
    assert [e.sequence for e in entries] == list(range(1, len(entries) + 1))
    assert [e.prev_hash for e in entries] == [GENESIS, *(e.hash for e in entries[:-1])]
    assert ledger.journal.verify().ok


# --- tampering caught -----------------------------------------------------------------------


@pytest.fixture
def sealed(january: January) -> Iterator[January]:
    """January sealed with three reads logged before it (the seal anchors both heads), and
    more entries and reads after it."""
    ledger = january.ledger
    outcome, _ = ledger.create_user(name="a", role=Role.ADMIN, actor="cli")
    reader = ledger.user(outcome.aggregate_id)
    for _ in range(3):
        ledger.households.record_reads(reader, [january.household_id], "GET /v1/households")
    january.seal_january()
    reads(ledger, january.household_id, 2)
    ledger.journal.record(Kind.REBUILD, actor="cli", detail={"position": 1})
    yield january


def test_verify_says_both_chains_are_intact(
    sealed: January, capsys: pytest.CaptureFixture[str]
) -> None:
    """``verify`` prints each chain's entries and exit 0."""
    ledger = sealed.ledger
    code, out = verify(ledger.settings, capsys)
    n = len(ledger.journal.entries())
    assert f"technical journal: {n} entries, intact" in out
    assert "access log: 5 entries, intact" in out
    assert code == 0


LAST = 0  # the last entry


@pytest.mark.parametrize(
    ("tamper", "first", "kind"),
    [
        (
            "UPDATE technical_journal SET detail = '{\"position\":2}' WHERE kind = 'rebuild'",
            LAST,
            "hash_mismatch",
        ),
        ("DELETE FROM technical_journal WHERE sequence = 3", 4, "version_gap"),
        ("UPDATE technical_journal SET actor = 'someone' WHERE sequence = 2", 2, "hash_mismatch"),
    ],
    ids=["detail edited", "middle row deleted", "actor edited"],
)
def test_a_tampered_journal_is_named_at_its_first_broken_entry(
    sealed: January, capsys: pytest.CaptureFixture[str], tamper: str, first: int, kind: str
) -> None:
    """An entry edited or deleted in the database: ``verify`` names the first broken
    entry and what broke, and exits 1."""
    ledger = sealed.ledger
    first = first or len(ledger.journal.entries())
    execute(ledger.settings, tamper)
    assert f"entries, BROKEN at entry {first}: {kind}" in broken(ledger.settings, capsys)


def test_the_journal_cut_before_a_seal_is_caught_against_the_seal(
    sealed: January, capsys: pytest.CaptureFixture[str]
) -> None:
    """The tail cut back to before the seal: the remaining chain is intact, but the seal
    recorded a later head, so the seal's check names it ``truncated``; exit 1."""
    ledger = sealed.ledger
    (seal,) = ledger.audit.seal_events(sealed.site.aire_id)
    head = next(h for h in seal.heads if h.kind == "journal")
    execute(ledger.settings, "DELETE FROM technical_journal WHERE sequence >= ?", (head.version,))
    assert ledger.journal.verify().ok  # alone, a shorter chain looks whole
    findings = ledger.audit.verify_seals(sealed.site.aire_id)
    assert [(f.kind, f.aggregate_id) for f in findings] == [("truncated", head.aggregate_id)]
    assert f"no longer holds entry {head.version}" in broken(ledger.settings, capsys)


def test_the_access_log_tampered_is_caught(
    sealed: January, capsys: pytest.CaptureFixture[str]
) -> None:
    """An access-log row edited, then one deleted in the middle, then the tail cut before
    the seal's head: each is caught."""
    ledger = sealed.ledger
    settings = ledger.settings
    execute(settings, "UPDATE household_access_log SET role = 'manager' WHERE seq = 2")
    out = broken(settings, capsys)
    assert "access log: 5 entries, BROKEN at entry 2: hash_mismatch" in out
    execute(settings, "UPDATE household_access_log SET role = 'admin' WHERE seq = 2")
    execute(settings, "DELETE FROM household_access_log WHERE seq = 3")
    assert "access log: 4 entries, BROKEN at entry 4: version_gap" in broken(settings, capsys)
    execute(settings, "DELETE FROM household_access_log WHERE seq >= 2")
    (seal,) = ledger.audit.seal_events(sealed.site.aire_id)
    head = next(h for h in seal.heads if h.kind == "access_log")
    assert head.version == 3
    out = broken(settings, capsys)
    assert "access log: 1 entries, intact" in out
    assert "the access log no longer holds entry 3, which the seal recorded" in out


# --- the access log: rows from before the chain, retention ----------------------------------


def _old_rows(settings: Settings, household_id: UUID, n: int) -> None:
    """Rows as the access log held them before it was chained (no seq, no hashes)."""
    for k in range(n):
        at = datetime(2024, 1, 1 + k, tzinfo=UTC).isoformat()
        execute(
            settings,
            "INSERT INTO household_access_log (household_id, at, user_id, role, endpoint) "
            "VALUES (?, ?, ?, ?, ?)",
            (str(household_id), at, "old", "manager", "GET /v1/households/{household_id}"),
        )


def test_rows_from_before_the_chain_are_held_by_the_first_chained_row(
    ledger: Ledger, settings: Settings
) -> None:
    """Three rows from before the chain, then new reads: the first chained row's
    ``prev_hash`` is the old rows' content linked from GENESIS, so editing an old row is
    caught there (docs/integrity.md)."""
    household_id = uuid4()
    _old_rows(settings, household_id, 3)
    reads(ledger, household_id, 2)
    link = GENESIS
    for row in ledger.access_log.sql.rows("SELECT * FROM household_access_log ORDER BY id")[:3]:
        content = {k: row[k] for k in ("household_id", "at", "user_id", "role", "endpoint")}
        link = event_hash(ACCESS_TOPIC, dict(content, id=int(row["id"]), prev_hash=link))
    first = ledger.access_log.sql.rows("SELECT * FROM household_access_log WHERE seq = 1")[0]
    assert first["prev_hash"] == link
    rows, report = ledger.access_log.verify()
    assert (rows, report.ok, report.events) == (5, True, 2)
    execute(settings, "UPDATE household_access_log SET user_id = 'x' WHERE user_id = 'old'")
    rows, report = ledger.access_log.verify()
    assert [(p.version, p.kind) for p in report.problems] == [(1, "broken_link")]


def test_retention_deletes_a_prefix_and_anchors_the_new_start_in_the_journal(
    ledger: Ledger, settings: Settings, clock: Clock
) -> None:
    """Old rows, chained rows, then a purge: the rows before the cut are gone, the journal
    records the link at the last one deleted, and the rest still verifies; new reads
    continue the chain."""
    household_id = uuid4()
    _old_rows(settings, household_id, 2)
    reads(ledger, household_id, 2)  # 2025-01-06
    clock.advance(days=400)
    reads(ledger, household_id, 1)
    cut = clock() - timedelta(days=1)
    assert ledger.access_log.due(cut) == 4
    assert ledger.access_log.purge(cut, actor="retention") == 4
    (purge,) = ledger.journal.entries(kinds=["access_log_purged"])
    assert (purge.actor, purge.detail["rows"], purge.detail["through_seq"]) == ("retention", 4, 2)
    rows, report = ledger.access_log.verify()
    assert (rows, report.ok) == (1, True)
    reads(ledger, household_id, 1)
    rows, report = ledger.access_log.verify()
    assert (rows, report.ok, report.events) == (2, True, 4)
    assert ledger.access_log.purge(cut) == 0


def test_verify_names_an_entry_whose_columns_no_longer_parse(
    ledger: Ledger, settings: Settings
) -> None:
    """A detail that is not JSON any more is a finding (``undecodable``), not a crash."""
    ledger.journal.record(Kind.EXPORT, detail={"rows": 3})
    execute(settings, "UPDATE technical_journal SET detail = 'rows=3'")
    report = ledger.journal.verify()
    assert [(p.version, p.kind) for p in report.problems] == [(1, "undecodable")]
