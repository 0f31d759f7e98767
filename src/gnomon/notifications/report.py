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

from gnomon.domain import DID_NOT_RUN, LogEntry, task_summary
from gnomon.domain.enums import ProcessStatus

TaskOutcome = Literal["succeeded", "failed", "did not run"]
TASK_OUTCOMES: Final = ("succeeded", "failed", DID_NOT_RUN)

LOG_TAIL_LINES: Final = 20
"""Lines of a failed task's final attempt that an email quotes."""
LOG_TAIL_CHARS: Final = 500
"""Characters of each quoted line; a longer one is cut (the run page has it whole)."""
LOG_TAIL_TASKS: Final = 10
"""Failed tasks whose lines an email quotes; the others are left to the run page."""


@dataclass(frozen=True)
class TaskReport:
    """The final state of one task definition inside a finished run.

    Attributes:
        task_definition_name: The task's name in the definition.
        status: `succeeded`, `failed` or `did not run`.
        attempts: Attempts made, the first included (0 when it did not run).
        reason: Why the last attempt failed (e.g. `exit code 2`), if it failed.
        duration_seconds: Wall time of the last attempt, when known.
        log_tail: The last lines of the final attempt's log, oldest first; None when they
            were not read (the task did not fail, or the email quotes enough tasks already).
    """

    task_definition_name: str
    status: TaskOutcome
    attempts: int
    reason: str | None = None
    duration_seconds: float | None = None
    log_tail: tuple[LogEntry, ...] | None = None

    def __post_init__(self) -> None:
        if self.status not in TASK_OUTCOMES:
            raise ValueError(f"task status must be one of {TASK_OUTCOMES}, not {self.status!r}")
        if self.attempts < 0:
            raise ValueError("attempts must not be negative")

    def summary(self) -> str:
        """Sundial's line: `Failed for reason: exit code 2 after 3 attempts` (`task_summary`)."""
        return task_summary(self.status, self.attempts, self.reason)


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
        site_url: Where people and programs reach this Gnomon (the public URL); links to the
            run start with it.
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
    site_url: str
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
    def page_url(self) -> str:
        """The run's page in the web UI, where every link for people points."""
        return f"{self.site_url.rstrip('/')}/processes/{self.process_id}"

    @property
    def api_url(self) -> str:
        """The run as Sundial JSON (`GET /api/processes/<id>`), for programs."""
        return f"{self.site_url.rstrip('/')}/api/processes/{self.process_id}"

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
