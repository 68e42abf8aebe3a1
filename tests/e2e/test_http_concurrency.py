"""On PostgreSQL, a real uvicorn server and 8 client threads posting 50 receipts each on one
register end with numbers 1..400: none lost, none repeated, no request failing."""

from __future__ import annotations

import threading

import httpx
import pytest

from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.application import Ledger
from hacienda_ledger.settings import Settings
from tests.conftest import _truncate_postgres
from tests.live_server import live_server, one_register


@pytest.mark.postgres
def test_eight_clients_post_400_receipts_on_one_register(postgres_database: str) -> None:
    _truncate_postgres(postgres_database)
    register_id = one_register(postgres_database, "load-cashier")

    statuses: list[int] = []
    numbers: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def post_all(base: str, k: int) -> None:
        with httpx.Client(
            base_url=base, timeout=30, headers={"Authorization": "Bearer load-cashier"}
        ) as http:
            for i in range(50):
                r = http.post(
                    f"/v1/registers/{register_id}/receipts",
                    headers={"Idempotency-Key": f"c{k}-{i}"},
                    json={
                        "method": "cash",
                        "lines": [{"revenue_type": "other", "amount_cents": 100}],
                    },
                )
                with lock:
                    statuses.append(r.status_code)
                    if r.status_code == 201:
                        numbers.append(r.json()["number"])

    def client(base: str, k: int) -> None:
        try:
            post_all(base, k)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    with live_server({"HACIENDA_DATABASE_URL": postgres_database}) as base:
        threads = [threading.Thread(target=client, args=(base, k)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    assert errors == []
    assert len(statuses) == 400
    assert set(statuses) == {201}
    assert sorted(numbers) == list(range(1, 401))
    check = Ledger(Settings(database_url=postgres_database))
    try:
        issued = [
            e.number
            for e in check.events.get(register_id)
            if isinstance(e, CashRegister.ReceiptIssued)
        ]
        assert issued == list(range(1, 401))
        assert check.audit.verify_register(register_id).ok
    finally:
        check.close()
