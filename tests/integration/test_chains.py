"""The aire's and the stays' events are chained like a register's, on SQLite and PostgreSQL.

An aire with its tariff, closures and stays (arrival, readings, charges, extension,
departure) is lived through the Ledger; then stored rows are changed behind its back with
plain SQL, and verification — ``Audit.verify_aire``, ``hacienda-ledger verify`` and the
auditor's ``GET /v1/aires/{id}/verify`` — must name the chain and its first broken link.
Events recorded before the chain existed (version-1 payloads) still verify, linked by
their content; an unchained event recorded since is a forgery.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent
from fastapi.testclient import TestClient

from hacienda_ledger.aggregates.aire import Aire
from hacienda_ledger.aggregates.errors import StayNotFound
from hacienda_ledger.aggregates.integrity import CHAINED_SINCE, GENESIS, event_hash, topic_of
from hacienda_ledger.aggregates.stay import Extension, Granted, Stay
from hacienda_ledger.aggregates.stored_form import stored_links
from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger
from hacienda_ledger.application import audit as audit_module
from hacienda_ledger.application.projecting import followers
from hacienda_ledger.demo import run_verify
from tests.conftest import Clock, Site
from tests.integration.test_tamper import Row, StoredRows


class Lived:
    """A site with two stays: one departed (charged, read, extended), one still there."""

    def __init__(self, ledger: Ledger, clock: Clock) -> None:
        self.ledger, self.site = ledger, Site(ledger)
        self.aire_id = self.site.aire_id
        self.stay_id = self.site.arrive("1")
        clock.advance(days=5)
        ledger.record_meter_reading(
            self.stay_id, meter="water", index=Decimal("104"), read_at=clock(), actor="c"
        )
        ledger.assess_charges(self.stay_id, through=clock().date(), actor="c")
        self.other_id = self.site.arrive("2")
        clock.advance(days=2)
        ledger.depart(
            self.stay_id,
            departed_at=clock(),
            exit_inspection_ref="EDL-S-1",
            water_index=Decimal("106"),
            electricity_index=Decimal("2010"),
            actor="c",
        )

    def verified(self) -> dict[tuple[str, UUID], tuple[int, str] | None]:
        """Each chain of the aire: None when intact, else its first broken link."""
        chains, _ = self.ledger.audit.verify_aire(self.aire_id)
        return {
            (kind, chain_id): (None if r.ok else (r.problems[0].version, r.problems[0].kind))
            for kind, chain_id, r in chains
        }


@pytest.fixture
def lived(ledger: Ledger, clock: Clock) -> Lived:
    return Lived(ledger, clock)


@pytest.fixture
def stay_rows(ledger: Ledger, lived: Lived) -> Iterator[StoredRows]:
    rows = StoredRows(ledger, lived.stay_id)
    yield rows
    rows.close()


@pytest.fixture
def aire_rows(ledger: Ledger, lived: Lived) -> Iterator[StoredRows]:
    rows = StoredRows(ledger, lived.aire_id)
    yield rows
    rows.close()


def version_of(rows: StoredRows, topic_suffix: str) -> Row:
    return next(r for r in rows.all() if r.topic.endswith(topic_suffix))


def edited(row: Row, old: str, new: str) -> bytes:
    assert old in row.state.decode()
    return row.state.decode().replace(old, new, 1).encode()


def broken(lived: Lived) -> dict[tuple[str, UUID], tuple[int, str]]:
    return {k: v for k, v in lived.verified().items() if v is not None}


def verify_cli(ledger: Ledger) -> tuple[int, str]:
    out = io.StringIO()
    code = run_verify(ledger.settings, register=None, out=out, jobs=1)
    return code, out.getvalue()


# --- intact chains ----------------------------------------------------------------------


def test_every_event_of_the_aire_and_its_stays_is_linked_to_the_one_before(
    ledger: Ledger, lived: Lived
) -> None:
    """Each stored event's hash is the hash of its stored row (``stored_form``: its bytes,
    its own hash left out), and its prev_hash the hash of the event before it (the genesis
    hash for the first): the aire, both stays, the register all verify, and ``verify`` says
    so for every kind of chain."""
    for aggregate_id in (lived.aire_id, lived.stay_id, lived.other_id):
        events = list(ledger.events.get(aggregate_id))
        assert [e.prev_hash for e in events] == [GENESIS, *(e.hash for e in events[:-1])]
        rows = ledger.audit.register_rows(aggregate_id, None)
        stored = [stored_links(topic, str(aggregate_id), v, state) for v, topic, state in rows]
        assert stored == [(e.prev_hash, e.hash) for e in events]
    assert ledger.stay(lived.other_id).head_hash == events[-1].hash
    verified = lived.verified()
    assert sorted(kind for kind, _ in verified) == ["aire", "register", "stay", "stay"]
    assert set(verified.values()) == {None}
    code, text = verify_cli(ledger)
    assert code == 0
    assert "1 aires verified" in text and "2 stays verified" in text


# --- tampering ----------------------------------------------------------------------------


def test_a_stays_charge_edited_in_the_store_is_found_at_that_event(
    ledger: Ledger, lived: Lived, stay_rows: StoredRows
) -> None:
    """A charge's amount edited (no seal, no attestation needed): the stay's chain is broken
    at that event; ``verify`` exits 1 naming the stay and the event."""
    row = version_of(stay_rows, "ChargesAssessed")
    stay_rows.set(row.version, state=edited(row, '"total_cents":', '"total_cents":9'))
    assert broken(lived) == {("stay", lived.stay_id): (row.version, "hash_mismatch")}
    code, text = verify_cli(ledger)
    assert code == 1
    assert f"stay {lived.stay_id} BROKEN at event {row.version}: hash_mismatch" in text


def test_a_tariff_edited_in_the_store_is_found_at_that_event(
    ledger: Ledger, lived: Lived, aire_rows: StoredRows
) -> None:
    row = version_of(aire_rows, "TariffAdopted")
    aire_rows.set(
        row.version,
        state=edited(row, '"pitch_fee_per_day_cents":', '"pitch_fee_per_day_cents":9'),
    )
    assert broken(lived) == {("aire", lived.aire_id): (row.version, "hash_mismatch")}
    code, text = verify_cli(ledger)
    assert code == 1
    assert f"aire {lived.aire_id} BROKEN at event {row.version}: hash_mismatch" in text


def test_an_edit_with_its_hash_recomputed_breaks_the_next_link(
    ledger: Ledger, lived: Lived, stay_rows: StoredRows
) -> None:
    """The forger recomputes the edited event's own hash: the next event's prev_hash no
    longer matches it."""
    row = version_of(stay_rows, "MeterRead")
    event = ledger.mapper.to_domain_event(
        StoredEvent(lived.stay_id, row.version, row.topic, row.state)
    )
    fields = dict(vars(event))
    fields["actor"] = "someone else"
    fields["hash"] = event_hash(row.topic, fields)
    forged = object.__new__(type(event))
    object.__setattr__(forged, "__dict__", fields)
    stay_rows.set(row.version, state=ledger.mapper.to_stored_event(forged).state)
    assert broken(lived) == {("stay", lived.stay_id): (row.version + 1, "broken_link")}


def test_an_event_deleted_from_the_aire_breaks_the_link_of_the_next(
    lived: Lived, aire_rows: StoredRows
) -> None:
    """An emplacement's addition deleted: the event after it no longer links to the one
    before it (and, renumbered down to hide the gap, no longer hashes to its own hash)."""
    rows = aire_rows.all()
    added = next(r for r in rows if r.topic.endswith("EmplacementAdded"))
    aire_rows.delete(added.version)
    assert broken(lived) == {("aire", lived.aire_id): (added.version + 1, "version_gap")}
    renumbered = [r for r in rows if r.version < added.version] + [
        Row(r.version - 1, r.topic, r.state) for r in rows if r.version > added.version
    ]
    aire_rows.replace_all(renumbered)
    report = lived.ledger.audit.verify_chain_of(lived.aire_id, "aire")
    assert {p.kind for p in report.problems if p.version == added.version} == {
        "hash_mismatch",
        "broken_link",
    }


def test_stays_read_by_batches_report_what_each_stay_verified_alone_reports(
    ledger: Ledger, lived: Lived, stay_rows: StoredRows, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``verify_each`` reads stays' rows several chains to a query (batches of two here, so
    that chains share a read and batches follow one another; on PostgreSQL the next batch is
    read ahead): each stay gets the report verifying it alone gives, a tampered one's and
    one whose every row was deleted included, once per id; a stay with no row, or an id
    that is no stay's, raises, or with ``skip_failures`` is left out and the chains after
    it are still verified."""
    more = [lived.site.arrive(str(k)) for k in (3, 4)]
    row = version_of(stay_rows, "MeterRead")
    stay_rows.set(row.version, state=edited(row, '"meter":"water"', '"meter":"gas"'))
    monkeypatch.setitem(audit_module.BATCHES, "stay", 2)
    ids = [more[0], lived.stay_id, lived.other_id, more[1], more[0]]
    expected = {i: ledger.audit.verify_chain_of(i, "stay") for i in ids}
    assert expected == ledger.audit.verify_each(ids, kind="stay")
    assert list(ledger.audit.verify_each(ids, kind="stay")) == list(dict.fromkeys(ids))
    assert [i for i, r in expected.items() if not r.ok] == [lived.stay_id]
    assert expected[lived.stay_id].problems[0].version == row.version
    gone = StoredRows(ledger, more[1])
    try:
        gone.replace_all([])
    finally:
        gone.close()
    for missing in (more[1], lived.aire_id):
        asked = [lived.other_id, missing, more[0]]
        with pytest.raises(StayNotFound):
            ledger.audit.verify_each(asked, kind="stay")
        found = ledger.audit.verify_each(asked, skip_failures=True, kind="stay")
        assert {i: expected[i] for i in (lived.other_id, more[0])} == found


