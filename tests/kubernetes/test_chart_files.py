"""The Helm chart's own files, read without helm: Chart.yaml, values.yaml and the schema that
guards it; and every YAML file of the packaging loads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import yaml

from tests.kubernetes.conftest import CHART, EXAMPLES, REPO_ROOT, load_yaml


def keys_of(values: Any, prefix: str = "") -> Iterator[str]:
    """Dotted paths of every key in a values tree (lists and free-form maps are leaves)."""
    if isinstance(values, dict):
        for key, value in values.items():
            path = f"{prefix}.{key}" if prefix else key
            yield path
            yield from keys_of(value, path)


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
