"""A retried money write through HTTP, on both backends: answered from its idempotency
record while another writer holds the register's write lock (nothing of the register is
locked or loaded for it: application/pipeline.py), and a key reused for another body is
refused just as early. Issue 17."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi.testclient import TestClient

from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger
from hacienda_ledger.settings import Settings
from tests.conftest import Clock
from tests.e2e.api_world import World, assert_problem, build_world


@pytest.fixture
def world(settings: Settings, ledger: Ledger, clock: Clock) -> Iterator[World]:
    with TestClient(create_app(settings, ledger=ledger)) as client:
        yield build_world(client, ledger, clock)


def while_locked(world: World, requests: list[Callable[[], httpx.Response]]) -> list[Any]:
    """Each request sent from its own thread while another thread holds register A's write
    lock; each must answer within 5 s (it would wait for the lock otherwise)."""
    register_id = UUID(world.register_a)
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with world.ledger.locks.hold_all([register_id]):
            taken.set()
            release.wait(timeout=30)

    holder = threading.Thread(target=hold)
    holder.start()
    answers: list[Any] = []
    try:
        assert taken.wait(timeout=10)
        for request in requests:
            sender = threading.Thread(target=lambda r=request: answers.append(r()))
            sender.start()
            sender.join(timeout=5)
            assert not sender.is_alive(), "the retry waited for the register's lock"
    finally:
        release.set()
        holder.join(timeout=30)
    return answers


def test_a_retried_receipt_answers_while_the_register_is_locked(world: World) -> None:
    """Given receipt 1 posted under key "pay-1", when another writer holds register A's
    lock, then the retry answers 201 with the same receipt and ``Idempotent-Replayed``, and
    the same key with another amount 422 ``idempotency_key_reused``; afterwards the next
    receipt is number 2."""
    first = world.receipt([("other", 1250)], key="pay-1")
    assert first.status_code == 201
    again, other = while_locked(
        world,
        [
            lambda: world.receipt([("other", 1250)], key="pay-1"),
            lambda: world.receipt([("other", 1251)], key="pay-1"),
        ],
    )
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert_problem(other, 422, "idempotency_key_reused")
    assert world.ok(world.receipt([("other", 300)], key="pay-2"))["number"] == 2
