"""What the OpenAPI document says beyond what FastAPI infers from the routes' signatures.

- **Files**: a route that answers a PDF, a CSV or an XLSX file declares it (``files``), so
  the document gives those media types and a binary body, not ``application/json``: a
  generated client then reads the bytes instead of failing to parse them as JSON.
- **Required headers**: ``Idempotency-Key`` is read as optional (a missing key is answered
  400 ``idempotency_key_required``, a problem that says what to do, rather than FastAPI's
  422), but the server requires it: the document says so (``require_headers``), with the
  limits the server enforces (not blank, at most 200 characters).
- **A file first**: an answer that is JSON or a file (the journal, with ``format=csv``; the
  household's export, with ``format=pdf``) lists the file's media type first
  (``files_first``): a generated client (openapi-python-client) reads an answer as the first
  media type it knows, and reading a file as JSON fails, while JSON read as bytes is still
  there to decode.
- **405**: the answer carries ``Allow``, every method the path accepts (``allowed``).
- **Links** (``links``): what an answer creates leads to the operations that take its id
  (a collectivité to its aires, an aire to its emplacements, registers and stays, a stay to
  its balance, a receipt to its cancellation and its document...), as OpenAPI links, so
  that a client or a fuzzer (schemathesis's stateful phase) chains real ids instead of
  guessing them.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.routing import BaseRoute, Match

from hacienda_ledger.api.schemas.common import declare_plain
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


def plain_parameters(schema: dict[str, Any]) -> None:
    """Every text a path or a query takes is plain text (``QueryText``, and the path's
    ids and numbers, which a control character never matches): the document says so."""
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") in {"path", "query"}:
                    declare_plain(parameter.get("schema", {}))


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


BODY_ID = "$response.body#/id"
LINKS: tuple[tuple[str, str, str, dict[str, str], dict[str, str] | None], ...] = (
    # (source operation, its status, the targets' path prefix, parameters, body fields)
    ("POST /v1/collectivites", "201", "/v1/collectivites/", {"collectivite_id": BODY_ID}, None),
    ("POST /v1/collectivites", "201", "POST /v1/aires", {}, {"collectivite_id": BODY_ID}),
    ("POST /v1/aires", "201", "/v1/aires/", {"aire_id": BODY_ID}, None),
    ("POST /v1/aires", "201", "POST /v1/households", {}, {"aire_id": BODY_ID}),
    (
        "POST /v1/aires/{aire_id}/emplacements",
        "201",
        "/v1/aires/{aire_id}/emplacements/",
        {"aire_id": BODY_ID, "number": "$request.body#/number"},
        None,
    ),
    ("POST /v1/aires/{aire_id}/registers", "201", "/v1/registers/", {"register_id": BODY_ID}, None),
    (
        "POST /v1/aires/{aire_id}/registers",
        "201",
        "POST /v1/aires/{aire_id}/attached-registers",
        {"aire_id": "$response.body#/aire_id"},
        {"register_id": BODY_ID},
    ),
    ("POST /v1/households", "201", "/v1/households/", {"household_id": BODY_ID}, None),
    (
        "POST /v1/households",
        "201",
        "POST /v1/aires/{aire_id}/stays",
        {"aire_id": "$response.body#/aire_id"},
        {"household_ref": BODY_ID},
    ),
    ("POST /v1/aires/{aire_id}/stays", "201", "/v1/stays/", {"stay_id": BODY_ID}, None),
    (
        "POST /v1/registers/{register_id}/receipts",
        "201",
        "/v1/registers/{register_id}/receipts/{number}",
        {"register_id": "$response.body#/register_id", "number": "$response.body#/number"},
        None,
    ),
    (
        "POST /v1/registers/{register_id}/receipts",
        "201",
        "/v1/registers/{register_id}/documents/",
        {
            "register_id": "$response.body#/register_id",
            "document": "receipt",
            "number": "$response.body#/number",
        },
        None,
    ),
    (
        "POST /v1/registers/{register_id}/cash-counts",
        "201",
        "/v1/registers/{register_id}/cash-counts/{count_number}/",
        {
            "register_id": "$response.body#/register_id",
            "count_number": "$response.body#/result/count_number",
        },
        None,
    ),
    (
        "POST /v1/aires/{aire_id}/seals",
        "201",
        "/v1/aires/{aire_id}/seals/{month}/",
        {"aire_id": "$response.body#/aire_id", "month": "$response.body#/month"},
        None,
    ),
    ("POST /v1/users", "201", "/v1/users/{user_id}/", {"user_id": BODY_ID}, None),
    (
        "GET /v1/users/me/tokens",
        "200",
        "/v1/tokens/",
        {"token_id": "$response.body#/data/0/id"},
        None,
    ),
    (
        "POST /v1/tokens/{token_id}/rotation",
        "201",
        "/v1/tokens/",
        {"token_id": "$response.body#/token_id"},
        None,
    ),
    (
        "GET /v1/reports",
        "200",
        "/v1/reports/",
        {"report_id": "$response.body#/data/0/report_id"},
        None,
    ),
)
"""The stateful flows: an answer of the source operation (with that status) gives the
parameters (runtime expressions, or a constant) of every operation whose path starts with
the prefix (``"METHOD /path"``: that operation alone) and takes no other path parameter,
and the body fields it names (merged into a generated body)."""


def _targets(paths: dict[str, Any], prefix: str, given: set[str]) -> list[dict[str, Any]]:
    """The operations a link of ``prefix`` reaches: their path parameters all ``given``."""
    method, _, path = prefix.rpartition(" ")
    found = []
    for candidate, item in paths.items():
        if (candidate == path) if method else candidate.startswith(path):
            for name, operation in item.items():
                if method and name != method.lower():
                    continue
                takes = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
                if takes <= given:
                    found.append(operation)
    return found


def _body_ids(schema: dict[str, Any], operation: dict[str, Any]) -> set[str]:
    """The ids (``uuid`` fields) the operation's body names."""
    for media in operation.get("requestBody", {}).get("content", {}).values():
        ref = media.get("schema", {}).get("$ref", "")
        body = schema.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[-1], {})
        return {
            name
            for name, field in body.get("properties", {}).items()
            if "uuid" in (field.get("format"), *(p.get("format") for p in field.get("anyOf", [])))
        }
    return set()


def links(schema: dict[str, Any]) -> None:
    """Declare ``LINKS`` on the source operations' answers. An operation whose body names
    another thing by its id is a target only of links that give that id: otherwise the id
    would be made up and its 404 would pass for the linked thing's."""
    paths = schema.get("paths", {})
    for source, status, prefix, parameters, body in LINKS:
        method, _, path = source.partition(" ")
        answer = paths[path][method.lower()]["responses"].get(status)
        if answer is None:
            continue
        for target in _targets(paths, prefix, set(parameters)):
            if _body_ids(schema, target) - set(body or {}):
                continue
            takes = {p["name"] for p in target.get("parameters", [])}
            link: dict[str, Any] = {
                "operationId": target["operationId"],
                "parameters": {k: v for k, v in parameters.items() if k in takes},
            }
            if body is not None:
                link["requestBody"] = body
            answer.setdefault("links", {})[target["operationId"]] = link


def files_first(schema: dict[str, Any]) -> None:
    """In every answer that may be JSON or a file (a binary body), the file's media types
    come first."""
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            for answer in operation.get("responses", {}).values():
                content = answer.get("content", {})
                files = [m for m, c in content.items() if c.get("schema") == BINARY]
                if files and len(files) < len(content):
                    answer["content"] = {
                        **{m: content[m] for m in files},
                        **{m: c for m, c in content.items() if m not in files},
                    }
