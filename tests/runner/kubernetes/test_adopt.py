"""After a restart a new runner adopts what the old one left: it watches running Jobs again,
collects finished ones, reports vanished ones lost and deletes Jobs that belong to no task."""

from __future__ import annotations

import pytest

from gnomon.runner.base import ExecutorStatus
from gnomon.runner.kubernetes.manifests import job_name
from tests.runner.kubernetes.conftest import MakeRunner
from tests.runner.kubernetes.kube import Cluster, RecordingSink, make_attempt, wait_for

pytestmark = pytest.mark.kubernetes


def test_a_new_runner_adopts_what_the_old_one_left(
    make_runner: MakeRunner, cluster: Cluster
) -> None:
    running, finished, orphan, missing = (make_attempt(task=name) for name in "abcd")
    before = make_runner(target=RecordingSink())
    for attempt in (running, finished, orphan):
        before.start(attempt)
    before.close()
    cluster.set_container(cluster.add_pod(job_name(running)), "Running", {"running": {}})
    cluster.set_condition(job_name(finished), "Complete")

    sink = RecordingSink()
    make_runner(target=sink).adopt([running, finished, missing])

    assert sink.wait_finished(finished.task_id).status is ExecutorStatus.SUCCEEDED
    lost = sink.wait_finished(missing.task_id)
    assert (lost.status, lost.reason) == (ExecutorStatus.FAILED, "lost")
    assert cluster.job(job_name(orphan)) is None
    assert cluster.secret(job_name(orphan)) is None
    assert sink.states(orphan.task_id) == []

    sink.wait_for_state(running.task_id, ExecutorStatus.RUNNING)
    cluster.set_condition(job_name(running), "Complete")
    assert sink.wait_finished(running.task_id).status is ExecutorStatus.SUCCEEDED
    assert cluster.job(job_name(finished)) is not None  # left to ttlSecondsAfterFinished


def test_an_adopted_job_can_be_killed(make_runner: MakeRunner, cluster: Cluster) -> None:
    attempt = make_attempt()
    before = make_runner(target=RecordingSink())
    before.start(attempt)
    before.close()

    sink = RecordingSink()
    after = make_runner(target=sink)
    after.adopt([attempt])
    after.kill(attempt.task_id, "killed by user")
    assert sink.wait_finished(attempt.task_id).reason == "killed by user"
    assert cluster.job(job_name(attempt)) is None


def test_adopt_leaves_other_instances_alone(make_runner: MakeRunner, cluster: Cluster) -> None:
    attempt = make_attempt()
    make_runner(target=RecordingSink(), instance="someone-else").start(attempt)
    make_runner().adopt([])
    assert cluster.job(job_name(attempt)) is not None
    assert cluster.secret(job_name(attempt)) is not None


def test_starting_an_attempt_twice_keeps_one_job(
    make_runner: MakeRunner, cluster: Cluster, sink: RecordingSink
) -> None:
    attempt = make_attempt()
    make_runner(target=RecordingSink()).start(attempt)
    runner = make_runner()
    runner.start(attempt)
    assert sink.wait_for_state(attempt.task_id, ExecutorStatus.INITIALIZING)
    cluster.set_condition(job_name(attempt), "Complete")
    assert sink.wait_finished(attempt.task_id).status is ExecutorStatus.SUCCEEDED
    k8s_jobs = cluster.batch.list_namespaced_job(cluster.namespace).items
    assert [item.metadata.name for item in k8s_jobs] == [job_name(attempt)]
    wait_for(lambda: cluster.secret(job_name(attempt)) is None, what="the token Secret deleted")


def test_a_repeated_start_gives_the_existing_job_its_secret_owned_by_it(
    make_runner: MakeRunner, cluster: Cluster, sink: RecordingSink
) -> None:
    # A scheduler that stopped between creating the Job and its Secret: the next start finds the
    # Job, and the Secret it creates is owned by that Job, so the garbage collector removes it.
    attempt = make_attempt()
    make_runner(target=RecordingSink()).start(attempt)
    cluster.core.delete_namespaced_secret(job_name(attempt), cluster.namespace)
    make_runner().start(attempt)
    sink.wait_for_state(attempt.task_id, ExecutorStatus.INITIALIZING)
    secret = cluster.secret(job_name(attempt))
    assert secret is not None
    (owner,) = secret.metadata.owner_references
    assert (owner.kind, owner.uid) == ("Job", cluster.job(job_name(attempt)).metadata.uid)
