"""Attestations kept outside the database catch what the store alone cannot: a tail cut off,
the last events rewritten with their hashes recomputed, a forged event appended with correct
links, a whole chain rewritten with its seal — on SQLite and PostgreSQL. Without them the
chain alone vouches for a rewrite done consistently; with them every one is reported."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from hacienda_ledger.aggregates.errors import AttestationKeyMissing, SealNotFound
from hacienda_ledger.aggregates.integrity import event_hash
from hacienda_ledger.aggregates.seal import Seals
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.attestations import create_key, load_key, read_dir
from hacienda_ledger.cli import main
from tests.conftest import Clock
from tests.integration.test_seals import January
from tests.integration.test_tamper import Row, StoredRows, forged_state, stored_hash


@pytest.fixture
def sealed(ledger: Ledger, clock: Clock, tmp_path: Path) -> Iterator[tuple[January, Path]]:
    """January lived, closed and sealed; its attestation written to a folder of its own."""
    ledger.settings.attestation_key = tmp_path / "key.pem"
    assert create_key(ledger.settings.attestation_key)
    january = January(ledger, clock)
    january.seal_january()
    folder = tmp_path / "attestations"
    assert main([*cli(ledger), "attestations", "export", "--dir", str(folder)]) == 0
    yield january, folder


def cli(ledger: Ledger) -> list[str]:
    """The command line's options for this ledger's database and key."""
    key = str(ledger.settings.attestation_key)
    return ["--database-url", ledger.settings.database_url, "--attestation-key", key]


def attested(ledger: Ledger, folder: Path) -> list[str]:
    """The kinds of problem every attestation of the folder finds in the store."""
    trusted = load_key(ledger.settings.attestation_key).public_key()
    found = []
    for checked in read_dir(folder, trusted):
        assert checked.untrusted is None
        found += [f.kind for f in ledger.audit.verify_attested(checked.document)]
    return found


def rewrite(ledger: Ledger, aggregate_id: UUID, rows: StoredRows, start: int, **edit: Any) -> None:
    """Events ``start`` onwards rewritten (``edit`` applied to the first), every hash
    recomputed: a chain as valid as the original."""
    original = rows.all()
    prev = stored_hash(original[start - 2])
    for row in original[start - 1 :]:
        event = ledger.mapper.to_domain_event(
            StoredEvent(aggregate_id, row.version, row.topic, row.state)
        )
        fields = dict(vars(event), prev_hash=prev)
        if row.version == start:
            fields.update(edit)
        fields["hash"] = prev = event_hash(row.topic, fields)
        rewritten = object.__new__(type(event))
        object.__setattr__(rewritten, "__dict__", fields)
        rows.set(row.version, state=ledger.mapper.to_stored_event(rewritten).state)


@pytest.fixture
def register_rows(sealed: tuple[January, Path]) -> Iterator[StoredRows]:
    january, _ = sealed
    stored = StoredRows(january.ledger, january.site.register_id)
    yield stored
    stored.close()


def test_an_untouched_store_matches_its_attestations(
    sealed: tuple[January, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    january, folder = sealed
    (path,) = folder.glob("seal-*.json")
    document = json.loads(path.read_text(encoding="utf-8"))
    assert (document["month"], document["aire_id"]) == ("2025-01", str(january.site.aire_id))
    assert document == january.ledger.audit.attestation(january.site.aire_id, "2025-01")
    assert attested(january.ledger, folder) == []
    assert main([*cli(january.ledger), "verify", "--attestations", str(folder)]) == 0
    assert "1 attestations checked, 0 broken" in capsys.readouterr().out


def test_the_tail_cut_off_is_found(sealed: tuple[January, Path], register_rows: StoredRows) -> None:
    """The register's last two events deleted: its chain is intact, shorter; its seal's head
    is no longer reached."""
    january, folder = sealed
    for row in register_rows.all()[-2:]:
        register_rows.delete(row.version)
    assert january.ledger.audit.verify_register(january.site.register_id).ok
    assert "truncated" in attested(january.ledger, folder)


def test_the_last_event_rewritten_with_its_hash_recomputed_is_found(
    sealed: tuple[January, Path], register_rows: StoredRows
) -> None:
    january, folder = sealed
    last = register_rows.all()[-1].version
    rewrite(january.ledger, january.site.register_id, register_rows, last, actor="someone else")
    assert january.ledger.audit.verify_register(january.site.register_id).ok
    assert "hash_mismatch" in attested(january.ledger, folder)


def test_the_last_events_rewritten_with_their_hashes_recomputed_are_found(
    sealed: tuple[January, Path], register_rows: StoredRows
) -> None:
    """Events 2 onwards (every one but the opening) rewritten: a valid chain, another head."""
    january, folder = sealed
    rewrite(january.ledger, january.site.register_id, register_rows, 2, actor="someone else")
    assert january.ledger.audit.verify_register(january.site.register_id).ok
    assert "hash_mismatch" in attested(january.ledger, folder)


def test_a_forged_event_appended_with_correct_links_is_found(
    sealed: tuple[January, Path], register_rows: StoredRows
) -> None:
    """A copy of a January receipt appended after the head, chained and hashed correctly:
    recorded before the seal, after the sealed head."""
    january, folder = sealed
    rows = register_rows.all()
    receipt = next(r for r in rows if r.topic.endswith("ReceiptIssued"))
    version = rows[-1].version + 1
    state = forged_state(
        january.ledger, january.site.register_id, receipt, version, stored_hash(rows[-1])
    )
    register_rows.insert(Row(version, receipt.topic, state))
    assert january.ledger.audit.verify_register(january.site.register_id).ok
    assert "appended_before_seal" in attested(january.ledger, folder)


def test_a_whole_chain_rewritten_with_its_seal_is_found(
    sealed: tuple[January, Path], register_rows: StoredRows
) -> None:
    """The register rewritten, then its seal rewritten to record the new head and its hash
    recomputed: the store agrees with itself, not with the attestation."""
    january, folder = sealed
    ledger, aire_id = january.ledger, january.site.aire_id
    rewrite(ledger, january.site.register_id, register_rows, 2, actor="someone else")
    head = ledger.cash_register(january.site.register_id)
    seals = StoredRows(ledger, Seals.id_for(aire_id))
    try:
        (seal_row,) = [r for r in seals.all() if r.topic.endswith("MonthSealed")]
        event = ledger.mapper.to_domain_event(
            StoredEvent(Seals.id_for(aire_id), seal_row.version, seal_row.topic, seal_row.state)
        )
        heads = tuple(
            h
            if h.kind != "register"
            else type(h)(h.aggregate_id, h.kind, head.version, head.head_hash)
            for h in event.heads
        )
        fields = dict(vars(event), heads=heads)
        fields["hash"] = event_hash(seal_row.topic, fields)
        forged = object.__new__(type(event))
        object.__setattr__(forged, "__dict__", fields)
        seals.set(seal_row.version, state=ledger.mapper.to_stored_event(forged).state)
    finally:
        seals.close()
    assert ledger.audit.verify_seals(aire_id) == []  # consistent with itself
    found = attested(ledger, folder)
    assert "seal_rewritten" in found and "hash_mismatch" in found


def test_an_edited_or_foreign_attestation_is_not_trusted(
    sealed: tuple[January, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    january, folder = sealed
    (path,) = folder.glob("seal-*.json")
    document = json.loads(path.read_text(encoding="utf-8"))
    trusted = load_key(january.ledger.settings.attestation_key).public_key()
    path.write_text(json.dumps(dict(document, month="2024-12")), encoding="utf-8")
    (edited,) = read_dir(folder, trusted)
    assert edited.untrusted == "the signature does not match the document"
    other = tmp_path / "other.pem"
    create_key(other)
    (foreign,) = read_dir(folder, load_key(other).public_key())
    assert foreign.untrusted == "signed with another key than the one trusted"
    assert main([*cli(january.ledger), "verify", "--attestations", str(folder)]) == 1
    assert "UNTRUSTED" in capsys.readouterr().out


def test_an_attestation_needs_a_seal_and_a_key(
    ledger: Ledger, clock: Clock, tmp_path: Path
) -> None:
    january = January(ledger, clock)
    ledger.settings.attestation_key = tmp_path / "none.pem"
    with pytest.raises(SealNotFound):
        ledger.audit.attestation(january.site.aire_id, "2025-01")
    january.seal_january()
    with pytest.raises(AttestationKeyMissing):
        ledger.audit.attestation(january.site.aire_id, "2025-01")


def test_an_upgrade_changes_neither_the_attestation_nor_its_hash(
    sealed: tuple[January, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seal records the software version that sealed it (``MonthSealed`` v2) and the
    attestation names that one: issued again by a later version, it is the same document
    with the same hash. A seal stored before v2 (no version) names the issuing version."""
    from hacienda_ledger import __version__
    from hacienda_ledger.application import attestations

    january, _ = sealed
    aire_id = january.site.aire_id
    (seal,) = january.ledger.audit.seal_events(aire_id)
    assert seal.software_version == __version__
    before = january.ledger.audit.attestation(aire_id, "2025-01")
    monkeypatch.setattr(attestations, "__version__", "99.0.0")
    after = january.ledger.audit.attestation(aire_id, "2025-01")
    assert after == before and after["software_version"] == __version__
    assert attestations.attestation_hash(after) == attestations.attestation_hash(before)
    state: dict[str, Any] = {}
    Seals.MonthSealed.upcast_v1_v2(state)
    assert state == {"software_version": ""}


