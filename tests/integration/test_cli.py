"""The command line: verify every register's chain, create users; answer mistakes plainly
(one line on stderr, exit 2, no traceback) and never create a database it was only to read."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from hacienda_ledger import __version__
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.database import EVENTS_TABLE
from hacienda_ledger.application.projecting import projection_database
from hacienda_ledger.cli import main
from tests.conftest import POSTGRES_URL, Site, _admin_url
from tests.live_server import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_verify_exits_zero_when_intact_and_one_naming_the_break(
    ledger: Ledger, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    """`hacienda-ledger verify` checks every register; a tampered row makes it exit 1 and
    name the event and the kind of break."""
    for amount in (500, 700, 900):
        ledger.post_receipt(
            site.register_id, stay_id=None, method="cash", lines=[("other", amount)], actor="c"
        )
    url = ledger.settings.database_url
    assert main(["--database-url", url, "verify"]) == 0
    assert "1 registers verified, 0 broken" in capsys.readouterr().out

    if ledger.settings.is_postgres:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "UPDATE ledger_events SET state = convert_to(replace(convert_from(state, "
                "'UTF8'), '700', '701'), 'UTF8') WHERE originator_id = %s AND "
                "originator_version = 3",
                (site.register_id,),
            )
    else:
        with closing(sqlite3.connect(ledger.settings.sqlite_path)) as conn, conn:
            state = conn.execute(
                "SELECT state FROM stored_events WHERE originator_id = ? AND "
                "originator_version = 3",
                (site.register_id.hex,),
            ).fetchone()[0]
            conn.execute(
                "UPDATE stored_events SET state = ? WHERE originator_id = ? AND "
                "originator_version = 3",
                (bytes(state).replace(b"700", b"701"), site.register_id.hex),
            )
    assert main(["--database-url", url, "verify"]) == 1
    out = capsys.readouterr().out
    assert "BROKEN" in out
    assert "event 3: hash_mismatch" in out
    assert "1 registers verified, 1 broken" in out


def test_users_create_prints_a_token_that_authenticates(
    ledger: Ledger, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    """`hacienda-ledger users create` makes a user of the given role and scope."""
    url = ledger.settings.database_url
    assert (
        main(
            [
                "--database-url",
                url,
                "users",
                "create",
                "--name",
                "Camille",
                "--role",
                "cashier",
                "--aire",
                str(site.aire_id),
            ]
        )
        == 0
    )
    token = capsys.readouterr().out.split("token: ")[1].split()[0]
    fresh = Ledger(ledger.settings)
    try:
        user = fresh.access.authenticate(token)
        assert (user.role.value, user.aire_ids) == ("cashier", (site.aire_id,))
    finally:
        fresh.close()
    assert main(["--database-url", url, "users", "create", "--name", "X", "--role", "auditor"]) == 2
    assert "an auditor audits one collectivité" in capsys.readouterr().err


def test_households_erase_and_purge_due(
    ledger: Ledger, site: Site, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`households erase ID` destroys a household's key; `households purge-due --dry-run`
    lists what retention says is due and changes nothing; without it, erases it."""
    url = ledger.settings.database_url
    asked = site.household("Famille Demande")
    old = site.household("Famille Ancienne")
    assert main(["--database-url", url, "households", "erase", str(asked)]) == 0
    assert "personal data erased" in capsys.readouterr().out
    assert main(["--database-url", url, "households", "erase", str(asked)]) == 0
    assert "was already erased" in capsys.readouterr().out
    with pytest.raises(SystemExit) as refused:
        main(["--database-url", url, "households", "erase", "not-a-uuid"])
    assert refused.value.code == 2
    assert "'not-a-uuid' is not an id" in capsys.readouterr().err
    assert main(["--database-url", url, "households", "erase", str(site.aire_id)]) == 2
    assert "household_not_found" in capsys.readouterr().err

    # with no years to keep, every household without an open stay is due today
    monkeypatch.setenv("HACIENDA_RETENTION_PERSONAL_DATA_YEARS", "0")
    args = ["--database-url", url, "households", "purge-due"]
    assert main([*args, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "personal data: 1 household(s) due" in out and str(old) in out
    assert "financial records: kept" in out
    assert not ledger.household(old).erased
    assert main(args) == 0
    assert "personal data: 1 household(s) erased" in capsys.readouterr().out
    assert ledger.household(old).erased


def test_jobs_default_to_one_process_per_core_except_a_rebuild_on_sqlite() -> None:
    """Unless told, ``verify`` and ``rebuild`` share their work between one process per
    usable core (at most four: each holds a pool of connections); a rebuild on SQLite (one
    writer) stays in one."""
    import os

    from hacienda_ledger.application.forked import (
        DEFAULT_JOBS_MAX,
        can_fork,
        default_jobs,
        usable_cores,
    )

    assert len(os.sched_getaffinity(0)) == usable_cores()
    assert default_jobs(one_writer=True) == 1
    expected = min(usable_cores(), DEFAULT_JOBS_MAX) if can_fork() else 1
    assert expected == default_jobs(one_writer=False)


@pytest.mark.parametrize("command", ["verify", "rebuild"])
def test_jobs_must_be_a_positive_number(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``--jobs 0`` (or less) is refused before anything is opened."""
    with pytest.raises(SystemExit) as refused:
        main([command, "--jobs", "0"])
    assert refused.value.code == 2
    assert "0 is not a positive number" in capsys.readouterr().err


def test_tokens_list_revoke_and_rotate(
    ledger: Ledger, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    """`hacienda-ledger tokens`: a user's tokens listed (never the token), one rotated (the
    new token printed once, the old one refused after the grace), one revoked; an unknown or
    malformed id is a plain error, exit 2, no traceback, nothing recorded."""
    from hacienda_ledger.aggregates.user import ApiToken

    url = ledger.settings.database_url
    create = ["--database-url", url, "users", "create", "--name", "Camille", "--role", "analyst"]
    assert main(create) == 0  # on the wall clock, as the commands below
    printed = capsys.readouterr().out
    user, secret = printed.split()[1], printed.split("token: ")[1].split()[0]
    old = str(ApiToken.id_for(ledger.token_digest(secret)))
    assert main(["--database-url", url, "tokens", "list", "--user", user]) == 0
    listed = capsys.readouterr().out
    assert listed.startswith(f"{old}  active ") and "last used never" in listed
    assert secret not in listed and ledger.token_digest(secret) not in listed
    assert main(["--database-url", url, "tokens", "rotate", old]) == 0
    new_secret = capsys.readouterr().out.split("token: ")[1].split()[0]
    assert str(ledger.access.authenticate(new_secret).id) == user
    new = str(ApiToken.id_for(ledger.token_digest(new_secret)))
    assert main(["--database-url", url, "tokens", "revoke", new]) == 0
    assert f"token {new} revoked at " in capsys.readouterr().out
    before = ledger.last_position()
    for wrong in (str(ApiToken.id_for("nobody")), "not-an-id"):
        assert main(["--database-url", url, "tokens", "revoke", wrong]) == 2
        err = capsys.readouterr().err
        assert err.startswith("hacienda-ledger tokens: error: ") and "Traceback" not in err
    assert "token_not_found" in main_error(url, "rotate", str(ApiToken.id_for("x")), capsys)
    assert ledger.last_position() == before


def main_error(url: str, command: str, token: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["--database-url", url, "tokens", command, token]) == 2
    return capsys.readouterr().err


# --- mistakes answered plainly -------------------------------------------------------------


def answer(argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``hacienda-ledger argv`` through its entry function:
    a usage mistake ends argparse with ``SystemExit``, every other answer returns."""
    try:
        code = main(list(argv))
    except SystemExit as ended:
        code = ended.code if isinstance(ended.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_mistake(code: int, err: str, *said: str) -> None:
    """Exit 2, one line on stderr, no traceback, and it says what it must."""
    assert code == 2, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    for text in said:
        assert text in err, err


def test_version_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    """``hacienda-ledger --version`` prints the package's version and exits 0."""
    code, out, _ = answer(["--version"], capsys)
    assert (code, out.strip()) == (0, f"hacienda-ledger {__version__}")


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["verify", "--register", "nope"], "argument --register: 'nope' is not an id"),
        (
            ["reports", "generate", "--month", "2025-01", "--aire", "nope"],
            "argument --aire: 'nope' is not an id",
        ),
        (
            ["users", "create", "--name", "C", "--role", "cashier", "--aire", "nope"],
            "argument --aire: 'nope' is not an id",
        ),
        (["households", "erase", "nope"], "argument household: 'nope' is not an id"),
        (["seal", "--month", "2025-01", "--aire", "nope"], "argument --aire: 'nope' is not an id"),
        (["verify", "--jobs", "many"], "many is not a positive number"),
    ],
)
def test_a_malformed_argument_is_one_line_and_opens_nothing(
    args: list[str], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An id that is not a UUID (or a count that is not one) is refused before any database
    is opened: one line saying which argument and what it should be, exit 2, no file."""
    url = f"sqlite:///{tmp_path}/ledger.sqlite3"
    code, _, err = answer(["--database-url", url, *args], capsys)
    assert_one_line_mistake(code, err, said, "--help")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["verify", "demo", "serve"])
def test_an_unsupported_database_scheme_is_one_line(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--database-url mysql://…`` names the schemes the ledger speaks, and never shows the
    password it was given."""
    code, _, err = answer(["--database-url", "mysql://me:secret@db/ledger", command], capsys)
    assert_one_line_mistake(code, err, "unsupported scheme mysql", "sqlite:///", "postgresql://")
    assert "secret" not in err


def test_ordinary_mistakes_on_a_ledger_are_one_line(
    ledger: Ledger, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    """On a real ledger (both backends): an unknown register, an unknown projection, an
    unknown aire, a month that is none, an auditor without a collectivité: each is one
    line on stderr that says what is wrong, exit 2, and nothing is recorded."""
    url = ledger.settings.database_url
    before = ledger.last_position()
    unknown = str(uuid.uuid4())
    cases = [
        (["verify", "--register", unknown], ["register_not_found", unknown, "check the id"]),
        (["rebuild", "nosuch"], ["no projection 'nosuch'", "balances, cash_journal"]),
        (["rebuild", "nosuch", "--check"], ["no projection 'nosuch'"]),
        (
            ["reports", "generate", "--month", "2025-01", "--aire", unknown],
            ["aire_not_found", unknown],
        ),
        (["reports", "generate"], ["give --month YYYY-MM or --year YYYY"]),
        (["seal", "--month", "2025-13"], ["invalid_period", "YYYY-MM"]),
        (["users", "create", "--name", "A", "--role", "auditor"], ["an auditor audits one"]),
        (["households", "erase", unknown], ["household_not_found"]),
    ]
    for args, said in cases:
        code, _, err = answer(["--database-url", url, *args], capsys)
        assert_one_line_mistake(code, err, *said)
    assert ledger.last_position() == before


def _missing_postgres(server_url: str) -> str:
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/hacienda_missing_{uuid.uuid4().hex[:10]}"))


def _postgres_databases() -> set[str]:
    with psycopg.connect(_admin_url(POSTGRES_URL), autocommit=True) as conn:
        return {r[0] for r in conn.execute("SELECT datname FROM pg_database").fetchall()}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def missing_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database that does not exist: an SQLite file in a folder that does not exist, or a
    PostgreSQL database that the server does not hold."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/nowhere/ledger.sqlite3"
    return _missing_postgres(request.getfixturevalue("postgres_database"))


def refused_creating_nothing(
    args: list[str],
    missing_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    *sqlite_said: str,
) -> str:
    """Run ``args`` on the missing database: a one-line mistake (PostgreSQL: the database
    does not exist, and how to create it; SQLite: ``sqlite_said``), and no database, file or
    folder created. Returns what was printed on stdout."""
    postgres = missing_url.startswith("postgresql")
    before = _postgres_databases() if postgres else set()
    code, out, err = answer(["--database-url", missing_url, *args], capsys)
    if postgres:
        assert_one_line_mistake(code, err, "does not exist", "createdb")
        assert _postgres_databases() == before
    else:
        assert_one_line_mistake(code, err, *sqlite_said)
        assert list(tmp_path.iterdir()) == []
    return out


READERS = [
    ["verify"],
    ["verify", "--register", str(uuid.UUID(int=1))],
    ["rebuild"],
    ["rebuild", "--check"],
    ["project", "--once"],
    ["reports", "generate", "--month", "2025-01"],
    ["seal", "--month", "2025-01"],
    ["users", "create", "--name", "C", "--role", "admin"],
    ["households", "purge-due", "--dry-run"],
    ["attestations", "export", "--dir", "exported"],
]


@pytest.mark.parametrize("args", READERS, ids=[" ".join(a[:2]) for a in READERS])
def test_a_command_that_reads_refuses_a_database_that_is_not_there(
    args: list[str], missing_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``verify``, ``rebuild``, ``reports``, ``seal`` and every other command that reads or
    maintains a ledger refuse a database that does not exist, at once (PostgreSQL: no
    10 s wait), in one line that says where it looked and what to do: no file, folder or
    database is created (an empty one would verify as "0 broken", like a passing audit)."""
    started = time.monotonic()
    out = refused_creating_nothing(
        args, missing_url, tmp_path, capsys, "no database at", "ledger.sqlite3", "--database-url"
    )
    assert time.monotonic() - started < 3
    assert "verified" not in out


@pytest.mark.parametrize("command", [["demo"], ["serve"], ["demo", "generate"]])
def test_a_command_that_creates_a_database_refuses_a_missing_folder_or_postgres_database(
    command: list[str], missing_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``serve`` and ``demo`` (and ``demo generate``) are the commands that create a
    database: an SQLite file, in a folder that exists (a folder that does not is most likely
    a typo: it is not created), or the tables of a PostgreSQL database that exists (creating
    one is the server administrator's). Otherwise one line, exit 2, nothing created."""
    if command == ["demo", "generate"]:
        command = [*command, "--aires", "1", "--years", "1", "--seed", "1"]
    refused_creating_nothing(
        command, missing_url, tmp_path, capsys, "the folder", "nowhere does not exist", "mkdir -p"
    )


def test_a_file_that_holds_no_ledger_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty file, or a file that is not SQLite at all, is not taken for a ledger: it is
    left as it was (no tables are created in it)."""
    empty, text = tmp_path / "empty.sqlite3", tmp_path / "notes.sqlite3"
    empty.touch()
    text.write_text("not a database, only notes\n" * 10)
    code, _, err = answer(["--database-url", f"sqlite:///{empty}", "verify"], capsys)
    assert_one_line_mistake(code, err, f"{empty} holds no ledger", EVENTS_TABLE["sqlite"])
    assert empty.stat().st_size == 0
    code, _, err = answer(["--database-url", f"sqlite:///{text}", "verify"], capsys)
    assert_one_line_mistake(code, err, f"{text} is not an SQLite database")


@pytest.mark.postgres
def test_a_postgres_database_without_a_ledger_or_server_is_refused(
    postgres_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A PostgreSQL database that exists but holds no ledger is not one to verify (nothing
    is created in it); a server that does not answer is said so, at once, in one line."""
    empty = _missing_postgres(postgres_database)
    name = urlsplit(empty).path.lstrip("/")
    with psycopg.connect(_admin_url(POSTGRES_URL), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        code, _, err = answer(["--database-url", empty, "verify"], capsys)
        assert_one_line_mistake(code, err, "holds no ledger", EVENTS_TABLE["postgres"])
        with psycopg.connect(empty) as conn:
            tables = conn.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            ).fetchone()
        assert tables == (0,)
    finally:
        with psycopg.connect(_admin_url(POSTGRES_URL), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    closed = urlunsplit(urlsplit(empty)._replace(netloc="postgres@127.0.0.1:9"))
    started = time.monotonic()
    code, _, err = answer(["--database-url", closed, "verify"], capsys)
    assert time.monotonic() - started < 6
    assert_one_line_mistake(code, err, "cannot reach PostgreSQL", "127.0.0.1:9")


def test_the_events_table_names_are_the_recorders(ledger: Ledger) -> None:
    """The database check looks for the table the Ledger's recorder writes (both backends)."""
    backend = "postgres" if ledger.settings.is_postgres else "sqlite"
    assert EVENTS_TABLE[backend] == ledger.recorder.events_table_name  # type: ignore[attr-defined]


def test_verify_in_the_wrong_folder_creates_nothing_and_says_where_it_looked(
    tmp_path: Path,
) -> None:
    """The default database (``sqlite:///var/hacienda.sqlite3``) is relative to the current
    folder: ``hacienda-ledger verify`` run elsewhere used to create an empty database there
    and print "0 registers verified, 0 broken", exit 0. Now (a real process, the command as
    installed) it names the file it looked for and the folder it is relative to, exit 2,
    and creates nothing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HACIENDA_")}
    env["PYTHONPATH"] = str(ROOT / "src")
    done = subprocess.run(
        [sys.executable, "-m", "hacienda_ledger.cli", "verify"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env=env,
    )
    assert_one_line_mistake(
        done.returncode,
        done.stderr,
        f"no database at {tmp_path}/var/hacienda.sqlite3",
        f"relative to the current folder {tmp_path}",
    )
    assert "verified" not in done.stdout
    assert list(tmp_path.iterdir()) == []


def test_rebuild_check_says_what_it_could_not_check_and_lists_a_forged_row(
    ledger: Ledger, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    """``rebuild --check`` on a ledger whose projections were never followed has no live
    tables to compare: it says so for each, exit 1 (it used to say "0 differences" having
    compared nothing). Once followed, it finds none. A row forged into a live table where
    the stream writes one later (the live tables then cannot follow) is listed as a
    difference, with the fact that they cannot follow, exit 1: no IntegrityError."""
    url = ledger.settings.database_url
    for amount in (500, 700):
        ledger.post_receipt(
            site.register_id, stay_id=None, method="cash", lines=[("other", amount)], actor="c"
        )
    code, out, err = answer(["--database-url", url, "rebuild", "--check"], capsys)
    assert (code, err) == (1, "")
    for name in ("balances", "cash_journal", "occupancy", "revenue"):
        assert f"{name}: not checked: never followed in this database" in out
    assert "0 differences" not in out

    assert answer(["--database-url", url, "project", "--once"], capsys)[0] == 0
    code, out, _ = answer(["--database-url", url, "rebuild", "--check"], capsys)
    assert code == 0, out
    assert "balances: 0 differences with the live tables" in out

    followed = ledger.last_position()
    ledger.post_receipt(
        site.register_id, stay_id=None, method="card", lines=[("other", 900)], actor="c"
    )
    db = projection_database(ledger)
    forged = range(followed + 1, ledger.last_position() + 1)  # every key the stream writes next
    with db.transaction() as cur:
        cur.executemany(
            "INSERT INTO postings (position, seq, account, amount_cents, recorded_at, day) "
            f"VALUES ({', '.join([db.mark] * 6)})",
            [(p, 0, "forged", 1, "2025-01-06T08:00:00Z", "2025-01-06") for p in forged],
        )
    code, out, err = answer(["--database-url", url, "rebuild", "balances", "--check"], capsys)
    assert code == 1, out + err
    assert "Traceback" not in err and "IntegrityError" not in err
    assert f"balances: the live tables cannot follow the stream past position {followed}" in out
    assert "postings (" in out and "'account': 'forged'" in out and "rebuilt None" in out


def test_serve_says_what_retention_is_about_to_erase(ledger: Ledger, site: Site) -> None:
    """Issue 17: serving a generated operator erased 3,491 households' personal data 95 s
    after start, unannounced. Before it serves, ``serve`` says how many households its
    retention purge is about to erase, since when, how to list them and how to hold the
    purge; then the purge runs, as designed."""
    household = site.household("Famille Ancienne")  # recorded on 2025-01-06, never stayed
    site.household("Famille Récente")
    url = ledger.settings.database_url
    env = {
        **os.environ,
        "HACIENDA_DATABASE_URL": url,
        "HACIENDA_RETENTION_PERSONAL_DATA_YEARS": "1",  # due 2026-01-06, before today
        "HACIENDA_LOG_JSON": "true",
    }
    cmd = [sys.executable, "-m", "hacienda_ledger.cli", "serve", "--port", str(free_port())]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if line.startswith("hacienda-ledger serving"):
                break
        deadline = time.monotonic() + 30
        while ledger.household(household).erasure is None and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    said = [line for line in lines if line.startswith("retention:")]
    assert said == [
        "retention: the personal data of 2 households are due for erasure (no stay for 1 "
        "years, the oldest since 2025-01-06); this service erases them once it has started. "
        "List them: hacienda-ledger households purge-due --dry-run; hold the purge: "
        "HACIENDA_RUN_RETENTION=false"
    ], lines
    assert lines.index(said[0]) < len(lines) - 1  # said before the service serves
    assert ledger.household(household).erasure is not None
