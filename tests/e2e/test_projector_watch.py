"""``GET /ready`` watches the projector and the projections' lags; ``GET /metrics`` counts
requests by route template, receipts, verifications and seals, and shows each projection's
lag, with no id, name or token in it. Real HTTP through the ASGI app, on both backends."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import pytest
from bench.write import open_registers
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from hacienda_ledger.aggregates.household import Profile
from hacienda_ledger.api.app import create_app
from hacienda_ledger.application import Ledger, projecting
from hacienda_ledger.application.projector import Failures, beat
from hacienda_ledger.cli import main
from hacienda_ledger.projections.runner import Runner
from hacienda_ledger.settings import Settings
from tests.live_server import one_register

TOKEN = "watch-cashier"
PROJECTIONS = {
    "balances",
    "cash_journal",
    "occupancy",
    "revenue",
    "interventions",
    "intervention_list",
    "analytics",
}
RECEIPT = {"method": "cash", "lines": [{"revenue_type": "other", "amount_cents": 100}]}
Page = dict[tuple[str, frozenset[tuple[str, str]]], float]
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def quiet(url: str, **changes: Any) -> Settings:
    """Settings with no background service beside the API but what the test asks for."""
    base = Settings(database_url=url, reports_auto=False, run_retention=False, verify_every_hours=0)
    return base.model_copy(update=changes)


@pytest.fixture
def register(database_url: str) -> UUID:
    return one_register(database_url, TOKEN)


@pytest.fixture
def ledger(database_url: str, register: UUID) -> Iterator[Ledger]:
    opened = Ledger(Settings(database_url=database_url))
    yield opened
    opened.close()


def post_receipts(client: TestClient, register: UUID, keys: list[str]) -> None:
    for key in keys:
        r = client.post(
            f"/v1/registers/{register}/receipts",
            json=RECEIPT,
            headers={"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": key},
        )
        assert r.status_code == 201, r.text


def test_ready_is_503_while_the_projector_is_down_or_behind_and_200_once_caught_up(
    database_url: str, register: UUID, ledger: Ledger
) -> None:
    """Given an API whose projections a projector process follows (not a thread of it),
    /ready is 503 ``not_ready`` until a projector has beaten, 503 with each projection's
    lag when one is more than ``ready_max_lag`` positions behind, 503 when the last beat
    is older than ``ready_heartbeat_seconds``, and 200 with the lags once the projector
    beats and the projections have caught up."""
    settings = quiet(
        database_url,
        run_projections=False,
        projector_expected=True,
        ready_max_lag=2,
        ready_heartbeat_seconds=5,
    )
    with TestClient(create_app(settings, ledger)) as client:
        down = client.get("/ready")
        assert down.status_code == 503
        assert down.headers["retry-after"] == str(settings.retry_after_seconds)
        body = down.json()
        assert body["code"] == "not_ready"
        assert "no projector has beaten yet" in body["detail"]
        assert body["projector"] == {
            "mode": "process",
            "running": False,
            "heartbeat_age_seconds": None,
        }
        assert set(body["lags"]) == PROJECTIONS

        beat(ledger)
        post_receipts(client, register, ["a", "b", "c"])  # 6 events: 2 per receipt, behind
        behind = client.get("/ready")
        assert behind.status_code == 503, behind.text
        body = behind.json()
        last = ledger.last_position()
        assert body["position"] == last
        assert body["projector"]["running"] is True
        assert body["lags"]["cash_journal"] > 2
        assert "cash_journal" in body["detail"] and "more than 2 positions" in body["detail"]

        for follower in projecting.followers(ledger):
            follower.catch_up()
        caught_up = client.get("/ready")
        assert caught_up.status_code == 200, caught_up.text
        assert caught_up.json()["lags"] == dict.fromkeys(PROJECTIONS, 0)
        assert caught_up.json()["projector"]["running"] is True

        # the projector's last beat a minute ago (the database's clock): down
        ledger.journal.sql.execute("UPDATE projector_heartbeat SET beat = beat - 60")
        stale = client.get("/ready")
        assert stale.status_code == 503
        assert stale.json()["projector"]["running"] is False
        age = re.search(r"last beat is (\d+) s old", stale.json()["detail"])
        assert age is not None and 60 <= int(age.group(1)) < 120, stale.json()["detail"]


def test_ready_is_503_when_the_projections_thread_has_stopped(
    database_url: str, register: UUID, ledger: Ledger
) -> None:
    """Given an API that follows the projections in a thread of its own, /ready is 200
    while the thread runs and 503 ``not_ready`` once it has stopped."""
    with TestClient(create_app(quiet(database_url), ledger)) as client:
        deadline = time.monotonic() + 10  # the thread just started: ready once caught up
        while (ready := client.get("/ready")).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ready.status_code == 200, ready.json()
        client.app.state.queries.runner.stop()  # type: ignore[attr-defined]
        stopped = client.get("/ready")
        assert stopped.status_code == 503
        assert stopped.json()["projector"] == {"mode": "thread", "running": False}
        assert "the projections' thread has stopped" in stopped.json()["detail"]


class CountingLedger(Ledger):
    """A ledger that counts how often the stream's last position is read."""

    reads = 0

    def last_position(self) -> int:
        self.reads += 1
        return super().last_position()


