"""structlog: JSON lines outside a terminal, one canonical line per request.

The request line holds request id, method, path, status, duration, user id, role and the
aire or register named by the path. No personal data: bodies are never logged.

The request line is written by a plain ASGI middleware: Starlette's ``BaseHTTPMiddleware``
(``@app.middleware("http")``) runs every request through an extra task and memory streams,
which cost more CPU than a receipt's whole ledger work (measured with py-spy, issue 6).
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Told of each request once answered: method, route template (None: no route matched),
#: path, status, seconds.
Observer = Callable[[str, str | None, str, int, float], None]


def configure(json: bool | None = None) -> None:
    as_json = (not sys.stderr.isatty()) if json is None else json
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.format_exc_info,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )


class RequestLog:
    """Echo (or give) an ``X-Request-ID`` and log one line per HTTP request."""

    def __init__(self, app: ASGIApp, observe: Observer | None = None) -> None:
        self.app = app
        self.log = structlog.get_logger("hacienda_ledger.http")
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _header(scope, b"x-request-id") or uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        scope.setdefault("state", {})
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            user: Any = scope["state"].get("user")
            params = scope.get("path_params", {})
            self.log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round(seconds * 1000, 2),
                user=str(user.id) if user else None,
                role=user.role.value if user else None,
                aire=params.get("aire_id"),
                register=params.get("register_id"),
                stay=params.get("stay_id"),
            )
            if self.observe is not None:
                route = getattr(scope.get("route"), "path", None)
                self.observe(scope["method"], route, scope["path"], status, seconds)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            text: str = value.decode("latin-1")
            return text[:200]
    return None


def install(app: FastAPI, observe: Observer | None = None) -> None:
    """The request line; ``observe`` (``metrics.observe``) is told of each request too."""
    app.add_middleware(RequestLog, observe=observe)
