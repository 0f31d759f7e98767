"""Fixtures for the operator tests: a real kube-apiserver with the CRD, a fresh namespace per test,
and the operator itself running in a thread of this process against a test store.

The API server comes from the repository's sibling tool `../shared/tools/kube-apiserver` (`up` is
idempotent and leaves an already running server alone; this suite never stops it). Each operator
runs `asyncio.run(operate(...))` in its own thread: kopf cancels every task created in its event
loop after it started when it stops, so it must not share the loop with the tests or with a
second operator.
"""

from __future__ import annotations

import asyncio
import gc
import subprocess
import threading
import uuid
import warnings
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import yaml
from kubernetes import client
from sqlalchemy.engine import Engine

from gnomon.domain.clock import Clock
from gnomon.operator import operate
from gnomon.settings import Settings
from tests.clock import FakeClock
from tests.conftest import skip_or_fail
from tests.operator.kube import Kube, wait_for
from tests.waiting import wait_until


@pytest.fixture(autouse=True)
def _collect_client_sockets() -> Iterator[None]:
    """The official Kubernetes client's connection pools leave sockets to the API server for the
    garbage collector; collect them here, after each operator test, so their ResourceWarning is
    not raised at random inside a later test (where filterwarnings=error fails it)."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT.parent / "shared" / "tools" / "kube-apiserver"
CRD_FILE = ROOT / "crds" / "processdefinitions.gnomon.dev.yaml"
PEERING_CRD_FILES = (
    ROOT / "crds" / "kopfpeerings.kopf.dev.yaml",
    ROOT / "crds" / "clusterkopfpeerings.kopf.dev.yaml",
)
STATUS_INTERVAL = 0.3


def start_api_server(env: dict[str, str] | None = None) -> str:
    """Run the tool's `up`; the kubeconfig path from its last line (skip or fail if impossible)."""
    up = TOOL / "up"
    if not up.is_file():
        skip_or_fail(f"the kube-apiserver tool is missing: {up}")
    result = subprocess.run(
        [str(up)], capture_output=True, text=True, timeout=900, check=False, env=env
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines or "KUBECONFIG=" not in lines[-1]:
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        skip_or_fail(f"kube-apiserver did not start (exit {result.returncode}): {tail}")
    return lines[-1].split("=", 1)[1].strip().strip("'\"")


def apply_crds(api: client.ApiClient, path: Path) -> None:
    """Create or replace every CRD in `path` and wait until each is Established."""
    extensions = client.ApiextensionsV1Api(api)
    for document in yaml.safe_load_all(path.read_text()):
        name = document["metadata"]["name"]
        # 409 on create: it exists, replace it; 409 on replace: another test run on the same
        # server replaced it since it was read, so read it again.
        wait_for(
            partial(_create_or_replace_crd, extensions, document),
            what=f"CRD {name} created or replaced",
        )
        wait_until(
            partial(_crd_status, extensions, name), _established, what=f"CRD {name} Established"
        )


def _create_or_replace_crd(extensions: client.ApiextensionsV1Api, document: Any) -> bool:
    name = document["metadata"]["name"]
    try:
        extensions.create_custom_resource_definition(document)
        return True
    except client.ApiException as exc:
        if exc.status != 409:
            raise
    current = extensions.read_custom_resource_definition(name).to_dict()
    replacement: Any = {**document, "metadata": {**document["metadata"]}}
    replacement["metadata"]["resourceVersion"] = current["metadata"]["resource_version"]
    try:
        extensions.replace_custom_resource_definition(name, replacement)
    except client.ApiException as exc:
        if exc.status != 409:
            raise
        return False
    return True


def _crd_status(extensions: client.ApiextensionsV1Api, name: str) -> dict[str, Any]:
    status: dict[str, Any] = extensions.read_custom_resource_definition(name).to_dict()["status"]
    return status or {}


def _established(status: dict[str, Any]) -> bool:
    conditions = status.get("conditions") or []
    return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)


def new_client(kubeconfig: str) -> client.ApiClient:
    api: client.ApiClient = kubernetes.config.new_client_from_config(  # type: ignore[no-untyped-call]
        config_file=kubeconfig
    )
    return api


