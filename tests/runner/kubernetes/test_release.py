"""Lease handover: a runner whose scheduler lost the lease forgets its attempts, so only the new
holder's runner collects them; the old one reports nothing and deletes nothing."""

from __future__ import annotations

import pytest

from gnomon.runner.base import ExecutorStatus
from gnomon.runner.kubernetes.manifests import job_name
from tests.runner.kubernetes.conftest import MakeRunner
from tests.runner.kubernetes.kube import Cluster, RecordingSink, make_job

pytestmark = pytest.mark.kubernetes


def test_a_released_runner_leaves_its_jobs_to_the_new_holder(
    make_runner: MakeRunner, cluster: Cluster
) -> None:
    job = make_job()
    old_sink, new_sink = RecordingSink(), RecordingSink()
    old = make_runner(target=old_sink)
    old.start(job)
    make_runner(target=new_sink).adopt([job])
    old.release()
    cluster.set_condition(job_name(job), "Failed")
    assert new_sink.wait_finished(job.task_id).status is ExecutorStatus.FAILED
    assert [s for s in old_sink.states(job.task_id) if s.status.finished] == []
