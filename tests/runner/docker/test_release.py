"""Lease handover on one engine: a runner whose scheduler lost the lease lets go of its containers
(no report, no removal), and the new holder's runner alone collects and removes them."""

from __future__ import annotations

from typing import Any

import pytest

from gnomon.runner.base import ExecutorStatus
from tests.runner.attempts import container_attempt
from tests.runner.conftest import MakeDockerRunner
from tests.runner.docker.test_adopt import WAIT_FOR_GO, container_of, go, start_all
from tests.runner.docker.test_containers import wait_until_gone
from tests.runner.recorder import Recorder
from tests.waiting import wait_for

pytestmark = pytest.mark.docker


def test_a_released_runner_leaves_its_containers_to_the_new_holder(
    make_docker_runner: MakeDockerRunner, busybox_image: str, docker_client: Any
) -> None:
    old_sink, new_sink = Recorder(), Recorder()
    old = make_docker_runner(sink=old_sink)
    attempts = [container_attempt(busybox_image, WAIT_FOR_GO, f"exit {code}") for code in (0, 3)]
    start_all(old, old_sink, attempts)
    new = make_docker_runner(sink=new_sink)
    new.adopt(attempts)  # the standby took the lease and adopted them
    old.release()  # the old holder learns it lost the lease
    for attempt in attempts:
        go(docker_client, attempt)
    outcomes = [new_sink.final(attempt.task_id, timeout=15) for attempt in attempts]
    assert [(s.status, s.reason) for s in outcomes] == [
        (ExecutorStatus.SUCCEEDED, None),
        (ExecutorStatus.FAILED, "exit code 3"),
    ]
    assert all(old_sink.finished(attempt.task_id) is None for attempt in attempts)
    for attempt in attempts:
        wait_until_gone(docker_client, attempt.task_id)


def test_a_released_runner_does_not_remove_a_container_it_saw_end(
    make_docker_runner: MakeDockerRunner, busybox_image: str, docker_client: Any
) -> None:
    old_sink = Recorder()
    old = make_docker_runner(sink=old_sink)
    attempt = container_attempt(busybox_image, WAIT_FOR_GO, "echo done")
    start_all(old, old_sink, [attempt])
    old.release()
    go(docker_client, attempt)
    container = container_of(docker_client, attempt)

    def exited() -> bool:
        container.reload()
        return bool(container.status == "exited")

    wait_for(exited, what=f"the container of {attempt.task_id} to exit", timeout=15)
    assert old_sink.finished(attempt.task_id) is None
    # Still there for the new holder to collect, with its exit code.
    new_sink = Recorder()
    make_docker_runner(sink=new_sink).adopt([attempt])
    assert new_sink.final(attempt.task_id, timeout=15).status is ExecutorStatus.SUCCEEDED
    assert "done" in new_sink.messages(attempt.task_id)
