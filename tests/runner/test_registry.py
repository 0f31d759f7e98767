"""Routing attempts to backends by executable kind."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gnomon.runner.base import LOST, ExecutorStatus
from gnomon.runner.docker.runner import DockerRunner
from gnomon.runner.fake import FakeRunner
from gnomon.runner.registry import BACKENDS, SHELL_DISABLED, CompositeRunner, make_runner
from tests.runner.attempts import container_attempt, make_attempt, shell_attempt
from tests.runner.conftest import runner_settings
from tests.runner.recorder import Recorder


@pytest.fixture
def fake_composite(recorder: Recorder) -> Iterator[CompositeRunner]:
    runner = make_runner(runner_settings(), recorder, executor="fake")
    yield runner
    runner.close()


def containers_of(composite: CompositeRunner) -> FakeRunner:
    runner = composite.runners_by_kind["docker_image_command"]
    assert isinstance(runner, FakeRunner)
    return runner


def test_backends_are_named_by_executor() -> None:
    assert set(BACKENDS) == {"docker", "kubernetes", "fake"}


def test_container_jobs_go_to_the_container_backend_and_scripts_to_the_shell(
    fake_composite: CompositeRunner, recorder: Recorder
) -> None:
    docker_job = container_attempt("repo/app:1", "true")
    batch_job = make_attempt("batch_image_command", image="a", command=["b"], memory=8, vCpus=1)
    script = shell_attempt("echo hi")
    for attempt in (docker_job, batch_job, script):
        fake_composite.start(attempt)
    assert containers_of(fake_composite).started == [docker_job, batch_job]
    assert recorder.final(script.task_id).status is ExecutorStatus.SUCCEEDED
    assert recorder.messages(script.task_id) == ["hi"]
    assert fake_composite.name == "fake+shell"


def test_scripts_fail_at_once_when_shell_is_not_allowed(recorder: Recorder) -> None:
    composite = make_runner(runner_settings(allow_shell=False), recorder, executor="fake")
    attempt = shell_attempt("echo hi")
    composite.start(attempt)
    state = recorder.final(attempt.task_id, timeout=1)
    assert (state.status, state.reason) == (ExecutorStatus.FAILED, SHELL_DISABLED)
    composite.close()


def test_kill_reaches_the_runner_that_started_the_task(
    fake_composite: CompositeRunner, recorder: Recorder
) -> None:
    attempt = container_attempt("repo/app:1", "true")
    fake_composite.start(attempt)
    fake_composite.kill(attempt.task_id, "stop")
    assert containers_of(fake_composite).killed == [(attempt.task_id, "stop")]
    assert recorder.final(attempt.task_id).reason == "stop"


def test_adopt_splits_jobs_by_kind(fake_composite: CompositeRunner, recorder: Recorder) -> None:
    docker_job = container_attempt("repo/app:1", "true")
    script = shell_attempt("echo hi")
    fake_composite.adopt([docker_job, script])
    assert containers_of(fake_composite).adopted == [docker_job]
    assert recorder.final(script.task_id).reason == LOST


def test_health_names_the_backend_with_a_problem(recorder: Recorder) -> None:
    def no_engine() -> Any:
        raise OSError("no socket")

    docker_runner = DockerRunner(runner_settings(), recorder, client=no_engine)
    composite = CompositeRunner({"docker_image_command": docker_runner})
    try:
        assert composite.healthy() == "docker: Docker engine unreachable: no socket"
    finally:
        composite.close()


def test_an_unknown_executor_is_refused(recorder: Recorder) -> None:
    with pytest.raises(ValueError, match="unknown executor 'podman'"):
        make_runner(runner_settings(), recorder, executor="podman")


def test_the_default_executor_is_docker(recorder: Recorder) -> None:
    composite = make_runner(runner_settings(allow_shell=False), recorder)
    try:
        assert isinstance(composite.runners_by_kind["batch_image_command"], DockerRunner)
        assert "shell_script_command" not in composite.runners_by_kind
    finally:
        composite.close()
