"""The Kubernetes runner against a real API server: an unexpected error fails its own attempt
with a reason (never a task left running, never a stuck watch for the others), secrets reach the
pod only as `secretKeyRef`s, and long or invalid pod log lines are cut and cleaned."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from gnomon.domain.definitions import TaskExecutable
from gnomon.domain.limits import MAX_LOG_MESSAGE_CHARS
from gnomon.domain.logtext import CUT_MARK
from gnomon.runner.base import Attempt, ExecutorStatus
from gnomon.runner.kubernetes import attempts, status
from gnomon.runner.kubernetes.manifests import job_name
from tests.runner.kubernetes.conftest import MakeRunner
from tests.runner.kubernetes.kube import Cluster, FakeKubelet, RecordingSink, make_attempt

pytestmark = pytest.mark.kubernetes


def attempt_with_variables(*variables: dict[str, Any]) -> Attempt:
    executable = TaskExecutable.model_validate(
        {
            "docker_image_command": {
                "image": "busybox",
                "tag": "1.36",
                "command": ["true"],
                "environment_variables": list(variables),
            }
        }
    )
    return Attempt(str(uuid.uuid4()), str(uuid.uuid4()), "p", "t", 0, executable, "token")


def test_a_fault_while_starting_fails_the_attempt(
    make_runner: MakeRunner, sink: RecordingSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("injected")

    monkeypatch.setattr("gnomon.runner.kubernetes.runner.build_job_manifest", broken)
    attempt = make_attempt()
    make_runner().start(attempt)
    state = sink.wait_finished(attempt.task_id)
    assert (state.status, state.reason) == (ExecutorStatus.FAILED, "executor error: injected")


def test_an_object_that_cannot_be_judged_fails_only_its_own_attempt(
    make_runner: MakeRunner, cluster: Cluster, sink: RecordingSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_assess = status.assess

    def assess(k8s_job: Any, pods: Any, *, image: str, now: Any) -> Any:
        if image.startswith("broken"):
            raise ValueError("injected")
        return real_assess(k8s_job, pods, image=image, now=now)

    monkeypatch.setattr(attempts, "assess", assess)
    runner = make_runner()
    bad, good = make_attempt(image="broken", task="bad"), make_attempt(task="good")
    runner.start(bad)
    runner.start(good)

    state = sink.wait_finished(bad.task_id)
    assert (state.status, state.reason) == (ExecutorStatus.FAILED, "executor error: injected")
    pod = cluster.add_pod(job_name(good))
    cluster.set_terminated(pod, 0, reason="Completed")
    assert sink.wait_finished(good.task_id).status is ExecutorStatus.SUCCEEDED


def test_a_secret_key_ref_reaches_the_pod_as_a_reference(
    make_runner: MakeRunner, cluster: Cluster, sink: RecordingSink
) -> None:
    reference = {"name": "db-credentials", "key": "password"}
    attempt = attempt_with_variables(
        {"variable_name": "PLAIN", "value": "visible"},
        {"variable_name": "DB_PASSWORD", "value_from": {"secret_key_ref": reference}},
        {"variable_name": "GNOMON_TASK_ID", "value_from": {"secret_key_ref": reference}},
    )
    make_runner().start(attempt)
    sink.wait_for_state(attempt.task_id, ExecutorStatus.INITIALIZING)
    created = cluster.job(job_name(attempt))
    env = {entry.name: entry for entry in created.spec.template.spec.containers[0].env}
    assert env["PLAIN"].value == "visible"
    assert env["DB_PASSWORD"].value is None
    secret = env["DB_PASSWORD"].value_from.secret_key_ref
    assert (secret.name, secret.key) == ("db-credentials", "password")
    assert env["GNOMON_TASK_ID"].value == attempt.task_id  # Gnomon's own variables still win


@pytest.mark.parametrize(
    "source", [{"file": "/run/secrets/db"}, {"host_env": "DB_PASSWORD"}], ids=str
)
def test_a_secret_of_gnomons_host_fails_on_kubernetes_with_a_reason(
    make_runner: MakeRunner, cluster: Cluster, sink: RecordingSink, source: dict[str, str]
) -> None:
    attempt = attempt_with_variables({"variable_name": "DB_PASSWORD", "value_from": source})
    make_runner().start(attempt)
    state = sink.wait_finished(attempt.task_id)
    assert state.status is ExecutorStatus.FAILED
    assert state.reason is not None
    assert "DB_PASSWORD" in state.reason and "use secret_key_ref" in state.reason
    assert cluster.job(job_name(attempt)) is None


def test_a_long_or_invalid_pod_log_line_is_cut_and_cleaned(
    make_runner: MakeRunner, cluster: Cluster, sink: RecordingSink, kubelet: FakeKubelet
) -> None:
    attempt = make_attempt()
    make_runner().start(attempt)
    pod = cluster.add_pod(job_name(attempt), node=kubelet.node)
    kubelet.logs[(cluster.namespace, pod)] = [
        "2026-03-02T12:00:00Z before",
        "2026-03-02T12:00:01Z " + "x" * 3_000_000,
        "2026-03-02T12:00:02Z nul\x00here",
        "2026-03-02T12:00:03Z after",
    ]
    cluster.set_terminated(pod, 0, reason="Completed")
    assert sink.wait_finished(attempt.task_id).status is ExecutorStatus.SUCCEEDED
    before, long, nul, after = (line.message for line in sink.lines(attempt.task_id))
    assert (before, after) == ("before", "after")
    assert long.endswith(CUT_MARK) and len(long) <= MAX_LOG_MESSAGE_CHARS
    assert long.startswith("x" * 1000)
    assert nul == "nul\ufffdhere [gnomon: replaced 1 invalid characters]"
    assert "x" * 100 not in json.dumps([before, nul, after])
