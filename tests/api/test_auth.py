"""GNOMON_API_TOKEN: mutating endpoints need it; task callbacks take it or the task's own token."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from gnomon.api.app import create_app
from gnomon.domain.definitions import TaskDefinition
from gnomon.settings import Settings
from gnomon.storage import WriteBatch, transaction
from gnomon.storage.tokens import hash_token
from tests.clock import FakeClock
from tests.samples import definition, docker_task

API_TOKEN = "operator-secret"


@pytest.fixture
def secured(sqlite_engine: Engine, clock: FakeClock) -> Iterator[TestClient]:
    settings = Settings(api_token=SecretStr(API_TOKEN))
    with TestClient(create_app(settings, sqlite_engine, clock=clock)) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


class Seeded(NamedTuple):
    """A running attempt and the callback token it was given."""

    task_id: str
    token: str


def two_tasks(engine: Engine, clock: FakeClock) -> list[Seeded]:
    """Two running attempts of one process, written as the scheduler writes them."""
    task = TaskDefinition.model_validate(docker_task("t"))
    batch = WriteBatch()
    process_id = batch.add_process(
        name="d",
        tasks=[task],
        origin="trigger",
        scheduled_for=None,
        task_filter=None,
        now=clock.now(),
    )
    seeded = [
        Seeded(
            *batch.add_task(process_id=process_id, name="d", task=task, attempts=i, now=clock.now())
        )
        for i in range(2)
    ]
    with transaction(engine) as session:
        batch.flush(session)
    return seeded


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/api/process_definitions/x"),
        ("DELETE", "/api/process_definitions/x"),
        ("POST", "/api/process_definitions/x/trigger"),
        ("POST", "/api/process_definitions/x/pause"),
        ("POST", "/api/process_definitions/x/resume"),
        ("POST", "/api/processes/00000000-0000-0000-0000-000000000000/kill"),
        ("POST", "/api/processes/00000000-0000-0000-0000-000000000000/retry"),
    ],
)
def test_mutating_endpoints_need_the_token(secured: TestClient, method: str, path: str) -> None:
    body = definition("x") if method == "PUT" else None
    missing = secured.request(method, path, json=body)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert secured.request(method, path, json=body, headers=bearer("wrong")).status_code == 403


def test_the_token_opens_them_and_reads_stay_open(secured: TestClient) -> None:
    response = secured.put(
        "/api/process_definitions/x", json=definition("x"), headers=bearer(API_TOKEN)
    )
    assert response.status_code == 200
    assert secured.get("/api/process_definitions/x").status_code == 200
    assert secured.get("/api/processes/").status_code == 200


def test_callbacks_take_the_tasks_own_token_only(
    secured: TestClient, sqlite_engine: Engine, clock: FakeClock
) -> None:
    first, second = two_tasks(sqlite_engine, clock)
    own = secured.post(f"/api/tasks/{first.task_id}/succeed", headers=bearer(first.token))
    assert own.status_code == 204
    other = secured.post(f"/api/tasks/{second.task_id}/succeed", headers=bearer(first.token))
    assert other.status_code == 403
    assert secured.post(f"/api/tasks/{second.task_id}/fail").status_code == 401
    with_api_token = secured.post(f"/api/tasks/{second.task_id}/fail", headers=bearer(API_TOKEN))
    assert with_api_token.status_code == 204


def test_tokens_never_appear_in_output(
    secured: TestClient, sqlite_engine: Engine, clock: FakeClock
) -> None:
    tasks = two_tasks(sqlite_engine, clock)
    listing = secured.get("/api/processes/").text
    for task in tasks:
        assert task.token not in listing and hash_token(task.token) not in listing


def test_without_an_api_token_a_foreign_task_token_is_still_refused(
    client: TestClient, sqlite_engine: Engine, clock: FakeClock
) -> None:
    first, second = two_tasks(sqlite_engine, clock)
    foreign = client.post(f"/api/tasks/{second.task_id}/succeed", headers=bearer(first.token))
    assert foreign.status_code == 403
    assert client.post(f"/api/tasks/{first.task_id}/succeed").status_code == 204
