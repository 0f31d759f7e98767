"""What an attempt's outcome is once its executor says it finished (reference §6.3).

- The executor failed (non-zero exit, OOM, lost, killed): the attempt failed with that reason,
  even if the job had called `succeed`.
- The executor succeeded and the task does not require explicit success: succeeded (a `fail` call
  is ignored, as in Sundial).
- The executor succeeded and the task requires explicit success: the job's first report decides;
  with no report the attempt failed.
"""

from __future__ import annotations

from dataclasses import dataclass

from gnomon.domain.enums import TaskStatus
from gnomon.runner.base import ExecutorStatus

NO_REPORT_REASON = "the job exited without reporting success (require_explicit_success)"


@dataclass(frozen=True)
class Outcome:
    status: TaskStatus
    reason: str | None
    log: str
    """A scheduler log entry explaining the decision."""


def resolve(
    executor: ExecutorStatus,
    executor_reason: str | None,
    *,
    require_explicit_success: bool,
    reported: tuple[TaskStatus, str | None] | None,
) -> Outcome:
    if executor is ExecutorStatus.FAILED:
        reason = executor_reason or "the executor reported a failure"
        return Outcome(
            TaskStatus.FAILED,
            reason,
            f"The underlying executable encountered a fault ({reason}); updating task as failed.",
        )
    if not require_explicit_success:
        return Outcome(TaskStatus.SUCCEEDED, None, "The underlying executable has finished.")
    if reported is None:
        return Outcome(
            TaskStatus.FAILED,
            NO_REPORT_REASON,
            "The underlying executable has finished, but no reported status was found; "
            "updating task as failed.",
        )
    status, reported_reason = reported
    return Outcome(
        status,
        reported_reason,
        f"The underlying executable has finished, and a status of {status.value} was found; "
        "updating task.",
    )
