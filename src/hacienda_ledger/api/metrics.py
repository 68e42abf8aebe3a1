"""``GET /metrics``: the service's metrics in Prometheus's text format (prometheus-client).

HTTP requests are counted where they are logged (``logs.RequestLog`` calls ``observe``),
labelled by the route's template (``/v1/registers/{register_id}/receipts``, never the path
itself: no id reaches a label), the method and the status class (``2xx``...); a path no
route matches is ``unmatched``. ``/metrics``, ``/health`` and ``/ready`` (what scrapers
and probes call) are left out. Receipts, verifications and seals are counted by the application
(``application/metrics.py``); each projection's lag and the projector's state are read
from the database at each scrape.

No authentication: scraped on an internal network, like ``/health``; nothing in it names a
person, an aire, a register or a token (docs/operations.md#metrics). With several workers
(``PROMETHEUS_MULTIPROC_DIR`` set), each worker's counts are added up from that folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from hacienda_ledger.application import projector

REQUESTS = Counter(
    "hacienda_http_requests",
    "HTTP requests answered, by method, route template and status class",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "hacienda_http_request_duration_seconds",
    "Time from a request's arrival to its answer's last byte, by method, route template "
    "and status class",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
UNCOUNTED = frozenset({"/metrics", "/health", "/ready"})
#: Each label set's counter and histogram, once made (a few per route template and method).
_COUNTED: dict[tuple[str, str, str], tuple[Any, Any]] = {}

router = APIRouter(tags=["health"])


def observe(method: str, route: str | None, path: str, status: int, seconds: float) -> None:
    """Count one HTTP request and its time (called by ``logs.RequestLog`` once it is
    answered, beside its log line: one middleware times a request, not two)."""
    if path in UNCOUNTED:
        return
    labels = (method, route or "unmatched", f"{status // 100}xx")
    counted = _COUNTED.get(labels)
    if counted is None:  # ``labels()`` looks up and locks: 9.5 µs a request, 3.7 kept
        counted = _COUNTED.setdefault(labels, (REQUESTS.labels(*labels), LATENCY.labels(*labels)))
    counted[0].inc()
    counted[1].observe(seconds)


class ProjectionsCollector(Collector):
    """Each projection's lag and the projector's state, read when scraped."""

    def __init__(self, state: projector.ProjectorState | None) -> None:
        self.state = state

    def collect(self) -> Iterable[Any]:
        readable = GaugeMetricFamily(
            "hacienda_projections_readable",
            "1 when the projections' positions could be read at this scrape, else 0",
        )
        readable.add_metric([], 0 if self.state is None else 1)
        yield readable
        if self.state is None:
            return
        lag = GaugeMetricFamily(
            "hacienda_projection_lag",
            "Stream positions a projection is behind the stream's last one",
            labels=["projection"],
        )
        for name, behind in sorted(self.state.lags.items()):
            lag.add_metric([name], behind)
        yield lag
        up = GaugeMetricFamily(
            "hacienda_projector_up",
            "1 when the projector runs (its thread alive, or its heartbeat recent), else 0",
            labels=["mode"],
        )
        up.add_metric([self.state.mode], 1 if self.state.running else 0)
        yield up
        if self.state.heartbeat_age is not None:
            age = GaugeMetricFamily(
                "hacienda_projector_heartbeat_age_seconds",
                "Seconds since the projector process last beat (database clock)",
            )
            age.add_metric([], self.state.heartbeat_age)
            yield age


def _counted() -> CollectorRegistry:
    """The counters: this process's, or every worker's from the multiprocess folder."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def _state(request: Request) -> projector.ProjectorState | None:
    """The projector's state, None when the database does not answer."""
    queries = request.app.state.queries
    try:
        ledger, settings = request.app.state.ledger, request.app.state.settings
        return projector.watch(ledger, queries.runner, list(queries.followers), settings)
    except Exception:  # the database away: the counters are still worth scraping
        return None


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus's text format (no authentication: see the module's docstring)."""
    scraped = CollectorRegistry()
    scraped.register(ProjectionsCollector(_state(request)))
    body = generate_latest(_counted()) + generate_latest(scraped)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def install(app: FastAPI) -> None:
    app.include_router(router)
