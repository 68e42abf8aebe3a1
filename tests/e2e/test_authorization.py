"""Authorization, generated from the OpenAPI document: every operation × every role × its own
scope and another collectivité's ids (in the path, the query and the body), on SQLite and
PostgreSQL.

Nothing here names a route. The document says what each operation takes (its parameters and
its body's schema) and what it needs (``x-permission``, ``x-scoped``: ``api/permissions.py``);
``access.GRANTS`` says what each role holds. A new route is called by this test as soon as
the app serves it, with a body made from its schema; one whose permission is not declared
fails the first test below.

Given the API world (collectivité A with aire A, collectivité B with aire B: an open stay
with a deposit receipt on each register, a household recorded at each, a stored monthly
report of each), for each role, as its user whose scope lies in A, every operation is called
in four ways: with A's ids everywhere ("own"), then with B's ids in the path only, in the
query only, in the body only. Then:

- a role without the permission is refused, ``403 forbidden``, in every way;
- with it, its own scope is never refused (nor a schema error: the request reaches the
  route);
- a role confined to a scope (anyone but the admin and the analyst) naming B's ids anywhere
  is refused: 403 (a stored report outside the scope is 404, as if it did not exist);
- every refusal is a problem document and records nothing: no event, no access-log entry;
  no read records an event, but a document's original printed once for its first cash
  handler (``permissions.RECORDING_READS``);
- what a scoped role is given holds none of B's ids.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any
from uuid import UUID

import hypothesis
import hypothesis.strategies as st
import pytest
from fastapi.testclient import TestClient

from hacienda_ledger.aggregates.user import ApiToken, Role
from hacienda_ledger.api.app import create_app
from hacienda_ledger.api.permissions import RECORDING_READS
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.access import GRANTS, Permission
from hacienda_ledger.settings import Settings
from tests.conftest import Clock
from tests.e2e.api_world import PROBLEM_JSON, World, build_world

#: How a parameter or a body field names a thing of one collectivité.
ID_KINDS = {
    "collectivite_id": "collectivite",
    "aire_id": "aire",
    "aires": "aire",
    "register_id": "register",
    "stay_id": "stay",
    "household_id": "household",
    "household_ref": "household",
    "report_id": "report",
    "user_id": "user",
    "token_id": "token",
    "intervention_id": "intervention",
    "follows": "intervention",
    "document_id": "document",
}
#: The file a multipart upload sends (an aire's document).
UPLOAD = ("r.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")
#: Values for the other names, where the schema gives neither an example nor a format.
SAMPLES: dict[str, Any] = {
    "number": "1",
    "month": "2025-01",
    "sector": "Anjou",
    "sectors": ["Anjou"],
    "name": "famille",
    "emplacement": "1",
    "year": 2025,
}
#: Refusals that hide what they refuse: a stored report outside the scope is not found.
HIDDEN = {"report_not_found"}
MODES = ("own", "path", "query", "body")


@dataclass(frozen=True)
class Things:
    """One collectivité's things, by kind."""

    collectivite: str
    aire: str
    register: str
    stay: str
    household: str
    report: str
    intervention: str
    document: str
    user: str = ""  # the caller's own (``with_tokens``), or cashier_b
    token: str = ""  # a token of that user's

    def of(self, kind: str) -> str:
        value: str = getattr(self, kind)
        return value


@dataclass
class Call:
    """One request, and what it was made of."""

    method: str
    path: str
    mode: str
    url: str
    query: dict[str, Any]
    body: Any
    permission: str
    multipart: bool = False


@dataclass
class Findings:
    calls: int = 0
    wrong: list[str] = field(default_factory=list)

    def check(self, ok: bool, call: Call, why: str, response: Any) -> None:
        if not ok:
            self.wrong.append(
                f"{call.mode:5} {call.method} {call.url} {call.query or ''} -> "
                f"{response.status_code} {response.text[:200]}: {why}"
            )


# --- the world ------------------------------------------------------------------------------


@pytest.fixture
def world(settings: Settings, ledger: Ledger, clock: Clock) -> Iterator[World]:
    with TestClient(create_app(settings, ledger=ledger)) as client:
        yield build_world(client, ledger, clock)