@pytest.fixture(scope="session")
def kubeconfig() -> Iterator[str]:
    """The shared API server's kubeconfig, also where kopf's client login looks for it."""
    path = start_api_server()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KUBECONFIG", path)
        # The official client reads $KUBECONFIG once, at import; kopf's login uses that default.
        patch.setattr(kubernetes.config.kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", path)
        yield path


@pytest.fixture(scope="session")
def kube_api(kubeconfig: str) -> Iterator[client.ApiClient]:
    api = new_client(kubeconfig)
    apply_crds(api, CRD_FILE)
    yield api
    api.close()  # type: ignore[no-untyped-call]


def make_namespace(api: client.ApiClient) -> str:
    """A fresh namespace: deleted ones stay Terminating on this server, so names never repeat."""
    name = f"gnomon-op-{uuid.uuid4().hex[:8]}"
    client.CoreV1Api(api).create_namespace(client.V1Namespace(metadata={"name": name}))
    return name


@pytest.fixture
def namespace(kube_api: client.ApiClient) -> str:
    return make_namespace(kube_api)


@pytest.fixture
def kube(kube_api: client.ApiClient, namespace: str) -> Kube:
    return Kube(kube_api, namespace)


@pytest.fixture
def operator_settings(namespace: str) -> Settings:
    return Settings(
        database_url="sqlite://",
        operator_namespaces=[namespace],
        operator_status_interval_seconds=STATUS_INTERVAL,
    )


class OperatorThread:
    """One operator in its own thread and event loop, started and stopped by the test."""

    def __init__(
        self, settings: Settings, engine: Engine, clock: Clock, priority: int | None
    ) -> None:
        self._stop_flag = threading.Event()
        self._ready_flag = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(settings, engine, clock, priority), daemon=True
        )

    def _run(self, settings: Settings, engine: Engine, clock: Clock, priority: int | None) -> None:
        try:
            coroutine = operate(
                settings,
                engine,
                clock=clock,
                priority=priority,
                stop_flag=self._stop_flag,
                ready_flag=self._ready_flag,
            )
            asyncio.run(coroutine)
        except BaseException as exc:  # reported to the test by stop()
            self._error = exc

    @property
    def thread_name(self) -> str:
        """The name of the thread kopf's event loop runs in (its log records carry it)."""
        return self._thread.name

    def launch(self) -> OperatorThread:
        """Start the thread and return at once (`wait_started` waits for kopf's ready flag)."""
        self._thread.start()
        return self

    def start(self) -> OperatorThread:
        return self.launch().wait_started()

    def wait_started(self) -> OperatorThread:
        wait_for(
            lambda: self._ready_flag.is_set() or not self._thread.is_alive(),
            what="the operator to start",
        )
        if not self._thread.is_alive():
            raise AssertionError("the operator stopped while starting") from self._error
        return self

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self._stop_flag.set()
        self._thread.join(timeout=60)
        assert not self._thread.is_alive(), "the operator did not stop within 60 s"
        if self._error is not None:
            raise AssertionError("the operator failed") from self._error


StartOperator = Callable[..., OperatorThread]


@pytest.fixture
def start_operator(
    request: pytest.FixtureRequest,
    operator_settings: Settings,
    sqlite_engine: Engine,
    clock: FakeClock,
) -> Iterator[StartOperator]:
    """Start an operator (default: this test's namespace, the SQLite store, the fake clock).

    With `wait=False` it returns as soon as its thread runs, so a test can start several at the
    same moment and call `wait_started` on each afterwards.
    """
    # kopf discovers resources once, at start (scanning is off): the CRD must exist by then.
    request.getfixturevalue("kube_api")
    running: list[OperatorThread] = []

    def start(*, wait: bool = True, **overrides: Any) -> OperatorThread:
        operator = OperatorThread(
            overrides.get("settings", operator_settings),
            overrides.get("engine", sqlite_engine),
            overrides.get("clock", clock),
            overrides.get("priority"),
        )
        running.append(operator.launch())
        return operator.wait_started() if wait else operator

    yield start
    for operator in running:
        if operator.running:
            operator.stop()


@pytest.fixture
def operator(start_operator: StartOperator) -> OperatorThread:
    return start_operator()
