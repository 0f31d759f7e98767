"""Fixtures for the Kubernetes runner tests: the real API server, a fresh namespace per test, a
recording sink, runners that are closed after each test, and a stand-in kubelet for pod logs.

The API server comes from the repository's sibling tool `../shared/tools/kube-apiserver`; `up` is
idempotent and leaves a running server alone, and this suite never stops it (other suites share
it; CI's `.ci/run` stops it at the end). Without the tool the API-server tests skip, or fail under
GNOMON_REQUIRE_ALL=1. The official client reads $KUBECONFIG once, at import, so every client here
is built from the kubeconfig path explicitly.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest
from kubernetes import client

from gnomon.domain.clock import Clock
from gnomon.runner.kubernetes.runner import KubernetesRunner
from gnomon.settings import Settings
from tests.conftest import skip_or_fail
from tests.runner.kubernetes.kube import Cluster, FakeKubelet, RecordingSink

ROOT = Path(__file__).resolve().parents[3]
TOOL = ROOT.parent / "shared" / "tools" / "kube-apiserver"
INSTANCE = "test-instance"
PUBLIC_URL = "http://gnomon-api.gnomon.svc:8080"

MakeRunner = Callable[..., KubernetesRunner]
_NEW_CLIENT: Any = kubernetes.config.new_client_from_config
"""The client's kubeconfig loader, which carries no type hints."""


@pytest.fixture(scope="session")
def kubeconfig() -> str:
    """Start (or find) the shared API server; the path of its kubeconfig."""
    up = TOOL / "up"
    if not up.is_file():
        skip_or_fail(f"the kube-apiserver tool is missing: {up}")
    result = subprocess.run([str(up)], capture_output=True, text=True, timeout=900, check=False)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines or "KUBECONFIG=" not in lines[-1]:
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        skip_or_fail(f"kube-apiserver did not start (exit {result.returncode}): {tail}")
    return lines[-1].split("=", 1)[1].strip().strip("'\"")


@pytest.fixture
def api_client(kubeconfig: str) -> Iterator[Any]:
    api = _NEW_CLIENT(config_file=kubeconfig)
    yield api
    api.close()


@pytest.fixture
def namespace(api_client: Any) -> Iterator[str]:
    """A fresh namespace: deleted ones stay Terminating on this server, so names never repeat."""
    name = f"gnomon-rk-{uuid.uuid4().hex[:10]}"
    core: Any = client.CoreV1Api(api_client)
    core.create_namespace({"metadata": {"name": name}})
    yield name
    core.delete_namespace(name)


@pytest.fixture
def cluster(api_client: Any, namespace: str) -> Cluster:
    return Cluster(api_client, namespace)


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


def runner_settings(namespace: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": "sqlite://",
        "kubernetes_namespace": namespace,
        "public_url": PUBLIC_URL,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def make_runner(kubeconfig: str, namespace: str, sink: RecordingSink) -> Iterator[MakeRunner]:
    """Builds runners on their own client (as the real one does); all closed after the test."""
    runners: list[tuple[KubernetesRunner, Any]] = []

    def make(
        *,
        target: RecordingSink | None = None,
        instance: str = INSTANCE,
        clock: Clock | None = None,
        **overrides: Any,
    ) -> KubernetesRunner:
        api = _NEW_CLIENT(config_file=kubeconfig)
        settings = runner_settings(namespace, **overrides)
        runner = KubernetesRunner(
            settings, target or sink, instance=instance, api_client=api, clock=clock
        )
        runners.append((runner, api))
        return runner

    yield make
    for runner, api in runners:
        runner.close()
        api.close()


@pytest.fixture(scope="session")
def kubelet(kubeconfig: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeKubelet]:
    """A stand-in kubelet serving pod logs, registered as a Node for the whole session."""
    openssl = shutil.which("openssl") or ""
    if not openssl:
        skip_or_fail("openssl is needed to make the stand-in kubelet's certificate")
    folder = tmp_path_factory.mktemp("kubelet")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    fake = FakeKubelet(cert, key)
    api = _NEW_CLIENT(config_file=kubeconfig)
    core = client.CoreV1Api(api)
    fake.register(core)
    yield fake
    fake.close(core)
    api.close()
