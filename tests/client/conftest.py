"""A real Gnomon API on a loopback port, for the client verbs to talk to."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
import uvicorn
from sqlalchemy.engine import Engine

from gnomon.api.app import create_app
from gnomon.settings import Settings
from tests.waiting import wait_for


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(sqlite_engine: Engine) -> Iterator[str]:
    port = free_port()
    app = create_app(Settings(allow_shell=True), sqlite_engine)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    wait_for(lambda: instance.started, what="uvicorn to start", timeout=10, interval=0.02)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=10)
