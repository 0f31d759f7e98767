"""What a notification says about a finished run, independent of where the run's data came from.

The scheduler builds one `RunReport` per finished process (killed ones included, as Sundial did)
and hands it to the notifier. Every channel renders the same report, so an email, a webhook body
and a PagerDuty event never disagree about what happened. Keeping it a plain frozen value (no
store sessions, no ORM rows) lets deliveries run on a background thread long after the
scheduler's transaction has ended.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal
from uuid import UUID

from gnomon.domain.enums import ProcessStatus

TaskOutcome = Literal["succeeded", "failed", "did not run"]
TASK_OUTCOMES: Final = ("succeeded", "failed", "did not run")


@dataclass(frozen=True)
class TaskReport:
    """The final state of one task definition inside a finished run.

    Attributes:
        task_definition_name: The task's name in the definition.
        status: `succeeded`, `failed` or `did not run`.
        attempts: Attempts made, the first included (0 when it did not run).
        reason: Why the last attempt failed (e.g. `exit code 2`), if it failed.
        duration_seconds: Wall time of the last attempt, when known.
    """

    task_definition_name: str
    status: TaskOutcome
    attempts: int
    reason: str | None = None
    duration_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.status not in TASK_OUTCOMES:
            raise ValueError(f"task status must be one of {TASK_OUTCOMES}, not {self.status!r}")
        if self.attempts < 0:
            raise ValueError("attempts must not be negative")

    def summary(self) -> str:
        """One line for people: `failed after 3 attempts: exit code 2`."""
        if self.status == "did not run":
            return "did not run"
        noun = "attempt" if self.attempts == 1 else "attempts"
        text = f"{self.status} after {self.attempts} {noun}"
        if self.status == "failed" and self.reason:
            text += f": {self.reason}"
        return text


@dataclass(frozen=True)
class RunReport:
    """A finished process, as every notification channel describes it.

    Attributes:
        process_definition_name: The definition the run belongs to.
        process_id: The run's id.
        status: `succeeded` or `failed` (a killed run is `failed` with `killed=True`).
        started_at: When the run started, aware UTC.
        ended_at: When it finished, aware UTC.
        previous_status: Outcome of the previous *finished* run of the same definition;
            None for the first run.
        recent_statuses: Outcomes of the latest finished runs, newest first, this run
            included; at least `statuses_needed(...)` of them (see `gnomon.notifications`),
            fewer only when the definition has not run that often.
        tasks: One entry per task definition.
        run_url: Link to the run, e.g. `<public url>/api/processes/<id>`.
        killed: Whether the run ended because it was killed.
    """

    process_definition_name: str
    process_id: UUID
    status: ProcessStatus
    started_at: datetime
    ended_at: datetime
    previous_status: ProcessStatus | None
    recent_statuses: Sequence[ProcessStatus]
    tasks: Sequence[TaskReport]
    run_url: str
    killed: bool = False

    def __post_init__(self) -> None:
        if self.status == ProcessStatus.RUNNING:
            raise ValueError("a RunReport describes a finished run; status must not be running")
        for name in ("started_at", "ended_at"):
            if getattr(self, name).tzinfo is None:
                raise ValueError(f"{name} must be an aware datetime")
        if not self.recent_statuses or self.recent_statuses[0] != self.status:
            raise ValueError("recent_statuses must start with this run's own status")

    @property
    def succeeded(self) -> bool:
        return self.status == ProcessStatus.SUCCEEDED

    @property
    def duration_seconds(self) -> float:
        """Wall time of the run, never negative."""
        return max(0.0, (self.ended_at - self.started_at).total_seconds())

    @property
    def outcome(self) -> str:
        """`succeeded`, `failed` or `killed`, for people."""
        if self.killed:
            return "killed"
        return self.status.value


def task_summary(
    status: str, attempts: int, *, reason: str | None = None, executor: str | None = None
) -> str:
    """Sundial's line for a task definition in a run, for people.

    `Succeeded on docker after 2 attempts`, `Failed on docker for reason: exit code 3 after 3
    attempts`, `Running on docker (attempt 2)`, `Waiting to retry after 1 attempt`, `Did not run`.

    Args:
        status: The latest attempt's status (`succeeded`, `failed`, `running`), `waiting` for
            a task that will still start, or `did not run`.
        attempts: Attempts made so far, the first included.
        reason: Why the latest attempt failed, if it did.
        executor: Where it ran (`docker`, `kubernetes`, `shell`), when known.
    """
    if status == "did not run" or (attempts == 0 and status != "waiting"):
        return "Did not run"
    on = f" on {executor}" if executor else ""
    made = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    if status == "running":
        return f"Running{on} (attempt {attempts})"
    if status == "waiting":
        return f"Waiting to retry after {made}" if attempts else "Waiting to start"
    if status == "failed" and reason:
        return f"Failed{on} for reason: {reason} after {made}"
    return f"{status.capitalize()}{on} after {made}"


def format_duration(seconds: float) -> str:
    """`1h 2m 3s`, `4m 5s`, `6s`, or `0.4s` for sub-second runs."""
    if seconds < 1:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m {secs}s"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"
