"""Finished Jobs on an API server that ignores `ttlSecondsAfterFinished` (the test server is 1.20,
where the field is alpha and dropped): the runner deletes them, with their token Secrets,
`kubernetes_job_ttl_seconds` after they finished by its clock, also after a restart; never a Job
the server would delete itself, never one of another instance, never while it is collecting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes import client

from gnomon.runner.base import ExecutorStatus
from gnomon.runner.kubernetes.expiry import ExpiringJobs, finished_at
from gnomon.runner.kubernetes.manifests import job_name
from tests.clock import FakeClock
from tests.runner.kubernetes.conftest import MakeRunner
from tests.runner.kubernetes.kube import Cluster, RecordingSink, make_attempt, wait_for

TTL = 600
NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
"""The runners' clock; Jobs finish by the conditions the tests write, relative to it."""


def _gone(cluster: Cluster, name: str) -> bool:
    return cluster.job(name) is None and cluster.secret(name) is None


def _leftover_secret(cluster: Cluster, name: str) -> None:
    """A token Secret still there after collection (as a runner stopped mid-way leaves it)."""
    labels = cluster.job(name).metadata.labels
    body = {"metadata": {"name": name, "labels": labels}, "stringData": {"token": "t"}}
    cluster.core.create_namespaced_secret(cluster.namespace, body)


def _skip_if_the_server_keeps_ttl(cluster: Cluster, name: str) -> None:
    if cluster.job(name).spec.ttl_seconds_after_finished is not None:
        pytest.skip("this API server keeps ttlSecondsAfterFinished and deletes Jobs itself")


@pytest.mark.kubernetes
def test_a_finished_job_is_deleted_with_its_secret_once_its_ttl_has_passed(
    make_runner: MakeRunner, cluster: Cluster, sink: RecordingSink
) -> None:
    clock = FakeClock(NOW)
    runner = make_runner(clock=clock, kubernetes_job_ttl_seconds=TTL)
    early, late, running = (make_attempt(task=name) for name in ("early", "late", "running"))
    for attempt in (early, late, running):
        runner.start(attempt)
    _skip_if_the_server_keeps_ttl(cluster, job_name(early))
    cluster.set_condition(job_name(early), "Complete", at=NOW - timedelta(seconds=TTL - 1))
    cluster.set_condition(job_name(late), "Failed", at=NOW)
    assert sink.wait_finished(early.task_id).status is ExecutorStatus.SUCCEEDED
    assert sink.wait_finished(late.task_id).status is ExecutorStatus.FAILED
    _leftover_secret(cluster, job_name(early))

    clock.advance(1)  # early: TTL seconds after it finished; late: one second after
    wait_for(lambda: _gone(cluster, job_name(early)), what="the early Job and Secret deleted")
    assert cluster.job(job_name(late)) is not None  # the same pass found it not due yet

    clock.advance(TTL * 10)
    wait_for(lambda: _gone(cluster, job_name(late)), what="the late Job deleted")
    assert cluster.job(job_name(running)) is not None  # never finished: never expires
    assert sink.states(running.task_id)[-1].status is ExecutorStatus.INITIALIZING


@pytest.mark.kubernetes
def test_a_job_that_finished_long_ago_is_deleted_after_a_restart(
    make_runner: MakeRunner, cluster: Cluster
) -> None:
    finished = make_attempt()
    before = make_runner(target=RecordingSink(), clock=FakeClock(NOW))
    before.start(finished)
    before.close()
    _skip_if_the_server_keeps_ttl(cluster, job_name(finished))
    cluster.set_condition(job_name(finished), "Complete", at=NOW - timedelta(days=3))

    sink = RecordingSink()
    after = make_runner(target=sink, clock=FakeClock(NOW), kubernetes_job_ttl_seconds=TTL)
    after.adopt([finished])
    assert sink.wait_finished(finished.task_id).status is ExecutorStatus.SUCCEEDED
    wait_for(lambda: _gone(cluster, job_name(finished)), what="the old Job deleted")


