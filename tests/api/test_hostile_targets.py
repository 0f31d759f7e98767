"""Paths, query strings and tokens no route can mean are a 400 (or 401/403), never a 500.

Over real HTTP, so the bytes reach the server as a hostile client sends them, on SQLite and
PostgreSQL (which refuses NUL bytes in any string it is asked to compare).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from gnomon.api.app import create_app
from gnomon.api.query import MAX_LIST_RECORDS
from gnomon.settings import Settings
from tests.api.test_auth import two_tasks
from tests.clock import FakeClock
from tests.live import live_server
from tests.samples import definition

API_TOKEN = "operator-secret"
UNKNOWN = "00000000-0000-0000-0000-000000000000"
TASKS = "/api/tasks?process_definition_name=d&task_definition_name=t"


@pytest.fixture
def api(engine: Engine, clock: FakeClock) -> Iterator[httpx.Client]:
    settings = Settings(api_token=SecretStr(API_TOKEN))
    with live_server(create_app(settings, engine, clock=clock)) as url:
        with httpx.Client(base_url=url, timeout=10) as client:
            yield client


def assert_bad_request(response: httpx.Response, field: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["message"] and body["errors"][0]["field"] == field, body


@pytest.mark.parametrize(
    ("target", "field"),
    [
        ("/api/processes?start_time=0001-01-01T00:00:00%2B01:00", "start_time"),
        ("/api/processes?end_time=9999-12-31T23:59:59-01:00", "end_time"),
        (f"{TASKS}&start_time=0001-01-01T00:00:00%2B01:00", "start_time"),
        (f"{TASKS}&end_time=9999-12-31T23:59:59-01:00", "end_time"),
        ("/api/processes?start_time=-4.5e-94", "start_time"),
        ("/api/processes?end_time=1700000000", "end_time"),
        ("/api/process_definitions/bad%20name", "process_definition_name"),
        (f"/api/processes?process_definition_name={'x' * 201}", "process_definition_name"),
        (f"/api/processes?max_records={10**20}", "max_records"),
        (f"/api/processes?max_records={MAX_LIST_RECORDS + 1}", "max_records"),
        (f"{TASKS}&limit={10**20}", "limit"),
        ("/api/processes?process_definition_name=a%00b", "process_definition_name"),
        ("/api/processes?process_definition_name=%C3%28", "process_definition_name"),
        ("/api/tasks?process_definition_name=d&task_definition_name=%00", "task_definition_name"),
        ("/api/process_definitions/a%00b", "path"),
        ("/api/process_definitions/%FF", "path"),
        ("/api/process_definitions/%ED%A0%80", "path"),
        (f"/api/processes/{UNKNOWN}%00", "path"),
        ("/api/tasks/%00/log_entries", "path"),
    ],
)
def test_out_of_range_and_undecodable_parameters_are_a_400(
    api: httpx.Client, target: str, field: str
) -> None:
    method = "POST" if target.endswith("log_entries") else "GET"
    assert_bad_request(api.request(method, target, json=[]), field)


def test_an_encoded_newline_does_not_reach_the_list_route(api: httpx.Client) -> None:
    api.put("/api/process_definitions/d", json=definition("d"), headers=bearer(API_TOKEN))
    assert_bad_request(api.get("/api/process_definitions/%0A"), "path")
    assert_bad_request(api.get("/api/processes/%0A"), "path")


def test_limits_up_to_the_maximum_are_served(api: httpx.Client) -> None:
    assert api.get(f"/api/processes?max_records={MAX_LIST_RECORDS}").json() == []
    assert api.get(f"{TASKS}&limit={MAX_LIST_RECORDS}").json() == []
    assert api.get("/api/processes?start_time=0001-01-01T00:00:00Z").status_code == 200


def bearer(token: str | bytes) -> dict[bytes, bytes]:
    raw = token if isinstance(token, bytes) else token.encode()
    return {b"authorization": b"Bearer " + raw}


@pytest.mark.parametrize("token", ["é-secret".encode(), "ключ".encode(), b"\xff\xfe"])
def test_a_non_ascii_bearer_token_is_refused_not_a_500(
    api: httpx.Client, engine: Engine, clock: FakeClock, token: bytes
) -> None:
    (task_id, _), _ = two_tasks(engine, clock)
    put = api.put("/api/process_definitions/d", json=definition("d"), headers=bearer(token))
    assert put.status_code == 403, put.text
    callback = api.post(f"/api/tasks/{task_id}/succeed", headers=bearer(token))
    assert callback.status_code == 403, callback.text
