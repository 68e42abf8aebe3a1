"""Benchmarks: ``python -m bench [write] [http] [replay] [reports] [exports] [register]
[analytics] [options]``.

Each figure is printed beside a baseline measured in the same run, on the same data; see
docs/performance.md for the figures, the machine and the exact commands.
"""

from __future__ import annotations

import argparse
import sys

from bench import analytics, exports, http, register, replay, reports, write
from bench.scratch import DEFAULT_POSTGRES

SUITES = ["write", "http", "replay", "reports", "exports", "register", "analytics"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument(
        "which", nargs="*", metavar="SUITE", help=f"{', '.join(SUITES)} (default: all)"
    )
    parser.add_argument("--receipts", type=int, default=300, help="write: receipts per round")
    parser.add_argument("--requests", type=int, default=800, help="http: requests per round")
    parser.add_argument("--clients", type=int, default=8, help="http: concurrent clients")
    parser.add_argument("--aires", type=int, default=5, help="replay: aires generated")
    parser.add_argument("--years", type=int, default=5, help="replay: years generated")
    parser.add_argument(
        "--replay-only",
        default="",
        choices=["", "rebuild", "verify", "chains", "check"],
        help="replay: measure only the rebuild (and its baseline), or only the cold "
        "verification in one process, with and without reading the next register ahead, or "
        "only the aires' and stays' cold verification (one process and two), or only "
        "`rebuild --check` against `rebuild` (time and peak memory)",
    )
    parser.add_argument("--report-aires", type=int, default=250, help="reports: aires generated")
    parser.add_argument(
        "--export-rows", type=int, default=50_000, help="exports: rows of the table written"
    )
    parser.add_argument(
        "--replay-years",
        type=int,
        default=9,
        help="register: years of the register replays are measured on (9: ~20,000 events)",
    )
    parser.add_argument(
        "--start-years",
        type=int,
        default=5,
        help="register: years of the register warm starts are measured on (5: ~11,000 events)",
    )
    parser.add_argument("--replays", type=int, default=200, help="register: replays measured")
    parser.add_argument("--analytics-aires", type=int, default=3, help="analytics: aires generated")
    parser.add_argument("--analytics-years", type=int, default=2, help="analytics: years generated")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--postgres",
        default=DEFAULT_POSTGRES,
        help="a server where a scratch database may be created and dropped",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.which) - set(SUITES))
    if unknown:  # (choices on a nargs="*" positional refuse its own empty default)
        parser.error(f"unknown suite: {', '.join(unknown)}")
    for which in args.which or SUITES:
        if which == "write":
            out = write.run(args.receipts, args.rounds, args.postgres)
        elif which == "http":
            out = http.run(args.requests, args.rounds, args.clients, args.postgres)
        elif which == "replay":
            out = replay.run(
                args.aires, args.years, args.seed, args.rounds, args.postgres, only=args.replay_only
            )
        elif which == "register":
            out = register.run(
                replay_years=args.replay_years,
                start_years=args.start_years,
                replays=args.replays,
                rounds=args.rounds,
                seed=args.seed,
                postgres=args.postgres,
            )
        elif which == "analytics":
            out = analytics.run(
                args.analytics_aires, args.analytics_years, args.seed, args.rounds, args.postgres
            )
        elif which == "reports":
            out = reports.run(args.report_aires, args.seed, args.postgres)
        else:
            out = exports.run(args.export_rows, args.rounds)
        for line in out:
            print(line, flush=True)
        print(flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
