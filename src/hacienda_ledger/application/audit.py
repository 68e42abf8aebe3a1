"""The auditor's tools: every chain verified (registers, aires, stays, seals), and a
register's history as of any instant.

Verification reads the stored rows and decodes their JSON without the event classes (no
upcasting), so an edited row is a finding, not a crash, and an event upcast later still
verifies against the bytes hashed when it was recorded (see verification.py for the fast
path that vouches for plain rows, and the prefixes found intact before).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from hacienda_ledger.aggregates.aire import Aire
from hacienda_ledger.aggregates.document import Document
from hacienda_ledger.aggregates.errors import (
    AireNotFound,
    AttestationKeyMissing,
    DocumentNotFound,
    InterventionNotFound,
    NotFound,
    RegisterNotFound,
    SealNotFound,
    StayNotFound,
)
from hacienda_ledger.aggregates.integrity import (
    GENESIS,
    ChainLink,
    VerificationReport,
    intact_report,
    topic_of,
    verify_chain,
)
from hacienda_ledger.aggregates.intervention import Intervention
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.aggregates.seal import ChainHead, Seals
from hacienda_ledger.aggregates.stay import Stay
from hacienda_ledger.aggregates.stored_form import chain_links, stored_links
from hacienda_ledger.aggregates.values import Totals
from hacienda_ledger.application import attestations, chain_rows, metrics, seal_checks
from hacienda_ledger.application.forked import Shared, can_fork
from hacienda_ledger.application.seal_checks import SealFinding
from hacienda_ledger.application.verification import (
    Row,
    VerifiedPrefixes,
    vouched,
    vouched_link,
)
from hacienda_ledger.settings import Settings

if TYPE_CHECKING:
    from hacienda_ledger.application.ledger import Ledger


_ADMITTED = topic_of(Aire.StayAdmitted)
_LINKED = topic_of(Aire.InterventionLinked)
_ATTACHED = topic_of(Aire.RegisterAttached)
_DOCUMENTS = topic_of(Aire.DocumentLinked)

CHAINS: dict[str, tuple[type, type[NotFound]]] = {
    "register": (CashRegister, RegisterNotFound),
    "aire": (Aire, AireNotFound),
    "stay": (Stay, StayNotFound),
    "intervention": (Intervention, InterventionNotFound),
    "document": (Document, DocumentNotFound),
}
"""Every kind of chain: its aggregate class, and the error for an id that is not one."""
BATCHES = {"stay": 200, "intervention": 200}
"""Chains of a kind read that many at a time by ``verify_each`` (one otherwise): a stay is a
short chain (about 15 events), a query each would cost more than verifying it."""
_MONTH_CLOSED = topic_of(CashRegister.MonthClosed)


class Audit:
    """Verification of registers' chains, and registers as they stood at an instant."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.verified = VerifiedPrefixes()
        self._queries: Any = None

    def use_queries(self, queries: Any) -> None:
        """Read figures through these projection queries (the API process's own followers)
        rather than followers of the audit's own."""
        self._queries = queries

    def queries(self) -> Any:
        """The projection queries figures are read through (``use_queries``, else the
        audit's own)."""
        from hacienda_ledger.application.projecting import ProjectionQueries

        if self._queries is None:
            self._queries = ProjectionQueries(self.ledger)
        return self._queries

    def figures(self, aire_id: UUID, month: str) -> dict[str, str]:
        """The digests of the month's figures (``projecting.month_digests``)."""
        from hacienda_ledger.application.projecting import month_digests

        return month_digests(self.queries(), aire_id, month)

    def verify_register(
        self,
        register_id: UUID,
        *,
        anchor: tuple[int, str] | None = None,
        through_version: int | None = None,
    ) -> VerificationReport:
        """Check a register's stored events and their chain; problems are values."""
        return self.verify_rows(
            register_id, self.register_rows(register_id, through_version), anchor=anchor
        )

    def verify_chain_of(self, aggregate_id: UUID, kind: str) -> VerificationReport:
        """Check the chain of one aggregate of ``kind`` (``CHAINS``)."""
        return self.verify_rows(aggregate_id, self.register_rows(aggregate_id, None), kind=kind)

    def verify_rows(
        self,
        register_id: UUID,
        rows: Sequence[Row],
        *,
        anchor: tuple[int, str] | None = None,
        kind: str = "register",
    ) -> VerificationReport:
        """``verify_register`` (or ``verify_chain_of`` another kind) of rows already read
        (``register_rows``)."""
        cls, not_found = CHAINS[kind]
        prefix = topic_of(cls) + "."
        if not any(topic.startswith(prefix) for _, topic, _ in rows):
            raise not_found(f"no {kind} {register_id}")
        # Rows byte-identical to a prefix found intact before are intact: only the rest is
        # decoded and hashed (see application/verification.py, VerifiedPrefixes).
        skip, after = 0, None
        if anchor is None:
            skip, after = self.verified.trusted(register_id, rows)
        rest = rows[skip:]
        fast, stored_form = self._vouched(register_id, rest, kind)
        # The common case, every row intact and chained: its report without a ChainLink per
        # row. Anything else (and an anchor) goes through verify_chain, which names it.
        report = intact_report(fast, after=after) if anchor is None else None
        hashes: list[str | None] = [h[2] if h else None for h in fast]
        if report is None:
            links = [
                vouched_link(row, h) if h else self._decoded_link(register_id, row)
                for row, h in zip(rest, fast, strict=True)
            ]
            report = verify_chain(links, anchor=anchor, after=after)
            hashes = [link.stored_hash for link in links]
        # a chain vouched for by its bytes alone gains nothing from checkpoints: their digest
        # costs what hashing its rows does
        if report.ok and anchor is None and not stored_form:
            self.verified.remember(register_id, rows, hashes, skip)
        metrics.verified(kind, report)
        return report

    def verify_registers(
        self, register_ids: Sequence[UUID], *, jobs: int = 1, kind: str = "register"
    ) -> list[tuple[UUID, VerificationReport]]:
        """``verify_register`` of each (or ``verify_chain_of`` each of another ``kind``), in
        the order given; ``jobs`` > 1 shares them between
        that many processes (one core each: a chain is verified on its own). The
        others are forked from this one and open their own connections; the checkpoints
        they leave (``VerifiedPrefixes``) stay in them, those of this process's share here.
        Where processes cannot be forked, this process verifies them all."""
        ids = list(register_ids)
        share = [ids[k::jobs] for k in range(jobs)] if jobs > 1 else [ids]
        share = [s for s in share if s]
        if len(share) <= 1 or not can_fork():
            reports = self.verify_each(ids, kind=kind)
            return [(i, reports[i]) for i in ids]
        others = Shared(_verify_share, [(self.ledger.settings, part, kind) for part in share[1:]])
        try:
            reports = self.verify_each(share[0], kind=kind)
        finally:
            found = others.results()
        for part in found:
            reports.update(part)
            for report in part.values():  # verified in another process: counted here
                metrics.verified(kind, report)
        for i in ids:  # what another process could not verify is verified (or raises) here
            if i not in reports:
                reports[i] = self.verify_chain_of(i, kind)
        return [(i, reports[i]) for i in ids]

    def verify_each(
        self, register_ids: Sequence[UUID], *, skip_failures: bool = False, kind: str = "register"
    ) -> dict[UUID, VerificationReport]:
        """``verify_register`` of each in turn, in this process. Short chains (stays) are read
        by batches of ``BATCHES[kind]``, one query each, rather than one query a chain. On
        PostgreSQL the next batch is read by another thread while one is verified: reading is
        mostly waiting for the server (measured: a quarter of its time on this thread's CPU),
        verifying is all CPU (``bench replay --replay-only verify``: +17 %). SQLite's reads
        are this process's own CPU: read in turn. A chain that cannot be verified (unknown, a
        read that fails) raises, or with ``skip_failures`` is left out."""
        ids = list(dict.fromkeys(register_ids))
        size = BATCHES.get(kind, 1)
        batches = [ids[k : k + size] for k in range(0, len(ids), size)]
        reports: dict[UUID, VerificationReport] = {}
        with ThreadPoolExecutor(1, "verify-read") as reader:
            reads = None
            if self.ledger.settings.is_postgres:
                reads = chain_rows.reads_ahead(reader, self.chains_rows, batches)
            for batch in batches:
                try:
                    rows = self.chains_rows(batch) if reads is None else next(reads).result()
                except Exception:
                    if not skip_failures:
                        raise
                    continue
                for chain_id in batch:
                    try:
                        reports[chain_id] = self.verify_rows(chain_id, rows[chain_id], kind=kind)
                    except Exception:
                        if not skip_failures:
                            raise
        return reports

    def chains_rows(self, chain_ids: Sequence[UUID]) -> dict[UUID, list[Row]]:
        """``register_rows`` of each of ``chain_ids`` (an empty list for one with no row), in
        one query (``chain_rows.rows_of_each``)."""
        if len(chain_ids) == 1:
            return {chain_ids[0]: self.register_rows(chain_ids[0], None)}
        return chain_rows.rows_of_each(self.ledger, chain_ids)

    def register_rows(self, register_id: UUID, through_version: int | None) -> list[Row]:
        """A chain's stored rows as ``(version, topic, state)`` tuples, in version order
        (``chain_rows.rows_of``)."""
        return chain_rows.rows_of(self.ledger, register_id, through_version)

    def _vouched(
        self, register_id: UUID, rows: Sequence[Row], kind: str
    ) -> tuple[list[tuple[int, str, str] | None], bool]:
        """``(version, prev_hash, hash)`` of each row the fast ways vouch for (its stored
        form, ``stored_form.stored_links``: not a register's, chained in the canonical form;
        else its plain JSON, ``verification.vouched``), None for the others (and for all
        when a cipher or compressor wraps the stored bytes); and whether every row was
        vouched for by its stored form."""
        mapper = self.ledger.mapper
        if mapper.cipher or mapper.compressor:
            return [None] * len(rows), False
        originator = str(register_id)
        if kind == "register":
            return [vouched(originator, row) for row in rows], False
        found = chain_links(originator, rows)
        if all(found):
            return found, True
        return [
            h if h else vouched(originator, row) for row, h in zip(rows, found, strict=True)
        ], False

    def _decoded_link(self, register_id: UUID, row: Row) -> ChainLink:
        """One stored row as a chain link, through the transcoder (the slow way)."""
        version, topic, data = row
        mapper = self.ledger.mapper
        try:
            if mapper.cipher:
                data = mapper.cipher.decrypt(data)
            if mapper.compressor:
                data = mapper.compressor.decompress(data)
            state = mapper.transcoder.decode(data)
            reencoded = mapper.transcoder.encode(state) == data
            state.pop("class_version", None)
            fields = dict(state, originator_id=register_id, originator_version=version)
            if "hash" not in fields:  # recorded before its class was chained: as upcast
                stored = StoredEvent(register_id, version, topic, row[2])
                fields = dict(vars(mapper.to_domain_event(stored)))
            # hashed in its stored form: its hash is that of its bytes (otherwise the
            # canonical form decides, and names a mismatch)
            links = stored_links(topic, str(register_id), version, data)
            computed = None if links is None else links[1]
            return ChainLink(version, topic, fields, fields.get("hash"), reencoded, computed)
        except Exception:  # any row that does not decode is a finding
            return ChainLink(version, topic, None, None)

    # --- monthly seals ------------------------------------------------------------------------

    def digest(self, aggregate_id: UUID, through_version: int | None = None) -> tuple[int, str]:
        """The version reached and the SHA-256 of an aggregate's stored rows up to it
        (version, topic and stored bytes of each): what a seal records of a chain."""
        sha = hashlib.sha256()
        version = 0
        for version, topic, state in self.register_rows(aggregate_id, through_version):
            sha.update(f"{version}\x1f{topic}\x1f".encode())
            sha.update(bytes(state))
        return version, sha.hexdigest()

    def stays_of(self, aire_id: UUID) -> list[UUID]:
        """Every stay ever admitted on the aire, read from the aire's own stored events."""
        return self._named_by(aire_id, _ADMITTED, "stay_id")

    def interventions_of(self, aire_id: UUID) -> list[UUID]:
        """Every intervention recorded on the aire, read from the aire's own stored events."""
        return self._named_by(aire_id, _LINKED, "intervention_id")

    def documents_of(self, aire_id: UUID) -> list[UUID]:
        """Every document uploaded on the aire, read from the aire's own stored events."""
        return self._named_by(aire_id, _DOCUMENTS, "document_id")

    def _named_by(self, aire_id: UUID, topic: str, field: str) -> list[UUID]:
        """The ids ``field`` of the aire's stored events of ``topic`` (rows that no longer
        decode are left out: the aire's chain reports them)."""
        decode = self.ledger.mapper.transcoder.decode
        found: dict[UUID, None] = {}
        for _, stored_topic, state in self.register_rows(aire_id, None):
            if stored_topic == topic:
                try:
                    found[decode(state)[field]] = None
                except Exception:
                    continue
        return list(found)

    def verify_aire(
        self, aire_id: UUID
    ) -> tuple[list[tuple[str, UUID, VerificationReport]], list[SealFinding]]:
        """Everything an auditor checks for one aire: its chain, each of its registers'
        (attached to it), of its stays' (admitted on it), of its interventions' and documents'
        (linked on it), and its seals."""
        chains = [("aire", aire_id, self.verify_chain_of(aire_id, "aire"))]
        registers = self._named_by(aire_id, _ATTACHED, "register_id")
        chains += [("register", r, self.verify_register(r)) for r in registers]
        stays = list(self.stays_of(aire_id))
        verified = self.verify_each(stays, kind="stay")  # by batches, as ``verify`` reads them
        chains += [("stay", x, verified[x]) for x in stays]
        interventions = self.interventions_of(aire_id)
        verified = self.verify_each(interventions, kind="intervention")
        chains += [("intervention", x, verified[x]) for x in interventions]
        documents = self.documents_of(aire_id)
        chains += [("document", d, self.verify_chain_of(d, "document")) for d in documents]
        return chains, self.verify_seals(aire_id)

    def heads(self, aire: Aire, registers: Sequence[CashRegister]) -> tuple[ChainHead, ...]:
        """The head of every chain of the aire now: the aire, its registers (their hash
        chain's head), its stays, its interventions, its documents (since 2026-12: a seal
        of an earlier software version has none, ``seal_checks``); and the technical
        journal's and the access log's (their tails anchored by the seal)."""
        found = [ChainHead(aire.id, "aire", *self.digest(aire.id))]
        found += [ChainHead(r.id, "register", r.version, r.head_hash) for r in registers]
        found += [ChainHead(s, "stay", *self.digest(s)) for s in self.stays_of(aire.id)]
        found += [
            ChainHead(i, "intervention", *self.digest(i)) for i in self.interventions_of(aire.id)
        ]
        found += [ChainHead(d, "document", *self.digest(d)) for d in self.documents_of(aire.id)]
        logs = (self.ledger.journal.head(), self.ledger.access_log.head())
        return (*found, *(h for h in logs if h is not None))

    def month_closure(self, register_id: UUID, month: str) -> str | None:
        """The hash of the register's closure of ``month`` (its totals by revenue type and
        method and its perpetual grand total, in its chain), if it closed it."""
        decode = self.ledger.mapper.transcoder.decode
        for _, topic, state in self.register_rows(register_id, None):
            if topic == _MONTH_CLOSED:
                fields = decode(state)
                if fields["start"].isoformat()[:7] == month:
                    return str(fields["hash"])
        return None

    def seal_events(self, aire_id: UUID) -> list[Seals.MonthSealed]:
        """The aire's seals, oldest first (none before its first)."""
        return [
            event
            for event in self.ledger.events.get(Seals.id_for(aire_id))
            if isinstance(event, Seals.MonthSealed)
        ]

    def attestation(self, aire_id: UUID, month: str) -> dict[str, Any]:
        """The signed attestation of the aire's seal of ``month`` (see attestations.py)."""
        for seal in self.seal_events(aire_id):
            if seal.month == month:
                key = attestations.load_key(self.ledger.settings.attestation_key)
                return attestations.attestation(aire_id, seal, key)
        raise SealNotFound(f"aire {aire_id} has no seal of {month}", field="month")

    def attestation_hash(self, aire_id: UUID, month: str) -> str | None:
        """The hash of the attestation of the aire's seal of ``month``
        (``attestations.attestation_hash``), or None when no attestation key is configured
        (no key file where the ``attestation_key`` setting points)."""
        try:
            document = self.attestation(aire_id, month)
        except AttestationKeyMissing:
            return None
        return attestations.attestation_hash(document)

    def verify_seals(self, aire_id: UUID) -> list[SealFinding]:
        """Every seal of the aire checked against the store: the seals' own chain, each
        chain head a seal recorded recomputed from the stored events (a head the store no
        longer reaches is ``truncated``, another digest ``rewritten``), and the month's
        figures recomputed (``figures_changed``). Problems are values."""
        rows = self.register_rows(Seals.id_for(aire_id), None)
        if not rows:
            return []
        links = [self._decoded_link(Seals.id_for(aire_id), row) for row in rows[1:]]
        chain = verify_chain(links, after=(1, GENESIS))
        findings = [
            SealFinding("", Seals.id_for(aire_id), p.kind, p.detail) for p in chain.problems
        ]
        for link in links:
            if link.fields is None:
                continue
            month = str(link.fields["month"])
            for head in link.fields["heads"]:
                findings += seal_checks.check_head(self, month, head)
            findings += seal_checks.check_figures(self, aire_id, month, link.fields["digests"])
        metrics.seals_checked(findings)
        return findings

    def verify_attested(self, document: dict[str, Any]) -> list[SealFinding]:
        """The store against one attestation kept outside it: the seal it attests is there
        with the same hash, every chain reaches the attested head with the same content
        (a register's chain: the attested head hash), and no event was slipped in after a
        head with a recorded time before the seal."""
        aire_id, month = UUID(document["aire_id"]), str(document["month"])
        seals = {e.month: e for e in self.seal_events(aire_id)}
        findings = []
        seal = seals.get(month)
        if seal is None:
            findings.append(SealFinding(month, Seals.id_for(aire_id), "seal_missing", "no seal"))
        elif seal.hash != document["seal_hash"]:
            detail = f"the stored seal's hash {seal.hash} is not the attested one"
            findings.append(SealFinding(month, Seals.id_for(aire_id), "seal_rewritten", detail))
        sealed_at = datetime.fromisoformat(document["sealed_at"])
        for raw in document["heads"]:
            head = ChainHead(UUID(raw["aggregate_id"]), raw["kind"], raw["version"], raw["digest"])
            findings += seal_checks.check_head(self, month, head)
            findings += seal_checks.appended_before(self, month, head, sealed_at)
        return findings

    def register_history(self, register_id: UUID, as_of: datetime) -> dict[str, Any]:
        """An auditor's replay: the register rebuilt from its own events up to ``as_of``,
        with its chain verified up to there (no projection table is read)."""
        register = self.register_as_of(register_id, as_of)
        report = self.verify_register(register_id, through_version=register.version)
        totals, third_party = Totals(), Totals()
        for day_totals in register.daily_totals.values():
            totals = totals + day_totals
        for day_totals in register.daily_third_party.values():
            third_party = third_party + day_totals
        return {
            "register": register,
            "verification": report,
            "open_year_totals": totals,  # revenue
            "open_year_third_party": third_party,  # deposits received, apart
        }

    def register_as_of(self, register_id: UUID, as_of: datetime) -> CashRegister:
        """The register as it stood at ``as_of``: its last event recorded at or before it,
        found by binary search over versions (recorded times only grow), then loaded from
        the nearest snapshot."""
        ledger = self.ledger
        last = ledger.recorder.select_events(register_id, desc=True, limit=1)
        if not last:
            raise RegisterNotFound(f"no register {register_id}")

        def recorded(version: int) -> datetime:
            for event in ledger.events.get(register_id, gt=version - 1, lte=version):
                assert isinstance(event, CashRegister.Event | CashRegister.Opened)
                return event.timestamp
            raise RegisterNotFound(f"register {register_id} has no event {version}")

        lo, hi = 0, last[0].originator_version  # invariant: recorded(lo) <= as_of
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if recorded(mid) <= as_of:
                lo = mid
            else:
                hi = mid - 1
        if lo == 0:
            raise RegisterNotFound(f"register {register_id} did not exist at {as_of}")
        return ledger.cash_register(register_id, version=lo)


def _verify_share(settings: Settings, register_ids: list[UUID], kind: str, results: Any) -> None:
    """In a forked process: verify these chains with connections of its own (counted for
    ``/metrics`` by the process that forked it, from the reports: not here as well)."""
    from hacienda_ledger.application.ledger import Ledger

    metrics.counting.verifications = False
    ledger = Ledger(settings.model_copy(update={"create_tables": False}))
    found: dict[UUID, VerificationReport] = {}
    try:
        found = ledger.audit.verify_each(register_ids, skip_failures=True, kind=kind)
    finally:
        results.put(found)
        ledger.close()
