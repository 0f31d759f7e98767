"""The largest definition the API accepts is cheap to store and to list (issue 9, defect 8).

Measured in CPU seconds of this process (the app runs in it), which a busy machine inflates far
less than wall time, with the start-up heap frozen as `gnomon serve` freezes it;
bench/definitions.py measures latency over real HTTP.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable, Iterator

import pytest
from bench.definitions import LARGE, largest_body
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from gnomon.api.app import create_app
from gnomon.server import freeze_startup_heap
from gnomon.settings import Settings
from tests.clock import FakeClock

PUT_CPU_SECONDS = 1.0
LIST_CPU_SECONDS = 0.35
BODY = largest_body()


@pytest.fixture
def api(engine: Engine, clock: FakeClock) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(), engine, clock=clock)) as client:
        freeze_startup_heap()
        try:
            yield client
        finally:
            gc.unfreeze()


def cpu_seconds(call: Callable[[], object]) -> float:
    """The least CPU time of three calls (the others may have paid for a garbage collection)."""
    spent = []
    for _ in range(3):
        began = time.process_time()
        call()
        spent.append(time.process_time() - began)
    return min(spent)


def test_the_largest_definition_is_stored_and_listed_cheaply(api: TestClient) -> None:
    headers = {"content-type": "application/json"}
    path = f"/api/process_definitions/{LARGE}"

    def put() -> None:
        assert api.put(path, content=BODY, headers=headers).status_code == 200

    def listing() -> None:
        response = api.get("/api/process_definitions/")
        assert response.status_code == 200
        assert len(response.json()[0]["task_definitions"]) == 1_000

    put_seconds = cpu_seconds(put)
    list_seconds = cpu_seconds(listing)
    assert put_seconds < PUT_CPU_SECONDS, f"PUT took {put_seconds:.2f} s of CPU"
    assert list_seconds < LIST_CPU_SECONDS, f"GET of the list took {list_seconds:.2f} s of CPU"
    sent, got = json.loads(BODY)["task_definitions"], api.get(path).json()["task_definitions"]
    assert [(t["task_definition_name"], t["dependencies"]) for t in got] == [
        (t["task_definition_name"], t["dependencies"]) for t in sent
    ]
