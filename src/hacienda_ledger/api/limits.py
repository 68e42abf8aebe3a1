"""The request body's size, bounded before anything reads it.

A body larger than ``max_body_bytes`` (a setting, 1 MiB by default) is ``413
body_too_large``, an RFC 9457 problem: when the request says its length
(``Content-Length``), at once, without reading a byte of it; when it does not (chunked), as
soon as what has arrived passes the limit, before it is parsed. Nothing is recorded. The
largest legitimate body (a household with 30 members, a tariff with its seasons) is a few
kilobytes.

An upload of an aire's document (``POST /v1/aires/{id}/documents...``, multipart) has its
own limit: ``document_max_bytes`` (10 MiB by default) plus ``FORM_OVERHEAD`` for the form's
boundaries and fields; over it, ``413 document_too_large``, the code the route gives a file
over ``document_max_bytes`` that came within the overhead.

A plain ASGI middleware, as ``logs.RequestLog`` and for the same reason (Starlette's
``BaseHTTPMiddleware`` costs more than a receipt's own work): a request with a length within
the limit goes through untouched.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hacienda_ledger.api.problems import problem

CODE = "body_too_large"
UPLOAD_CODE = "document_too_large"
#: What a multipart form adds to a document's bytes (boundaries, headers, the other fields).
FORM_OVERHEAD = 64 * 1024


class TooLarge(HTTPException):
    """A body without a length stopped at the limit: an HTTP exception, which the route's
    body parsing lets through (any other becomes its 400), with the problem's code."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(413, detail)
        self.code = code


def _detail(limit: int) -> str:
    return f"the request body is larger than {limit} bytes"


class BodyLimit:
    """Refuse a body over ``max_bytes`` with 413 ``body_too_large``."""

    def __init__(self, app: ASGIApp, max_bytes: int, upload_bytes: int = 0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_bytes = upload_bytes + FORM_OVERHEAD

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = _is_upload(scope)
        limit, code = (self.upload_bytes, UPLOAD_CODE) if upload else (self.max_bytes, CODE)
        length = _content_length(scope)
        if length is not None:
            if length > limit:
                await problem(413, code, _detail(limit))(scope, receive, send)
                return
            await self.app(scope, receive, send)  # the server holds the body to its length
            return
        await self.app(scope, self._counting(receive, limit, upload=upload), send)

    def _counting(self, receive: Receive, limit: int, *, upload: bool) -> Receive:
        """``receive`` that stops a body without a length once it passes the limit (the
        route's body parsing turns the exception into the problem: ``problems.py``)."""
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise TooLarge(UPLOAD_CODE if upload else CODE, _detail(limit))
            return message

        return counted


def _is_upload(scope: Scope) -> bool:
    """``POST /v1/aires/{id}/documents`` or ``.../documents/{doc}/versions``."""
    if scope.get("method") != "POST":
        return False
    parts = scope.get("path", "").strip("/").split("/")
    return parts[:2] == ["v1", "aires"] and len(parts) in (4, 6) and parts[3] == "documents"


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
