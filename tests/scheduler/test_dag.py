"""Inside a process: dependencies, retries, backoff, timeouts, explicit success, kill and retry."""

from __future__ import annotations

from datetime import timedelta

from gnomon.runner.base import OutputLine
from tests.samples import definition, docker_task
from tests.scheduler.harness import Harness


def test_serial_chain_runs_in_order(harness: Harness) -> None:
    harness.put(definition("chain", docker_task("1"), docker_task("2", "1"), docker_task("3", "2")))
    harness.trigger("chain")
    for name, following in [("1", ["2"]), ("2", ["3"]), ("3", [])]:
        assert harness.running_names() == [name]
        harness.finish(name)
        assert harness.running_names() == following
    assert harness.statuses("chain") == ["succeeded"]


def test_independent_tasks_start_together(harness: Harness) -> None:
    harness.put(definition("par", docker_task("a"), docker_task("b"), docker_task("c")))
    harness.trigger("par")
    assert harness.running_names() == ["a", "b", "c"]
    for name in "abc":
        harness.finish(name)
    assert harness.statuses("par") == ["succeeded"]


def diamond(**extra: object) -> dict[str, object]:
    return definition(
        "diamond",
        docker_task("1"),
        docker_task("2", "1"),
        docker_task("3", "1"),
        docker_task("4", "2", "3"),
        **extra,
    )


def test_diamond(harness: Harness) -> None:
    harness.put(diamond())
    harness.trigger("diamond")
    harness.finish("1")
    assert harness.running_names() == ["2", "3"]
    harness.finish("2")
    assert harness.running_names() == ["3"]
    harness.finish("3")
    assert harness.running_names() == ["4"]
    harness.finish("4")
    assert harness.statuses("diamond") == ["succeeded"]


def test_diamond_with_failed_middle_task_fails_without_running_the_end(harness: Harness) -> None:
    harness.put(diamond())
    harness.trigger("diamond")
    harness.finish("1")
    harness.fail("3", "exit code 3")
    assert harness.running_names() == ["2"]
    harness.finish("2")
    assert harness.running_names() == []
    assert harness.statuses("diamond") == ["failed"]
    assert harness.attempts("4") == []
    assert harness.attempts("3") == [("failed", "exit code 3")]


def test_diamond_filtered_by_trigger_runs_only_that_task(harness: Harness) -> None:
    harness.put(diamond())
    harness.trigger("diamond", task="4")
    assert harness.running_names() == ["4"]
    harness.finish("4")
    assert harness.statuses("diamond") == ["succeeded"]
    assert {t.task_definition_name for t in harness.process().task} == {"4"}


def test_optional_dependency_that_fails_releases_its_dependant(harness: Harness) -> None:
    harness.put(definition("opt", docker_task("a"), docker_task("b", optional=("a",))))
    harness.trigger("opt")
    harness.fail("a")
    assert harness.running_names() == ["b"]
    harness.finish("b")
    assert harness.statuses("opt") == ["failed"]  # a's last attempt failed


def test_optional_dependency_that_can_never_run_does_not_hang(harness: Harness) -> None:
    body = definition(
        "never",
        docker_task("root"),
        docker_task("blocked", "root"),
        docker_task("after", optional=("blocked",)),
    )
    harness.put(body)
    harness.trigger("never")
    assert harness.running_names() == ["root"]
    harness.fail("root")
    assert harness.running_names() == ["after"]
    harness.finish("after")
    assert harness.statuses("never") == ["failed"]


def test_retry_with_exponential_backoff_from_the_end_of_the_attempt(harness: Harness) -> None:
    task = docker_task("flaky", max_attempts=3, backoff_base_seconds=60, backoff_exponent=2)
    harness.put(definition("flaky", task))
    harness.trigger("flaky")
    harness.advance(10)
    harness.fail("flaky")
    # Backoff after 1 attempt: 60 * 2**1 = 120 s, measured from the end of the attempt.
    harness.advance(119)
    assert harness.running_names() == []
    harness.advance(1)
    assert harness.running_names() == ["flaky"]
    harness.fail("flaky")
    harness.advance(239)
    assert harness.running_names() == []
    harness.advance(1)
    assert harness.running_names() == ["flaky"]
    harness.fail("flaky")
    assert harness.statuses("flaky") == ["failed"]
    assert [s for s, _ in harness.attempts("flaky")] == ["failed"] * 3


def test_scheduler_sleeps_until_the_backoff_ends(harness: Harness) -> None:
    harness.put(definition("nap", docker_task("t", max_attempts=2, backoff_base_seconds=30)))
    harness.trigger("nap")
    harness.fail("t")
    failed_at = harness.clock.now()
    assert harness.service.processes.next_wake() == failed_at + timedelta(seconds=30)
    # Between events it never sleeps longer than the fallback poll.
    assert harness.tick() == failed_at + timedelta(seconds=5)


def test_timeout_kills_then_retry_after_backoff(harness: Harness) -> None:
    task = docker_task("slow", max_attempts=2, max_runtime_seconds=100, backoff_base_seconds=10)
    harness.put(definition("slow", task))
    harness.trigger("slow")
    first = harness.running_attempt("slow")
    harness.advance(99)
    assert harness.runner.killed == []
    harness.advance(1)
    assert harness.runner.killed == [(first.task_id, "exceeded max_runtime_seconds (100 s)")]
    assert harness.attempts("slow") == [("failed", "exceeded max_runtime_seconds (100 s)")]
    assert harness.running_names() == []
    harness.advance(10)
    assert harness.running_names() == ["slow"]
    harness.finish("slow")
    assert harness.statuses("slow") == ["succeeded"]


