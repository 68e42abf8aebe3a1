"""A workbook's times are the generation time, never the clock: its core properties say
when it was generated (UTC) and every member of the archive is dated then (Paris time), so
a report rendered twice is the same bytes."""

from __future__ import annotations

import io
import time
import zipfile
from datetime import UTC, datetime

from hacienda_ledger.reports.sheets import Book

MOMENT = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)


def saved() -> bytes:
    book = Book()
    book.sheet("Feuille").row(["texte", 1])
    return book.save(MOMENT)


def test_the_modified_time_is_the_generation_time_not_the_clock() -> None:
    first = saved()
    archive = zipfile.ZipFile(io.BytesIO(first))
    core = archive.read("docProps/core.xml")
    assert b">2025-03-01T10:00:00Z</dcterms:modified>" in core
    assert b">2025-03-01T10:00:00Z</dcterms:created>" in core
    assert {m.date_time for m in archive.infolist()} == {(2025, 3, 1, 11, 0, 0)}  # Paris
    time.sleep(1.1)  # the clock moves on: the bytes do not
    assert saved() == first
