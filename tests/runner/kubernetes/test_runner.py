"""The Kubernetes runner against a real API server: the Job it creates, and how it follows the
Job and pod status that the test writes in place of the Job controller and the kubelet."""

from __future__ import annotations

import json

import pytest
from kubernetes import client

from gnomon.runner.base import ExecutorStatus
from gnomon.runner.kubernetes.manifests import job_name
from gnomon.runner.kubernetes.runner import KubernetesRunner
from gnomon.settings import Settings
from tests.runner.kubernetes.conftest import INSTANCE, PUBLIC_URL, MakeRunner
from tests.runner.kubernetes.kube import (
    Cluster,
    RecordingSink,
    make_attempt,
    make_shell_attempt,
    wait_for,
)

pytestmark = pytest.mark.kubernetes


def test_start_creates_the_job_and_its_token_secret(
    make_runner: MakeRunner, cluster: Cluster, sink: RecordingSink
) -> None:
    attempt = make_attempt(
        max_runtime_seconds=120,
        memory=256,
        cpu=1024,
        environment={"FOO": "bar", "GNOMON_TASK_ID": "forged"},
    )
    make_runner(kubernetes_job_ttl_seconds=900).start(attempt)

    name = job_name(attempt)
    created = cluster.job(name)
    assert created is not None and len(name) <= 63
    assert created.metadata.labels["gnomon.dev/task-id"] == attempt.task_id
    assert created.metadata.labels["gnomon.dev/instance"] == INSTANCE
    assert created.spec.backoff_limit == 0
    assert created.spec.active_deadline_seconds == 120
    # ttlSecondsAfterFinished is alpha in the test server's 1.20 and dropped there unless its
    # feature gate is on; test_manifests checks the value sent.
    assert created.spec.ttl_seconds_after_finished in (900, None)
    pod = created.spec.template.spec
    assert pod.restart_policy == "Never"
    assert pod.automount_service_account_token is False
    container = pod.containers[0]
    assert container.image == "busybox:1.36"
    assert container.resources.limits == {"memory": "256Mi", "cpu": "1"}
    env = {entry.name: entry for entry in container.env}
    assert env["FOO"].value == "bar"
    assert env["GNOMON_TASK_ID"].value == attempt.task_id
    assert env["GNOMON_URL"].value == PUBLIC_URL
    assert env["GNOMON_TASK_TOKEN"].value is None
    assert env["GNOMON_TASK_TOKEN"].value_from.secret_key_ref.name == name
    assert attempt.token not in json.dumps(cluster.api.sanitize_for_serialization(created))

    secret = cluster.secret(name)
    assert secret.metadata.owner_references[0].uid == created.metadata.uid
    assert secret.metadata.labels["gnomon.dev/task-id"] == attempt.task_id
    state = sink.wait_for_state(attempt.task_id, ExecutorStatus.INITIALIZING)
    assert state.handle == name


def test_a_task_that_asks_gets_the_service_account_token(
    make_runner: MakeRunner, cluster: Cluster
) -> None:
    attempt = make_attempt(mount_service_account_token=True)
    make_runner().start(attempt)
    created = cluster.job(job_name(attempt))
    assert created.spec.template.spec.automount_service_account_token is True


def test_running_pod_then_complete_job_succeeds(
    make_runner: MakeRunner, cluster: Cluster, sink: RecordingSink
) -> None:
    attempt = make_attempt()
    make_runner().start(attempt)
    pod = cluster.add_pod(job_name(attempt))

    cluster.set_container(pod, "Running", {"running": {"startedAt": "2026-03-02T12:00:00Z"}})
    running = sink.wait_for_state(attempt.task_id, ExecutorStatus.RUNNING)
    assert running.details["pod"] == pod

    cluster.set_condition(job_name(attempt), "Complete")
    done = sink.wait_finished(attempt.task_id)
    assert done.status is ExecutorStatus.SUCCEEDED
    assert done.handle == job_name(attempt)
    assert [s.status for s in sink.states(attempt.task_id)] == [
        ExecutorStatus.INITIALIZING,
        ExecutorStatus.RUNNING,
        ExecutorStatus.SUCCEEDED,
    ]
    wait_for(lambda: cluster.secret(job_name(attempt)) is None, what="the token Secret deleted")


