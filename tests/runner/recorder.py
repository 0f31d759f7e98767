"""A thread-safe `AttemptSink` that records everything a runner reports, for assertions."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from gnomon.domain.enums import TaskStatus
from gnomon.runner.base import AttemptState, OutputLine
from tests.waiting import wait_for

T = TypeVar("T")


@dataclass
class Recorder:
    """Records states, output, metadata and verdicts; `wait_for` waits until one shows up."""

    states: list[AttemptState] = field(default_factory=list)
    lines: list[tuple[str, OutputLine]] = field(default_factory=list)
    batches: list[tuple[str, int]] = field(default_factory=list)
    metadata_entries: list[tuple[str, str, str]] = field(default_factory=list)
    verdicts: list[tuple[str, TaskStatus, str | None]] = field(default_factory=list)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def state_changed(self, state: AttemptState) -> None:
        with self._lock:
            self.states.append(state)

    def output(self, task_id: str, lines: Sequence[OutputLine]) -> None:
        with self._lock:
            self.lines.extend((task_id, line) for line in lines)
            self.batches.append((task_id, len(lines)))

    def metadata(self, task_id: str, when: datetime, key: str, value: str) -> None:
        with self._lock:
            self.metadata_entries.append((task_id, key, value))

    def reported(self, task_id: str, status: TaskStatus, reason: str | None) -> None:
        with self._lock:
            self.verdicts.append((task_id, status, reason))

    def wait_for(self, predicate: Callable[[], T | None], *, what: str, timeout: float = 30.0) -> T:
        """The first truthy value of `predicate()`; fails naming `what`, and the states so far,
        once `timeout` passes."""

        def probe() -> T | None:
            with self._lock:
                return predicate()

        try:
            return wait_for(probe, what=what, timeout=timeout)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; states: {self.states}") from None

    def final(self, task_id: str, timeout: float = 30.0) -> AttemptState:
        """The terminal state of `task_id`, once reported."""
        return self.wait_for(
            lambda: self.finished(task_id), what=f"an outcome of task {task_id}", timeout=timeout
        )

    def finished(self, task_id: str) -> AttemptState | None:
        with self._lock:
            done = [s for s in self.states if s.task_id == task_id and s.status.finished]
        return done[0] if done else None

    def terminal_count(self, task_id: str) -> int:
        with self._lock:
            return sum(1 for s in self.states if s.task_id == task_id and s.status.finished)

    def output_of(self, task_id: str, source: str | None = None) -> list[OutputLine]:
        with self._lock:
            return [
                line
                for task, line in self.lines
                if task == task_id and (source is None or line.source == source)
            ]

    def messages(self, task_id: str, source: str | None = None) -> list[str]:
        return [line.message for line in self.output_of(task_id, source)]