def things(world: World) -> tuple[Things, Things]:
    """A's things and B's: an open stay with a deposit receipt (n° 1) on each register, the
    world's household of each, a stored monthly report of each (January 2025), an
    intervention and a document on each aire."""
    stay_a = world.arrive()
    world.deposit(stay_a)
    stay_b = world.arrive(world.aire_b, who="cashier_b")
    world.ok(
        world.receipt(
            [("deposit", 15000)], stay_id=stay_b, register=world.register_b, who="cashier_b"
        )
    )
    reports = world.client.app.state.reports  # type: ignore[attr-defined]
    # (a month of the aires in service, built ahead of its end: a report is all it needs)
    stored = reports.run(reports.month_jobs("2025-01", today=date(2025, 2, 1)))
    report = {r.aire_id: r.report_id for r in stored if r.format == "csv"}
    ids = world.ids
    done = {
        aire: str(
            world.ledger.record_intervention(
                UUID(aire),
                kind="cleaning",
                started_at=world.clock(),
                description="ménage",
                actor="seed",
            ).aggregate_id
        )
        for aire in (ids["aire_a"], ids["aire_b"])
    }
    digest = world.ledger.documents.put(UPLOAD[1], world.clock())
    papers = {
        aire: str(
            world.ledger.upload_document(
                UUID(aire), kind="plan", title="Plan", sha256=digest, size=len(UPLOAD[1]),
                media_type=UPLOAD[2], filename=UPLOAD[0], valid_from=world.clock().date(),
                actor="seed",
            ).aggregate_id
        )
        for aire in (ids["aire_a"], ids["aire_b"])
    }  # fmt: skip
    return (
        Things(
            ids["collectivite_a"],
            ids["aire_a"],
            ids["register_a"],
            stay_a,
            ids["household"],
            report[ids["aire_a"]],
            done[ids["aire_a"]],
            papers[ids["aire_a"]],
        ),
        Things(
            ids["collectivite_b"],
            ids["aire_b"],
            ids["register_b"],
            stay_b,
            ids["household_b"],
            report[ids["aire_b"]],
            done[ids["aire_b"]],
            papers[ids["aire_b"]],
        ),
    )


def with_tokens(world: World, name: str, own: Things, other: Things) -> tuple[Things, Things]:
    """A's things with the caller's own user and a token of theirs (the one they were given,
    rotated: they call with its successor, and may revoke it in its grace), B's with
    cashier_b and cashier_b's token."""
    ledger = world.ledger

    def token_id(secret: str) -> str:
        return str(ApiToken.id_for(ledger.token_digest(secret)))

    mine = token_id(world.tokens[name])
    _, world.tokens[name] = ledger.rotate_token(UUID(mine), actor="seed")
    me = world.ok(world.get(name, "/v1/users/me"), 200)["id"]
    theirs = world.users["cashier_b"]["id"], token_id(world.tokens["cashier_b"])
    return replace(own, user=me, token=mine), replace(other, user=theirs[0], token=theirs[1])


def user_of(world: World, role: Role) -> str:
    """The world's user of that role whose scope lies in collectivité A (or everywhere)."""
    if role is Role.ADMIN:
        return "admin"
    b = {world.ids["collectivite_b"], world.aire_b}
    for name, user in world.users.items():
        scope = {user["collectivite_id"], *user["aires"]}
        if user["role"] == role.value and not scope & b:
            return name
    pytest.fail(f"api_world.build_world makes no {role.value} of collectivité A: add one")


def is_scoped(world: World, name: str) -> bool:
    """Whether the user's scope is confined (sectors, aires or a collectivité)."""
    me = world.ok(world.get(name, "/v1/users/me"), 200)
    return bool(me["sectors"] or me["aires"] or me["collectivite_id"])


# --- requests from the document -------------------------------------------------------------


