"""The scheduler and its sink tell the pages which runs they changed, once per wake-up and only
after the store committed it."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from gnomon.domain.changes import LOGS, METADATA, RUNS
from gnomon.runner.base import OutputLine
from tests.clock import FakeClock
from tests.samples import definition, docker_task
from tests.scheduler.harness import Harness


class Recorder:
    """A change publisher that remembers what it was told, from any thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.changes: list[tuple[str, str | None]] = []

    def publish(self, topic: str, process_id: str | None = None) -> None:
        with self.lock:
            self.changes.append((topic, process_id))

    def take(self) -> list[tuple[str, str | None]]:
        with self.lock:
            taken, self.changes = self.changes, []
        return taken


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def harness(engine: Engine, clock: FakeClock, recorder: Recorder) -> Harness:
    return Harness(engine, clock, changes=recorder)


def test_each_wake_up_that_changes_a_run_tells_it_once(
    harness: Harness, recorder: Recorder
) -> None:
    harness.put(definition("etl", docker_task("extract"), docker_task("load", "extract")))
    assert recorder.take() == []

    harness.trigger("etl")  # the run starts, and its first task with it
    process_id = str(harness.process().process_id)
    assert recorder.take() == [(RUNS, process_id)]
    harness.tick()  # the executor said the attempt runs: that is stored, and told
    assert recorder.take() == [(RUNS, process_id)]
    harness.tick()
    assert recorder.take() == []  # nothing changed, nothing said

    harness.finish("extract")  # one ends, the next starts: one change
    assert recorder.take() == [(RUNS, process_id)]
    harness.fail("load")
    assert recorder.take() == [(RUNS, process_id)]
    assert harness.statuses("etl") == ["failed"]


def test_two_runs_started_together_are_told_apart(harness: Harness, recorder: Recorder) -> None:
    harness.put(definition("a"))
    harness.put(definition("b"))
    harness.trigger("a")
    harness.trigger("b")
    assert {pid for _, pid in recorder.take()} == {str(p.process_id) for p in harness.processes()}


def test_stored_output_and_metadata_name_their_run(
    harness: Harness, recorder: Recorder, clock: FakeClock
) -> None:
    harness.put(definition("etl", docker_task("extract")))
    harness.trigger("etl")
    recorder.take()
    attempt = harness.running_attempt("extract")
    sink = harness.service.sink

    sink.output(attempt.task_id, [OutputLine(clock.now(), "stdout", "hello")])
    sink.output(
        attempt.task_id, [OutputLine(clock.now() + timedelta(seconds=1), "stdout", "again")]
    )
    sink.metadata(attempt.task_id, clock.now(), "rows", "12")

    assert recorder.take() == [
        (LOGS, attempt.process_id),
        (LOGS, attempt.process_id),
        (METADATA, attempt.process_id),
    ]
    sink.output("not-a-task", [OutputLine(clock.now(), "stdout", "lost")])
    assert recorder.take() == []  # no run to name: nobody is told
