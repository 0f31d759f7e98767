"""Two replicas on one KopfPeering, started at the same moment: each change is handled once.

kopf pauses a replica when it sees a live peer of higher priority, but a replica that looks at the
peering before its peers have written themselves into it sees nobody and starts working. Each
replica here has its own store, so a definition in the lower replica's store, or a handler run
logged by its thread, is a change handled twice.
"""

from __future__ import annotations

import logging
import time
from functools import partial
from pathlib import Path

import pytest
from kubernetes import client
from sqlalchemy.engine import Engine

from gnomon.settings import Settings
from gnomon.storage.engine import make_engine
from gnomon.storage.migrate import upgrade
from tests.operator.conftest import PEERING_CRD_FILES, STATUS_INTERVAL, StartOperator, apply_crds
from tests.operator.kube import Kube, wait_for
from tests.operator.test_reconcile import spec, stored
from tests.samples import docker_task

pytestmark = pytest.mark.kubernetes
PEERING = "gnomon"
LAUNCH_GAP_SECONDS = 1.0
HANDLED = "Handler 'processdefinition_change' succeeded."


def make_peering(api: client.ApiClient, namespace: str) -> None:
    for crd_file in PEERING_CRD_FILES:
        apply_crds(api, crd_file)
    client.CustomObjectsApi(api).create_namespaced_custom_object(
        "kopf.dev",
        "v1",
        namespace,
        "kopfpeerings",
        {"apiVersion": "kopf.dev/v1", "kind": "KopfPeering", "metadata": {"name": PEERING}},
    )


def handler_runs(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str | None]]:
    """(resource name, operator thread) for every successful run of the change handler."""
    return [
        (_resource_name(record), record.threadName)
        for record in caplog.records
        if record.name == "kopf.objects" and record.getMessage() == HANDLED
    ]


def _resource_name(record: logging.LogRecord) -> str:
    reference: dict[str, str] = record.__dict__["k8s_ref"]  # kopf's per-object loggers set it
    return reference["name"]


def test_replicas_started_together_handle_each_change_once(
    kube: Kube,
    sqlite_engine: Engine,
    start_operator: StartOperator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="kopf.objects")
    make_peering(kube.api, kube.namespace)
    early = [f"early-{i}" for i in range(4)]
    for name in early:
        kube.create(name, spec())
    low_store = make_engine(f"sqlite:///{tmp_path / 'low.db'}")
    upgrade(low_store)
    settings = Settings(
        operator_namespaces=[kube.namespace],
        operator_peering=PEERING,
        operator_status_interval_seconds=STATUS_INTERVAL,
    )

    # The lower replica, the one that must not work, is launched first, and the higher one a
    # second later: pods of one Deployment never start closer together than that, and it gives
    # the lower one time to look at the peering before the higher one has written itself there.
    low = start_operator(settings=settings, engine=low_store, priority=100, wait=False)
    time.sleep(LAUNCH_GAP_SECONDS)
    high = start_operator(settings=settings, priority=200, wait=False)
    low.wait_started(), high.wait_started()
    for name in early:
        wait_for(partial(kube.ready, name), what=f"{name} Ready")
    late = [f"late-{i}" for i in range(2)]
    for name in late:
        kube.create(name, spec())
    for name in early:
        kube.patch_spec(name, spec(docker_task("changed")))
    for name in early + late:
        wait_for(partial(kube.ready, name), what=f"{name} Ready for its latest generation")
    low.stop()  # first: once the higher one stops, the lower one takes over and resumes all
    high.stop()

    runs = handler_runs(caplog)
    assert sorted(runs) == sorted(
        [(name, high.thread_name) for name in early] * 2
        + [(name, high.thread_name) for name in late]
    )
    for name in early + late:
        assert stored(sqlite_engine, f"{kube.namespace}.{name}") is not None
        assert stored(low_store, f"{kube.namespace}.{name}") is None
    low_store.dispose()
