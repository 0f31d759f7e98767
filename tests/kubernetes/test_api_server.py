"""The CRD against a real API server (marker `kubernetes`; see conftest.py): the CRD is installed
and every example and invalid body is sent as a dry-run create. The server's own checks, defaulting
and pruning have the last word, and its defaulting must equal `apply_defaults` here.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from tests.kubernetes.conftest import CRD_PATH, EXAMPLES, Manifest, load_yaml
from tests.kubernetes.invalid_definitions import INVALID
from tests.kubernetes.structural import JsonSchema, apply_defaults
from tests.waiting import wait_until

GROUP, VERSION, PLURAL = "gnomon.dev", "v1alpha1", "processdefinitions"
# A misspelt field is pruned by servers older than 1.25 (no strict field validation), not rejected.
PRUNED_BEFORE_1_25 = frozenset({"misspelt task field"})


@pytest.fixture(scope="module")
def api_client(kubeconfig: str) -> Iterator[Any]:
    # The client reads $KUBECONFIG once, at import: pass the file explicitly instead.
    api = config.new_client_from_config(config_file=kubeconfig)  # type: ignore[no-untyped-call]
    yield api
    api.close()


@pytest.fixture(scope="module")
def installed_crd(api_client: Any) -> Manifest:
    """The CRD, created or replaced from crds/, once the server has established it."""
    extensions = client.ApiextensionsV1Api(api_client)
    body = load_yaml(CRD_PATH)
    name = body["metadata"]["name"]
    try:
        current: Any = extensions.read_custom_resource_definition(name, _preload_content=False)
    except client.ApiException as exc:
        if exc.status != 404:
            raise
        extensions.create_custom_resource_definition(body, _preload_content=False)
    else:
        body["metadata"]["resourceVersion"] = json.loads(current.data)["metadata"][
            "resourceVersion"
        ]
        extensions.replace_custom_resource_definition(name, body, _preload_content=False)
    return wait_until(
        partial(served_crd, extensions, name),
        lambda served: conditions_of(served).get("Established", {}).get("status") == "True",
        what=f"CRD {name} to be established",
        timeout=30,
        interval=0.2,
        summary=conditions_of,
    )


def served_crd(extensions: Any, name: str) -> Manifest:
    response: Any = extensions.read_custom_resource_definition(name, _preload_content=False)
    served: Manifest = json.loads(response.data)
    return served


def conditions_of(served: Manifest) -> dict[str, Any]:
    """The CRD's status conditions, by type."""
    return {c["type"]: c for c in (served.get("status") or {}).get("conditions") or []}


def dry_run_create(api_client: Any, manifest: Manifest) -> Manifest:
    """The object as the server would store it (defaulted and pruned), without storing it."""
    body = copy.deepcopy(manifest)
    body["metadata"]["name"] = f"{body['metadata']['name']}-{uuid.uuid4().hex[:8]}"
    response: Any = client.CustomObjectsApi(api_client).create_namespaced_custom_object(
        GROUP,
        VERSION,
        "default",
        PLURAL,
        body,
        dry_run="All",
        field_validation="Strict",
        _preload_content=False,
    )
    created: Manifest = json.loads(response.data)
    return created


@pytest.mark.kubernetes
def test_api_server_accepts_the_crd_as_structural(installed_crd: Manifest) -> None:
    conditions = {c["type"]: c["status"] for c in installed_crd["status"]["conditions"]}
    assert conditions.get("NamesAccepted") == "True"
    assert "NonStructuralSchema" not in conditions
    assert installed_crd["status"]["acceptedNames"]["shortNames"] == ["pd"]


@pytest.mark.kubernetes
@pytest.mark.usefixtures("installed_crd")
@pytest.mark.parametrize("path", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_api_server_accepts_and_defaults_example(
    path: Path, api_client: Any, open_api_schema: JsonSchema
) -> None:
    manifest = load_yaml(path)
    stored = dry_run_create(api_client, manifest)
    assert stored["spec"] == apply_defaults(open_api_schema, manifest)["spec"]


@pytest.mark.kubernetes
@pytest.mark.usefixtures("installed_crd")
@pytest.mark.parametrize("case", list(INVALID))
def test_api_server_rejects_invalid_process_definition(
    case: str, valid_definition: Manifest, api_client: Any
) -> None:
    mutate, _ = INVALID[case]
    mutate(valid_definition["spec"])
    try:
        stored = dry_run_create(api_client, valid_definition)
    except client.ApiException as exc:
        assert exc.status in (400, 422), exc.body
        return
    assert case in PRUNED_BEFORE_1_25, f"the API server accepts: {case}"
    assert "max_attempt" not in stored["spec"]["task_definitions"][0]
