"""The bytes of the aires' documents, stored once per SHA-256 in the events' own database.

``document_contents`` holds one row per distinct content: its SHA-256 (the key), its size,
its bytes (``bytea`` on PostgreSQL, ``BLOB`` in an SQLite file) and when they were last
stored (``stored_at``, the ledger's clock, ISO 8601 in UTC). A table rather than a folder
of files, on both backends: the documents are then in every backup of the database
(``pg_dump``, the SQLite file), the same on one server or several, and a restore can never
separate a document's metadata (events) from its bytes. Uploading the same bytes twice
(another document, or the same file again) stores them once.

The bytes are written before the events that name them (``put`` is idempotent; storing
bytes already there moves their ``stored_at`` to now): a command refused after it leaves a
row no ``Document`` event names, holding what the client sent. It is not deleted when its
command fails: a row is shared by every upload of the same bytes, and a concurrent upload of
them may be about to name it. **The sweep** (``sweep_orphans``: ``hacienda-ledger documents
sweep``, and the service's daily retention run) deletes the rows that no ``Document.Uploaded``
nor ``Document.VersionUploaded`` names and whose ``stored_at`` is older than
``document_orphan_grace_hours`` (24 by default: longer than any upload in flight). An upload
in flight never loses its bytes to it, without a lock that would hold uploads back: its
``put`` made the row young (not swept), or, if the ``put`` comes after the sweep read the
rows, either it stores the bytes again (after the delete) or it moves ``stored_at``, and the
sweep deletes a row only if ``stored_at`` is still the value it read (one statement per row,
atomic on both backends). The deletion and its entry in the technical journal
(``documents_swept``: how many, how many bytes) are one transaction; on SQLite the freed
pages are overwritten (``secure_delete``).

Every read verifies the bytes against the hash they are stored under (``get``): bytes
changed or missing in the table are ``document_corrupted`` (500, logged), never served.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple
from uuid import UUID

import structlog
from eventsourcing.utils import get_topic

from hacienda_ledger.aggregates.document import Document, sniff
from hacienda_ledger.aggregates.errors import (
    DocumentCorrupted,
    DocumentTooLarge,
    InvalidPeriod,
    InvalidValue,
)
from hacienda_ledger.aggregates.user import User
from hacienda_ledger.application.access import Permission
from hacienda_ledger.application.journal import Kind
from hacienda_ledger.application.sealing import SqlTable

if TYPE_CHECKING:
    from hacienda_ledger.application.ledger import Ledger

log = structlog.get_logger(__name__)


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class DocumentContents(SqlTable):
    """``document_contents``: content-addressed bytes, verified on every read."""

    create_statement = (
        "CREATE TABLE IF NOT EXISTS document_contents ("
        "sha256 TEXT PRIMARY KEY, size BIGINT NOT NULL, content {blob} NOT NULL, "
        "stored_at TEXT NOT NULL)"
    )

    def put(self, content: bytes, at: datetime) -> str:
        """Store ``content`` (once per hash; stored already, its ``stored_at`` moved to
        ``at``: an upload about to name it keeps it from the sweep); its SHA-256."""
        digest = sha256_of(content)
        self.sql.execute(
            "INSERT INTO document_contents (sha256, size, content, stored_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (sha256) DO UPDATE SET stored_at = "
            "excluded.stored_at",
            (digest, len(content), content, _utc(at)),
        )
        return digest

    def get(self, sha256: str) -> bytes:
        """The bytes stored under ``sha256``, checked against it (``document_corrupted``)."""
        rows = self.sql.rows("SELECT content FROM document_contents WHERE sha256 = ?", (sha256,))
        content = bytes(rows[0]["content"]) if rows else None
        if content is None or sha256_of(content) != sha256:
            why = "missing" if content is None else "changed"
            log.error("document_corrupted", sha256=sha256, why=why)
            raise DocumentCorrupted(
                f"the stored bytes of sha-256 {sha256} are {why}: the document store was "
                "damaged or tampered with; restore it from a backup"
            )
        return content

    def stored_before(self, before: datetime) -> list[Content]:
        """The contents last stored before ``before`` (their bytes are not read), chosen in
        SQL: ``stored_at`` is ISO 8601 in UTC (``put``), which sorts as text byte by byte
        (``COLLATE "C"`` on PostgreSQL, whose database collation may ignore punctuation)."""
        collate = ' COLLATE "C"' if self.sql.postgres else ""
        rows = self.sql.rows(
            f"SELECT sha256, stored_at FROM document_contents WHERE stored_at < ?{collate}",
            (_utc(before),),
        )
        return [Content(r["sha256"], r["stored_at"]) for r in rows]

    def delete_unchanged(
        self, contents: Sequence[Content], also: Callable[[Any, int, int], object]
    ) -> tuple[int, int]:
        """Delete each of ``contents`` whose ``stored_at`` is still the one read (a ``put``
        since keeps it), in one transaction with ``also(cursor, deleted, bytes)``; how
        many rows and bytes were deleted."""
        deleted = size = 0
        with self.sql.cursor(commit=True) as cursor:
            if not self.sql.postgres:
                cursor.execute("PRAGMA secure_delete = ON")
            statement = self.sql.text(
                "DELETE FROM document_contents WHERE sha256 = ? AND stored_at = ? RETURNING size"
            )
            for content in contents:
                cursor.execute(statement, (content.sha256, content.stored_at))
                for row in cursor.fetchall():
                    deleted, size = deleted + 1, size + int(row["size"])
            also(cursor, deleted, size)
        return deleted, size

    def check(self) -> list[str]:
        """The hashes whose stored bytes no longer match (for ``verify``)."""
        return self.verify()[1]

    def verify(self) -> tuple[int, list[str]]:
        """How many contents are stored, and the hashes whose bytes no longer match them."""
        rows = self.sql.rows("SELECT sha256, content FROM document_contents")
        bad = [r["sha256"] for r in rows if sha256_of(bytes(r["content"])) != r["sha256"]]
        return len(rows), bad


def _utc(at: datetime) -> str:
    """``at`` as ``stored_at`` holds it: ISO 8601 in UTC, so that its text order is time's."""
    return at.astimezone(UTC).isoformat()


