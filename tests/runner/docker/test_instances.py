"""Two Gnomons on one engine: adoption never removes another instance's containers, and finds a
container of one of its own tasks whatever instance label it carries (older Gnomons labelled every
container `default`)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from docker.errors import APIError, NotFound

from gnomon.runner.base import ExecutorStatus
from gnomon.runner.docker.runner import DockerRunner
from gnomon.runner.docker.spec import label_filters
from tests.runner.attempts import container_attempt
from tests.runner.conftest import MakeDockerRunner, runner_settings
from tests.runner.docker.test_adopt import WAIT_FOR_GO, container_of, go, start_all
from tests.runner.recorder import Recorder

pytestmark = pytest.mark.docker


@pytest.fixture
def other_instance(docker_client: Any) -> Iterator[str]:
    """A second instance name on the same engine; its containers are removed after the test."""
    name = f"test-other-{uuid.uuid4().hex[:12]}"
    yield name
    for container in docker_client.containers.list(
        all=True, sparse=True, filters={"label": label_filters(name)}
    ):
        with contextlib.suppress(NotFound, APIError):
            container.remove(force=True)


def test_adoption_leaves_another_instances_running_container_alone(
    make_docker_runner: MakeDockerRunner,
    busybox_image: str,
    docker_client: Any,
    other_instance: str,
) -> None:
    theirs = Recorder()
    neighbour = DockerRunner(
        runner_settings(), theirs, client=docker_client, instance=other_instance
    )
    try:
        attempt = container_attempt(busybox_image, WAIT_FOR_GO, "echo mine")
        start_all(neighbour, theirs, [attempt])
        # This Gnomon starts up and adopts what its own store says is running: nothing.
        make_docker_runner(sink=Recorder()).adopt([])
        go(docker_client, attempt)
        done = theirs.final(attempt.task_id, timeout=15)
        assert (done.status, done.reason) == (ExecutorStatus.SUCCEEDED, None)
        assert theirs.messages(attempt.task_id) == ["mine"]
    finally:
        neighbour.close()


def test_a_container_of_its_own_task_is_adopted_whatever_its_instance_label(
    make_docker_runner: MakeDockerRunner,
    busybox_image: str,
    docker_client: Any,
    other_instance: str,
) -> None:
    before = Recorder()
    earlier = DockerRunner(runner_settings(), before, client=docker_client, instance=other_instance)
    attempt = container_attempt(busybox_image, WAIT_FOR_GO, "echo adopted")
    start_all(earlier, before, [attempt])
    earlier.close()  # as an older Gnomon, with another label, stopped with the attempt running

    after = Recorder()
    make_docker_runner(sink=after).adopt([attempt])
    container_of(docker_client, attempt)  # still there: adopted, not removed
    go(docker_client, attempt)
    done = after.final(attempt.task_id, timeout=15)
    assert (done.status, done.reason) == (ExecutorStatus.SUCCEEDED, None)
    assert "adopted" in after.messages(attempt.task_id)
