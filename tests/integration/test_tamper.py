"""Tampering with a register's stored events is detected, on SQLite and PostgreSQL.

A register of 15 events is posted through the Ledger; then its stored rows are changed
behind the application's back with plain SQL (a byte of any event, a deleted, swapped or
inserted event, a rewritten chain) and ``verify_register`` must say the register is not
intact and name the first broken event and what is wrong with it. Every change is undone
before the next one, and the register verifies again at the end.

The changes are enumerated deterministically (every row, every pair, every position; byte
positions on a stride): hypothesis does not mix with function-scoped database fixtures.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple
from uuid import UUID

import psycopg
import pytest
from eventsourcing.persistence import StoredEvent

from hacienda_ledger.aggregates.errors import RegisterNotFound
from hacienda_ledger.aggregates.integrity import GENESIS, VerificationReport, event_hash
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.application import Ledger
from hacienda_ledger.application import audit as ledger_module
from hacienda_ledger.application.verification import VerifiedPrefixes
from tests.conftest import Clock, Site

# Byte positions tried per row: those with (position + version) % BYTE_STRIDE == 0, so the
# rows together cover every residue. BYTE_STRIDE = 1 tries every byte of every row (about
# 7,300 changes: ~30 s on SQLite; every one was detected when last run).
BYTE_STRIDE = 5
BYTE_CHANGE_KINDS = {"undecodable", "altered_bytes", "hash_mismatch"}


class Row(NamedTuple):
    version: int
    topic: str
    state: bytes


class StoredRows:
    """Raw SQL on one aggregate's rows of the events table, on either backend (autocommit)."""

    def __init__(self, ledger: Ledger, aggregate_id: UUID) -> None:
        self.conn: Any
        if ledger.settings.is_postgres:
            self.conn = psycopg.connect(ledger.settings.database_url, autocommit=True)
            self.table, self.mark, self.key = "ledger_events", "%s", aggregate_id
        else:
            self.conn = sqlite3.connect(ledger.settings.sqlite_path, isolation_level=None)
            self.conn.execute("PRAGMA synchronous = OFF")
            self.table, self.mark, self.key = "stored_events", "?", aggregate_id.hex

    def close(self) -> None:
        self.conn.close()

    def _run(self, sql: str, *args: Any) -> list[Any]:
        cursor = self.conn.execute(sql.format(t=self.table, p=self.mark), args)
        return list(cursor.fetchall()) if cursor.description else []

    def all(self) -> list[Row]:
        rows = self._run(
            "SELECT originator_version, topic, state FROM {t} "
            "WHERE originator_id = {p} ORDER BY originator_version",
            self.key,
        )
        return [Row(v, t, bytes(s)) for v, t, s in rows]

    def set(self, version: int, *, state: bytes, topic: str | None = None) -> None:
        if topic is None:
            self._run(
                "UPDATE {t} SET state = {p} WHERE originator_id = {p} AND originator_version = {p}",
                state,
                self.key,
                version,
            )
        else:
            self._run(
                "UPDATE {t} SET state = {p}, topic = {p} "
                "WHERE originator_id = {p} AND originator_version = {p}",
                state,
                topic,
                self.key,
                version,
            )

    def delete(self, version: int) -> None:
        self._run(
            "DELETE FROM {t} WHERE originator_id = {p} AND originator_version = {p}",
            self.key,
            version,
        )

    def insert(self, row: Row) -> None:
        self._run(
            "INSERT INTO {t} (originator_id, originator_version, topic, state) "
            "VALUES ({p}, {p}, {p}, {p})",
            self.key,
            row.version,
            row.topic,
            row.state,
        )

    def shift_from(self, version: int) -> None:
        """Renumber events ``version`` onwards one up (through negatives: the key is unique)."""
        self._run(
            "UPDATE {t} SET originator_version = -(originator_version + 1) "
            "WHERE originator_id = {p} AND originator_version >= {p}",
            self.key,
            version,
        )
        self._run(
            "UPDATE {t} SET originator_version = -originator_version "
            "WHERE originator_id = {p} AND originator_version < 0",
            self.key,
        )

    def replace_all(self, rows: list[Row]) -> None:
        self._run("DELETE FROM {t} WHERE originator_id = {p}", self.key)
        for row in rows:
            self.insert(row)


