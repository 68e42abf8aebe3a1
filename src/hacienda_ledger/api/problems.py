"""RFC 9457 problem details: one place maps every error to ``application/problem+json``.

Body: ``{type, title, status, detail, code}`` plus ``errors: [{field, reason}]`` for input
that failed validation. ``type`` is a stable URI per code (documented in docs/errors.md).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hacienda_ledger.aggregates.errors import (
    Conflict,
    Forbidden,
    IdempotencyKeyReused,
    Invalid,
    LedgerError,
    NotFound,
    Unauthenticated,
)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://hacienda-ledger.fr/problems/"


def status_of(error: LedgerError) -> int:
    if isinstance(error, Unauthenticated):
        return 401
    if isinstance(error, Forbidden):
        return 403
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, IdempotencyKeyReused | Invalid):
        return 422
    if isinstance(error, Conflict):
        return 409
    return 400


TITLES = {
    400: "Bad request",
    401: "Unauthenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    415: "Unsupported media type",
    422: "Unprocessable content",
    500: "Internal error",
}


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


class ProblemError(Exception):
    """An HTTP-level refusal raised by the edge itself (missing header, bad token format)."""

    def __init__(self, status: int, code: str, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.field = status, code, detail, field


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(LedgerError)
    async def ledger_error(_: Request, exc: LedgerError) -> JSONResponse:
        errors = [{"field": exc.field, "reason": exc.detail}] if exc.field else None
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
        return problem(status_of(exc), exc.code, exc.detail, errors=errors, headers=headers)

    @app.exception_handler(ProblemError)
    async def edge_error(_: Request, exc: ProblemError) -> JSONResponse:
        errors = [{"field": exc.field, "reason": exc.detail}] if exc.field else None
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem(exc.status, exc.code, exc.detail, errors=errors, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field(tuple(e.get("loc", ()))), "reason": e.get("msg", "invalid")}
            for e in exc.errors()
        ]
        return problem(
            422, "validation_error", "the request does not match the schema", errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return problem(exc.status_code, code, str(exc.detail))
