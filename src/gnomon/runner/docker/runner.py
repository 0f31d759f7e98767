"""The Docker backend (the default): each attempt is one container on the local engine.

Threads, and why: the docker SDK is blocking, and every `Runner` method must return at once.
- Creating and starting containers, and adoption, run on a small `ThreadPoolExecutor`
  (`workers`, 16 by default). It bounds how many create/start calls hit the engine at once, and a
  slow pull holds one worker, not the runner.
- Each running container has one watcher thread, blocked on the container's follow-mode log
  stream (stdout and stderr demultiplexed from one connection, see `logs`). The stream
  ends when the container stops, so the watcher learns of the exit at once, without polling and
  without an events subscription to fan out. The live logs need that blocked reader anyway, so a
  shared events thread would only add a second path to keep consistent.
- A kill runs `stop` (SIGTERM, SIGKILL after the grace period) on a short-lived thread of its own:
  it blocks for up to the grace period and must not delay starts.
Per attempt the engine sees: create, start, logs, wait, remove; an inspect only when the exit code
is not 0 (to tell an OOM kill from an ordinary failure). The outcome is reported before the
container is removed, so the next job does not wait for the removal.

Whatever goes wrong while starting or following a container (the engine's refusals, a secret that
cannot be read, a bug here) ends the attempt FAILED with a reason (`executor error: ...` for
the unexpected), so a task never stays `running` because a thread of this runner died.

Adoption after a restart: the engine keeps each container's log, and the scheduler says when the
newest line it stored for the attempt was written (`Job.output_since`). Whether the container is
still running or ended while Gnomon was away, its log is read again from just after that line,
so nothing written while nobody watched is lost and nothing is stored twice; a `gnomon` line
marks the resumption.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from gnomon.errors import GnomonError
from gnomon.runner.base import ExecutorStatus, Job, JobSink, JobState
from gnomon.runner.docker.engine import ClientSource, Engine, map_docker_errors
from gnomon.runner.docker.logs import abort, copy_log_paths, open_stream, pump
from gnomon.runner.docker.spec import (
    LABEL_INSTANCE,
    LABEL_TASK_ID,
    ContainerSpec,
    container_spec,
    host_config_arguments,
    label_filters,
)
from gnomon.runner.output import GNOMON_SOURCE, OutputPump, TaskOutput
from gnomon.settings import Settings

RESUMED_NOTE: Final = (
    "Gnomon restarted; this container's output continues after the last line recorded before"
)
# Stored times have microseconds; the engine's have nanoseconds: resume one microsecond later.
_MICROSECOND: Final = timedelta(microseconds=1)
LOST: Final = "lost"
EXECUTOR_ERROR: Final = "executor error"

log = logging.getLogger(__name__)


@dataclass(eq=False)
class _Attempt:
    """One attempt this runner is responsible for; fields change under the runner's lock."""

    job: Job
    spec: ContainerSpec
    container_id: str | None = None
    kill_reason: str | None = None
    stream: Any = None
    threads: list[threading.Thread] = field(default_factory=list)
    done: bool = False
    released: bool = False
    """Another scheduler has it now: nothing more is started, reported or removed for it."""


