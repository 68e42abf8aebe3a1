"""Liveness and readiness (no authentication)."""

from __future__ import annotations

from fastapi import APIRouter

from hacienda_ledger.api.deps import LedgerDep
from hacienda_ledger.api.problems import ProblemError
from hacienda_ledger.application import outage

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    """The process is alive."""
    return {"status": "alive"}


@router.get("/ready")
def ready(ledger: LedgerDep) -> dict[str, str | int]:
    """The database answers (within ``ready_timeout_seconds``): returns the last stream
    position."""
    try:
        position = outage.probe(ledger, ledger.settings.ready_timeout_seconds)
    except Exception as exc:  # any database failure means not ready
        raise ProblemError(
            503, "not_ready", f"database unreachable: {type(exc).__name__}"
        ) from None
    return {"status": "ready", "position": position}
