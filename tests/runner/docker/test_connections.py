"""The runner's own client shares one connection pool for every call (issue 14): before, the SDK
kept a pool per URL, so every call of every attempt opened a new connection to the engine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import docker
import pytest

from gnomon.runner.base import ExecutorStatus
from gnomon.runner.docker.connections import SharedPoolAdapter, share_one_pool
from gnomon.runner.docker.runner import DockerRunner
from tests.runner.attempts import container_attempt
from tests.runner.conftest import runner_settings
from tests.runner.recorder import Recorder


@pytest.fixture
def own_client_runner(recorder: Recorder, instance: str, busybox_image: str) -> Iterator[Any]:
    """A runner that makes its client itself, as `gnomon serve` does."""
    assert busybox_image
    runner = DockerRunner(runner_settings(), recorder, instance=instance)
    yield runner
    runner.close()


@pytest.mark.docker
def test_attempts_reuse_connections_even_after_a_kill(
    own_client_runner: DockerRunner, recorder: Recorder, busybox_image: str
) -> None:
    killed = container_attempt(busybox_image, command=["sleep", "300"])
    own_client_runner.start(killed)
    recorder.wait_for(lambda: bool(recorder.states), what="a first state")
    own_client_runner.kill(killed.task_id, "stop")
    assert recorder.final(killed.task_id, timeout=15).status is ExecutorStatus.FAILED
    for index in range(4):
        attempt = container_attempt(busybox_image, f"echo {index}")
        own_client_runner.start(attempt)
        assert recorder.final(attempt.task_id).status is ExecutorStatus.SUCCEEDED
        assert recorder.messages(attempt.task_id, "stdout") == [str(index)]
    adapter = own_client_runner._engine.api._custom_adapter
    assert isinstance(adapter, SharedPoolAdapter)
    assert len(adapter.pools) == 1
    pool = adapter.get_connection("http+docker://localhost/v1.41/containers/any/json")
    # Five attempts, some twenty calls; a handful of connections (calls may overlap).
    assert pool.num_connections <= 5


def test_one_pool_serves_every_url() -> None:
    client = share_one_pool(
        docker.DockerClient(base_url="unix:///nonexistent.sock", version="1.41")
    )
    adapter = client.api._custom_adapter
    first = adapter.get_connection("http+docker://localhost/v1.41/containers/a/start")
    second = adapter.get_connection("http+docker://localhost/v1.41/containers/b/wait")
    assert first is second
    assert first.socket_path == "/nonexistent.sock"
    assert client.api.trust_env is False
    client.close()


def test_other_transports_are_left_as_they_are() -> None:
    client = docker.DockerClient(base_url="tcp://127.0.0.1:1", version="1.41")
    adapters = dict(client.api.adapters)
    assert share_one_pool(client) is client
    assert dict(client.api.adapters) == adapters
    assert client.api.trust_env is True
    client.close()
