"""Which resources an operator serves: a namespace list, or the whole cluster with peering.

Cluster-wide operators run against a private API server started for this module (a second
instance of the same tool on free ports), so they never touch resources of other test runs that
share the main server. The same server holds kopf's peering CRDs for the two-replica test.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any, cast

import kubernetes.config
import pytest
from kubernetes import client
from sqlalchemy.engine import Engine

from gnomon.settings import Settings
from gnomon.storage.engine import make_engine
from gnomon.storage.migrate import upgrade
from tests.operator.conftest import (
    CRD_FILE,
    PEERING_CRD_FILES,
    STATUS_INTERVAL,
    TOOL,
    StartOperator,
    apply_crds,
    make_namespace,
    new_client,
    start_api_server,
)
from tests.operator.kube import FINALIZER, Kube, wait_for
from tests.operator.test_reconcile import spec, stored

pytestmark = pytest.mark.kubernetes
PEERING = "gnomon"


def test_namespaced_operator_serves_only_its_namespaces(
    kube_api: client.ApiClient, sqlite_engine: Engine, start_operator: StartOperator
) -> None:
    served = [Kube(kube_api, make_namespace(kube_api)) for _ in range(2)]
    other = Kube(kube_api, make_namespace(kube_api))
    other.create("elsewhere", spec())
    for kube in served:
        kube.create("here", spec())
    settings = Settings(
        operator_namespaces=[kube.namespace for kube in served],
        operator_status_interval_seconds=STATUS_INTERVAL,
    )

    start_operator(settings=settings)

    for kube in served:
        wait_for(partial(kube.ready, "here"), what=f"Ready in {kube.namespace}")
        assert stored(sqlite_engine, f"{kube.namespace}.here") is not None
    untouched = other.get("elsewhere") or {}
    assert "status" not in untouched
    assert FINALIZER not in untouched["metadata"].get("finalizers", [])
    assert stored(sqlite_engine, f"{other.namespace}.elsewhere") is None


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


@pytest.fixture(scope="module")
def private_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[client.ApiClient]:
    """A second API server for this module, with the CRD and kopf's peering CRDs."""
    request.getfixturevalue("kubeconfig")  # its setting of the kubeconfig default comes first
    api_port, etcd_port, peer_port = _free_ports(3)
    env = {
        **os.environ,
        "KUBE_STATE_DIR": str(tmp_path_factory.mktemp("kube-state")),
        "KUBE_API_PORT": str(api_port),
        "KUBE_ETCD_PORT": str(etcd_port),
        "KUBE_ETCD_PEER_PORT": str(peer_port),
    }
    path = start_api_server(env)
    try:
        api = new_client(path)
        apply_crds(api, CRD_FILE)
        for crd_file in PEERING_CRD_FILES:
            apply_crds(api, crd_file)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(kubernetes.config.kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", path)
            yield api
        api.close()  # type: ignore[no-untyped-call]
    finally:
        subprocess.run([str(Path(TOOL) / "down")], env=env, capture_output=True, check=False)


def peers(api: client.ApiClient) -> dict[str, Any]:
    peering = client.CustomObjectsApi(api).get_cluster_custom_object(
        "kopf.dev", "v1", "clusterkopfpeerings", PEERING
    )
    return cast(dict[str, Any], peering).get("status") or {}


def test_second_replica_waits_and_takes_over_cluster_wide(
    private_api: client.ApiClient,
    sqlite_engine: Engine,
    start_operator: StartOperator,
    tmp_path: Path,
) -> None:
    client.CustomObjectsApi(private_api).create_cluster_custom_object(
        "kopf.dev",
        "v1",
        "clusterkopfpeerings",
        {"apiVersion": "kopf.dev/v1", "kind": "ClusterKopfPeering", "metadata": {"name": PEERING}},
    )
    standby_engine = make_store(tmp_path)
    settings = Settings(operator_peering=PEERING, operator_status_interval_seconds=STATUS_INTERVAL)
    active = start_operator(settings=settings, priority=200)
    wait_for(lambda: len(peers(private_api)) == 1, what="the first replica in the peering")
    start_operator(settings=settings, engine=standby_engine, priority=100)
    wait_for(lambda: len(peers(private_api)) == 2, what="the second replica in the peering")
    kubes = [Kube(private_api, make_namespace(private_api)) for _ in range(2)]
    for kube in kubes:
        kube.create("job", spec())

    for kube in kubes:
        wait_for(partial(kube.ready, "job"), what=f"Ready in {kube.namespace}")
        assert stored(sqlite_engine, f"{kube.namespace}.job") is not None
        assert stored(standby_engine, f"{kube.namespace}.job") is None

    active.stop()

    for kube in kubes:
        wait_for(
            partial(stored, standby_engine, f"{kube.namespace}.job"),
            what=f"the standby to store {kube.namespace}/job",
        )
    standby_engine.dispose()


def make_store(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'standby.db'}")
    upgrade(engine)
    return engine
