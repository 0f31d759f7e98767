"""The executor interface, and what every backend shares.

Runners work like httpx transports: one small protocol, several backends (`docker`,
`kubernetes`, `shell`, `fake`). A runner never touches the store; it tells an `AttemptSink` what
it learns (state changes, output lines, a job's own verdict), and the scheduler records it.

Besides the protocol, this module holds the words every backend must agree on (the executable
kinds, the `lost` and `executor error` reasons, the names of output sources, the environment of
a job) and `AttemptBook`, the bookkeeping of the backends that follow each attempt on threads of
their own (Docker and shell).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final, Generic, Protocol, TypeVar

from gnomon.domain.definitions import TaskExecutable
from gnomon.domain.enums import TaskStatus

CONTAINER_KINDS: Final = ("docker_image_command", "batch_image_command")
"""The executables that run in a container, on the Docker or the Kubernetes backend."""
SHELL_KIND: Final = "shell_script_command"
"""The executable that runs as a bash script on Gnomon's own host."""

LOST: Final = "lost"
"""The reason of an attempt whose container, Job or process is gone after a restart."""
EXECUTOR_ERROR: Final = "executor error"
"""How the reason of an attempt ended by an unexpected error of its backend begins."""

STDOUT: Final = "stdout"
STDERR: Final = "stderr"
GNOMON_SOURCE: Final = "gnomon"
"""The source of the lines Gnomon adds to an attempt's output (dropped lines, a resumption)."""
FILE_SOURCE_PREFIX: Final = "file:"

log = logging.getLogger(__name__)


def file_source(path: str) -> str:
    """The source of a line copied from the `log_paths` file `path`."""
    return FILE_SOURCE_PREFIX + path


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
class Attempt:
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
class AttemptState:
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
    """One line of an attempt's output."""

    when: datetime
    source: str
    """`stdout`, `stderr`, `gnomon`, or `file:<path>` for a copied `log_paths` file."""
    message: str


class AttemptSink(Protocol):
    """Where a runner reports; implemented by the scheduler, safe to call from any thread."""

    def state_changed(self, state: AttemptState) -> None: ...

    def output(self, task_id: str, lines: Sequence[OutputLine]) -> None: ...

    def metadata(self, task_id: str, when: datetime, key: str, value: str) -> None: ...

    def reported(self, task_id: str, status: TaskStatus, reason: str | None) -> None:
        """The job's own verdict (the shell protocol's `**status=`), like a succeed/fail call."""
        ...


class Runner(Protocol):
    """A backend. Every method returns promptly; outcomes arrive through the sink."""

    name: str

    def start(self, attempt: Attempt) -> None:
        """Start `attempt`. A failure to start is reported as a FAILED state with its reason."""
        ...

    def kill(self, task_id: str, reason: str) -> None:
        """Stop the attempt (SIGTERM, then SIGKILL after the grace period)."""
        ...

    def adopt(self, attempts: Sequence[Attempt]) -> None:
        """After a restart: watch `attempts` again, collect the finished ones, report the
        vanished ones FAILED with reason `lost`, and remove backend objects that belong to no
        attempt."""
        ...

    def healthy(self) -> str | None:
        """None when the backend can run attempts, else why not (for the healthcheck)."""
        ...

    def release(self) -> None:
        """Another scheduler holds the lease now and has adopted every attempt: stop watching
        them without touching them (no kill, no removal, no report), so that the holder alone
        collects and cleans up. A later `adopt` takes them up again."""
        ...

    def close(self) -> None: ...