def test_failed_job_reports_the_exit_code(
    make_runner: MakeRunner, cluster: Cluster, sink: RecordingSink
) -> None:
    attempt = make_attempt()
    make_runner().start(attempt)
    pod = cluster.add_pod(job_name(attempt))
    cluster.set_terminated(pod, 2)
    cluster.set_condition(job_name(attempt), "Failed", "BackoffLimitExceeded")
    done = sink.wait_finished(attempt.task_id)
    assert (done.status, done.reason) == (ExecutorStatus.FAILED, "exit code 2")
    wait_for(lambda: cluster.secret(job_name(attempt)) is None, what="the token Secret deleted")
    assert len([s for s in sink.states(attempt.task_id) if s.status.finished]) == 1


def test_exit_code_is_reported_once_the_pod_has_terminated(
    make_runner: MakeRunner, cluster: Cluster, sink: RecordingSink
) -> None:
    attempt = make_attempt()
    make_runner().start(attempt)
    pod = cluster.add_pod(job_name(attempt))
    cluster.set_terminated(pod, 2)
    done = sink.wait_finished(attempt.task_id)
    assert (done.status, done.reason) == (ExecutorStatus.FAILED, "exit code 2")


def test_deadline_exceeded_names_max_runtime(
    make_runner: MakeRunner, cluster: Cluster, sink: RecordingSink
) -> None:
    attempt = make_attempt(max_runtime_seconds=1)
    make_runner().start(attempt)
    cluster.set_condition(job_name(attempt), "Failed", "DeadlineExceeded")
    done = sink.wait_finished(attempt.task_id)
    assert (done.status, done.reason) == (ExecutorStatus.FAILED, "exceeded max_runtime_seconds")


