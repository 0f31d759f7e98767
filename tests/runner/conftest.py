"""Fixtures for the runner tests: a recording sink, Docker runners on the real engine (each test
with its own instance label, so tests never see each other's containers), and shell runners.

Every runner made here is closed after its test, and every container of the test's instance is
removed, whatever the test left behind.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from docker.errors import APIError, NotFound

from gnomon.runner.docker.runner import DockerRunner
from gnomon.runner.docker.spec import label_filters
from gnomon.runner.shell import ShellRunner
from gnomon.settings import Settings
from tests import images
from tests.runner.recorder import Recorder

docker_client = images.docker_client
busybox_image = images.busybox_image

MakeDockerRunner = Callable[..., DockerRunner]


def runner_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": "sqlite://",
        "kill_grace_seconds": 1.0,
        "allow_shell": True,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def instance(docker_client: Any) -> Iterator[str]:
    """A fresh instance name; its containers are removed after the test."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    for container in docker_client.containers.list(
        all=True, sparse=True, filters={"label": label_filters(name)}
    ):
        with contextlib.suppress(NotFound, APIError):  # the runner may be removing it already
            container.remove(force=True)


@pytest.fixture
def make_docker_runner(
    docker_client: Any, busybox_image: str, instance: str, recorder: Recorder
) -> Iterator[MakeDockerRunner]:
    """Makes DockerRunners on the real engine (with the test image built):
    `make_docker_runner(sink=..., client=..., **settings)`."""
    assert busybox_image
    made: list[DockerRunner] = []

    def make(sink: Recorder | None = None, client: Any = None, **overrides: Any) -> DockerRunner:
        runner = DockerRunner(
            runner_settings(**overrides),
            sink or recorder,
            client=client or docker_client,
            instance=instance,
        )
        made.append(runner)
        return runner

    yield make
    for runner in made:
        runner.close()


@pytest.fixture
def docker_runner(make_docker_runner: MakeDockerRunner) -> DockerRunner:
    return make_docker_runner()


@pytest.fixture
def shell_runner(recorder: Recorder) -> Iterator[ShellRunner]:
    runner = ShellRunner(runner_settings(), recorder)
    yield runner
    runner.close()
