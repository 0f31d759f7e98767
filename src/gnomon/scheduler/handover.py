"""What the executor is given to start one attempt of a run the scheduler tracks."""

from __future__ import annotations

from typing import cast

from gnomon.domain.definitions import TaskDefinition
from gnomon.runner.base import Attempt
from gnomon.scheduler.rules.state import AttemptRecord, ProcessState


def attempt_to_start(
    process: ProcessState, name: str, attempt: AttemptRecord, token: str
) -> Attempt:
    """The executor's `Attempt` for `attempt` of task `name` (one of the run's tasks), which
    runs with callback `token`."""
    task = cast(TaskDefinition, process.task(name))
    return Attempt(
        task_id=attempt.task_id,
        process_id=process.process_id,
        process_definition_name=process.definition_name,
        task_definition_name=name,
        previous_attempts=process.attempts_of(name).index(attempt),
        executable=task.executable,
        token=token,
        max_runtime_seconds=task.max_runtime_seconds,
    )
