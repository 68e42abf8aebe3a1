"""The one entry point: ``hacienda-ledger``: ``serve``, ``project``, ``demo`` (and ``demo
generate``), ``verify``, ``seal``, ``rebuild``, ``reports generate``, ``analytics export``,
``users create``, ``tokens``, ``households``, ``documents sweep``, ``attestations``,
``backup``. What each does and its options: the table in docs/operations.md, and
``hacienda-ledger COMMAND --help``.

The database is ``HACIENDA_DATABASE_URL`` (or ``--database-url``). Only ``serve`` and
``demo`` (``demo generate`` too) create one; every other command refuses a database that is
not there. Exit codes: 0 done; 1 done, and something was found wrong (a broken chain, a
difference, an aire not sealed); 2 not done: a mistake in what was given (an argument, an
id, the database), said in one line on stderr with what to do (docs/operations.md).

The arguments each command takes: ``cli/arguments.py``; ``python -m hacienda_ledger.cli``
runs it too (``cli/__main__.py``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from hacienda_ledger.cli.arguments import parser, uuid_argument
from hacienda_ledger.settings import Settings

if TYPE_CHECKING:
    from hacienda_ledger.application import Ledger
    from hacienda_ledger.projections.runner import Runner


class Mistake(Exception):
    """An ordinary mistake in what a command was given: one line on stderr, exit 2."""


def _settings(args: argparse.Namespace) -> Settings:
    """The settings, from the environment and the options; a wrong one is a ``Mistake``."""
    from pydantic import ValidationError

    given: dict[str, Any] = {}
    if args.database_url:
        given["database_url"] = args.database_url
    if args.attestation_key:
        given["attestation_key"] = args.attestation_key
    try:
        return Settings(**given)
    except ValidationError as exc:
        wrong = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise Mistake(f"{wrong} (the option, or its HACIENDA_* environment variable)") from None


def _checked(args: argparse.Namespace, *, create: bool = False) -> Settings:
    """The settings, once their database is known to be there (``create``: that it can be
    created): nothing is created before (application/database.py)."""
    from hacienda_ledger.application.database import check

    settings = _settings(args)
    check(settings, create=create)
    return settings


def _ledger(args: argparse.Namespace) -> Ledger:
    """The ledger of a database that is there (see ``_checked``)."""
    from hacienda_ledger.application import Ledger

    return Ledger(_checked(args))


def _ordinary(exc: Exception) -> str | None:
    """The one line that says what was wrong, when ``exc`` is an ordinary mistake (what was
    given, not a fault of the program); None otherwise."""
    from hacienda_ledger.aggregates.errors import LedgerError, NotFound
    from hacienda_ledger.application.database import DatabaseUnavailable

    if isinstance(exc, Mistake | DatabaseUnavailable):
        return str(exc)
    if isinstance(exc, NotFound):
        return f"{exc.code}: {exc.detail} (check the id)"
    if isinstance(exc, LedgerError):
        return f"{exc.code}: {exc.detail}"
    return None


def _announce_retention(ledger: Any) -> None:
    """Say, before the service starts, what its retention purge is about to erase (it runs
    at start): a database loaded from an old system or a generator may hold thousands of
    households whose personal data are due."""
    if not ledger.settings.run_retention:
        return
    report = ledger.households.purge_due(dry_run=True)
    if not report.due:
        return
    oldest = min(d.since for d in report.due)
    years = ledger.settings.retention_personal_data_years
    count = f"{len(report.due)} household{'s' if len(report.due) > 1 else ''}"
    print(
        f"retention: the personal data of {count} are due for erasure "
        f"(no stay for {years} years, the oldest since {oldest}); this service erases them "
        "once it has started. List them: hacienda-ledger households purge-due --dry-run; "
        "hold the purge: HACIENDA_RUN_RETENTION=false",
        flush=True,
    )


def _waiting(line: str) -> None:
    """``serve``'s one line per attempt to reach the database (application/database.py)."""
    print(f"hacienda-ledger serve: waiting for the database: {line}", file=sys.stderr, flush=True)


