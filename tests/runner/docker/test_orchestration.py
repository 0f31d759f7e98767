"""The Docker backend's orchestration against an engine in memory (`fake_engine`), no Docker
needed: what the sink hears as containers start, print, exit, are killed, adopted after a restart
or released to another scheduler, and which containers are left on the engine."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from docker.errors import APIError

from gnomon.runner.base import LOST, Attempt, AttemptState, ExecutorStatus
from gnomon.runner.docker.runner import RESUMED_NOTE, DockerRunner
from tests.runner.attempts import container_attempt
from tests.runner.conftest import runner_settings
from tests.runner.docker.fake_engine import (
    EXIT_ON_STOP,
    FakeAPI,
    FakeContainer,
    FakeDockerClient,
    engine_error,
)
from tests.runner.recorder import Recorder
from tests.waiting import wait_for

IMAGE = "busybox:1.36"
INSTANCE = "unit"

MakeRunner = Callable[..., DockerRunner]


@pytest.fixture
def engine() -> Iterator[FakeAPI]:
    api = FakeAPI()
    api.images.add(IMAGE)
    yield api
    api.close()


@pytest.fixture
def make_runner(engine: FakeAPI, recorder: Recorder) -> Iterator[MakeRunner]:
    """DockerRunners on the fake engine: `make_runner(sink=..., **settings)`; closed after."""
    made: list[DockerRunner] = []

    def make(sink: Recorder | None = None, **overrides: Any) -> DockerRunner:
        def connect() -> Any:
            return FakeDockerClient(engine)

        runner = DockerRunner(
            runner_settings(**overrides), sink or recorder, client=connect, instance=INSTANCE
        )
        made.append(runner)
        return runner

    yield make
    for runner in made:
        runner.close()


@pytest.fixture
def runner(make_runner: MakeRunner) -> DockerRunner:
    return make_runner()


def states_of(recorder: Recorder, task_id: str) -> list[tuple[ExecutorStatus, str | None]]:
    return [(s.status, s.reason) for s in recorder.states if s.task_id == task_id]


def running(recorder: Recorder, attempt: Attempt) -> AttemptState:
    def found() -> AttemptState | None:
        states = [s for s in recorder.states if s.task_id == attempt.task_id]
        return next((s for s in states if s.status is ExecutorStatus.RUNNING), None)

    return recorder.wait_for(found, what=f"task {attempt.task_id} running")


def container_of(engine: FakeAPI, attempt: Attempt) -> FakeContainer:
    return wait_for(
        lambda: engine.of_task(attempt.task_id), what=f"a container for task {attempt.task_id}"
    )


def wait_removed(engine: FakeAPI, attempt: Attempt) -> None:
    wait_for(
        lambda: engine.of_task(attempt.task_id) is None,
        what=f"the container of task {attempt.task_id} to be removed",
    )


# -- starting and ending -------------------------------------------------------------------------


def test_a_container_that_exits_0_succeeds_after_running_and_is_removed(
    runner: DockerRunner, engine: FakeAPI, recorder: Recorder
) -> None:
    attempt = container_attempt(IMAGE, "echo hello")
    runner.start(attempt)
    state = running(recorder, attempt)
    container = container_of(engine, attempt)
    assert (state.handle, container.state) == (container.id, "running")
    assert container.environment["GNOMON_TASK_ID"] == attempt.task_id
    engine.write(container.id, "stdout", "hello")
    engine.write(container.id, "stderr", "warning")
    engine.exit(container.id, 0)
    final = recorder.final(attempt.task_id)
    assert states_of(recorder, attempt.task_id) == [
        (ExecutorStatus.RUNNING, None),
        (ExecutorStatus.SUCCEEDED, None),
    ]
    assert final.handle == container.id
    assert final.details == {"exit_code": "0", "container_id": container.id}
    wait_removed(engine, attempt)
    assert recorder.messages(attempt.task_id, "stdout") == ["hello"]
    assert recorder.messages(attempt.task_id, "stderr") == ["warning"]


def test_a_non_zero_exit_fails_with_the_exit_code(
    runner: DockerRunner, engine: FakeAPI, recorder: Recorder
) -> None:
    attempt = container_attempt(IMAGE, "exit 3")
    runner.start(attempt)
    running(recorder, attempt)
    engine.exit(container_of(engine, attempt).id, 3)
    final = recorder.final(attempt.task_id)
    assert (final.status, final.reason) == (ExecutorStatus.FAILED, "exit code 3")
    assert final.details["exit_code"] == "3"
    assert recorder.terminal_count(attempt.task_id) == 1


def test_a_container_killed_for_memory_fails_out_of_memory_with_its_limit(
    runner: DockerRunner, engine: FakeAPI, recorder: Recorder
) -> None:
    attempt = container_attempt(IMAGE, "grow", memory=64)
    runner.start(attempt)
    running(recorder, attempt)
    container = container_of(engine, attempt)
    assert container.host_config["mem_limit"] == "64m"
    engine.exit(container.id, 137, oom=True)
    final = recorder.final(attempt.task_id)
    assert (final.status, final.reason) == (ExecutorStatus.FAILED, "out of memory (limit 64 MB)")


def test_a_missing_image_is_pulled_and_then_run(
    runner: DockerRunner, engine: FakeAPI, recorder: Recorder
) -> None:
    attempt = container_attempt("example/app:2", "true")
    runner.start(attempt)
    running(recorder, attempt)
    assert engine.pulls == ["example/app:2"]
    engine.exit(container_of(engine, attempt).id, 0)
    assert recorder.final(attempt.task_id).status is ExecutorStatus.SUCCEEDED


def test_a_start_the_engine_refuses_fails_with_its_words_and_removes_the_container(
    runner: DockerRunner, engine: FakeAPI, recorder: Recorder
) -> None:
    engine.start_error = engine_error(APIError, 400, "exec: no-such-command: not found")
    attempt = container_attempt(IMAGE, "true")
    runner.start(attempt)
    final = recorder.final(attempt.task_id)
    assert final.status is ExecutorStatus.FAILED
    assert final.reason == "exec: no-such-command: not found"
    assert states_of(recorder, attempt.task_id) == [(ExecutorStatus.FAILED, final.reason)]
    wait_removed(engine, attempt)


def test_the_engine_answers_its_ping(runner: DockerRunner) -> None:
    assert runner.healthy() is None


# -- kills ---------------------------------------------------------------------------------------


def test_a_kill_stops_the_container_and_its_reason_wins_over_the_exit_code(
    runner: DockerRunner, engine: FakeAPI, recorder: Recorder
) -> None:
    attempt = container_attempt(IMAGE, "sleep 300")
    runner.start(attempt)
    running(recorder, attempt)
    runner.kill(attempt.task_id, "max runtime exceeded")
    final = recorder.final(attempt.task_id)
    assert (final.status, final.reason) == (ExecutorStatus.FAILED, "max runtime exceeded")
    assert final.details["exit_code"] == str(EXIT_ON_STOP)
    container_id = final.handle
    assert engine.stops == [(container_id, 1)]  # the grace period, in whole seconds
    runner.kill(attempt.task_id, "again")  # too late: changes nothing
    assert recorder.terminal_count(attempt.task_id) == 1
    wait_removed(engine, attempt)


def test_a_kill_while_the_container_is_created_stops_it_once_it_exists(
    runner: DockerRunner, engine: FakeAPI, recorder: Recorder
) -> None:
    engine.creates_may_finish.clear()
    attempt = container_attempt(IMAGE, "sleep 300")
    runner.start(attempt)
    assert engine.creating.wait(timeout=10), "the create call never came"
    runner.kill(attempt.task_id, "killed by user")
    engine.creates_may_finish.set()
    final = recorder.final(attempt.task_id)
    assert (final.status, final.reason) == (ExecutorStatus.FAILED, "killed by user")
    assert [container for container, _ in engine.stops] == [final.handle]


def test_a_kill_reason_wins_even_over_a_clean_exit(
    runner: DockerRunner, engine: FakeAPI, recorder: Recorder
) -> None:
    engine.stop_exit_code = 0  # the job traps SIGTERM and exits cleanly
    attempt = container_attempt(IMAGE, "trap 'exit 0' TERM; sleep 300")
    runner.start(attempt)
    running(recorder, attempt)
    runner.kill(attempt.task_id, "stop")
    final = recorder.final(attempt.task_id)
    assert (final.status, final.reason) == (ExecutorStatus.FAILED, "stop")
    assert final.details["exit_code"] == "0"


# -- adoption after a restart --------------------------------------------------------------------


def test_adopting_a_running_container_resumes_its_output_after_the_stored_lines(
    runner: DockerRunner, engine: FakeAPI, recorder: Recorder
) -> None:
    stored = datetime.now(UTC) - timedelta(minutes=2)
    attempt = container_attempt(IMAGE, "work")
    adopted = dataclasses.replace(attempt, output_since=stored)
    container = engine.add(
        task_id=attempt.task_id,
        instance=INSTANCE,
        state="running",
        log=[
            (stored - timedelta(seconds=1), "stdout", "stored before the restart"),
            (stored, "stdout", "stored last"),
            (stored + timedelta(seconds=30), "stdout", "printed while nobody watched"),
        ],
    )
    runner.adopt([adopted])
    recorder.wait_for(
        lambda: "printed while nobody watched" in recorder.messages(attempt.task_id),
        what="the line printed while nobody watched",
    )
    engine.write(container.id, "stdout", "printed after adoption")
    engine.exit(container.id, 0)
    final = recorder.final(attempt.task_id)
    assert final.status is ExecutorStatus.SUCCEEDED
    assert states_of(recorder, attempt.task_id) == [(ExecutorStatus.SUCCEEDED, None)]
    assert recorder.messages(attempt.task_id) == [
        RESUMED_NOTE,
        "printed while nobody watched",
        "printed after adoption",
    ]


def test_adopting_a_container_that_ended_meanwhile_collects_its_outcome(
    runner: DockerRunner, engine: FakeAPI, recorder: Recorder
) -> None:
    attempt = container_attempt(IMAGE, "exit 4")
    when = datetime.now(UTC) - timedelta(seconds=5)
    engine.add(
        task_id=attempt.task_id,
        instance=INSTANCE,
        state="exited",
        exit_code=4,
        log=[(when, "stderr", "it went wrong")],
    )
    runner.adopt([attempt])
    final = recorder.final(attempt.task_id)
    assert (final.status, final.reason) == (ExecutorStatus.FAILED, "exit code 4")
    assert recorder.messages(attempt.task_id, "stderr") == ["it went wrong"]
    wait_removed(engine, attempt)


def test_adopting_a_container_that_was_never_started_starts_it(
    runner: DockerRunner, engine: FakeAPI, recorder: Recorder
) -> None:
    attempt = container_attempt(IMAGE, "true")
    container = engine.add(task_id=attempt.task_id, instance=INSTANCE, state="created")
    runner.adopt([attempt])
    assert running(recorder, attempt).handle == container.id
    assert container.state == "running"
    engine.exit(container.id, 0)
    assert recorder.final(attempt.task_id).status is ExecutorStatus.SUCCEEDED


def test_an_attempt_whose_container_vanished_is_lost(
    runner: DockerRunner, recorder: Recorder
) -> None:
    attempt = container_attempt(IMAGE, "true")
    runner.adopt([attempt])
    final = recorder.final(attempt.task_id)
    assert (final.status, final.reason) == (ExecutorStatus.FAILED, LOST)


def test_adoption_removes_this_instances_orphans_and_no_one_elses(
    runner: DockerRunner, engine: FakeAPI, recorder: Recorder
) -> None:
    kept = container_attempt(IMAGE, "true")
    engine.add(task_id=kept.task_id, instance=INSTANCE, state="exited", exit_code=0)
    orphan = engine.add(task_id="no-such-task", instance=INSTANCE, state="running")
    finished_orphan = engine.add(task_id="done", instance=INSTANCE, state="exited", exit_code=0)
    neighbours = engine.add(task_id="their-task", instance="someone-else", state="running")
    runner.adopt([kept])
    assert recorder.final(kept.task_id).status is ExecutorStatus.SUCCEEDED
    remaining = set(engine.containers_by_id)
    assert orphan.id not in remaining
    assert finished_orphan.id not in remaining
    assert neighbours.id in remaining
    assert neighbours.state == "running"


# -- handing over to another scheduler -----------------------------------------------------------


def test_a_released_runner_reports_and_removes_nothing_and_the_new_holder_collects(
    make_runner: MakeRunner, engine: FakeAPI
) -> None:
    old_sink, new_sink = Recorder(), Recorder()
    old = make_runner(sink=old_sink)
    attempt = container_attempt(IMAGE, "work")
    old.start(attempt)
    running(old_sink, attempt)
    container = container_of(engine, attempt)
    old.release()
    old.kill(attempt.task_id, "not mine any more")  # released: nothing to kill
    engine.write(container.id, "stdout", "done")
    engine.exit(container.id, 0)
    make_runner(sink=new_sink).adopt([attempt])
    assert new_sink.final(attempt.task_id).status is ExecutorStatus.SUCCEEDED
    assert "done" in new_sink.messages(attempt.task_id)
    assert old_sink.finished(attempt.task_id) is None
    assert engine.stops == []
    wait_removed(engine, attempt)
