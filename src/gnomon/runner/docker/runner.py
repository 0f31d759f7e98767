"""The Docker backend (the default): each attempt is one container on the local engine.

Threads, and why: the docker SDK is blocking, and every `Runner` method must return at once.
- Creating and starting containers, and adoption, run on a small `ThreadPoolExecutor`
  (`workers`, 16 by default). It bounds how many create/start calls hit the engine at once, and a
  slow pull holds one worker, not the runner.
- Each running container has one watcher thread, blocked on the container's follow-mode log
  stream (stdout and stderr demultiplexed from one connection, see `gnomon.runner.docker.logs`).
  The stream ends when the container stops, so the watcher learns of the exit at once, without
  polling and without an events subscription to fan out. The live logs need that blocked reader
  anyway, so a shared events thread would only add a second path to keep consistent.
- A kill runs `stop` (SIGTERM, SIGKILL after the grace period) on a short-lived thread of its own:
  it blocks for up to the grace period and must not delay starts.
Per attempt the engine sees: create, start, logs, wait, remove; an inspect only when the exit code
is not 0 (to tell an OOM kill from an ordinary failure). The outcome is reported before the
container is removed, so the next attempt does not wait for the removal.

Whatever goes wrong while starting or following a container (the engine's refusals, a secret that
cannot be read, a bug here) ends the attempt FAILED with a reason (`executor error: ...` for
the unexpected), so a task never stays `running` because a thread of this runner died. Whichever
thread ends an attempt reports it, once (see `AttemptBook`).

Adoption after a restart: the engine keeps each container's log, and the scheduler says when the
newest line it stored for the attempt was written (`Attempt.output_since`). Whether the container
is still running or ended while Gnomon was away, its log is read again from just after that line,
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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from gnomon.errors import GnomonError
from gnomon.runner.base import (
    EXECUTOR_ERROR,
    GNOMON_SOURCE,
    LOST,
    Attempt,
    AttemptBook,
    AttemptSink,
    AttemptState,
    ExecutorStatus,
    TrackedAttempt,
)
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
from gnomon.runner.output import OutputPump, TaskOutput
from gnomon.settings import Settings

RESUMED_NOTE: Final = (
    "Gnomon restarted; this container's output continues after the last line recorded before"
)
# Stored times have microseconds; the engine's have nanoseconds: resume one microsecond later.
_MICROSECOND: Final = timedelta(microseconds=1)

log = logging.getLogger(__name__)


@dataclass(eq=False, kw_only=True)
class _ContainerAttempt(TrackedAttempt):
    """An attempt and its container; fields change under the book's lock."""

    spec: ContainerSpec
    container_id: str | None = None
    stream: Any = None


