"""A runner that runs nothing: tests (and benchmarks) decide when and how each job ends."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from gnomon.runner.base import ExecutorStatus, Job, JobSink, JobState


class FakeRunner:
    """Records what it is asked to do; `finish()` plays the backend reporting an outcome."""

    name = "fake"

    def __init__(self, sink: JobSink | None = None, *, auto_succeed: bool = False) -> None:
        self.sink = sink
        self.auto_succeed = auto_succeed
        self.started: list[Job] = []
        self.killed: list[tuple[str, str]] = []
        self.adopted: list[Job] = []
        self.running: dict[str, Job] = {}
        self.releases = 0
        self._lock = threading.Lock()

    def bind(self, sink: JobSink) -> None:
        self.sink = sink

    def start(self, job: Job) -> None:
        with self._lock:
            self.started.append(job)
            self.running[job.task_id] = job
        self._report(JobState(job.task_id, ExecutorStatus.RUNNING, handle=f"fake-{job.task_id}"))
        if self.auto_succeed:
            self.finish(job.task_id, ExecutorStatus.SUCCEEDED)

    def kill(self, task_id: str, reason: str) -> None:
        with self._lock:
            self.killed.append((task_id, reason))
            was_running = self.running.pop(task_id, None) is not None
        if was_running:
            self._report(JobState(task_id, ExecutorStatus.FAILED, reason=reason))

    def adopt(self, jobs: Sequence[Job]) -> None:
        with self._lock:
            self.adopted.extend(jobs)
            for job in jobs:
                self.running[job.task_id] = job
        if self.auto_succeed:
            for job in jobs:
                self.finish(job.task_id, ExecutorStatus.SUCCEEDED)

    def healthy(self) -> str | None:
        return None

    def release(self) -> None:
        with self._lock:
            self.releases += 1
            self.running.clear()

    def close(self) -> None:
        return None

    def finish(self, task_id: str, status: ExecutorStatus, reason: str | None = None) -> None:
        """Report that the job ended with `status`."""
        with self._lock:
            self.running.pop(task_id, None)
        self._report(JobState(task_id, status, reason=reason))

    def started_names(self) -> list[str]:
        return [job.task_definition_name for job in self.started]

    def _report(self, state: JobState) -> None:
        if self.sink is not None:
            self.sink.state_changed(state)
