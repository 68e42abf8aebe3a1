"""What the event decoder's 2^63 check costs: ``python -m bench.decoder_guard``.

The decoder (``application/decoding.py``) hands a row to the library's mapper when orjson
read a number as a float of 2^63 or more (an integer past 64 bits, rounded). The check is one
type comparison per scalar of every event decoded in a rebuild. This decodes every stored
event of a generated world with the decoder as it is and with a copy of its two loops
without the check (the baseline), in alternating rounds, and prints the medians and their
ratio (under 1: the check costs nothing measurable).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from hacienda_ledger.application import Ledger
from hacienda_ledger.application.decoding import EventDecoder
from hacienda_ledger.generator import generate
from hacienda_ledger.settings import Settings


class Unguarded(EventDecoder):
    """The decoder's loops without the 2^63 check (the baseline only)."""

    def _object(self, obj: dict[str, Any]) -> Any:
        if len(obj) == 2 and "_type_" in obj and "_data_" in obj:
            return self._wrapped(obj["_type_"], obj["_data_"])
        for key, value in obj.items():
            kind = type(value)
            if kind is dict:
                if len(value) == 2 and "_type_" in value and "_data_" in value:
                    name, data = value["_type_"], value["_data_"]
                    cache = self._kept.get(name) if type(data) is str else None
                    found = cache.get(data) if cache is not None else None
                    obj[key] = found if found is not None else self._wrapped(name, data)
                else:
                    obj[key] = self._object(value)
            elif kind is list:
                obj[key] = self._array(value)
        return obj

    def _array(self, array: list[Any]) -> list[Any]:
        for i, value in enumerate(array):
            kind = type(value)
            if kind is dict:
                array[i] = self._object(value)
            elif kind is list:
                array[i] = self._array(value)
        return array


def _decode_all(decoder: EventDecoder, rows: list[Any]) -> float:
    started = time.perf_counter()
    for row in rows:
        decoder(row)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.decoder_guard")
    parser.add_argument("--aires", type=int, default=3)
    parser.add_argument("--years", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(database_url=f"sqlite:///{Path(folder) / 'world.sqlite3'}")
        generate(settings, aires=args.aires, years=args.years, seed=7)
        ledger = Ledger(settings)
        try:
            rows = list(ledger.recorder.select_notifications(start=1, limit=10**8))
            guarded: list[float] = []
            baseline: list[float] = []
            for _ in range(args.rounds):
                guarded.append(_decode_all(EventDecoder(ledger.mapper), rows))
                baseline.append(_decode_all(Unguarded(ledger.mapper), rows))
        finally:
            ledger.close()
    ours, base = statistics.median(guarded), statistics.median(baseline)
    print(f"{len(rows)} events decoded, {args.rounds} rounds, medians:")
    print(f"  decoder as it is   {ours:.3f} s")
    print(f"  without the check  {base:.3f} s  (baseline)")
    print(f"  ratio              {ours / base:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