def post_register_history(ledger: Ledger, site: Site, clock: Clock) -> UUID:
    """Fifteen register events: opening, deposits, receipts of every method, a cancellation,
    a refund and a withholding, counts short and over, a remittance and a day closure. The
    stays are charged before they pay, and the first leaves before its deposit goes back."""
    register = site.register_id
    first, second = site.arrive("1"), site.arrive("2")
    ledger.post_receipt(
        register, stay_id=first, method="cash", lines=[("deposit", 15000)], actor="c"
    )
    ledger.post_receipt(
        register, stay_id=second, method="cheque", lines=[("deposit", 15000)], actor="c"
    )
    clock.advance(hours=3)
    ledger.post_receipt(
        register, stay_id=None, method="card", lines=[("other", 1234), ("water", 99)], actor="c"
    )
    ledger.cancel_receipt(register, number=3, reason="wrong amount", actor="c")
    ledger.assess_charges(first, through=date(2025, 1, 12), actor="c")  # 7 days ahead: 21.00
    ledger.post_receipt(
        register, stay_id=first, method="transfer", lines=[("pitch_fee", 2100)], actor="c"
    )
    clock.advance(days=1)
    ledger.depart(
        first,
        departed_at=clock(),
        exit_inspection_ref="PV-7",
        water_index=Decimal("100"),
        electricity_index=Decimal("2000"),
        actor="c",
    )
    ledger.refund_deposit(register, stay_id=first, amount_cents=10000, method="cash", actor="c")
    ledger.withhold_deposit(
        register, stay_id=first, amount_cents=5000, reason="damage", reference="PV-7", actor="c"
    )
    ledger.count_cash(register, counted_cents=5100, actor="r")  # short: 2 events
    # the slip pays in the receipts' revenue, the deposit withheld (50.00) less the count's
    # shortfall (49.00): its movements' total (issue 15)
    ledger.remit(
        register, through_receipt=4, amounts_by_method={"cash": 100, "transfer": 2100}, actor="r"
    )
    ledger.close_period(register, period="day", day=date(2025, 1, 6), actor="r")
    clock.advance(hours=2)
    ledger.count_cash(register, counted_cents=5200, actor="r")  # over: 2 events
    ledger.record_meter_reading(
        second, meter="electricity", index=Decimal("2034.14"), read_at=clock(), actor="c"
    )
    ledger.assess_charges(second, through=date(2025, 1, 7), actor="c")
    ledger.post_receipt(
        register, stay_id=second, method="cash", lines=[("electricity", 777)], actor="c"
    )
    return register


@pytest.fixture
def register_id(ledger: Ledger, site: Site, clock: Clock) -> UUID:
    return post_register_history(ledger, site, clock)


@pytest.fixture
def rows(ledger: Ledger, register_id: UUID) -> Iterator[StoredRows]:
    stored = StoredRows(ledger, register_id)
    yield stored
    stored.close()


@contextmanager
def undone(rows: StoredRows) -> Iterator[list[Row]]:
    """Yield the register's rows; put them back as they were afterwards."""
    original = rows.all()
    try:
        yield original
    finally:
        rows.replace_all(original)


def problems_at(report: VerificationReport, version: int) -> list[str]:
    return [p.kind for p in report.problems if p.version == version]


def first(report: VerificationReport) -> tuple[int, str]:
    assert not report.ok
    problem = report.first_broken
    assert problem is not None
    return problem.version, problem.kind


def changed_byte(state: bytes, position: int, version: int) -> bytes:
    """``state`` with one byte replaced by a different one (varied by position and row)."""
    tampered = bytearray(state)
    tampered[position] = (tampered[position] + 1 + (position * 37 + version) % 255) % 256
    return bytes(tampered)


