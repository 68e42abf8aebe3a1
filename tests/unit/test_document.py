"""The Document aggregate and the sniffing of uploads, given → when → then (issue 18)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from hacienda_ledger.aggregates.document import Document, sniff
from hacienda_ledger.aggregates.errors import (
    DocumentNotFound,
    InvalidPeriod,
    InvalidValue,
    UnsupportedDocumentType,
)

AT = datetime(2025, 1, 6, 8, tzinfo=UTC)
SHA_1, SHA_2 = "a" * 64, "b" * 64


def reglement(**overrides: object) -> Document:
    fields: dict[str, object] = dict(
        document_id=uuid4(), aire_id=uuid4(), kind="reglement_interieur", title=" RI ",
        sha256=SHA_1, size=10, media_type="application/pdf", filename="ri.pdf",
        valid_from=date(2025, 1, 1), actor="m", at=AT,
    )  # fmt: skip
    fields.update(overrides)
    return Document.upload(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("content", "media_type"),
    [
        (b"%PDF-1.7\n...", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b"\xff\xd8\xff\xe0..JFIF", "image/jpeg"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
    ],
)
def test_the_media_type_is_read_from_the_first_bytes(content: bytes, media_type: str) -> None:
    """Each accepted type is recognised by its magic number alone."""
    assert sniff(content) == media_type


@pytest.mark.parametrize(
    "content", [b"", b"hello", b"GIF89a....", b"RIFF\x10\x00\x00\x00WAVEfmt ", b" %PDF-1.4"]
)
def test_other_bytes_are_refused(content: bytes) -> None:
    """Text, a GIF, a WAV (RIFF but not WebP), a PDF not at the start: refused."""
    with pytest.raises(UnsupportedDocumentType):
        sniff(content)


def test_a_first_upload_is_version_1() -> None:
    """Given nothing, when a règlement is uploaded, then it is version 1, its title trimmed,
    in force from its first day and on."""
    document = reglement()
    assert (document.title, [v.number for v in document.versions]) == ("RI", [1])
    assert document.numbered(None) == document.current == document.versions[0]
    assert document.in_force_on(date(2024, 12, 31)) is None
    assert document.in_force_on(date(2030, 1, 1)) == document.current


def test_a_new_version_keeps_the_old_one() -> None:
    """Given version 1, when version 2 is uploaded valid from March, then both are kept:
    February's règlement is version 1, March's version 2; a third version is not found."""
    document = reglement()
    document.upload_version(
        title=None, sha256=SHA_2, size=12, media_type="application/pdf", filename="ri2.pdf",
        valid_from=date(2025, 3, 1), actor="m", at=AT,
    )  # fmt: skip
    assert [v.sha256 for v in document.versions] == [SHA_1, SHA_2]
    assert document.title == "RI"
    assert document.in_force_on(date(2025, 2, 28)).number == 1  # type: ignore[union-attr]
    assert document.in_force_on(date(2025, 3, 1)).number == 2  # type: ignore[union-attr]
    assert document.numbered(1).sha256 == SHA_1
    with pytest.raises(DocumentNotFound):
        document.numbered(3)


@pytest.mark.parametrize(
    ("overrides", "error", "field"),
    [
        ({"kind": "poster"}, InvalidValue, "kind"),
        ({"title": "  "}, InvalidValue, "title"),
        ({"sha256": "A" * 64}, InvalidValue, "sha256"),
        ({"size": 0}, InvalidValue, "file"),
        ({"media_type": "image/gif"}, UnsupportedDocumentType, "file"),
        ({"valid_to": date(2024, 12, 31)}, InvalidPeriod, "valid_to"),
    ],
)
def test_bad_uploads_are_refused(
    overrides: dict[str, object], error: type[Exception], field: str
) -> None:
    """An unknown kind, a blank title, a hash that is not one, an empty file, a type not
    accepted, a validity ending before it starts: refused, naming the field."""
    with pytest.raises(error) as raised:
        reglement(**overrides)
    assert raised.value.field == field  # type: ignore[attr-defined]
