"""Lease handover: a runner whose scheduler lost the lease forgets its attempts, so only the new
holder's runner collects them; the old one reports nothing and deletes nothing."""

from __future__ import annotations

import pytest

from gnomon.runner.base import ExecutorStatus
from gnomon.runner.kubernetes.manifests import job_name
from tests.runner.kubernetes.conftest import MakeRunner
from tests.runner.kubernetes.kube import Cluster, RecordingSink, make_attempt

pytestmark = pytest.mark.kubernetes


def test_a_released_runner_leaves_its_jobs_to_the_new_holder(
    make_runner: MakeRunner, cluster: Cluster
) -> None:
    attempt = make_attempt()
    old_sink, new_sink = RecordingSink(), RecordingSink()
    old = make_runner(target=old_sink)
    old.start(attempt)
    make_runner(target=new_sink).adopt([attempt])
    old.release()
    cluster.set_condition(job_name(attempt), "Failed")
    assert new_sink.wait_finished(attempt.task_id).status is ExecutorStatus.FAILED
    assert [s for s in old_sink.states(attempt.task_id) if s.status.finished] == []