@pytest.mark.kubernetes
def test_only_this_instances_jobs_are_deleted(make_runner: MakeRunner, cluster: Cluster) -> None:
    ours, theirs = make_attempt(task="ours"), make_attempt(task="theirs")
    other = make_runner(target=RecordingSink(), instance="someone-else", clock=FakeClock(NOW))
    other.start(theirs)
    other.release()  # the other instance is no longer cleaning up: only ours could delete it
    sink = RecordingSink()
    runner = make_runner(target=sink, clock=FakeClock(NOW), kubernetes_job_ttl_seconds=TTL)
    runner.start(ours)
    _skip_if_the_server_keeps_ttl(cluster, job_name(ours))
    long_ago = NOW - timedelta(days=1)
    cluster.set_condition(job_name(theirs), "Complete", at=long_ago)
    cluster.set_condition(job_name(ours), "Complete", at=long_ago)

    wait_for(lambda: cluster.job(job_name(ours)) is None, what="our Job deleted")
    assert cluster.job(job_name(theirs)) is not None
    assert cluster.secret(job_name(theirs)) is not None


@pytest.mark.kubernetes
def test_a_released_runner_deletes_nothing(make_runner: MakeRunner, cluster: Cluster) -> None:
    attempt, anchor = make_attempt(task="kept"), make_attempt(task="anchor")
    released = make_runner(target=RecordingSink(), clock=FakeClock(NOW))
    released.start(attempt)
    released.release()
    holder = make_runner(
        target=RecordingSink(),
        instance="holder",
        clock=FakeClock(NOW),
        kubernetes_job_ttl_seconds=0,
    )
    holder.start(anchor)
    _skip_if_the_server_keeps_ttl(cluster, job_name(attempt))
    cluster.set_condition(job_name(attempt), "Complete", at=NOW - timedelta(days=1))
    cluster.set_condition(job_name(anchor), "Complete", at=NOW - timedelta(days=1))

    wait_for(lambda: cluster.job(job_name(anchor)) is None, what="the holder's Job deleted")
    # The released runner watches the same events and ticks as often; it deleted nothing.
    assert cluster.job(job_name(attempt)) is not None


# -- the bookkeeping alone ------------------------------------------------------------------------


def _job(
    name: str = "gn-job",
    *,
    instance: str = "me",
    task: str = "task-1",
    finished: datetime | None = NOW,
    ttl: int | None = None,
    deleting: bool = False,
) -> Any:
    conditions = []
    if finished is not None:
        conditions.append(
            client.V1JobCondition(type="Failed", status="True", last_transition_time=finished)
        )
    return client.V1Job(
        metadata=client.V1ObjectMeta(
            name=name,
            labels={"gnomon.dev/instance": instance, "gnomon.dev/task-id": task},
            deletion_timestamp=NOW if deleting else None,
        ),
        spec=client.V1JobSpec(template=client.V1PodTemplateSpec(), ttl_seconds_after_finished=ttl),
        status=client.V1JobStatus(conditions=conditions),
    )


def test_due_after_the_ttl_unless_its_attempt_is_still_being_collected() -> None:
    jobs = ExpiringJobs("me")
    jobs.observe(_job(), NOW)
    assert jobs.due(NOW + timedelta(seconds=TTL - 1), TTL, set()) == []
    assert jobs.due(NOW + timedelta(seconds=TTL), TTL, {"task-1"}) == []
    assert jobs.due(NOW + timedelta(seconds=TTL), TTL, set()) == ["gn-job"]
    assert jobs.due(NOW + timedelta(seconds=TTL + 1), TTL, set()) == []  # handed over once
    assert jobs.due(NOW + timedelta(seconds=TTL + 61), TTL, set()) == ["gn-job"]  # still there


@pytest.mark.parametrize(
    "job",
    [
        _job(ttl=TTL),  # the server keeps the TTL: it deletes the Job itself
        _job(instance="someone-else"),
        _job(finished=None),
        _job(deleting=True),
    ],
    ids=["server-ttl", "other-instance", "not-finished", "being-deleted"],
)
def test_never_due(job: Any) -> None:
    jobs = ExpiringJobs("me")
    jobs.observe(job, NOW)
    assert jobs.due(NOW + timedelta(days=365), 0, set()) == []


def test_a_job_missing_from_a_new_list_is_forgotten() -> None:
    jobs = ExpiringJobs("me")
    jobs.observe(_job("a"), NOW)
    jobs.replace([_job("b", task="task-2")], NOW)
    assert jobs.due(NOW + timedelta(seconds=TTL), TTL, set()) == ["b"]


def test_the_finish_time_is_the_terminal_conditions() -> None:
    assert finished_at(_job(finished=NOW - timedelta(hours=2))) == NOW - timedelta(hours=2)
    assert finished_at(_job(finished=None)) is None
