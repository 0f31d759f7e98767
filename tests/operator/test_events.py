"""The Events the operator posts, read back from the API server: who posts them, and how often."""

from __future__ import annotations

import logging

import pytest

from tests.operator.conftest import StartOperator
from tests.operator.kube import Kube, wait_for
from tests.operator.test_reconcile import spec
from tests.samples import docker_task

pytestmark = pytest.mark.kubernetes
UNKNOWN_DEPENDENCY = spec(docker_task("a", "ghost"))
CYCLE = spec(docker_task("a", "b"), docker_task("b", "a"))


@pytest.mark.usefixtures("operator")
def test_events_come_from_the_gnomon_operator(kube: Kube) -> None:
    kube.create("bad", UNKNOWN_DEPENDENCY)

    [event] = wait_for(lambda: kube.events("bad", "InvalidSpec"), what="an InvalidSpec event")

    assert event.source.component == "gnomon-operator"
    assert event.reporting_component == "gnomon-operator"
    assert event.reporting_instance  # the host, which in a cluster is the pod's name
    assert event.metadata.name.startswith("gnomon-operator-")


def test_a_restart_over_an_unchanged_invalid_spec_posts_no_second_warning(
    kube: Kube, start_operator: StartOperator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kopf.objects")
    first = start_operator()
    kube.create("bad", UNKNOWN_DEPENDENCY)
    [reported] = wait_for(lambda: kube.events("bad", "InvalidSpec"), what="an InvalidSpec event")
    first.stop()
    caplog.clear()

    start_operator()
    # kopf resumes every resource when it starts: the handler sees the same rejection again.
    wait_for(lambda: _resumed(caplog), what="the restarted operator to resume the resource")
    kube.patch_spec("bad", CYCLE)

    # Events of one object are posted in order, so one from the resume would already be there.
    events = wait_for(
        lambda: [e for e in kube.events("bad", "InvalidSpec") if e.message != reported.message],
        what="an InvalidSpec event for the changed spec",
    )
    assert len(events) == 1 and events[0].type == "Warning"
    assert sorted(e.message for e in kube.events("bad", "InvalidSpec")) == sorted(
        [reported.message, events[0].message]
    )


def _resumed(caplog: pytest.LogCaptureFixture) -> bool:
    return any(r.getMessage().startswith("Resuming is processed") for r in caplog.records)
