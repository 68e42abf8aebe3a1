"""An aire's own documents through the HTTP API (the real ASGI app), on SQLite and
PostgreSQL: uploads read back byte for byte, refusals by the bytes' type and size that store
and record nothing, versions kept, a tampered store detected on read, scopes. The world is
``api_world``'s (its clock starts on Monday 6 January 2025)."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger
from hacienda_ledger.settings import Settings
from tests.conftest import Clock
from tests.e2e.api_world import World, assert_problem, build_world

MAX = 8192  # the documents' size limit in these tests
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + bytes(range(256))
PDF_2 = PDF.replace(b"1.4", b"1.7")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, snapshot_interval=50, document_max_bytes=MAX)


@pytest.fixture
def world(settings: Settings, ledger: Ledger, clock: Clock) -> Iterator[World]:
    with TestClient(create_app(settings, ledger=ledger)) as client:
        yield build_world(client, ledger, clock)


def upload(
    world: World,
    who: str,
    content: bytes,
    *,
    aire: str | None = None,
    name: str = "reglement.pdf",
    declared: str = "application/pdf",
    path: str = "",
    key: str | None = None,
    **fields: str,
) -> httpx.Response:
    """An upload (``path="/<id>/versions"``: a new version) under ``key``, or a fresh
    Idempotency-Key (every upload takes one)."""
    data = {"kind": "reglement_interieur", "title": "Règlement intérieur",
            "valid_from": "2025-01-01", **fields}  # fmt: skip
    base = f"/v1/aires/{aire or world.aire_a}/documents{path}"
    files = {"file": (name, content, declared)}
    headers = keyed(world, who, key)
    return world.client.post(base, data=data, files=files, headers=headers)


def keyed(world: World, who: str, key: str | None = None) -> dict[str, str]:
    """The user's headers with an Idempotency-Key (a fresh one unless given)."""
    return {**world.headers(who), "Idempotency-Key": key or f"upload-{uuid.uuid4()}"}


def download(world: World, who: str, document_id: str, query: str = "") -> httpx.Response:
    return world.get(who, f"/v1/aires/{world.aire_a}/documents/{document_id}{query}")


def stored_rows(world: World) -> int:
    return len(world.ledger.documents.sql.rows("SELECT sha256 FROM document_contents"))


def test_an_upload_reads_back_byte_for_byte(world: World) -> None:
    """Given a manager's upload of a PDF, then the document lists its first version (its
    hash, size and media type), and every role that may read it downloads exactly the bytes
    sent, with their media type and their SHA-256 in ``Repr-Digest`` and
    ``X-Content-SHA256``."""
    created = world.ok(upload(world, "manager", PDF))
    digest = hashlib.sha256(PDF).hexdigest()
    current = created["current"]
    assert (created["kind"], created["title"]) == ("reglement_interieur", "Règlement intérieur")
    assert (current["number"], current["sha256"], current["size"]) == (1, digest, len(PDF))
    assert (current["media_type"], current["filename"]) == ("application/pdf", "reglement.pdf")
    assert current["uploaded_by"] == world.users["manager"]["id"]
    for who in ("manager", "admin", "cashier", "regisseur", "intervenant", "auditor"):
        got = download(world, who, created["id"])
        assert got.status_code == 200, (who, got.text)
        assert got.content == PDF
        assert got.headers["content-type"] == "application/pdf"
        assert got.headers["x-content-sha256"] == digest
        expected = base64.b64encode(hashlib.sha256(PDF).digest()).decode()
        assert got.headers["repr-digest"] == f"sha-256=:{expected}:"
    listed = world.ok(world.get("cashier", f"/v1/aires/{world.aire_a}/documents"), 200)
    assert [d["id"] for d in listed["data"]] == [created["id"]]


