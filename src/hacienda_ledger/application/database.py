"""Is the database the settings name there? Asked before anything opens it.

Opening a ledger creates what is missing: an SQLite file (and its folder), the tables. A
command that only reads or maintains a ledger (verify, rebuild, reports, seal...) must not:
on a mistyped path it would create an empty database and report on it as if it were the
real one ("0 registers verified, 0 broken" looks like a passing audit). ``check`` answers
first, without creating anything, and says what is wrong in one line.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import psycopg

from hacienda_ledger.settings import Settings

EVENTS_TABLE = {"sqlite": "stored_events", "postgres": "ledger_events"}
"""The library's events table on each backend (the Ledger's recorder names it so)."""

CONNECT_TIMEOUT = 5  # seconds to reach a PostgreSQL server before saying it cannot be reached


class DatabaseUnavailable(RuntimeError):
    """The database is not there, not a ledger, or cannot be reached: the message says
    which, where, and what to do."""


class DatabaseUnreachable(DatabaseUnavailable):
    """The PostgreSQL server did not answer (or refused the connection): a database that
    may well exist, and may answer later."""


def check(settings: Settings, *, create: bool = False) -> None:
    """Raise ``DatabaseUnavailable`` unless the ledger the settings name can be opened.

    ``create=False`` (reading or maintaining a ledger): the database must exist and hold
    the events table. ``create=True`` (``serve``, ``demo``): an SQLite file may be new,
    but its folder must exist — except the default's (``var/``), which is created —, and a
    PostgreSQL database must exist (creating one is the server administrator's)."""
    if settings.is_postgres:
        _check_postgres(settings, create=create)
    else:
        _check_sqlite(settings, create=create)


FIRST_DELAY, LONGEST_DELAY = 0.5, 30.0  # seconds between two attempts to reach the server


def reach(
    settings: Settings,
    say: Callable[[str], None],
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """``check(settings, create=True)`` for ``serve``, tried again while the PostgreSQL
    server does not answer: backoff from ``FIRST_DELAY`` doubling to ``LONGEST_DELAY``, one
    line said per failed attempt, for ``start_wait_seconds`` at most (0: as long as it
    takes), after which ``DatabaseUnreachable`` says how long it tried. Anything else wrong
    (a database that does not exist) is raised at once. Returns the attempts made."""
    limit = settings.start_wait_seconds
    started, delay, attempt = clock(), FIRST_DELAY, 1
    while True:
        try:
            check(settings, create=True)
            return attempt
        except DatabaseUnreachable as exc:
            waited = clock() - started
            if limit and waited + delay > limit:
                raise DatabaseUnreachable(
                    f"{exc}; gave up after {attempt} attempts in {waited:.0f} s "
                    f"(HACIENDA_START_WAIT_SECONDS={limit:g})"
                ) from None
            say(f"attempt {attempt}: {exc}; trying again in {delay:g} s")
        sleep(delay)
        delay, attempt = min(delay * 2, LONGEST_DELAY), attempt + 1


def _check_sqlite(settings: Settings, *, create: bool) -> None:
    path = settings.sqlite_path
    if str(path) == ":memory:":
        return
    where = path.resolve()
    relative = (
        f" ({settings.database_url} is relative to the current folder {Path.cwd()})"
        if not path.is_absolute()
        else ""
    )
    if create:
        default = Settings.model_fields["database_url"].default
        if not path.parent.is_dir() and settings.database_url != default:
            raise DatabaseUnavailable(
                f"the folder {where.parent} does not exist{relative}: create it "
                f"(mkdir -p {where.parent}) or correct the database URL"
            )
        return
    if not path.is_file():
        raise DatabaseUnavailable(
            f"no database at {where}{relative}: correct --database-url (or "
            "HACIENDA_DATABASE_URL); only `serve` and `demo` create a database"
        )
    try:
        uri = f"{where.as_uri()}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True)) as conn:
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                (EVENTS_TABLE["sqlite"],),
            ).fetchone()
    except sqlite3.DatabaseError as exc:
        raise DatabaseUnavailable(f"{where} is not an SQLite database ({exc})") from None
    if found is None:
        raise DatabaseUnavailable(
            f"{where} holds no ledger (no table {EVENTS_TABLE['sqlite']}): correct "
            "--database-url (or HACIENDA_DATABASE_URL)"
        )


def _check_postgres(settings: Settings, *, create: bool) -> None:
    env = settings.eventsourcing_env()
    name, host, port = env["POSTGRES_DBNAME"], env["POSTGRES_HOST"], env["POSTGRES_PORT"]
    where = f"database {name} on {host}:{port}"
    try:
        conn = psycopg.connect(settings.postgres_conninfo, connect_timeout=CONNECT_TIMEOUT)
    except psycopg.OperationalError as exc:
        reason = _reason(exc)
        if "does not exist" in reason:
            raise DatabaseUnavailable(
                f"PostgreSQL {where} does not exist: create it (createdb -h {host} -p {port} "
                f"-U {env['POSTGRES_USER']} {name}) or correct the database URL"
            ) from None
        raise DatabaseUnreachable(
            f"cannot reach PostgreSQL {where}: {reason} (is the server running, and the "
            "URL's host, port, user and password right?)"
        ) from None
    if create:
        conn.close()
        return
    with conn:
        found = conn.execute(
            "SELECT to_regclass(%s) IS NOT NULL", (EVENTS_TABLE["postgres"],)
        ).fetchone()
    if not (found and found[0]):
        raise DatabaseUnavailable(
            f"PostgreSQL {where} holds no ledger (no table {EVENTS_TABLE['postgres']}): "
            "correct the database URL; only `serve` and `demo` create the tables"
        )


def _reason(exc: psycopg.OperationalError) -> str:
    """The server's or libpq's reason: its first line, without the connection preamble."""
    text = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    for marker in ("FATAL:", "failed:"):
        if marker in text:
            text = text.rsplit(marker, 1)[1].strip()
            break
    return text or type(exc).__name__
