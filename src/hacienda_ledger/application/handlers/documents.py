"""Handlers of an aire's own documents (règlement intérieur, arrêtés, conventions...).

The bytes are stored before the command runs (``application/documents.py``: once per
SHA-256); the command records what they are. A first upload creates the document and links
it on the aire, under the aire's lock; a new version is one more event of the document.
"""

from __future__ import annotations

from hacienda_ledger.aggregates.document import Document
from hacienda_ledger.aggregates.errors import DocumentNotFound
from hacienda_ledger.application.access import Permission
from hacienda_ledger.application.commands import UploadDocument, UploadDocumentVersion
from hacienda_ledger.application.handling import Change, Unit, on


@on("aire_id", Permission.UPLOAD_DOCUMENTS, creates=lambda c: c.document_id)(UploadDocument)
def upload_document(command: UploadDocument, unit: Unit) -> Change:
    """The document and its first version, linked on its aire."""
    at, actor = unit.now(), command.actor
    aire = unit.aire(command.aire_id)
    arguments = command.arguments()
    document = Document.upload(**arguments, document_id=command.document_id, actor=actor, at=at)
    aire.link_document(document.id, actor=actor, at=at)
    return Change(document, {"document_id": str(document.id)}, (aire,))


@on("aire_id", Permission.UPLOAD_DOCUMENTS)(UploadDocumentVersion)
def upload_document_version(command: UploadDocumentVersion, unit: Unit) -> Change:
    """One more version of a document of this aire (another aire's: not found)."""
    document = unit.document(command.document_id)
    if document.aire_id != command.aire_id:
        raise DocumentNotFound("no document of that id on this aire", field="document_id")
    arguments = command.arguments("aire_id", "document_id")
    document.upload_version(**arguments, actor=command.actor, at=unit.now())
    return Change(document, {"document_id": str(document.id)})