def test_a_new_version_keeps_the_old_one(world: World) -> None:
    """Given a règlement, when a new version is uploaded, then both are listed, the
    current one is downloaded by default and the first with ``?version=1``; a version that
    does not exist is 404 ``document_not_found``."""
    first = world.ok(upload(world, "manager", PDF))
    path = f"/{first['id']}/versions"
    second = world.ok(upload(world, "manager", PDF_2, path=path, valid_from="2025-03-01"))
    assert [v["number"] for v in second["versions"]] == [1, 2]
    assert second["current"]["sha256"] == hashlib.sha256(PDF_2).hexdigest()
    assert second["current"]["valid_from"] == "2025-03-01"
    assert download(world, "cashier", first["id"]).content == PDF_2
    old = download(world, "cashier", first["id"], "?version=1")
    assert (old.content, old.headers["x-document-version"]) == (PDF, "1")
    assert_problem(download(world, "cashier", first["id"], "?version=3"), 404, "document_not_found")


def test_the_same_bytes_are_stored_once(world: World) -> None:
    """Given the same file uploaded as two documents, then both read back, and the bytes
    are stored once (content-addressed by SHA-256)."""
    one = world.ok(upload(world, "manager", PNG, name="plan.png", kind="plan", title="Plan"))
    two = world.ok(upload(world, "admin", PNG, name="plan2.png", kind="plan", title="Plan bis"))
    assert one["current"]["media_type"] == "image/png"
    assert one["current"]["sha256"] == two["current"]["sha256"]
    assert stored_rows(world) == 1
    assert download(world, "auditor", two["id"]).content == PNG


@pytest.mark.parametrize(
    ("content", "name", "declared"),
    [
        (PNG, "reglement.pdf", "application/pdf"),  # a .pdf name holding PNG bytes
        (b"Reglement interieur\nArticle 1...\n", "reglement.pdf", "application/pdf"),
        (b"GIF89a" + bytes(32), "photo.png", "image/png"),
    ],
)
def test_the_type_is_judged_by_the_bytes(
    world: World, content: bytes, name: str, declared: str
) -> None:
    """Given a file whose name and declared type say PDF (or PNG) but whose bytes are not
    (a PNG, a text file, a GIF), then 415 ``unsupported_document_type`` — except the PNG,
    which is accepted as what its bytes say; a refusal stores and records nothing."""
    before, rows = world.position(), stored_rows(world)
    response = upload(world, "manager", content, name=name, declared=declared)
    if content is PNG:
        assert world.ok(response)["current"]["media_type"] == "image/png"
        return
    assert_problem(response, 415, "unsupported_document_type")
    assert (world.position(), stored_rows(world)) == (before, rows)


def test_a_document_over_the_limit_is_refused(world: World) -> None:
    """Given a PDF one byte over ``document_max_bytes``, then 413 ``document_too_large``
    (the route's check); one far over it, the same code before the body is read (the body
    limit of uploads); nothing stored or recorded; a PDF at the limit is accepted."""
    before, rows = world.position(), stored_rows(world)
    over = PDF + bytes(MAX + 1 - len(PDF))
    assert_problem(upload(world, "manager", over), 413, "document_too_large")
    far = PDF + bytes(MAX * 20)
    assert_problem(upload(world, "manager", far), 413, "document_too_large")
    assert (world.position(), stored_rows(world)) == (before, rows)
    world.ok(upload(world, "manager", PDF + bytes(MAX - len(PDF))))