def _serve(args: argparse.Namespace) -> int:
    """The API; on PostgreSQL (``--projections auto``), the projections followed by a
    process of their own beside it (``hacienda-ledger project``): the API's writes then
    share no interpreter with the folds, and its reads catch the projections up themselves
    when they are behind (read-your-writes). On SQLite, one process writes: a thread."""
    import os

    import uvicorn

    from hacienda_ledger.application import Ledger
    from hacienda_ledger.application.database import reach
    from hacienda_ledger.application.journal import SYSTEM, Kind

    settings = _settings(args)
    reach(settings, _waiting)  # a server that does not answer yet may later: wait for it
    mode = args.projections
    if mode == "auto":
        mode = "process" if settings.is_postgres else "thread"
    separate = mode == "process" and settings.run_projections
    # Create the schema once (the other processes then start without creating it), and
    # record the start in the technical journal.
    ledger = Ledger(settings)
    try:
        detail = {"workers": args.workers, "projections": mode, "postgres": settings.is_postgres}
        ledger.journal.record(Kind.SERVER_STARTED, actor=SYSTEM, detail=detail)
        _announce_retention(ledger)
    finally:
        ledger.close()
    if args.workers > 1 or separate:
        settings = settings.model_copy(update={"create_tables": False})
        # Workers and the projector are separate processes: settings from the environment.
        os.environ["HACIENDA_DATABASE_URL"] = settings.database_url
        os.environ["HACIENDA_CREATE_TABLES"] = "false"
    metrics_dir = _multiprocess_metrics() if args.workers > 1 else None
    projector = None
    if separate:
        projector = _projector(settings)
        settings = settings.model_copy(
            update={"run_projections": False, "projector_expected": True}
        )
        os.environ["HACIENDA_RUN_PROJECTIONS"] = "false"
        os.environ["HACIENDA_PROJECTOR_EXPECTED"] = "true"
    try:
        target: Any = "hacienda_ledger.api.main:app"  # workers import it by name
        if args.workers == 1:
            from hacienda_ledger.api.app import create_app, tune_gc

            target = create_app(settings)
            tune_gc(settings)
            print(
                f"hacienda-ledger serving {settings.database_url} on "
                f"http://{args.host}:{args.port} (OpenAPI UI at /docs; projections followed "
                f"in {'their own process' if separate else 'a thread of this one'})",
                flush=True,
            )
        uvicorn.run(
            target,
            host=args.host,
            port=args.port,
            workers=args.workers,
            loop="uvloop",
            http="httptools",
            log_level="warning",
        )
        return 0
    finally:
        if projector is not None:
            projector.stop()
        if metrics_dir is not None:
            import shutil

            shutil.rmtree(metrics_dir, ignore_errors=True)


def _projector(settings: Settings) -> Any:
    """The projector (``hacienda-ledger project``) in a child process, started again with
    backoff whenever it dies, each death and start logged (``cli/supervise.py``)."""
    import os

    from hacienda_ledger.api import logs
    from hacienda_ledger.cli.supervise import Supervisor

    logs.configure(settings.log_json)
    command = [sys.executable, "-m", "hacienda_ledger.cli", "project", "--interval", "0.05"]
    supervisor = Supervisor([*command, "--parent", str(os.getpid())])
    supervisor.start()
    return supervisor


