"""A scheduler on a real store with the fake runner and a fake clock: tests decide when time
passes and how each job ends, and read the results back through the store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from gnomon.domain.changes import ChangePublisher
from gnomon.domain.definitions import ProcessDefinition
from gnomon.domain.runs import Process
from gnomon.runner.base import Attempt, ExecutorStatus
from gnomon.runner.fake import FakeRunner
from gnomon.scheduler.observer import SchedulerObserver
from gnomon.scheduler.service import SchedulerConfig, SchedulerService
from gnomon.scheduler.sink import StoreSink
from gnomon.storage import definitions, run_requests
from gnomon.storage.engine import transaction
from gnomon.storage.runs import ProcessQuery, list_processes
from tests.clock import FakeClock


class Harness:
    def __init__(
        self,
        engine: Engine,
        clock: FakeClock,
        holder: str = "test",
        changes: ChangePublisher | None = None,
        max_running_tasks: int | None = None,
        config: SchedulerConfig | None = None,
        observer: SchedulerObserver | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.runner = FakeRunner()

        def factory(sink: StoreSink) -> FakeRunner:
            self.runner.bind(sink)
            return self.runner

        self.service = SchedulerService(
            engine,
            factory,
            clock,
            config=config
            or SchedulerConfig(
                lease_seconds=15, max_sleep_seconds=5, max_running_tasks=max_running_tasks
            ),
            observer=observer,
            holder=holder,
            backend="fake",
            changes=changes,
        )

    # -- driving ---------------------------------------------------------------------------------

    def put(self, body: dict[str, Any]) -> None:
        with transaction(self.engine) as session:
            definitions.upsert_definition(
                session=session,
                definition=ProcessDefinition.model_validate(body),
                now=self.clock.now(),
            )
        self.tick("definitions")

    def pause(self, name: str, paused: bool = True) -> None:
        with transaction(self.engine) as session:
            definitions.set_paused(session=session, name=name, paused=paused, now=self.clock.now())
        self.tick("definitions")

    def trigger(self, name: str, task: str | None = None) -> None:
        with transaction(self.engine) as session:
            run_requests.add_trigger(
                session=session,
                name=name,
                task_filter=[task] if task else None,
                now=self.clock.now(),
            )
        self.tick()

    def kill(self, process_id: str) -> None:
        with transaction(self.engine) as session:
            run_requests.add_kill(session=session, process_id=process_id, now=self.clock.now())
        self.tick()

    def retry(self, process_id: str) -> None:
        with transaction(self.engine) as session:
            run_requests.add_retry(session=session, process_id=process_id, now=self.clock.now())
        self.tick()

    def tick(self, *topics: str) -> datetime:
        return self.service.tick(set(topics) or {"any"})

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.tick()

    def finish(
        self,
        task_name: str,
        status: ExecutorStatus = ExecutorStatus.SUCCEEDED,
        reason: str | None = None,
    ) -> None:
        attempt = self.running_attempt(task_name)
        self.runner.finish(attempt.task_id, status, reason)
        self.tick()

    def fail(self, task_name: str, reason: str = "exit code 1") -> None:
        self.finish(task_name, ExecutorStatus.FAILED, reason)

    # -- reading ---------------------------------------------------------------------------------

    def running_attempt(self, task_name: str) -> Attempt:
        attempts = [a for a in self.runner.running.values() if a.task_definition_name == task_name]
        assert len(attempts) == 1, f"expected one running {task_name!r}, found {len(attempts)}"
        return attempts[0]

    def running_names(self) -> list[str]:
        return sorted(j.task_definition_name for j in self.runner.running.values())

    def processes(self, name: str | None = None) -> list[Process]:
        with Session(self.engine) as session:
            return list_processes(session=session, query=ProcessQuery(process_definition_name=name))

    def process(self, name: str | None = None) -> Process:
        processes = self.processes(name)
        assert processes, "no process"
        return processes[0]

    def statuses(self, name: str | None = None) -> list[str]:
        """Process statuses, oldest first."""
        return [p.status.value for p in reversed(self.processes(name))]

    def attempts(self, task_name: str, name: str | None = None) -> list[tuple[str, str | None]]:
        """(status, reason) of every attempt of `task_name` in the newest process."""
        process = self.process(name)
        return [
            (t.status.value, t.reason) for t in process.task if t.task_definition_name == task_name
        ]


def started_names(runner: FakeRunner) -> list[str]:
    """The task definitions `runner` was asked to start, in order."""
    return [attempt.task_definition_name for attempt in runner.started]
