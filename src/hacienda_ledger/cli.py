"""The one entry point: ``hacienda-ledger``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hacienda-ledger", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="load the demo data and print a register's journal")
    demo.add_argument("--database-url", help="overrides HACIENDA_DATABASE_URL")
    verify = sub.add_parser("verify", help="verify every register's hash chain")
    verify.add_argument("--register", help="one register id")
    verify.add_argument("--database-url", help="overrides HACIENDA_DATABASE_URL")
    args = parser.parse_args(argv)

    from hacienda_ledger.settings import Settings

    settings = Settings(database_url=args.database_url) if args.database_url else Settings()
    if args.command == "demo":
        from hacienda_ledger.demo import run_demo

        return run_demo(settings, out=sys.stdout)
    if args.command == "verify":
        from hacienda_ledger.demo import run_verify

        return run_verify(settings, register=args.register, out=sys.stdout)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