def attempt_environment(
    attempt: Attempt, callback_url: str, user: Mapping[str, str]
) -> dict[str, str]:
    """The environment of a job: the user's variables, then Gnomon's, which always win."""
    env = dict(user)
    env.update(
        {
            "GNOMON_URL": callback_url,
            "GNOMON_TASK_ID": attempt.task_id,
            "GNOMON_PROCESS_ID": attempt.process_id,
            "GNOMON_TASK_TOKEN": attempt.token,
            "GNOMON_PROCESS_DEFINITION_NAME": attempt.process_definition_name,
            "GNOMON_TASK_DEFINITION_NAME": attempt.task_definition_name,
            "sundial.url": callback_url + "/",
            "SUNDIAL_URL": callback_url + "/",
            "SUNDIAL_TASK_ID": attempt.task_id,
            "SUNDIAL_PROCESS_ID": attempt.process_id,
            "SUNDIAL_TASK_PREVIOUS_ATTEMPTS": str(attempt.previous_attempts),
        }
    )
    return env


@dataclass(eq=False)
class TrackedAttempt:
    """An attempt a runner has taken charge of. Its fields change under its `AttemptBook`'s
    lock; a backend keeps what else it needs (a container id, a process) in a subclass."""

    attempt: Attempt
    kill_reason: str | None = None
    """Why it was killed; the first kill's reason is the one reported."""
    done: bool = False
    """Its terminal state has been reported."""
    released: bool = False
    """Another scheduler has it now: nothing more is started, reported or removed for it."""
    threads: list[threading.Thread] = field(default_factory=list)

    @property
    def task_id(self) -> str:
        return self.attempt.task_id

    def note_kill(self, reason: str) -> bool:
        """Record a kill (with the book's lock held); False if one came before, whose reason
        stays the one reported."""
        if self.kill_reason is not None:
            return False
        self.kill_reason = reason
        return True


Tracked = TypeVar("Tracked", bound=TrackedAttempt)


class AttemptBook(Generic[Tracked]):
    """The attempts of a runner that follows each one on threads of its own, and the one rule
    for ending them: exactly one terminal state per attempt, decided under the lock, and a kill's
    reason wins over however the attempt ended.

    Whichever thread ends an attempt first (its process exited, it could not start, a watcher
    broke) reports it; later ones report nothing. `lock` also guards the fields a backend adds.
    """

    def __init__(self, sink: AttemptSink) -> None:
        self.lock = threading.Lock()
        self._sink = sink
        self._tracked: dict[str, Tracked] = {}

    def add(self, tracked: Tracked) -> bool:
        """Take charge of `tracked`; False, changing nothing, if its task is here already."""
        with self.lock:
            if tracked.task_id in self._tracked:
                return False
            self._tracked[tracked.task_id] = tracked
            return True

    def live(self, task_id: str) -> Tracked | None:
        """The attempt of `task_id` unless it has ended; call it with `lock` held."""
        tracked = self._tracked.get(task_id)
        return None if tracked is None or tracked.done else tracked

    def all(self) -> list[Tracked]:
        with self.lock:
            return list(self._tracked.values())

    def release_all(self) -> list[Tracked]:
        """Let every attempt go (another scheduler has them now); ending one reports nothing."""
        with self.lock:
            released = list(self._tracked.values())
            self._tracked.clear()
            for tracked in released:
                tracked.released = True
        return released

    def finish(
        self,
        tracked: Tracked,
        status: ExecutorStatus,
        reason: str | None,
        *,
        handle: str | None = None,
        details: Mapping[str, str] | None = None,
    ) -> bool:
        """Report the attempt's terminal state unless one was reported already (True then too),
        or the attempt was released (False: it is not this runner's to report or clean up).
        A killed attempt fails with the kill's reason, however it ended."""
        with self.lock:
            if tracked.released:
                return False
            if tracked.done:
                return True
            tracked.done = True
            self._tracked.pop(tracked.task_id, None)
            if tracked.kill_reason is not None:
                status, reason = ExecutorStatus.FAILED, tracked.kill_reason
        self.report(AttemptState(tracked.task_id, status, reason, handle, dict(details or {})))
        return True

    def report(self, state: AttemptState) -> None:
        """Tell the sink; a sink that raises is logged, never a reason to stop following."""
        try:
            self._sink.state_changed(state)
        except Exception:
            log.exception("the sink rejected a state", extra={"task_id": state.task_id})
