"""The live API for Schemathesis: uvicorn on a loopback port over each store, with and without
GNOMON_API_TOKEN, seeded with runs so reads return data and links lead somewhere.

GNOMON_FUZZ_EXAMPLES sets the examples per operation (and the stateful scenarios); the default
keeps the fuzz part short, `make fuzz` raises it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from gnomon.api.app import create_app
from gnomon.domain.enums import ProcessStatus
from gnomon.settings import Settings
from tests.api.test_runs import seed_run
from tests.clock import FakeClock
from tests.live import live_server

FUZZ_EXAMPLES = int(os.environ.get("GNOMON_FUZZ_EXAMPLES", "3"))
FUZZ_DERANDOMIZE = os.environ.get("GNOMON_FUZZ_RANDOM") != "1"
"""The suite's run is the same every time; `make fuzz` explores anew (GNOMON_FUZZ_RANDOM=1)."""
FUZZ_TOKEN = "fuzz-secret"


@dataclass
class FuzzTally:
    """Requests the fuzz tests sent and the 5xx they got, printed at the end of the run."""

    requests: int = 0
    server_errors: int = 0

    def record(self, response: Any) -> None:
        self.requests += 1
        self.server_errors += response.status_code >= 500


_TALLY = FuzzTally()


@pytest.fixture
def tally() -> FuzzTally:
    return _TALLY


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _TALLY.requests:
        terminalreporter.write_line(
            f"fuzz: {_TALLY.requests} requests sent, {_TALLY.server_errors} answered 5xx "
            f"({FUZZ_EXAMPLES} examples per operation)"
        )


@dataclass(frozen=True)
class LiveApi:
    url: str
    token: str | None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


def seed(engine: Engine, clock: FakeClock) -> None:
    """A running run, a failed one and a succeeded one, as the scheduler would have left them."""
    seed_run(engine, clock, "seeded", tasks=2)
    clock.advance(60)
    seed_run(engine, clock, "seeded", status=ProcessStatus.FAILED)
    clock.advance(60)
    seed_run(engine, clock, "other", status=ProcessStatus.SUCCEEDED)


@pytest.fixture(params=[None, FUZZ_TOKEN], ids=["open", "token"])
def live_api(request: pytest.FixtureRequest, engine: Engine, clock: FakeClock) -> Iterator[LiveApi]:
    token: str | None = request.param
    settings = Settings(api_token=SecretStr(token) if token else None, allow_shell=True)
    seed(engine, clock)
    with live_server(create_app(settings, engine, clock=clock)) as url:
        yield LiveApi(url, token)
