"""The Kubernetes packaging: the ProcessDefinition CRD, the examples, the Helm chart, the Dockerfile
and skaffold.yaml, checked without a cluster unless one is given.

- Custom resources are validated against the CRD's openAPIV3Schema with jsonschema, after the
  Kubernetes-only keywords are translated, and the CRD is compared with the domain model that the
  REST API uses, so one YAML body means the same thing to `kubectl apply` and to `PUT`.
- The chart is rendered with `helm template` and every object is validated against Kubernetes 1.30's
  schemas by kubernetes-validate in strict mode; a built-in kind it has no schema for is a failure
  (that is how a typo'd apiVersion shows up). Custom kinds are validated against their CRDs.
- With the test API server (marker `kubernetes`; see conftest.py), the CRD is installed and every
  example and invalid body is sent as a dry-run create: the server's own checks, defaulting and
  pruning have the last word, and its defaulting must equal `apply_defaults` here.
"""

from __future__ import annotations

import copy
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pydantic
import pytest
import yaml
from kubernetes import client, config

from gnomon.domain import limits
from gnomon.domain.definitions import ProcessDefinitionSpec
from tests.kubernetes.conftest import (
    CHART,
    NAMESPACE,
    REPO_ROOT,
    Manifest,
    Render,
    run_helm,
)

CRD_PATH = REPO_ROOT / "crds" / "processdefinitions.gnomon.dev.yaml"
CRD_PATHS = sorted((REPO_ROOT / "crds").glob("*.yaml"))
EXAMPLES = sorted((REPO_ROOT / "examples").glob("*.yaml"))
KUBERNETES_VERSION = "1.30"
# Custom resources the chart may render: kubernetes-validate has no schema for them. Those whose CRD
# is in crds/ are validated against it instead; ServiceMonitor is checked field by field below.
CUSTOM_KINDS = frozenset({"ServiceMonitor", "ClusterKopfPeering", "KopfPeering"})
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
JsonSchema = dict[str, Any]

VALUE_SETS = {
    "defaults": (),
    "watch-namespaces": ("--set", "watchNamespaces={a,b}"),
    "service-monitor": ("--set", "serviceMonitor.enabled=true"),
    "existing-secret": ("--set", "existingSecret=gnomon-env", "--set", "jobs.namespace=batch"),
    "standalone-operator": (
        "--set",
        "operator.peering.enabled=false",
        "--set",
        "operator.replicas=1",
    ),
}


