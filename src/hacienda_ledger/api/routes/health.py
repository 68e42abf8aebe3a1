"""Liveness and readiness (no authentication)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from hacienda_ledger.api.deps import LedgerDep
from hacienda_ledger.api.problems import PROBLEM_JSON, problem
from hacienda_ledger.application import outage, projector

router = APIRouter(tags=["health"])

NOT_READY = {
    503: {
        "description": "not ready (`not_ready`): the database does not answer, the projector "
        "is down, or a projection is behind by more than the threshold; the body says which "
        "(with `lags` and `projector` when the database answered)",
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        "headers": {
            "Retry-After": {
                "description": "seconds to wait before asking again",
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    }
}


@router.get("/health")
def health() -> dict[str, str]:
    """The process is alive."""
    return {"status": "alive"}


@router.get("/ready", responses=NOT_READY)  # type: ignore[arg-type]
def ready(request: Request, ledger: LedgerDep) -> Any:
    """The database answers (within ``ready_timeout_seconds``), the projector runs and every
    projection is within ``HACIENDA_READY_MAX_LAG`` positions of the stream: the last stream
    position, each projection's lag (positions behind it) and the projector's state."""
    queries, settings = request.app.state.queries, request.app.state.settings
    retry = {"Retry-After": str(settings.retry_after_seconds)}
    try:
        # a database away: 503 at once; the position it read is the one the lags are of
        position = outage.probe(ledger, settings.ready_timeout_seconds)
        state = projector.watch(
            ledger, queries.runner, list(queries.followers), settings, position=position
        )
    except Exception as exc:  # any database failure means not ready
        detail = f"database unreachable: {type(exc).__name__}"
        return problem(503, "not_ready", detail, headers=retry)
    reasons = state.not_ready(settings.ready_max_lag)
    if reasons:
        detail = "; ".join(reasons)
        return problem(503, "not_ready", detail, headers=retry, extensions=state.body())
    return {"status": "ready", **state.body()}
