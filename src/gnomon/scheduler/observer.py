"""Hooks for what the scheduler does, so metrics and notifications stay out of its logic.

`SchedulerObserver` does nothing; `CompositeObserver` fans out to several. Hooks are called from
the scheduler thread and must return quickly (notifications enqueue, they never send inline).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from gnomon.domain.enums import ProcessStatus, TaskStatus


@dataclass(frozen=True)
class TaskSummary:
    task_definition_name: str
    status: str
    """`succeeded`, `failed` or `did not run`."""
    attempts: int
    reason: str | None = None
    task_id: str | None = None
    """The final attempt's id; None when the task did not run."""


@dataclass(frozen=True)
class FinishedRun:
    process_id: str
    definition_name: str
    status: ProcessStatus
    started_at: datetime
    ended_at: datetime
    killed: bool
    tasks: tuple[TaskSummary, ...]


class SchedulerObserver:
    def process_started(
        self, name: str, origin: str, scheduled_for: datetime | None, started_at: datetime
    ) -> None:
        """A run started; `scheduled_for` is its due time when a schedule started it."""

    def process_finished(self, run: FinishedRun) -> None:
        """A run ended (called after the store committed it)."""

    def task_started(self, name: str, executable: str) -> None:
        """An attempt started; `executable` is the executable kind."""

    def task_finished(self, name: str, executable: str, status: TaskStatus) -> None:
        """An attempt ended."""

    def schedule_skipped(self, name: str, due: datetime) -> None:
        """A missed fire time was dropped for being older than its starting deadline."""

    def item_failed(self, stage: str) -> None:
        """Handling one definition or one process raised unexpectedly and was set aside;
        `stage` is one of `isolation.STAGES`."""

    def loop_failed(self) -> None:
        """A whole wake-up raised unexpectedly; the loop goes on after a pause."""

    def runs_pruned(self, count: int) -> None:
        """Retention removed `count` finished runs (called after the store committed it)."""


class CompositeObserver(SchedulerObserver):
    def __init__(self, observers: Sequence[SchedulerObserver]) -> None:
        self.observers = list(observers)

    def process_started(
        self, name: str, origin: str, scheduled_for: datetime | None, started_at: datetime
    ) -> None:
        for observer in self.observers:
            observer.process_started(name, origin, scheduled_for, started_at)

    def process_finished(self, run: FinishedRun) -> None:
        for observer in self.observers:
            observer.process_finished(run)

    def task_started(self, name: str, executable: str) -> None:
        for observer in self.observers:
            observer.task_started(name, executable)

    def task_finished(self, name: str, executable: str, status: TaskStatus) -> None:
        for observer in self.observers:
            observer.task_finished(name, executable, status)

    def schedule_skipped(self, name: str, due: datetime) -> None:
        for observer in self.observers:
            observer.schedule_skipped(name, due)

    def item_failed(self, stage: str) -> None:
        for observer in self.observers:
            observer.item_failed(stage)

    def loop_failed(self) -> None:
        for observer in self.observers:
            observer.loop_failed()

    def runs_pruned(self, count: int) -> None:
        for observer in self.observers:
            observer.runs_pruned(count)
