"""What a seal recorded, checked against the store now (``Audit.verify_seals`` and
``Audit.verify_attested``): each chain head it recorded, the month's figures, and events
slipped in after an attested head.

A seal records the head of every chain of its aire (the aire, its registers, its stays, its
interventions) and, since the technical journal, the heads of the journal and of the
personal-data access log (kinds ``journal`` and ``access_log``): both tables' tails are then
anchored by the seal, and by its signed attestation outside the database. Since issue 18's
last pieces it records its documents' chains too (kind ``document``: the versions of each
document, their hashes of the bytes): a seal of an earlier software version
(``MonthSealed.software_version``) has none, and is checked for what it recorded — its
content is versioned by the software that sealed it, never rewritten. The documents it did
not anchor are still held by the aire's chain (their ``DocumentLinked``), and by the next
seal. A head the store no longer reaches is
``truncated``, another content ``rewritten`` (a register's chain: the problems its anchored
verification names).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from hacienda_ledger.aggregates.seal import ChainHead

if TYPE_CHECKING:
    from hacienda_ledger.application.audit import Audit


@dataclass(frozen=True)
class SealFinding:
    """One problem found with a seal: the month sealed (empty for the seals' own chain),
    the aggregate, a stable kind and a detail."""

    month: str
    aggregate_id: UUID
    kind: str
    detail: str


def check_figures(
    audit: Audit, aire_id: UUID, month: str, sealed: dict[str, str]
) -> list[SealFinding]:
    """The month's figures recomputed now against the digests sealed: a forged event or
    a drifted projection changes them."""
    now = audit.figures(aire_id, month)
    return [
        SealFinding(month, aire_id, "figures_changed", f"{name} differs from the one sealed")
        for name, digest in sorted(now.items())
        if name in sealed and sealed[name] != digest
    ]


def appended_before(
    audit: Audit, month: str, head: ChainHead, sealed_at: datetime
) -> list[SealFinding]:
    """Events after an attested head recorded before the seal: slipped in afterwards."""
    decode = audit.ledger.mapper.transcoder.decode
    findings = []
    for version, _, state in audit.register_rows(head.aggregate_id, None)[head.version :]:
        try:
            recorded = decode(state)["timestamp"]
        except Exception:  # an undecodable row is reported by the chain's own check
            continue
        if recorded < sealed_at:
            detail = f"event {version} was recorded at {recorded}, before the seal"
            findings.append(SealFinding(month, head.aggregate_id, "appended_before_seal", detail))
    return findings


def check_head(audit: Audit, month: str, head: ChainHead) -> list[SealFinding]:
    """One head a seal recorded, against the store now."""
    if head.kind in ("journal", "access_log"):
        return _check_log_head(audit, month, head)
    if head.kind == "register":
        rows = audit.register_rows(head.aggregate_id, head.version)
        if not rows:
            detail = "no event of the register is stored any more"
            return [SealFinding(month, head.aggregate_id, "truncated", detail)]
        fast = audit.verify_rows(head.aggregate_id, rows)  # the fast way, prefixes vouched
        if fast.ok and (fast.events, fast.head_hash) == (head.version, head.digest):
            return []
        report = audit.verify_rows(head.aggregate_id, rows, anchor=(head.version, head.digest))
        return [SealFinding(month, head.aggregate_id, p.kind, p.detail) for p in report.problems]
    version, digest = audit.digest(head.aggregate_id, head.version)
    return _against(
        month,
        head,
        reached=version >= head.version,
        same=digest == head.digest,
        truncated=f"the {head.kind} ends at event {version}; the seal recorded {head.version}",
        rewritten=f"the {head.kind}'s events up to {head.version} differ from those sealed",
    )


def _against(
    month: str, head: ChainHead, *, reached: bool, same: bool, truncated: str, rewritten: str
) -> list[SealFinding]:
    """``truncated`` when the store no longer reaches the head, else ``rewritten`` when what
    it holds there is not what was sealed."""
    if not reached:
        return [SealFinding(month, head.aggregate_id, "truncated", truncated)]
    if not same:
        return [SealFinding(month, head.aggregate_id, "rewritten", rewritten)]
    return []


def _check_log_head(audit: Audit, month: str, head: ChainHead) -> list[SealFinding]:
    """The technical journal's or the access log's head: the entry the seal recorded is
    still there with the same hash (the chain's own verification checks what led to it). An
    access log's row deleted since by the retention purge is no finding: the purge recorded
    the link at its last row in the journal."""
    ledger = audit.ledger
    log = ledger.journal if head.kind == "journal" else ledger.access_log
    name = "technical journal" if head.kind == "journal" else "access log"
    if head.kind == "access_log" and head.version <= ledger.access_log.purged_through():
        return []  # deleted since by retention, and the purge recorded in the journal
    stored = log.hash_at(head.version)
    return _against(
        month,
        head,
        reached=stored is not None,
        same=stored == head.digest,
        truncated=f"the {name} no longer holds entry {head.version}, which the seal recorded",
        rewritten=f"the {name}'s entry {head.version} is not the one sealed",
    )
