"""A client generated from the app's OpenAPI document with openapi-python-client works on
every operation, downloads included, against a served app (real uvicorn, SQLite).

The client is generated once for the module, into a temporary folder, from the document the
app serves; the generator's one setting (tests/fixtures/openapi-python-client.yaml) reads
the PDF, CSV and XLSX media types as bytes (it knows JSON, text and octet-stream only). A
world is built through the client itself (a collectivité, aires, a register, users, a
household, stays, receipts...) and each operation of the document is called once or more,
as the role allowed to; every call is checked to end in a success the client parsed into
its own model (or, for a file, bytes that open as that file). The last check: the
operations called are every operation of the document, so that a new route fails this test
until it is called here too.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import os
import pkgutil
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import openpyxl
import pytest

from hacienda_ledger.api.app import create_app
from hacienda_ledger.settings import Settings
from tests.live_server import live_server

pytestmark = pytest.mark.slow

ADMIN_TOKEN = "client-admin-token"
PACKAGE = "hacienda_generated_client"
CONFIG = Path(__file__).parent.parent / "fixtures" / "openapi-python-client.yaml"
PARIS = ZoneInfo("Europe/Paris")


def _document() -> dict[str, Any]:
    return create_app(Settings(database_url="sqlite:///:memory:")).openapi()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client package, generated from the app's document and imported."""
    folder = tmp_path_factory.mktemp("client")
    document = folder / "openapi.json"
    document.write_text(json.dumps(_document()))
    bin_dir = str(Path(sys.executable).parent)
    done = subprocess.run(
        [
            f"{bin_dir}/openapi-python-client",
            "generate",
            "--path",
            str(document),
            "--output-path",
            str(folder / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(CONFIG),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": bin_dir, "HOME": str(folder)},
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout, done.stdout  # every operation and answer generated
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
            del sys.modules[name]


class Caller:
    """Calls the generated client's operations by operationId, as one of the world's
    users, and keeps which operations it called."""

    def __init__(self, package: ModuleType, base: str) -> None:
        self.package = package
        self.base = base
        self.tokens: dict[str, str] = {"admin": ADMIN_TOKEN}
        self.called: set[str] = set()
        self.keys = 0
        self.modules: dict[str, ModuleType] = {}
        api = importlib.import_module(f"{PACKAGE}.api")
        for tag in pkgutil.iter_modules(api.__path__):
            folder = importlib.import_module(f"{PACKAGE}.api.{tag.name}")
            for op in pkgutil.iter_modules(folder.__path__):
                self.modules[op.name] = importlib.import_module(
                    f"{PACKAGE}.api.{tag.name}.{op.name}"
                )

    def model(self, name: str, data: dict[str, Any]) -> Any:
        """A body, as the generated model ``name`` built from its JSON form."""
        module = importlib.import_module(f"{PACKAGE}.models")
        return getattr(module, name).from_dict(data)

    def key(self) -> str:
        self.keys += 1
        return f"client-key-{self.keys}"

    def client(self, who: str | None) -> Any:
        if who is None:
            return self.package.Client(base_url=self.base, timeout=httpx.Timeout(60))
        return self.package.AuthenticatedClient(
            base_url=self.base, token=self.tokens[who], timeout=httpx.Timeout(60)
        )

    def __call__(self, operation_id: str, who: str | None = "admin", **kwargs: Any) -> Any:
        """Call the operation; the answer must be a success, parsed (not a problem)."""
        name = re.sub(r"_+", "_", operation_id)
        with self.client(who) as client:
            response = self.modules[name].sync_detailed(client=client, **kwargs)
        assert 200 <= response.status_code < 300, (operation_id, response.content[:2000])
        assert response.parsed is not None, operation_id
        assert type(response.parsed).__name__ != "Problem", operation_id
        self.called.add(operation_id)
        return response.parsed


def op(document: dict[str, Any], method: str, path: str) -> str:
    operation_id: str = document["paths"][path][method]["operationId"]
    return operation_id


def pdf(file: Any) -> bytes:
    content: bytes = file.payload.read()
    assert content.startswith(b"%PDF"), content[:20]
    return content


def rows_of_csv(file: Any) -> list[list[str]]:
    text = file.payload.read().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows and rows[0], text[:200]
    return rows


def xlsx(file: Any) -> None:
    book = openpyxl.load_workbook(io.BytesIO(file.payload.read()), read_only=True)
    assert book.sheetnames
    book.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The app served on an SQLite file of its own: (base URL, database URL)."""
    folder = tmp_path_factory.mktemp("served")
    url = f"sqlite:///{folder / 'ledger.sqlite3'}"
    env = {
        "HACIENDA_DATABASE_URL": url,
        "HACIENDA_ADMIN_TOKEN": ADMIN_TOKEN,
        "HACIENDA_REPORTS_AUTO": "false",
        "HACIENDA_ATTESTATION_KEY": str(folder / "attestation-key.pem"),
    }
    key = subprocess.run(
        [sys.executable, "-m", "hacienda_ledger.cli", "attestations", "key"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert key.returncode == 0, key.stdout + key.stderr
    with live_server(env) as base:
        yield base, url


def test_the_generated_client_calls_every_operation(
    generated: ModuleType, served: tuple[str, str]
) -> None:
    """Every operation of the document, through the generated client, ends in a success
    it parses; files come back as bytes that open as PDF, CSV or XLSX."""
    base, database = served
    document = _document()
    call = Caller(generated, base)
    steps: list[Callable[[Caller, dict[str, Any], dict[str, Any], str], None]] = [
        _setup,
        _people,
        _households,
        _stays,
        _receipts,
        _advances,
        _cash,
        _reads,
        _interventions,
        _documents,
        _usage,
        _months,
        _tokens,
    ]
    ids: dict[str, Any] = {}
    for step in steps:
        step(call, document, ids, database)
    every = {o["operationId"] for item in document["paths"].values() for o in item.values()}
    assert every - call.called == set()


def _today() -> date:
    return datetime.now(PARIS).date()


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _setup(call: Caller, doc: dict[str, Any], ids: dict[str, Any], _: str) -> None:
    """Health, the admin, a collectivité, two aires with emplacements, tariffs, rules,
    closures, registers (the second attached to the first aire)."""
    assert call(op(doc, "get", "/health"), None)
    assert call(op(doc, "get", "/ready"), None)
    me = call(op(doc, "get", "/v1/users/me"))
    assert me.role == "admin"
    body = {"code": "CLI", "name": "Collectivité client", "siren": "244900015"}
    coll = call(op(doc, "post", "/v1/collectivites"), body=call.model("CollectiviteCreate", body))
    ids["collectivite"] = coll.id
    assert call(op(doc, "get", "/v1/collectivites"), limit=10).count == 1
    assert call(op(doc, "get", "/v1/collectivites/{collectivite_id}"), collectivite_id=coll.id)
    for name in ("aire", "aire2"):
        body = {
            "code": f"49007-{name.upper()}",
            "name": f"Aire {name}",
            "collectivite_id": str(coll.id),
            "sector": "Anjou",
            "mode": "regie",
            "insee_code": "49007",
            "departement": "49",
            "latitude": "47.4872",
            "longitude": "-0.5919",
            # in service from last month: the first month it seals (months are sealed in
            # order from the aire's service start, and _months seals last month)
            "in_service_from": (_today().replace(day=1) - timedelta(days=1))
            .replace(day=1)
            .isoformat(),
        }
        aire = call(op(doc, "post", "/v1/aires"), body=call.model("AireCreate", body))
        ids[name] = aire.id
        for number in ("1", "2", "3"):
            call(
                op(doc, "post", "/v1/aires/{aire_id}/emplacements"),
                aire_id=aire.id,
                body=call.model("EmplacementCreate", {"number": number}),
            )
        tariff = {
            "effective_from": "2025-01-01",
            "deliberation_ref": "DEL-2024-118",
            "pitch_fee_per_day_cents": 300,
            "water_price_per_m3": "3.5120",
            "electricity_price_per_kwh": "0.2276",
            "deposit_cents": 15000,
        }
        call(
            op(doc, "post", "/v1/aires/{aire_id}/tariffs"),
            aire_id=aire.id,
            body=call.model("TariffCreate", tariff),
        )
        register = {
            "regie_ref": f"AC-{name}",
            "float_cents": 5000,
            "cash_ceiling_cents": 150000,
            "payment_methods": ["cash", "cheque", "card"],
            "revenue_types": ["pitch_fee", "water", "electricity", "deposit", "other"],
        }
        opened = call(
            op(doc, "post", "/v1/aires/{aire_id}/registers"),
            aire_id=aire.id,
            body=call.model("RegisterCreate", register),
        )
        ids[f"register_{name}"] = opened.id
    aire_id = ids["aire"]
    assert call(op(doc, "get", "/v1/aires"), limit=10).count == 2
    assert call(op(doc, "get", "/v1/aires/{aire_id}"), aire_id=aire_id)
    later = (_today() + timedelta(days=40)).isoformat()
    out = {"start": later, "reason": "travaux"}
    call(
        op(doc, "post", "/v1/aires/{aire_id}/emplacements/{number}/out-of-service"),
        aire_id=aire_id,
        number="3",
        body=call.model("OutOfServiceCreate", out),
    )
    back = {"start": (_today() + timedelta(days=45)).isoformat()}
    call(
        op(doc, "post", "/v1/aires/{aire_id}/emplacements/{number}/back-in-service"),
        aire_id=aire_id,
        number="3",
        body=call.model("BackInServiceCreate", back),
    )
    closure = {
        "start": (_today() + timedelta(days=75)).isoformat(),
        "end": (_today() + timedelta(days=76)).isoformat(),
        "reason": "curage des réseaux",
    }
    call(
        op(doc, "post", "/v1/aires/{aire_id}/closures"),
        aire_id=aire_id,
        body=call.model("ClosureCreate", closure),
    )
    rules = {"max_consecutive_days": 90, "extension_cap_months": 6}
    call(
        op(doc, "put", "/v1/aires/{aire_id}/stay-rules"),
        aire_id=aire_id,
        body=call.model("StayRulesUpdate", rules),
    )
    register_rules = {"decision_ref": "DEC-2025-01", "cash_ceiling_cents": 150000}
    call(
        op(doc, "put", "/v1/registers/{register_id}/rules"),
        register_id=ids["register_aire"],
        body=call.model("RegisterRulesUpdate", register_rules),
    )
    call(
        op(doc, "post", "/v1/aires/{aire_id}/attached-registers"),
        aire_id=aire_id,
        body=call.model("AttachedRegisterCreate", {"register_id": str(ids["register_aire2"])}),
    )


def _people(call: Caller, doc: dict[str, Any], ids: dict[str, Any], _: str) -> None:
    """A cashier, two régisseurs and an auditor, each with the token made for them."""
    aire = str(ids["aire"])
    people = {
        "cashier": {"role": "cashier", "aires": [aire]},
        "regisseur": {"role": "regisseur", "aires": [aire]},
        "relief": {"role": "regisseur", "aires": [aire]},
        "auditor": {"role": "auditor", "collectivite_id": str(ids["collectivite"])},
    }
    for name, scope in people.items():
        created = call(
            op(doc, "post", "/v1/users"), body=call.model("UserCreate", {"name": name, **scope})
        )
        call.tokens[name] = created.token
        ids[f"user_{name}"] = created.id


def _households(call: Caller, doc: dict[str, Any], ids: dict[str, Any], _: str) -> None:
    """Two households: one stays, the other's personal data is erased at the end."""
    for name in ("Famille Martin", "Famille Erasme"):
        body = {
            "aire_id": str(ids["aire"]),
            "display_name": name,
            "members": [{"name": f"Paul {name[8:]}", "birth_year": 1984, "relationship": "head"}],
            "contact": {"phone": "06 12 34 56 78"},
        }
        created = call(
            op(doc, "post", "/v1/households"),
            "cashier",
            body=call.model("HouseholdCreate", body),
        )
        ids.setdefault("households", []).append(created.id)
    household = ids["households"][0]
    path = "/v1/households/{household_id}"
    assert call(op(doc, "get", path), "cashier", household_id=household).display_name
    call(
        op(doc, "patch", path),
        "cashier",
        household_id=household,
        body=call.model("HouseholdUpdate", {"notes": "arrivée prévue"}),
    )
    found = call(op(doc, "get", "/v1/households"), "cashier", name="Martin")
    assert found.count == 1
    document = {"kind": "identity_seen", "date": _today().isoformat(), "reference": "CNI-1"}
    call(
        op(doc, "post", f"{path}/documents"),
        "cashier",
        household_id=household,
        body=call.model("DocumentCreate", document),
    )
    assert call(op(doc, "get", f"{path}/documents"), "cashier", household_id=household).count


def _stays(call: Caller, doc: dict[str, Any], ids: dict[str, Any], _: str) -> None:
    """Two stays: the first extended, read, charged; the second leaves."""
    for emplacement, household in zip(("1", "2"), ids["households"], strict=True):
        body = {
            "emplacement": emplacement,
            "household_ref": str(household),
            "arrived_at": _now(),
            "adults": 2,
            "children": {"4-17": 1},
            "caravans": 1,
            "agreement_ref": "COT-1",
            "entry_inspection_ref": "EDL-E-1",
            "water_index": "100",
            "electricity_index": "2000",
        }
        stay = call(
            op(doc, "post", "/v1/aires/{aire_id}/stays"),
            "cashier",
            aire_id=ids["aire"],
            body=call.model("StayCreate", body),
        )
        ids.setdefault("stays", []).append(stay.id)
    stay = ids["stays"][0]
    path = "/v1/stays/{stay_id}"
    assert call(op(doc, "get", path), "cashier", stay_id=stay).status == "open"
    reading = {"meter": "water", "index": "103.5", "read_at": _now()}
    call(
        op(doc, "post", f"{path}/meter-readings"),
        "cashier",
        stay_id=stay,
        body=call.model("MeterReadingCreate", reading),
    )
    extension = {
        "reason": "hospitalisation",
        "evidence_ref": "CERT-1",
        "until": (_today() + timedelta(days=120)).isoformat(),
    }
    call(
        op(doc, "post", f"{path}/extensions"),
        "cashier",
        stay_id=stay,
        body=call.model("ExtensionCreate", extension),
    )
    call(
        op(doc, "post", f"{path}/charges"),
        "cashier",
        stay_id=stay,
        body=call.model("ChargeCreate", {"through": _today().isoformat()}),
    )
    assert call(op(doc, "get", f"{path}/balance"), "cashier", stay_id=stay)


def _receipts(call: Caller, doc: dict[str, Any], ids: dict[str, Any], _: str) -> None:
    """Receipts, their cancellations (asked and approved, refused, withdrawn; the
    régisseur's own), a deposit refunded and one withheld, the documents as PDF."""
    register = ids["register_aire"]
    receipts = "/v1/registers/{register_id}/receipts"

    def receipt(who: str, body: dict[str, Any]) -> int:
        made = call(
            op(doc, "post", receipts),
            who,
            register_id=register,
            idempotency_key=call.key(),
            body=call.model("ReceiptCreate", body),
        )
        return int(made.number)

    stay, leaving = ids["stays"]
    settled = receipt("cashier", {"stay_id": str(stay), "method": "card", "settle_balance": True})
    for each in (stay, leaving):
        deposit = [{"revenue_type": "deposit", "amount_cents": 15000}]
        receipt("cashier", {"stay_id": str(each), "method": "cash", "lines": deposit})
    other = {"method": "cash", "lines": [{"revenue_type": "other", "amount_cents": 500}]}
    numbers = [receipt("cashier", other) for _ in range(4)]
    ids["receipt"] = settled
    cancel = f"{receipts}/{{number}}/cancellation"
    why = call.model("CancellationCreate", {"reason": "encaissé deux fois"})
    for number in numbers[:3]:
        call(
            op(doc, "post", cancel),
            "cashier",
            register_id=register,
            number=number,
            idempotency_key=call.key(),
            body=why,
        )
    call(
        op(doc, "post", f"{cancel}/approval"),
        "regisseur",
        register_id=register,
        number=numbers[0],
        idempotency_key=call.key(),
    )
    call(
        op(doc, "post", f"{cancel}/refusal"),
        "regisseur",
        register_id=register,
        number=numbers[1],
        body=call.model("CancellationRefusalCreate", {"reason": "encaissé une fois"}),
    )
    call(
        op(doc, "post", f"{cancel}/withdrawal"), "cashier", register_id=register, number=numbers[2]
    )
    call(
        op(doc, "post", cancel),
        "regisseur",
        register_id=register,
        number=numbers[3],
        idempotency_key=call.key(),
        body=why,
    )
    got = call(op(doc, "get", f"{receipts}/{{number}}"), "cashier", register_id=register, number=1)
    assert got.number == 1
    departure = {
        "departed_at": _now(),
        "exit_inspection_ref": "EDL-S-1",
        "water_index": "100",
        "electricity_index": "2000",
    }
    call(
        op(doc, "post", "/v1/stays/{stay_id}/departure"),
        "cashier",
        stay_id=leaving,
        body=call.model("DepartureCreate", departure),
    )
    receipt("cashier", {"stay_id": str(leaving), "method": "cash", "settle_balance": True})
    withheld = {
        "stay_id": str(leaving),
        "amount_cents": 5000,
        "reason": "damage",
        "reference": "EDL-S-1",
    }
    call(
        op(doc, "post", "/v1/registers/{register_id}/deposit-withholdings"),
        "cashier",
        register_id=register,
        idempotency_key=call.key(),
        body=call.model("WithholdingCreate", withheld),
    )
    refund = {"stay_id": str(leaving), "amount_cents": 10000, "method": "cash"}
    call(
        op(doc, "post", "/v1/registers/{register_id}/deposit-refunds"),
        "cashier",
        register_id=register,
        idempotency_key=call.key(),
        body=call.model("DepositRefundCreate", refund),
    )
    documents = "/v1/registers/{register_id}/documents/{document}/{number}"
    pdf(
        call(
            op(doc, "get", documents), "cashier", register_id=register, document="receipt", number=1
        )
    )
    reprint = call(
        op(doc, "post", f"{documents}/reprints"),
        "cashier",
        register_id=register,
        document="receipt",
        number=1,
    )
    pdf(reprint)


def _cash(call: Caller, doc: dict[str, Any], ids: dict[str, Any], _: str) -> None:
    """A slip, a count and its difference regularised, a handover, a day closed."""
    register = ids["register_aire"]
    path = "/v1/registers/{register_id}"
    last = call(op(doc, "get", path), "cashier", register_id=register).last_receipt_number
    preview = call(
        op(doc, "get", f"{path}/remittances/preview"),
        "cashier",
        register_id=register,
        through_receipt=last,
    )
    slip = {
        "through_receipt": last,
        "amounts_by_method_cents": preview.amounts_by_method_cents.to_dict(),
    }
    call(
        op(doc, "post", f"{path}/remittances"),
        "regisseur",
        register_id=register,
        idempotency_key=call.key(),
        body=call.model("RemittanceCreate", slip),
    )
    documents = f"{path}/documents/{{document}}/{{number}}"
    pdf(
        call(
            op(doc, "get", documents), "regisseur", register_id=register, document="slip", number=1
        )
    )
    count = call(
        op(doc, "post", f"{path}/cash-counts"),
        "regisseur",
        register_id=register,
        body=call.model("CashCountCreate", {"counted_cents": 4900}),
    )
    number = count.result.to_dict()["count_number"]
    call(
        op(doc, "post", f"{path}/cash-counts/{{count_number}}/regularisation"),
        "regisseur",
        register_id=register,
        count_number=number,
        idempotency_key=call.key(),
        body=call.model("CashRegularisationCreate", {"reference": "QUIT-REG-1"}),
    )
    handover = {
        "incoming_user_id": str(ids["user_relief"]),
        "denominations": [{"value_cents": 5000, "count": 1}],
    }
    call(
        op(doc, "post", f"{path}/handovers"),
        "regisseur",
        register_id=register,
        body=call.model("HandoverCreate", handover),
    )
    closure = {"period": "day", "date": _today().isoformat()}
    call(
        op(doc, "post", f"{path}/closures"),
        "relief",
        register_id=register,
        body=call.model("PeriodClosureCreate", closure),
    )


def _reads(call: Caller, doc: dict[str, Any], ids: dict[str, Any], _: str) -> None:
    """What the auditor and the admin read: verifications, journal (JSON and CSV),
    history, alerts, exports (CSV, XLSX), the household's export (JSON, PDF) and log."""
    register = ids["register_aire"]
    path = "/v1/registers/{register_id}"
    assert call(op(doc, "get", f"{path}/verify"), "auditor", register_id=register).ok
    assert call(op(doc, "get", "/v1/aires/{aire_id}/verify"), aire_id=ids["aire"]).ok
    assert call(op(doc, "get", f"{path}/alerts"), "auditor", register_id=register)
    journal = op(doc, "get", f"{path}/journal")
    page = json.loads(call(journal, "auditor", register_id=register, limit=5).payload.read())
    assert page["count"] == 5 and page["next_cursor"]
    csv_format = generated_enum(call, "JournalV1RegistersRegisterIdJournalGetFormat")("csv")
    from_csv = rows_of_csv(call(journal, "auditor", register_id=register, format_=csv_format))
    assert len(from_csv) > 5
    history = call(
        op(doc, "get", f"{path}/history"), "auditor", register_id=register, as_of=datetime.now(UTC)
    )
    assert history
    export = op(doc, "get", "/v1/exports/{table}")
    tables = generated_enum(call, "ExportV1ExportsTableGetTable")
    formats = generated_enum(call, "ExportV1ExportsTableGetFormat")
    rows_of_csv(call(export, "auditor", table=tables("cash_journal")))
    xlsx(call(export, table=tables("revenue_monthly"), format_=formats("xlsx")))
    household = ids["households"][0]
    where = "/v1/households/{household_id}"
    exported = call(op(doc, "get", f"{where}/export"), household_id=household)
    assert json.loads(exported.payload.read())["household"]
    pdf_format = generated_enum(call, "ExportHouseholdV1HouseholdsHouseholdIdExportGetFormat")
    pdf(call(op(doc, "get", f"{where}/export"), household_id=household, format_=pdf_format("pdf")))
    assert call(op(doc, "get", f"{where}/access-log"), household_id=household).count
    trail = call(op(doc, "get", "/v1/audit-trail"), limit=3)
    assert trail.count == 3


def _advances(call: Caller, doc: dict[str, Any], ids: dict[str, Any], _: str) -> None:
    """Issue 15: money paid ahead for a stay, held, then what is held refunded."""
    register, stay = ids["register_aire"], ids["stays"][0]
    ahead = {"revenue_type": "advance", "amount_cents": 20000}
    call(
        op(doc, "post", "/v1/registers/{register_id}/receipts"),
        "cashier",
        register_id=register,
        idempotency_key=call.key(),
        body=call.model(
            "ReceiptCreate", {"stay_id": str(stay), "method": "cash", "lines": [ahead]}
        ),
    )
    held = call(op(doc, "get", "/v1/stays/{stay_id}"), "cashier", stay_id=stay)
    assert held.advance_held_cents > 0
    call(
        op(doc, "post", "/v1/registers/{register_id}/advance-refunds"),
        "cashier",
        register_id=register,
        idempotency_key=call.key(),
        body=call.model("AdvanceRefundCreate", {"stay_id": str(stay), "method": "cash"}),
    )
    assert (
        call(op(doc, "get", "/v1/stays/{stay_id}"), "cashier", stay_id=stay).advance_held_cents == 0
    )


def _interventions(call: Caller, doc: dict[str, Any], ids: dict[str, Any], _: str) -> None:
    """Issue 18: an intervenant joins the aire's team, records an intervention, reads it,
    marks it done, and leaves the team."""
    aire = ids["aire"]
    created = call(
        op(doc, "post", "/v1/users"),
        body=call.model("UserCreate", {"name": "Intervenant", "role": "intervenant"}),
    )
    call.tokens["intervenant"] = created.token
    team = call.model("TeamMemberCreate", {"user_id": str(created.id)})
    assert call(op(doc, "post", "/v1/aires/{aire_id}/team"), aire_id=aire, body=team).team
    body = {
        "kind": "cleaning",
        "label": "sanitaires",
        "started_at": _now(),
        "description": "nettoyage des sanitaires",
        "status": "planned",
    }
    recorded = call(
        op(doc, "post", "/v1/aires/{aire_id}/interventions"),
        "intervenant",
        aire_id=aire,
        body=call.model("InterventionCreate", body),
    )
    listed = call(op(doc, "get", "/v1/aires/{aire_id}/interventions"), "intervenant", aire_id=aire)
    assert listed.count == 1
    path = "/v1/interventions/{intervention_id}"
    assert call(op(doc, "get", path), "intervenant", intervention_id=recorded.id)
    done = call.model("InterventionUpdate", {"status": "done"})
    call(op(doc, "patch", path), "intervenant", intervention_id=recorded.id, body=done)
    call(op(doc, "delete", "/v1/aires/{aire_id}/team/{user_id}"), aire_id=aire, user_id=created.id)


def _documents(call: Caller, doc: dict[str, Any], ids: dict[str, Any], _: str) -> None:
    """Issue 18: the aire's règlement intérieur uploaded, a new version, listed, and each
    version downloaded back byte for byte."""
    models = importlib.import_module(f"{PACKAGE}.models")
    file_type = importlib.import_module(f"{PACKAGE}.types").File
    aire, first, second = ids["aire"], b"%PDF-1.4\n% v1\n%%EOF\n", b"%PDF-1.4\n% v2\n%%EOF\n"

    def file(content: bytes) -> Any:
        return file_type(payload=io.BytesIO(content), file_name="reglement.pdf")

    upload = models.BodyUploadDocumentV1AiresAireIdDocumentsPost(
        file=file(first),
        kind=generated_enum(call, "AireDocumentKind")("reglement_interieur"),
        title="Règlement intérieur",
        valid_from=date(2025, 1, 1),
    )
    made = call(
        op(doc, "post", "/v1/aires/{aire_id}/documents"),
        aire_id=aire,
        idempotency_key=call.key(),
        body=upload,
    )
    version = models.BodyUploadVersionV1AiresAireIdDocumentsDocumentIdVersionsPost(
        file=file(second), valid_from=_today()
    )
    call(
        op(doc, "post", "/v1/aires/{aire_id}/documents/{document_id}/versions"),
        aire_id=aire,
        document_id=made.id,
        idempotency_key=call.key(),
        body=version,
    )
    listed = call(op(doc, "get", "/v1/aires/{aire_id}/documents"), "cashier", aire_id=aire)
    assert listed.count == 1
    path = "/v1/aires/{aire_id}/documents/{document_id}"
    for number, content in ((1, first), (2, second)):
        got = call(
            op(doc, "get", path), "cashier", aire_id=aire, document_id=made.id, version=number
        )
        assert pdf(got) == content


def _usage(call: Caller, doc: dict[str, Any], ids: dict[str, Any], database: str) -> None:
    """Issue 19: a family turned away, the analytics published by the CLI (reads never
    compute: point 6), and an analytics table read."""
    turned_away = {"day": _today().isoformat(), "reason": "full", "caravans": 2, "people": 5}
    call(
        op(doc, "post", "/v1/aires/{aire_id}/unmet-demand"),
        aire_id=ids["aire"],
        body=call.model("UnmetDemandCreate", turned_away),
    )
    published = subprocess.run(
        [sys.executable, "-m", "hacienda_ledger.cli", "--database-url", database, "analytics",
         "publish"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert published.returncode == 0, published.stdout + published.stderr
    table = call(op(doc, "get", "/v1/analytics/{table}"), table="departement_month")
    assert table.table == "departement_month"
    picture = op(doc, "get", "/v1/analytics/pictures/{picture}")
    names = generated_enum(call, "ReadPictureV1AnalyticsPicturesPictureGetPicture")
    formats = generated_enum(call, "ReadPictureV1AnalyticsPicturesPictureGetFormat")
    png = call(picture, picture=names("departement"), departement="49").payload.read()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    svg = call(picture, picture=names("series"), departement="49", format_=formats("svg"))
    assert b"<svg" in svg.payload.read()


def generated_enum(call: Caller, name: str) -> Callable[[str], Any]:
    enum: Callable[[str], Any] = getattr(importlib.import_module(f"{PACKAGE}.models"), name)
    return enum


def _months(call: Caller, doc: dict[str, Any], ids: dict[str, Any], database: str) -> None:
    """Last month sealed, attested and regularised; the statistics; the reports built by
    the CLI for last month, listed and downloaded."""
    aire = ids["aire"]
    last_month = (_today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    seals = "/v1/aires/{aire_id}/seals"
    call(op(doc, "post", seals), aire_id=aire, body=call.model("SealCreate", {"month": last_month}))
    assert call(op(doc, "get", seals), aire_id=aire).count == 1
    attestation = call(
        op(doc, "get", f"{seals}/{{month}}/attestation"), aire_id=aire, month=last_month
    )
    assert attestation
    # an amount only: the aire's emplacements entered service today, last month had no
    # place-day available to occupy (a place-day more is refused: 422 invalid_value)
    correction = {"month": last_month, "place_days": 0, "amount_cents": 300, "reason": "oubli"}
    call(
        op(doc, "post", "/v1/aires/{aire_id}/regularisations"),
        aire_id=aire,
        body=call.model("RegularisationCreate", correction),
    )
    where = "/v1/aires/{aire_id}"
    assert call(op(doc, "get", f"{where}/occupancy"), aire_id=aire, month=last_month)
    assert call(op(doc, "get", f"{where}/alt2"), aire_id=aire, year=_today().year)
    assert call(op(doc, "get", f"{where}/revenue"), aire_id=aire, year=_today().year)
    cli = [sys.executable, "-m", "hacienda_ledger.cli", "--database-url", database]
    built = subprocess.run(
        [*cli, "reports", "generate", "--month", last_month, "--aire", str(aire)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    stored = call(op(doc, "get", "/v1/reports"), aire_id=aire)
    assert stored.count
    download = op(doc, "get", "/v1/reports/{report_id}")
    opened = set()
    for report in stored.data:
        file = call(download, report_id=report.report_id)
        if report.media_type.startswith("application/pdf"):
            pdf(file)
        elif report.media_type.startswith("text/csv"):
            rows_of_csv(file)
        else:
            xlsx(file)
        opened.add(report.media_type.split(";")[0])
    assert "application/pdf" in opened


def _tokens(call: Caller, doc: dict[str, Any], ids: dict[str, Any], _: str) -> None:
    """Tokens listed, one rotated, another revoked; a household's personal data erased."""
    mine = call(op(doc, "get", "/v1/users/me/tokens"), "auditor")
    assert mine.count == 1
    theirs = call(op(doc, "get", "/v1/users/{user_id}/tokens"), user_id=ids["user_cashier"])
    rotated = call(op(doc, "post", "/v1/tokens/{token_id}/rotation"), token_id=theirs.data[0].id)
    assert rotated.token
    call(op(doc, "post", "/v1/tokens/{token_id}/revocation"), token_id=mine.data[0].id)
    erase = op(doc, "delete", "/v1/households/{household_id}/personal-data")
    assert call(erase, household_id=ids["households"][1]).erased