# ---- helpers ---------------------------------------------------------------------------------


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def to_json_schema(node: JsonSchema) -> JsonSchema:
    """A Kubernetes structural schema as plain JSON Schema.

    `x-kubernetes-*` keys are dropped; `nullable` and `x-kubernetes-int-or-string` become JSON
    Schema types. An object with `properties` gets `additionalProperties: false` unless it keeps
    unknown fields: the API server prunes them and kubectl's strict field validation rejects them,
    and rejecting them here is what catches a misspelt field in an example.
    """
    out: JsonSchema = {}
    for key, value in node.items():
        if key.startswith("x-kubernetes-") or key == "nullable":
            continue
        if key == "properties":
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = to_json_schema(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [to_json_schema(sub) for sub in value]
        else:
            out[key] = copy.deepcopy(value)
    if node.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"]
    if node.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if (
        "properties" in node
        and "additionalProperties" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def validator_for(schema: JsonSchema) -> jsonschema.Draft202012Validator:
    """A validator of whole objects. apiVersion, kind and metadata are implicit at the root of
    every CRD's schema; metadata is ObjectMeta, which the API server checks itself."""
    schema = copy.deepcopy(schema)
    properties = schema.setdefault("properties", {})
    properties.setdefault("apiVersion", {"type": "string"})
    properties.setdefault("kind", {"type": "string"})
    properties.setdefault("metadata", {"type": "object"})
    properties["metadata"].pop("additionalProperties", None)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def apply_defaults(schema: JsonSchema, value: Any) -> Any:
    """`value` with the schema's defaults filled in, as the API server does before validating."""
    if isinstance(value, dict) and "properties" in schema:
        properties: dict[str, JsonSchema] = schema["properties"]
        result = {
            key: apply_defaults(properties[key], item) if key in properties else item
            for key, item in value.items()
        }
        for key, sub in properties.items():
            if key not in result and "default" in sub:
                result[key] = apply_defaults(sub, copy.deepcopy(sub["default"]))
        return result
    if isinstance(value, list) and "items" in schema:
        return [apply_defaults(schema["items"], item) for item in value]
    return value


def schema_nodes(schema: JsonSchema, path: str = "") -> Iterator[tuple[str, JsonSchema]]:
    """Every subschema reachable through properties and items, with its dotted path."""
    yield path, schema
    for name, sub in schema.get("properties", {}).items():
        yield from schema_nodes(sub, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from schema_nodes(schema["items"], f"{path}[]")


def resolve(node: JsonSchema, root: JsonSchema) -> JsonSchema:
    """A pydantic JSON Schema node with `$ref` and `X | None` unwrapped."""
    while True:
        outer = {key: value for key, value in node.items() if key not in ("$ref", "anyOf")}
        if "$ref" in node:
            node = {**root["$defs"][node["$ref"].rsplit("/", 1)[-1]], **outer}
            continue
        options = [option for option in node.get("anyOf", []) if option.get("type") != "null"]
        if len(options) == 1:
            node = {**options[0], **outer}
            continue
        return node


COMPARED_KEYWORDS = (
    "type",
    "enum",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
)


def schema_differences(
    crd: JsonSchema, model: JsonSchema, root: JsonSchema, path: str
) -> list[str]:
    """Where the CRD's schema and the domain model's JSON Schema disagree on structure."""
    model = resolve(model, root)
    problems = [
        f"{path}: {key} is {crd.get(key)!r} in the CRD but {model.get(key)!r} in the model"
        for key in COMPARED_KEYWORDS
        if crd.get(key) != model.get(key)
    ]
    if crd.get("type") == "object":
        crd_fields, model_fields = crd.get("properties", {}), model.get("properties", {})
        if set(crd_fields) != set(model_fields):
            problems.append(f"{path}: fields {sorted(crd_fields)} != {sorted(model_fields)}")
        if set(crd.get("required", [])) != set(model.get("required", [])):
            problems.append(
                f"{path}: required {crd.get('required', [])} != {model.get('required', [])}"
            )
        for name in sorted(crd_fields.keys() & model_fields.keys()):
            problems += schema_differences(
                crd_fields[name], model_fields[name], root, f"{path}.{name}"
            )
    if crd.get("type") == "array":
        problems += schema_differences(crd["items"], model["items"], root, f"{path}[]")
    return problems


def by_kind(manifests: list[Manifest], kind: str) -> list[Manifest]:
    return [manifest for manifest in manifests if manifest["kind"] == kind]


def named(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    (found,) = [m for m in by_kind(manifests, kind) if m["metadata"]["name"] == name]
    return found


def pod_specs(manifests: list[Manifest]) -> dict[str, JsonSchema]:
    """The pod spec of every workload, by `Kind/name`."""
    return {
        f"{m['kind']}/{m['metadata']['name']}": m["spec"]["template"]["spec"]
        for m in manifests
        if m["kind"] in ("Deployment", "Job")
    }


def env_of(container: JsonSchema) -> dict[str, Any]:
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}


def rules_of(role: Manifest) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def keys_of(values: Any, prefix: str = "") -> Iterator[str]:
    """Dotted paths of every key in a values tree (lists and free-form maps are leaves)."""
    if isinstance(values, dict):
        for key, value in values.items():
            path = f"{prefix}.{key}" if prefix else key
            yield path
            yield from keys_of(value, path)


# ---- fixtures --------------------------------------------------------------------------------


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


# ---- the CRD ---------------------------------------------------------------------------------


def test_chart_crds_are_copies_of_the_source() -> None:
    chart_crds = CHART / "crds"
    assert sorted(path.name for path in chart_crds.glob("*")) == [path.name for path in CRD_PATHS]
    for source in CRD_PATHS:
        assert (chart_crds / source.name).read_bytes() == source.read_bytes(), (
            f"copy {source.relative_to(REPO_ROOT)} to {chart_crds.relative_to(REPO_ROOT)}/"
        )


@pytest.mark.parametrize("path", CRD_PATHS, ids=[path.name for path in CRD_PATHS])
def test_crd_file_holds_one_crd_named_after_it(path: Path) -> None:
    (crd,) = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    assert crd["kind"] == "CustomResourceDefinition"
    names = crd["spec"]["names"]
    assert (
        path.name
        == f"{names['plural']}.{crd['spec']['group']}.yaml"
        == f"{crd['metadata']['name']}.yaml"
    )
    kubernetes_validate.validate(crd, KUBERNETES_VERSION, strict=True)


def test_crd_names_and_version(crd: Manifest) -> None:
    spec = crd["spec"]
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["metadata"]["name"] == "processdefinitions.gnomon.dev"
    assert (spec["group"], spec["scope"]) == ("gnomon.dev", "Namespaced")
    assert spec["names"]["kind"] == "ProcessDefinition"
    assert (spec["names"]["plural"], spec["names"]["singular"]) == (
        "processdefinitions",
        "processdefinition",
    )
    assert spec["names"]["shortNames"] == ["pd"]
    (version,) = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert version["subresources"] == {"status": {}}
    columns = {c["name"]: (c["jsonPath"], c["type"]) for c in version["additionalPrinterColumns"]}
    assert columns == {
        "Schedule": (".status.schedule", "string"),
        "Paused": (".spec.paused", "boolean"),
        "Last Status": (".status.lastStatus", "string"),
        "Next Run": (".status.nextRun", "string"),
        "Age": (".metadata.creationTimestamp", "date"),
    }


def test_status_fields_written_by_the_operator(open_api_schema: JsonSchema) -> None:
    status = open_api_schema["properties"]["status"]
    assert not status.get("x-kubernetes-preserve-unknown-fields")
    assert {
        "observedGeneration",
        "definitionName",
        "schedule",
        "nextRun",
        "lastRun",
        "lastStatus",
        "runningProcessId",
        "conditions",
    } <= set(status["properties"])
    condition = status["properties"]["conditions"]["items"]
    assert {"type", "status", "reason", "message", "lastTransitionTime"} <= set(
        condition["properties"]
    )


def test_unions_take_exactly_one_member(open_api_schema: JsonSchema) -> None:
    spec = open_api_schema["properties"]["spec"]["properties"]
    task = spec["task_definitions"]["items"]["properties"]
    unions = {
        "schedule": spec["schedule"],
        "executable": task["executable"],
        "notification": spec["notifications"]["items"],
    }
    members = {name: set(union["properties"]) for name, union in unions.items()}
    assert members == {
        "schedule": {"cron_schedule", "continuous_schedule"},
        "executable": {"docker_image_command", "batch_image_command", "shell_script_command"},
        "notification": {"email", "pagerduty", "webhook"},
    }
    for union in unions.values():
        assert (union["minProperties"], union["maxProperties"]) == (1, 1)


def test_every_default_is_valid_for_its_own_schema(open_api_schema: JsonSchema) -> None:
    defaults = [(path, node) for path, node in schema_nodes(open_api_schema) if "default" in node]
    assert len(defaults) >= 15, "the documented defaults are missing from the CRD"
    for path, node in defaults:
        schema = to_json_schema({key: value for key, value in node.items() if key != "default"})
        errors = list(jsonschema.Draft202012Validator(schema).iter_errors(node["default"]))
        assert not errors, f"default of {path}: {errors[0].message}"


def test_crd_schema_matches_the_domain_model(open_api_schema: JsonSchema) -> None:
    model = ProcessDefinitionSpec.model_json_schema(by_alias=True)
    crd_spec = open_api_schema["properties"]["spec"]
    assert schema_differences(crd_spec, model, model, "spec") == []


def unbounded_nodes(schema: JsonSchema, root: JsonSchema, path: str = "spec") -> Iterator[str]:
    """Paths of the numbers, strings and lists under `schema` that state no maximum."""
    node = resolve(schema, root)
    kind = node.get("type")
    if kind in ("integer", "number") and "maximum" not in node:
        yield f"{path}: no maximum"
    if kind == "string" and "maxLength" not in node and "enum" not in node:
        yield f"{path}: no maxLength"
    if kind == "array":
        if "maxItems" not in node:
            yield f"{path}: no maxItems"
        yield from unbounded_nodes(node["items"], root, f"{path}[]")
    for name, sub in node.get("properties", {}).items():
        yield from unbounded_nodes(sub, root, f"{path}.{name}")


def test_every_number_string_and_list_of_the_spec_has_a_maximum(
    open_api_schema: JsonSchema,
) -> None:
    crd_spec = open_api_schema["properties"]["spec"]
    assert list(unbounded_nodes(crd_spec, crd_spec)) == []
    model = ProcessDefinitionSpec.model_json_schema(by_alias=True)
    assert list(unbounded_nodes(model, model)) == []


# ---- examples --------------------------------------------------------------------------------


def test_examples_cover_every_kind_of_schedule_executable_and_notification() -> None:
    names = {path.name for path in EXAMPLES}
    assert {
        "cron-docker.yaml",
        "continuous-docker.yaml",
        "manual-shell.yaml",
        "batch-image.yaml",
        "dag-with-notifications.yaml",
    } <= names
    specs = [load_yaml(path)["spec"] for path in EXAMPLES]
    schedules = {next(iter(spec.get("schedule", {"none": None}))) for spec in specs}
    executables = {
        next(iter(task["executable"])) for spec in specs for task in spec["task_definitions"]
    }
    notifications = {
        next(iter(notification)) for spec in specs for notification in spec.get("notifications", [])
    }
    assert schedules == {"cron_schedule", "continuous_schedule", "none"}
    assert executables == {"docker_image_command", "batch_image_command", "shell_script_command"}
    assert notifications == {"email", "pagerduty", "webhook"}


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_example_is_a_valid_process_definition(
    path: Path, cr_validator: jsonschema.Draft202012Validator, open_api_schema: JsonSchema
) -> None:
    (manifest,) = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    assert (manifest["apiVersion"], manifest["kind"]) == (
        "gnomon.dev/v1alpha1",
        "ProcessDefinition",
    )
    assert DNS_SUBDOMAIN.match(manifest["metadata"]["name"])
    cr_validator.validate(manifest)

    defaulted = apply_defaults(open_api_schema, manifest)
    cr_validator.validate(defaulted)
    # The CRD's defaults are the domain model's: the API server's defaulting changes nothing the
    # REST API would not have filled in the same way.
    as_sent = ProcessDefinitionSpec.model_validate(manifest["spec"])
    as_stored = ProcessDefinitionSpec.model_validate(defaulted["spec"])
    assert as_stored.model_dump(by_alias=True) == as_sent.model_dump(by_alias=True)

    tasks = [task["task_definition_name"] for task in manifest["spec"]["task_definitions"]]
    assert len(tasks) == len(set(tasks))
    for task in manifest["spec"]["task_definitions"]:
        for dependency in task.get("dependencies", []):
            assert dependency["task_definition_name"] in tasks


def test_dag_example_is_a_diamond_with_an_optional_dependency(valid_definition: Manifest) -> None:
    tasks = {t["task_definition_name"]: t for t in valid_definition["spec"]["task_definitions"]}
    needs = {
        name: {
            d["task_definition_name"]: d.get("success_required", True) for d in t["dependencies"]
        }
        for name, t in tasks.items()
        if t.get("dependencies")
    }
    assert needs == {
        "transform-orders": {"extract": True},
        "transform-stock": {"extract": True},
        "load": {"transform-orders": True, "transform-stock": False},
    }
    assert "dependencies" not in tasks["extract"]


def _without_task_definitions(spec: dict[str, Any]) -> None:
    del spec["task_definitions"]


def _first_task(spec: dict[str, Any]) -> dict[str, Any]:
    task: dict[str, Any] = spec["task_definitions"][0]
    return task


INVALID: dict[str, tuple[Callable[[dict[str, Any]], object], str]] = {
    "two schedule members": (
        lambda spec: spec["schedule"].update(continuous_schedule={"buffer_seconds": 5}),
        "schedule",
    ),
    "no schedule member": (lambda spec: spec.update(schedule={}), "schedule"),
    "unknown schedule member": (
        lambda spec: spec.update(schedule={"cron": {"minutes": "0"}}),
        "schedule",
    ),
    "unknown overlap_action": (
        lambda spec: spec.update(overlap_action="overlap"),
        "overlap_action",
    ),
    "unknown notify_when": (
        lambda spec: spec["notifications"][0]["email"].update(notify_when="sometimes"),
        "notifications.0.email.notify_when",
    ),
    "negative max_attempts": (
        lambda spec: _first_task(spec).update(max_attempts=-1),
        "task_definitions.0.max_attempts",
    ),
    "negative buffer_seconds": (
        lambda spec: spec.update(schedule={"continuous_schedule": {"buffer_seconds": -1}}),
        "schedule.continuous_schedule.buffer_seconds",
    ),
    "missing task_definitions": (_without_task_definitions, "spec"),
    "two executables": (
        lambda spec: _first_task(spec)["executable"].update(shell_script_command={"script": "x"}),
        "task_definitions.0.executable",
    ),
    "missing cron field": (
        lambda spec: spec["schedule"]["cron_schedule"].pop("minutes"),
        "schedule.cron_schedule",
    ),
    "misspelt task field": (
        lambda spec: _first_task(spec).update(max_attempt=3),
        "task_definitions.0",
    ),
    "pagerduty without service_key": (
        lambda spec: spec["notifications"][1]["pagerduty"].pop("service_key"),
        "notifications.1.pagerduty",
    ),
    # Maxima (issue 9): nothing the API server stores may overflow the scheduler's arithmetic.
    "buffer_seconds over a year": (
        lambda spec: spec.update(schedule={"continuous_schedule": {"buffer_seconds": 10**12}}),
        "schedule.continuous_schedule.buffer_seconds",
    ),
    "starting_deadline_seconds over a year": (
        lambda spec: spec["schedule"]["cron_schedule"].update(starting_deadline_seconds=10**12),
        "schedule.cron_schedule.starting_deadline_seconds",
    ),
    "max_runtime_seconds over a year": (
        lambda spec: _first_task(spec).update(max_runtime_seconds=limits.MAX_SECONDS + 1),
        "task_definitions.0.max_runtime_seconds",
    ),
    "backoff_base_seconds over a year": (
        lambda spec: _first_task(spec).update(backoff_base_seconds=10**15),
        "task_definitions.0.backoff_base_seconds",
    ),
    "backoff_exponent over ten": (
        lambda spec: _first_task(spec).update(backoff_exponent=1e308),
        "task_definitions.0.backoff_exponent",
    ),
    "max_attempts over a hundred": (
        lambda spec: _first_task(spec).update(max_attempts=101),
        "task_definitions.0.max_attempts",
    ),
    "boolean max_attempts": (
        lambda spec: _first_task(spec).update(max_attempts=True),
        "task_definitions.0.max_attempts",
    ),
    "huge memory": (
        lambda spec: _first_task(spec)["executable"]["docker_image_command"].update(memory=10**15),
        "task_definitions.0.executable.docker_image_command.memory",
    ),
    "too many tasks": (
        lambda spec: spec.update(
            task_definitions=[
                {**_first_task(spec), "task_definition_name": f"t{i}"}
                for i in range(limits.MAX_TASKS_PER_DEFINITION + 1)
            ]
        ),
        "task_definitions",
    ),
    "too many command items": (
        lambda spec: _first_task(spec)["executable"]["docker_image_command"].update(
            command=["x"] * (limits.MAX_COMMAND_ITEMS + 1)
        ),
        "task_definitions.0.executable.docker_image_command.command",
    ),
    "description too long": (
        lambda spec: spec.update(process_description="d" * (limits.MAX_TEXT_CHARS + 1)),
        "process_description",
    ),
    "file:// webhook": (
        lambda spec: spec["notifications"][2]["webhook"].update(url="file:///etc/passwd"),
        "notifications.2.webhook.url",
    ),
    "null webhook": (
        lambda spec: spec["notifications"][2].update(webhook=None),
        "notifications.2.webhook",
    ),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_process_definition_is_rejected(
    case: str, valid_definition: Manifest, cr_validator: jsonschema.Draft202012Validator
) -> None:
    mutate, where = INVALID[case]
    mutate(valid_definition["spec"])

    errors = list(cr_validator.iter_errors(valid_definition))
    assert errors, f"the CRD schema accepts: {case}"
    paths = {".".join(str(part) for part in error.absolute_path) for error in errors}
    assert f"spec.{where}" in paths or (where == "spec" and "spec" in paths), paths
    # The REST API's model rejects it too.
    with pytest.raises(pydantic.ValidationError):
        ProcessDefinitionSpec.model_validate(valid_definition["spec"])


# ---- the chart, without helm -----------------------------------------------------------------


def test_values_match_their_schema() -> None:
    values = load_yaml(CHART / "values.yaml")
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["additionalProperties"] is False
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    validator.validate(values)

    for path in keys_of(values):
        node = schema
        for part in path.split("."):
            if "properties" not in node:
                break  # a map (resources, nodeSelector, ...) or a free-form Kubernetes object
            assert part in node["properties"], f"values.schema.json lacks {path}"
            node = node["properties"][part]

    standalone = {"enabled": False, "name": ""}
    for bad in (
        {"replicaCount": 2},
        {"operator": {**values["operator"], "peering": standalone, "replicas": 2}},
        {"watchNamespaces": ["Not_A_Namespace"]},
    ):
        assert list(validator.iter_errors({**values, **bad})), f"the schema accepts {bad}"
    validator.validate(
        {**values, "operator": {**values["operator"], "peering": standalone, "replicas": 1}}
    )


def test_chart_metadata() -> None:
    chart = load_yaml(CHART / "Chart.yaml")
    assert (chart["apiVersion"], chart["name"], chart["appVersion"]) == ("v2", "gnomon", "0.1.0")
    assert load_yaml(CHART / "values.yaml")["image"] == {
        "repository": "gnomon",
        "tag": "",
        "pullPolicy": "IfNotPresent",
    }


def test_yaml_files_load() -> None:
    paths = [
        REPO_ROOT / "skaffold.yaml",
        *REPO_ROOT.joinpath("crds").glob("*.yaml"),
        *EXAMPLES,
        CHART / "Chart.yaml",
        CHART / "values.yaml",
        *CHART.joinpath("crds").glob("*.yaml"),
    ]
    for path in paths:
        assert [doc for doc in yaml.safe_load_all(path.read_text()) if doc], path


# ---- Dockerfile and skaffold -----------------------------------------------------------------


def test_dockerfile_runs_gnomon_as_an_unprivileged_user() -> None:
    lines = [
        line.strip()
        for line in (REPO_ROOT / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    bases = [line.split()[1] for line in lines if line.startswith("FROM ")]
    assert bases == ["python:${PYTHON_VERSION}-slim"] * 2
    assert "ARG PYTHON_VERSION=3.11" in lines
    assert "USER 10001:10001" in lines
    assert "EXPOSE 8080" in lines
    assert lines[-2:] == ['ENTRYPOINT ["gnomon"]', 'CMD ["serve"]']
    ignored = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    assert {"*", "!pyproject.toml", "!src/"} <= set(ignored)


def test_skaffold_builds_the_image_the_chart_deploys() -> None:
    config = load_yaml(REPO_ROOT / "skaffold.yaml")
    assert config["apiVersion"].startswith("skaffold/v4")
    (artifact,) = config["build"]["artifacts"]
    assert artifact["image"] == "gnomon"
    assert artifact["docker"]["dockerfile"] == "Dockerfile"
    helm = config["deploy"]["helm"]
    (release,) = helm["releases"]
    assert (REPO_ROOT / release["chartPath"]).resolve() == CHART
    templates = release["setValueTemplates"]
    assert templates["image.repository"] == "{{.IMAGE_REPO_gnomon}}"
    assert templates["image.tag"] == "{{.IMAGE_TAG_gnomon}}@{{.IMAGE_DIGEST_gnomon}}"
    (hook,) = helm["hooks"]["before"]
    assert "apply" in hook["host"]["command"][-1] and "crds/" in hook["host"]["command"][-1]


# ---- the chart, rendered -----------------------------------------------------------------------


def test_kubernetes_validate_is_strict() -> None:
    """Guards the tool: an unknown field and an unknown apiVersion must not pass silently."""
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "x", "image": "x", "comand": ["x"]}]},
            },
        },
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        kubernetes_validate.validate(
            {**deployment, "apiVersion": "app/v1"}, KUBERNETES_VERSION, strict=True
        )


@pytest.mark.helm
@pytest.mark.parametrize("values", list(VALUE_SETS))
def test_helm_lint_strict(values: str, helm: Path) -> None:
    run_helm(helm, "lint", "--strict", str(CHART), *VALUE_SETS[values])


@pytest.mark.helm
@pytest.mark.parametrize("values", list(VALUE_SETS))
def test_rendered_chart_is_valid_for_kubernetes_1_30(values: str, render: Render) -> None:
    manifests = render(*VALUE_SETS[values])
    crds = {
        (crd["spec"]["group"], crd["spec"]["names"]["kind"]): crd
        for crd in by_kind(manifests, "CustomResourceDefinition")
    }
    failures = []
    for manifest in manifests:
        where = f"{manifest['kind']}/{manifest['metadata']['name']}"
        if manifest["kind"] in CUSTOM_KINDS:
            crd = crds.get((manifest["apiVersion"].split("/")[0], manifest["kind"]))
            if crd is not None:
                (version,) = crd["spec"]["versions"]
                schema = to_json_schema(version["schema"]["openAPIV3Schema"])
                failures += [
                    f"{where}: {e.message}" for e in validator_for(schema).iter_errors(manifest)
                ]
            continue
        try:
            kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError as exc:
            failures.append(f"{where}: {exc.message}")
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(part) for part in exc.path)
            failures.append(f"{where}: {path}: {exc.message}")
    assert not failures, "\n".join(failures)


