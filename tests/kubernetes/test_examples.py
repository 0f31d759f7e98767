"""The example ProcessDefinitions in examples/: between them they use every kind of schedule,
executable and notification, and each is valid for the CRD and for the domain model alike."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from gnomon.domain.definitions import ProcessDefinitionSpec
from tests.kubernetes.conftest import EXAMPLES, Manifest, load_yaml
from tests.kubernetes.structural import JsonSchema, apply_defaults

DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


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
