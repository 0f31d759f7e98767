"""Pod output becomes log entries before the outcome is reported, read through the API server
from a stand-in kubelet; a log that cannot be read is one `gnomon` line, never a lost outcome."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gnomon.runner.base import ExecutorStatus
from gnomon.runner.kubernetes.logs import parse_line
from gnomon.runner.kubernetes.manifests import job_name
from tests.runner.kubernetes.conftest import MakeRunner
from tests.runner.kubernetes.kube import Cluster, FakeKubelet, RecordingSink, make_attempt

DEFAULT = datetime(2000, 1, 1, tzinfo=UTC)


def test_timestamps_of_log_lines_are_parsed() -> None:
    when, message = parse_line("2026-03-02T12:00:01.123456789Z hello world", DEFAULT)
    assert when == datetime(2026, 3, 2, 12, 0, 1, 123456, tzinfo=UTC)
    assert message == "hello world"
    assert parse_line("2026-03-02T13:00:00+01:00 x", DEFAULT)[0] == datetime(
        2026, 3, 2, 12, tzinfo=UTC
    )
    assert parse_line("no stamp here", DEFAULT) == (DEFAULT, "no stamp here")
    assert parse_line("2026-03-02T12:00:00Z ", DEFAULT)[1] == ""


@pytest.mark.kubernetes
def test_output_is_saved_bounded_and_before_the_outcome(
    make_runner: MakeRunner, cluster: Cluster, sink: RecordingSink, kubelet: FakeKubelet
) -> None:
    attempt = make_attempt()
    make_runner(max_log_lines_per_task=3).start(attempt)
    pod = cluster.add_pod(job_name(attempt), node=kubelet.node)
    kubelet.logs[(cluster.namespace, pod)] = [
        f"2026-03-02T12:00:0{n}.000000001Z line {n}" for n in range(5)
    ]
    cluster.set_terminated(pod, 0, reason="Completed")

    assert sink.wait_finished(attempt.task_id).status is ExecutorStatus.SUCCEEDED
    kinds = [kind for kind, _ in sink.of(attempt.task_id)]
    assert kinds == ["state", "output", "state"]  # INITIALIZING, the lines, SUCCEEDED
    lines = sink.lines(attempt.task_id)
    assert [(line.source, line.message) for line in lines] == [
        ("gnomon", "2 earlier output lines were dropped (max_log_lines_per_task=3)"),
        ("stdout", "line 2"),
        ("stdout", "line 3"),
        ("stdout", "line 4"),
    ]
    assert lines[1].when == datetime(2026, 3, 2, 12, 0, 2, tzinfo=UTC)


@pytest.mark.kubernetes
def test_killed_job_keeps_the_output_so_far(
    make_runner: MakeRunner, cluster: Cluster, sink: RecordingSink, kubelet: FakeKubelet
) -> None:
    attempt = make_attempt()
    runner = make_runner()
    runner.start(attempt)
    pod = cluster.add_pod(job_name(attempt), node=kubelet.node)
    kubelet.logs[(cluster.namespace, pod)] = ["2026-03-02T12:00:00Z working"]
    cluster.set_container(pod, "Running", {"running": {}})
    sink.wait_for_state(attempt.task_id, ExecutorStatus.RUNNING)

    runner.kill(attempt.task_id, "killed by user")
    assert sink.wait_finished(attempt.task_id).reason == "killed by user"
    assert [line.message for line in sink.lines(attempt.task_id)] == ["working"]


@pytest.mark.kubernetes
def test_unreadable_log_is_noted_and_the_outcome_still_reported(
    make_runner: MakeRunner, cluster: Cluster, sink: RecordingSink
) -> None:
    attempt = make_attempt()
    make_runner().start(attempt)
    pod = cluster.add_pod(job_name(attempt), node="no-such-node")
    cluster.set_terminated(pod, 4)

    done = sink.wait_finished(attempt.task_id)
    assert (done.status, done.reason) == (ExecutorStatus.FAILED, "exit code 4")
    [line] = sink.lines(attempt.task_id)
    assert line.source == "gnomon"
    assert line.message.startswith(f"logs of pod {pod} are unavailable: ")


@pytest.mark.kubernetes
def test_pod_that_never_ran_has_no_log_to_read(
    make_runner: MakeRunner, cluster: Cluster, sink: RecordingSink
) -> None:
    attempt = make_attempt(max_runtime_seconds=1)
    make_runner().start(attempt)
    cluster.add_pod(job_name(attempt), node="no-such-node")
    cluster.set_condition(job_name(attempt), "Failed", "DeadlineExceeded")

    assert sink.wait_finished(attempt.task_id).reason == "exceeded max_runtime_seconds"
    assert sink.lines(attempt.task_id) == []
