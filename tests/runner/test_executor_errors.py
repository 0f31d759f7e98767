"""Any unexpected error while starting or following an attempt fails that attempt with a reason
(`executor error: ...`): it never leaves a task `running` with no reason, as a shell attempt with an
environment variable named `A=B` used to (its runner thread died on ValueError).

The faults are injected at the real boundary: bash refusing an environment, the Docker engine's
client raising midway through a real container's life.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import docker
import pytest

from gnomon.domain.definitions import EnvironmentVariable
from gnomon.runner.base import Attempt, ExecutorStatus
from gnomon.runner.registry import CompositeRunner
from gnomon.runner.shell import ShellRunner
from tests.runner.attempts import container_attempt, shell_attempt
from tests.runner.conftest import MakeDockerRunner
from tests.runner.docker.test_containers import wait_until_gone
from tests.runner.recorder import Recorder


def unchecked(name: str, value: str) -> EnvironmentVariable:
    """A variable as a definition stored before names and values were checked could hold it."""
    return EnvironmentVariable.model_construct(variable_name=name, value=value, value_from=None)


@pytest.mark.parametrize(
    ("name", "value"), [("A=B", "x"), ("NUL", "x\x00y"), ("A\x00B", "x")], ids=str
)
def test_an_environment_bash_cannot_get_fails_the_shell_attempt(
    shell_runner: ShellRunner, recorder: Recorder, name: str, value: str
) -> None:
    attempt = shell_attempt("echo never")
    command = attempt.executable.shell_script_command
    assert command is not None
    command.environment_variables = [unchecked(name, value)]
    shell_runner.start(attempt)
    state = recorder.final(attempt.task_id, timeout=10)
    assert state.status is ExecutorStatus.FAILED
    assert state.reason is not None and state.reason.startswith("executor error: ")
    assert recorder.messages(attempt.task_id) == []


def faulty_client(**faults: Exception) -> Callable[[], Any]:
    """A factory of real engine clients whose low-level calls named in `faults` raise."""

    def make() -> Any:
        client = docker.from_env()
        for method, error in faults.items():

            def fail(*_args: Any, _error: Exception = error, **_kwargs: Any) -> Any:
                raise _error

            setattr(client.api, method, fail)
        return client

    return make


@pytest.mark.docker
def test_a_fault_while_following_a_container_fails_the_attempt(
    make_docker_runner: MakeDockerRunner, recorder: Recorder, busybox_image: str, docker_client: Any
) -> None:
    runner = make_docker_runner(client=faulty_client(wait=RuntimeError("injected")))
    attempt = container_attempt(busybox_image, "echo started")
    runner.start(attempt)
    state = recorder.final(attempt.task_id)
    assert (state.status, state.reason) == (ExecutorStatus.FAILED, "executor error: injected")
    assert recorder.messages(attempt.task_id) == ["started"]
    wait_until_gone(docker_client, attempt.task_id)


@pytest.mark.docker
def test_a_fault_while_starting_a_container_fails_the_attempt(
    make_docker_runner: MakeDockerRunner, recorder: Recorder, busybox_image: str
) -> None:
    runner = make_docker_runner(client=faulty_client(create_host_config=KeyError("injected")))
    attempt = container_attempt(busybox_image, "echo never")
    runner.start(attempt)
    state = recorder.final(attempt.task_id)
    assert state.status is ExecutorStatus.FAILED
    assert state.reason is not None and state.reason.startswith("executor error: ")


class _BrokenRunner:
    """A backend with a bug: `start` raises instead of reporting."""

    name = "broken"

    def start(self, attempt: Attempt) -> None:
        raise RuntimeError("bug in start")

    def kill(self, task_id: str, reason: str) -> None:
        return None

    def adopt(self, attempts: Any) -> None:
        raise RuntimeError("bug in adopt")

    def healthy(self) -> str | None:
        return None

    def release(self) -> None:
        return None

    def close(self) -> None:
        return None


def test_a_backend_that_raises_fails_the_attempt_instead(recorder: Recorder) -> None:
    composite = CompositeRunner({"shell_script_command": _BrokenRunner()}, sink=recorder)
    started, adopted = shell_attempt("true"), shell_attempt("true")
    composite.start(started)
    composite.adopt([adopted])
    assert recorder.final(started.task_id).reason == "executor error: bug in start"
    assert recorder.final(adopted.task_id).reason == "executor error: bug in adopt"
