"""What the scheduler knows of a running process: its frozen task definitions and their attempts.

These are plain values built from the store; the pure decision functions read them and return
actions, and only the service applies actions to the store and the runner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from gnomon.domain.dag import topological_order
from gnomon.domain.definitions import TaskDefinition
from gnomon.domain.durations import backoff_seconds
from gnomon.domain.enums import TaskStatus


@dataclass
class AttemptRecord:
    task_id: str
    started_at: datetime
    status: TaskStatus = TaskStatus.RUNNING
    ended_at: datetime | None = None
    running_at: datetime | None = None
    reason: str | None = None
    waiting_logged: bool = False
    """Whether its "waiting for a slot" log entry was written (once per attempt)."""

    @property
    def running(self) -> bool:
        return self.status == TaskStatus.RUNNING

    @property
    def waiting(self) -> bool:
        """Queued for a slot (`rules.slots`): not started, so no runtime limit counts yet."""
        return self.status == TaskStatus.PENDING

    @property
    def active(self) -> bool:
        """Not ended: running or waiting for a slot."""
        return self.running or self.waiting


@dataclass(frozen=True)
class TaskLayout:
    """A run's task definitions by name (the first of a name), each one's place, and an order
    with every task after its dependencies (those outside the run are ignored)."""

    by_name: dict[str, TaskDefinition]
    positions: dict[str, int]
    order: list[str]

    @classmethod
    def of(cls, tasks: list[TaskDefinition]) -> TaskLayout:
        by_name: dict[str, TaskDefinition] = {}
        positions: dict[str, int] = {}
        for position, task in enumerate(tasks):
            if task.task_definition_name not in by_name:
                by_name[task.task_definition_name] = task
                positions[task.task_definition_name] = position
        graph = {
            name: [d.task_definition_name for d in task.dependencies]
            for name, task in by_name.items()
        }
        return cls(by_name, positions, topological_order(graph))


@dataclass
class ProcessState:
    process_id: str
    definition_name: str
    started_at: datetime
    tasks: list[TaskDefinition]
    """This run's snapshot, already narrowed to the trigger's task filter."""
    due_at: datetime | None = None
    """When the run was due (its fire time, or when its trigger was requested), where known;
    its attempts queue for a slot in this order (`rules.slots`). A run read back from the store
    knows only its fire time; a triggered one then counts from its start."""
    attempts: dict[str, list[AttemptRecord]] = field(default_factory=dict)
    """Attempts per task definition name, oldest first."""
    kill_requested: bool = False

    _layout: tuple[list[TaskDefinition], TaskLayout] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    """`layout()` of the current `tasks` list, made again when a retry replaces the list."""

    def task(self, name: str) -> TaskDefinition | None:
        return self.layout().by_name.get(name)

    def share_layout(self, layout: TaskLayout) -> None:
        """Use `layout`, made from a list with the same tasks as `tasks` (every new run of a
        definition revision has the same), instead of making it again."""
        self._layout = (self.tasks, layout)

    def attempts_of(self, name: str) -> list[AttemptRecord]:
        return self.attempts.setdefault(name, [])

    def last_attempt(self, name: str) -> AttemptRecord | None:
        attempts = self.attempts.get(name)
        return attempts[-1] if attempts else None

    def running_attempts(self) -> list[AttemptRecord]:
        return [a for attempts in self.attempts.values() for a in attempts if a.running]

    def active_attempts(self) -> list[AttemptRecord]:
        """Attempts not ended: running, or waiting for a slot."""
        return [a for attempts in self.attempts.values() for a in attempts if a.active]

    def position(self, name: str) -> int:
        """The place of task definition `name` in this run (its queue order among siblings)."""
        return self.layout().positions.get(name, 0)

    def layout(self) -> TaskLayout:
        """This run's tasks indexed and ordered, computed once per `tasks` list: every step of
        every run asks, and ten thousand runs may start in one minute.

        Raises:
            CycleError: the stored tasks have a dependency cycle (see `topological_order`).
        """
        if self._layout is None or self._layout[0] is not self.tasks:
            self._layout = (self.tasks, TaskLayout.of(self.tasks))
        return self._layout[1]

    def find_attempt(self, task_id: str) -> tuple[str, AttemptRecord] | None:
        for name, attempts in self.attempts.items():
            for attempt in attempts:
                if attempt.task_id == task_id:
                    return name, attempt
        return None


def backoff_delay_seconds(task: TaskDefinition, attempts_so_far: int) -> float:
    """Sundial's rule: `base * exponent ** attempts_so_far`, from the end of the last attempt;
    finite and never raising, whatever the definition says (see `durations`)."""
    return backoff_seconds(task.backoff_base_seconds, task.backoff_exponent, attempts_so_far)