def test_a_rewritten_document_chain_is_found_and_seals_without_documents_still_verify(
    ledger: Ledger, clock: Clock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given a règlement uploaded in January and a second version, then January sealed and
    attested: the seal records the document's chain head. When the document's chain is
    rewritten from its second version on with every hash recomputed (another title: a chain
    as valid as the original), then its own chain verifies, but the seal's check and
    ``verify --attestations`` find it ``rewritten``, naming the aire, the month and the
    document. A seal recorded before seals held documents (the same seal, stored without
    the document's head and its hash recomputed, as that software sealed it) still
    verifies: it is checked for what it recorded."""
    ledger.settings.attestation_key = tmp_path / "key.pem"
    assert create_key(ledger.settings.attestation_key)
    january = January(ledger, clock)
    aire_id = january.site.aire_id
    content = b"%PDF-1.4\n% reglement\n%%EOF\n"
    digest = ledger.documents.put(content, clock())
    upload = dict(sha256=digest, size=len(content), media_type="application/pdf")
    document_id = ledger.upload_document(
        aire_id, kind="reglement_interieur", title="Règlement", filename="r.pdf",
        valid_from=clock().date(), actor="m", **upload,
    ).aggregate_id  # fmt: skip
    ledger.upload_document_version(
        aire_id, document_id, title=None, filename="r2.pdf", valid_from=clock().date(),
        actor="m", **upload,
    )  # fmt: skip
    january.seal_january()
    (seal,) = ledger.audit.seal_events(aire_id)
    assert (document_id, "document", 2) in [(h.aggregate_id, h.kind, h.version) for h in seal.heads]
    folder = tmp_path / "attestations"
    assert main([*cli(ledger), "attestations", "export", "--dir", str(folder)]) == 0
    assert ledger.audit.verify_seals(aire_id) == [] and attested(ledger, folder) == []

    rows = StoredRows(ledger, document_id)
    try:
        rewrite(ledger, document_id, rows, 2, title="Règlement (autre)")
    finally:
        rows.close()
    assert ledger.audit.verify_chain_of(document_id, "document").ok
    found = [(f.month, f.aggregate_id, f.kind) for f in ledger.audit.verify_seals(aire_id)]
    assert found == [("2025-01", document_id, "rewritten")]
    capsys.readouterr()
    assert main([*cli(ledger), "verify", "--attestations", str(folder)]) != 0
    out = capsys.readouterr().out
    assert f"attestation of aire {aire_id} month 2025-01 BROKEN" in out
    assert f"rewritten: {document_id}: the document's events up to 2" in out

    seals = StoredRows(ledger, Seals.id_for(aire_id))
    try:  # the seal as an earlier software version stored it: no document's head
        (row,) = [r for r in seals.all() if r.topic.endswith("MonthSealed")]
        event = ledger.mapper.to_domain_event(
            StoredEvent(Seals.id_for(aire_id), row.version, row.topic, row.state)
        )
        heads = tuple(h for h in event.heads if h.kind != "document")
        fields = dict(vars(event), heads=heads, software_version="0.18.0")
        fields["hash"] = event_hash(row.topic, fields)
        older = object.__new__(type(event))
        object.__setattr__(older, "__dict__", fields)
        seals.set(row.version, state=ledger.mapper.to_stored_event(older).state)
    finally:
        seals.close()
    assert ledger.audit.verify_seals(aire_id) == []
