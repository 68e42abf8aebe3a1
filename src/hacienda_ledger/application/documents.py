"""The bytes of the aires' documents, stored once per SHA-256 in the events' own database.

``document_contents`` holds one row per distinct content: its SHA-256 (the key), its size
and its bytes (``bytea`` on PostgreSQL, ``BLOB`` in an SQLite file). A table rather than a
folder of files, on both backends: the documents are then in every backup of the database
(``pg_dump``, the SQLite file), the same on one server or several, and a restore can never
separate a document's metadata (events) from its bytes. Uploading the same bytes twice
(another document, or the same file again) stores them once.

The bytes are written before the events that name them (``put`` is idempotent): a command
refused after it leaves an unreferenced row, which harms nothing and names nothing personal.
It is not deleted when its command fails: a row is shared by every upload of the same
bytes, and a concurrent upload of them may be about to name it (its ``put`` found the row and
stored nothing) — deleting it then would leave that document without its bytes. Collecting
such rows safely takes a sweep of the rows no ``Document`` event names that are older than
any upload in flight (a grace period, under the documents' lock): not built, since the rows
are only what a refused upload's client sent (within the size limit, and a retry with its
Idempotency-Key stores nothing new).

Every read verifies the bytes against the hash they are stored under (``get``): bytes
changed or missing in the table are ``document_corrupted`` (500, logged), never served.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING
from uuid import UUID

import structlog

from hacienda_ledger.aggregates.document import sniff
from hacienda_ledger.aggregates.errors import (
    DocumentCorrupted,
    DocumentTooLarge,
    InvalidPeriod,
    InvalidValue,
)
from hacienda_ledger.aggregates.user import User
from hacienda_ledger.application.access import Permission
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
        """Store ``content`` (once per hash); its SHA-256."""
        digest = sha256_of(content)
        self.sql.execute(
            "INSERT INTO document_contents (sha256, size, content, stored_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
            (digest, len(content), content, at.isoformat()),
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

    def check(self) -> list[str]:
        """The hashes whose stored bytes no longer match (for ``verify``)."""
        return self.verify()[1]

    def verify(self) -> tuple[int, list[str]]:
        """How many contents are stored, and the hashes whose bytes no longer match them."""
        rows = self.sql.rows("SELECT sha256, content FROM document_contents")
        bad = [r["sha256"] for r in rows if sha256_of(bytes(r["content"])) != r["sha256"]]
        return len(rows), bad


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
