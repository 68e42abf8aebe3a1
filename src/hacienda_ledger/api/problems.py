"""RFC 9457 problem details: one place maps every error to ``application/problem+json``.

Body: ``{type, title, status, detail, code}`` plus ``errors: [{field, reason}]`` for input
that failed validation, and the error's own extension members (``slip_unbalanced``:
``expected_cents`` and ``given_cents``). ``type`` is a stable URI per code (documented in
docs/errors.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
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
from hacienda_ledger.api.openapi import (
    allowed,
    files_first,
    links,
    plain_parameters,
    require_headers,
)
from hacienda_ledger.application import outage

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://hacienda-ledger.fr/problems/"


def status_of(error: LedgerError) -> int:
    if error.http_status is not None:  # its own (413/415 of an upload, 500 of a corruption)
        return error.http_status
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
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    500: "Internal error",
    503: "Service unavailable",
}


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {**(extensions or {})}
    body |= {
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


def _validation_error(error: Any, body: Any, media_type: str) -> dict[str, str]:
    """One refused field, said so that the caller knows what to do: where a body's JSON
    broke (line, column), and that a body needs its Content-Type, rather than pydantic's
    "JSON decode error" at field "29" or "Input should be a valid dictionary"."""
    loc = tuple(error.get("loc", ()))
    if error.get("type") == "json_invalid":
        at = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else 0
        text = body if isinstance(body, str) else ""
        line = text.count("\n", 0, at) + 1
        column = at - (text.rfind("\n", 0, at) + 1) + 1
        why = (error.get("ctx") or {}).get("error", "not JSON")
        return {
            "field": "body",
            "reason": f"the body is not valid JSON: {why} at line {line}, column {column} "
            f"(character {at})",
        }
    if loc == ("body",) and media_type != "application/json" and not media_type.endswith("+json"):
        sent = f"Content-Type {media_type}" if media_type else "no Content-Type"
        return {
            "field": "Content-Type",
            "reason": f"the body must be JSON sent with Content-Type: application/json "
            f"(this request had {sent})",
        }
    return {"field": _field(loc), "reason": error.get("msg", "invalid")}


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details. `code` is stable (docs/errors.md); `errors` "
    "lists the fields refused, for input that failed validation.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "format": "uri", "example": TYPE_BASE + "validation_error"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "expected_cents": {
            "type": "object",
            "additionalProperties": {"type": "integer"},
            "description": "`slip_unbalanced`: what the slip's lines total by method",
        },
        "given_cents": {
            "type": "object",
            "additionalProperties": {"type": "integer"},
            "description": "`slip_unbalanced`: the amounts the request gave by method",
        },
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "reason"],
                "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
            },
        },
    },
}


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


#: Every operation that asks the database may answer so (``install_outages``).
UNAVAILABLE_RESPONSE: dict[str, Any] = {
    **_problem_response(
        "The database cannot be had (`database_unavailable`): try again after `Retry-After` "
        "seconds; a write may have been recorded, so send it again with the same "
        "`Idempotency-Key`"
    ),
    "headers": {
        "Retry-After": {
            "description": "seconds to wait before trying again",
            "schema": {"type": "integer", "minimum": 1},
        }
    },
}


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document as the API answers: FastAPI documents its own 422 body
    (``HTTPValidationError``), which this API never sends. Every operation's 422 and every
    other refusal (``4XX``) is a problem document instead, described once (``Problem``)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = _problem_response(
                    "The request does not match the schema (`validation_error`), or the "
                    "ledger refuses it whatever its state"
                )
            responses["4XX"] = _problem_response("Refused: see `code`")
    for path, item in schema.get("paths", {}).items():
        if path != "/health":  # /health asks the process alone, no database
            for operation in item.values():
                operation["responses"].setdefault("503", UNAVAILABLE_RESPONSE)
    require_headers(schema)
    links(schema)
    plain_parameters(schema)
    files_first(schema)
    text = str(schema.get("paths", {}))
    for unused in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{unused}'" not in text:
            components.pop(unused, None)
    return schema


def install(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(LedgerError)
    async def ledger_error(_: Request, exc: LedgerError) -> JSONResponse:
        errors = [{"field": exc.field, "reason": exc.detail}] if exc.field else None
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
        return problem(
            status_of(exc),
            exc.code,
            exc.detail,
            errors=errors,
            headers=headers,
            extensions=exc.extensions,
        )

    @app.exception_handler(ProblemError)
    async def edge_error(_: Request, exc: ProblemError) -> JSONResponse:
        errors = [{"field": exc.field, "reason": exc.detail}] if exc.field else None
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem(exc.status, exc.code, exc.detail, errors=errors, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        errors = [_validation_error(e, exc.body, media_type) for e in exc.errors()]
        return problem(
            422, "validation_error", "the request does not match the schema", errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = getattr(exc, "code", None) or {  # its own (api/limits.py), else by status
            404: "not_found",
            405: "method_not_allowed",
            413: "body_too_large",
        }.get(exc.status_code, "http_error")
        headers = None
        if exc.status_code == 405:
            headers = {"Allow": allowed(request, (exc.headers or {}).get("Allow"))}
        return problem(exc.status_code, code, str(exc.detail), headers=headers)


UNAVAILABLE_DETAIL = (
    "the database cannot be reached or is busy; try again after Retry-After seconds. A write "
    "may or may not have been recorded: retry it with the same Idempotency-Key, which "
    "answers its original outcome or records it once"
)


def install_outages(app: FastAPI, retry_after: int) -> None:
    """A database that cannot be had (``application/outage.py``: refused, lost, busy) is
    503 ``database_unavailable`` with ``Retry-After``, never 500; any other error of those
    classes (a missing table, say) is a fault: logged, 500 ``internal_error``."""
    log = structlog.get_logger("hacienda_ledger.http")

    async def database_error(request: Request, exc: Exception) -> JSONResponse:
        if not outage.unavailable(exc):
            log.exception("unhandled", error=type(exc).__name__)
            return problem(500, "internal_error", "an unexpected error occurred")
        log.warning("database_unavailable", error=type(exc).__name__, reason=str(exc)[:200])
        headers = {"Retry-After": str(retry_after)}
        return problem(503, "database_unavailable", UNAVAILABLE_DETAIL, headers=headers)

    for kind in outage.FAILURES:
        app.add_exception_handler(kind, database_error)
