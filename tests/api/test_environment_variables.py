"""A job's environment at the API: names and values no process can hold are refused with a 400
(they used to hang shell tasks), and secrets are references that read routes show as sent."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from gnomon.domain.limits import MAX_ENV_NAME_CHARS, MAX_ENV_VALUE_CHARS
from tests.samples import definition

BASE = "/api/process_definitions"


def with_variables(name: str, *variables: dict[str, Any]) -> dict[str, Any]:
    task = {
        "task_definition_name": "t",
        "executable": {
            "docker_image_command": {
                "image": "busybox",
                "command": ["true"],
                "environment_variables": list(variables),
            }
        },
    }
    return definition(name, task)


def put(client: TestClient, body: dict[str, Any]) -> Any:
    return client.put(f"{BASE}/{body['process_definition_name']}", json=body)


@pytest.mark.parametrize(
    ("variable", "field"),
    [
        ({"variable_name": "A=B", "value": "x"}, "variable_name"),
        ({"variable_name": "A\x00B", "value": "x"}, "variable_name"),
        ({"variable_name": "", "value": "x"}, "variable_name"),
        ({"variable_name": "N" * (MAX_ENV_NAME_CHARS + 1), "value": "x"}, "variable_name"),
        ({"variable_name": "A", "value": "x\x00y"}, "value"),
        ({"variable_name": "A", "value": "v" * (MAX_ENV_VALUE_CHARS + 1)}, "value"),
        ({"variable_name": "A"}, "environment_variables[0]"),
        ({"variable_name": "A", "value": "x", "value_from": {"host_env": "X"}}, "variables[0]"),
        ({"variable_name": "A", "value_from": {"file": "relative/path"}}, "value_from.file"),
        ({"variable_name": "A", "value_from": {"file": "/a", "host_env": "B"}}, "value_from"),
        ({"variable_name": "A", "value_from": {"host_env": None}}, "value_from.host_env"),
        ({"variable_name": "A", "value_from": {"secret_key_ref": {"name": "Bad"}}}, "ref.name"),
    ],
)
def test_an_environment_no_process_can_hold_is_refused(
    client: TestClient, variable: dict[str, Any], field: str
) -> None:
    response = put(client, with_variables("refused", variable))
    assert response.status_code == 400, response.text
    fields = [error["field"] for error in response.json()["errors"]]
    assert any(f.endswith(field) and "environment_variables" in f for f in fields), fields
    assert client.get(f"{BASE}/refused").status_code == 404


def test_sundial_style_names_stay_valid(client: TestClient) -> None:
    body = with_variables("dotted", {"variable_name": "sundial.url", "value": "x=y"})
    assert put(client, body).status_code == 200


def test_secrets_are_shown_as_the_references_sent(client: TestClient) -> None:
    variables: list[dict[str, Any]] = [
        {"variable_name": "PLAIN", "value": "visible"},
        {"variable_name": "FROM_FILE", "value_from": {"file": "/run/secrets/db"}},
        {"variable_name": "FROM_HOST", "value_from": {"host_env": "DB_PASSWORD"}},
        {
            "variable_name": "FROM_K8S",
            "value_from": {"secret_key_ref": {"name": "db-credentials", "key": "password"}},
        },
    ]
    assert put(client, with_variables("secrets", *variables)).status_code == 200
    got = client.get(f"{BASE}/secrets").json()
    command = got["task_definitions"][0]["executable"]["docker_image_command"]
    assert command["environment_variables"] == variables