def expected_kinds(original: bytes, tampered: bytes) -> set[str]:
    """What a byte change can be reported as: bytes that are no longer JSON cannot decode;
    JSON equal to the original's is the same event in other bytes; anything else may also
    fail in the transcoder (``undecodable``) or decode to an edited event."""
    try:
        content = json.loads(tampered.decode("utf-8"))
    except ValueError:
        return {"undecodable"}
    if content == json.loads(original):
        return {"altered_bytes"}
    return BYTE_CHANGE_KINDS


def forged_state(
    ledger: Ledger, register_id: UUID, template: Row, version: int, prev: str
) -> bytes:
    """The stored state of a copy of ``template`` renumbered to ``version``, chained after
    ``prev`` and carrying its own valid hash: what a forger who knows the scheme writes."""
    event = ledger.mapper.to_domain_event(
        StoredEvent(register_id, template.version, template.topic, template.state)
    )
    fields = dict(vars(event), originator_version=version, prev_hash=prev)
    fields["hash"] = event_hash(template.topic, fields)
    forged = object.__new__(type(event))
    object.__setattr__(forged, "__dict__", fields)
    return ledger.mapper.to_stored_event(forged).state


def stored_hash(row: Row) -> str:
    value: str = json.loads(row.state)["hash"]
    return value


# --- the intact register --------------------------------------------------------------


def test_an_untouched_register_verifies(
    ledger: Ledger, register_id: UUID, rows: StoredRows
) -> None:
    """Every event is counted, the chain ends at the register's head hash, and an anchor
    taken on the head matches; an anchor naming another hash does not."""
    stored = rows.all()
    register = ledger.cash_register(register_id)
    assert len(stored) == register.version == 15
    report = ledger.audit.verify_register(register_id)
    assert report.ok, report.problems
    assert (report.events, report.head_hash) == (len(stored), register.head_hash)
    assert ledger.audit.verify_register(register_id, anchor=(15, register.head_hash)).ok
    wrong = ledger.audit.verify_register(register_id, anchor=(15, stored_hash(stored[13])))
    assert first(wrong) == (15, "hash_mismatch")


# --- (i) any byte ---------------------------------------------------------------------


def test_changing_any_byte_of_any_event_is_detected_there(
    ledger: Ledger, register_id: UUID, rows: StoredRows
) -> None:
    """One byte changed in the stored state of event v: v is the first broken event, as
    ``undecodable``, ``altered_bytes`` or ``hash_mismatch`` as the new bytes allow."""
    seen: Counter[str] = Counter()
    tried = 0
    with undone(rows) as original:
        for row in original:
            for position in range(len(row.state)):
                if (position + row.version) % BYTE_STRIDE:
                    continue
                tampered = changed_byte(row.state, position, row.version)
                rows.set(row.version, state=tampered)
                version, kind = first(ledger.audit.verify_register(register_id))
                near = tampered[max(0, position - 20) : position + 20]
                context = f"event {row.version} byte {position}: {near!r}"
                assert version == row.version, context
                assert kind in expected_kinds(row.state, tampered), (kind, context)
                seen[kind] += 1
                tried += 1
                rows.set(row.version, state=row.state)
    assert tried >= sum(len(r.state) for r in original) // BYTE_STRIDE - len(original)
    assert {"undecodable", "hash_mismatch"} <= set(seen), seen
    assert ledger.audit.verify_register(register_id).ok


def test_other_bytes_for_the_same_event_are_detected(
    ledger: Ledger, register_id: UUID, rows: StoredRows
) -> None:
    """A timestamp written with a space instead of "T" decodes to the same instant, so the
    event and its hash are unchanged: the bytes are still reported as altered."""
    with undone(rows) as original:
        for row in original:
            head, sep, tail = row.state.partition(
                b'"timestamp":{"_type_":"datetime_iso","_data_":"'
            )
            assert sep, row.state[:80]
            tampered = head + sep + tail[:10] + b" " + tail[11:]
            rows.set(row.version, state=tampered)
            assert first(ledger.audit.verify_register(register_id)) == (
                row.version,
                "altered_bytes",
            )
            rows.set(row.version, state=row.state)


# --- (ii) deletions -------------------------------------------------------------------


