"""openpyxl stamps a workbook's modified time with the clock when it saves: the rewritten
archive carries the generation time instead, so a report rendered twice is the same bytes."""

from __future__ import annotations

import io
import time
import zipfile
from datetime import datetime

from openpyxl import Workbook

from hacienda_ledger.reports.render import fixed_zip_times

MOMENT = datetime(2025, 3, 1, 10, 0)


def saved() -> bytes:
    book = Workbook()
    book.properties.created = book.properties.modified = MOMENT
    out = io.BytesIO()
    book.save(out)
    return fixed_zip_times(out.getvalue(), MOMENT)


def test_the_modified_time_is_the_generation_time_not_the_clock() -> None:
    first = saved()
    core = zipfile.ZipFile(io.BytesIO(first)).read("docProps/core.xml")
    assert b">2025-03-01T10:00:00Z</dcterms:modified>" in core
    time.sleep(1.1)  # the clock moves on: the bytes do not
    assert saved() == first
