"""`/api/process_definitions`: the wire format, every status code, every failure case."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from sqlalchemy.engine import Engine

from gnomon.api.app import create_app
from gnomon.domain import images, limits
from tests.clock import FakeClock
from tests.samples import DAILY_22H, SAMPLE_PROCESS, definition, docker_task, sample_process
from tests.unit.domain.test_wire_properties import definitions

BASE = "/api/process_definitions"
EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))


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


def test_the_service_account_token_opt_in_comes_back_only_when_sent(client: TestClient) -> None:
    opted = docker_task("a")
    opted["executable"]["docker_image_command"]["mount_service_account_token"] = True
    put(client, definition("token", opted, docker_task("b")))
    got = client.get(f"{BASE}/token").json()["task_definitions"]
    assert got[0]["executable"]["docker_image_command"]["mount_service_account_token"] is True
    assert "mount_service_account_token" not in got[1]["executable"]["docker_image_command"]
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    for command in ("DockerImageCommand", "BatchImageCommand"):
        field = schema[command]["properties"]["mount_service_account_token"]
        assert "ignore it" in field["description"]


@pytest.mark.parametrize("value", ["yes", "true", 1, [], {"value": True}, "\u0000"])
def test_the_service_account_token_opt_in_is_a_strict_boolean(
    client: TestClient, value: Any
) -> None:
    task = docker_task("a")
    task["executable"]["docker_image_command"]["mount_service_account_token"] = value
    response = put(client, definition("strict-token", task))
    assert response.status_code == 400, response.text
    assert "mount_service_account_token" in response.text
    assert client.get(f"{BASE}/strict-token").status_code == 404  # nothing stored


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


# ---- hostile input (issue 9) -------------------------------------------------------------------


@pytest.fixture
def store_client(settings: Any, engine: Engine, clock: FakeClock) -> Iterator[TestClient]:
    """The API on a SQLite file, then on PostgreSQL (NUL bytes and Infinity differ between them)."""
    app = create_app(settings, engine, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def put_raw(client: TestClient, body: dict[str, Any]) -> Any:
    """PUT `body` encoded by Python's json module: escapes (`\\ud800`) and `Infinity` as such."""
    return client.put(
        f"{BASE}/{body['process_definition_name']}",
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )


def assert_refused(client: TestClient, response: Any, field: str) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    payload: dict[str, Any] = response.json()
    assert field in error_fields(response), payload
    assert all(e["message"] for e in payload["errors"])
    assert client.get(f"{BASE}/x").status_code == 404  # nothing was stored
    return next(e for e in payload["errors"] if e["field"] == field)


def _task(**extra: Any) -> dict[str, Any]:
    return definition("x", docker_task("a", **extra))


def _docker(**command: Any) -> dict[str, Any]:
    executable = {"docker_image_command": {"image": "busybox", "command": ["true"], **command}}
    return definition("x", docker_task("a", executable=executable))


