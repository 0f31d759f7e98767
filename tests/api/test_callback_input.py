"""Hostile log and metadata entries from a job: a 400 naming the field, nothing stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from gnomon.api.app import create_app
from gnomon.domain import limits
from gnomon.settings import Settings
from tests.api.test_runs import log, metadata, seed_run
from tests.clock import FakeClock


@pytest.fixture
def store_client(settings: Settings, engine: Engine, clock: FakeClock) -> Iterator[TestClient]:
    """The API on a SQLite file, then on PostgreSQL (which cannot store a NUL byte)."""
    app = create_app(settings, engine, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def post_raw(client: TestClient, path: str, body: Any) -> Any:
    """POST `body` encoded by Python's json module, so `\\ud800` travels as the escape it is."""
    return client.post(
        path, content=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )


def assert_refused_and_nothing_stored(
    client: TestClient, engine: Engine, clock: FakeClock, kind: str, entry: Any, field: str
) -> None:
    """Posting `entry` to a fresh task's `kind` callback is a 400 naming `field`; nothing stored."""
    process_id, (task_id,) = seed_run(engine, clock)
    response = post_raw(client, f"/api/tasks/{task_id}/{kind}", [entry])
    assert response.status_code == 400, f"{field}: {response.text}"
    assert field in [e["field"] for e in response.json()["errors"]], response.text
    task = client.get(f"/api/processes/{process_id}").json()["task"][0]
    assert task["log_entries" if kind == "log_entries" else "metadata_entries"] == []


BAD_LOGS = [
    ("when before year 1 in UTC", {"when": "0001-01-01T00:00:00+01:00"}, "[0].when"),
    ("when after year 9999 in UTC", {"when": "9999-12-31T23:59:59-01:00"}, "[0].when"),
    ("NUL in the message", {"message": "a\x00b"}, "[0].message"),
    ("surrogate in the message", {"message": "\ud800"}, "[0].message"),
    ("message too long", {"message": "m" * (limits.MAX_LOG_MESSAGE_CHARS + 1)}, "[0].message"),
    ("source too long", {"source": "s" * 201}, "[0].source"),
    ("number for the source", {"source": 7}, "[0].source"),
]


@pytest.mark.parametrize(
    ("change", "field"), [c[1:] for c in BAD_LOGS], ids=[c[0] for c in BAD_LOGS]
)
def test_bad_log_entry_is_400_naming_the_field(
    store_client: TestClient,
    engine: Engine,
    clock: FakeClock,
    change: dict[str, Any],
    field: str,
) -> None:
    entry = {**log("m"), **change}
    assert_refused_and_nothing_stored(store_client, engine, clock, "log_entries", entry, field)


BAD_METADATA = [
    ("when before year 1 in UTC", {"when": "0001-01-01T00:00:00+01:00"}, "[0].when"),
    ("NUL in the value", {"value": "\x00"}, "[0].value"),
    ("NUL in the key", {"key": "k\x00"}, "[0].key"),
    ("value too long", {"value": "v" * (limits.MAX_TEXT_CHARS + 1)}, "[0].value"),
]


@pytest.mark.parametrize(
    ("change", "field"), [c[1:] for c in BAD_METADATA], ids=[c[0] for c in BAD_METADATA]
)
def test_bad_metadata_entry_is_400_naming_the_field(
    store_client: TestClient,
    engine: Engine,
    clock: FakeClock,
    change: dict[str, Any],
    field: str,
) -> None:
    entry = {**metadata("k", "v"), **change}
    assert_refused_and_nothing_stored(store_client, engine, clock, "metadata", entry, field)


def test_entries_at_the_bounds_are_stored(
    store_client: TestClient, engine: Engine, clock: FakeClock
) -> None:
    process_id, (task_id,) = seed_run(engine, clock)
    longest = "é" * limits.MAX_LOG_MESSAGE_CHARS
    entry = {**log(longest), "when": "9999-12-31T22:59:59-01:00", "source": "s" * 200}
    assert post_raw(store_client, f"/api/tasks/{task_id}/log_entries", [entry]).status_code == 204
    task = store_client.get(f"/api/processes/{process_id}").json()["task"][0]
    assert [(e["message"], e["when"]) for e in task["log_entries"]] == [
        (longest, "9999-12-31T23:59:59.000Z")
    ]


@pytest.mark.parametrize("kind", ["log_entries", "metadata"])
def test_a_batch_past_the_entry_limit_is_400_and_nothing_is_stored(
    store_client: TestClient, engine: Engine, clock: FakeClock, kind: str
) -> None:
    process_id, (task_id,) = seed_run(engine, clock)
    count = limits.MAX_ENTRIES_PER_CALLBACK + 1
    if kind == "log_entries":
        batch = [log(f"line {n}") for n in range(count)]
    else:
        batch = [metadata(f"key{n}", "value") for n in range(count)]
    response = post_raw(store_client, f"/api/tasks/{task_id}/{kind}", batch)
    assert response.status_code == 400, response.text
    assert "1000" in response.text
    task = store_client.get(f"/api/processes/{process_id}").json()["task"][0]
    assert task["log_entries" if kind == "log_entries" else "metadata_entries"] == []
    full = batch[: limits.MAX_ENTRIES_PER_CALLBACK]
    assert post_raw(store_client, f"/api/tasks/{task_id}/{kind}", full).status_code == 204