def test_ready_reads_the_stream_position_once(tmp_path: object) -> None:
    """``/ready`` on an SQLite ledger (where its probe asks ``last_position``) reads the
    stream's last position once: the probe's answer is the position the lags are of, and
    the one shown."""
    url = f"sqlite:///{tmp_path}/ready.sqlite3"
    one_register(url, TOKEN)
    ledger = CountingLedger(Settings(database_url=url))
    try:
        with TestClient(create_app(quiet(url, run_projections=False), ledger)) as client:
            ledger.reads = 0
            shown = client.get("/ready").json()["position"]
            assert (ledger.reads, shown) == (1, Ledger.last_position(ledger))
    finally:
        ledger.close()


def samples(text: str) -> Page:
    """Every sample of a Prometheus text page, by name and labels."""
    found: Page = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(
    page: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return page.get((name, frozenset(labels.items())), 0.0)


def test_metrics_count_requests_by_route_receipts_verifications_and_seals(
    database_url: str, register: UUID, ledger: Ledger
) -> None:
    """Given an API on a register, when a cashier posts three receipts and replays one,
    asks an unknown path and verifies the register, and a month seal is refused through
    the command line, then /metrics (parsed back) counts 4 more POSTs on the receipts'
    route template (2xx), 3 more receipts issued (the replay is not one), one more
    unmatched 404, one more register verified ok and one more seal refused with its
    code (``month_not_closed``: the command line counts too); it shows every projection's
    lag; and nothing in it is an id, the token or a household's name."""
    household = ledger.record_household(
        aire_id=ledger.cash_register(register).aire_id,
        profile=Profile("Famille Zéphyrine-Marquet"),
        actor="test",
    ).aggregate_id
    route = "/v1/registers/{register_id}/receipts"
    with TestClient(create_app(quiet(database_url), ledger)) as client:
        before = samples(client.get("/metrics").text)
        post_receipts(client, register, ["m1", "m2", "m3", "m1"])  # the last a replay
        assert client.get(f"/v1/nothing/{register}").status_code == 404
        verified = client.get(
            f"/v1/registers/{register}/verify", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert verified.status_code == 200, verified.text
        assert main(["--database-url", database_url, "seal", "--month", "2099-12"]) == 1
        page = client.get("/metrics")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/plain")
    after = samples(page.text)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    posts = {"method": "POST", "route": route, "status": "2xx"}
    assert moved("hacienda_http_requests_total", **posts) == 4
    assert moved("hacienda_http_request_duration_seconds_count", **posts) == 4
    assert moved("hacienda_receipts_issued_total", method="cash") == 3
    unmatched = {"method": "GET", "route": "unmatched", "status": "4xx"}
    assert moved("hacienda_http_requests_total", **unmatched) == 1
    assert moved("hacienda_verifications_total", kind="register", outcome="ok") == 1
    assert moved("hacienda_seals_total", outcome="month_not_closed") == 1  # not over yet
    assert moved("hacienda_seals_total", outcome="sealed") == 0
    lags = {dict(k[1])["projection"] for k in after if k[0] == "hacienda_projection_lag"}
    assert lags == PROJECTIONS
    assert value(after, "hacienda_projector_up", mode="thread") == 1
    assert not any(p.startswith("/metrics") or p == "/ready" for p in routes(after))
    # nothing personal, no id, no token
    assert UUID_TEXT.search(page.text) is None
    for secret in (str(register), str(household), TOKEN, "Zéphyrine", "Marquet"):
        assert secret not in page.text


def routes(page: Page) -> set[str]:
    return {
        dict(labels)["route"] for name, labels in page if name == "hacienda_http_requests_total"
    }


def test_the_command_line_counts_each_chain_it_verifies_once_with_jobs_too(
    database_url: str,
) -> None:
    """Given three aires with a register each, ``hacienda-ledger verify --jobs 2`` (a
    share verified by a forked process) counts 3 registers and 3 aires verified ok: each
    chain once, those of the other process counted from its reports."""
    setup = Ledger(Settings(database_url=database_url))
    try:
        open_registers(setup, 3)
    finally:
        setup.close()

    def count(kind: str) -> float:
        labels = {"kind": kind, "outcome": "ok"}
        return REGISTRY.get_sample_value("hacienda_verifications_total", labels) or 0.0

    before = {kind: count(kind) for kind in ("register", "aire")}
    assert main(["--database-url", database_url, "verify", "--jobs", "2"]) == 0
    assert {kind: count(kind) - before[kind] for kind in before} == {"register": 3, "aire": 3}


def wait_for(client: TestClient, status: int, failing: set[str] | None = None) -> Any:
    """``GET /ready`` until it answers ``status`` (and, if given, names the ``failing``
    projections): the projections move on their own, within 10 s."""
    deadline = time.monotonic() + 10.0

    def seen(ready: Any) -> bool:
        named = failing is None or set(ready.json().get("failing", {})) == failing
        return bool(ready.status_code == status and named)

    while not seen(ready := client.get("/ready")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert seen(ready), ready.text
    return ready.json()


@contextmanager
def cash_journal_away(ledger: Ledger) -> Iterator[Callable[[], None]]:
    """The cash journal's table taken away (its follower then fails at its next event);
    the function given puts it back, and the exit does if the test did not."""
    sql = ledger.journal.sql
    sql.execute("ALTER TABLE cash_journal RENAME TO cash_journal_away")
    away = True

    def back() -> None:
        nonlocal away
        if away:
            sql.execute("ALTER TABLE cash_journal_away RENAME TO cash_journal")
            away = False

    try:
        yield back
    finally:
        back()


def test_ready_is_503_while_a_projection_fails_to_fold_its_next_event_in_the_thread(
    database_url: str, register: UUID, ledger: Ledger
) -> None:
    """Given an API that follows the projections in a thread, when the cash journal's table
    is taken away and a receipt recorded, the cash journal fails to fold it (retried for
    ever, a few positions behind, far under ``ready_max_lag``): /ready is 503
    ``not_ready`` naming the projection and the exception's class (no message: /ready
    needs no token), the other projections' reads do not wait for it, and /ready is 200
    again once the table is back and the receipt folded."""
    with TestClient(create_app(quiet(database_url), ledger)) as client:
        assert wait_for(client, 200)["failing"] == {}
        for follower in projecting.followers(ledger):
            follower.catch_up()  # every projection where the stream stands: none behind
        with cash_journal_away(ledger) as put_back:
            post_receipts(client, register, ["failing-1"])
            body = wait_for(client, 503, failing={"cash_journal"})
            assert "behind by more than" not in body["detail"], body  # not why: far under 1000
            assert set(body["failing"]) == {"cash_journal"}, body
            failing = body["failing"]["cash_journal"]
            assert failing["error"] in {"OperationalError", "UndefinedTable"}, failing
            assert failing["seconds"] >= 0
            assert "the projection cash_journal fails to fold its next event" in body["detail"]
            assert "cash_journal_away" not in client.get("/ready").text  # no message shown
            # the other projections' reads do not wait for it (``ProjectionQueries.current``)
            runner = client.app.state.queries.runner  # type: ignore[attr-defined]
            last = ledger.last_position()
            assert runner.wait(last, timeout=10, name="balances")
            # nor does it hold back those after it in the runner's batch
            assert runner.wait(last, timeout=10, name="occupancy")
            assert runner.wait(last, timeout=10, name="analytics")
            assert not runner.wait(last, timeout=0.2)  # every projection: cash_journal never
            assert wait_for(client, 503, failing={"cash_journal"})["lags"] == {
                **dict.fromkeys(PROJECTIONS, 0),
                "cash_journal": body["lags"]["cash_journal"],
            }

            put_back()
            healed = wait_for(client, 200)
            assert healed["failing"] == {} and healed["lags"]["cash_journal"] == 0


def test_ready_is_503_while_the_projector_process_records_a_failing_projection(
    database_url: str, register: UUID, ledger: Ledger
) -> None:
    """Given an API whose projections a projector follows apart (``hacienda-ledger project``:
    its runner, its failure record and its heartbeat, here in a thread), a projection that
    fails is recorded in ``projector_failures`` by the database's clock: /ready 503 names
    it; once a step succeeds the record is cleared and /ready is 200. A record left by a
    projector that died while failing is cleared by the next one's first good step."""
    settings = quiet(database_url, run_projections=False, projector_expected=True)
    said: list[Exception] = []
    runner = Runner(projecting.followers(ledger), interval=0.02)
    failures = Failures(ledger, runner, said=said.append)
    with TestClient(create_app(settings, ledger)) as client:
        beat(ledger)
        for follower in projecting.followers(ledger):
            follower.catch_up()  # none behind (a stream shared with earlier tests is long)
        with cash_journal_away(ledger) as put_back:
            post_receipts(client, register, ["process-1"])
            worker = threading.Thread(target=runner.run, args=(failures.failed, failures.recovered))
            worker.start()
            try:
                body = wait_for(client, 503, failing={"cash_journal"})
                assert set(body["failing"]) == {"cash_journal"}, body
                assert body["projector"]["running"] is True  # it beats: failing, not down
                assert said, "the projector says its error (its log)"
                put_back()
                assert wait_for(client, 200)["failing"] == {}
            finally:
                runner.stop()
                worker.join(10)

        # a projector that died while failing left its record: the next one clears it
        ledger.journal.sql.execute(
            "INSERT INTO projector_failures (name, since, error) VALUES ('balances', 0, 'X')"
        )
        wait_for(client, 503, failing={"balances"})
        again = Runner(projecting.followers(ledger), interval=0.02)
        later = Failures(ledger, again, said=said.append)
        worker = threading.Thread(target=again.run, args=(later.failed, later.recovered))
        worker.start()
        try:
            assert wait_for(client, 200)["failing"] == {}
        finally:
            again.stop()
            worker.join(10)