def test_a_chunked_upload_is_stopped_at_the_limit(world: World) -> None:
    """Given an upload sent without a length (chunked), when what arrived passes the
    uploads' limit, then 413 ``document_too_large`` before it is parsed; nothing stored."""
    before, rows = world.position(), stored_rows(world)

    def chunks() -> Iterator[bytes]:
        yield b"--b\r\nContent-Disposition: form-data; name=file; filename=r.pdf\r\n\r\n"
        yield PDF
        for _ in range(200):
            yield bytes(1024)

    response = world.client.post(
        f"/v1/aires/{world.aire_a}/documents",
        content=chunks(),
        headers={**keyed(world, "manager"), "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert_problem(response, 413, "document_too_large")
    assert (world.position(), stored_rows(world)) == (before, rows)


def test_uploads_have_their_own_body_limit(database_url: str, clock: Clock) -> None:
    """Given the JSON body limit at 4 KiB and documents of up to 64 KiB, then a 60 KiB PDF
    uploads (a JSON body of 5 KiB is still 413 ``body_too_large``)."""
    settings = Settings(
        database_url=database_url, max_body_bytes=4096, document_max_bytes=64 * 1024
    )
    ledger = Ledger(settings, clock=clock)
    try:
        with TestClient(create_app(settings, ledger=ledger)) as client:
            world = build_world(client, ledger, clock)
            big = PDF + bytes(60 * 1024)
            created = world.ok(upload(world, "admin", big))
            assert download(world, "admin", created["id"]).content == big
            too_big = {"name": "x" * 5000, "role": "analyst"}
            assert_problem(world.post("admin", "/v1/users", too_big), 413, "body_too_large")
    finally:
        ledger.close()


def test_a_tampered_store_is_detected_on_read(world: World) -> None:
    """Given a document whose stored bytes are then changed in the database, when it is
    downloaded, then 500 ``document_corrupted`` and not a byte of it is served."""
    created = world.ok(upload(world, "manager", PDF))
    digest = created["current"]["sha256"]
    world.ledger.documents.sql.execute(
        "UPDATE document_contents SET content = ? WHERE sha256 = ?", (PDF_2, digest)
    )
    response = download(world, "cashier", created["id"])
    assert_problem(response, 500, "document_corrupted")
    assert PDF_2 not in response.content
    assert world.ledger.documents.check() == [digest]


def test_scopes(world: World) -> None:
    """Uploading is a manager's or an admin's; reading, every role working on the aire; an
    analyst nothing; a cashier or auditor of another aire or collectivité nothing of it; a
    document named under another aire is not found."""
    created = world.ok(upload(world, "manager", PDF))
    for who in ("cashier", "regisseur", "intervenant", "auditor", "analyst"):
        assert_problem(upload(world, who, PDF), 403, "forbidden")
    for who in ("analyst", "cashier_b", "auditor_b"):
        assert_problem(download(world, who, created["id"]), 403, "forbidden")
        listed = world.get(who, f"/v1/aires/{world.aire_a}/documents")
        assert_problem(listed, 403, "forbidden")
    elsewhere = world.get("admin", f"/v1/aires/{world.aire_b}/documents/{created['id']}")
    assert_problem(elsewhere, 404, "document_not_found")
    rows = stored_rows(world)
    versions = f"/{created['id']}/versions"
    moved = upload(world, "admin", PDF_2, aire=world.aire_b, path=versions)
    assert_problem(moved, 404, "document_not_found")
    assert_problem(upload(world, "cashier", PDF_2, path=versions), 403, "forbidden")
    assert stored_rows(world) == rows


def test_bad_fields_are_refused(world: World) -> None:
    """An unknown kind, a validity ending before it starts, no file: 422, nothing recorded
    and nothing stored."""
    before, rows = world.position(), stored_rows(world)
    bad: list[dict[str, Any]] = [
        {"kind": "poster"},
        {"valid_to": "2024-12-31"},
    ]
    for fields in bad:
        response = upload(world, "manager", PDF, **fields)
        assert response.status_code == 422, response.text
    no_file = world.client.post(
        f"/v1/aires/{world.aire_a}/documents",
        data={"kind": "plan", "title": "Plan", "valid_from": "2025-01-01"},
        headers=keyed(world, "manager"),
    )
    assert no_file.status_code == 422
    assert (world.position(), stored_rows(world)) == (before, rows)


def test_a_stay_names_the_reglement_in_force_on_its_arrival(world: World) -> None:
    """Given a règlement valid from 1 January 2025 and an arrêté, when a family arrives,
    then its stay names the règlement (document, version 1, hash) and the household's
    ``rules_acknowledged`` document of that stay names it too; after a version 2 valid from
    March, a stay arriving in March names version 2; a stay of an aire without a règlement
    names none."""
    rules = world.ok(upload(world, "manager", PDF))
    world.ok(upload(world, "manager", PNG, kind="arrete", title="Arrêté", name="a.png"))
    stay_id = world.arrive()
    stay = world.ok(world.get("cashier", f"/v1/stays/{stay_id}"), 200)
    first = {"document_id": rules["id"], "version": 1, "sha256": rules["current"]["sha256"]}
    assert stay["rules"] == first
    signed = {"kind": "rules_acknowledged", "date": world.clock().date().isoformat(),
              "reference": "RI signé", "stay_id": stay_id}  # fmt: skip
    household = world.ids["household"]
    recorded = world.ok(world.post("cashier", f"/v1/households/{household}/documents", signed))
    assert recorded["rules"] == first
    path = f"/{rules['id']}/versions"
    second = world.ok(upload(world, "manager", PDF_2, path=path, valid_from="2025-03-01"))
    world.clock.advance(days=60)  # 7 March 2025
    later = world.arrive(emplacement="2", household_ref=world.household(name="Famille Mars"))
    expected = {"document_id": rules["id"], "version": 2,
                "sha256": second["current"]["sha256"]}  # fmt: skip
    assert world.ok(world.get("cashier", f"/v1/stays/{later}"), 200)["rules"] == expected
    elsewhere = world.arrive(world.aire_b, who="cashier_b")
    assert world.ok(world.get("cashier_b", f"/v1/stays/{elsewhere}"), 200)["rules"] is None


def test_a_retried_upload_answers_the_first_and_a_reused_key_is_refused(world: World) -> None:
    """Given an upload and a new version, each under its Idempotency-Key, when each is sent
    again with the same key, bytes and fields, then the answer is the first one's (same
    document, same versions, ``Idempotent-Replayed: true``) and nothing is recorded; the
    same key with other bytes, or the same bytes and another field, is 422
    ``idempotency_key_reused`` and records nothing; without a key, 400
    ``idempotency_key_required``, nothing stored nor recorded."""
    first = upload(world, "manager", PDF, key="reglement-2025")
    created = world.ok(first)
    assert "Idempotent-Replayed" not in first.headers
    before = world.position()
    again = upload(world, "manager", PDF, key="reglement-2025")
    assert (again.status_code, again.headers.get("Idempotent-Replayed")) == (201, "true")
    assert again.json() == created
    assert world.position() == before
    for content, fields in ((PDF_2, {}), (PDF, {"title": "Règlement révisé"})):
        reused = upload(world, "manager", content, key="reglement-2025", **fields)
        assert_problem(reused, 422, "idempotency_key_reused")
    assert world.position() == before
    path = f"/{created['id']}/versions"
    versioned = world.ok(upload(world, "manager", PDF_2, path=path, key="reglement-v2"))
    before = world.position()
    retried = upload(world, "manager", PDF_2, path=path, key="reglement-v2")
    assert (retried.status_code, retried.headers.get("Idempotent-Replayed")) == (201, "true")
    assert retried.json() == versioned and len(versioned["versions"]) == 2
    other = upload(world, "manager", PNG, path=path, key="reglement-v2", declared="image/png")
    assert_problem(other, 422, "idempotency_key_reused")
    assert world.position() == before
    rows = stored_rows(world)
    for url in (f"/v1/aires/{world.aire_a}/documents", f"/v1/aires/{world.aire_a}/documents{path}"):
        files = {"file": ("r.pdf", PDF + b"x", "application/pdf")}
        data = {"kind": "plan", "title": "Plan", "valid_from": "2025-01-01"}
        bare = world.client.post(url, data=data, files=files, headers=world.headers("manager"))
        assert_problem(bare, 400, "idempotency_key_required")
    assert (world.position(), stored_rows(world)) == (before, rows)
