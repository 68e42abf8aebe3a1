"""The request body's size, bounded before anything reads it.

A body larger than ``max_body_bytes`` (a setting, 1 MiB by default) is ``413
body_too_large``, an RFC 9457 problem: when the request says its length
(``Content-Length``), at once, without reading a byte of it; when it does not (chunked), as
soon as what has arrived passes the limit, before it is parsed. Nothing is recorded. The
largest legitimate body (a household with 30 members, a tariff with its seasons) is a few
kilobytes.

A plain ASGI middleware, as ``logs.RequestLog`` and for the same reason (Starlette's
``BaseHTTPMiddleware`` costs more than a receipt's own work): a request with a length within
the limit goes through untouched.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hacienda_ledger.api.problems import problem

CODE = "body_too_large"


def _detail(limit: int) -> str:
    return f"the request body is larger than {limit} bytes"


class BodyLimit:
    """Refuse a body over ``max_bytes`` with 413 ``body_too_large``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _content_length(scope)
        if length is not None:
            if length > self.max_bytes:
                await problem(413, CODE, _detail(self.max_bytes))(scope, receive, send)
                return
            await self.app(scope, receive, send)  # the server holds the body to its length
            return
        await self.app(scope, self._counting(receive), send)

    def _counting(self, receive: Receive) -> Receive:
        """``receive`` that stops a body without a length once it passes the limit (the
        route's body parsing turns the exception into the problem: ``problems.py``)."""
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise HTTPException(413, _detail(self.max_bytes))
            return message

        return counted


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
