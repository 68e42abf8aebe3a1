"""An aire's own documents: upload (multipart), list, download (the bytes verified)."""

from __future__ import annotations

import base64
from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status

from hacienda_ledger.aggregates.document import MEDIA_TYPES, AireDocumentKind, Document
from hacienda_ledger.aggregates.errors import DocumentNotFound
from hacienda_ledger.api.deps import Act, KeyedWriteDep, LedgerDep, UserDep
from hacienda_ledger.api.openapi import files
from hacienda_ledger.api.pages import PageDep
from hacienda_ledger.api.schemas.common import DATE_RANGE, Day
from hacienda_ledger.api.schemas.documents import (
    AireDocumentPublic,
    AireDocumentsPublic,
    AireDocumentVersionPublic,
)
from hacienda_ledger.application import Outcome
from hacienda_ledger.application import commands as c
from hacienda_ledger.application.access import Permission
from hacienda_ledger.application.documents import store_upload
from hacienda_ledger.application.ledger import Ledger

router = APIRouter(tags=["documents"])

Title = Annotated[str, Form(min_length=1, max_length=200)]
From = Annotated[Day, Form(description=f"the first day it applies, {DATE_RANGE}")]
Until = Annotated[
    Day | None, Form(description=f"the last day it applies (none: until replaced), {DATE_RANGE}")
]
Upload = Annotated[
    UploadFile,
    File(description="the PDF, PNG, JPEG or WebP file", json_schema_extra={"format": "binary"}),
]


def _public(d: Document) -> AireDocumentPublic:
    versions = [
        AireDocumentVersionPublic(
            **{
                k: getattr(v, k)
                for k in AireDocumentVersionPublic.model_fields
                if k != "uploaded_by"
            },
            uploaded_by=v.actor,
        )
        for v in d.versions
    ]
    return AireDocumentPublic(
        id=d.id,
        aire_id=d.aire_id,
        kind=d.kind,
        title=d.title,
        current=versions[-1],
        versions=versions,
    )


def _of_aire(ledger: Ledger, aire_id: UUID, document_id: UUID) -> Document:
    document = ledger.document(document_id)
    if document.aire_id != aire_id:
        raise DocumentNotFound("no document of that id on this aire", field="document_id")
    return document


def _stored(
    act: Act, aire_id: UUID, file: UploadFile, valid: tuple[date, date | None]
) -> dict[str, object]:
    """The file's bytes stored (after the user's right to upload on the aire is checked)."""
    stored = store_upload(act.ledger, act.user, aire_id, file.file.read(), valid)
    return {
        "sha256": stored.sha256,
        "size": stored.size,
        "media_type": stored.media_type,
        "filename": (file.filename or "")[:200],
    }


@router.post(
    "/v1/aires/{aire_id}/documents",
    status_code=status.HTTP_201_CREATED,
    response_model=AireDocumentPublic,
)
def upload_document(
    aire_id: UUID,
    act: KeyedWriteDep,
    response: Response,
    file: Upload,
    kind: Annotated[AireDocumentKind, Form()],
    title: Title,
    valid_from: From,
    valid_to: Until = None,
) -> AireDocumentPublic:
    """Upload a document of the aire (multipart/form-data): a PDF, PNG, JPEG or WebP file
    judged by its first bytes (415 ``unsupported_document_type``), at most
    ``document_max_bytes`` (413 ``document_too_large``). Stored once per SHA-256.
    ``Idempotency-Key`` required: a retry with the same key, bytes and fields answers the
    first upload (``Idempotent-Replayed: true``); other bytes or fields under that key are
    422 ``idempotency_key_reused``."""
    fields = _stored(act, aire_id, file, (valid_from, valid_to))
    outcome = act(
        c.UploadDocument,
        aire_id,
        kind=kind.value,
        title=title,
        valid_from=valid_from,
        valid_to=valid_to,
        **fields,
    )
    _replayed(response, outcome)
    return _public(act.ledger.document(outcome.aggregate_id))


@router.post(
    "/v1/aires/{aire_id}/documents/{document_id}/versions",
    status_code=status.HTTP_201_CREATED,
    response_model=AireDocumentPublic,
)
def upload_version(
    aire_id: UUID,
    document_id: UUID,
    act: KeyedWriteDep,
    response: Response,
    file: Upload,
    valid_from: From,
    valid_to: Until = None,
    title: Annotated[str | None, Form(min_length=1, max_length=200)] = None,
) -> AireDocumentPublic:
    """A new version of the document (multipart/form-data, as an upload): the older
    versions stay listed and readable. ``Idempotency-Key`` required, as for an upload."""
    act.ledger.access.authorize(act.user, Permission.UPLOAD_DOCUMENTS, aire_id=aire_id)
    _of_aire(act.ledger, aire_id, document_id)  # a document of this aire (404 otherwise)
    fields = _stored(act, aire_id, file, (valid_from, valid_to))
    outcome = act(
        c.UploadDocumentVersion,
        aire_id,
        document_id,
        title=title,
        valid_from=valid_from,
        valid_to=valid_to,
        **fields,
    )
    _replayed(response, outcome)
    return _public(act.ledger.document(document_id))


@router.get("/v1/aires/{aire_id}/documents", response_model=AireDocumentsPublic)
def list_documents(
    aire_id: UUID,
    ledger: LedgerDep,
    user: UserDep,
    page: PageDep,
    kind: AireDocumentKind | None = None,
) -> AireDocumentsPublic:
    """The aire's documents in the order uploaded (paginated), each with its versions."""
    ledger.access.authorize(user, Permission.READ_DOCUMENTS, aire_id=aire_id)
    found = (ledger.document(i) for i in ledger.aire(aire_id).document_ids)
    items, next_cursor = page.page([d for d in found if kind is None or d.kind is kind])
    data = [_public(d) for d in items]
    return AireDocumentsPublic(data=data, count=len(data), next_cursor=next_cursor)


@router.get(
    "/v1/aires/{aire_id}/documents/{document_id}",
    response_class=Response,
    responses=files(
        "the document's bytes, verified against their SHA-256 before they are sent",
        *MEDIA_TYPES,
        headers={
            "Repr-Digest": "the bytes' SHA-256 (RFC 9530): sha-256=:base64:",
            "X-Content-SHA256": "the bytes' SHA-256 in hexadecimal",
            "X-Document-Version": "the number of the version sent",
        },
    ),
)
def download_document(
    aire_id: UUID,
    document_id: UUID,
    ledger: LedgerDep,
    user: UserDep,
    version: Annotated[int | None, Query(ge=1, le=10_000, description="an older version")] = None,
) -> Response:
    """The current version's bytes (``?version=N``: an older one), with their media type
    and their hash (``Repr-Digest``, ``X-Content-SHA256``). The bytes are checked against
    the hash first: bytes changed in the store are 500 ``document_corrupted``, never sent."""
    ledger.access.authorize(user, Permission.READ_DOCUMENTS, aire_id=aire_id)
    v = _of_aire(ledger, aire_id, document_id).numbered(version)
    content = ledger.documents.get(v.sha256)
    headers = {
        "Repr-Digest": f"sha-256=:{_base64(v.sha256)}:",
        "X-Content-SHA256": v.sha256,
        "X-Document-Version": str(v.number),
        "Content-Disposition": f'inline; filename="{_ascii(v.filename) or "document"}"',
    }
    return Response(content, media_type=v.media_type, headers=headers)


def _replayed(response: Response, outcome: Outcome) -> None:
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"


def _base64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


def _ascii(name: str) -> str:
    return "".join(ch for ch in name if ch.isascii() and ch.isprintable() and ch not in '"\\')
