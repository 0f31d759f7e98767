"""The store goes silent: reachable, accepting connections, answering nothing (issue 9, defect 7).

Every wait on the store is bounded, so the API answers 503 within its timeouts instead of hanging,
the healthcheck answers within a second even while hung requests hold every worker thread, the
scheduler's wake-up returns, and all of them work again once the store answers. Nothing a client
was told was stored is missing afterwards.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

from gnomon.api.app import create_app
from gnomon.domain.definitions import TaskDefinition
from gnomon.settings import Settings
from gnomon.storage import WriteBatch, transaction
from gnomon.storage.tables import TaskLogRow
from tests.clock import FakeClock
from tests.faults.conftest import ONLY_POSTGRES, TEST_TIMEOUTS, FaultyStore
from tests.live import live_server
from tests.samples import definition, docker_task
from tests.scheduler.harness import Harness, started_names
from tests.waiting import wait_for

pytestmark = ONLY_POSTGRES
ANSWER_BOUND = TEST_TIMEOUTS.connect_seconds + (TEST_TIMEOUTS.answer_seconds or 0) + 2.0
"""A silent pooled connection is given up, a new one fails to connect: then 503, with slack."""
HEALTH_BOUND = 1.5
HUNG_REQUESTS = 60


def a_task(store: FaultyStore, now: datetime) -> str:
    task = TaskDefinition.model_validate(docker_task("only"))
    batch = WriteBatch()
    process_id = batch.add_process(
        name="d", tasks=[task], origin="trigger", scheduled_for=None, task_filter=None, now=now
    )
    task_id, _ = batch.add_task(process_id=process_id, name="d", task=task, attempts=0, now=now)
    with transaction(store.direct) as session:
        batch.flush(session)
    return task_id


def post_entry(client: httpx.Client, task_id: str) -> tuple[str, int]:
    entry_id = str(uuid.uuid4())
    body = [
        {
            "log_entry_id": entry_id,
            "when": "2026-03-02T12:00:00.000Z",
            "source": "stdout",
            "message": "m",
        }
    ]
    return entry_id, client.post(f"/api/tasks/{task_id}/log_entries", json=body).status_code


def stored_entries(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.execute(sa.select(col(TaskLogRow.log_entry_id))).scalars())


def timed_get(client: httpx.Client, path: str) -> tuple[httpx.Response, float]:
    began = time.monotonic()
    response = client.get(path)
    return response, time.monotonic() - began


def test_api_answers_503_in_time_and_recovers(faulty_store: FaultyStore, clock: FakeClock) -> None:
    assert faulty_store.proxy is not None
    app = create_app(Settings(), faulty_store.engine, clock=clock)
    with live_server(app) as base, httpx.Client(base_url=base, timeout=60) as client:
        assert client.put("/api/process_definitions/d", json=definition("d")).status_code == 200
        task_id = a_task(faulty_store, clock.now())
        entry_id, status = post_entry(client, task_id)
        assert status == 204
        acknowledged = {entry_id}

        faulty_store.proxy.go_silent()
        for path in ("/api/process_definitions/", "/api/processes/", "/api/process_definitions/d"):
            response, seconds = timed_get(client, path)
            assert response.status_code == 503, response.text
            assert seconds < ANSWER_BOUND, f"{path} took {seconds:.1f} s"
        began = time.monotonic()
        entry_id, status = post_entry(client, task_id)
        assert status == 503 and time.monotonic() - began < ANSWER_BOUND

        faulty_store.proxy.resume()
        wait_for(
            lambda: client.get("/api/process_definitions/d").status_code == 200,
            what="the API to answer again once the store does",
            timeout=ANSWER_BOUND * 2,
        )
        entry_id, status = post_entry(client, task_id)
        assert status == 204
        acknowledged.add(entry_id)
    assert acknowledged <= stored_entries(faulty_store.direct)


def test_healthcheck_answers_within_a_second_while_requests_hang(
    faulty_store: FaultyStore, clock: FakeClock
) -> None:
    assert faulty_store.proxy is not None
    app = create_app(Settings(), faulty_store.engine, clock=clock)
    with live_server(app) as base, httpx.Client(base_url=base, timeout=60) as client:
        assert client.get("/_internal_/healthcheck").status_code == 200
        faulty_store.proxy.go_silent()
        response, seconds = timed_get(client, "/_internal_/healthcheck")
        assert response.status_code == 503
        assert response.json() == {"status": "unavailable", "store": "no answer within 1 s"}
        assert seconds < HEALTH_BOUND, f"healthcheck took {seconds:.2f} s"
        limits = httpx.Limits(max_connections=HUNG_REQUESTS)
        with (
            ThreadPoolExecutor(HUNG_REQUESTS) as pool,
            httpx.Client(base_url=base, timeout=60, limits=limits) as crowd,
        ):
            # More requests than the API has worker threads, all waiting on the silent store.
            hung = [pool.submit(crowd.get, "/api/processes/") for _ in range(HUNG_REQUESTS)]
            time.sleep(0.3)  # let them reach the store before the probe (not a schedule wait)
            for _ in range(3):
                response, seconds = timed_get(client, "/_internal_/healthcheck")
                # Silent, or every pooled connection stuck on it: unhealthy either way, in time.
                assert response.status_code == 503
                assert response.json()["store"] != "ok"
                assert seconds < HEALTH_BOUND, f"healthcheck took {seconds:.2f} s"
            assert {f.result().status_code for f in hung} == {503}
        faulty_store.proxy.resume()
        wait_for(
            lambda: client.get("/_internal_/healthcheck").status_code == 200,
            what="the healthcheck to turn healthy once the store answers",
            timeout=ANSWER_BOUND * 2,
        )


def test_scheduler_wake_up_returns_and_recovers(
    faulty_store: FaultyStore, clock: FakeClock
) -> None:
    assert faulty_store.proxy is not None
    harness = Harness(faulty_store.engine, clock)
    harness.put(definition("d"))
    faulty_store.proxy.go_silent()
    ticked = threading.Event()

    def tick() -> None:
        harness.tick("triggers")
        ticked.set()

    began = time.monotonic()
    threading.Thread(target=tick, daemon=True).start()
    assert ticked.wait(ANSWER_BOUND * 2), "the scheduler's wake-up hung on the silent store"
    assert time.monotonic() - began < ANSWER_BOUND * 2

    faulty_store.proxy.resume()
    harness.trigger("d")
    wait_for(
        lambda: harness.tick() and started_names(harness.runner) == ["only"],
        what="the scheduler to start the triggered run once the store answers",
        timeout=ANSWER_BOUND * 2,
    )
