"""The command line: verify every register's chain, create users."""

from __future__ import annotations

import sqlite3

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
        with sqlite3.connect(ledger.settings.sqlite_path) as conn:
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
        user = fresh.authenticate(token)
        assert (user.role.value, user.aire_ids) == ("cashier", (site.aire_id,))
    finally:
        fresh.close()
    assert main(["--database-url", url, "users", "create", "--name", "X", "--role", "auditor"]) == 1
    assert "an auditor audits one collectivité" in capsys.readouterr().err
