"""Verifying again after a clean verification decodes only what it cannot vouch for by the
bytes' digest — and still finds every change — on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger
from hacienda_ledger.application import audit as ledger_module
from hacienda_ledger.application.verification import Row, VerifiedPrefixes
from hacienda_ledger.application.watch import ChainWatch
from tests.conftest import Clock, Site
from tests.integration.test_locks import eventually
from tests.integration.test_tamper import (
    StoredRows,
    changed_byte,
    first,
    post_register_history,
    undone,
)


@pytest.fixture
def register_id(ledger: Ledger, site: Site, clock: Clock) -> UUID:
    ledger.audit.verified = VerifiedPrefixes(interval=4)
    return post_register_history(ledger, site, clock)


@pytest.fixture
def rows(ledger: Ledger, register_id: UUID) -> Iterator[StoredRows]:
    stored = StoredRows(ledger, register_id)
    yield stored
    stored.close()


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The versions verification decoded (instead of vouching for them by digest)."""
    seen: list[int] = []
    fast = ledger_module.vouched

    def counting(originator_id: str, row: Row) -> tuple[int, str, str] | None:
        seen.append(row[0])
        return fast(originator_id, row)

    monkeypatch.setattr(ledger_module, "vouched", counting)
    return seen


def test_a_second_verification_decodes_nothing_and_says_the_same(
    ledger: Ledger, register_id: UUID, decoded: list[int]
) -> None:
    first_report = ledger.audit.verify_register(register_id)
    assert first_report.ok and decoded == list(range(1, 16))
    decoded.clear()
    again = ledger.audit.verify_register(register_id)
    assert again == first_report
    assert decoded == []
    # As of an earlier version: the checkpoints up to there (every 4 events) vouch.
    decoded.clear()
    earlier = ledger.audit.verify_register(register_id, through_version=10)
    assert earlier.ok and earlier.events == 10 and decoded == [9, 10]


def test_new_events_are_the_only_ones_decoded(
    ledger: Ledger, site: Site, register_id: UUID, decoded: list[int]
) -> None:
    assert ledger.audit.verify_register(register_id).ok
    for k in range(3):
        site.ledger.post_receipt(
            register_id,
            stay_id=None,
            method="cash",
            lines=[("other", 100 + k)],
            actor="c",
            idempotency_key=f"more-{k}",
        )
    decoded.clear()
    report = ledger.audit.verify_register(register_id)
    assert report.ok and report.events == 18
    assert decoded == [16, 17, 18]
    assert report.head_hash == ledger.cash_register(register_id).head_hash


@pytest.mark.parametrize("version", [2, 7, 10, 15])
def test_a_change_after_a_clean_verification_is_found_where_it_is(
    ledger: Ledger, register_id: UUID, rows: StoredRows, decoded: list[int], version: int
) -> None:
    """Change one byte of one row after a clean verification: the prefix vouched for stops at
    the last checkpoint before that row, and the change is reported at that row."""
    assert ledger.audit.verify_register(register_id).ok
    with undone(rows) as original:
        row = original[version - 1]
        middle = len(row.state) // 2
        rows.set(version, state=changed_byte(row.state, middle, version))
        decoded.clear()
        found = first(ledger.audit.verify_register(register_id))
        assert found[0] == version
        assert decoded[0] == (version - 1) // 4 * 4 + 1
        # Still found on the next verification (a failed one adds no checkpoint).
        assert first(ledger.audit.verify_register(register_id))[0] == version
    assert ledger.audit.verify_register(register_id).ok


def test_deleting_a_row_after_a_clean_verification_is_found(
    ledger: Ledger, register_id: UUID, rows: StoredRows
) -> None:
    assert ledger.audit.verify_register(register_id).ok
    with undone(rows):
        rows.delete(6)
        report = ledger.audit.verify_register(register_id)
        assert not report.ok
        assert report.first_broken is not None and report.first_broken.version == 7
    assert ledger.audit.verify_register(register_id).ok


def test_the_watch_reports_every_register_and_a_broken_one(
    ledger: Ledger, register_id: UUID, rows: StoredRows
) -> None:
    reports: dict[UUID, bool] = {}
    watch = ChainWatch(ledger, lambda r, report: reports.__setitem__(r, report.ok))
    assert watch.run_once() == 1 and reports == {register_id: True}
    with undone(rows) as original:
        rows.set(5, state=changed_byte(original[4].state, 30, 5))
        watch.run_once()
        assert reports == {register_id: False}


def test_the_service_verifies_at_start(ledger: Ledger, register_id: UUID) -> None:
    """Started with the API, the watch leaves checkpoints: the first history an auditor asks
    for is already fast."""
    app = create_app(ledger.settings.model_copy(update={"run_projections": False}), ledger)
    with TestClient(app):
        assert eventually(lambda: register_id in ledger.audit.verified._checkpoints)