def _multiprocess_metrics() -> str | None:
    """Several workers: each counts in files of a folder that ``/metrics`` adds up
    (prometheus-client's multiprocess mode), a fresh one (returned, removed at the end)
    unless PROMETHEUS_MULTIPROC_DIR already names one (the operator's, kept)."""
    import os
    import tempfile

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return None
    made = tempfile.mkdtemp(prefix="hacienda-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
    return made


def _users_create(args: argparse.Namespace) -> int:
    ledger = _ledger(args)
    try:
        outcome, token = ledger.create_user(
            name=args.name,
            role=args.role,
            sectors=args.sector or [],
            aire_ids=args.aire or [],
            collectivite_id=args.collectivite,
            actor="cli",
        )
    finally:
        ledger.close()
    print(f"user {outcome.aggregate_id} ({args.role}) token: {token}")
    print("The token is shown once; only its hash is stored.")
    return 0


def _replay_erasures(ledger: Any, dry_run: bool) -> int:
    report = ledger.households.replay_erasures(dry_run=dry_run)
    verb = "to destroy again" if dry_run else "destroyed again"
    print(f"erasures replayed: {len(report.erased)} key(s) {verb}")
    for household_id in report.erased:
        print(f"  {household_id}")
    if report.missing:
        print(f"households without a key (registered after the backup): {len(report.missing)}")
        for household_id in report.missing:
            print(f"  {household_id}")
    return 0


def _tokens(args: argparse.Namespace) -> int:
    """A user's tokens listed (never a token nor its digest); one revoked or rotated by its
    id, as listed. An unknown or malformed id is an ordinary mistake (exit 2)."""
    ledger = _ledger(args)  # a database that is there (never created here)
    try:
        if args.tokens_command == "list":
            now = ledger.now()
            for t in ledger.tokens.of_user(_id(args.user)):
                used = t.last_used_at.isoformat() if t.last_used_at else "never"
                revoked = t.revoked_at.isoformat() if t.revoked_at else "-"
                print(
                    f"{t.id}  {t.status(now):7}  created {t.created_at.isoformat()}  "
                    f"expires {t.expires_at.isoformat()}  last used {used}  revoked {revoked}"
                )
        elif args.tokens_command == "revoke":
            outcome = ledger.revoke_token(token_id=_id(args.token), actor="cli")
            print(f"token {args.token} revoked at {outcome.result['revoked_at'].isoformat()}")
        else:
            outcome, secret = ledger.rotate_token(_id(args.token), actor="cli")
            until = outcome.result["replaced_from"].isoformat()
            print(f"token {outcome.aggregate_id} token: {secret}")
            print(f"The token is shown once; {args.token} is refused from {until}.")
    finally:
        ledger.close()
    return 0


def _id(text: str) -> UUID:
    """An id given to a command, or the ordinary mistake that says it is none."""
    try:
        return uuid_argument(text)
    except argparse.ArgumentTypeError as exc:
        raise Mistake(str(exc)) from None


def _households(args: argparse.Namespace) -> int:
    ledger = _ledger(args)
    try:
        if args.households_command == "replay-erasures":
            return _replay_erasures(ledger, args.dry_run)
        if args.households_command == "erase":
            outcome = ledger.erase_household(args.household, reason=args.reason, actor="cli")
            done = "erased" if outcome.result["key_destroyed"] else "was already erased"
            print(f"household {args.household}: personal data {done}")
            return 0
        report = ledger.households.purge_due(dry_run=args.dry_run, actor="cli")
        settings = ledger.settings
        verb = "due" if report.dry_run else "erased"
        print(
            f"personal data: {len(report.due)} household(s) {verb} "
            f"({settings.retention_personal_data_years} years after the last departure)"
        )
        for item in report.due:
            print(
                f"  {item.household_id}  {item.basis} {item.since.isoformat()}  "
                f"due {item.due_on.isoformat()}"
            )
        verb = "due for deletion" if report.dry_run else "deleted"
        print(
            f"access log: {report.access_log_entries} entr(ies) {verb} "
            f"(kept {settings.retention_access_log_years} years)"
        )
        print(
            f"financial records: kept (at least {settings.retention_financial_years} years; "
            "the ledger never deletes an event)"
        )
        return 0
    finally:
        ledger.close()


def _project(args: argparse.Namespace) -> int:
    from hacienda_ledger.application.projecting import followers
    from hacienda_ledger.application.projector import Failures, Heartbeat
    from hacienda_ledger.projections.runner import Runner

    ledger = _ledger(args)
    try:
        runner = Runner(followers(ledger), interval=args.interval)
        if args.once:
            runner.run_once()
            for name, position in runner.positions.items():
                print(f"{name}: position {position}")
            return 0
        if args.parent:
            _stop_with_parent(args.parent, runner)
        # alive, for /ready and /metrics of the API's processes (application/projector.py)
        heartbeat = Heartbeat(ledger, on_error=_said("heartbeat"))
        heartbeat.start()
        try:
            failures = Failures(ledger, runner, said=_said("projections"))  # for /ready
            runner.run(on_error=failures.failed, on_recovered=failures.recovered)
        finally:
            heartbeat.stop()
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        ledger.close()


def _said(what: str) -> Callable[[Exception], None]:
    """An error of the projector's, said on stderr (and the work goes on)."""
    return lambda exc: print(f"{what}: {exc!r}", file=sys.stderr)


def _stop_with_parent(parent: int, runner: Runner) -> None:
    """Stop ``runner`` once this process's parent is no longer ``parent`` (it ended: the
    process was handed to another). A server stopped by a signal may end without running
    its clean-up, so the projector it started watches for it."""
    import os
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        runner.stop()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


_T = TypeVar("_T")


def _bar(unit: str = "") -> Any:
    """A progress bar: what it does, a bar, done of total (and the unit), time elapsed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    columns: list[Any] = ["[progress.description]{task.description}", BarColumn()]
    columns += [MofNCompleteColumn(), *([unit] if unit else []), TimeElapsedColumn()]
    return Progress(*columns, transient=False)


def _along_stream(what: str, end: int, run: Callable[[Callable[[object], None]], _T]) -> _T:
    """``run(moved)`` under a bar of the stream's positions up to ``end``: ``moved`` is given
    each batch's progress (its ``position``); the bar is full once ``run`` returns."""
    with _bar() as bar:
        task = bar.add_task(what, total=end)

        def moved(progress: object) -> None:
            bar.update(task, completed=getattr(progress, "position", 0))

        result = run(moved)
        bar.update(task, completed=end)
    return result


def _rebuild(args: argparse.Namespace) -> int:
    from hacienda_ledger.application.forked import default_jobs
    from hacienda_ledger.application.projecting import all_projections, rebuild_all

    names = [p.name for p in all_projections()]
    if args.name and args.name not in names:
        raise Mistake(f"no projection {args.name!r}: name one of {', '.join(names)} (or none)")
    chosen = [args.name] if args.name else names
    ledger = _ledger(args)
    try:
        jobs = args.jobs or default_jobs(one_writer=not ledger.settings.is_postgres)
        if args.check:
            return _check(ledger, chosen, jobs)
        end = ledger.last_position()
        # every projection in one pass over the stream (each event decoded once)
        positions = _along_stream(
            f"rebuilding {', '.join(chosen)}",
            end,
            lambda moved: rebuild_all(ledger, chosen, moved, jobs=jobs),
        )
        for name, position in positions.items():
            print(f"{name}: rebuilt to position {position} and swapped in")
        _journal_rebuild(ledger, list(positions), end, check=False, differences=0)
        return 0
    finally:
        ledger.close()


def _check(ledger: Ledger, chosen: list[str], jobs: int) -> int:
    """``rebuild --check``: the projections rebuilt aside in one pass and compared with
    their live tables; one never followed in this database is said to be unchecked (there
    is nothing to compare). Exit 1 on any difference or unchecked one."""
    from hacienda_ledger.application.projecting import check_all, unfollowed

    absent = unfollowed(ledger, chosen)
    for name in absent:
        print(
            f"{name}: not checked: never followed in this database (no live tables to "
            "compare): `hacienda-ledger project --once` builds them"
        )
    end = ledger.last_position()
    present = [n for n in chosen if n not in absent]
    found: dict[str, list[str]] = {}
    if present:
        found = _along_stream(
            f"checking {', '.join(present)}",
            end,
            lambda moved: check_all(ledger, present, moved, jobs=jobs),
        )
    for name, lines in found.items():
        for line in lines:
            print(f"  {line}")
        print(f"{name}: {len(lines)} differences with the live tables")
    differences = sum(len(lines) for lines in found.values())
    _journal_rebuild(ledger, present, end, check=True, differences=differences)
    return 1 if differences or absent else 0


def _journal_rebuild(
    ledger: Any, projections: list[str], position: int, *, check: bool, differences: int
) -> None:
    """The rebuild (or check) in the technical journal: which projections, up to where."""
    from hacienda_ledger.application.journal import Kind

    detail = {"projections": projections, "position": position, "check": check}
    ledger.journal.record(Kind.REBUILD, actor="cli", detail=dict(detail, differences=differences))


def _reports(args: argparse.Namespace) -> int:
    from hacienda_ledger.reports.generate import Job, Reports
    from hacienda_ledger.reports.store import StoredReport

    if (args.month is None) == (args.year is None):
        raise Mistake("give --month YYYY-MM or --year YYYY (one of them)")
    ledger = _ledger(args)
    try:
        reports = Reports(ledger)
        aires = args.aire or None
        jobs = (
            reports.month_jobs(args.month, aires)
            if args.month
            else reports.year_jobs(args.year, aires)
        )
        stored = skipped = 0
        with _bar() as bar:
            task = bar.add_task(f"reports {args.month or args.year}", total=len(jobs))

            def done(job: Job, files: list[StoredReport]) -> None:
                nonlocal stored, skipped
                stored += len(files)
                skipped += not files
                bar.advance(task)

            reports.run(jobs, force=args.force, on_job=done)
        print(
            f"{len(jobs)} reports: {stored} files stored, {skipped} already there "
            f"(--force stores a new revision)"
        )
    finally:
        ledger.close()
    return 0


def _analytics(args: argparse.Namespace) -> int:
    """``analytics publish`` (a stored publication) or ``analytics export`` (its files)."""
    from hacienda_ledger.cli import analytics

    ledger = _ledger(args)
    try:
        if args.analytics_command == "publish":
            return analytics.publish(ledger, args.as_of)
        return analytics.export(ledger, args)
    finally:
        ledger.close()


def _documents(args: argparse.Namespace) -> int:
    """``documents sweep``: the bytes no document names, deleted after the grace."""
    from hacienda_ledger.cli.documents import sweep

    ledger = _ledger(args)
    try:
        return sweep(ledger)
    finally:
        ledger.close()


def _seal(args: argparse.Namespace) -> int:
    """Seal the month of every aire in service in it (or those named): one whose registers
    have not all closed it is listed with the reason, and the exit is 1; one sealed already
    is skipped."""
    from hacienda_ledger.aggregates.aire import Aire
    from hacienda_ledger.aggregates.errors import LedgerError
    from hacienda_ledger.aggregates.seal import service_start_month
    from hacienda_ledger.aggregates.values import month_bounds

    month_bounds(args.month)  # a month that is none is refused once, not once per aire
    ledger = _ledger(args)
    refused: list[str] = []
    sealed = already = 0
    try:
        every = ledger.ids_of(Aire.Registered)  # those in service in the month are due
        aires = args.aire or [a for a in every if service_start_month(ledger.aire(a)) <= args.month]
        with _bar() as bar:
            task = bar.add_task(f"sealing {args.month}", total=len(aires))
            for aire_id in aires:
                if any(e.month == args.month for e in ledger.audit.seal_events(aire_id)):
                    already += 1
                else:
                    try:
                        ledger.seal_month(aire_id, month=args.month, actor="cli")
                        sealed += 1
                        if args.attestations:
                            _write_attestation(ledger, aire_id, args.month, args.attestations)
                    except LedgerError as exc:
                        refused.append(f"{aire_id} {exc.code}: {exc.detail}")
                bar.advance(task)
    finally:
        ledger.close()
    for line in refused:
        print(f"refused: {line}", file=sys.stderr)
    print(f"{args.month}: {sealed} aires sealed, {already} sealed already, {len(refused)} refused")
    return 1 if refused else 0


def _write_attestation(ledger: Any, aire_id: UUID, month: str, directory: str) -> None:
    import json
    from pathlib import Path

    from hacienda_ledger.application.attestations import file_name

    document = ledger.audit.attestation(aire_id, month)
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    (target / file_name(document)).write_text(
        json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8"
    )


def _attestations(args: argparse.Namespace) -> int:
    """``key``: create the signing key; ``export``: every seal's attestation into a folder."""
    from hacienda_ledger.aggregates.aire import Aire
    from hacienda_ledger.application.attestations import create_key

    if args.attestations_command == "key":
        settings = _settings(args)
        created = create_key(settings.attestation_key)
        state = "created" if created else "already there (kept)"
        print(f"attestation key {settings.attestation_key}: {state}")
        return 0
    ledger = _ledger(args)
    written = 0
    try:
        aires = args.aire or list(ledger.ids_of(Aire.Registered))
        for aire_id in aires:
            for seal in ledger.audit.seal_events(aire_id):
                _write_attestation(ledger, aire_id, seal.month, args.dir)
                written += 1
    finally:
        ledger.close()
    print(f"{written} attestations written to {args.dir}")
    return 0


def _generate(args: argparse.Namespace) -> int:
    from hacienda_ledger.generator import generate

    settings = _checked(args, create=True)
    try:
        with _bar("days") as bar:
            task = bar.add_task("generating", total=None)

            def advance(done: int, total: int, events: int) -> None:
                bar.update(task, completed=done, total=total, description=f"{events:,} events")

            summary = generate(
                settings,
                aires=args.aires,
                years=args.years,
                seed=args.seed,
                start_year=args.start_year,
                bulk=not args.no_bulk,
                progress=advance,
            )
    except ValueError as exc:
        if _ordinary(exc) is None:  # not a LedgerError: the generator's own refusal
            raise Mistake(f"invalid: {exc}") from None
        raise
    print(
        f"{summary.events} events: {summary.collectivites} collectivités, {summary.aires} aires "
        f"and registers, {summary.stays} stays, {summary.first_day} to {summary.last_day}, "
        f"in {summary.seconds:.1f} s ({summary.events_per_second:,.0f} events/s, "
        f"{'bulk' if summary.bulk else 'command by command'}) into {settings.database_url}"
    )
    return 0


#: The commands run by one function of their arguments (``serve``, ``demo`` and ``verify``
#: are run in ``_run``).
def _backup(args: argparse.Namespace) -> int:
    from hacienda_ledger.cli.backup import run

    return run(args, None if args.check else _checked(args))


_RUN: dict[str, Callable[[argparse.Namespace], int]] = {
    "backup": _backup,
    "users": _users_create,
    "tokens": _tokens,
    "households": _households,
    "project": _project,
    "rebuild": _rebuild,
    "reports": _reports,
    "analytics": _analytics,
    "documents": _documents,
    "seal": _seal,
    "attestations": _attestations,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; an ordinary mistake (``_ordinary``) is said in one line on stderr,
    exit 2, with no traceback (a fault of the program keeps its traceback)."""
    args = parser().parse_args(argv)
    try:
        return _run(args)
    except Exception as exc:
        line = _ordinary(exc)
        if line is None:
            raise
        print(f"hacienda-ledger {args.command}: error: {line}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if args.command == "serve":
        return _serve(args)
    if args.command == "demo" and args.demo_command == "generate":
        return _generate(args)
    if args.command == "demo":
        from hacienda_ledger.demo import run_demo

        settings = _checked(args, create=True)
        return run_demo(settings, out=sys.stdout, journal=not args.no_journal)
    if args.command == "verify":
        from hacienda_ledger.application.forked import default_jobs
        from hacienda_ledger.demo import run_verify

        jobs = args.jobs or default_jobs(one_writer=False)
        return run_verify(
            _checked(args),
            register=str(args.register) if args.register else None,
            out=sys.stdout,
            jobs=jobs,
            attestations=args.attestations,
        )
    run = _RUN.get(args.command)
    return run(args) if run else 2