class Content(NamedTuple):
    """One row of ``document_contents`` as the sweep reads it (without its bytes)."""

    sha256: str
    stored_at: str


#: The events that name a content (by their ``sha256``).
NAMING = (get_topic(Document.Uploaded), get_topic(Document.VersionUploaded))


def named_contents(ledger: Ledger) -> set[str]:
    """The SHA-256 of every version of every document (the stream read by topic)."""
    return set(_named(ledger))


def _named(ledger: Ledger) -> Iterator[str]:
    start = 1
    while batch := ledger.recorder.select_notifications(start=start, limit=500, topics=NAMING):
        for notification in batch:
            event = ledger.mapper.to_domain_event(notification)
            assert isinstance(event, Document.Uploaded | Document.VersionUploaded)
            yield event.sha256
        start = batch[-1].id + 1


@dataclass(frozen=True)
class Swept:
    """What a sweep did: the rows of bytes no document names that it deleted, their size,
    and the instant they were stored before (now less the grace)."""

    deleted: int
    bytes: int
    before: datetime


def sweep_orphans(
    ledger: Ledger, *, actor: str = "retention", read: Callable[[], object] = lambda: None
) -> Swept:
    """Delete the stored bytes that no document names and that were last stored more than
    ``document_orphan_grace_hours`` ago (the module's docstring says why an upload in
    flight keeps its bytes); ``read`` runs once the rows to delete are chosen, before they
    are deleted (a seam for tests: an upload may store or name them meanwhile). Logged
    (``documents_swept``) and, when some are deleted, recorded in the technical journal."""
    grace = timedelta(hours=ledger.settings.document_orphan_grace_hours)
    before = ledger.now() - grace
    old = ledger.documents.stored_before(before)
    named = named_contents(ledger) if old else set()
    orphans = [content for content in old if content.sha256 not in named]
    read()

    def journal(cursor: Any, deleted: int, size: int) -> None:
        if deleted:
            detail = {"contents": deleted, "bytes": size, "before": before.isoformat()}
            entry = ledger.journal.entry(Kind.DOCUMENTS_SWEPT, actor=actor, detail=detail)
            ledger.journal.append(cursor, [entry])

    deleted, size = ledger.documents.delete_unchanged(orphans, journal) if orphans else (0, 0)
    log.info("documents_swept", deleted=deleted, bytes=size, before=before.isoformat())
    return Swept(deleted, size, before)


def store_upload(
    ledger: Ledger, user: User, aire_id: UUID, content: bytes, valid: tuple[date, date | None]
) -> Stored:
    """An uploaded file's bytes, stored once the user may upload on the aire, its validity
    ``valid`` (from, to) is a period, and the bytes are a document: within
    ``document_max_bytes`` (``document_too_large``), PDF, PNG, JPEG or WebP by their first
    bytes (``unsupported_document_type``). Refused, nothing stored."""
    ledger.access.authorize(user, Permission.UPLOAD_DOCUMENTS, aire_id=aire_id)
    if valid[1] is not None and valid[1] < valid[0]:
        raise InvalidPeriod("a document is valid to a day after it is valid from", field="valid_to")
    limit = ledger.settings.document_max_bytes
    if len(content) > limit:
        raise DocumentTooLarge(f"a document is at most {limit} bytes", field="file")
    if not content:
        raise InvalidValue("the file is empty", field="file")
    media_type = sniff(content)
    return Stored(ledger.documents.put(content, ledger.now()), len(content), media_type)


@dataclass(frozen=True)
class Stored:
    """What the bytes stored are: the command's ``sha256``, ``size`` and ``media_type``."""

    sha256: str
    size: int
    media_type: str
