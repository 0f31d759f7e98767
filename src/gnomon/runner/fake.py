"""A runner that runs nothing: tests (and benchmarks) decide when and how each attempt ends."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from gnomon.runner.base import Attempt, AttemptSink, AttemptState, ExecutorStatus


class FakeRunner:
    """Records what it is asked to do; `finish()` plays the backend reporting an outcome."""

    name = "fake"

    def __init__(self, sink: AttemptSink | None = None, *, auto_succeed: bool = False) -> None:
        self.sink = sink
        self.auto_succeed = auto_succeed
        self.started: list[Attempt] = []
        self.killed: list[tuple[str, str]] = []
        self.adopted: list[Attempt] = []
        self.running: dict[str, Attempt] = {}
        self.releases = 0
        self._lock = threading.Lock()

    def bind(self, sink: AttemptSink) -> None:
        self.sink = sink

    def start(self, attempt: Attempt) -> None:
        with self._lock:
            self.started.append(attempt)
            self.running[attempt.task_id] = attempt
        self._report(
            AttemptState(attempt.task_id, ExecutorStatus.RUNNING, handle=f"fake-{attempt.task_id}")
        )
        if self.auto_succeed:
            self.finish(attempt.task_id, ExecutorStatus.SUCCEEDED)

    def kill(self, task_id: str, reason: str) -> None:
        with self._lock:
            self.killed.append((task_id, reason))
            was_running = self.running.pop(task_id, None) is not None
        if was_running:
            self._report(AttemptState(task_id, ExecutorStatus.FAILED, reason=reason))

    def adopt(self, attempts: Sequence[Attempt]) -> None:
        with self._lock:
            self.adopted.extend(attempts)
            for attempt in attempts:
                self.running[attempt.task_id] = attempt
        if self.auto_succeed:
            for attempt in attempts:
                self.finish(attempt.task_id, ExecutorStatus.SUCCEEDED)

    def healthy(self) -> str | None:
        return None

    def release(self) -> None:
        with self._lock:
            self.releases += 1
            self.running.clear()

    def close(self) -> None:
        return None

    def finish(self, task_id: str, status: ExecutorStatus, reason: str | None = None) -> None:
        """Report that the attempt ended with `status`."""
        with self._lock:
            self.running.pop(task_id, None)
        self._report(AttemptState(task_id, status, reason=reason))

    def _report(self, state: AttemptState) -> None:
        if self.sink is not None:
            self.sink.state_changed(state)
