"""schemathesis against a served app (real uvicorn, over a socket), on SQLite and on
PostgreSQL, with every check (``--checks all``) and every phase, the stateful one included:
the operations chained by the document's OpenAPI links (``api/openapi.py``, ``LINKS``), from
a collectivité to its aires, an aire to its registers, households and stays, a stay to its
balance, a receipt to its document. 0 failures.

As the admin (``-H Authorization``). The two token operations (revocation, rotation) run
apart, last, with a second admin's token: run with the first, they revoke the very token the
rest of the run is sent with, and everything after is 401 (see docs/api.md, "Schema
fuzzing"). The size of a run is ``HACIENDA_FUZZ_EXAMPLES`` examples per operation (5 by
default) and ``HACIENDA_FUZZ_STATEFUL`` examples of the stateful phase's scenarios (5, up
to 10 steps each): about two minutes per backend here; its seed ``HACIENDA_FUZZ_SEED``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from hacienda_ledger.application import Ledger
from hacienda_ledger.settings import Settings
from tests.conftest import POSTGRES_URL, REQUIRE_POSTGRES
from tests.live_server import live_server

pytestmark = pytest.mark.slow

ADMIN_TOKEN = "fuzz-served-admin-token"
TOKENS_ADMIN_TOKEN = "fuzz-served-tokens-admin-token"
EXAMPLES = int(os.environ.get("HACIENDA_FUZZ_EXAMPLES", "5"))
SEED = os.environ.get("HACIENDA_FUZZ_SEED", "16")
STATEFUL = int(os.environ.get("HACIENDA_FUZZ_STATEFUL", "5"))  # scenarios' examples
TOKENS = r"^/v1/tokens/"
TOKEN_FLOW = r"^/v1/(tokens/|users/me/tokens)"  # the tokens listed, then revoked or rotated


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An SQLite file, or a PostgreSQL database created for this test and dropped after."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/fuzz.sqlite3"
        return
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("HACIENDA_REQUIRE_POSTGRES=1 but HACIENDA_TEST_POSTGRES_URL is unset")
        pytest.skip("PostgreSQL tests need HACIENDA_TEST_POSTGRES_URL")
    name = f"hacienda_fuzz_{uuid.uuid4().hex[:10]}"
    parts = urlsplit(POSTGRES_URL)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _seed(url: str) -> None:
    """The first admin, and a second one whose token the token operations may revoke."""
    ledger = Ledger(Settings(database_url=url))
    try:
        ledger.access.bootstrap_admin(ADMIN_TOKEN)
        ledger.create_user(name="Fuzz tokens", role="admin", actor="seed", token=TOKENS_ADMIN_TOKEN)
    finally:
        ledger.close()


def schemathesis(base: str, token: str, report: Path, *options: str) -> tuple[int, str]:
    """``st run`` on the served document, every check and phase; (exit code, output)."""
    config = report.parent / f"{report.name}.toml"
    config.write_text(
        f"[phases.stateful]\nmax-steps = 10\n"
        f"[phases.stateful.generation]\nmax-examples = {STATEFUL}\n"
    )
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{base}/openapi.json",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        SEED,
        "--workers",
        "1",
        "--header",
        f"Authorization: Bearer {token}",
        "--generation-database",
        "none",
        "--report",
        "junit",
        "--report-dir",
        str(report),
        "--no-color",
        # Hypothesis's own health check, not a check of the API: the documents' multipart
        # forms (a file beside patterned fields) make it discard many drawn examples.
        "--suppress-health-check",
        "filter_too_much",
        *options,
    ]
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.schema_fuzz_hooks",  # integers sent as integers
        "PYTHONPATH": os.pathsep.join(
            [str(root), str(root / "src"), os.environ.get("PYTHONPATH", "")]
        ),
    }
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env=env,
        cwd=report.parent,
    )
    (report / "output.txt").write_text(done.stdout + done.stderr)  # the whole run, to read
    return done.returncode, done.stdout + done.stderr


def test_schemathesis_all_checks_and_the_stateful_phase_find_nothing(
    database: str, tmp_path: Path
) -> None:
    """Every operation, every check, every phase: 0 failures, no server error; the
    stateful phase follows the declared links (some covered, not only inferred ones)."""
    _seed(database)
    env = {
        "HACIENDA_DATABASE_URL": database,
        "HACIENDA_REPORTS_AUTO": "false",
        "HACIENDA_VERIFY_EVERY_HOURS": "0",
    }
    with live_server(env) as base:
        code, out = schemathesis(
            base, ADMIN_TOKEN, tmp_path / "main", "--exclude-path-regex", TOKENS
        )
        assert code == 0, out[-20000:]
        covered = re.search(r"API Links:\s+(\d+) covered / (\d+) selected", out)
        assert covered is not None, out[-5000:]
        assert int(covered.group(1)) > 0, out[-5000:]
        code, out = schemathesis(
            base, TOKENS_ADMIN_TOKEN, tmp_path / "tokens", "--include-path-regex", TOKEN_FLOW
        )
        assert code == 0, out[-20000:]