@pytest.mark.helm
def test_chart_renders_every_component(render: Render) -> None:
    manifests = render()
    kinds = sorted(f"{m['kind']}/{m['metadata']['name']}" for m in manifests)
    assert kinds == [
        "ClusterKopfPeering/gnomon-gnomon",
        "ClusterRole/gnomon-gnomon-definitions",
        "ClusterRoleBinding/gnomon-gnomon-definitions",
        "CustomResourceDefinition/clusterkopfpeerings.kopf.dev",
        "CustomResourceDefinition/kopfpeerings.kopf.dev",
        "CustomResourceDefinition/processdefinitions.gnomon.dev",
        "Deployment/gnomon-api",
        "Deployment/gnomon-operator",
        "Deployment/gnomon-scheduler",
        "Job/gnomon-migrate",
        "Role/gnomon-jobs",
        "RoleBinding/gnomon-jobs",
        "Secret/gnomon",
        "Secret/gnomon-migrate",
        "Service/gnomon-api",
        "ServiceAccount/gnomon",
    ]
    for path in CRD_PATHS:
        assert named(manifests, "CustomResourceDefinition", path.stem) == load_yaml(path)


@pytest.mark.helm
@pytest.mark.parametrize("values", list(VALUE_SETS))
def test_pods_run_as_non_root(values: str, render: Render) -> None:
    for where, pod in pod_specs(render(*VALUE_SETS[values])).items():
        context = pod["securityContext"]
        assert context["runAsNonRoot"] is True, where
        assert context["runAsUser"] == 10001, where
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}, where
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["runAsNonRoot"] is True, where
            assert security["runAsUser"] == 10001, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"] == {"drop": ["ALL"]}, where
            assert container["resources"]["requests"] and container["resources"]["limits"]
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"], where


