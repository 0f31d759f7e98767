"""GNOMON_TASK_TOKEN_GRACE_SECONDS: an ended task's own token stops working for callbacks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from gnomon.api.app import create_app
from gnomon.domain.enums import TaskStatus
from gnomon.settings import Settings
from gnomon.storage import WriteBatch, transaction
from tests.api.test_auth import API_TOKEN, bearer, two_tasks
from tests.clock import FakeClock

GRACE = 120.0
CALLBACKS = ["log_entries", "metadata", "succeed", "fail"]


@pytest.fixture
def api(engine: Engine, clock: FakeClock) -> Iterator[TestClient]:
    settings = Settings(api_token=SecretStr(API_TOKEN), task_token_grace_seconds=GRACE)
    with TestClient(create_app(settings, engine, clock=clock)) as client:
        yield client


def end(engine: Engine, task_id: str, clock: FakeClock) -> None:
    batch = WriteBatch()
    batch.end_task(task_id, TaskStatus.FAILED, "x", clock.now())
    with transaction(engine) as session:
        batch.flush(session)


def call(api: TestClient, task_id: str, callback: str, token: str) -> int:
    body: list[object] | None = [] if callback in ("log_entries", "metadata") else None
    return api.post(
        f"/api/tasks/{task_id}/{callback}", json=body, headers=bearer(token)
    ).status_code


@pytest.mark.parametrize("callback", CALLBACKS)
def test_an_ended_tasks_token_works_for_the_grace_period_then_is_refused(
    api: TestClient, engine: Engine, clock: FakeClock, callback: str
) -> None:
    (task_id, token), _ = two_tasks(engine, clock)
    clock.advance(3600)  # a long-running task: its token works however long it runs
    assert call(api, task_id, callback, token) == 204
    end(engine, task_id, clock)
    clock.advance(GRACE)
    assert call(api, task_id, callback, token) == 204
    clock.advance(0.001)
    refused = api.post(f"/api/tasks/{task_id}/{callback}", json=[], headers=bearer(token))
    assert refused.status_code == 403
    assert "has ended" in refused.json()["message"]


def test_the_api_token_keeps_working_after_the_task_ended(
    api: TestClient, engine: Engine, clock: FakeClock
) -> None:
    (task_id, token), _ = two_tasks(engine, clock)
    end(engine, task_id, clock)
    clock.advance(GRACE * 10)
    assert call(api, task_id, "log_entries", token) == 403
    assert call(api, task_id, "log_entries", API_TOKEN) == 204


def test_without_an_api_token_an_ended_tasks_token_is_still_refused(
    sqlite_engine: Engine, clock: FakeClock
) -> None:
    settings = Settings(task_token_grace_seconds=0)
    (task_id, token), _ = two_tasks(sqlite_engine, clock)
    end(sqlite_engine, task_id, clock)
    clock.advance(1)
    with TestClient(create_app(settings, sqlite_engine, clock=clock)) as api:
        assert call(api, task_id, "succeed", token) == 403
