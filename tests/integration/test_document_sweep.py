"""The documents' sweep (``application/documents.py``), on SQLite and PostgreSQL: the bytes a
refused upload left are deleted once older than the grace and not before; bytes a document
names (first version or later) never; an upload that stores or names bytes while the sweep
runs keeps them; the CLI and the service's daily retention run it, and the technical journal
records what it deleted. Time is the ledger's clock, moved by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from uuid import UUID

import pytest
from pydantic import ValidationError

from hacienda_ledger.aggregates.document import sniff
from hacienda_ledger.aggregates.errors import DocumentCorrupted, InvalidValue
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.documents import sha256_of, sweep_orphans
from hacienda_ledger.application.retention import RetentionSchedule
from hacienda_ledger.cli import main
from hacienda_ledger.settings import Settings
from tests.conftest import Clock, Site

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + bytes(range(256))
PDF_2 = PDF.replace(b"1.4", b"1.7")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)


def upload(ledger: Ledger, aire_id: UUID, content: bytes, title: str = "Règlement") -> UUID:
    """The bytes stored, then the document recorded (the route's order)."""
    digest = ledger.documents.put(content, ledger.now())
    return ledger.upload_document(
        aire_id,
        kind="reglement_interieur",
        title=title,
        sha256=digest,
        size=len(content),
        media_type=sniff(content),
        filename="reglement.pdf",
        valid_from=date(2025, 1, 1),
        actor="manager",
    ).aggregate_id


def refused(ledger: Ledger, aire_id: UUID, content: bytes) -> None:
    """An upload whose bytes are stored and whose command is refused (a blank title)."""
    with pytest.raises(InvalidValue):
        upload(ledger, aire_id, content, title="   ")


def stored(ledger: Ledger) -> set[str]:
    rows = ledger.documents.sql.rows("SELECT sha256 FROM document_contents")
    return {row["sha256"] for row in rows}


def swept_entries(ledger: Ledger) -> list[dict[str, object]]:
    return [dict(e.detail) for e in ledger.journal.entries(kinds=["documents_swept"])]


def test_a_refused_upload_s_bytes_are_swept_after_the_grace_not_before(
    ledger: Ledger, site: Site, clock: Clock
) -> None:
    """Given an upload refused after its bytes were stored, a sweep 23 hours later deletes
    nothing; one just past 24 hours (the default grace) deletes those bytes, and records
    how many and their size in the technical journal; a later sweep finds nothing."""
    refused(ledger, site.aire_id, PDF)
    digest = ledger.documents.put(PDF, ledger.now())  # its hash, stored already
    clock.advance(hours=23)
    early = sweep_orphans(ledger)
    assert (early.deleted, stored(ledger), swept_entries(ledger)) == (0, {digest}, [])
    clock.advance(hours=1, seconds=1)
    late = sweep_orphans(ledger)
    expected = [{"contents": 1, "bytes": len(PDF), "before": late.before.isoformat()}]
    assert (late.deleted, late.bytes, stored(ledger)) == (1, len(PDF), set())
    assert swept_entries(ledger) == expected
    with pytest.raises(DocumentCorrupted):
        ledger.documents.get(digest)
    assert sweep_orphans(ledger).deleted == 0 and swept_entries(ledger) == expected


def test_bytes_named_by_a_document_are_never_swept(
    ledger: Ledger, site: Site, clock: Clock
) -> None:
    """Given a document's first version, a second version, and a third upload refused
    with the first version's bytes, a sweep a year later deletes nothing: every version's
    bytes are named, and read back byte for byte."""
    document_id = upload(ledger, site.aire_id, PDF)
    digest_2 = ledger.documents.put(PDF_2, ledger.now())
    ledger.upload_document_version(
        site.aire_id,
        document_id,
        title=None,
        sha256=digest_2,
        size=len(PDF_2),
        media_type="application/pdf",
        filename="reglement-v2.pdf",
        valid_from=date(2025, 6, 1),
        actor="manager",
    )
    refused(ledger, site.aire_id, PDF)
    clock.advance(days=365)
    assert sweep_orphans(ledger).deleted == 0
    versions = ledger.document(document_id).versions
    assert [ledger.documents.get(v.sha256) for v in versions] == [PDF, PDF_2]


def test_an_upload_in_flight_keeps_the_bytes_the_sweep_chose(
    ledger: Ledger, site: Site, clock: Clock
) -> None:
    """Given two refused uploads' bytes older than the grace, when, after the sweep has read
    them as named by no document and before it deletes them, a new upload stores the first
    ones again and records its document, then the sweep deletes only the second ones: the
    new document's bytes are there, byte for byte."""
    refused(ledger, site.aire_id, PDF)
    refused(ledger, site.aire_id, PNG)
    clock.advance(hours=25)
    uploaded: list[UUID] = []
    swept = sweep_orphans(ledger, read=lambda: uploaded.append(upload(ledger, site.aire_id, PDF)))
    (document_id,) = uploaded
    current = ledger.document(document_id).current
    assert (swept.deleted, swept.bytes) == (1, len(PNG))
    assert (stored(ledger), ledger.documents.get(current.sha256)) == ({current.sha256}, PDF)


def test_the_sweep_reads_the_stored_times_in_utc_whatever_the_clocks_offset(
    ledger: Ledger, site: Site, clock: Clock
) -> None:
    """Given bytes a refused upload stored at 20:00 on 6 January at UTC−10 (06:00 UTC on
    the 7th), a sweep 23 hours later by a clock in UTC deletes nothing (their local time
    reads a day earlier than the grace's limit, 05:00 UTC on the 7th); one 25 hours later
    deletes them: the sweep compares instants, not how a clock wrote them."""
    clock.now = datetime(2025, 1, 6, 20, tzinfo=timezone(timedelta(hours=-10)))
    refused(ledger, site.aire_id, PDF)
    clock.now = datetime(2025, 1, 8, 5, tzinfo=UTC)
    assert (sweep_orphans(ledger).deleted, stored(ledger)) == (0, {sha256_of(PDF)})
    clock.advance(hours=2)
    assert (sweep_orphans(ledger).deleted, stored(ledger)) == (1, set())


def test_the_service_s_retention_run_and_the_cli_sweep(
    ledger: Ledger, site: Site, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    """The retention schedule's run sweeps with the purge (actor ``retention``);
    ``hacienda-ledger documents sweep`` sweeps too (actor ``cli``, its own clock: the wall
    clock, long after this test's), and says how many it deleted."""
    refused(ledger, site.aire_id, PDF)
    clock.advance(days=2)
    RetentionSchedule(ledger, 3600).run_once()
    refused(ledger, site.aire_id, PNG)
    url = ledger.settings.database_url
    assert main(["--database-url", url, "documents", "sweep"]) == 0
    said = [
        line.split(", stored before")[0]
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("documents' bytes")
    ]
    assert said == [f"documents' bytes named by no document: 1 deleted ({len(PNG)} bytes)"]
    actors = [e.actor for e in ledger.journal.entries(kinds=["documents_swept"])]
    assert (actors, stored(ledger)) == (["retention", "cli"], set())


def test_the_grace_is_an_hour_to_90_days() -> None:
    """``document_orphan_grace_hours`` is 24 by default; under an hour (an upload in flight
    might lose its bytes) or over 90 days is refused."""
    assert Settings().document_orphan_grace_hours == 24
    for wrong in (0, 0.5, 24 * 90 + 1):
        with pytest.raises(ValidationError):
            Settings(document_orphan_grace_hours=wrong)