class DockerRunner:
    """Runs `docker_image_command` and `batch_image_command` attempts as containers."""

    name = "docker"

    def __init__(
        self,
        settings: Settings,
        sink: AttemptSink,
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
        self._instance = instance
        self._engine = Engine(client)
        self._pump = OutputPump(sink, settings.max_log_lines_per_task)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="gnomon-docker")
        self._book: AttemptBook[_ContainerAttempt] = AttemptBook(sink)
        self._closed = False

    def start(self, attempt: Attempt) -> None:
        tracked = self._track(attempt, secrets=True)
        if tracked is not None:
            self._submit(self._launch, tracked, [tracked])

    def kill(self, task_id: str, reason: str) -> None:
        with self._book.lock:
            tracked = self._book.live(task_id)
            if tracked is None:
                return
            tracked.note_kill(reason)
            container_id = tracked.container_id
        if container_id is not None:
            self._spawn(f"gnomon-stop-{task_id[-8:]}", self._stop, container_id)

    def adopt(self, attempts: Sequence[Attempt]) -> None:
        taken = [t for a in attempts if (t := self._track(a, secrets=False)) is not None]
        self._submit(self._adopt, taken, taken)

    def healthy(self) -> str | None:
        return self._engine.healthy()

    def release(self) -> None:
        """Stop watching every attempt; their containers keep running for the lease holder,
        which adopted them, to collect and remove. A launch not yet begun is dropped: the
        holder found no container for it and reported it lost."""
        for tracked in self._book.release_all():
            if tracked.stream is not None:
                abort(tracked.stream)

    def close(self) -> None:
        """Stop watching (containers keep running and are adopted next time) and stop threads."""
        with self._book.lock:
            self._closed = True
        attempts = self._book.all()
        for tracked in attempts:
            if tracked.stream is not None:
                abort(tracked.stream)
        self._pool.shutdown(wait=True, cancel_futures=True)
        for tracked in attempts:
            for thread in tracked.threads:
                thread.join(timeout=5)
        self._pump.close()
        self._engine.close()

    # -- starting --------------------------------------------------------------------------

    def _submit(self, work: Any, argument: Any, attempts: list[_ContainerAttempt]) -> None:
        try:
            self._pool.submit(work, argument)
        except RuntimeError:  # the pool is shut down: close() was called
            for tracked in attempts:
                self._finish(tracked, ExecutorStatus.FAILED, "not started: the runner is closed")

    def _track(self, attempt: Attempt, *, secrets: bool) -> _ContainerAttempt | None:
        """Take charge of `attempt`; None (after reporting why, if it cannot run)."""
        try:
            spec = container_spec(attempt, self._settings, self._instance, secrets=secrets)
        except (ValueError, GnomonError) as exc:
            self._book.report(AttemptState(attempt.task_id, ExecutorStatus.FAILED, str(exc)))
            return None
        except Exception as exc:
            log.exception("cannot prepare the container", extra={"task_id": attempt.task_id})
            reason = f"{EXECUTOR_ERROR}: {exc}"
            self._book.report(AttemptState(attempt.task_id, ExecutorStatus.FAILED, reason))
            return None
        tracked = _ContainerAttempt(attempt, spec=spec)
        if not self._book.add(tracked):
            log.warning("task is already running here", extra={"task_id": attempt.task_id})
            return None
        return tracked

    def _launch(self, tracked: _ContainerAttempt) -> None:
        try:
            if tracked.released:
                return
            if tracked.kill_reason is None and not self._closed:
                container_id = self._create_and_start(tracked.spec)
            else:
                container_id = None
        except GnomonError as exc:
            self._finish(tracked, ExecutorStatus.FAILED, str(exc))
            return
        except Exception as exc:
            log.exception("could not start a container", extra={"task_id": tracked.task_id})
            reason = f"{EXECUTOR_ERROR}: could not start the container: {exc}"
            self._finish(tracked, ExecutorStatus.FAILED, reason)
            return
        if container_id is None:
            self._finish(tracked, ExecutorStatus.FAILED, "not started: Gnomon is shutting down")
            return
        self._follow_safely(tracked, container_id, since=None, note=None)

    def _follow_safely(
        self,
        tracked: _ContainerAttempt,
        container_id: str,
        since: datetime | None,
        note: str | None,
    ) -> None:
        """`_follow`, and if it breaks, the attempt fails and its container goes."""
        try:
            self._follow(tracked, container_id, since, note)
        except Exception as exc:
            log.exception("cannot follow a container", extra={"task_id": tracked.task_id})
            self._finish(tracked, ExecutorStatus.FAILED, f"{EXECUTOR_ERROR}: {exc}")
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
        self,
        tracked: _ContainerAttempt,
        container_id: str,
        since: datetime | None,
        note: str | None,
    ) -> None:
        """Publish the container id, honour a kill that came early, and start the watcher."""
        with self._book.lock:
            tracked.container_id = container_id
            kill_pending = tracked.kill_reason is not None
            if self._closed or tracked.released:
                return
            thread = threading.Thread(
                target=self._watch,
                args=(tracked, container_id, since, note),
                name=f"gnomon-watch-{tracked.task_id[-8:]}",
                daemon=True,
            )
            tracked.threads.append(thread)
        if since is None and note is None:
            state = AttemptState(tracked.task_id, ExecutorStatus.RUNNING, handle=container_id)
            self._book.report(state)
        if kill_pending:
            self._spawn(f"gnomon-stop-{tracked.task_id[-8:]}", self._stop, container_id)
        thread.start()

    # -- watching and collecting -----------------------------------------------------------

    def _watch(
        self,
        tracked: _ContainerAttempt,
        container_id: str,
        since: datetime | None,
        note: str | None,
    ) -> None:
        """The watcher thread: whatever happens, the attempt ends with one terminal state."""
        output = self._pump.open(tracked.task_id)
        try:
            if note is not None:
                output.add(GNOMON_SOURCE, note)
            self._stream(tracked, container_id, since, output)
            if self._closed or tracked.released:
                output.finish()
                return
            status, reason, details = self._collect(tracked, container_id)
        except GnomonError as exc:
            status, reason, details = ExecutorStatus.FAILED, str(exc), {}
        except Exception as exc:
            log.exception("following a container failed", extra={"task_id": tracked.task_id})
            status, reason, details = ExecutorStatus.FAILED, f"{EXECUTOR_ERROR}: {exc}", {}
        output.finish()
        if self._finish(tracked, status, reason, details):
            self._discard(container_id)

    def _stream(
        self,
        tracked: _ContainerAttempt,
        container_id: str,
        since: datetime | None,
        output: TaskOutput,
    ) -> None:
        response = None
        try:
            response = open_stream(self._engine.api, container_id, since)
            with self._book.lock:
                tracked.stream = response
                closed = self._closed or tracked.released
            if closed:
                abort(response)
            pump(response, output)
        except Exception as exc:  # the outcome is decided by `wait` afterwards
            if not self._closed:
                log.warning("log stream broke: %s", exc, extra={"task_id": tracked.task_id})
        finally:
            with self._book.lock:
                tracked.stream = None
            if response is not None:
                with contextlib.suppress(Exception):
                    response.close()

    def _collect(
        self, tracked: _ContainerAttempt, container_id: str
    ) -> tuple[ExecutorStatus, str | None, dict[str, str]]:
        """The outcome of a stopped container; its `log_paths` files are copied out first."""
        api = self._engine.api
        with map_docker_errors():
            # No timeout: the log stream has ended, so the container has (nearly) stopped.
            code = int(api.wait(container_id, timeout=None)["StatusCode"])
            oom = code != 0 and bool(api.inspect_container(container_id)["State"]["OOMKilled"])
        for path in tracked.spec.log_paths:
            copy_log_paths(api, container_id, path, self._pump.open(tracked.task_id, live=False))
        details = {"exit_code": str(code), "container_id": container_id}
        if tracked.kill_reason is not None:
            return ExecutorStatus.FAILED, tracked.kill_reason, details
        if oom:
            limit = tracked.spec.memory_mb
            reason = "out of memory" if limit is None else f"out of memory (limit {limit} MB)"
            return ExecutorStatus.FAILED, reason, details
        if code == 0:
            return ExecutorStatus.SUCCEEDED, None, details
        return ExecutorStatus.FAILED, f"exit code {code}", details

    # -- adoption --------------------------------------------------------------------------

    def _adopt(self, attempts: list[_ContainerAttempt]) -> None:
        try:
            self._adopt_now(attempts)
        except Exception as exc:
            log.exception("adopting containers failed")
            for tracked in attempts:  # those already resumed are done or followed: no-op
                if tracked.container_id is None:
                    self._finish(tracked, ExecutorStatus.FAILED, f"{EXECUTOR_ERROR}: {exc}")

    def _adopt_now(self, attempts: list[_ContainerAttempt]) -> None:
        try:
            with map_docker_errors():
                # Every Gnomon's containers: a task id is unique across stores, so a container of
                # one of our tasks is ours whatever its instance label (an older Gnomon labelled
                # them all `default`); only containers labelled with our instance are cleaned up.
                found = self._engine.api.containers(
                    all=True, filters={"label": label_filters(None)}
                )
        except GnomonError as exc:
            for tracked in attempts:
                self._finish(tracked, ExecutorStatus.FAILED, str(exc))
            return
        by_task = {c["Labels"].get(LABEL_TASK_ID, ""): c for c in found}
        with self._book.lock:
            orphans = [
                c
                for task, c in by_task.items()
                if self._book.live(task) is None
                and c["Labels"].get(LABEL_INSTANCE) == self._instance
            ]
        for container in orphans:  # first, so that once every attempt is reported, all is done
            self._remove_orphan(container)
        for tracked in attempts:
            container = by_task.get(tracked.task_id)
            if container is None:
                self._finish(tracked, ExecutorStatus.FAILED, LOST)
            else:
                self._resume(tracked, container)

    def _resume(self, tracked: _ContainerAttempt, container: dict[str, Any]) -> None:
        container_id, state = str(container["Id"]), str(container.get("State", ""))
        if state == "created":
            try:
                with map_docker_errors():
                    self._engine.api.start(container_id)
            except GnomonError as exc:
                self._finish(tracked, ExecutorStatus.FAILED, str(exc))
                self._discard(container_id)
                return
            self._follow_safely(tracked, container_id, since=None, note=None)
        else:
            # Output resumes after the last line stored before the restart (the engine keeps the
            # container's log), whether the container is still running or ended meanwhile.
            since = tracked.attempt.output_since
            after = since + _MICROSECOND if since is not None else None
            self._follow_safely(tracked, container_id, since=after, note=RESUMED_NOTE)

    def _remove_orphan(self, container: dict[str, Any]) -> None:
        """A labelled container no attempt owns: stop it; remove it unless finished ones are
        kept."""
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
        tracked: _ContainerAttempt,
        status: ExecutorStatus,
        reason: str | None,
        details: dict[str, str] | None = None,
    ) -> bool:
        """Report the attempt's one terminal state (see `AttemptBook.finish`); False once it is
        released, when its container is not ours to remove."""
        return self._book.finish(
            tracked, status, reason, handle=tracked.container_id, details=details
        )

    @staticmethod
    def _spawn(name: str, target: Any, *args: Any) -> None:
        threading.Thread(target=target, args=args, name=name, daemon=True).start()
