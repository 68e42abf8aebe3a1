"""The command line's arguments: every command of ``hacienda-ledger`` and what it takes
(usage mistakes in one line on stderr, exit 2)."""

from __future__ import annotations

import argparse
from datetime import date
from typing import TYPE_CHECKING, NoReturn
from uuid import UUID

from hacienda_ledger import __version__


class _Parser(argparse.ArgumentParser):
    """A usage mistake in one line on stderr (exit 2), saying where to read more."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


if TYPE_CHECKING:
    _Commands = argparse._SubParsersAction[_Parser]


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return number


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day (YYYY-MM-DD)") from None


def uuid_argument(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an id (ids are UUIDs, such as 3fa85f64-5717-4562-b3fc-2c963f66afa6)"
        ) from None


def _group(sub: _Commands, name: str, help: str) -> _Commands:
    """A command made of subcommands (``hacienda-ledger NAME SUBCOMMAND``), one of which
    must be named."""
    group = sub.add_parser(name, help=help)
    return group.add_subparsers(dest=f"{name}_command", required=True)


def _aires(command: argparse.ArgumentParser) -> None:
    """``--aire``, repeated: the aires a command over all of them is confined to."""
    command.add_argument(
        "--aire", type=uuid_argument, action="append", help="one aire id (repeat; default: all)"
    )


def _jobs(command: argparse.ArgumentParser, what: str, default: str) -> None:
    """``--jobs N``: ``what`` the command does is shared between N processes."""
    command.add_argument(
        "--jobs", type=_positive, help=f"share {what} between this many processes ({default})"
    )


#: ``analytics export --level``: the levels of place, and the flows between them.
LEVEL_CHOICES = (
    "aire",
    "commune",
    "collectivite",
    "departement",
    "region",
    "france",
    "flows_departement",
    "flows_region",
)


def parser() -> argparse.ArgumentParser:
    """Every command and its arguments."""
    parser = _Parser(prog="hacienda-ledger", description="Ledger of aires d'accueil")
    parser.add_argument("--version", action="version", version=f"hacienda-ledger {__version__}")
    parser.add_argument("--database-url", help="overrides HACIENDA_DATABASE_URL")
    parser.add_argument(
        "--attestation-key", help="overrides HACIENDA_ATTESTATION_KEY (the signing key's file)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--projections",
        choices=["auto", "process", "thread"],
        default="auto",
        help="where the projections are followed: a process of their own beside the API "
        "(auto on PostgreSQL) or a thread of the API process (auto on SQLite, one writer)",
    )

    demo = sub.add_parser("demo", help="load the demo data (once) and print demo tokens")
    demo.add_argument("--no-journal", action="store_true", help="do not print a journal")
    demo_sub = demo.add_subparsers(dest="demo_command")
    generate = demo_sub.add_parser(
        "generate", help="generate a synthetic national operator (see docs/generator.md)"
    )
    generate.add_argument("--aires", type=int, required=True, help="number of aires (1-2000)")
    generate.add_argument("--years", type=int, required=True, help="years simulated (1-30)")
    generate.add_argument("--seed", type=int, required=True, help="same seed, same events")
    generate.add_argument("--start-year", type=int, default=2016, help="first year (2016)")
    generate.add_argument(
        "--no-bulk",
        action="store_true",
        help="one transaction per command, with locks and idempotency records (slow)",
    )

    verify = sub.add_parser(
        "verify", help="verify every chain (registers, aires, stays) and every seal"
    )
    verify.add_argument("--register", type=uuid_argument, help="one register id")
    verify.add_argument(
        "--attestations",
        metavar="DIR",
        help="also check the store against the seals' attestations kept in DIR",
    )
    _jobs(verify, "the registers", "default: one per core, at most 4")

    project = sub.add_parser("project", help="follow the stream into the projection tables")
    project.add_argument("--once", action="store_true", help="catch up, then stop")
    project.add_argument("--interval", type=float, default=0.5, help="seconds between polls")
    project.add_argument(
        "--parent", type=int, help="stop when process PARENT ends (serve starts it so)"
    )

    rebuild = sub.add_parser("rebuild", help="rebuild projections from position zero")
    rebuild.add_argument("name", nargs="?", help="one projection (default: all)")
    rebuild.add_argument(
        "--check",
        action="store_true",
        help="rebuild aside and list every difference with the live tables",
    )
    _jobs(
        rebuild,
        "the projections",
        "one core each; the bar follows this process's share; default: one per core, at "
        "most 4, on PostgreSQL; 1 on SQLite",
    )

    users_sub = _group(sub, "users", "manage users")
    create = users_sub.add_parser("create", help="create a user and print its token")
    create.add_argument("--name", required=True)
    create.add_argument(
        "--role",
        required=True,
        choices=["admin", "manager", "cashier", "regisseur", "auditor", "analyst"],
    )
    create.add_argument("--sector", action="append", help="a manager's sector (repeat)")
    create.add_argument(
        "--aire",
        type=uuid_argument,
        action="append",
        help="a cashier's or régisseur's aire id (repeat)",
    )
    create.add_argument(
        "--collectivite",
        type=uuid_argument,
        help="an auditor's collectivité id, or the one a manager's sectors are of",
    )

    tokens_sub = _group(sub, "tokens", "users' bearer tokens")
    listed = tokens_sub.add_parser("list", help="a user's tokens (never the token itself)")
    listed.add_argument("--user", required=True, help="the user id")
    tokens_sub.add_parser("revoke", help="refuse a token from now on").add_argument(
        "token", help="the token's id, as listed"
    )
    tokens_sub.add_parser(
        "rotate", help="a new token for its user (printed once); the old one after the grace"
    ).add_argument("token", help="the token's id, as listed")

    reports_sub = _group(sub, "reports", "build and store reports")
    generate = reports_sub.add_parser(
        "generate", help="every report due for a month (monthly) or a year (ALT2, DSP)"
    )
    generate.add_argument("--month", help="YYYY-MM: the monthly activity reports")
    generate.add_argument("--year", type=int, help="YYYY: ALT2 declarations and DSP reports")
    _aires(generate)
    generate.add_argument(
        "--force", action="store_true", help="store a new revision of reports already built"
    )
    documents_sub = _group(sub, "documents", "the aires' documents' stored bytes")
    documents_sub.add_parser(
        "sweep",
        help="delete the stored bytes no document names (refused uploads) older than "
        "HACIENDA_DOCUMENT_ORPHAN_GRACE_HOURS",
    )
    analytics_sub = _group(sub, "analytics", "the anonymised analytics tables (issue 19)")
    published = analytics_sub.add_parser(
        "publish",
        help="compute, suppress and store every analytics table as of a day (what reads "
        "serve); nothing new for a day, stream position and threshold stored already",
    )
    published.add_argument(
        "--as-of",
        type=_day,
        metavar="YYYY-MM-DD",
        help="the day, over (default: yesterday, Paris): the periods ended by then",
    )
    export = analytics_sub.add_parser(
        "export",
        help="write the tables of the latest stored publication, suppressed, one file each "
        "(published first if none is stored)",
    )
    export.add_argument(
        "--as-of",
        type=_day,
        metavar="YYYY-MM-DD",
        help="the latest publication as of this day (default: the latest)",
    )
    export.add_argument(
        "--level",
        choices=LEVEL_CHOICES,
        help="one level of place (default: every level and the flows)",
    )
    export.add_argument(
        "--period", choices=("week", "month", "season", "year"), help="default: every period"
    )
    export.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    export.add_argument("--output", default=".", help="the folder (default: the current one)")
    seal = sub.add_parser("seal", help="seal a month of every aire due (arrêté mensuel)")
    seal.add_argument("--month", required=True, help="YYYY-MM")
    _aires(seal)
    seal.add_argument(
        "--attestations", metavar="DIR", help="write each new seal's signed attestation there"
    )
    attest_sub = _group(sub, "attestations", "seals' signed attestations")
    attest_sub.add_parser("key", help="create the Ed25519 signing key (attestation_key)")
    export = attest_sub.add_parser("export", help="write every seal's attestation to a folder")
    export.add_argument("--dir", required=True, help="the folder (kept outside the database)")
    _aires(export)

    copy = sub.add_parser(
        "backup", help="a consistent copy of the ledger (and its key store), taken while it serves"
    )
    to = copy.add_mutually_exclusive_group(required=True)
    to.add_argument("--output", help="a new (or empty) folder for the copy and its manifest")
    to.add_argument("--check", metavar="DIR", help="check a backup folder against its manifest")

    households_sub = _group(sub, "households", "households' personal data")
    erase = households_sub.add_parser(
        "erase", help="destroy a household's key: its personal data reads as erased everywhere"
    )
    erase.add_argument("household", type=uuid_argument, help="the household id")
    erase.add_argument("--reason", default="request", help="recorded with the erasure")
    purge = households_sub.add_parser(
        "purge-due", help="erase the personal data that retention says is due"
    )
    purge.add_argument("--dry-run", action="store_true", help="list what is due, change nothing")
    replay = households_sub.add_parser(
        "replay-erasures",
        help="after restoring the key store from a backup: destroy again the keys of the "
        "households whose erasure the events record",
    )
    replay.add_argument("--dry-run", action="store_true", help="list them, change nothing")

    return parser
