"""A real Gnomon API on a loopback port, for the client verbs to talk to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from gnomon.api.app import create_app
from gnomon.settings import Settings
from tests.live import live_server


@pytest.fixture
def server(sqlite_engine: Engine) -> Iterator[str]:
    app = create_app(Settings(allow_shell=True), sqlite_engine)
    with live_server(app) as url:
        yield url
