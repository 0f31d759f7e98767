"""`/api/process_definitions`: the wire format, every status code, every failure case."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.samples import DAILY_22H, SAMPLE_PROCESS, definition, docker_task, sample_process

BASE = "/api/process_definitions"


def put(client: TestClient, body: dict[str, Any], name: str | None = None) -> Any:
    return client.put(f"{BASE}/{name or body['process_definition_name']}", json=body)


def error_fields(response: Any) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


def test_sample_round_trips_field_by_field(client: TestClient) -> None:
    response = put(client, sample_process())
    assert response.status_code == 200
    got = client.get(f"{BASE}/SampleProcessName").json()
    assert got == response.json()
    sent = copy.deepcopy(SAMPLE_PROCESS)
    # The only differences are documented defaults that the example left out.
    assert (
        got["task_definitions"][0]["executable"]["batch_image_command"]
        == (sent["task_definitions"][0]["executable"]["batch_image_command"])
    )
    assert got["task_definitions"][1]["executable"] == sent["task_definitions"][1]["executable"]
    for got_task, sent_task in zip(got["task_definitions"], sent["task_definitions"], strict=True):
        assert got_task == sent_task
    for key in ("process_definition_name", "process_description", "overlap_action", "paused"):
        assert got[key] == sent[key]
    assert got["schedule"] == sent["schedule"]
    assert got["notifications"] == sent["notifications"]
    assert set(got) == set(sent)


def test_dependencies_come_back_exactly_as_sent(client: TestClient) -> None:
    body = definition(
        "deps",
        docker_task("a"),
        docker_task("b"),
        docker_task("c", "a", optional=("b",)),
    )
    put(client, body)
    got = client.get(f"{BASE}/deps").json()
    assert got["task_definitions"][2]["dependencies"] == [
        {"task_definition_name": "a", "success_required": True},
        {"task_definition_name": "b", "success_required": False},
    ]


def test_cron_schedule_with_documented_defaults(client: TestClient) -> None:
    put(client, definition("nightly", schedule=DAILY_22H))
    got = client.get(f"{BASE}/nightly").json()
    assert got["schedule"] == {"cron_schedule": {**DAILY_22H["cron_schedule"], "time_zone": "UTC"}}


def test_defaults_applied_and_optionals_omitted(client: TestClient) -> None:
    minimal = {
        "process_definition_name": "minimal",
        "task_definitions": [
            {
                "task_definition_name": "t",
                "executable": {"docker_image_command": {"image": "busybox", "command": ["true"]}},
            }
        ],
    }
    got = put(client, minimal).json()
    assert got == {
        "process_definition_name": "minimal",
        "paused": False,
        "overlap_action": "wait",
        "task_definitions": [
            {
                "task_definition_name": "t",
                "dependencies": [],
                "executable": {
                    "docker_image_command": {
                        "image": "busybox",
                        "tag": "latest",
                        "command": ["true"],
                        "log_paths": [],
                        "environment_variables": [],
                    }
                },
                "max_attempts": 1,
                "backoff_base_seconds": 0,
                "backoff_exponent": 1.0,
                "require_explicit_success": False,
            }
        ],
    }
    assert "null" not in client.get(f"{BASE}/minimal").text


def test_camel_case_fields_and_continuous_default(client: TestClient) -> None:
    task = docker_task("t")
    task["executable"] = {
        "docker_image_command": {"image": "i", "command": [], "taskRoleArn": "arn", "cpu": 512}
    }
    got = put(client, definition("camel", task, schedule={"continuous_schedule": {}})).json()
    assert got["task_definitions"][0]["executable"]["docker_image_command"]["taskRoleArn"] == "arn"
    assert got["schedule"] == {"continuous_schedule": {"buffer_seconds": 0}}


def test_enum_accepted_as_value_object(client: TestClient) -> None:
    got = put(client, definition("enumobj", overlap_action={"value": "terminate"})).json()
    assert got["overlap_action"] == "terminate"


def test_flat_email_form_is_accepted(client: TestClient) -> None:
    flat = {"name": "Ops", "email": "ops@example.com", "notify_when": "always"}
    got = put(client, definition("flat", notifications=[flat])).json()
    assert got["notifications"] == [{"email": flat}]


def test_put_replaces_and_repeating_without_paused_unpauses(client: TestClient) -> None:
    put(client, definition("p", docker_task("a"), docker_task("b"), paused=True))
    got = put(client, definition("p", docker_task("b"))).json()
    assert got["paused"] is False
    assert [t["task_definition_name"] for t in got["task_definitions"]] == ["b"]


def test_list_with_and_without_trailing_slash(client: TestClient) -> None:
    put(client, definition("b-def"))
    put(client, definition("a-def"))
    for path in (BASE, BASE + "/"):
        names = [d["process_definition_name"] for d in client.get(path).json()]
        assert names == ["a-def", "b-def"]


def test_delete_then_get_is_404(client: TestClient) -> None:
    put(client, definition("gone"))
    assert client.delete(f"{BASE}/gone").status_code == 204
    assert client.get(f"{BASE}/gone").status_code == 404
    assert client.delete(f"{BASE}/gone").status_code == 404


def test_pause_and_resume(client: TestClient) -> None:
    put(client, definition("pr"))
    assert client.post(f"{BASE}/pr/pause").status_code == 204
    assert client.get(f"{BASE}/pr").json()["paused"] is True
    assert client.post(f"{BASE}/pr/resume").status_code == 204
    assert client.get(f"{BASE}/pr").json()["paused"] is False


def test_trigger_whole_and_one_task(client: TestClient) -> None:
    put(client, definition("trig", docker_task("a")))
    assert client.post(f"{BASE}/trig/trigger").status_code == 204
    assert client.post(f"{BASE}/trig/trigger?task_definition_name=a").status_code == 204


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("delete", ""),
        ("post", "/trigger"),
        ("post", "/pause"),
        ("post", "/resume"),
    ],
)
def test_unknown_definition_is_404(client: TestClient, method: str, suffix: str) -> None:
    response = client.request(method.upper(), f"{BASE}/nope{suffix}")
    assert response.status_code == 404
    assert "nope" in response.json()["message"]


def test_trigger_of_unknown_task_is_404(client: TestClient) -> None:
    put(client, definition("trig2", docker_task("a")))
    response = client.post(f"{BASE}/trig2/trigger?task_definition_name=zzz")
    assert response.status_code == 404
    assert "zzz" in response.json()["message"]


def test_malformed_json_is_400(client: TestClient) -> None:
    response = client.put(
        f"{BASE}/x", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "malformed JSON" in response.json()["errors"][0]["message"]


def test_name_mismatch_is_400(client: TestClient) -> None:
    response = put(client, definition("body-name"), name="url-name")
    assert response.status_code == 400
    assert error_fields(response) == ["process_definition_name"]
    assert "url-name" in response.json()["message"]


INVALID_BODIES: list[tuple[str, dict[str, Any], str]] = [  # (case, body, field at fault)
    (
        "cycle",
        definition("x", docker_task("a", "b"), docker_task("b", "a")),
        "task_definitions",
    ),
    ("self-dependency", definition("x", docker_task("a", "a")), "task_definitions"),
    (
        "unknown dependency",
        definition("x", docker_task("a", "ghost")),
        "task_definitions[0].dependencies[0].task_definition_name",
    ),
    (
        "duplicate task names",
        definition("x", docker_task("a"), docker_task("a")),
        "task_definitions[1].task_definition_name",
    ),
    (
        "invalid cron field",
        definition("x", schedule={"cron_schedule": {**DAILY_22H["cron_schedule"], "hours": "25"}}),
        "schedule.cron_schedule.hours",
    ),
    (
        "cron that never fires",
        definition(
            "x",
            schedule={
                "cron_schedule": {**DAILY_22H["cron_schedule"], "day_of_month": "30", "month": "2"}
            },
        ),
        "schedule.cron_schedule",
    ),
    (
        "unknown schedule member",
        definition("x", schedule={"hourly_schedule": {}}),
        "schedule",
    ),
    (
        "two schedule members",
        definition("x", schedule={**DAILY_22H, "continuous_schedule": {"buffer_seconds": 1}}),
        "schedule",
    ),
    (
        "unknown executable member",
        definition("x", docker_task("a", executable={"ecs_command": {}})),
        "task_definitions[0].executable",
    ),
    (
        "unknown notification member",
        definition("x", notifications=[{"slack": {"channel": "#x"}}]),
        "notifications[0]",
    ),
    (
        "negative max_attempts",
        definition("x", docker_task("a", max_attempts=-1)),
        "task_definitions[0].max_attempts",
    ),
    (
        "negative backoff",
        definition("x", docker_task("a", backoff_base_seconds=-5)),
        "task_definitions[0].backoff_base_seconds",
    ),
    (
        "negative buffer",
        definition("x", schedule={"continuous_schedule": {"buffer_seconds": -1}}),
        "schedule.continuous_schedule.buffer_seconds",
    ),
    ("unknown overlap action", definition("x", overlap_action="skip"), "overlap_action"),
    ("missing task_definitions", {"process_definition_name": "x"}, "task_definitions"),
    ("wrong type", definition("x", paused="maybe"), "paused"),
    ("unknown field", definition("x", max_parallel=3), "max_parallel"),
    (
        "bad name",
        definition("x", docker_task("has space")),
        "task_definitions[0].task_definition_name",
    ),
]


@pytest.mark.parametrize(
    ("case", "body", "field"), INVALID_BODIES, ids=[c[0] for c in INVALID_BODIES]
)
def test_invalid_definition_is_400_naming_the_field(
    client: TestClient, case: str, body: dict[str, Any], field: str
) -> None:
    response = put(client, body)
    assert response.status_code == 400, f"{case}: {response.text}"
    payload = response.json()
    assert field in error_fields(response), payload
    assert all(e["message"] for e in payload["errors"])
    assert client.get(f"{BASE}/x").status_code == 404  # nothing was stored


def test_invalid_update_keeps_the_stored_definition(client: TestClient) -> None:
    put(client, definition("keep", docker_task("a")))
    bad = definition("keep", docker_task("a", "a"))
    assert put(client, bad).status_code == 400
    assert client.get(f"{BASE}/keep").json()["task_definitions"][0]["dependencies"] == []


def test_shell_disabled_is_400_saying_how_to_enable(client: TestClient, settings: Any) -> None:
    settings.allow_shell = False
    response = put(client, sample_process())
    assert response.status_code == 400
    assert "GNOMON_ALLOW_SHELL=true" in response.json()["errors"][0]["message"]