def test_the_auditors_route_names_the_first_broken_link(
    ledger: Ledger, lived: Lived, stay_rows: StoredRows
) -> None:
    """``GET /v1/aires/{id}/verify``: intact, then with a stay's charge edited."""
    _, token = ledger.create_user(
        name="auditrice", role="auditor", collectivite_id=lived.site.collectivite_id, actor="admin"
    )
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(ledger.settings, ledger=ledger)) as client:
        intact = client.get(f"/v1/aires/{lived.aire_id}/verify", headers=headers)
        assert intact.status_code == 200, intact.text
        assert intact.json()["ok"] is True
        assert {c["kind"] for c in intact.json()["chains"]} == {"aire", "register", "stay"}
        row = version_of(stay_rows, "ChargesAssessed")
        stay_rows.set(row.version, state=edited(row, '"total_cents":', '"total_cents":9'))
        found = client.get(f"/v1/aires/{lived.aire_id}/verify", headers=headers).json()
    assert found["ok"] is False
    (bad,) = [c for c in found["chains"] if not c["ok"]]
    assert (bad["kind"], bad["id"], bad["first_broken_version"]) == (
        "stay",
        str(lived.stay_id),
        row.version,
    )


# --- events from before the chain -----------------------------------------------------


def unchained_copy(row: Row) -> bytes:
    """The stored bytes of ``row`` as its class's first version wrote them: no links."""
    state = json.loads(row.state)
    for key in ("prev_hash", "hash", "class_version"):
        state.pop(key, None)
    if row.topic.endswith("EmplacementAdded"):
        state.pop("in_service_from", None)
    return json.dumps(state, separators=(",", ":")).encode()


