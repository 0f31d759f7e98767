"""A thread-safe `AttemptSink` that records everything a runner reports, for assertions."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from gnomon.domain.enums import TaskStatus
from gnomon.runner.base import AttemptState, OutputLine

T = TypeVar("T")


@dataclass
class Recorder:
    """Records states, output, metadata and verdicts; `wait_for` blocks until one shows up."""

    states: list[AttemptState] = field(default_factory=list)
    lines: list[tuple[str, OutputLine]] = field(default_factory=list)
    batches: list[tuple[str, int]] = field(default_factory=list)
    metadata_entries: list[tuple[str, str, str]] = field(default_factory=list)
    verdicts: list[tuple[str, TaskStatus, str | None]] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def state_changed(self, state: AttemptState) -> None:
        with self._changed:
            self.states.append(state)
            self._changed.notify_all()

    def output(self, task_id: str, lines: Sequence[OutputLine]) -> None:
        with self._changed:
            self.lines.extend((task_id, line) for line in lines)
            self.batches.append((task_id, len(lines)))
            self._changed.notify_all()

    def metadata(self, task_id: str, when: datetime, key: str, value: str) -> None:
        with self._changed:
            self.metadata_entries.append((task_id, key, value))
            self._changed.notify_all()

    def reported(self, task_id: str, status: TaskStatus, reason: str | None) -> None:
        with self._changed:
            self.verdicts.append((task_id, status, reason))
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[], T | None], timeout: float = 30.0) -> T:
        """The first truthy value of `predicate()`, re-checked whenever something is recorded."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                value = predicate()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout}s; states: {self.states}")
                self._changed.wait(left)

    def final(self, task_id: str, timeout: float = 30.0) -> AttemptState:
        """The terminal state of `task_id`, once reported."""
        return self.wait_for(lambda: self.finished(task_id), timeout)

    def finished(self, task_id: str) -> AttemptState | None:
        with self._changed:
            done = [s for s in self.states if s.task_id == task_id and s.status.finished]
        return done[0] if done else None

    def terminal_count(self, task_id: str) -> int:
        with self._changed:
            return sum(1 for s in self.states if s.task_id == task_id and s.status.finished)

    def output_of(self, task_id: str, source: str | None = None) -> list[OutputLine]:
        with self._changed:
            return [
                line
                for task, line in self.lines
                if task == task_id and (source is None or line.source == source)
            ]

    def messages(self, task_id: str, source: str | None = None) -> list[str]:
        return [line.message for line in self.output_of(task_id, source)]
