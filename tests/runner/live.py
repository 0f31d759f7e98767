"""A scheduler on a real store with a REAL runner (bash, the Docker engine): for tests of what a
user sees through the API after a job really ran. Time for schedules stays fake; the test only
waits, with a deadline, for the job itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from gnomon.api.app import create_app
from gnomon.domain.runs import Process
from gnomon.runner.base import Runner
from gnomon.scheduler.service import SchedulerConfig, SchedulerService
from gnomon.scheduler.sink import StoreSink
from gnomon.settings import Settings
from tests.clock import FakeClock
from tests.scheduler.harness import Harness
from tests.waiting import wait_for


class LiveHarness(Harness):
    """`Harness` with a real runner made by `factory`, and an API client over the same store."""

    def __init__(
        self, engine: Engine, clock: FakeClock, factory: Callable[[StoreSink], Runner]
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.service = SchedulerService(
            engine,
            factory,
            clock,
            config=SchedulerConfig(lease_seconds=15, max_sleep_seconds=5),
            holder="live",
            backend="live",
        )
        app = create_app(Settings(database_url="sqlite://"), engine, clock=clock)
        self.api = TestClient(app, raise_server_exceptions=False)

    def run(self, body: dict[str, Any], timeout: float = 60.0) -> Process:
        """PUT `body`, trigger it and wait for the run to end; the finished process."""
        self.put(body)
        name = body["process_definition_name"]
        self.trigger(name)

        def ended() -> Process | None:
            self.tick()
            processes = self.processes(name)
            return processes[0] if processes and processes[0].status.value != "running" else None

        return wait_for(ended, what=f"the run of {name} to end", timeout=timeout)

    def close(self) -> None:
        self.api.close()
        self.service.runner.close()
