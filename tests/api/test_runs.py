"""`/api/processes` and `/api/tasks`: listing, filters, kill, retry and the job callbacks."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from gnomon.domain.definitions import TaskDefinition
from gnomon.domain.enums import ProcessStatus, TaskStatus
from gnomon.storage import WriteBatch, transaction
from gnomon.storage.tables import (
    KillRequestRow,
    ReportedTaskStatusRow,
    RetryRequestRow,
    TriggerRequestRow,
)
from tests.clock import FakeClock
from tests.samples import definition, docker_task

UNKNOWN = "00000000-0000-0000-0000-000000000000"


def seed_run(
    engine: Engine,
    clock: FakeClock,
    name: str = "seeded",
    *,
    status: ProcessStatus = ProcessStatus.RUNNING,
    tasks: int = 1,
) -> tuple[str, list[str]]:
    """A process with `tasks` attempts, as the scheduler would have written it."""
    task_defs = [TaskDefinition.model_validate(docker_task(f"t{i}")) for i in range(tasks)]
    now = clock.now()
    batch = WriteBatch()
    process_id = batch.add_process(
        name=name, tasks=task_defs, origin="trigger", scheduled_for=None, task_filter=None, now=now
    )
    task_ids = [
        batch.add_task(
            process_id=process_id,
            name=name,
            task=task,
            attempts=0,
            now=now + timedelta(milliseconds=i),
        )[0]
        for i, task in enumerate(task_defs)
    ]
    if status != ProcessStatus.RUNNING:
        for task_id in task_ids:
            batch.end_task(task_id, TaskStatus(status.value), None, now)
        batch.end_process(process_id, status, now)
    with transaction(engine) as session:
        batch.flush(session)
    return process_id, task_ids


def log(message: str, entry_id: str | None = None) -> dict[str, Any]:
    return {
        "log_entry_id": entry_id or str(uuid.uuid4()),
        "when": "2017-11-23T10:00:00.000Z",
        "source": "myjob",
        "message": message,
    }


def metadata(key: str, value: str, entry_id: str | None = None) -> dict[str, Any]:
    return {
        "metadata_entry_id": entry_id or str(uuid.uuid4()),
        "when": "2017-11-23T10:00:00Z",
        "key": key,
        "value": value,
    }


def test_process_wire_shape(client: TestClient, sqlite_engine: Engine, clock: FakeClock) -> None:
    process_id, (task_id,) = seed_run(sqlite_engine, clock)
    client.post(f"/api/tasks/{task_id}/log_entries", json=[log("hello")])
    got = client.get(f"/api/processes/{process_id}").json()
    assert set(got) == {"process_id", "process_definition_name", "start_time", "status", "task"}
    assert got["start_time"] == "2026-03-02T12:00:00.000Z"
    task = got["task"][0]
    assert task["status"] == "running"
    assert "end_time" not in task and "execution_state" not in task
    assert task["previous_attempt_count"] == 0
    assert task["log_entries"][0]["message"] == "hello"
    assert task["log_entries"][0]["when"] == "2017-11-23T10:00:00.000Z"
    assert task["metadata_entries"] == []


def test_finished_process_has_end_times(
    client: TestClient, sqlite_engine: Engine, clock: FakeClock
) -> None:
    process_id, _ = seed_run(sqlite_engine, clock, status=ProcessStatus.FAILED)
    got = client.get(f"/api/processes/{process_id}").json()
    assert got["status"] == "failed"
    assert got["task"][0]["end_time"].endswith("Z")


def test_list_filters(client: TestClient, sqlite_engine: Engine, clock: FakeClock) -> None:
    ok, _ = seed_run(sqlite_engine, clock, "a", status=ProcessStatus.SUCCEEDED)
    clock.advance(60)
    bad, _ = seed_run(sqlite_engine, clock, "a", status=ProcessStatus.FAILED)
    clock.advance(60)
    running, _ = seed_run(sqlite_engine, clock, "b")

    def ids(query: str) -> list[str]:
        response = client.get(f"/api/processes/{query}")
        assert response.status_code == 200, response.text
        return [p["process_id"] for p in response.json()]

    assert ids("") == [running, bad, ok]
    assert ids("?process_definition_name=a") == [bad, ok]
    assert ids("?allowed_statuses=failed&allowed_statuses=succeeded") == [bad, ok]
    assert ids("?allowed_statuses=running,failed") == [running, bad]
    assert ids("?max_records=1") == [running]
    assert ids("?start_time=2026-03-02T12:01:00Z") == [running, bad]
    assert ids("?end_time=2026-03-02T12:01:00.000Z") == [bad, ok]
    assert client.get("/api/processes").status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "?allowed_statuses=exploded",
        "?max_records=-1",
        "?max_records=many",
        "?start_time=yesterday",
    ],
)
def test_bad_process_query_is_400(client: TestClient, query: str) -> None:
    response = client.get(f"/api/processes/{query}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] in {
        "allowed_statuses",
        "max_records",
        "start_time",
    }


def test_find_tasks(client: TestClient, sqlite_engine: Engine, clock: FakeClock) -> None:
    seed_run(sqlite_engine, clock, "d", status=ProcessStatus.FAILED, tasks=2)
    clock.advance(5)
    _, (newest, _) = seed_run(sqlite_engine, clock, "d", tasks=2)
    base = "/api/tasks/?process_definition_name=d&task_definition_name=t0"
    assert [t["task_id"] for t in client.get(base + "&limit=1").json()] == [newest]
    assert len(client.get(base).json()) == 2
    failed = client.get(base + "&allowed_statuses=failed").json()
    assert [t["status"] for t in failed] == ["failed"]
    # Batch states filter as running, as in Sundial.
    assert [t["task_id"] for t in client.get(base + "&allowed_statuses=pending").json()] == [newest]


def test_find_tasks_requires_names(client: TestClient) -> None:
    response = client.get("/api/tasks/?process_definition_name=d")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "task_definition_name"


def test_unknown_process_is_404(client: TestClient) -> None:
    for method, path in [
        ("GET", f"/api/processes/{UNKNOWN}"),
        ("POST", f"/api/processes/{UNKNOWN}/kill"),
        ("POST", f"/api/processes/{UNKNOWN}/retry"),
    ]:
        assert client.request(method, path).status_code == 404, path


def test_an_id_that_is_not_a_uuid_is_400(client: TestClient) -> None:
    for method, path in [
        ("GET", "/api/processes/not-a-uuid"),
        ("POST", "/api/processes/not-a-uuid/kill"),
        ("POST", "/api/tasks/not-a-uuid/succeed"),
    ]:
        response = client.request(method, path)
        assert response.status_code == 400, path
        assert response.json()["errors"][0]["field"] in {"process_id", "task_id"}


@pytest.mark.parametrize("action", ["log_entries", "metadata", "succeed", "fail"])
def test_unknown_task_is_404(client: TestClient, action: str) -> None:
    body = [log("x")] if action == "log_entries" else [metadata("k", "v")]
    response = client.post(f"/api/tasks/{UNKNOWN}/{action}", json=body)
    assert response.status_code == 404


def test_kill_and_retry_are_recorded(
    client: TestClient, sqlite_engine: Engine, clock: FakeClock
) -> None:
    process_id, _ = seed_run(sqlite_engine, clock, status=ProcessStatus.FAILED)
    assert client.post(f"/api/processes/{process_id}/kill").status_code == 204
    assert client.post(f"/api/processes/{process_id}/retry").status_code == 204
    with Session(sqlite_engine) as session:
        assert session.exec(select(KillRequestRow)).one().process_id == process_id
        assert session.exec(select(RetryRequestRow)).one().process_id == process_id


def test_retry_of_succeeded_process_is_400(
    client: TestClient, sqlite_engine: Engine, clock: FakeClock
) -> None:
    process_id, _ = seed_run(sqlite_engine, clock, status=ProcessStatus.SUCCEEDED)
    response = client.post(f"/api/processes/{process_id}/retry")
    assert response.status_code == 400
    assert "succeeded" in response.json()["errors"][0]["message"]


def test_trigger_is_recorded_with_filter(client: TestClient, sqlite_engine: Engine) -> None:
    client.put("/api/process_definitions/tr", json=definition("tr", docker_task("a")))
    client.post("/api/process_definitions/tr/trigger?task_definition_name=a")
    with Session(sqlite_engine) as session:
        trigger = session.exec(select(TriggerRequestRow)).one()
    assert trigger.task_filter == ["a"]
    assert trigger.started_process_id is None


def test_log_entries_are_idempotent(
    client: TestClient, sqlite_engine: Engine, clock: FakeClock
) -> None:
    process_id, (task_id,) = seed_run(sqlite_engine, clock)
    entry = log("once", str(uuid.uuid4()))
    batch = [entry, log("other")]
    assert client.post(f"/api/tasks/{task_id}/log_entries", json=batch).status_code == 204
    assert client.post(f"/api/tasks/{task_id}/log_entries", json=[entry]).status_code == 204
    messages = [
        e["message"]
        for e in client.get(f"/api/processes/{process_id}").json()["task"][0]["log_entries"]
    ]
    assert sorted(messages) == ["once", "other"]


def test_metadata_is_idempotent(
    client: TestClient, sqlite_engine: Engine, clock: FakeClock
) -> None:
    process_id, (task_id,) = seed_run(sqlite_engine, clock)
    entry = metadata("rows", "42")
    for _ in range(3):
        assert client.post(f"/api/tasks/{task_id}/metadata", json=[entry]).status_code == 204
    task = client.get(f"/api/processes/{process_id}").json()["task"][0]
    assert [(m["key"], m["value"]) for m in task["metadata_entries"]] == [("rows", "42")]


def test_first_reported_status_wins(
    client: TestClient, sqlite_engine: Engine, clock: FakeClock
) -> None:
    _, (task_id,) = seed_run(sqlite_engine, clock)
    assert client.post(f"/api/tasks/{task_id}/succeed").status_code == 204
    assert client.post(f"/api/tasks/{task_id}/fail").status_code == 204
    assert client.post(f"/api/tasks/{task_id}/succeed").status_code == 204
    with Session(sqlite_engine) as session:
        reports = session.exec(select(ReportedTaskStatusRow)).all()
    assert [(r.task_id, r.status) for r in reports] == [(task_id, "succeeded")]


@pytest.mark.parametrize(
    "body",
    [
        [
            {
                "log_entry_id": "not-a-uuid",
                "when": "2017-11-23T10:00:00Z",
                "source": "s",
                "message": "m",
            }
        ],
        [{"log_entry_id": str(uuid.uuid4()), "source": "s", "message": "m"}],
        {"not": "a list"},
    ],
)
def test_bad_log_batch_is_400_and_stores_nothing(
    client: TestClient, sqlite_engine: Engine, clock: FakeClock, body: Any
) -> None:
    process_id, (task_id,) = seed_run(sqlite_engine, clock)
    response = client.post(f"/api/tasks/{task_id}/log_entries", json=body)
    assert response.status_code == 400
    assert client.get(f"/api/processes/{process_id}").json()["task"][0]["log_entries"] == []
