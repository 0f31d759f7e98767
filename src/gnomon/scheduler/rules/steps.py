"""Stepping a process through its task graph: pure functions of a `ProcessState` and `now`.

The rules are Sundial's (reference §6.2–§6.5) with its bugs fixed:

- Each task definition is ALLOWED to start, PENDING (waiting on a running attempt, a backoff or a
  dependency that may still succeed) or DONE (succeeded, out of attempts, killed, or blocked for
  good). Any DONE condition wins, then any PENDING.
- A required dependency must succeed; one that can never succeed blocks its dependants for good.
- An optional dependency must have finished once (success or failure). One that can never run
  (its own required dependency failed) releases its dependants instead of leaving them pending
  forever, which is how Sundial's processes hung.
- Dependencies outside the run's task filter are ignored.
- A process ends when nothing is allowed, pending or running: `failed` if it was killed or any
  task's most recent attempt failed, else `succeeded`.

Conditions are computed in dependency order (`dag.topological_order`), never by recursion, so a
chain of any length works; a cycle (which the API refuses, but a stored run must not be trusted)
raises `CycleError` for the service to fail that one process with. Times are added with
`durations`, so no limit or backoff can overflow.

Two steps, so the service can apply kills before planning: `expire` says which running attempts
must be killed (kill request, or the runtime limit), `plan` what to start and whether the run ends.
An attempt waiting for a slot (`rules.slots`) counts as running for the graph (its task is
PENDING, its dependants wait) but not for the runtime limit, which starts when it does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum

from gnomon.domain.definitions import TaskDefinition
from gnomon.domain.durations import add_seconds
from gnomon.domain.enums import ProcessStatus, TaskStatus
from gnomon.scheduler.rules.state import (
    AttemptRecord,
    ProcessState,
    TaskLayout,
    backoff_delay_seconds,
)

KILL_REASON = "The task's process was requested to be killed"


class Condition(Enum):
    ALLOWED = "allowed"
    PENDING = "pending"
    DONE = "done"


@dataclass(frozen=True)
class Kill:
    task_id: str
    task_definition_name: str
    reason: str


@dataclass
class Plan:
    starts: list[TaskDefinition] = field(default_factory=list)
    finish: ProcessStatus | None = None
    wake_at: datetime | None = None
    """When this process next needs a look without any event: a backoff ends or a limit hits."""


def runtime_deadline(task: TaskDefinition, attempt: AttemptRecord) -> datetime | None:
    """When a running attempt exceeds `max_runtime_seconds`, counted from when it began to run
    (queue and image-pull time do not count once the executor reports it running)."""
    if task.max_runtime_seconds is None or not attempt.running:
        return None
    began = attempt.running_at or attempt.started_at
    return add_seconds(began, task.max_runtime_seconds)


def expire(state: ProcessState, now: datetime) -> list[Kill]:
    """Running attempts to kill now: all of them on a kill request, else those past their limit."""
    kills = []
    for task in state.tasks:
        attempt = state.last_attempt(task.task_definition_name)
        if attempt is None or not attempt.active:
            continue
        if state.kill_requested:
            kills.append(Kill(attempt.task_id, task.task_definition_name, KILL_REASON))
            continue
        deadline = runtime_deadline(task, attempt)
        if deadline is not None and now >= deadline:
            reason = f"exceeded max_runtime_seconds ({task.max_runtime_seconds} s)"
            kills.append(Kill(attempt.task_id, task.task_definition_name, reason))
    return kills


def plan(state: ProcessState, now: datetime) -> Plan:
    """What to start, whether the process is finished, and when to look again."""
    evaluator = _Evaluator(state, now)
    result = Plan()
    for task in state.tasks:
        condition = evaluator.condition(task.task_definition_name)
        if condition is Condition.ALLOWED:
            result.starts.append(task)
    if not result.starts and not state.active_attempts() and not evaluator.any_pending:
        result.finish = final_status(state)
    running = state.running_attempts()
    deadlines = [d for d in (_deadline(state, a) for a in running) if d is not None]
    result.wake_at = min([*deadlines, *evaluator.backoff_ends], default=None)
    return result


_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Opening:
    """What every new run of one list of tasks shares: their layout, and what it starts at once
    (`plan`'s first answer for a run with no attempt and no kill request, which depends on the
    tasks alone: no backoff, no runtime limit counts yet)."""

    layout: TaskLayout
    starts: list[TaskDefinition]


def opening(tasks: list[TaskDefinition]) -> Opening:
    """The `Opening` of `tasks`; the scheduler asks once per definition revision.

    Raises:
        CycleError: the tasks have a dependency cycle.
    """
    fresh = ProcessState("", "", _NEVER, tasks)
    return Opening(fresh.layout(), plan(fresh, _NEVER).starts)


def final_status(state: ProcessState) -> ProcessStatus:
    if state.kill_requested:
        return ProcessStatus.FAILED
    for task in state.tasks:
        last = state.last_attempt(task.task_definition_name)
        if last is not None and last.status == TaskStatus.FAILED:
            return ProcessStatus.FAILED
    return ProcessStatus.SUCCEEDED


def _deadline(state: ProcessState, attempt: AttemptRecord) -> datetime | None:
    found = state.find_attempt(attempt.task_id)
    task = state.task(found[0]) if found else None
    return runtime_deadline(task, attempt) if task else None


class _Evaluator:
    """Conditions of every task definition, each computed once, dependencies first."""

    def __init__(self, state: ProcessState, now: datetime) -> None:
        self.state = state
        self.now = now
        layout = state.layout()
        self.tasks = layout.by_name
        self.memo: dict[str, Condition] = {}
        self.backoff_ends: list[datetime] = []
        self.any_pending = False
        for name in layout.order:
            self.memo[name] = self._evaluate(name)
            if self.memo[name] is Condition.PENDING:
                self.any_pending = True

    def condition(self, name: str) -> Condition:
        """The condition of `name`; a name outside this run is DONE."""
        return self.memo.get(name, Condition.DONE)

    def _evaluate(self, name: str) -> Condition:
        task = self.tasks.get(name)
        if task is None:
            return Condition.DONE
        attempts = self.state.attempts_of(name)
        last = attempts[-1] if attempts else None
        if last is not None and last.status == TaskStatus.SUCCEEDED:
            return Condition.DONE
        if self.state.kill_requested or len(attempts) >= task.max_attempts:
            return Condition.DONE
        if last is not None and last.active:
            return Condition.PENDING
        dependencies = self._dependencies(task)
        if dependencies is Condition.DONE:
            return Condition.DONE
        if last is not None and last.ended_at is not None:
            delay = backoff_delay_seconds(task, len(attempts))
            ready_at = add_seconds(last.ended_at, delay)
            if self.now < ready_at:
                self.backoff_ends.append(ready_at)
                return Condition.PENDING
        return dependencies

    def _dependencies(self, task: TaskDefinition) -> Condition:
        result = Condition.ALLOWED
        for dependency in task.dependencies:
            name = dependency.task_definition_name
            if name not in self.tasks:
                continue  # outside the trigger's task filter
            if dependency.success_required:
                condition = self._required(name)
            else:
                condition = self._optional(name)
            if condition is Condition.DONE:
                return Condition.DONE
            if condition is Condition.PENDING:
                result = Condition.PENDING
        return result

    def _required(self, name: str) -> Condition:
        last = self.state.last_attempt(name)
        if last is not None and last.active:
            return Condition.PENDING
        if last is not None and last.status == TaskStatus.SUCCEEDED:
            return Condition.ALLOWED
        own = self.condition(name)
        return Condition.DONE if own is Condition.DONE else Condition.PENDING

    def _optional(self, name: str) -> Condition:
        last = self.state.last_attempt(name)
        if last is not None and last.active:
            return Condition.PENDING
        if last is not None:
            return Condition.ALLOWED
        # Never ran: wait while it still may run; if it never can, do not wait for it.
        own = self.condition(name)
        return Condition.ALLOWED if own is Condition.DONE else Condition.PENDING
