"""GNOMON_REQUIRE_TOKEN_FOR_READS: reads under /api need the API token; probes stay open."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from gnomon.api.app import create_app
from gnomon.settings import Settings
from tests.api.test_auth import API_TOKEN, bearer, two_tasks
from tests.clock import FakeClock
from tests.samples import definition

READS = [
    "/api/process_definitions/",
    "/api/process_definitions",
    "/api/process_definitions/x",
    "/api/processes/",
    "/api/processes",
    "/api/processes/{process_id}",
    "/api/tasks/?process_definition_name=d&task_definition_name=t",
    "/api/tasks?process_definition_name=d&task_definition_name=t",
]


def app_client(engine: Engine, clock: FakeClock, *, closed_reads: bool) -> TestClient:
    settings = Settings(api_token=SecretStr(API_TOKEN), require_token_for_reads=closed_reads)
    return TestClient(create_app(settings, engine, clock=clock))


@pytest.fixture
def closed(sqlite_engine: Engine, clock: FakeClock) -> Iterator[tuple[TestClient, str]]:
    """A client of an API whose reads need the token, with definition `x` and a process."""
    with app_client(sqlite_engine, clock, closed_reads=True) as client:
        put = client.put(
            "/api/process_definitions/x", json=definition("x"), headers=bearer(API_TOKEN)
        )
        assert put.status_code == 200
        two_tasks(sqlite_engine, clock)
        process = client.get("/api/processes/", headers=bearer(API_TOKEN)).json()[0]
        yield client, process["process_id"]


@pytest.mark.parametrize("path", READS)
def test_every_read_needs_the_token_when_required(
    closed: tuple[TestClient, str], path: str
) -> None:
    client, process_id = closed
    url = path.format(process_id=process_id)
    missing = client.get(url)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["message"]
    assert client.get(url, headers=bearer("wrong")).status_code == 403
    assert client.get(url, headers=bearer(API_TOKEN)).status_code == 200


def test_probes_and_callbacks_stay_open_when_reads_are_closed(
    sqlite_engine: Engine, clock: FakeClock
) -> None:
    with app_client(sqlite_engine, clock, closed_reads=True) as client:
        assert client.get("/_internal_/healthcheck").status_code == 200
        assert client.get("/_internal_/metrics").status_code == 200
        (task_id, token), _ = two_tasks(sqlite_engine, clock)
        logged = client.post(f"/api/tasks/{task_id}/log_entries", json=[], headers=bearer(token))
        assert logged.status_code == 204


@pytest.mark.parametrize("path", READS)
def test_reads_stay_open_by_default(sqlite_engine: Engine, clock: FakeClock, path: str) -> None:
    with app_client(sqlite_engine, clock, closed_reads=False) as client:
        client.put("/api/process_definitions/x", json=definition("x"), headers=bearer(API_TOKEN))
        two_tasks(sqlite_engine, clock)
        process_id = client.get("/api/processes/").json()[0]["process_id"]
        assert client.get(path.format(process_id=process_id)).status_code == 200


def test_closed_reads_without_a_token_to_close_them_with_are_refused() -> None:
    with pytest.raises(ValueError, match="GNOMON_API_TOKEN"):
        Settings(require_token_for_reads=True)
