"""Bodies of an aire's own documents (``/v1/aires/{id}/documents``). The upload itself is a
multipart form (``api/routes/documents.py``); these are what the API answers."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, Field

from hacienda_ledger.aggregates.document import AireDocumentKind
from hacienda_ledger.api.schemas.common import Page


class AireDocumentVersionPublic(BaseModel):
    number: int = Field(description="1 for the first upload, then 2, 3...")
    sha256: str = Field(description="the SHA-256 of the bytes, in hexadecimal")
    size: int = Field(description="in bytes")
    media_type: str = Field(description="decided by the file's first bytes")
    filename: str
    valid_from: date
    valid_to: date | None
    uploaded_at: datetime
    uploaded_by: str


class AireDocumentPublic(BaseModel):
    id: UUID
    aire_id: UUID
    kind: AireDocumentKind
    title: str
    current: AireDocumentVersionPublic
    versions: list[AireDocumentVersionPublic] = Field(description="every version, oldest first")


class AireDocumentsPublic(Page[AireDocumentPublic]):
    pass