def test_image_that_cannot_be_pulled_fails_the_task_and_deletes_the_job(
    make_runner: MakeRunner, cluster: Cluster, sink: RecordingSink
) -> None:
    attempt = make_attempt(image="registry.invalid/nope", tag="1")
    make_runner(kubernetes_image_pull_timeout_seconds=0.3).start(attempt)
    pod = cluster.add_pod(job_name(attempt))
    waiting = {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "x"'}
    cluster.set_container(pod, "Pending", {"waiting": waiting})

    done = sink.wait_finished(attempt.task_id)
    assert done.status is ExecutorStatus.FAILED
    assert done.reason == 'cannot pull image registry.invalid/nope:1: Back-off pulling image "x"'
    assert cluster.job(job_name(attempt)) is None
    assert cluster.secret(job_name(attempt)) is None


def test_unschedulable_pod_fails_the_task_after_its_timeout(
    make_runner: MakeRunner, cluster: Cluster, sink: RecordingSink
) -> None:
    attempt = make_attempt()
    make_runner(kubernetes_unschedulable_timeout_seconds=0.3).start(attempt)
    pod = cluster.add_pod(job_name(attempt))
    condition = {
        "type": "PodScheduled",
        "status": "False",
        "reason": "Unschedulable",
        "message": "0/3 nodes are available: 3 Insufficient memory.",
    }
    status = {"phase": "Pending", "conditions": [condition]}
    cluster.core.patch_namespaced_pod_status(pod, cluster.namespace, {"status": status})

    done = sink.wait_finished(attempt.task_id)
    assert done.reason == "cannot schedule pod: 0/3 nodes are available: 3 Insufficient memory."
    assert cluster.job(job_name(attempt)) is None


def test_pull_errors_are_given_time_to_clear(
    make_runner: MakeRunner, cluster: Cluster, sink: RecordingSink
) -> None:
    attempt = make_attempt()
    make_runner(kubernetes_image_pull_timeout_seconds=60).start(attempt)
    pod = cluster.add_pod(job_name(attempt))
    cluster.set_container(pod, "Pending", {"waiting": {"reason": "ErrImagePull"}})
    cluster.set_container(pod, "Running", {"running": {}})
    sink.wait_for_state(attempt.task_id, ExecutorStatus.RUNNING)
    assert cluster.job(job_name(attempt)) is not None


def test_kill_deletes_the_job_then_reports_the_reason(
    make_runner: MakeRunner, cluster: Cluster, sink: RecordingSink
) -> None:
    attempt = make_attempt()
    runner = make_runner()
    runner.start(attempt)
    cluster.add_pod(job_name(attempt))
    runner.kill(attempt.task_id, "killed by user")
    done = sink.wait_finished(attempt.task_id)
    assert (done.status, done.reason) == (ExecutorStatus.FAILED, "killed by user")
    assert cluster.job(job_name(attempt)) is None
    assert cluster.secret(job_name(attempt)) is None
    runner.kill(attempt.task_id, "again")
    assert len(sink.states(attempt.task_id)) == 2  # INITIALIZING, FAILED: a second kill is a no-op


def test_job_deleted_by_someone_else_is_lost(
    make_runner: MakeRunner, cluster: Cluster, sink: RecordingSink
) -> None:
    attempt = make_attempt()
    make_runner().start(attempt)
    sink.wait_for_state(attempt.task_id, ExecutorStatus.INITIALIZING)
    wait_for(lambda: cluster.job(job_name(attempt)), what="the Job")
    cluster.batch.delete_namespaced_job(job_name(attempt), cluster.namespace)
    done = sink.wait_finished(attempt.task_id)
    assert done.status is ExecutorStatus.FAILED
    assert done.reason is not None and done.reason.startswith("lost")


def test_a_job_the_api_server_rejects_fails_to_start(
    make_runner: MakeRunner, cluster: Cluster, sink: RecordingSink
) -> None:
    attempt = make_attempt(environment={"1 not a name": "x"})
    make_runner().start(attempt)
    [state] = sink.states(attempt.task_id)
    assert state.status is ExecutorStatus.FAILED
    assert state.reason is not None
    assert state.reason.startswith(f"cannot create Kubernetes Job {job_name(attempt)}: ")
    assert cluster.job(job_name(attempt)) is None


def test_shell_scripts_are_refused(make_runner: MakeRunner, sink: RecordingSink) -> None:
    attempt = make_shell_attempt()
    make_runner().start(attempt)
    [state] = sink.states(attempt.task_id)
    assert state.status is ExecutorStatus.FAILED
    assert state.reason == "the kubernetes executor cannot run shell_script_command"


def test_without_a_public_url_the_task_fails_and_no_job_is_created(
    make_runner: MakeRunner, cluster: Cluster, sink: RecordingSink
) -> None:
    # gnomon serve and gnomon scheduler refuse to start so; a runner built anyway must not send
    # a pod that calls back to host.docker.internal, which names nothing in a cluster.
    attempt = make_attempt()
    make_runner(public_url=None).start(attempt)
    [state] = sink.states(attempt.task_id)
    assert state.status is ExecutorStatus.FAILED
    assert state.reason is not None and state.reason.startswith("GNOMON_PUBLIC_URL: required")
    assert cluster.job(job_name(attempt)) is None


def test_healthy_when_the_api_server_answers(make_runner: MakeRunner) -> None:
    assert make_runner().healthy() is None


def test_unhealthy_names_the_problem(namespace: str, sink: RecordingSink) -> None:
    configuration = client.Configuration()
    configuration.host = "https://127.0.0.1:9"
    with client.ApiClient(configuration) as api:
        settings = Settings(database_url="sqlite://", kubernetes_namespace=namespace)
        runner = KubernetesRunner(settings, sink, instance=INSTANCE, api_client=api)
        try:
            reason = runner.healthy()
        finally:
            runner.close()
    assert reason is not None and reason.startswith("Kubernetes API: ")
