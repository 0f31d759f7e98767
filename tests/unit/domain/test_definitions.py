"""The wire models of a process definition refuse hostile input with a field error."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from gnomon.domain import limits
from gnomon.domain.definitions import ProcessDefinition, ProcessDefinitionSpec, Webhook
from gnomon.domain.runs import LogEntry, MetadataEntry
from gnomon.domain.validation import check_definition
from tests.samples import definition, docker_task, sample_process

EXAMPLES = sorted((Path(__file__).resolve().parents[3] / "examples").glob("*.yaml"))


def locations(exc: ValidationError) -> list[str]:
    return [".".join(str(part) for part in error["loc"]) for error in exc.errors()]


def refused(body: dict[str, Any]) -> ValidationError:
    """The error of validating `body` both as a Python dict (the operator) and as JSON (the API)."""
    with pytest.raises(ValidationError) as from_json:
        ProcessDefinition.model_validate_json(json.dumps(body))
    with pytest.raises(ValidationError) as from_python:
        ProcessDefinition.model_validate(body)
    assert locations(from_json.value) == locations(from_python.value)
    return from_python.value


@pytest.mark.parametrize(
    ("member", "body"),
    [
        ("schedule.cron_schedule", definition("x", schedule={"cron_schedule": None})),
        ("notifications.0.webhook", definition("x", notifications=[{"webhook": None}])),
        (
            "task_definitions.0.executable.docker_image_command",
            definition("x", docker_task("a", executable={"docker_image_command": None})),
        ),
        ("notifications.0.email", definition("x", notifications=[{"email": None}])),
    ],
)
def test_a_null_union_member_is_refused_naming_it(member: str, body: dict[str, Any]) -> None:
    error = refused(body)
    assert locations(error) == [member]
    assert "is null" in error.errors()[0]["msg"]


def test_no_schedule_at_all_is_still_allowed() -> None:
    parsed = ProcessDefinition.model_validate(definition("x", schedule=None))
    assert parsed.schedule is None
    assert "schedule" not in parsed.to_wire()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_attempts", True),
        ("max_attempts", "3"),
        ("max_attempts", 3.0),
        ("backoff_base_seconds", False),
        ("backoff_exponent", True),
        ("backoff_exponent", "2"),
        ("require_explicit_success", 1),
        ("require_explicit_success", "true"),
        ("task_definition_name", 7),
    ],
)
def test_types_are_strict_as_in_sundials_schema(field: str, value: Any) -> None:
    error = refused(definition("x", docker_task("a", **{field: value})))
    assert locations(error) == [f"task_definitions.0.{field}"]


def test_a_number_is_not_a_string_in_a_command() -> None:
    task = docker_task("a", executable={"docker_image_command": {"image": "i", "command": [1]}})
    assert locations(refused(definition("x", task))) == [
        "task_definitions.0.executable.docker_image_command.command.0"
    ]


def test_an_integral_exponent_is_still_a_number() -> None:
    parsed = ProcessDefinition.model_validate(definition("x", docker_task("a", backoff_exponent=2)))
    assert parsed.task_definitions[0].backoff_exponent == 2.0


def _task_field(field: str) -> Any:
    return lambda value: definition("x", docker_task("a", **{field: value}))


def _docker_field(field: str) -> Any:
    def body(value: Any) -> dict[str, Any]:
        command = {"image": "i", "command": ["true"], field: value}
        return definition("x", docker_task("a", executable={"docker_image_command": command}))

    return body


NUMBER_BOUNDS = [  # (field at fault, body for a value, largest value allowed)
    (
        "schedule.continuous_schedule.buffer_seconds",
        lambda v: definition("x", schedule={"continuous_schedule": {"buffer_seconds": v}}),
        limits.MAX_SECONDS,
    ),
    (
        "schedule.cron_schedule.starting_deadline_seconds",
        lambda v: definition(
            "x",
            schedule={
                "cron_schedule": {
                    **dict.fromkeys(("minutes", "hours", "day_of_month", "month"), "*"),
                    "day_of_week": "?",
                    "starting_deadline_seconds": v,
                }
            },
        ),
        limits.MAX_SECONDS,
    ),
    ("task_definitions.0.max_runtime_seconds", _task_field("max_runtime_seconds"), 31_622_400),
    ("task_definitions.0.backoff_base_seconds", _task_field("backoff_base_seconds"), 31_622_400),
    ("task_definitions.0.max_attempts", _task_field("max_attempts"), limits.MAX_ATTEMPTS),
    (
        "task_definitions.0.executable.docker_image_command.memory",
        _docker_field("memory"),
        limits.MAX_MEMORY_MB,
    ),
    (
        "task_definitions.0.executable.docker_image_command.cpu",
        _docker_field("cpu"),
        limits.MAX_CPUS * 1024,
    ),
    (
        "notifications.0.pagerduty.num_consecutive_failures",
        lambda v: definition(
            "x", notifications=[{"pagerduty": {"service_key": "k", "num_consecutive_failures": v}}]
        ),
        limits.MAX_CONSECUTIVE_FAILURES,
    ),
]


@pytest.mark.parametrize(
    ("field", "body", "largest"), NUMBER_BOUNDS, ids=[case[0] for case in NUMBER_BOUNDS]
)
def test_every_number_has_a_maximum(field: str, body: Any, largest: int) -> None:
    ProcessDefinition.model_validate(body(largest))
    for too_big in (largest + 1, 10**12, 10**20):
        error = refused(body(too_big))
        assert locations(error) == [field]
        assert f"less than or equal to {largest}" in error.errors()[0]["msg"]


@pytest.mark.parametrize("exponent", [float("inf"), float("-inf"), float("nan"), 1e308, 10.5])
def test_backoff_exponent_is_finite_and_at_most_ten(exponent: float) -> None:
    body = definition("x", docker_task("a", backoff_exponent=exponent))
    with pytest.raises(ValidationError) as caught:
        ProcessDefinition.model_validate(body)
    assert locations(caught.value) == ["task_definitions.0.backoff_exponent"]
    ProcessDefinition.model_validate(definition("x", docker_task("a", backoff_exponent=10)))


def test_a_1500_task_chain_is_refused_by_the_task_bound() -> None:
    chain = [docker_task("t0")] + [docker_task(f"t{i}", f"t{i - 1}") for i in range(1, 1500)]
    error = refused(definition("x", *chain))
    assert locations(error) == ["task_definitions"]
    assert f"at most {limits.MAX_TASKS_PER_DEFINITION} items" in error.errors()[0]["msg"]


def test_the_longest_allowed_chain_is_checked_without_recursion() -> None:
    count = limits.MAX_TASKS_PER_DEFINITION
    chain = [docker_task("t0")] + [docker_task(f"t{i}", f"t{i - 1}") for i in range(1, count)]
    parsed = ProcessDefinition.model_validate(definition("x", *chain))
    assert check_definition(parsed) == []
    looped = copy.deepcopy(chain)
    looped[0] = docker_task("t0", f"t{count - 1}")
    (problem,) = check_definition(ProcessDefinition.model_validate(definition("x", *looped)))
    assert problem.field == "task_definitions" and "cycle" in problem.message


@pytest.mark.parametrize(
    ("field", "body"),
    [
        ("process_description", definition("x", process_description="d" * 65_537)),
        (
            "task_definitions.0.executable.docker_image_command.command",
            definition(
                "x",
                docker_task(
                    "a",
                    executable={"docker_image_command": {"image": "i", "command": ["a"] * 10_001}},
                ),
            ),
        ),
        (
            "task_definitions.0.executable.docker_image_command.tag",
            definition(
                "x",
                docker_task(
                    "a",
                    executable={
                        "docker_image_command": {"image": "i", "tag": "t" * 129, "command": []}
                    },
                ),
            ),
        ),
        (
            "task_definitions.0.executable.shell_script_command.script",
            definition(
                "x",
                docker_task("a", executable={"shell_script_command": {"script": "#" * 1_048_577}}),
            ),
        ),
        ("notifications", definition("x", notifications=[{"webhook": {"url": "http://h"}}] * 101)),
        (
            "task_definitions.0.dependencies",
            definition("x", docker_task("a", *["b"] * 101), docker_task("b")),
        ),
    ],
    ids=["description", "command-items", "tag", "script", "notifications", "dependencies"],
)
def test_every_string_and_list_has_a_maximum(field: str, body: dict[str, Any]) -> None:
    assert locations(refused(body)) == [field]


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://example.com/",
        "javascript:alert(1)",
        "/relative/hook",
        "example.com/hook",
        "http://",
        "http:///path",
        "http://:80/x",
        "http://exa mple.com/",
        "https://example.com:99999/",
        "http://[::1/",
        " http://example.com/",
    ],
)
def test_a_webhook_must_be_http_or_https_with_a_host(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Webhook.model_validate({"url": url})
    assert locations(caught.value) == ["url"]
    body = definition("x", notifications=[{"pagerduty": {"service_key": "k", "api_url": url}}])
    assert locations(refused(body)) == ["notifications.0.pagerduty.api_url"]


@pytest.mark.parametrize(
    "url",
    [
        "http://chat-bridge.tools.svc/gnomon",
        "HTTPS://Example.COM:8443/a%20b/c?x=1&y=%2F#frag",
        "http://user:secret@10.0.0.1/hook",
        "https://[2001:db8::1]:8080/",
    ],
)
def test_a_url_is_kept_exactly_as_sent(url: str) -> None:
    parsed = ProcessDefinition.model_validate(
        definition("x", notifications=[{"webhook": {"url": url}}])
    )
    assert parsed.to_wire()["notifications"] == [
        {"webhook": {"url": url, "notify_when": "on_state_change_and_failures"}}
    ]


@pytest.mark.parametrize(
    ("field", "mutate"),
    [
        ("process_description", lambda body: body.update(process_description="a\x00b")),
        (
            "task_definitions.0.executable.batch_image_command.command",
            lambda body: body["task_definitions"][0]["executable"]["batch_image_command"].update(
                command=["ok", "bad\ud800"]
            ),
        ),
        (
            "task_definitions.0.executable.batch_image_command.environment_variables.0.value",
            lambda body: body["task_definitions"][0]["executable"]["batch_image_command"][
                "environment_variables"
            ][0].update(value="\x00"),
        ),
        (
            "notifications.0.email.name",
            lambda body: body["notifications"][0]["email"].update(name="Dev \udfff Team"),
        ),
    ],
    ids=["nul-description", "surrogate-command-item", "nul-nested-value", "surrogate-name"],
)
def test_a_nul_byte_or_lone_surrogate_in_any_string_is_refused(field: str, mutate: Any) -> None:
    body = sample_process("x")
    mutate(body)
    with pytest.raises(ValidationError) as caught:
        ProcessDefinition.model_validate(body)
    assert locations(caught.value) in ([field], [f"{field}.1"])
    message = caught.value.errors()[0]["msg"]
    # pydantic itself refuses a surrogate in some places, and a field with a pattern (an
    # environment variable's value) refuses a NUL byte by that pattern, in its own words.
    expected = ("NUL byte", "lone surrogate", "unicode string", "should match pattern")
    assert any(words in message for words in expected)


def test_an_escaped_surrogate_in_json_is_refused_too() -> None:
    body = json.dumps(definition("x", process_description="\ud800"))  # sent as an escape
    with pytest.raises(ValidationError):
        ProcessDefinition.model_validate_json(body)
    with pytest.raises(ValidationError) as caught:  # decoded first, as the REST API does
        ProcessDefinition.model_validate(json.loads(body))
    assert locations(caught.value) == ["process_description"]


def test_any_other_unicode_is_stored_as_sent() -> None:
    text = "tab\there, é, 日本, 🚀, \u2028, \x7f"
    parsed = ProcessDefinition.model_validate(definition("x", process_description=text))
    assert parsed.to_wire()["process_description"] == text


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_every_example_is_accepted_as_yaml_and_round_trips(path: Path) -> None:
    spec = yaml.safe_load(path.read_text())["spec"]
    parsed = ProcessDefinitionSpec.model_validate(spec)
    dumped = parsed.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert ProcessDefinitionSpec.model_validate(dumped) == parsed


@pytest.mark.parametrize(
    ("model", "body", "field"),
    [
        (LogEntry, {"message": "m" * (limits.MAX_LOG_MESSAGE_CHARS + 1)}, "message"),
        (LogEntry, {"source": "s" * 201}, "source"),
        (LogEntry, {"message": "a\x00"}, "message"),
        (LogEntry, {"when": "0001-01-01T00:00:00+01:00"}, "when"),
        (LogEntry, {"when": "9999-12-31T23:59:59-01:00"}, "when"),
        (LogEntry, {"source": 3}, "source"),
        (MetadataEntry, {"key": "k" * 501}, "key"),
        (MetadataEntry, {"value": "v" * (limits.MAX_TEXT_CHARS + 1)}, "value"),
        (MetadataEntry, {"value": "\ud800"}, "value"),
    ],
)
def test_callback_entries_are_bounded(model: Any, body: dict[str, Any], field: str) -> None:
    base = {
        "log_entry_id": "0b0e6a8e-59a4-4a47-9a3c-7ae1e2b7d0a1",
        "metadata_entry_id": "0b0e6a8e-59a4-4a47-9a3c-7ae1e2b7d0a1",
        "when": "2017-11-23T10:00:00.000Z",
        "source": "job",
        "message": "m",
        "key": "k",
        "value": "v",
    }
    allowed = set(model.model_fields)
    entry = {key: value for key, value in {**base, **body}.items() if key in allowed}
    with pytest.raises(ValidationError) as caught:
        model.model_validate(entry)
    assert locations(caught.value) == [field]
    good = {key: value for key, value in base.items() if key in allowed}
    assert model.model_validate(good) == model.model_validate_json(json.dumps(good))