class Schema:
    """Bodies and parameter values made from the document's schemas."""

    def __init__(self, document: dict[str, Any], today: str, now: str) -> None:
        self.components = document["components"]["schemas"]
        self.today, self.now = today, now

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def value(self, schema: dict[str, Any], name: str, ids: Callable[[str], str]) -> Any:
        """A value for the field ``name`` that its schema accepts; ids from ``ids``."""
        schema = self.resolve(schema)
        if name in ID_KINDS:
            kind = ID_KINDS[name]
            return [ids(kind)] if schema.get("type") == "array" else ids(kind)
        if "anyOf" in schema:
            return self.value(
                next(s for s in schema["anyOf"] if s.get("type") != "null"), name, ids
            )
        if name in SAMPLES:
            return SAMPLES[name]
        if "enum" in schema:
            return schema["enum"][0]
        if "examples" in schema:
            return schema["examples"][0]
        kind = schema.get("type")
        if kind == "object":
            return self.body(schema, ids)
        if kind == "array":
            return [
                self.value(schema["items"], name, ids) for _ in range(schema.get("minItems", 0))
            ]
        if kind == "integer":
            if "exclusiveMinimum" in schema:
                return int(schema["exclusiveMinimum"]) + 1
            return int(schema.get("minimum", 1))
        if kind == "boolean":
            return False
        if schema.get("format") == "date":
            return self.today
        if schema.get("format") == "date-time":
            return self.now
        if schema.get("format") == "uuid":  # an id of no kind this test knows (a user's)
            return "00000000-0000-4000-8000-000000000001"
        if "pattern" in schema:
            return _matching(schema["pattern"], schema.get("minLength", 0))
        return "x" * max(schema.get("minLength", 1), 1)

    def body(self, schema: dict[str, Any], ids: Callable[[str], str]) -> dict[str, Any]:
        """The schema's first example if it gives one (a body whose rule spans fields), else
        its required fields; and the fields that name a thing."""
        schema = self.resolve(schema)
        properties = schema.get("properties", {})
        if not properties and "additionalProperties" in schema:
            return {}
        example = dict(schema.get("examples", [{}])[0])
        wanted = set(schema.get("required", [])) if not example else set(example)
        made = {
            name: self.value(sub, name, ids)
            for name, sub in properties.items()
            if (name in wanted and name not in example) or name in ID_KINDS or name in SAMPLES
        }
        return {**example, **made}


@functools.cache  # the same patterns, asked for every request of every role
def _matching(pattern: str, min_length: int = 0) -> str:
    """The simplest text matching a pattern that the schema gives no example of, at least
    ``min_length`` long (a plain-text pattern also matches the empty text)."""
    found: str = hypothesis.find(
        st.from_regex(pattern, fullmatch=True),
        lambda text: len(text) >= min_length,
        settings=hypothesis.settings(database=None, max_examples=50),
    )
    return found


