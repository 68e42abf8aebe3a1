"""The cyclic garbage collector made rarer for the time of a rebuild (or a check)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

REBUILD_GC_THRESHOLD = 100_000


@contextmanager
def fewer_collections(threshold: int = REBUILD_GC_THRESHOLD) -> Iterator[None]:
    """Run the young generation's collection every ``threshold`` allocations, not 700, for
    the time of a rebuild, then restore the collector's thresholds.

    A rebuild allocates millions of small objects (events, rows) that refcounting frees or
    that it keeps (rows across batches), none in cycles: by default the cyclic collector ran
    some 650 times per 30,000 events, rescanning the rows kept, a fifth of the rebuild's
    CPU (measured, issue 6). A process already tuned higher (a served one), or whose
    collector is off, is left as it is."""
    before = gc.get_threshold()
    if 0 < before[0] < threshold:
        gc.set_threshold(threshold, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
