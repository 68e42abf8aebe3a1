"""What the ledger counts for ``/metrics`` (Prometheus, prometheus-client): receipts
issued, chains verified, months sealed. Counted where they happen — a command handled by
``Ledger.handle``, a chain checked by ``Audit`` — so that the API, its background services
and the command line count alike; the HTTP requests are counted at the edge
(``api/metrics.py``). Labels hold only kinds, payment methods, outcomes and error codes:
never an id, a name or an amount (the metrics are scraped without a token).

A counter lives in its process. Served by several workers, each counts its own and
prometheus-client's multiprocess mode adds them up (``PROMETHEUS_MULTIPROC_DIR``: ``serve``
makes one); a command-line run (``verify``, ``seal``) reaches ``/metrics`` only when it
shares that folder (docs/operations.md#metrics).
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter

from hacienda_ledger.aggregates.integrity import VerificationReport
from hacienda_ledger.application import commands as c

RECEIPTS = Counter(
    "hacienda_receipts_issued",
    "Receipts issued (idempotent replays not counted), by payment method",
    ["method"],
)
VERIFICATIONS = Counter(
    "hacienda_verifications",
    "Chains verified (register, aire, stay) and seals checked, by kind and outcome (ok or broken)",
    ["kind", "outcome"],
)
SEALS = Counter(
    "hacienda_seals",
    "Month seals asked for, by outcome: sealed, or the refusal's error code",
    ["outcome"],
)


def handled(command: c.Command, outcome: Any) -> None:
    """Count what a command recorded (a replay recorded nothing new)."""
    if outcome.replayed:
        return
    kind = type(command)
    if kind is c.IssueReceipt:
        method = getattr(command, "method", "")
        RECEIPTS.labels(str(getattr(method, "value", method))).inc()
    elif kind is c.SealMonth:
        SEALS.labels("sealed").inc()


def refused(command: c.Command, code: str) -> None:
    """Count a command refused with this error code (seals only)."""
    if type(command) is c.SealMonth:
        SEALS.labels(code).inc()


class _Counting:
    """What this process counts: a process forked to verify a share of the chains leaves
    its verifications to the process that forked it (``audit._verify_share``)."""

    verifications = True


counting = _Counting()


def verified(kind: str, report: VerificationReport) -> None:
    if counting.verifications:
        VERIFICATIONS.labels(kind, "ok" if report.ok else "broken").inc()


def seals_checked(findings: list[Any]) -> None:
    VERIFICATIONS.labels("seals", "broken" if findings else "ok").inc()