def permissions(operation: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
    """The operation's permission, with the path values that need it: one call per distinct
    permission when a parameter decides (an export's table)."""
    declared = operation["x-permission"]
    if isinstance(declared, str):
        return [(declared, {})]
    first: dict[str, str] = {}
    for value, permission in declared["values"].items():
        first.setdefault(permission, value)
    return [(p, {declared["parameter"]: v}) for p, v in sorted(first.items())]


def calls(document: dict[str, Any], schema: Schema, own: Things, other: Things) -> Iterator[Call]:
    """Every operation, in every mode where it names something, for every permission."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if operation["x-permission"] == "none":
                continue
            parameters = operation.get("parameters", [])
            content = operation.get("requestBody", {}).get("content", {})
            multipart = "multipart/form-data" in content
            body_schema = content.get(
                "multipart/form-data" if multipart else "application/json", {}
            ).get("schema")
            for permission, fixed in permissions(operation):
                for mode in MODES:

                    def ids_in(place: str, mode: str = mode) -> Callable[[str], str]:
                        return (other if mode == place else own).of

                    named = {
                        "path": any(
                            p["in"] == "path" and p["name"] in ID_KINDS for p in parameters
                        ),
                        "query": any(
                            p["in"] == "query" and p["name"] in ID_KINDS for p in parameters
                        ),
                        "body": body_schema is not None
                        and bool(_names_a_thing(schema, body_schema)),
                    }
                    if mode != "own" and not named[mode]:
                        continue
                    values = {}
                    query = {}
                    for p in parameters:
                        name = p["name"]
                        if p["in"] == "path":
                            values[name] = fixed.get(name) or schema.value(
                                p["schema"], name, ids_in("path")
                            )
                        elif p["in"] == "query" and (p.get("required") or name in ID_KINDS):
                            query[name] = schema.value(p["schema"], name, ids_in("query"))
                    body = (
                        schema.body(body_schema, ids_in("body"))
                        if body_schema is not None
                        else None
                    )
                    url = path.format(**values)
                    yield Call(method.upper(), path, mode, url, query, body, permission, multipart)


def _names_a_thing(schema: Schema, body_schema: dict[str, Any]) -> list[str]:
    return [n for n in schema.resolve(body_schema).get("properties", {}) if n in ID_KINDS]


# --- the test ------------------------------------------------------------------------------


def test_every_operation_declares_its_permission(world: World) -> None:
    """Every operation of the document says what it needs (``api/permissions.py``), or the
    test below could not call it."""
    document = world.client.get("/openapi.json").json()
    undeclared = [
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "x-permission" not in operation
    ]
    assert undeclared == []


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_every_operation_as_every_role_in_and_out_of_its_scope(world: World, role: Role) -> None:
    """See the module docstring: the whole matrix for one role, each wrong answer listed."""
    name = user_of(world, role)
    own, other = with_tokens(world, name, *things(world))
    scoped = is_scoped(world, name)
    document = world.client.get("/openapi.json").json()
    schema = Schema(document, world.clock().date().isoformat(), world.now())
    leaks = list(vars(other).values())
    households = (UUID(own.household), UUID(other.household))
    findings = Findings()
    covered: set[tuple[str, str]] = set()
    # B's ids first: refused, they leave B as it was for the rest of the run
    ordered = sorted(calls(document, schema, own, other), key=lambda c: c.mode == "own")
    for call in ordered:
        operation = document["paths"][call.path][call.method.lower()]
        granted = call.permission == "authenticated" or (
            Permission(call.permission) in GRANTS[role]
        )
        before = world.position()
        logged = [len(world.ledger.access_log.of(h)) for h in households]
        sent: dict[str, Any] = {"json": call.body}
        if call.multipart:  # an upload: its fields as a form, and a file
            fields = {k: v for k, v in call.body.items() if k != "file"}
            sent = {"data": fields, "files": {"file": UPLOAD}}
        response = world.client.request(
            call.method,
            call.url,
            params=call.query,
            headers=world.headers(name, key=world.new_key()),
            **sent,
        )
        findings.calls += 1
        covered.add((call.method, call.path))
        status = response.status_code
        problem = (
            response.json()
            if response.headers.get("content-type", "").startswith(PROBLEM_JSON)
            else None
        )
        code = problem["code"] if problem else None
        check = findings.check
        check(status < 500 and status != 401, call, "an answer, not an error", response)
        if status >= 400:
            check(problem is not None, call, "a refusal is a problem document", response)
            check(world.position() == before, call, "a refusal records nothing", response)
            after = [len(world.ledger.access_log.of(h)) for h in households]
            check(after == logged, call, "a refusal logs no read", response)
        if call.method == "GET" and (call.method, call.path) not in RECORDING_READS:
            check(world.position() == before, call, "a read records no event", response)
        if not granted:
            check((status, code) == (403, "forbidden"), call, "the role lacks it", response)
        elif call.mode == "own":
            check(status != 403, call, "its own scope is not refused", response)
            check(code != "validation_error", call, "the request reaches the route", response)
        elif scoped and operation["x-scoped"]:
            refused = status == 403 or (status == 404 and code in HIDDEN)
            check(refused, call, "another collectivité's ids are refused", response)
        else:
            check(code != "validation_error", call, "the request reaches the route", response)
        if scoped and operation["x-scoped"] and status < 300:
            text = response.text
            seen = [v for v in leaks if v in text]
            check(not seen, call, f"holds another collectivité's ids {seen}", response)
    served = {
        (m.upper(), p)
        for p, item in document["paths"].items()
        for m, o in item.items()
        if o["x-permission"] != "none"
    }
    assert covered == served
    assert findings.wrong == [], "\n" + "\n".join(findings.wrong)
    assert findings.calls >= 2 * len(served)
