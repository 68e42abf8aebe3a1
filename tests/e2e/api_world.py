"""A small world built through the HTTP API, for the end-to-end tests of ``test_api.py``.

Two collectivités (A: Angers, B: Vendée), one aire each in different sectors (A in "Anjou",
B in "Vendee"), emplacements, a tariff in force from 1 January 2025 and a register on each,
and one user per role created through ``POST /v1/users``:

=============  ======================================
name           role and scope
=============  ======================================
admin          admin (bootstrapped with ADMIN_TOKEN)
manager        manager of sector "Anjou" of collectivité A (aire A)
cashier        cashier of aire A
regisseur      régisseur of aire A (approves the cashier's cancellations)
cashier_b      cashier of aire B
auditor        auditor of collectivité A
auditor_b      auditor of collectivité B
analyst        analyst
intervenant    intervenant of aire A (interventions only)
=============  ======================================
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient

from hacienda_ledger.aggregates.household import Profile
from hacienda_ledger.application import Ledger
from tests.conftest import Clock

ADMIN_TOKEN = "admin-token"
PROBLEM_JSON = "application/problem+json"
PROBLEM_FIELDS = {"type", "title", "status", "detail", "code"}

TARIFF = {
    "effective_from": "2025-01-01",
    "deliberation_ref": "DEL-2024-118",
    "pitch_fee_per_day_cents": 300,
    "water_price_per_m3": "3.5120",
    "electricity_price_per_kwh": "0.2276",
    "deposit_cents": 15000,
}
REGISTER = {
    "regie_ref": "AC-2024-07",
    "float_cents": 5000,
    "cash_ceiling_cents": 120000,
    "payment_methods": ["cash", "cheque", "card", "transfer"],
    "revenue_types": ["pitch_fee", "water", "electricity", "deposit", "other"],
}


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem document with that status and code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: dict[str, Any] = response.json()
    assert body.keys() >= PROBLEM_FIELDS, body
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["type"].endswith("/" + code)
    assert body["title"] and body["detail"]
    assert response.headers.get("x-request-id")
    return body


def aire_body(code: str, collectivite_id: str, sector: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "name": f"Aire {code}",
        "collectivite_id": collectivite_id,
        "sector": sector,
        "mode": "regie",
        "insee_code": "49007",
        "departement": "49",
        "latitude": "47.4784",
        "longitude": "-0.5632",
    }
    body.update(overrides)
    return body


@dataclass
class World:
    """The client, the ledger behind it, its clock, and the ids and tokens of the world."""

    client: TestClient
    ledger: Ledger
    clock: Clock
    tokens: dict[str, str] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    keys: int = 0

    # --- requests -----------------------------------------------------------------------

    def headers(self, who: str | None, key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    def new_key(self) -> str:
        self.keys += 1
        return f"key-{self.keys}"

    def get(self, who: str | None, path: str) -> httpx.Response:
        return self.client.get(path, headers=self.headers(who))

    def post(self, who: str | None, path: str, body: Any, key: str | None = None) -> httpx.Response:
        return self.client.post(path, json=body, headers=self.headers(who, key))

    def put(self, who: str | None, path: str, body: Any) -> httpx.Response:
        return self.client.put(path, json=body, headers=self.headers(who))

    def ok(self, response: httpx.Response, status: int = 201) -> dict[str, Any]:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/json"
        body: dict[str, Any] = response.json()
        return body

    def position(self) -> int:
        return self.ledger.last_position()

    def path_values(self, **overrides: str) -> dict[str, str]:
        """A value for every path parameter of the API (ids of this world, a stay id that
        is no stay's unless one is given), to fill an operation's path template."""
        return {
            "collectivite_id": self.ids["collectivite_a"],
            "aire_id": self.aire_a,
            "stay_id": "00000000-0000-4000-8000-000000000000",
            "register_id": self.register_a,
            "household_id": self.ids["household"],
            "report_id": "00000000-0000-4000-8000-000000000000",
            "table": "revenue_monthly",
            "document": "receipt",
            "number": "1",
            "count_number": "1",
            "month": "2025-01",
            "user_id": self.users["cashier"]["id"],
            "token_id": "00000000-0000-4000-8000-000000000000",
            "intervention_id": "00000000-0000-4000-8000-000000000000",
            "document_id": "00000000-0000-4000-8000-000000000000",
            "picture": "france",  # an analytics picture
            **overrides,
        }

    def now(self) -> str:
        return self.clock().isoformat()

    # --- the world's things -------------------------------------------------------------

    @property
    def aire_a(self) -> str:
        return self.ids["aire_a"]

    @property
    def aire_b(self) -> str:
        return self.ids["aire_b"]

    @property
    def register_a(self) -> str:
        return self.ids["register_a"]

    @property
    def register_b(self) -> str:
        return self.ids["register_b"]

    def aire_a2(self) -> str:
        """A second aire of collectivité A (sector "Anjou": the manager's too), with two
        emplacements, the tariff, a register (``register_a2``), a cashier and a régisseur
        of its own (``cashier_a2``, ``regisseur_a2``); created by the admin on first use.
        Returns its id."""
        if "aire_a2" not in self.ids:
            body = aire_body("49099-A2", self.ids["collectivite_a"], "Anjou")
            aire = self.ok(self.post("admin", "/v1/aires", body))["id"]
            for n in ("1", "2"):
                self.ok(self.post("admin", f"/v1/aires/{aire}/emplacements", {"number": n}))
            self.ok(self.post("admin", f"/v1/aires/{aire}/tariffs", TARIFF))
            register = self.ok(self.post("admin", f"/v1/aires/{aire}/registers", REGISTER))
            self.ids["aire_a2"], self.ids["register_a2"] = aire, register["id"]
            for name, role in (("cashier_a2", "cashier"), ("regisseur_a2", "regisseur")):
                user = {"name": name, "role": role, "aires": [aire]}
                created = self.ok(self.post("admin", "/v1/users", user))
                self.users[name], self.tokens[name] = created, created["token"]
        return self.ids["aire_a2"]

    def household(self, aire: str | None = None, name: str = "Famille Test") -> str:
        """Record a household (through the ledger: the household routes are tested on their
        own) at aire A by default; returns its id."""
        return str(
            self.ledger.record_household(
                aire_id=uuid.UUID(aire or self.aire_a), profile=Profile(name), actor="seed"
            ).aggregate_id
        )

    def stay_body(self, emplacement: str = "1", **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "emplacement": emplacement,
            "household_ref": overrides.pop("household_ref", None) or self.ids["household"],
            "arrived_at": self.now(),
            "adults": 2,
            "children": {"4-17": 1},
            "caravans": 1,
            "agreement_ref": "COT-2025-001",
            "entry_inspection_ref": "EDL-E-001",
            "water_index": "100",
            "electricity_index": "2000",
        }
        body.update(overrides)
        return body

    def arrive(self, aire: str | None = None, who: str = "cashier", **overrides: Any) -> str:
        """Open a stay (on aire A by default, of the world's household of the aire's
        collectivité unless told otherwise); returns its id."""
        if aire == self.aire_b:
            overrides.setdefault("household_ref", self.ids["household_b"])
        path = f"/v1/aires/{aire or self.aire_a}/stays"
        return str(self.ok(self.post(who, path, self.stay_body(**overrides)))["id"])

    def receipt(
        self,
        lines: list[tuple[str, int]],
        *,
        stay_id: str | None = None,
        method: str = "cash",
        register: str | None = None,
        who: str = "cashier",
        key: str | None = None,
    ) -> httpx.Response:
        body: dict[str, Any] = {
            "method": method,
            "lines": [{"revenue_type": t, "amount_cents": a} for t, a in lines],
        }
        if stay_id is not None:
            body["stay_id"] = stay_id
        path = f"/v1/registers/{register or self.register_a}/receipts"
        return self.post(who, path, body, key=key or self.new_key())

    def charge(self, stay_id: str, days: int = 1, who: str = "cashier") -> dict[str, Any]:
        """Charge the stay ``days`` days from today (a receipt for it then has something to
        settle); returns the stay."""
        through = (self.clock() + timedelta(days=days - 1)).date().isoformat()
        path = f"/v1/stays/{stay_id}/charges"
        return self.ok(self.post(who, path, {"through": through}), 200)

    def depart(self, stay_id: str, exit_ref: str = "EDL-S-001") -> dict[str, Any]:
        """The household leaves now (indexes unchanged); returns the stay."""
        body = {
            "departed_at": self.clock().isoformat(),
            "exit_inspection_ref": exit_ref,
            "water_index": "100",
            "electricity_index": "2000",
        }
        return self.ok(self.post("cashier", f"/v1/stays/{stay_id}/departure", body), 200)

    def settle(self, stay_id: str, method: str = "card") -> dict[str, Any]:
        """A receipt paying what the stay owes (« settle the balance »)."""
        body = {"stay_id": stay_id, "method": method, "settle_balance": True}
        path = f"/v1/registers/{self.register_a}/receipts"
        return self.ok(self.post("cashier", path, body, key=self.new_key()))

    def deposit(self, stay_id: str, amount: int = 15000) -> dict[str, Any]:
        return self.ok(self.receipt([("deposit", amount)], stay_id=stay_id))


def build_world(client: TestClient, ledger: Ledger, clock: Clock) -> World:
    """Everything the tests share, created through the API by the admin and the manager."""
    ledger.access.bootstrap_admin(ADMIN_TOKEN)
    w = World(client, ledger, clock, tokens={"admin": ADMIN_TOKEN})
    for name, code, siren in (("a", "ALM", "244900015"), ("b", "CCVIE", "200071934")):
        body = {"code": code, "name": f"Collectivité {code}", "siren": siren, "contacts": []}
        w.ids[f"collectivite_{name}"] = w.ok(w.post("admin", "/v1/collectivites", body))["id"]
    aires = (
        ("a", "49007-A", "Anjou", "regie", ("1", "2", "3", "4")),
        ("b", "85191-B", "Vendee", "dsp", ("1", "2")),
    )
    for name, code, sector, mode, numbers in aires:
        body = aire_body(code, w.ids[f"collectivite_{name}"], sector, mode=mode)
        aire_id = w.ok(w.post("admin", "/v1/aires", body))["id"]
        w.ids[f"aire_{name}"] = aire_id
        for n in numbers:
            w.ok(w.post("admin", f"/v1/aires/{aire_id}/emplacements", {"number": n}))
        w.ok(w.post("admin", f"/v1/aires/{aire_id}/tariffs", TARIFF))
        register = w.ok(w.post("admin", f"/v1/aires/{aire_id}/registers", REGISTER))
        w.ids[f"register_{name}"] = register["id"]
    people: dict[str, dict[str, Any]] = {
        "manager": {
            "role": "manager",
            "sectors": ["Anjou"],
            "collectivite_id": w.ids["collectivite_a"],
        },
        "cashier": {"role": "cashier", "aires": [w.aire_a]},
        "regisseur": {"role": "regisseur", "aires": [w.aire_a]},
        "cashier_b": {"role": "cashier", "aires": [w.aire_b]},
        "auditor": {"role": "auditor", "collectivite_id": w.ids["collectivite_a"]},
        "auditor_b": {"role": "auditor", "collectivite_id": w.ids["collectivite_b"]},
        "analyst": {"role": "analyst"},
        "intervenant": {"role": "intervenant", "aires": [w.aire_a]},
    }
    # the household every stay_body names unless told otherwise (recorded before any test
    # block that checks nothing is recorded)
    w.ids["household"] = w.household()
    w.ids["household_b"] = w.household(w.aire_b, "Famille Vendée")  # B's stays name it
    for name, scope in people.items():
        created = w.ok(w.post("admin", "/v1/users", {"name": name, **scope}))
        w.users[name] = created
        w.tokens[name] = created["token"]
    return w


def publish_the_year(client: TestClient, clock: Clock) -> Any:
    """The analytics job run once the clock's year is over — on 1 January of the next year,
    as of its 31 December (every period of the year ended; issue 19: a publication holds the
    periods ended by its day) — then the clock back where it was (the users' tokens last a
    few months: the world reads its publication as it stands)."""
    now = clock.now
    clock.now = datetime(now.year + 1, 1, 1, 9, tzinfo=UTC)
    try:
        analytics = client.app.state.analytics  # type: ignore[attr-defined]
        return analytics.publish(date(now.year, 12, 31))[0]
    finally:
        clock.now = now
