"""GNOMON_API_TOKEN: mutating endpoints need it; task callbacks take it or the task's own token."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session

from gnomon.api.app import create_app
from gnomon.domain.clock import FakeClock
from gnomon.domain.definitions import TaskDefinition
from gnomon.settings import Settings
from gnomon.storage.tokens import hash_token
from gnomon.storage.writes import NewProcess, NewTask, create_process, create_task
from tests.samples import definition, docker_task

API_TOKEN = "operator-secret"


@pytest.fixture
def secured(sqlite_engine: Engine, clock: FakeClock) -> Iterator[TestClient]:
    settings = Settings(api_token=SecretStr(API_TOKEN))
    with TestClient(create_app(settings, sqlite_engine, clock=clock)) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def two_tasks(engine: Engine, clock: FakeClock) -> list[str]:
    """Two running attempts whose tokens are `token-0` and `token-1`."""
    task = TaskDefinition.model_validate(docker_task("t"))
    with Session(engine) as session:
        process_id = create_process(
            session=session, new=NewProcess("d", [task], origin="trigger"), now=clock.now()
        )
        ids = [
            create_task(
                session=session,
                new=NewTask(process_id, "d", task, i, token_hash=hash_token(f"token-{i}")),
                now=clock.now(),
            )
            for i in range(2)
        ]
        session.commit()
    return ids


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
    assert secured.post(f"/api/tasks/{first}/succeed", headers=bearer("token-0")).status_code == 204
    other = secured.post(f"/api/tasks/{second}/succeed", headers=bearer("token-0"))
    assert other.status_code == 403
    assert secured.post(f"/api/tasks/{second}/fail").status_code == 401
    assert secured.post(f"/api/tasks/{second}/fail", headers=bearer(API_TOKEN)).status_code == 204


def test_tokens_never_appear_in_output(
    secured: TestClient, sqlite_engine: Engine, clock: FakeClock
) -> None:
    two_tasks(sqlite_engine, clock)
    listing = secured.get("/api/processes/").text
    assert "token-0" not in listing and hash_token("token-0") not in listing


def test_without_an_api_token_a_foreign_task_token_is_still_refused(
    client: TestClient, sqlite_engine: Engine, clock: FakeClock
) -> None:
    first, second = two_tasks(sqlite_engine, clock)
    assert client.post(f"/api/tasks/{second}/succeed", headers=bearer("token-0")).status_code == 403
    assert client.post(f"/api/tasks/{first}/succeed").status_code == 204
