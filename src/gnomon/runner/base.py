"""The executor interface: how the scheduler starts, watches, kills and re-adopts jobs.

Runners work like httpx transports: one small protocol, several backends (`docker`,
`kubernetes`, `shell`, `fake`). A runner never touches the store; it tells a `JobSink` what it
learns (state changes, output lines, a job's own verdict), and the scheduler records it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from gnomon.domain.definitions import TaskExecutable
from gnomon.domain.enums import TaskStatus


class ExecutorStatus(StrEnum):
    """What the backend says of an attempt; spelled as Sundial's `execution_state` showed it."""

    INITIALIZING = "Initializing"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"

    @property
    def finished(self) -> bool:
        return self in (ExecutorStatus.SUCCEEDED, ExecutorStatus.FAILED)


@dataclass(frozen=True)
class Job:
    """One attempt to run, with everything a backend needs to start or re-adopt it."""

    task_id: str
    process_id: str
    process_definition_name: str
    task_definition_name: str
    previous_attempts: int
    executable: TaskExecutable
    token: str = field(repr=False)
    """The attempt's own callback token (GNOMON_TASK_TOKEN); never logged."""
    max_runtime_seconds: int | None = None
    output_since: datetime | None = None
    """On adoption: when the newest output line already stored for this attempt was written;
    a backend resumes the job's output after it, so nothing is lost or stored twice."""


@dataclass(frozen=True)
class JobState:
    """A backend's report on an attempt."""

    task_id: str
    status: ExecutorStatus
    reason: str | None = None
    """Why it failed, in words a user understands: "exit code 3", "out of memory", "lost"."""
    handle: str | None = None
    """The backend's name for it: a container id, a Job name, a pid."""
    details: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OutputLine:
    when: datetime
    source: str
    """`stdout`, `stderr`, or `file:<path>` for a copied `log_paths` file."""
    message: str


class JobSink(Protocol):
    """Where a runner reports; implemented by the scheduler, safe to call from any thread."""

    def state_changed(self, state: JobState) -> None: ...

    def output(self, task_id: str, lines: Sequence[OutputLine]) -> None: ...

    def metadata(self, task_id: str, when: datetime, key: str, value: str) -> None: ...

    def reported(self, task_id: str, status: TaskStatus, reason: str | None) -> None:
        """The job's own verdict (the shell protocol's `**status=`), like a succeed/fail call."""
        ...


class Runner(Protocol):
    """A backend. Every method returns promptly; outcomes arrive through the sink."""

    name: str

    def start(self, job: Job) -> None:
        """Start `job`. A failure to start is reported as a FAILED state with its reason."""
        ...

    def kill(self, task_id: str, reason: str) -> None:
        """Stop the attempt (SIGTERM, then SIGKILL after the grace period)."""
        ...

    def adopt(self, jobs: Sequence[Job]) -> None:
        """After a restart: watch `jobs` again, collect the finished ones, report the vanished
        ones FAILED with reason `lost`, and remove backend objects that belong to no job."""
        ...

    def healthy(self) -> str | None:
        """None when the backend can run jobs, else why not (for the healthcheck)."""
        ...

    def release(self) -> None:
        """Another scheduler holds the lease now and has adopted every attempt: stop watching
        them without touching them (no kill, no removal, no report), so that the holder alone
        collects and cleans up. A later `adopt` takes them up again."""
        ...

    def close(self) -> None: ...


def job_environment(job: Job, callback_url: str, user: Mapping[str, str]) -> dict[str, str]:
    """The environment of a job: the user's variables, then Gnomon's, which always win."""
    env = dict(user)
    env.update(
        {
            "GNOMON_URL": callback_url,
            "GNOMON_TASK_ID": job.task_id,
            "GNOMON_PROCESS_ID": job.process_id,
            "GNOMON_TASK_TOKEN": job.token,
            "GNOMON_PROCESS_DEFINITION_NAME": job.process_definition_name,
            "GNOMON_TASK_DEFINITION_NAME": job.task_definition_name,
            "sundial.url": callback_url + "/",
            "SUNDIAL_URL": callback_url + "/",
            "SUNDIAL_TASK_ID": job.task_id,
            "SUNDIAL_PROCESS_ID": job.process_id,
            "SUNDIAL_TASK_PREVIOUS_ATTEMPTS": str(job.previous_attempts),
        }
    )
    return env
