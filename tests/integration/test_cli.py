"""The command line: verify every register's chain, create users."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import psycopg
import pytest

from hacienda_ledger.application import Ledger
from hacienda_ledger.cli import main
from tests.conftest import Site


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
    assert main(["--database-url", url, "users", "create", "--name", "X", "--role", "auditor"]) == 1
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
    assert main(["--database-url", url, "households", "erase", "not-a-uuid"]) == 1
    assert main(["--database-url", url, "households", "erase", str(site.aire_id)]) == 1
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
    malformed id is a plain error, exit 1, no traceback, nothing recorded."""
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
        assert main(["--database-url", url, "tokens", "revoke", wrong]) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and "Traceback" not in err
    assert "token_not_found" in main_error(url, "rotate", str(ApiToken.id_for("x")), capsys)
    assert ledger.last_position() == before


def main_error(url: str, command: str, token: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["--database-url", url, "tokens", command, token]) == 1
    return capsys.readouterr().err