def test_events_recorded_before_the_chain_still_verify_and_are_held_by_the_next(
    ledger: Ledger, clock: Clock, tmp_path: object
) -> None:
    """An aire whose first events were stored before chains existed (version-1 payloads,
    recorded in 2025): it verifies, its next event links to the old one's content hash,
    and an edit of an old event breaks that link."""
    clock.now = datetime(2025, 3, 3, 9, tzinfo=UTC)
    site = Site(ledger, code="49007-B")
    rows = StoredRows(ledger, site.aire_id)
    # The rows an older version stored are read by a process started since (this one keeps
    # the aire it wrote in hand between commands, as it keeps registers).
    ledger = Ledger(ledger.settings, clock=clock)
    try:
        old = rows.all()
        rows.replace_all([Row(r.version, r.topic, unchained_copy(r)) for r in old])
        aire = ledger.aire(site.aire_id)
        ledger.add_emplacement(site.aire_id, number="5", actor="manager")
        (latest,) = list(ledger.events.get(site.aire_id, gt=aire.version))
        assert latest.prev_hash == aire.head_hash != ""
        assert ledger.audit.verify_chain_of(site.aire_id, "aire").ok
        first = rows.all()[1]
        rows.set(first.version, state=edited(first, '"number":"1"', '"number":"9"'))
        report = ledger.audit.verify_chain_of(site.aire_id, "aire")
        assert (report.problems[0].version, report.problems[0].kind) == (
            len(old) + 1,
            "broken_link",
        )
    finally:
        rows.close()
        ledger.close()


def test_an_unchained_event_recorded_since_chains_exist_is_a_forgery(
    ledger: Ledger, lived: Lived, stay_rows: StoredRows
) -> None:
    """A whole stay rewritten without links, as if it were from before the chain: its
    events were recorded after ``CHAINED_SINCE`` (the clock here is in 2025, so the
    recorded times are moved), and the first is reported."""
    rows = stay_rows.all()
    forged = []
    for r in rows:
        state = json.loads(unchained_copy(r))
        state["timestamp"] = {"_type_": "datetime_iso", "_data_": CHAINED_SINCE.isoformat()}
        forged.append(Row(r.version, r.topic, json.dumps(state, separators=(",", ":")).encode()))
    stay_rows.replace_all(forged)
    assert broken(lived)[("stay", lived.stay_id)] == (1, "hash_mismatch")


def test_erasing_a_household_keeps_every_chain_verifiable(ledger: Ledger, lived: Lived) -> None:
    """Stays name the household by id only: erasing its personal data changes no chained
    event."""
    stay = ledger.stay(lived.stay_id)
    ledger.erase_household(stay.household_ref, reason="request", actor="manager")
    assert set(lived.verified().values()) == {None}
    assert verify_cli(ledger)[0] == 0