CRON = DAILY_22H["cron_schedule"]
HOSTILE_BODIES: list[tuple[str, dict[str, Any], str]] = [  # (case, body, field at fault)
    (
        "huge buffer_seconds",
        definition("x", schedule={"continuous_schedule": {"buffer_seconds": 10**12}}),
        "schedule.continuous_schedule.buffer_seconds",
    ),
    (
        "huge starting_deadline_seconds",
        definition("x", schedule={"cron_schedule": {**CRON, "starting_deadline_seconds": 10**12}}),
        "schedule.cron_schedule.starting_deadline_seconds",
    ),
    (
        "runtime over a year",
        _task(max_runtime_seconds=limits.MAX_SECONDS + 1),
        "task_definitions[0].max_runtime_seconds",
    ),
    (
        "huge backoff_base_seconds",
        _task(backoff_base_seconds=10**12),
        "task_definitions[0].backoff_base_seconds",
    ),
    (
        "huge backoff_exponent",
        _task(backoff_exponent=1e308),
        "task_definitions[0].backoff_exponent",
    ),
    (
        "Infinity backoff_exponent",
        _task(backoff_exponent=math.inf),
        "task_definitions[0].backoff_exponent",
    ),
    (
        "NaN backoff_exponent",
        _task(backoff_exponent=math.nan),
        "task_definitions[0].backoff_exponent",
    ),
    ("no attempts", _task(max_attempts=0), "task_definitions[0].max_attempts"),
    ("101 attempts", _task(max_attempts=101), "task_definitions[0].max_attempts"),
    ("boolean attempts", _task(max_attempts=True), "task_definitions[0].max_attempts"),
    ("attempts as text", _task(max_attempts="3"), "task_definitions[0].max_attempts"),
    ("fractional attempts", _task(max_attempts=2.5), "task_definitions[0].max_attempts"),
    (
        "number for a string",
        _docker(image=5),
        "task_definitions[0].executable.docker_image_command.image",
    ),
    ("number for a boolean", definition("x", paused=0), "paused"),
    (
        "huge memory",
        _docker(memory=10**20),
        "task_definitions[0].executable.docker_image_command.memory",
    ),
    ("huge cpu", _docker(cpu=10**9), "task_definitions[0].executable.docker_image_command.cpu"),
    (
        "huge vCpus",
        definition(
            "x",
            docker_task(
                "a",
                executable={
                    "batch_image_command": {
                        "image": "i",
                        "command": [],
                        "memory": 1,
                        "vCpus": 10**6,
                    }
                },
            ),
        ),
        "task_definitions[0].executable.batch_image_command.vCpus",
    ),
    (
        "huge num_consecutive_failures",
        definition(
            "x",
            notifications=[{"pagerduty": {"service_key": "k", "num_consecutive_failures": 10**9}}],
        ),
        "notifications[0].pagerduty.num_consecutive_failures",
    ),
    (
        "too many tasks",
        definition(
            "x", *[docker_task(f"t{i}") for i in range(limits.MAX_TASKS_PER_DEFINITION + 1)]
        ),
        "task_definitions",
    ),
    (
        "1,500-task chain",
        definition(
            "x", docker_task("t0"), *[docker_task(f"t{i}", f"t{i - 1}") for i in range(1, 1500)]
        ),
        "task_definitions",
    ),
    (
        "too many dependencies",
        definition(
            "x",
            docker_task("a", *[f"d{i}" for i in range(limits.MAX_DEPENDENCIES_PER_TASK + 1)]),
            *[docker_task(f"d{i}") for i in range(limits.MAX_DEPENDENCIES_PER_TASK + 1)],
        ),
        "task_definitions[0].dependencies",
    ),
    (
        "too many command items",
        _docker(command=["x"] * (limits.MAX_COMMAND_ITEMS + 1)),
        "task_definitions[0].executable.docker_image_command.command",
    ),
    (
        "command item too long",
        _docker(command=["x" * (limits.MAX_TEXT_CHARS + 1)]),
        "task_definitions[0].executable.docker_image_command.command[0]",
    ),
    (
        "too many log paths",
        _docker(log_paths=["/a"] * (limits.MAX_LOG_PATHS + 1)),
        "task_definitions[0].executable.docker_image_command.log_paths",
    ),
    (
        "image too long",
        _docker(image="i" * 1025),
        "task_definitions[0].executable.docker_image_command.image",
    ),
    (
        "tag too long",
        _docker(tag="t" * 129),
        "task_definitions[0].executable.docker_image_command.tag",
    ),
    (
        "description too long",
        definition("x", process_description="d" * (limits.MAX_TEXT_CHARS + 1)),
        "process_description",
    ),
    (
        "too many notifications",
        definition("x", notifications=[{"webhook": {"url": "http://h/"}}] * 101),
        "notifications",
    ),
    (
        "email too long",
        definition("x", notifications=[{"email": {"name": "n", "email": "e" * 321}}]),
        "notifications[0].email.email",
    ),
    (
        "cron field too long",
        definition("x", schedule={"cron_schedule": {**CRON, "minutes": "0," * 600}}),
        "schedule.cron_schedule.minutes",
    ),
    (
        "null webhook",
        definition("x", notifications=[{"webhook": None}]),
        "notifications[0].webhook",
    ),
    (
        "null docker_image_command",
        _task(executable={"docker_image_command": None}),
        "task_definitions[0].executable.docker_image_command",
    ),
    (
        "null cron_schedule",
        definition("x", schedule={"cron_schedule": None}),
        "schedule.cron_schedule",
    ),
    (
        "file:// webhook",
        definition("x", notifications=[{"webhook": {"url": "file:///etc/passwd"}}]),
        "notifications[0].webhook.url",
    ),
    (
        "gopher:// webhook",
        definition("x", notifications=[{"webhook": {"url": "gopher://h:70/_x"}}]),
        "notifications[0].webhook.url",
    ),
    (
        "javascript: webhook",
        definition("x", notifications=[{"webhook": {"url": "javascript:alert(1)"}}]),
        "notifications[0].webhook.url",
    ),
    (
        "relative webhook",
        definition("x", notifications=[{"webhook": {"url": "/hooks/1"}}]),
        "notifications[0].webhook.url",
    ),
    (
        "webhook without a host",
        definition("x", notifications=[{"webhook": {"url": "http:///hooks/1"}}]),
        "notifications[0].webhook.url",
    ),
    (
        "non-http PagerDuty api_url",
        definition("x", notifications=[{"pagerduty": {"service_key": "k", "api_url": "ftp://pd"}}]),
        "notifications[0].pagerduty.api_url",
    ),
]


