"""The ProcessDefinition CRD in crds/ (and its copy in the chart), checked without a cluster.

Custom resources are validated against the CRD's openAPIV3Schema with jsonschema, after the
Kubernetes-only keywords are translated (structural.py), and the CRD is compared with the domain
model that the REST API uses, so one YAML body means the same thing to `kubectl apply` and to `PUT`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jsonschema
import kubernetes_validate
import pydantic
import pytest
import yaml

from gnomon.domain.definitions import ProcessDefinitionSpec
from tests.kubernetes.conftest import CHART, CRD_PATHS, REPO_ROOT, Manifest
from tests.kubernetes.invalid_definitions import INVALID
from tests.kubernetes.manifests import KUBERNETES_VERSION
from tests.kubernetes.structural import JsonSchema, schema_nodes, to_json_schema


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
    columns = [(c["name"], c["jsonPath"], c["type"]) for c in version["additionalPrinterColumns"]]
    ready = '.status.conditions[?(@.type=="Ready")]'
    assert columns == [
        ("Ready", f"{ready}.status", "string"),
        ("Reason", f"{ready}.reason", "string"),
        ("Schedule", ".status.schedule", "string"),
        # The effective flag the operator copies from the store, not spec.paused.
        ("Paused", ".status.paused", "boolean"),
        ("Next Run", ".status.nextRun", "string"),
        ("Last Status", ".status.lastStatus", "string"),
        ("Age", ".metadata.creationTimestamp", "date"),
    ]


def test_status_fields_written_by_the_operator(open_api_schema: JsonSchema) -> None:
    status = open_api_schema["properties"]["status"]
    assert not status.get("x-kubernetes-preserve-unknown-fields")
    assert {
        "observedGeneration",
        "definitionName",
        "schedule",
        "paused",
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
