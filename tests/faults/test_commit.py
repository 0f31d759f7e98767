"""A write is acknowledged only once it is committed (issue 9, defect 2).

The connection dies exactly at COMMIT (SQLite: closed under the driver; PostgreSQL: a proxy cuts
it as COMMIT goes by, so the server never sees it). Every write route must answer 503 and the
store must hold exactly what it held before; with the fault gone, the same request succeeds.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gnomon.api.app import create_app
from gnomon.domain.definitions import TaskDefinition
from gnomon.domain.enums import ProcessStatus
from gnomon.settings import Settings
from gnomon.storage import WriteBatch, transaction
from tests.clock import FakeClock
from tests.faults.conftest import FaultyStore
from tests.samples import definition, docker_task


@dataclass(frozen=True)
class World:
    process_id: str
    failed_process_id: str
    task_id: str
    token: str


def entries(kind: str) -> list[dict[str, Any]]:
    key = "log_entry_id" if kind == "log" else "metadata_entry_id"
    body = {"source": "stdout", "message": "hi"} if kind == "log" else {"key": "k", "value": "v"}
    return [{key: str(uuid.uuid4()), "when": "2026-03-02T12:00:00.000Z", **body}]


WRITES: dict[str, tuple[str, str, Any]] = {
    "put definition": ("PUT", "/api/process_definitions/new", definition("new")),
    "delete definition": ("DELETE", "/api/process_definitions/d", None),
    "trigger": ("POST", "/api/process_definitions/d/trigger", None),
    "pause": ("POST", "/api/process_definitions/d/pause", None),
    "resume": ("POST", "/api/process_definitions/paused/resume", None),
    "kill": ("POST", "/api/processes/{process_id}/kill", None),
    "retry": ("POST", "/api/processes/{failed_process_id}/retry", None),
    "log entries": ("POST", "/api/tasks/{task_id}/log_entries", entries("log")),
    "metadata": ("POST", "/api/tasks/{task_id}/metadata", entries("metadata")),
    "succeed": ("POST", "/api/tasks/{task_id}/succeed", None),
    "fail": ("POST", "/api/tasks/{task_id}/fail", None),
}


@pytest.fixture
def api(faulty_store: FaultyStore, clock: FakeClock) -> Iterator[TestClient]:
    app = create_app(Settings(), faulty_store.engine, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def build_world(client: TestClient, store: FaultyStore, clock: FakeClock) -> World:
    assert client.put("/api/process_definitions/d", json=definition("d")).status_code == 200
    paused = definition("paused", paused=True)
    assert client.put("/api/process_definitions/paused", json=paused).status_code == 200
    task = TaskDefinition.model_validate(docker_task("only"))
    batch, now = WriteBatch(), clock.now()
    ids = [
        batch.add_process(
            name="d", tasks=[task], origin="trigger", scheduled_for=None, task_filter=None, now=now
        )
        for _ in range(2)
    ]
    task_id, token = batch.add_task(process_id=ids[0], name="d", task=task, attempts=0, now=now)
    batch.end_process(ids[1], ProcessStatus.FAILED, now)
    with transaction(store.direct) as session:
        batch.flush(session)
    return World(ids[0], ids[1], task_id, token)


@pytest.mark.parametrize("write", list(WRITES))
def test_a_write_whose_commit_fails_answers_503_and_stores_nothing(
    api: TestClient, faulty_store: FaultyStore, clock: FakeClock, write: str
) -> None:
    world = build_world(api, faulty_store, clock)
    method, template, body = WRITES[write]
    path = template.format(**vars(world))
    headers = {"authorization": f"Bearer {world.token}"}
    before = faulty_store.contents()

    faulty_store.die_at_commit()
    response = api.request(method, path, json=body, headers=headers)
    assert response.status_code == 503, response.text
    assert "unavailable" in response.json()["message"]
    assert faulty_store.contents() == before

    faulty_store.die_at_commit(False)
    retried = api.request(method, path, json=body, headers=headers)
    assert retried.status_code in (200, 204), retried.text
    assert faulty_store.contents() != before
