"""What the OpenAPI document says beyond what FastAPI infers from the routes' signatures.

- **Files**: a route that answers a PDF, a CSV or an XLSX file declares it (``files``), so
  the document gives those media types and a binary body, not ``application/json``: a
  generated client then reads the bytes instead of failing to parse them as JSON.
- **Required headers**: ``Idempotency-Key`` is read as optional (a missing key is answered
  400 ``idempotency_key_required``, a problem that says what to do, rather than FastAPI's
  422), but the server requires it: the document says so (``require_headers``), with the
  limits the server enforces (not blank, at most 200 characters).
- **405**: the answer carries ``Allow``, every method the path accepts (``allowed``).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.routing import BaseRoute, Match

from hacienda_ledger.reports.render import MEDIA_TYPES

PDF, CSV, XLSX = MEDIA_TYPES["pdf"], MEDIA_TYPES["csv"], MEDIA_TYPES["xlsx"]
BINARY = {"type": "string", "format": "binary"}

REQUIRED_HEADERS: dict[str, dict[str, Any]] = {
    "Idempotency-Key": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": r"\S"},
}
"""Headers the server requires wherever an operation names them, and their schema."""


def files(
    description: str, *media_types: str, headers: dict[str, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route whose 200 is a file of one of ``media_types`` (a binary
    body), with the response ``headers`` it sets (name: description)."""
    answer: dict[str, Any] = {
        "description": description,
        "content": {media.split(";")[0]: {"schema": BINARY} for media in media_types},
    }
    answer["headers"] = {
        "Content-Disposition": {
            "description": "the file's name (inline for a PDF to show, else attachment)",
            "schema": {"type": "string"},
        },
        **{
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in (headers or {}).items()
        },
    }
    return {200: answer}


def require_headers(schema: dict[str, Any]) -> None:
    """Mark the headers of ``REQUIRED_HEADERS`` required, with their schema, in every
    operation of the document that takes them."""
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                found = REQUIRED_HEADERS.get(parameter.get("name", ""))
                if parameter.get("in") == "header" and found is not None:
                    parameter["required"] = True
                    parameter["schema"] = {**found, "title": parameter["name"]}


def _routes(routes: list[BaseRoute]) -> list[BaseRoute]:
    """Every route, those of included routers too (FastAPI wraps each included router)."""
    flat: list[BaseRoute] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        flat.extend(_routes(inner.routes) if inner is not None else [route])
    return flat


def allowed(request: Request, given: str | None = None) -> str:
    """The ``Allow`` of a 405: every method of every route whose path matches the request
    (Starlette names only the first such route's: ``given``)."""
    methods = set((given or "").replace(" ", "").split(",")) - {""}
    for route in _routes(request.app.router.routes):
        route_methods = getattr(route, "methods", None)
        if route_methods and route.matches(request.scope)[0] is not Match.NONE:
            methods |= route_methods
    return ", ".join(sorted(methods))
