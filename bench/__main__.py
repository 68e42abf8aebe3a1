"""Benchmarks: ``python -m bench [write] [--receipts N] [--rounds R] [--postgres URL]``.

Each figure is printed beside a baseline measured in the same run; see docs/performance.md.
Only the write benchmark exists so far (issue 6 lists the others).
"""

from __future__ import annotations

import argparse
import sys

from bench import write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("which", nargs="?", default="write", choices=["write"])
    parser.add_argument("--receipts", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--postgres",
        default=write.DEFAULT_POSTGRES,
        help="a server where a scratch database may be created and dropped",
    )
    args = parser.parse_args(argv)
    for line in write.run(args.receipts, args.rounds, args.postgres):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