def test_deleting_any_event_but_the_last_is_detected_at_the_next(
    ledger: Ledger, register_id: UUID, rows: StoredRows
) -> None:
    """Event v deleted: event v + 1 is the first broken, its number skips (``version_gap``)
    and its prev_hash names a hash no longer in the chain (``broken_link``)."""
    with undone(rows) as original:
        for row in original[:-1]:
            rows.delete(row.version)
            report = ledger.audit.verify_register(register_id)
            assert first(report) == (row.version + 1, "version_gap")
            assert "broken_link" in problems_at(report, row.version + 1)
            assert report.events == len(original) - 1
            rows.insert(row)
        assert ledger.audit.verify_register(register_id).ok


def test_deleting_the_last_event_is_detected_against_an_anchor(
    ledger: Ledger, register_id: UUID, rows: StoredRows
) -> None:
    """Without the head's hash from elsewhere, a shortened chain is a valid chain; with an
    anchor taken before (a printed receipt, a closure), it is reported ``truncated``."""
    with undone(rows) as original:
        last = original[-1]
        anchor = (last.version, stored_hash(last))
        assert ledger.audit.verify_register(register_id, anchor=anchor).ok
        rows.delete(last.version)
        shortened = ledger.audit.verify_register(register_id)
        assert shortened.ok
        assert shortened.head_hash == stored_hash(original[-2])
        report = ledger.audit.verify_register(register_id, anchor=anchor)
        assert first(report) == (last.version, "truncated")


# --- (iii) swaps ----------------------------------------------------------------------


@pytest.mark.parametrize("with_topic", [False, True], ids=["state", "whole-event"])
def test_swapping_any_two_events_is_detected_at_the_first(
    ledger: Ledger, register_id: UUID, rows: StoredRows, with_topic: bool
) -> None:
    """The stored states (or whole events: topic and state) of events i < j exchanged:
    event i is the first broken, its content hashing to something else at its place."""
    with undone(rows) as original:
        for i, low in enumerate(original):
            for high in original[i + 1 :]:
                rows.set(low.version, state=high.state, topic=high.topic if with_topic else None)
                rows.set(high.version, state=low.state, topic=low.topic if with_topic else None)
                report = ledger.audit.verify_register(register_id)
                assert first(report) == (low.version, "hash_mismatch"), (low, high)
                assert "broken_link" in problems_at(report, low.version)
                rows.set(low.version, state=low.state, topic=low.topic)
                rows.set(high.version, state=high.state, topic=high.topic)
        assert ledger.audit.verify_register(register_id).ok


# --- (iv) insertions ------------------------------------------------------------------


def test_inserting_a_forged_event_anywhere_is_detected_at_the_next(
    ledger: Ledger, register_id: UUID, rows: StoredRows
) -> None:
    """A forged receipt with a valid hash of its own slipped in at v (later events numbered
    one up): the forgery itself checks out, but the event it displaced no longer hashes to
    its stored hash at v + 1 and does not link to the forgery."""
    with undone(rows) as original:
        receipt = next(r for r in original if r.topic.endswith("ReceiptIssued"))
        for row in original:
            prev = GENESIS if row.version == 1 else stored_hash(original[row.version - 2])
            template = original[0] if row.version == 1 else receipt
            forgery = Row(
                row.version,
                template.topic,
                forged_state(ledger, register_id, template, row.version, prev),
            )
            rows.shift_from(row.version)
            rows.insert(forgery)
            report = ledger.audit.verify_register(register_id)
            assert report.events == len(original) + 1
            assert problems_at(report, row.version) == []
            assert first(report) == (row.version + 1, "hash_mismatch")
            assert "broken_link" in problems_at(report, row.version + 1)
            rows.replace_all(original)
        assert ledger.audit.verify_register(register_id).ok