@pytest.mark.helm
def test_components_run_their_gnomon_command(render: Render) -> None:
    manifests = render()
    expected = {"api": 2, "scheduler": 1, "operator": 2}
    for component, replicas in expected.items():
        deployment = named(manifests, "Deployment", f"gnomon-{component}")
        assert deployment["spec"]["replicas"] == replicas
        template = deployment["spec"]["template"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= (
            template["metadata"]["labels"].items()
        )
        (container,) = template["spec"]["containers"]
        assert [*container["command"], *container["args"]] == ["gnomon", component]
        assert container["image"] == "gnomon:0.1.0"
        assert container["envFrom"] == [{"secretRef": {"name": "gnomon"}}]
        env = env_of(container)
        assert env["GNOMON_PUBLIC_URL"] == f"http://gnomon-api.{NAMESPACE}.svc"

    scheduler = named(manifests, "Deployment", "gnomon-scheduler")["spec"]["template"]["spec"]
    env = env_of(scheduler["containers"][0])
    assert (env["GNOMON_EXECUTOR"], env["GNOMON_KUBERNETES_NAMESPACE"]) == ("kubernetes", NAMESPACE)
    assert scheduler["serviceAccountName"] == "gnomon"

    operator = named(manifests, "Deployment", "gnomon-operator")["spec"]["template"]["spec"]
    env = env_of(operator["containers"][0])
    assert json.loads(env["GNOMON_OPERATOR_NAMESPACES"]) == []
    assert env["GNOMON_OPERATOR_PEERING"] == "gnomon-gnomon"
    assert env["POD_ID"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert operator["serviceAccountName"] == "gnomon"

    api = named(manifests, "Deployment", "gnomon-api")["spec"]["template"]["spec"]
    assert api["automountServiceAccountToken"] is False


@pytest.mark.helm
def test_api_is_served_on_port_80_and_probed_on_the_healthcheck(render: Render) -> None:
    manifests = render()
    pod = named(manifests, "Deployment", "gnomon-api")["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/_internal_/healthcheck", "port": "http"}
    service = named(manifests, "Service", "gnomon-api")
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}
    ]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()