class DockerRunner:
    """Runs `docker_image_command` and `batch_image_command` jobs as containers."""

    name = "docker"

    def __init__(
        self,
        settings: Settings,
        sink: JobSink,
        *,
        client: ClientSource | None = None,
        instance: str = "default",
        workers: int = 16,
    ) -> None:
        """
        Args:
            settings: network, pull policy, grace period, log bound, keep_containers.
            sink: where states and output go.
            client: a `docker.DockerClient`, or a function making one (called on first use and
                again while it fails); default `docker.from_env()`.
            instance: this Gnomon's name on the engine (a label on its containers): adoption
                removes only unknown containers with this label, and finds a container of one
                of its tasks whatever label it carries.
            workers: threads for create/start/adopt calls.
        """
        self._settings = settings
        self._sink = sink
        self._instance = instance
        self._engine = Engine(client)
        self._pump = OutputPump(sink, settings.max_log_lines_per_task)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="gnomon-docker")
        self._attempts: dict[str, _Attempt] = {}
        self._lock = threading.Lock()
        self._closed = False

    def start(self, job: Job) -> None:
        attempt = self._track(job, secrets=True)
        if attempt is not None:
            self._submit(self._launch, attempt, [attempt])

    def kill(self, task_id: str, reason: str) -> None:
        with self._lock:
            attempt = self._attempts.get(task_id)
            if attempt is None or attempt.done:
                return
            attempt.kill_reason = attempt.kill_reason or reason
            container_id = attempt.container_id
        if container_id is not None:
            self._spawn(f"gnomon-stop-{task_id[:8]}", self._stop, container_id)

    def adopt(self, jobs: Sequence[Job]) -> None:
        attempts = [a for job in jobs if (a := self._track(job, secrets=False)) is not None]
        self._submit(self._adopt, attempts, attempts)

    def healthy(self) -> str | None:
        return self._engine.healthy()

    def release(self) -> None:
        """Stop watching every attempt; their containers keep running for the lease holder,
        which adopted them, to collect and remove. A launch not yet begun is dropped: the
        holder found no container for it and reported it lost."""
        with self._lock:
            attempts = list(self._attempts.values())
            self._attempts.clear()
            for attempt in attempts:
                attempt.released = True
        for attempt in attempts:
            if attempt.stream is not None:
                abort(attempt.stream)

    def close(self) -> None:
        """Stop watching (containers keep running and are adopted next time) and stop threads."""
        with self._lock:
            self._closed = True
            attempts = list(self._attempts.values())
        for attempt in attempts:
            if attempt.stream is not None:
                abort(attempt.stream)
        self._pool.shutdown(wait=True, cancel_futures=True)
        for attempt in attempts:
            for thread in attempt.threads:
                thread.join(timeout=5)
        self._pump.close()
        self._engine.close()

    # -- starting --------------------------------------------------------------------------

    def _submit(self, work: Any, argument: Any, attempts: list[_Attempt]) -> None:
        try:
            self._pool.submit(work, argument)
        except RuntimeError:  # the pool is shut down: close() was called
            for attempt in attempts:
                self._finish(attempt, ExecutorStatus.FAILED, "not started: the runner is closed")

    def _track(self, job: Job, *, secrets: bool) -> _Attempt | None:
        """Take charge of `job`; None (after reporting why, if it cannot run)."""
        try:
            spec = container_spec(job, self._settings, self._instance, secrets=secrets)
        except (ValueError, GnomonError) as exc:
            self._report(JobState(job.task_id, ExecutorStatus.FAILED, reason=str(exc)))
            return None
        except Exception as exc:
            log.exception("cannot prepare the container", extra={"task_id": job.task_id})
            reason = f"{EXECUTOR_ERROR}: {exc}"
            self._report(JobState(job.task_id, ExecutorStatus.FAILED, reason=reason))
            return None
        with self._lock:
            if job.task_id in self._attempts:
                log.warning("task is already running here", extra={"task_id": job.task_id})
                return None
            attempt = _Attempt(job, spec)
            self._attempts[job.task_id] = attempt
            return attempt

    def _launch(self, attempt: _Attempt) -> None:
        try:
            if attempt.released:
                return
            if attempt.kill_reason is None and not self._closed:
                container_id = self._create_and_start(attempt.spec)
            else:
                container_id = None
        except GnomonError as exc:
            self._finish(attempt, ExecutorStatus.FAILED, str(exc))
            return
        except Exception as exc:
            log.exception("could not start a container", extra={"task_id": attempt.job.task_id})
            reason = f"{EXECUTOR_ERROR}: could not start the container: {exc}"
            self._finish(attempt, ExecutorStatus.FAILED, reason)
            return
        if container_id is None:
            self._finish(attempt, ExecutorStatus.FAILED, "not started: Gnomon is shutting down")
            return
        self._follow_safely(attempt, container_id, since=None, note=None)

    def _follow_safely(
        self, attempt: _Attempt, container_id: str, since: datetime | None, note: str | None
    ) -> None:
        """`_follow`, and if it breaks, the attempt fails and its container goes."""
        try:
            self._follow(attempt, container_id, since, note)
        except Exception as exc:
            log.exception("cannot follow a container", extra={"task_id": attempt.job.task_id})
            self._finish(attempt, ExecutorStatus.FAILED, f"{EXECUTOR_ERROR}: {exc}")
            self._discard(container_id)

    def _create_and_start(self, spec: ContainerSpec) -> str:
        max_nano_cpus = self._engine.max_nano_cpus() if spec.nano_cpus is not None else None
        network = self._settings.docker_network
        with map_docker_errors():
            host_config = self._engine.api.create_host_config(
                **host_config_arguments(spec, network, max_nano_cpus)
            )
        container_id = self._engine.create(
            spec.image,
            spec.tag,
            self._settings.pull_policy,
            command=spec.command,
            name=spec.name,
            environment=spec.environment,
            labels=spec.labels,
            host_config=host_config,
        )
        try:
            with map_docker_errors():
                self._engine.api.start(container_id)
        except GnomonError:
            self._discard(container_id)
            raise
        return container_id

    def _follow(
        self, attempt: _Attempt, container_id: str, since: datetime | None, note: str | None
    ) -> None:
        """Publish the container id, honour a kill that came early, and start the watcher."""
        with self._lock:
            attempt.container_id = container_id
            kill_pending = attempt.kill_reason is not None
            if self._closed or attempt.released:
                return
            thread = threading.Thread(
                target=self._watch,
                args=(attempt, container_id, since, note),
                name=f"gnomon-watch-{attempt.job.task_id[:8]}",
                daemon=True,
            )
            attempt.threads.append(thread)
        if since is None and note is None:
            state = JobState(attempt.job.task_id, ExecutorStatus.RUNNING, handle=container_id)
            self._report(state)
        if kill_pending:
            self._spawn(f"gnomon-stop-{attempt.job.task_id[:8]}", self._stop, container_id)
        thread.start()

    # -- watching and collecting -----------------------------------------------------------

    def _watch(
        self, attempt: _Attempt, container_id: str, since: datetime | None, note: str | None
    ) -> None:
        """The watcher thread: whatever happens, the attempt ends with one terminal state."""
        output = self._pump.open(attempt.job.task_id)
        try:
            if note is not None:
                output.add(GNOMON_SOURCE, note)
            self._stream(attempt, container_id, since, output)
            if self._closed or attempt.released:
                output.finish()
                return
            status, reason, details = self._collect(attempt, container_id)
        except GnomonError as exc:
            status, reason, details = ExecutorStatus.FAILED, str(exc), {}
        except Exception as exc:
            log.exception("following a container failed", extra={"task_id": attempt.job.task_id})
            status, reason, details = ExecutorStatus.FAILED, f"{EXECUTOR_ERROR}: {exc}", {}
        output.finish()
        if self._finish(attempt, status, reason, details):
            self._discard(container_id)

    def _stream(
        self, attempt: _Attempt, container_id: str, since: datetime | None, output: TaskOutput
    ) -> None:
        response = None
        try:
            response = open_stream(self._engine.api, container_id, since)
            with self._lock:
                attempt.stream = response
                closed = self._closed or attempt.released
            if closed:
                abort(response)
            pump(response, output)
        except Exception as exc:  # the outcome is decided by `wait` afterwards
            if not self._closed:
                log.warning("log stream broke: %s", exc, extra={"task_id": attempt.job.task_id})
        finally:
            with self._lock:
                attempt.stream = None
            if response is not None:
                with contextlib.suppress(Exception):
                    response.close()

    def _collect(
        self, attempt: _Attempt, container_id: str
    ) -> tuple[ExecutorStatus, str | None, dict[str, str]]:
        """The outcome of a stopped container; its `log_paths` files are copied out first."""
        api = self._engine.api
        with map_docker_errors():
            # No timeout: the log stream has ended, so the container has (nearly) stopped.
            code = int(api.wait(container_id, timeout=None)["StatusCode"])
            oom = code != 0 and bool(api.inspect_container(container_id)["State"]["OOMKilled"])
        for path in attempt.spec.log_paths:
            copy_log_paths(
                api, container_id, path, self._pump.open(attempt.job.task_id, live=False)
            )
        details = {"exit_code": str(code), "container_id": container_id}
        if attempt.kill_reason is not None:
            return ExecutorStatus.FAILED, attempt.kill_reason, details
        if oom:
            limit = attempt.spec.memory_mb
            reason = "out of memory" if limit is None else f"out of memory (limit {limit} MB)"
            return ExecutorStatus.FAILED, reason, details
        if code == 0:
            return ExecutorStatus.SUCCEEDED, None, details
        return ExecutorStatus.FAILED, f"exit code {code}", details

    # -- adoption --------------------------------------------------------------------------

    def _adopt(self, attempts: list[_Attempt]) -> None:
        try:
            self._adopt_now(attempts)
        except Exception as exc:
            log.exception("adopting containers failed")
            for attempt in attempts:  # those already resumed are done or followed: no-op
                if attempt.container_id is None:
                    self._finish(attempt, ExecutorStatus.FAILED, f"{EXECUTOR_ERROR}: {exc}")

    def _adopt_now(self, attempts: list[_Attempt]) -> None:
        try:
            with map_docker_errors():
                # Every Gnomon's containers: a task id is unique across stores, so a container of
                # one of our tasks is ours whatever its instance label (an older Gnomon labelled
                # them all `default`); only containers labelled with our instance are cleaned up.
                found = self._engine.api.containers(
                    all=True, filters={"label": label_filters(None)}
                )
        except GnomonError as exc:
            for attempt in attempts:
                self._finish(attempt, ExecutorStatus.FAILED, str(exc))
            return
        by_task = {c["Labels"].get(LABEL_TASK_ID, ""): c for c in found}
        with self._lock:
            orphans = [
                c
                for task, c in by_task.items()
                if task not in self._attempts and c["Labels"].get(LABEL_INSTANCE) == self._instance
            ]
        for container in orphans:  # first, so that once every job is reported, all is done
            self._remove_orphan(container)
        for attempt in attempts:
            container = by_task.get(attempt.job.task_id)
            if container is None:
                self._finish(attempt, ExecutorStatus.FAILED, LOST)
            else:
                self._resume(attempt, container)

    def _resume(self, attempt: _Attempt, container: dict[str, Any]) -> None:
        container_id, state = str(container["Id"]), str(container.get("State", ""))
        if state == "created":
            try:
                with map_docker_errors():
                    self._engine.api.start(container_id)
            except GnomonError as exc:
                self._finish(attempt, ExecutorStatus.FAILED, str(exc))
                self._discard(container_id)
                return
            self._follow_safely(attempt, container_id, since=None, note=None)
        else:
            # Output resumes after the last line stored before the restart (the engine keeps the
            # container's log), whether the container is still running or ended meanwhile.
            since = attempt.job.output_since
            after = since + _MICROSECOND if since is not None else None
            self._follow_safely(attempt, container_id, since=after, note=RESUMED_NOTE)

    def _remove_orphan(self, container: dict[str, Any]) -> None:
        """A labelled container no job owns: stop it; remove it unless finished ones are kept."""
        finished = container.get("State") in ("created", "exited", "dead")
        if not finished or not self._settings.keep_containers:
            log.info("removing orphan container %s", container.get("Names"))
            self._engine.remove(str(container["Id"]))

    # -- helpers ---------------------------------------------------------------------------

    def _stop(self, container_id: str) -> None:
        self._engine.stop(container_id, math.ceil(self._settings.kill_grace_seconds))

    def _discard(self, container_id: str) -> None:
        if not self._settings.keep_containers:
            self._engine.remove(container_id)

    def _finish(
        self,
        attempt: _Attempt,
        status: ExecutorStatus,
        reason: str | None,
        details: dict[str, str] | None = None,
    ) -> bool:
        """Report the attempt's one terminal state (a kill's reason wins over how it ended).
        False, reporting nothing, once the attempt is released: its container is not ours to
        remove then."""
        with self._lock:
            if attempt.released:
                return False
            if attempt.done:
                return True
            attempt.done = True
            self._attempts.pop(attempt.job.task_id, None)
            if attempt.kill_reason is not None and status is ExecutorStatus.FAILED:
                reason = attempt.kill_reason
        state = JobState(
            attempt.job.task_id,
            status,
            reason=reason,
            handle=attempt.container_id,
            details=details or {},
        )
        self._report(state)
        return True

    def _report(self, state: JobState) -> None:
        try:
            self._sink.state_changed(state)
        except Exception:
            log.exception("the sink rejected a state", extra={"task_id": state.task_id})

    @staticmethod
    def _spawn(name: str, target: Any, *args: Any) -> None:
        threading.Thread(target=target, args=args, name=name, daemon=True).start()
