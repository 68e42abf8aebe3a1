"""The Document aggregate: one of an aire's own documents, with every version uploaded.

A règlement intérieur, an arrêté, a convention type, a plan, a délibération: each is one
document of one aire, hash-chained like the aire and its interventions, linked on the aire
(``Aire.DocumentLinked``). Its events hold the metadata only — kind, title, validity, and
per version the SHA-256, size and media type of the bytes; the bytes themselves are stored
once per hash beside the events (``application/documents.py``). A new version is a new
event: the older ones stay listed and readable, nothing is overwritten.

The media type is decided by the file's first bytes (``sniff``), never by its name or the
type the client declared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from hacienda_ledger.aggregates.chained import Chained
from hacienda_ledger.aggregates.errors import (
    DocumentNotFound,
    InvalidPeriod,
    InvalidValue,
    UnsupportedDocumentType,
)


class AireDocumentKind(StrEnum):
    REGLEMENT_INTERIEUR = "reglement_interieur"
    ARRETE = "arrete"
    CONVENTION_TYPE = "convention_type"
    PLAN = "plan"
    DELIBERATION = "deliberation"
    OTHER = "other"


#: The media types accepted, by the magic number their files start with.
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
MEDIA_TYPES = ("application/pdf", "image/png", "image/jpeg", "image/webp")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def sniff(content: bytes) -> str:
    """The media type of ``content`` by its first bytes: PDF, PNG, JPEG or WebP, else
    ``unsupported_document_type``."""
    for magic, media_type in MAGIC:
        if content.startswith(magic):
            return media_type
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    raise UnsupportedDocumentType(
        "a document is a PDF, PNG, JPEG or WebP file (judged by its first bytes, not its "
        "name or declared type)",
        field="file",
    )


@dataclass(frozen=True)
class Version:
    """One version of a document: what its bytes are, who uploaded them, when."""

    number: int
    sha256: str
    size: int
    media_type: str
    filename: str
    valid_from: date
    valid_to: date | None
    uploaded_at: datetime
    actor: str

    def in_force_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


def _checked(
    sha256: str, size: int, media_type: str, valid_from: date, valid_to: date | None
) -> None:
    if not _SHA256.fullmatch(sha256):
        raise InvalidValue("sha256 is 64 lowercase hexadecimal digits", field="sha256")
    if size <= 0:
        raise InvalidValue("a document holds at least one byte", field="file")
    if media_type not in MEDIA_TYPES:
        raise UnsupportedDocumentType(f"{media_type} is not accepted", field="file")
    if valid_to is not None and valid_to < valid_from:
        raise InvalidPeriod("a document is valid to a day after it is valid from", field="valid_to")


class Document(Chained):
    """One document of one aire and its versions (1, 2, 3...)."""

    class Uploaded(Chained.Created):
        aire_id: UUID
        kind: str
        title: str
        sha256: str
        size: int
        media_type: str
        filename: str
        valid_from: date
        valid_to: date | None
        actor: str

        def apply(self, document: Document) -> None:
            document.aire_id = self.aire_id
            document.kind = AireDocumentKind(self.kind)
            document.title = self.title
            document.versions = ()
            document.add(self)

    class VersionUploaded(Chained.Event):
        title: str
        sha256: str
        size: int
        media_type: str
        filename: str
        valid_from: date
        valid_to: date | None
        actor: str

        def apply(self, document: Document) -> None:
            document.title = self.title
            document.add(self)

    def __init__(self) -> None:
        """State is set by ``Uploaded.apply``; declared here for readers."""
        self.aire_id: UUID
        self.kind: AireDocumentKind
        self.title: str
        self.versions: tuple[Version, ...]

    def add(self, event: Uploaded | VersionUploaded) -> None:
        version = Version(
            number=len(self.versions) + 1,
            sha256=event.sha256,
            size=event.size,
            media_type=event.media_type,
            filename=event.filename,
            valid_from=event.valid_from,
            valid_to=event.valid_to,
            uploaded_at=event.timestamp,
            actor=event.actor,
        )
        self.versions = (*self.versions, version)

    @classmethod
    def upload(
        cls,
        *,
        document_id: UUID,
        aire_id: UUID,
        kind: str,
        title: str,
        sha256: str,
        size: int,
        media_type: str,
        filename: str,
        valid_from: date,
        valid_to: date | None = None,
        actor: str,
        at: datetime,
    ) -> Document:
        """A document's first version."""
        try:
            kind_ = AireDocumentKind(kind)
        except ValueError:
            allowed = ", ".join(k.value for k in AireDocumentKind)
            raise InvalidValue(f"kind is one of {allowed}", field="kind") from None
        if not title.strip():
            raise InvalidValue("a document has a title", field="title")
        _checked(sha256, size, media_type, valid_from, valid_to)
        return cls._create(
            cls.Uploaded,
            id=document_id,
            aire_id=aire_id,
            kind=kind_.value,
            title=title.strip(),
            sha256=sha256,
            size=size,
            media_type=media_type,
            filename=filename,
            valid_from=valid_from,
            valid_to=valid_to,
            actor=actor,
            timestamp=at,
        )

    def upload_version(
        self,
        *,
        title: str | None,
        sha256: str,
        size: int,
        media_type: str,
        filename: str,
        valid_from: date,
        valid_to: date | None = None,
        actor: str,
        at: datetime,
    ) -> None:
        """A new version (the title kept unless a new one is given); the older ones stay."""
        if title is not None and not title.strip():
            raise InvalidValue("a document has a title", field="title")
        _checked(sha256, size, media_type, valid_from, valid_to)
        self.trigger_event(
            self.VersionUploaded,
            title=self.title if title is None else title.strip(),
            sha256=sha256,
            size=size,
            media_type=media_type,
            filename=filename,
            valid_from=valid_from,
            valid_to=valid_to,
            actor=actor,
            timestamp=at,
        )

    @property
    def current(self) -> Version:
        return self.versions[-1]

    def numbered(self, number: int | None) -> Version:
        """Version ``number`` (the current one when ``None``), else ``document_not_found``."""
        if number is None:
            return self.current
        if not 1 <= number <= len(self.versions):
            raise DocumentNotFound(f"this document has no version {number}", field="version")
        return self.versions[number - 1]

    def in_force_on(self, day: date) -> Version | None:
        """The latest version valid on ``day``, if any."""
        return next((v for v in reversed(self.versions) if v.in_force_on(day)), None)
