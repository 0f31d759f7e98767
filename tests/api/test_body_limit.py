"""GNOMON_MAX_REQUEST_BYTES: a body past the limit is answered 413 before it is read whole."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.engine import Engine

from gnomon.api.app import create_app
from gnomon.settings import Settings
from tests.clock import FakeClock
from tests.live import live_server
from tests.samples import definition

LIMIT = 64 * 1024
CHUNK = 1024 * 1024
HUGE = 200 * CHUNK


@pytest.fixture
def base_url(sqlite_engine: Engine, clock: FakeClock) -> Iterator[str]:
    app = create_app(Settings(max_request_bytes=LIMIT), sqlite_engine, clock=clock)
    with live_server(app) as url:
        yield url


def assert_too_large(response: httpx.Response) -> None:
    assert response.status_code == 413
    body = response.json()
    assert str(LIMIT) in body["message"] and body["errors"] == []


def test_a_body_announced_larger_than_the_limit_is_refused(base_url: str) -> None:
    payload = json.dumps(definition("big", process_description="x" * LIMIT)).encode()
    response = httpx.put(f"{base_url}/api/process_definitions/big", content=payload)
    assert_too_large(response)
    assert httpx.get(f"{base_url}/api/process_definitions/big").status_code == 404


def test_a_chunked_body_of_200_mb_is_refused_without_being_read(base_url: str) -> None:
    yielded = 0

    def chunks() -> Iterator[bytes]:
        nonlocal yielded
        yield b'{"process_definition_name": "big", "process_description": "'
        while yielded < HUGE:
            yielded += CHUNK
            yield b"x" * CHUNK

    # A generator body has no Content-Length: httpx sends it chunked.
    with httpx.Client(timeout=30) as client:
        try:
            response = client.put(f"{base_url}/api/process_definitions/big", content=chunks())
        except httpx.TransportError:
            response = None  # the server closed the connection on the unread rest
    # What the sender could push is the limit plus the socket buffers, not 200 MB.
    assert yielded <= 32 * CHUNK, f"the server read {yielded} bytes of a refused body"
    if response is not None:
        assert_too_large(response)
    assert httpx.get(f"{base_url}/api/process_definitions/big").status_code == 404


def test_a_callback_batch_past_the_limit_is_refused(base_url: str) -> None:
    entries = [{"message": "x" * 1024} for _ in range(LIMIT // 1024 + 1)]
    response = httpx.post(
        f"{base_url}/api/tasks/00000000-0000-0000-0000-000000000000/log_entries", json=entries
    )
    assert_too_large(response)


def test_a_body_within_the_limit_is_served(base_url: str) -> None:
    response = httpx.put(f"{base_url}/api/process_definitions/small", json=definition("small"))
    assert response.status_code == 200, response.text
