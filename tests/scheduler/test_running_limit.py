"""`GNOMON_MAX_RUNNING_TASKS` in the scheduler, with the fake runner and a fake clock: what waits,
what the API shows of it, what starts when a slot frees, and what a wait does not count."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine

from gnomon.domain.runs import Task
from tests.clock import FakeClock
from tests.samples import definition, docker_task
from tests.scheduler.harness import Harness, started_names

WAITING = "Waiting for a slot: {} of {} tasks running (GNOMON_MAX_RUNNING_TASKS)"


def limited(engine: Engine, clock: FakeClock, limit: int) -> Harness:
    return Harness(engine, clock, max_running_tasks=limit)


def one_task(name: str, **extra: Any) -> dict[str, Any]:
    """A definition `name` of one task, also called `name`."""
    return definition(name, docker_task(name, **extra))


def only_task(harness: Harness, name: str) -> Task:
    tasks = harness.process(name).task
    assert len(tasks) == 1, tasks
    return tasks[0]


def scheduler_lines(task: Task) -> list[str]:
    return [entry.message for entry in task.log_entries if entry.source == "scheduler"]


def test_a_task_beyond_the_limit_waits_pending_then_starts_when_a_slot_frees(
    engine: Engine, clock: FakeClock
) -> None:
    harness = limited(engine, clock, 2)
    for name in ("a", "b", "c"):
        harness.put(one_task(name))
        harness.trigger(name)
        clock.advance(1)
    assert harness.running_names() == ["a", "b"]
    waiting = only_task(harness, "c")
    assert waiting.status.value == "pending"
    assert scheduler_lines(waiting) == [WAITING.format(2, 2)]
    for _ in range(3):  # wake-ups while it still waits write nothing more
        harness.advance(5)
    assert scheduler_lines(only_task(harness, "c")) == [WAITING.format(2, 2)]

    harness.finish("a")
    assert harness.running_names() == ["b", "c"]
    started = only_task(harness, "c")
    assert started.status.value == "running"
    assert started.start_time == clock.now()  # when it got its slot, not when it was queued
    assert started.task_id == waiting.task_id  # the same attempt, not a second one
    assert started.previous_attempt_count == 0


def test_a_wait_does_not_count_against_max_runtime_seconds(
    engine: Engine, clock: FakeClock
) -> None:
    harness = limited(engine, clock, 1)
    harness.put(one_task("first"))
    harness.put(one_task("limited", max_runtime_seconds=10))
    harness.trigger("first")
    harness.trigger("limited")
    harness.advance(60)  # waits six times its runtime limit
    assert harness.runner.killed == []
    harness.finish("first")
    attempt = harness.running_attempt("limited")
    harness.advance(9)
    assert harness.runner.killed == []
    harness.advance(1)
    assert harness.runner.killed == [(attempt.task_id, "exceeded max_runtime_seconds (10 s)")]


def test_an_older_run_gets_the_next_slot_before_a_wide_newer_one(
    engine: Engine, clock: FakeClock
) -> None:
    harness = limited(engine, clock, 2)
    harness.put(definition("old", docker_task("o1"), docker_task("o2", "o1")))
    wide = [docker_task(f"w{i}") for i in range(5)]
    harness.put(definition("wide", *wide))
    harness.trigger("old")
    clock.advance(1)
    harness.trigger("wide")
    assert harness.running_names() == ["o1", "w0"]
    harness.finish("w0")
    assert harness.running_names() == ["o1", "w1"]
    harness.finish("o1")  # o2 is ready now: its run is older than every waiting w
    assert harness.running_names() == ["o2", "w1"]
    for name in ("o2", "w1", "w2", "w3", "w4"):
        harness.finish(name)
    assert started_names(harness.runner) == ["o1", "w0", "w1", "o2", "w2", "w3", "w4"]
    assert harness.statuses("old") == harness.statuses("wide") == ["succeeded"]


def test_scheduled_runs_due_together_start_in_due_order(engine: Engine, clock: FakeClock) -> None:
    harness = limited(engine, clock, 2)
    for seconds in range(1, 11):  # d99 is due first, d90 last: name order is not due order
        schedule = {"continuous_schedule": {"buffer_seconds": seconds}}
        harness.put(one_task(f"d{100 - seconds}") | {"schedule": schedule})
    harness.advance(60)  # every one is due, each at its own second
    while harness.runner.running:
        oldest = next(a for a in harness.runner.started if a.task_id in harness.runner.running)
        harness.finish(oldest.task_definition_name)
    assert started_names(harness.runner) == [f"d{100 - seconds}" for seconds in range(1, 11)]


def test_killing_a_run_fails_its_waiting_task_without_a_container_to_stop(
    engine: Engine, clock: FakeClock
) -> None:
    harness = limited(engine, clock, 1)
    harness.put(one_task("busy"))
    harness.put(one_task("queued"))
    harness.trigger("busy")
    harness.trigger("queued")
    waiting = only_task(harness, "queued")
    harness.kill(str(harness.process("queued").process_id))
    assert harness.runner.killed == []
    ended = only_task(harness, "queued")
    assert (ended.task_id, ended.status.value) == (waiting.task_id, "failed")
    assert harness.statuses("queued") == ["failed"]
    harness.finish("busy")
    assert started_names(harness.runner) == ["busy"]


def test_a_new_scheduler_starts_the_attempts_that_waited_and_logs_nothing_twice(
    engine: Engine, clock: FakeClock
) -> None:
    first = limited(engine, clock, 1)
    first.put(one_task("a"))
    first.put(one_task("b"))
    first.trigger("a")
    first.trigger("b")
    first.service.stop()
    clock.advance(timedelta(seconds=20).total_seconds())  # the lease lapses
    second = Harness(engine, clock, holder="second", max_running_tasks=1)
    second.tick()
    assert [a.task_definition_name for a in second.runner.adopted] == ["a"]
    assert second.runner.started == []  # the slot is still a's
    second.finish("a")
    assert second.running_names() == ["b"]
    assert scheduler_lines(only_task(second, "b")) == [WAITING.format(1, 1)]
