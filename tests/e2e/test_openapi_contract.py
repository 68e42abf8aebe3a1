"""The OpenAPI document says what the API does: files are declared with their media types
(PDF, CSV, XLSX, not JSON), ``Idempotency-Key`` is required where the server requires it,
a 405 says in ``Allow`` which methods the path accepts, and the limits the server enforces
are declared. Each is checked on the
document and on real answers (both backends)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger
from hacienda_ledger.reports.exports import EXPORTS
from hacienda_ledger.settings import Settings
from tests.conftest import Clock
from tests.e2e.api_world import World, assert_problem, build_world, publish_the_year

PDF = "application/pdf"
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PNG, JPEG, WEBP, SVG = "image/png", "image/jpeg", "image/webp", "image/svg+xml"
FILES = {
    ("get", "/v1/reports/{report_id}"): {PDF, XLSX, CSV},
    ("get", "/v1/registers/{register_id}/documents/{document}/{number}"): {PDF},
    ("post", "/v1/registers/{register_id}/documents/{document}/{number}/reprints"): {PDF},
    ("get", "/v1/exports/{table}"): {CSV, XLSX},
    ("get", "/v1/aires/{aire_id}/documents/{document_id}"): {PDF, PNG, JPEG, WEBP},
    ("get", "/v1/analytics/pictures/{picture}"): {PNG, SVG},
}
UPLOADS = ("/v1/aires/{aire_id}/documents", "/v1/aires/{aire_id}/documents/{document_id}/versions")
FILES_REPRINT = "/v1/registers/{register_id}/documents/{document}/{number}/reprints"
MONEY_WRITES = {
    "/v1/registers/{register_id}/receipts",
    "/v1/registers/{register_id}/receipts/{number}/cancellation",
    "/v1/registers/{register_id}/receipts/{number}/cancellation/approval",
    "/v1/registers/{register_id}/deposit-refunds",
    "/v1/registers/{register_id}/advance-refunds",
    "/v1/registers/{register_id}/deposit-withholdings",
    "/v1/registers/{register_id}/remittances",
    "/v1/registers/{register_id}/cash-counts/{count_number}/regularisation",
}


@pytest.fixture
def world(settings: Settings, ledger: Ledger, clock: Clock) -> Iterator[World]:
    with TestClient(create_app(settings, ledger=ledger)) as client:
        yield build_world(client, ledger, clock)


@pytest.fixture
def document(world: World) -> dict[str, Any]:
    found: dict[str, Any] = world.client.get("/openapi.json").json()
    return found


def media(answer: Any) -> str:
    return str(answer.headers["content-type"]).split(";")[0]


def test_files_are_declared_with_their_media_types(world: World, document: dict[str, Any]) -> None:
    """Each operation that answers a file declares exactly its media types, each a binary
    body, and no ``application/json`` (a generated client would parse a PDF as JSON); no
    other 200 is a JSON body of any shape (the journal's: its page as JSON, or a CSV
    file). Real answers come in a declared media type: a receipt's PDF, its duplicata, an
    export as CSV and as XLSX."""
    for (method, path), expected in FILES.items():
        ok = document["paths"][path][method]["responses"]["200"]
        assert set(ok["content"]) == expected, path
        assert all(
            m["schema"] == {"type": "string", "format": "binary"} for m in ok["content"].values()
        )
        assert "Content-Disposition" in ok["headers"]
    untyped = [
        f"{method} {path}"
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if operation["responses"].get("200", {}).get("content", {}).get("application/json", {})
        == {"schema": {}}
    ]
    assert untyped == []
    journal = document["paths"]["/v1/registers/{register_id}/journal"]["get"]["responses"]
    assert set(journal["200"]["content"]) == {"application/json", CSV}
    assert journal["200"]["content"][CSV]["schema"] == {"type": "string", "format": "binary"}

    number = world.ok(world.receipt([("other", 500)]))["number"]
    base = f"/v1/registers/{world.register_a}/documents/receipt/{number}"
    upload = world.client.post(
        f"/v1/aires/{world.aire_a}/documents",
        data={"kind": "plan", "title": "Plan", "valid_from": "2025-01-01"},
        files={"file": ("plan.png", b"\x89PNG\r\n\x1a\n" + bytes(16), "image/png")},
        headers={**world.headers("manager"), "Idempotency-Key": "plan"},
    )
    paper = f"/v1/aires/{world.aire_a}/documents/{world.ok(upload)['id']}"
    answers = {
        ("get", "/v1/registers/{register_id}/documents/{document}/{number}"): world.get(
            "cashier", base
        ),
        ("get", "/v1/aires/{aire_id}/documents/{document_id}"): world.get("cashier", paper),
        ("post", FILES_REPRINT): world.client.post(
            f"{base}/reprints", headers=world.headers("cashier")
        ),
    }
    for fmt in ("csv", "xlsx"):
        exported = world.get("manager", f"/v1/exports/revenue_monthly?format={fmt}")
        answers[("get", f"/v1/exports/{{table}}#{fmt}")] = exported
    # the analytics pictures read a stored publication (issue 19, point 6): one published
    publish_the_year(world.client, world.clock)
    for fmt in ("png", "svg"):
        drawn = world.get("analyst", f"/v1/analytics/pictures/series?departement=49&format={fmt}")
        answers[("get", f"/v1/analytics/pictures/{{picture}}#{fmt}")] = drawn
    for (method, path), answer in answers.items():
        assert answer.status_code == 200, (path, answer.text)
        declared = FILES[(method, path.split("#")[0])]
        assert media(answer) in declared, (path, answer.headers["content-type"])
    assert answers[("get", "/v1/exports/{table}#xlsx")].content[:2] == b"PK"
    assert answers[("post", FILES_REPRINT)].content[:5] == b"%PDF-"


def test_uploads_declare_their_multipart_form(document: dict[str, Any]) -> None:
    """An upload of an aire's document declares its body as ``multipart/form-data`` only:
    the file (binary, required), its validity (a first version: its kind and title too)."""
    for path in UPLOADS:
        body = document["paths"][path]["post"]["requestBody"]
        assert set(body["content"]) == {"multipart/form-data"}
        ref = body["content"]["multipart/form-data"]["schema"]["$ref"]
        form = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert form["properties"]["file"]["format"] == "binary"
        assert {"file", "valid_from"} <= set(form["required"])
    first = document["paths"][UPLOADS[0]]["post"]["requestBody"]["content"]
    ref = first["multipart/form-data"]["schema"]["$ref"]
    form = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert {"kind", "title"} <= set(form["required"])


def test_idempotency_key_is_required_where_the_server_requires_it(
    world: World, document: dict[str, Any]
) -> None:
    """Every operation that takes ``Idempotency-Key`` declares it required, not blank and
    at most 200 characters; each of them, called without it (or with a blank one, or one
    too long), is refused 400 with the code that says what to send, and records nothing."""
    declared = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "Idempotency-Key":
                    declared[(method, path)] = parameter
    assert {path for _, path in declared} == MONEY_WRITES | set(UPLOADS)
    assert {method for method, _ in declared} == {"post"}
    for parameter in declared.values():
        assert parameter["in"] == "header" and parameter["required"] is True
        assert parameter["schema"]["type"] == "string"
        assert (parameter["schema"]["minLength"], parameter["schema"]["maxLength"]) == (1, 200)
    ids = {
        "register_id": world.register_a,
        "number": "1",
        "count_number": "1",
        "aire_id": world.aire_a,
        "document_id": world.aire_a,
    }
    before = world.position()
    for (method, path), _ in sorted(declared.items()):
        url = path.format(**{k: v for k, v in ids.items() if "{" + k + "}" in path})
        auth = world.headers("admin")
        for key, code in (
            (None, "idempotency_key_required"),
            ("  ", "idempotency_key_required"),
            ("k" * 201, "idempotency_key_invalid"),
        ):
            headers = auth if key is None else {**auth, "Idempotency-Key": key}
            answer = world.client.request(method.upper(), url, json={}, headers=headers)
            assert_problem(answer, 400, code)
    assert world.position() == before


def test_a_405_says_which_methods_the_path_accepts(world: World, document: dict[str, Any]) -> None:
    """A method a path does not accept is 405 ``method_not_allowed`` with ``Allow`` listing
    every method it does accept (all its routes, not the first one found), for every path
    of the document; the documentation pages and their assets too."""
    values = world.path_values()
    checked = 0
    for path, item in document["paths"].items():
        accepted = {m.upper() for m in item}
        refused = next(m for m in ("DELETE", "PATCH", "PUT", "POST") if m not in accepted)
        answer = world.client.request(refused, path.format(**values))
        assert_problem(answer, 405, "method_not_allowed")
        assert answer.headers["allow"] == ", ".join(sorted(accepted)), path
        checked += 1
    assert checked == len(document["paths"])
    aires = world.client.put("/v1/aires", json={})
    assert aires.headers["allow"] == "GET, POST"
    assert world.client.post("/docs").headers["allow"] == "GET"
    assert world.client.post("/static/redoc/redoc.standalone.js").headers["allow"] == "GET, HEAD"


def _inputs(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema a request carries (parameters, and bodies with what they refer to),
    each node with where it is."""
    schemas = document["components"]["schemas"]

    def walk(node: Any, where: str, seen: frozenset[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref not in seen:
                name = ref.rsplit("/", 1)[-1]
                yield from walk(schemas[name], f"{where}->{name}", seen | {ref})
            yield where, node
            for key, value in node.items():
                yield from walk(value, f"{where}/{key}", seen)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from walk(value, f"{where}[{i}]", seen)

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                yield from walk(
                    parameter["schema"], f"{method} {path} {parameter['name']}", frozenset()
                )
            body = operation.get("requestBody", {}).get("content", {})
            for media_type, content in body.items():
                yield from walk(content["schema"], f"{method} {path} {media_type}", frozenset())


def test_the_limits_the_server_enforces_are_declared(
    world: World, document: dict[str, Any]
) -> None:
    """Issue 17 (schemathesis ST202): every integer a request carries has its bounds, every
    day and moment the 2000–2099 range as a pattern on its year (JSON Schema bounds no
    date), and the export's table is one of the tables exported; the server refuses what
    lies outside (422), as declared."""
    unbounded = [
        where
        for where, node in _inputs(document)
        if (node.get("type") == "integer" and not ({"minimum", "exclusiveMinimum"} & node.keys()))
        or (node.get("type") == "integer" and not ({"maximum", "exclusiveMaximum"} & node.keys()))
    ]
    assert unbounded == []
    dates = [(w, n) for w, n in _inputs(document) if n.get("format") in ("date", "date-time")]
    assert len(dates) > 20
    for where, node in dates:
        pattern = re.compile(str(node.get("pattern")))
        assert pattern.search("2000-01-01") and pattern.search("2099-12-31T23:59:59+01:00"), where
        assert not pattern.search("1999-12-31") and not pattern.search("2100-01-01"), where
    [table] = [
        p
        for p in document["paths"]["/v1/exports/{table}"]["get"]["parameters"]
        if p["name"] == "table"
    ]
    assert table["schema"]["enum"] == sorted(EXPORTS)
    # as declared, so enforced: a day of 2100, a table not exported
    late = world.get("admin", f"/v1/registers/{world.register_a}/journal?from=2100-01-01")
    assert_problem(late, 422, "validation_error")
    assert_problem(world.get("admin", "/v1/exports/households"), 422, "invalid_value")


def test_every_operation_that_asks_the_database_declares_its_503(document: dict[str, Any]) -> None:
    """Issue 17: a database away answers 503 ``database_unavailable`` with ``Retry-After``
    (``/ready``: ``not_ready``): declared on every operation but ``/health``, which asks the
    process alone, so that a client knows to wait and send it again."""
    missing = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            declared = operation["responses"].get("503")
            if path == "/health":
                assert declared is None
            elif declared is None or "Retry-After" not in declared.get("headers", {}):
                missing.append(f"{method} {path}")
    assert missing == []