def test_explicit_success_missing_fails_the_attempt(harness: Harness) -> None:
    harness.put(definition("explicit", docker_task("t", require_explicit_success=True)))
    harness.trigger("explicit")
    harness.finish("t")
    assert harness.statuses("explicit") == ["failed"]
    status, reason = harness.attempts("t")[0]
    assert status == "failed" and reason and "explicit" in reason


def test_explicit_success_reported_succeeds(harness: Harness) -> None:
    from gnomon.domain.enums import TaskStatus

    harness.put(definition("explicit", docker_task("t", require_explicit_success=True)))
    harness.trigger("explicit")
    attempt = harness.running_attempt("t")
    harness.service.sink.reported(attempt.task_id, TaskStatus.SUCCEEDED, None)
    harness.finish("t")
    assert harness.statuses("explicit") == ["succeeded"]


def test_executor_failure_wins_over_a_reported_success(harness: Harness) -> None:
    from gnomon.domain.enums import TaskStatus

    harness.put(definition("fault", docker_task("t", require_explicit_success=True)))
    harness.trigger("fault")
    attempt = harness.running_attempt("t")
    harness.service.sink.reported(attempt.task_id, TaskStatus.SUCCEEDED, None)
    harness.fail("t", "out of memory")
    assert harness.attempts("t") == [("failed", "out of memory")]


def test_kill_stops_running_tasks_and_starts_nothing_new(harness: Harness) -> None:
    harness.put(definition("k", docker_task("a"), docker_task("b"), docker_task("c", "a")))
    harness.trigger("k")
    process_id = str(harness.process().process_id)
    harness.kill(process_id)
    assert sorted(t for t, _ in harness.runner.killed) == sorted(
        str(t.task_id) for t in harness.process().task
    )
    assert harness.running_names() == []
    assert harness.statuses("k") == ["failed"]
    assert harness.attempts("c") == []


def test_retry_after_kill_gives_failed_tasks_one_more_attempt(harness: Harness) -> None:
    harness.put(definition("rk", docker_task("a"), docker_task("b", "a")))
    harness.trigger("rk")
    process_id = str(harness.process().process_id)
    harness.kill(process_id)
    assert harness.statuses("rk") == ["failed"]
    harness.retry(process_id)
    assert harness.running_names() == ["a"]
    assert harness.statuses("rk") == ["running"]
    harness.finish("a")
    harness.finish("b")
    assert harness.statuses("rk") == ["succeeded"]
    assert [s for s, _ in harness.attempts("a")] == ["failed", "succeeded"]


def test_retry_gives_exactly_one_attempt_without_backoff(harness: Harness) -> None:
    task = docker_task("t", max_attempts=1, backoff_base_seconds=3600)
    harness.put(definition("once", task, docker_task("after", "t")))
    harness.trigger("once")
    harness.fail("t")
    assert harness.statuses("once") == ["failed"]
    harness.retry(str(harness.process().process_id))
    assert harness.running_names() == ["t"]  # no backoff wait
    harness.fail("t")
    assert harness.statuses("once") == ["failed"]
    assert len(harness.attempts("t")) == 2


def test_retry_changes_only_that_runs_snapshot(harness: Harness) -> None:
    harness.put(definition("snap", docker_task("t")))
    harness.trigger("snap")
    harness.fail("t")
    harness.retry(str(harness.process().process_id))
    harness.fail("t")
    harness.advance(1)
    harness.trigger("snap")
    harness.fail("t")
    assert harness.statuses("snap") == ["failed", "failed"]
    assert len(harness.attempts("t")) == 1  # the new run still has max_attempts 1


def test_edit_during_a_run_does_not_change_it(harness: Harness) -> None:
    harness.put(definition("edit", docker_task("a"), docker_task("b", "a")))
    harness.trigger("edit")
    harness.put(definition("edit", docker_task("z")))
    harness.finish("a")
    assert harness.running_names() == ["b"]


def test_zero_tasks_succeeds_at_once(harness: Harness) -> None:
    harness.put(definition("empty", docker_task("a")))
    harness.trigger("empty", task="a")
    harness.finish("a")
    assert harness.statuses("empty") == ["succeeded"]


def test_restart_mid_process_carries_on(harness: Harness) -> None:
    harness.put(definition("restart", docker_task("a"), docker_task("b", "a")))
    harness.trigger("restart")
    attempt = harness.running_attempt("a")
    printed = harness.clock.now() + timedelta(seconds=3)
    harness.service.sink.output(attempt.task_id, [OutputLine(printed, "stdout", "halfway")])
    harness.service._release()
    successor = Harness(harness.engine, harness.clock, holder="successor")
    successor.tick()
    assert [a.task_id for a in successor.runner.adopted] == [attempt.task_id]
    # The executor resumes the job's output after what was stored before the restart.
    assert successor.runner.adopted[0].output_since == printed
    successor.finish("a")
    assert successor.running_names() == ["b"]
    successor.finish("b")
    assert successor.statuses("restart") == ["succeeded"]