def test_every_event_class_of_the_aire_and_the_stay_reads_old_payloads_unchained() -> None:
    """Each aire and stay event class carries its links from the version that added them
    (or from its first, for a class added since); a payload of the version before is read
    with both links empty."""
    for cls in (Aire, Stay):
        for name, event_class in vars(cls).items():
            if not (isinstance(event_class, type) and issubclass(event_class, cls.Event)):
                continue
            if name in {"Event", "Created"}:
                continue
            added = []  # what each upcast adds, from version 1
            for version in range(1, getattr(event_class, "class_version", 1)):
                state: dict[str, object] = {}
                getattr(event_class, f"upcast_v{version}_v{version + 1}")(state)
                added.append(state)
            born_chained = not added  # a class added since: its version 1 is chained
            assert born_chained or {"prev_hash": "", "hash": ""} in added, name
    assert datetime(2026, 12, 5, tzinfo=UTC) == CHAINED_SINCE


def test_an_extension_stored_with_its_why_before_the_chain_keeps_its_link_and_shows_no_why(
    ledger: Ledger, clock: Clock
) -> None:
    """A stay whose extension was stored by version 1 (no links, the reason and evidence in
    clear): the stay links it by its old content, as the release that chained stays did, so
    the event chained after it still verifies; and the why is read nowhere (the stay's
    extensions and the projection hold the dates only)."""
    clock.now = datetime(2025, 3, 3, 9, tzinfo=UTC)
    site = Site(ledger, code="49007-C")
    stay_id = site.arrive("1")
    until = datetime(2025, 6, 30).date()
    ledger.extend_stay(stay_id, reason="work", evidence_ref="CDD-OLD", until=until, actor="m")
    rows = StoredRows(ledger, stay_id)
    try:
        old = []
        for r in rows.all():
            state = json.loads(unchained_copy(r))
            if r.topic.endswith("Stay.Extended"):  # version 1's shape, why in clear
                why = {"reason": "work", "evidence_ref": "CDD-OLD", "until": state["until"]}
                extension = {"_type_": "Extension", "_data_": why}
                state = {k if k != "until" else "extension": v for k, v in state.items()}
                state["extension"] = extension
            old.append(Row(r.version, r.topic, json.dumps(state, separators=(",", ":")).encode()))
        rows.replace_all(old)
        opened = ledger.repository.get(stay_id, version=1)
        extended = ledger.events.get(stay_id, gt=1)
        (event,) = list(extended)
        # the link the release that chained stays computed (its class: version 2)
        fields = {
            "originator_id": stay_id,
            "originator_version": 2,
            "timestamp": event.timestamp,
            "prev_hash": "",
            "hash": "",
            "extension": Extension("work", "CDD-OLD", until),
            "actor": "m",
        }
        expected = event_hash(topic_of(Stay.Extended), dict(fields, prev_hash=opened.head_hash))
        stay = ledger.stay(stay_id)
        assert stay.head_hash == expected
        assert stay.extensions == (Granted(2, event.timestamp, until),)
        ledger.record_meter_reading(
            stay_id, meter="water", index=Decimal("101"), read_at=clock(), actor="c"
        )
        assert ledger.audit.verify_chain_of(stay_id, "stay").ok
        (occupancy,) = followers(ledger, ["occupancy"])
        occupancy.catch_up()
        assert [r["reason"] for r in occupancy.rows("occupancy_extensions")] == ["granted"]
    finally:
        rows.close()


def test_verify_finds_a_document_whose_stored_bytes_changed(ledger: Ledger, lived: Lived) -> None:
    """Given an aire's règlement uploaded, ``verify`` checks its chain and its stored bytes
    (exit 0); once the bytes are changed in ``document_contents``, it names the hash whose
    bytes no longer match and exits 1 (issue 18)."""
    content = b"%PDF-1.4\n%%EOF\n"
    digest = ledger.documents.put(content, ledger.now())
    ledger.upload_document(
        lived.aire_id, kind="reglement_interieur", title="RI", sha256=digest,
        size=len(content), media_type="application/pdf", filename="ri.pdf",
        valid_from=ledger.now().date(), actor="m",
    )  # fmt: skip
    assert [k for k, _ in lived.verified() if k == "document"] == ["document"]
    assert set(lived.verified().values()) == {None}
    code, text = verify_cli(ledger)
    assert code == 0, text
    assert "1 documents' bytes verified, 0 broken" in text
    assert "1 documents verified" in text
    ledger.documents.sql.execute(
        "UPDATE document_contents SET content = ? WHERE sha256 = ?", (b"%PDF-1.7\n", digest)
    )
    code, text = verify_cli(ledger)
    assert code == 1
    assert f"document bytes {digest} BROKEN" in text
