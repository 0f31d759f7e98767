"""Sundial's one-line summary of a task definition in a run, in one place for every reader.

The run page, the notification email and PagerDuty's details all say the same thing about a
task ("Succeeded on docker after 2 attempts", "Failed for reason: exit code 3 after 3 attempts",
"Did not run"), so the wording lives here, below every layer that shows it.
"""

from __future__ import annotations

from typing import Final

DID_NOT_RUN: Final = "did not run"
"""The status of a task definition that has no attempt in a finished run."""


def _attempts(count: int) -> str:
    return f"{count} attempt" if count == 1 else f"{count} attempts"


def task_summary(
    status: str, attempts: int, reason: str | None = None, executor: str | None = None
) -> str:
    """What became of one task definition in a run, as Sundial's pages said it.

    Args:
        status: The latest attempt's status (`running`, `succeeded`, `failed`, `pending`), or
            `did not run` or `waiting` (no attempt yet, or waiting to retry).
        attempts: Attempts made so far, the running one included.
        reason: Why the latest attempt failed, when it did.
        executor: The backend it ran on (`docker`, `kubernetes`, `shell`), when known.

    Returns:
        `Did not run` (also for no attempt at all), `Waiting to start`, `Waiting for a slot`
        (an attempt `pending` under `GNOMON_MAX_RUNNING_TASKS`), `Waiting to retry
        after 1 attempt`, `Running on docker`, `Running on docker (attempt 2)`, `Succeeded on
        docker after 2 attempts`, `Failed for reason: exit code 3 after 3 attempts`, or the
        status itself, capitalised,
        for any other value.
    """
    if status == DID_NOT_RUN or (attempts == 0 and status != "waiting"):
        return "Did not run"
    on = f" on {executor}" if executor else ""
    if status == "succeeded":
        return f"Succeeded{on} after {_attempts(attempts)}"
    if status == "failed":
        why = f" for reason: {reason}" if reason else ""
        return f"Failed{on}{why} after {_attempts(attempts)}"
    if status == "running":
        return f"Running{on}" + (f" (attempt {attempts})" if attempts > 1 else "")
    if status == "pending":
        return "Waiting for a slot" + (f" (attempt {attempts})" if attempts > 1 else "")
    if status == "waiting":
        return f"Waiting to retry after {_attempts(attempts)}" if attempts else "Waiting to start"
    return status[:1].upper() + status[1:]
