"""What Job and Pod objects mean for an attempt, decided from the objects alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from kubernetes import client

from gnomon.runner.base import ExecutorStatus
from gnomon.runner.kubernetes.status import assess

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
IMAGE = "busybox:1.36"


def model(kind: str, data: dict[str, Any]) -> Any:
    """A client model (`V1Pod`, `V1Job`) from its JSON form, as a watch delivers it."""
    with client.ApiClient() as api:
        return api.deserialize(json.dumps(data), kind, "application/json")


def pod(state: dict[str, Any] | None = None, phase: str = "Pending", **status: Any) -> Any:
    containers = []
    if state is not None:
        containers = [
            {"name": "task", "image": IMAGE, "imageID": "", "ready": False, "restartCount": 0}
            | {"state": state}
        ]
    body = {"phase": phase, "containerStatuses": containers, **status}
    return model("V1Pod", {"metadata": {"name": "p-1"}, "status": body})


def job(
    *conditions: tuple[str, str | None], deadline: int | None = None, started: Any = None
) -> Any:
    status: dict[str, Any] = {
        "conditions": [
            {"type": kind, "status": "True", "reason": reason, "message": "m"}
            for kind, reason in conditions
        ]
    }
    if started is not None:
        status["startTime"] = started.isoformat()
    spec: dict[str, Any] = {"template": {}, "activeDeadlineSeconds": deadline}
    return model("V1Job", {"metadata": {"name": "j"}, "spec": spec, "status": status})


def terminated(code: int, reason: str = "Error") -> dict[str, Any]:
    return {"terminated": {"exitCode": code, "reason": reason}}


def verdict(k8s_job: Any, *pods: Any) -> tuple[ExecutorStatus | None, str | None]:
    found = assess(k8s_job, pods, image=IMAGE, now=NOW)
    return found.status, found.reason


def test_complete_job_succeeded() -> None:
    assert verdict(job(("Complete", None))) == (ExecutorStatus.SUCCEEDED, None)


def test_container_exit_code_is_the_reason() -> None:
    failed = job(("Failed", "BackoffLimitExceeded"))
    assert verdict(failed, pod(terminated(2), "Failed")) == (ExecutorStatus.FAILED, "exit code 2")
    assert verdict(None, pod(terminated(3), "Failed")) == (ExecutorStatus.FAILED, "exit code 3")


def test_oom_killed_is_out_of_memory() -> None:
    outcome = verdict(None, pod(terminated(137, "OOMKilled"), "Failed"))
    assert outcome == (ExecutorStatus.FAILED, "out of memory")


def test_deadline_wins_over_the_exit_of_the_killed_container() -> None:
    deadline = job(("Failed", "DeadlineExceeded"))
    expected = (ExecutorStatus.FAILED, "exceeded max_runtime_seconds")
    assert verdict(deadline) == expected
    assert verdict(deadline, pod(terminated(143), "Failed")) == expected
    failing = job(("FailureTarget", "DeadlineExceeded"))
    assert verdict(failing, pod(terminated(143), "Failed")) == expected
    assert verdict(failing, pod({"running": {}}, "Running"))[0] is ExecutorStatus.RUNNING


def test_a_container_killed_after_the_deadline_counts_as_the_deadline() -> None:
    late = job(deadline=60, started=NOW - timedelta(seconds=61))
    expected = (ExecutorStatus.FAILED, "exceeded max_runtime_seconds")
    assert verdict(late, pod(terminated(143), "Failed")) == expected
    in_time = job(deadline=60, started=NOW - timedelta(seconds=30))
    killed = (ExecutorStatus.FAILED, "exit code 143")
    assert verdict(in_time, pod(terminated(143), "Failed")) == killed
    assert verdict(late, pod(terminated(0), "Succeeded")) == (ExecutorStatus.SUCCEEDED, None)


def test_other_job_failures_keep_kubernetes_words() -> None:
    status, reason = verdict(job(("Failed", "BackoffLimitExceeded")))
    assert status is ExecutorStatus.FAILED
    assert reason == "BackoffLimitExceeded: m"


def test_evicted_pod_fails_with_its_reason() -> None:
    evicted = pod(None, "Failed", reason="Evicted", message="low on memory")
    assert verdict(None, evicted) == (ExecutorStatus.FAILED, "Evicted: low on memory")


def test_running_pod_is_running_and_pending_says_nothing() -> None:
    assert verdict(job(), pod({"running": {}}, "Running"))[0] is ExecutorStatus.RUNNING
    assert verdict(job(), pod({"waiting": {"reason": "ContainerCreating"}})) == (None, None)
    assert verdict(None) == (None, None)


def test_image_pull_errors_are_stuck_with_the_image_named() -> None:
    waiting = {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling"}}
    found = assess(job(), [pod(waiting)], image=IMAGE, now=NOW)
    assert found.status is None and found.stuck == "pull"
    assert found.reason == f"cannot pull image {IMAGE}: Back-off pulling"


def test_unschedulable_pods_are_stuck() -> None:
    condition = {
        "type": "PodScheduled",
        "status": "False",
        "reason": "Unschedulable",
        "message": "0/3 nodes are available",
    }
    found = assess(job(), [pod(None, conditions=[condition])], image=IMAGE, now=NOW)
    assert found.stuck == "unschedulable"
    assert found.reason == "cannot schedule pod: 0/3 nodes are available"
