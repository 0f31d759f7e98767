"""Restart adoption: a new DockerRunner takes over the containers of the one before it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from gnomon.runner.base import LOST, Attempt, ExecutorStatus
from gnomon.runner.docker.runner import RESUMED_NOTE, DockerRunner
from tests.runner.attempts import container_attempt
from tests.runner.conftest import MakeDockerRunner
from tests.runner.docker.test_containers import container_gone, wait_until_gone
from tests.runner.recorder import Recorder

pytestmark = pytest.mark.docker


WAIT_FOR_GO = "while [ ! -e /tmp/go ]; do sleep 0.05; done"
"""Holds a job until the test runs `go()` on its container: no guessing how long things take."""


def container_of(client: Any, attempt: Attempt) -> Any:
    (container,) = client.containers.list(
        all=True, sparse=True, filters={"label": f"dev.gnomon.task-id={attempt.task_id}"}
    )
    return container


def go(client: Any, attempt: Attempt) -> None:
    exit_code, _ = container_of(client, attempt).exec_run(["touch", "/tmp/go"])
    assert exit_code == 0


def start_all(runner: DockerRunner, recorder: Recorder, attempts: list[Attempt]) -> None:
    for attempt in attempts:
        runner.start(attempt)
    ids = {attempt.task_id for attempt in attempts}
    recorder.wait_for(
        lambda: ids <= {s.task_id for s in recorder.states}, what=f"a state of each of {ids}"
    )
    assert all(s.status is ExecutorStatus.RUNNING for s in recorder.states)


def test_a_new_runner_adopts_collects_and_cleans_up(
    make_docker_runner: MakeDockerRunner, busybox_image: str, docker_client: Any
) -> None:
    before = Recorder()
    first = make_docker_runner(sink=before)
    running = container_attempt(busybox_image, "echo early", WAIT_FOR_GO, "echo late")
    finished = container_attempt(busybox_image, WAIT_FOR_GO, "echo bye", "exit 4")
    removed = container_attempt(busybox_image, command=["sleep", "300"])
    orphan = container_attempt(busybox_image, command=["sleep", "300"])
    start_all(first, before, [running, finished, removed, orphan])
    before.wait_for(lambda: "early" in before.messages(running.task_id), what="the line `early`")
    early = before.output_of(running.task_id)[-1].when  # what the store would hold
    first.close()
    go(docker_client, finished)
    container_of(docker_client, finished).wait()
    container_of(docker_client, removed).remove(force=True)

    after = Recorder()
    second = make_docker_runner(sink=after)
    # The scheduler passes when each attempt's newest stored line was written.
    second.adopt([replace(running, output_since=early), finished, removed])
    go(docker_client, running)

    lost = after.final(removed.task_id)
    assert (lost.status, lost.reason) == (ExecutorStatus.FAILED, LOST)
    done = after.final(finished.task_id)
    assert (done.status, done.reason) == (ExecutorStatus.FAILED, "exit code 4")
    assert after.messages(finished.task_id) == [RESUMED_NOTE, "bye"]
    ended = after.final(running.task_id, timeout=15)
    assert ended.status is ExecutorStatus.SUCCEEDED
    assert after.messages(running.task_id) == [RESUMED_NOTE, "late"]
    wait_until_gone(docker_client, orphan.task_id)
    for attempt in (running, finished):
        wait_until_gone(docker_client, attempt.task_id)


def test_closing_a_runner_leaves_its_containers_running(
    make_docker_runner: MakeDockerRunner,
    recorder: Recorder,
    busybox_image: str,
    docker_client: Any,
) -> None:
    runner = make_docker_runner()
    attempt = container_attempt(busybox_image, command=["sleep", "300"])
    start_all(runner, recorder, [attempt])
    runner.close()
    container = container_of(docker_client, attempt)
    container.reload()
    assert container.status == "running"
    assert recorder.finished(attempt.task_id) is None


def test_kept_containers_of_finished_tasks_survive_adoption(
    make_docker_runner: MakeDockerRunner,
    recorder: Recorder,
    busybox_image: str,
    docker_client: Any,
) -> None:
    runner = make_docker_runner(keep_containers=True)
    attempt = container_attempt(busybox_image, "true")
    runner.start(attempt)
    assert recorder.final(attempt.task_id).status is ExecutorStatus.SUCCEEDED
    runner.close()
    again = Recorder()
    successor = make_docker_runner(sink=again, keep_containers=True)
    marker = container_attempt(busybox_image, "true")
    successor.adopt([marker])
    assert again.final(marker.task_id).reason == LOST
    assert not container_gone(docker_client, attempt.task_id)


def test_a_kill_of_an_adopted_container_stops_it(
    make_docker_runner: MakeDockerRunner,
    recorder: Recorder,
    busybox_image: str,
    docker_client: Any,
) -> None:
    first = make_docker_runner()
    attempt = container_attempt(busybox_image, command=["sleep", "300"])
    start_all(first, recorder, [attempt])
    first.close()
    after = Recorder()
    second = make_docker_runner(sink=after)
    second.adopt([attempt])
    second.kill(attempt.task_id, "killed after adoption")
    state = after.final(attempt.task_id, timeout=15)
    assert (state.status, state.reason) == (ExecutorStatus.FAILED, "killed after adoption")
    wait_until_gone(docker_client, attempt.task_id)