@pytest.mark.parametrize(
    ("case", "body", "field"), HOSTILE_BODIES, ids=[c[0] for c in HOSTILE_BODIES]
)
def test_hostile_definition_is_400_naming_the_field(
    client: TestClient, case: str, body: dict[str, Any], field: str
) -> None:
    error = assert_refused(client, put_raw(client, body), field)
    if case.startswith("null "):
        assert "is null" in error["message"], error


def test_a_null_cron_schedule_no_longer_drops_the_schedule(client: TestClient) -> None:
    put(client, definition("x", schedule=DAILY_22H))
    response = put_raw(client, definition("x", schedule={"cron_schedule": None}))
    assert response.status_code == 400
    assert client.get(f"{BASE}/x").json()["schedule"] == {
        "cron_schedule": {**CRON, "time_zone": "UTC"}
    }


def test_a_null_schedule_still_means_no_schedule(client: TestClient) -> None:
    response = put_raw(client, definition("noschedule", schedule=None))
    assert response.status_code == 200, response.text
    assert "schedule" not in client.get(f"{BASE}/noschedule").json()


UNSTORABLE = [
    ("NUL in the description", {"process_description": "a\x00b"}, "process_description"),
    ("surrogate in the description", {"process_description": "\ud800"}, "process_description"),
    (
        "NUL in a command item",
        {
            "task_definitions": [
                docker_task(
                    "a",
                    executable={"docker_image_command": {"image": "i", "command": ["ok", "\x00"]}},
                )
            ]
        },
        "task_definitions[0].executable.docker_image_command.command",
    ),
    (
        "surrogate in an environment value",
        {
            "task_definitions": [
                docker_task(
                    "a",
                    executable={
                        "docker_image_command": {
                            "image": "i",
                            "command": [],
                            "environment_variables": [{"variable_name": "V", "value": "\udfff"}],
                        }
                    },
                )
            ]
        },
        "task_definitions[0].executable.docker_image_command.environment_variables[0].value",
    ),
    (
        "NUL in an email name",
        {"notifications": [{"email": {"name": "\x00", "email": "a@b.c"}}]},
        "notifications[0].email.name",
    ),
]


@pytest.mark.parametrize(("case", "change", "field"), UNSTORABLE, ids=[c[0] for c in UNSTORABLE])
def test_unstorable_text_is_400_naming_the_field_on_every_store(
    store_client: TestClient, case: str, change: dict[str, Any], field: str
) -> None:
    response = put_raw(store_client, {**definition("x"), **change})
    error = assert_refused(store_client, response, field)
    assert (
        "NUL" in error["message"]
        or "surrogate" in error["message"]
        or "unicode" in error["message"]
    ), case


def test_non_finite_backoff_is_400_on_every_store(store_client: TestClient) -> None:
    for value in (math.inf, -math.inf, math.nan):
        response = put_raw(store_client, _task(backoff_exponent=value))
        assert_refused(store_client, response, "task_definitions[0].backoff_exponent")


@pytest.mark.parametrize(
    ("command", "field", "said"),
    [
        ({"image": "busybox:1"}, "image", "give the image as 'busybox' and '1' in tag"),
        ({"image": "Team/App"}, "image", "not an image name the engine accepts"),
        ({"image": "team//app"}, "image", "not an image name the engine accepts"),
        ({"tag": ".hidden"}, "tag", "not a tag the engine accepts"),
        ({"tag": "1:2"}, "tag", "not a tag the engine accepts"),
    ],
)
def test_an_image_the_engine_cannot_parse_is_refused_at_once(
    client: TestClient, command: dict[str, str], field: str, said: str
) -> None:
    """Not stored to fail at every run's start with the engine's `invalid reference format`."""
    response = put(client, _docker(**command))
    error = assert_refused(
        client, response, f"task_definitions[0].executable.docker_image_command.{field}"
    )
    assert said in error["message"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("image", "busy\x00box"),
        ("image", None),
        ("image", 12),
        ("image", "b" * 10_000_000),
        ("tag", "1\x00"),
        ("tag", None),
        ("tag", ["1"]),
    ],
)
def test_hostile_image_fields_are_refused_and_nothing_is_stored(
    client: TestClient, field: str, value: object
) -> None:
    response = put_raw(client, _docker(**{field: value}))
    assert response.status_code in (400, 413), response.text
    assert client.get(f"{BASE}/x").status_code == 404
    if response.status_code == 400:
        assert f"task_definitions[0].executable.docker_image_command.{field}" in error_fields(
            response
        )