def test_rewriting_the_chain_after_an_edit_is_detected_against_an_anchor(
    ledger: Ledger, register_id: UUID, rows: StoredRows
) -> None:
    """A receipt's amount edited and every later hash recomputed is a valid chain again:
    only an anchor taken before (here, the head) shows it, as a hash mismatch there."""
    with undone(rows) as original:
        anchor = (original[-1].version, stored_hash(original[-1]))
        target = next(r for r in original if r.topic.endswith("ReceiptIssued"))
        prev = stored_hash(original[target.version - 2])
        for row in original[target.version - 1 :]:
            event = ledger.mapper.to_domain_event(
                StoredEvent(register_id, row.version, row.topic, row.state)
            )
            fields = dict(vars(event), prev_hash=prev)
            if row is target:
                assert isinstance(event, CashRegister.ReceiptIssued)
                lines = [dataclasses.replace(line, amount_cents=100) for line in event.lines]
                fields.update(lines=lines, total_cents=100 * len(lines))
            fields["hash"] = prev = event_hash(row.topic, fields)
            rewritten = object.__new__(type(event))
            object.__setattr__(rewritten, "__dict__", fields)
            rows.set(row.version, state=ledger.mapper.to_stored_event(rewritten).state)
        assert ledger.audit.verify_register(register_id).ok
        report = ledger.audit.verify_register(register_id, anchor=anchor)
        assert first(report) == (anchor[0], "hash_mismatch")


# --- an auditor's own process ---------------------------------------------------------


@pytest.mark.parametrize("tampering", ["undecodable", "deleted", "swapped"])
def test_a_fresh_application_reports_tampering_instead_of_raising(
    ledger: Ledger, register_id: UUID, rows: StoredRows, clock: Clock, tampering: str
) -> None:
    """The auditor verifies from a new process, with no aggregate cached: an event that
    does not decode, is missing or holds another's content is reported, not raised."""
    original = rows.all()
    fifth, ninth = original[4], original[8]
    if tampering == "undecodable":
        rows.set(fifth.version, state=fifth.state[:-3])
        expected = (fifth.version, "undecodable")
    elif tampering == "deleted":
        rows.delete(fifth.version)
        expected = (fifth.version + 1, "version_gap")
    else:
        rows.set(fifth.version, state=ninth.state)
        rows.set(ninth.version, state=fifth.state)
        expected = (fifth.version, "hash_mismatch")
    auditor = Ledger(ledger.settings, clock=clock)
    try:
        assert first(auditor.audit.verify_register(register_id)) == expected
    finally:
        auditor.close()


def test_verifying_an_id_that_is_not_a_register_is_refused(
    ledger: Ledger, site: Site, register_id: UUID
) -> None:
    """A stay's id is not a register: verification says so, it does not report tampering."""
    stay_id = site.arrive("3")
    try:
        report = ledger.audit.verify_register(stay_id)
    except RegisterNotFound:
        return
    raise AssertionError(f"a stay verified as a register: {report.problems[:2]}")


# --- the fast way and the transcoder agree ----------------------------------------------


def test_the_fast_way_reports_what_the_transcoder_alone_reports(
    ledger: Ledger, register_id: UUID, rows: StoredRows, monkeypatch: pytest.MonkeyPatch
) -> None:
    """For a changed byte anywhere (on a stride), a deleted or swapped event, the report of
    verification as it runs (plain JSON first, intact chains reported without building
    links), cold and after a clean verification (a prefix vouched for by digest), is
    exactly the report of the transcoder reading every row."""

    ledger.audit.verified = VerifiedPrefixes(interval=4)
    assert ledger.audit.verify_register(register_id).ok
    clean = ledger.audit.verified  # checkpoints of the intact register, every 4 events

    def reports() -> list[VerificationReport]:
        ledger.audit.verified = clean
        warm = ledger.audit.verify_register(register_id)
        ledger.audit.verified = VerifiedPrefixes()
        cold = ledger.audit.verify_register(register_id)
        with monkeypatch.context() as slow_only:
            slow_only.setattr(ledger_module, "vouched", lambda originator_id, row: None)
            ledger.audit.verified = VerifiedPrefixes()
            slow = ledger.audit.verify_register(register_id)
        return [warm, cold, slow]

    warm, cold, slow = reports()
    assert warm == cold == slow and slow.ok
    with undone(rows) as original:
        for row in original:
            for position in range(row.version % 11, len(row.state), 11):
                rows.set(row.version, state=changed_byte(row.state, position, row.version))
                warm, cold, slow = reports()
                assert warm == cold == slow, (row.version, position)
                rows.set(row.version, state=row.state)
        rows.delete(original[6].version)
        warm, cold, slow = reports()
        assert warm == cold == slow and not slow.ok
        rows.replace_all(original)
        rows.set(original[3].version, state=original[4].state)
        rows.set(original[4].version, state=original[3].state)
        warm, cold, slow = reports()
        assert warm == cold == slow and not slow.ok