@pytest.mark.helm
def test_rbac_is_cluster_wide_by_default(render: Render) -> None:
    manifests = render()
    (cluster_role,) = by_kind(manifests, "ClusterRole")
    (binding,) = by_kind(manifests, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == cluster_role["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "gnomon", "namespace": NAMESPACE}
    ]
    assert rules_of(cluster_role) == DEFINITION_RULES | CLUSTER_PEERING_RULES
    (jobs_role,) = by_kind(manifests, "Role")
    assert jobs_role["metadata"]["namespace"] == NAMESPACE
    assert rules_of(jobs_role) == JOB_RULES


@pytest.mark.helm
def test_rbac_is_per_namespace_with_watch_namespaces(render: Render) -> None:
    manifests = render(*VALUE_SETS["watch-namespaces"])
    assert not by_kind(manifests, "ClusterRole") and not by_kind(manifests, "ClusterRoleBinding")
    roles = {
        (r["metadata"]["namespace"], r["metadata"]["name"]): r for r in by_kind(manifests, "Role")
    }
    assert set(roles) == {
        ("a", "gnomon-definitions"),
        ("b", "gnomon-definitions"),
        (NAMESPACE, "gnomon-jobs"),
    }
    for (namespace, name), role in roles.items():
        expected = JOB_RULES if name == "gnomon-jobs" else DEFINITION_RULES | PEERING_RULES
        assert rules_of(role) == expected
        (binding,) = [
            b
            for b in by_kind(manifests, "RoleBinding")
            if b["metadata"]["namespace"] == namespace and b["roleRef"]["name"] == name
        ]
        assert binding["subjects"][0]["namespace"] == NAMESPACE
    operator = named(manifests, "Deployment", "gnomon-operator")["spec"]["template"]["spec"]
    assert json.loads(env_of(operator["containers"][0])["GNOMON_OPERATOR_NAMESPACES"]) == ["a", "b"]
    peerings = {
        (p["metadata"]["namespace"], p["metadata"]["name"])
        for p in by_kind(manifests, "KopfPeering")
    }
    assert peerings == {("a", "gnomon-gnomon"), ("b", "gnomon-gnomon")}
    assert not by_kind(manifests, "ClusterKopfPeering")


@pytest.mark.helm
def test_standalone_operator_has_one_replica_and_no_peering(render: Render) -> None:
    manifests = render(*VALUE_SETS["standalone-operator"])
    operator = named(manifests, "Deployment", "gnomon-operator")
    assert operator["spec"]["replicas"] == 1
    assert operator["spec"]["strategy"] == {"type": "Recreate"}
    assert (
        env_of(operator["spec"]["template"]["spec"]["containers"][0])["GNOMON_OPERATOR_PEERING"]
        == ""
    )
    assert not by_kind(manifests, "ClusterKopfPeering") and not by_kind(manifests, "KopfPeering")
    (cluster_role,) = by_kind(manifests, "ClusterRole")
    assert rules_of(cluster_role) == DEFINITION_RULES


DEFINITION_RULES = {
    *{("gnomon.dev", "processdefinitions", v) for v in ("get", "list", "watch", "patch", "update")},
    *{("gnomon.dev", "processdefinitions/status", v) for v in ("get", "patch", "update")},
    *{(g, "events", v) for g in ("", "events.k8s.io") for v in ("create", "patch")},
}
PEERING_VERBS = ("get", "list", "watch", "patch")
CLUSTER_PEERING_RULES = {("kopf.dev", "clusterkopfpeerings", v) for v in PEERING_VERBS}
PEERING_RULES = {("kopf.dev", "kopfpeerings", v) for v in PEERING_VERBS}
JOB_RULES = {
    *{("batch", "jobs", v) for v in ("get", "list", "watch", "create", "delete")},
    *{("", "pods", v) for v in ("get", "list", "watch")},
    ("", "pods/log", "get"),
    *{("", "secrets", v) for v in ("list", "create", "delete")},
}


@pytest.mark.helm
def test_migrations_run_as_a_hook_before_install_and_upgrade(render: Render) -> None:
    manifests = render()
    job = named(manifests, "Job", "gnomon-migrate")
    secret = named(manifests, "Secret", "gnomon-migrate")
    for hook in (job, secret):
        assert hook["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    weight = int(secret["metadata"]["annotations"]["helm.sh/hook-weight"])
    assert weight < int(job["metadata"]["annotations"]["helm.sh/hook-weight"])
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert [*container["command"], *container["args"]] == ["gnomon", "migrate"]
    assert container["envFrom"] == [{"secretRef": {"name": "gnomon-migrate"}}]
    assert set(secret["data"]) == {"GNOMON_DATABASE_URL"}


@pytest.mark.helm
def test_existing_secret_replaces_the_chart_secret(render: Render) -> None:
    manifests = render(*VALUE_SETS["existing-secret"])
    assert not by_kind(manifests, "Secret")
    for where, pod in pod_specs(manifests).items():
        assert pod["containers"][0]["envFrom"] == [{"secretRef": {"name": "gnomon-env"}}], where
    (jobs_role,) = by_kind(manifests, "Role")
    assert jobs_role["metadata"]["namespace"] == "batch"


@pytest.mark.helm
def test_secret_holds_the_database_url_and_a_generated_token(render: Render) -> None:
    secret = named(render(), "Secret", "gnomon")
    assert set(secret["data"]) == {"GNOMON_DATABASE_URL", "GNOMON_API_TOKEN"}
    assert len(secret["data"]["GNOMON_API_TOKEN"]) > 40


@pytest.mark.helm
def test_service_monitor_is_optional(render: Render) -> None:
    assert not by_kind(render(), "ServiceMonitor")
    manifests = render(*VALUE_SETS["service-monitor"])
    (monitor,) = by_kind(manifests, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    service = named(manifests, "Service", "gnomon-api")
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert (endpoint["port"], endpoint["path"]) == ("http", "/_internal_/metrics")


# ---- against a real API server ---------------------------------------------------------------

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
    deadline = time.monotonic() + 30
    while True:
        response: Any = extensions.read_custom_resource_definition(name, _preload_content=False)
        served: Manifest = json.loads(response.data)
        conditions = {c["type"]: c for c in (served.get("status") or {}).get("conditions") or []}
        if conditions.get("Established", {}).get("status") == "True":
            return served
        assert time.monotonic() < deadline, f"CRD not established: {conditions}"
        time.sleep(0.2)


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