def test_a_batch_image_with_its_tag_inside_is_refused(client: TestClient) -> None:
    command = {"image": "app:2", "command": ["run"], "memory": 64, "vCpus": 1}
    body = definition("x", docker_task("a", executable={"batch_image_command": command}))
    response = put(client, body)
    assert_refused(client, response, "task_definitions[0].executable.batch_image_command.image")


def test_a_webhook_url_comes_back_exactly_as_sent(client: TestClient) -> None:
    url = "HTTPS://Hooks.Example.COM:8443/a%20b/./c?x=1&y=%2F#frag"
    body = definition("hook", notifications=[{"webhook": {"url": url}}])
    assert put(client, body).status_code == 200
    assert client.get(f"{BASE}/hook").json()["notifications"][0]["webhook"]["url"] == url


def _largest_definition() -> dict[str, Any]:
    """Every bound at its maximum: the longest chain, the largest numbers, the longest lists."""
    count = limits.MAX_TASKS_PER_DEFINITION
    tasks = [
        docker_task(
            f"t{i}",
            *([f"t{i - 1}"] if i else []),
            max_attempts=limits.MAX_ATTEMPTS,
            max_runtime_seconds=limits.MAX_SECONDS,
            backoff_base_seconds=limits.MAX_SECONDS,
            backoff_exponent=limits.MAX_BACKOFF_EXPONENT,
        )
        for i in range(count)
    ]
    tasks[0]["executable"] = {
        "docker_image_command": {
            "image": "i" * images.NAME_CHARS + "@sha256:" + "0" * 64,
            "tag": "t" * 128,
            "command": ["x"] * 100,
            "memory": limits.MAX_MEMORY_MB,
            "cpu": limits.MAX_CPUS * 1024,
            "log_paths": ["/var/log/x"] * limits.MAX_LOG_PATHS,
        }
    }
    return definition(
        "largest",
        *tasks,
        schedule={"continuous_schedule": {"buffer_seconds": limits.MAX_SECONDS}},
        notifications=[
            {"pagerduty": {"service_key": "k", "num_consecutive_failures": 10_000}},
            *[{"webhook": {"url": f"https://h/{i}"}} for i in range(limits.MAX_NOTIFICATIONS - 1)],
        ],
    )


@pytest.mark.parametrize(
    "body",
    [sample_process(), _largest_definition(), definition("cron", schedule=DAILY_22H)]
    + [
        {"process_definition_name": path.stem, **yaml.safe_load(path.read_text())["spec"]}
        for path in EXAMPLES
    ],
    ids=["sample", "largest", "cron"] + [path.stem for path in EXAMPLES],
)
def test_get_put_round_trip_is_exact(store_client: TestClient, body: dict[str, Any]) -> None:
    first = put(store_client, body)
    assert first.status_code == 200, first.text
    got = store_client.get(f"{BASE}/{body['process_definition_name']}").json()
    assert got == first.json()
    again = put(store_client, got)
    assert again.status_code == 200, again.text
    assert again.json() == got
    assert store_client.get(f"{BASE}/{body['process_definition_name']}").json() == got


@hypothesis_settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=definitions())
def test_any_definition_is_refused_with_400_or_round_trips(
    client: TestClient, body: dict[str, Any]
) -> None:
    """Property: hostile or not, a body is a 400 naming fields, or it is stored and GET -> PUT
    gives it back unchanged (the app and its store are shared by the examples: same name)."""
    response = put_raw(client, body)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert all(e["field"] and e["message"] for e in response.json()["errors"])
        return
    got = client.get(f"{BASE}/fuzzed").json()
    assert got == response.json()
    again = put(client, got)
    assert (again.status_code, again.json()) == (200, got)
