"""A seal and an erasure run alone, through the HTTP API, on SQLite and PostgreSQL.

Writes that queue together are run and saved as one group (``pipeline.py``). A seal reads
the month's stays, chains' heads and figures from what is saved, and an erasure destroys
the household's key in a transaction of its own: grouped with other writes, a seal missed
the group's back-dated arrival or out-of-service (sealed without them, ``/verify`` then
failing for ever), and an erasure left the group's save unable to encrypt an update of the
household (every write of the group failed). Each test lines its requests up in the
command queue in a known order (``queued_in_order``): the queue runs them as one batch, and
the pipeline saves what came before the seal or erasure first, runs it, then the rest.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi.testclient import TestClient

from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.pipeline import Pipeline
from hacienda_ledger.settings import Settings
from tests.conftest import Clock
from tests.e2e.api_world import World, assert_problem, build_world


@pytest.fixture
def world(settings: Settings, ledger: Ledger, clock: Clock) -> Iterator[World]:
    with TestClient(create_app(settings, ledger=ledger)) as client:
        yield build_world(client, ledger, clock)


def queued_in_order(world: World, calls: list[Callable[[], httpx.Response]]) -> list[Any]:
    """Hold the command queue while each request queues in its turn (the next one is sent
    once the one before waits in the queue), then let go: the queue runs them as one batch,
    in that order. Returns the responses, in the order of ``calls``."""
    writer = world.ledger.writer
    assert isinstance(writer, Pipeline)
    queue = writer.queue
    responses: list[Any] = [None] * len(calls)

    def send(i: int) -> None:
        responses[i] = calls[i]()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(calls))]
    batches = queue.batches
    with queue.held():
        for i, thread in enumerate(threads):
            thread.start()
            deadline = time.monotonic() + 10
            while queue.waiting < i + 1:
                assert time.monotonic() < deadline, "the request did not queue"
                time.sleep(0.002)
    for thread in threads:
        thread.join(timeout=30)
    assert queue.batches == batches + 1  # one batch of the queue ran them all
    return responses


def january_over(world: World) -> str:
    """A stay from 6 January charged through the 31st; on 3 February the register closes
    January: the month can be sealed. Returns the stay."""
    stay = world.arrive()
    world.charge(stay, 26)
    world.clock.now = datetime(2025, 2, 3, 9, tzinfo=UTC)
    closures = f"/v1/registers/{world.register_a}/closures"
    world.ok(world.post("cashier", closures, {"period": "month", "date": "2025-01-31"}))
    return stay


def seal_january(world: World) -> Callable[[], httpx.Response]:
    return lambda: world.post("manager", f"/v1/aires/{world.aire_a}/seals", {"month": "2025-01"})


def out_of_service(world: World, emplacement: str, start: str) -> Callable[[], httpx.Response]:
    path = f"/v1/aires/{world.aire_a}/emplacements/{emplacement}/out-of-service"
    return lambda: world.post("manager", path, {"start": start, "reason": "panne"})


def test_a_seal_queued_behind_a_back_dated_out_of_service_seals_it(world: World) -> None:
    """Queued in one batch: an emplacement out of service from 25 January, January's
    seal, another from 27 January, a régularisation of January. The seal is taken once the
    first is saved: its aire head is the aire's version after it, ``/verify`` finds every
    seal right, and régularisations of January are accepted (the one queued behind the seal
    reads it saved); the out-of-service queued behind the seal sees it (409
    ``period_sealed``). Grouped, the seal read the aire before the first was saved (and
    every later régularisation of January was 409 ``sealed_figures_changed``)."""
    january_over(world)
    body = {"month": "2025-01", "place_days": 1, "amount_cents": 300, "reason": "oubli"}
    regularisations = f"/v1/aires/{world.aire_a}/regularisations"
    before, sealed, after, regularised = queued_in_order(
        world,
        [
            out_of_service(world, "3", "2025-01-25"),
            seal_january(world),
            out_of_service(world, "4", "2025-01-27"),
            lambda: world.post("manager", regularisations, body),
        ],
    )
    changed = world.ok(before, 200)
    seal = world.ok(sealed)
    assert_problem(after, 409, "period_sealed")
    world.ok(regularised)
    assert seal["position"] > changed["position"]
    (listed,) = world.ok(world.get("manager", f"/v1/aires/{world.aire_a}/seals"), 200)["data"]
    (aire_head,) = [h for h in listed["heads"] if h["kind"] == "aire"]
    stored = world.ledger.recorder.select_events(UUID(world.aire_a))
    topics = [(e.originator_version, e.topic.rsplit(".", 1)[-1]) for e in stored]
    assert topics[-2:] == [
        (aire_head["version"], "EmplacementOutOfService"),
        (aire_head["version"] + 1, "Regularised"),
    ]
    verified = world.ok(world.get("manager", f"/v1/aires/{world.aire_a}/verify"), 200)
    assert verified["ok"] is True and verified["seals"] == []
    world.ok(world.post("manager", regularisations, body))


def test_a_seal_queued_behind_a_back_dated_arrival_waits_for_its_charges(world: World) -> None:
    """Queued in one batch: an arrival on 30 January, then January's seal. The seal sees
    the stay, not charged through the 31st: 409 ``month_not_closed``, nothing sealed. Once
    the stay is charged, January is sealed with the stay's head, and ``/verify`` is right.
    Grouped, the seal read the stays saved before the arrival and sealed January without
    it: the stay could then never be charged nor depart."""
    january_over(world)
    arrival = world.stay_body(emplacement="2", arrived_at="2025-01-30T10:00:00+00:00")
    arrived, refused = queued_in_order(
        world,
        [
            lambda: world.post("cashier", f"/v1/aires/{world.aire_a}/stays", arrival),
            seal_january(world),
        ],
    )
    stay = world.ok(arrived)["id"]
    assert_problem(refused, 409, "month_not_closed")
    seals = f"/v1/aires/{world.aire_a}/seals"
    assert world.ok(world.get("manager", seals), 200)["data"] == []
    world.ok(world.post("cashier", f"/v1/stays/{stay}/charges", {"through": "2025-01-31"}), 200)
    world.ok(seal_january(world)())
    (listed,) = world.ok(world.get("manager", seals), 200)["data"]
    assert stay in {h["aggregate_id"] for h in listed["heads"] if h["kind"] == "stay"}
    assert world.ok(world.get("manager", f"/v1/aires/{world.aire_a}/verify"), 200)["ok"] is True


def test_an_erasure_grouped_with_updates_of_its_household_runs_alone(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Queued in one batch: a receipt, an update of the household, its erasure, another
    update of it, another receipt. The receipt and the first update are saved together,
    then the erasure alone (200, its key destroyed and its erasure recorded), then the
    second update (409 ``personal_data_erased``) and the second receipt together: three
    saves. Grouped, the erasure destroyed the key before the group's save, which then
    could not encrypt the update: every write of the group failed, the erasure answering
    409 with its key gone and nothing recorded."""
    household = world.ids["household"]
    stay = world.arrive()
    world.charge(stay, 5)
    saves: list[int] = []
    save = world.ledger.save

    def counted(*objs: Any, **kwargs: Any) -> Any:
        saves.append(len(objs))
        return save(*objs, **kwargs)

    monkeypatch.setattr(world.ledger, "save", counted)
    path = f"/v1/households/{household}"
    manager = world.headers("manager")
    first, updated, erased, refused, second = queued_in_order(
        world,
        [
            lambda: world.receipt([("pitch_fee", 300)], stay_id=stay),
            lambda: world.client.patch(path, json={"notes": "avant"}, headers=manager),
            lambda: world.client.delete(f"{path}/personal-data", headers=manager),
            lambda: world.client.patch(path, json={"notes": "après"}, headers=manager),
            lambda: world.receipt([("other", 100)]),
        ],
    )
    numbers = [world.ok(first)["number"], world.ok(second)["number"]]
    assert numbers == [1, 2]
    world.ok(updated, 200)  # its answer is read after the erasure: nothing to compare
    done = world.ok(erased, 200)
    assert done["erased"] is True and done["key_destroyed"] is True
    assert_problem(refused, 409, "personal_data_erased")
    assert len(saves) == 3
    stored = world.ledger.recorder.select_events(UUID(household))
    topics = [e.topic.rsplit(".", 1)[-1] for e in stored]
    assert topics[-2:] == ["Amended", "PersonalDataErased"]
    after = world.ok(world.get("manager", path), 200)
    assert after["erased"] is True and after["notes"] is None
    again = world.ok(world.client.delete(f"{path}/personal-data", headers=manager), 200)
    assert again["erased"] is True and again["key_destroyed"] is False
