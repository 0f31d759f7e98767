"""Choosing backends: `BACKENDS` maps `settings.executor` to a container backend, and
`make_runner` joins it with the shell backend into one `Runner` that routes by executable kind.

The scheduler sees one runner. `docker_image_command` and `batch_image_command` attempts go to the
configured container backend; `shell_script_command` attempts go to `ShellRunner` only when
`allow_shell` is set, and otherwise fail at once with a reason saying how to enable them.
A backend that raises from `start` or `adopt` (it should report instead) fails those attempts
with `executor error: ...` here, so no task is left `running` by a backend's bug.
The Kubernetes backend is imported only when chosen, so a Docker-only install never loads the
Kubernetes client.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Final, cast

from gnomon.domain.enums import TaskStatus
from gnomon.runner.base import (
    CONTAINER_KINDS,
    EXECUTOR_ERROR,
    SHELL_KIND,
    Attempt,
    AttemptSink,
    AttemptState,
    ExecutorStatus,
    OutputLine,
    Runner,
)
from gnomon.runner.docker import DockerRunner
from gnomon.runner.fake import FakeRunner
from gnomon.runner.shell import ShellRunner
from gnomon.settings import Settings

RunnerFactory = Callable[[Settings, AttemptSink, str], Runner]

SHELL_DISABLED: Final = (
    "shell_script_command tasks are disabled on this Gnomon; "
    "set GNOMON_ALLOW_SHELL=true to run them on its host"
)

log = logging.getLogger(__name__)


def _docker(settings: Settings, sink: AttemptSink, instance: str) -> Runner:
    return DockerRunner(settings, sink, instance=instance)


def _kubernetes(settings: Settings, sink: AttemptSink, instance: str) -> Runner:
    module = importlib.import_module("gnomon.runner.kubernetes")
    return cast(Runner, module.KubernetesRunner(settings, sink, instance=instance))


def _fake(_settings: Settings, sink: AttemptSink, _instance: str) -> Runner:
    return FakeRunner(sink)


BACKENDS: Final[dict[str, RunnerFactory]] = {
    "docker": _docker,
    "kubernetes": _kubernetes,
    "fake": _fake,
}
"""Container backends by `settings.executor` name."""


class CompositeRunner:
    """One `Runner` over several: `start` routes by `attempt.executable.kind`; `kill` goes to the
    runner that started or adopted the task."""

    def __init__(self, runners_by_kind: Mapping[str, Runner], *, sink: AttemptSink | None = None):
        """
        Args:
            runners_by_kind: executable kind (`docker_image_command`, ...) to its runner.
            sink: where an attempt of a kind no runner takes is reported FAILED.
        """
        self._by_kind = dict(runners_by_kind)
        self._runners = list({id(r): r for r in self._by_kind.values()}.values())
        self._sink = sink
        self._owners: dict[str, Runner] = {}
        self._lock = threading.Lock()
        self.name = "+".join(r.name for r in self._runners) or "none"

    @property
    def runners_by_kind(self) -> Mapping[str, Runner]:
        return dict(self._by_kind)

    def start(self, attempt: Attempt) -> None:
        runner = self._route(attempt)
        if runner is None:
            return
        try:
            runner.start(attempt)
        except Exception as exc:
            log.exception("the %s runner failed to start a task", runner.name)
            self._failed([attempt], exc)

    def kill(self, task_id: str, reason: str) -> None:
        with self._lock:
            owner = self._owners.get(task_id)
        for runner in [owner] if owner is not None else self._runners:
            runner.kill(task_id, reason)

    def adopt(self, attempts: Sequence[Attempt]) -> None:
        groups: dict[int, tuple[Runner, list[Attempt]]] = {}
        for attempt in attempts:
            runner = self._route(attempt)
            if runner is not None:
                groups.setdefault(id(runner), (runner, []))[1].append(attempt)
        for runner, group in groups.values():
            try:
                runner.adopt(group)
            except Exception as exc:
                log.exception("the %s runner failed to adopt tasks", runner.name)
                self._failed(group, exc)

    def _failed(self, attempts: Sequence[Attempt], exc: Exception) -> None:
        for attempt in attempts:
            state = AttemptState(attempt.task_id, ExecutorStatus.FAILED, f"{EXECUTOR_ERROR}: {exc}")
            if self._sink is not None:
                self._sink.state_changed(state)

    def healthy(self) -> str | None:
        problems = []
        for runner in self._runners:
            problem = runner.healthy()
            if problem is not None:
                problems.append(f"{runner.name}: {problem}")
        return "; ".join(problems) or None

    def release(self) -> None:
        with self._lock:
            self._owners.clear()
        for runner in self._runners:
            runner.release()

    def close(self) -> None:
        for runner in self._runners:
            try:
                runner.close()
            except Exception:
                log.exception("closing the %s runner failed", runner.name)

    def forget(self, task_id: str) -> None:
        """The task has ended; `kill` no longer needs to know its runner."""
        with self._lock:
            self._owners.pop(task_id, None)

    def _route(self, attempt: Attempt) -> Runner | None:
        kind = attempt.executable.kind
        runner = self._by_kind.get(kind)
        if runner is None:
            reason = SHELL_DISABLED if kind == SHELL_KIND else f"no backend runs {kind} tasks"
            if self._sink is not None:
                self._sink.state_changed(
                    AttemptState(attempt.task_id, ExecutorStatus.FAILED, reason)
                )
            return None
        with self._lock:
            self._owners[attempt.task_id] = runner
        return runner


class _EndWatchingSink:
    """Passes everything on, and tells the composite when a task has ended."""

    def __init__(self, sink: AttemptSink) -> None:
        self._sink = sink
        self.composite: CompositeRunner | None = None

    def state_changed(self, state: AttemptState) -> None:
        self._sink.state_changed(state)
        if state.status.finished and self.composite is not None:
            self.composite.forget(state.task_id)

    def output(self, task_id: str, lines: Sequence[OutputLine]) -> None:
        self._sink.output(task_id, lines)

    def metadata(self, task_id: str, when: datetime, key: str, value: str) -> None:
        self._sink.metadata(task_id, when, key, value)

    def reported(self, task_id: str, status: TaskStatus, reason: str | None) -> None:
        self._sink.reported(task_id, status, reason)


def make_runner(
    settings: Settings,
    sink: AttemptSink,
    *,
    instance: str = "default",
    executor: str | None = None,
) -> CompositeRunner:
    """The runner for these settings: the container backend named by `executor` (default
    `settings.executor`) for container attempts, plus `ShellRunner` when `allow_shell` is set.

    Args:
        settings: the settings every backend reads.
        sink: where states and output go (the scheduler).
        instance: this Gnomon's name on the engine or cluster; only its own objects are adopted.
        executor: a key of `BACKENDS`, overriding `settings.executor`.
    """
    name = str(executor or settings.executor)
    if name not in BACKENDS:
        raise ValueError(f"unknown executor {name!r}; expected one of: {', '.join(BACKENDS)}")
    watched = _EndWatchingSink(sink)
    container = BACKENDS[name](settings, watched, instance)
    by_kind: dict[str, Runner] = dict.fromkeys(CONTAINER_KINDS, container)
    if settings.allow_shell:
        by_kind[SHELL_KIND] = ShellRunner(settings, watched)
    composite = CompositeRunner(by_kind, sink=watched)
    watched.composite = composite
    return composite