def test_registers_verified_by_several_processes_report_what_one_process_reports(
    ledger: Ledger, site: Site, clock: Clock, register_id: UUID, rows: StoredRows
) -> None:
    """``verify_registers(jobs=2)`` (the other half forked) gives each register the report
    verifying it here gives — a tampered one's problems included — in the order asked;
    an id that is no register's raises as it does here."""
    others = [Site(ledger, code=f"49007-{k}").register_id for k in range(3)]
    for other in others:
        ledger.post_receipt(other, stay_id=None, method="cash", lines=[("other", 300)], actor="c")
    stored = rows.all()
    rows.set(5, state=changed_byte(stored[4].state, 40, 5))
    ids = [others[0], register_id, *others[1:]]
    alone = ledger.audit.verify_registers(ids)
    shared = ledger.audit.verify_registers(ids, jobs=2)
    assert [i for i, _ in shared] == ids
    assert shared == alone
    assert not dict(shared)[register_id].ok and all(dict(shared)[o].ok for o in others)
    stay_id = site.arrive("3")
    with pytest.raises(RegisterNotFound):
        ledger.audit.verify_registers([others[0], stay_id], jobs=2)


def test_registers_verified_in_turn_with_reads_ahead_report_what_each_reports(
    ledger: Ledger, site: Site, register_id: UUID, rows: StoredRows
) -> None:
    """``verify_each`` (the next register's rows read while one is verified) gives each
    register the report ``verify_register`` gives it, a tampered one's included, once per
    id; an id that is no register's raises, or with ``skip_failures`` is left out and the
    registers after it are still verified."""
    others = [Site(ledger, code=f"49008-{k}").register_id for k in range(3)]
    for other in others:
        ledger.post_receipt(other, stay_id=None, method="cash", lines=[("other", 300)], actor="c")
    stored = rows.all()
    rows.set(3, state=changed_byte(stored[2].state, 30, 7))
    ids = [others[0], register_id, *others[1:], others[0]]
    expected = {i: ledger.audit.verify_register(i) for i in ids}
    assert expected == ledger.audit.verify_each(ids)
    assert list(ledger.audit.verify_each(ids)) == list(dict.fromkeys(ids))
    assert not expected[register_id].ok
    stay_id = site.arrive("4")
    with pytest.raises(RegisterNotFound):
        ledger.audit.verify_each([others[0], stay_id, others[1]])
    found = ledger.audit.verify_each([others[0], stay_id, others[1]], skip_failures=True)
    assert {others[0]: expected[others[0]], others[1]: expected[others[1]]} == found


def test_a_register_whose_rows_cannot_be_read_is_left_out_and_the_next_still_verified(
    ledger: Ledger, register_id: UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With reads ahead (PostgreSQL) a failed read surfaces when its register's turn comes:
    it raises, or with ``skip_failures`` that register alone is left out."""
    others = [Site(ledger, code=f"49009-{k}").register_id for k in range(2)]
    expected = {i: ledger.audit.verify_register(i) for i in others}
    read = ledger.audit.register_rows

    def failing(asked: UUID, through_version: int | None) -> list[Any]:
        if asked == register_id:
            raise ConnectionError("the server went away")
        return read(asked, through_version)

    monkeypatch.setattr(ledger.audit, "register_rows", failing)
    ids = [others[0], register_id, others[1]]
    with pytest.raises(ConnectionError):
        ledger.audit.verify_each(ids)
    assert expected == ledger.audit.verify_each(ids, skip_failures=True)
