"""Property tests of the definition models against hostile input (Hypothesis).

Whatever a client sends, the models either refuse it or accept a definition that (1) holds only
numbers, strings and lists within the maxima the JSON Schema states, (2) serialises to strict
JSON (no Infinity or NaN) and (3) round-trips exactly: what GET returns, PUT takes back unchanged.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from gnomon.domain import limits
from gnomon.domain.definitions import ProcessDefinition
from gnomon.domain.text import unstorable_text

JsonSchema = dict[str, Any]
SCHEMA = ProcessDefinition.model_json_schema(by_alias=True)

BOUNDARIES = [0, 1, -1, limits.MAX_SECONDS, limits.MAX_SECONDS + 1, 100, 101, 10, 10_000, 10**12]
hostile_numbers = st.one_of(
    st.sampled_from(BOUNDARIES),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.sampled_from(["3", "1e3", "Infinity"]),
)
hostile_texts = st.one_of(
    st.sampled_from(["a\x00b", "\ud800", "x\udfff", "", "é" * 300]),
    st.integers(),
    st.none(),
)


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`good` nine times in ten: each body has many fields, and a good share of bodies must be
    accepted for the properties of accepted bodies to be checked."""
    return st.integers(min_value=0, max_value=9).flatmap(lambda n: bad if n == 0 else good)


numbers = mostly(st.integers(min_value=1, max_value=10), hostile_numbers)
texts = mostly(st.text(min_size=3, max_size=12), hostile_texts)
urls = st.one_of(
    st.sampled_from(
        [
            "http://hooks.example.com/a?b=c#d",
            "HTTPS://Example.COM:8443/x%20y",
            "https://[2001:db8::1]/",
            "file:///etc/passwd",
            "gopher://h/",
            "javascript:alert(1)",
            "/relative",
            "http://",
            "http://:80/",
            "https://h:99999/",
        ]
    ),
    texts,
)


def optional(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


executables = st.one_of(
    st.fixed_dictionaries(
        {
            "docker_image_command": st.fixed_dictionaries(
                {
                    "image": st.one_of(st.just("busybox"), texts),
                    "command": st.lists(texts, max_size=3),
                },
                optional={
                    "tag": texts,
                    "memory": numbers,
                    "cpu": numbers,
                    "log_paths": st.lists(texts, max_size=2),
                },
            )
        }
    ),
    st.fixed_dictionaries(
        {
            "batch_image_command": st.fixed_dictionaries(
                {"image": st.just("i"), "command": st.just([]), "memory": numbers, "vCpus": numbers}
            )
        }
    ),
    st.fixed_dictionaries({"shell_script_command": st.fixed_dictionaries({"script": texts})}),
)
executables = mostly(executables, st.just({"docker_image_command": None}))


@st.composite
def tasks(draw: st.DrawFn, index: int) -> dict[str, Any]:
    task: dict[str, Any] = {"task_definition_name": f"t{index}", "executable": draw(executables)}
    task.update(
        draw(
            optional(
                max_attempts=numbers,
                max_runtime_seconds=numbers,
                backoff_base_seconds=numbers,
                backoff_exponent=numbers,
                require_explicit_success=mostly(st.booleans(), hostile_numbers),
            )
        )
    )
    if index and draw(st.booleans()):
        task["dependencies"] = [{"task_definition_name": f"t{index - 1}"}]
    return task


schedules = st.one_of(
    st.none(),
    st.just({"cron_schedule": None}),
    st.fixed_dictionaries({"continuous_schedule": optional(buffer_seconds=numbers)}),
    st.fixed_dictionaries(
        {
            "cron_schedule": st.fixed_dictionaries(
                {
                    "minutes": st.just("0"),
                    "hours": st.just("*"),
                    "day_of_month": st.just("*"),
                    "month": st.just("*"),
                    "day_of_week": st.just("?"),
                },
                optional={"starting_deadline_seconds": numbers},
            )
        }
    ),
)
notifications = st.one_of(
    st.fixed_dictionaries({"webhook": st.fixed_dictionaries({"url": urls})}),
    st.fixed_dictionaries(
        {
            "pagerduty": st.fixed_dictionaries(
                {"service_key": texts},
                optional={"num_consecutive_failures": numbers, "api_url": urls},
            )
        }
    ),
    st.fixed_dictionaries({"email": st.fixed_dictionaries({"name": texts, "email": texts})}),
    st.sampled_from([{"webhook": None}, {"email": None}]),
)


@st.composite
def definitions(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(min_value=1, max_value=3))
    body: dict[str, Any] = {
        "process_definition_name": "fuzzed",
        "task_definitions": [draw(tasks(i)) for i in range(count)],
    }
    body.update(
        draw(
            optional(
                schedule=schedules,
                notifications=st.lists(notifications, max_size=2),
                process_description=texts,
                paused=mostly(st.booleans(), hostile_numbers),
            )
        )
    )
    return body


def resolve(node: JsonSchema) -> JsonSchema:
    """A node of SCHEMA with `$ref` followed and `X | None` unwrapped."""
    while True:
        if "$ref" in node:
            node = {**SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[-1]], **node}
            del node["$ref"]
            continue
        options = [option for option in node.get("anyOf", []) if option.get("type") != "null"]
        if len(options) == 1:
            node = {**{k: v for k, v in node.items() if k != "anyOf"}, **options[0]}
            continue
        return node


def out_of_bounds(value: Any, schema: JsonSchema, path: str = "") -> list[str]:
    """Where `value` (a wire body) breaks a bound its schema states, or states none."""
    node = resolve(schema)
    if isinstance(value, bool):
        return [] if node.get("type") == "boolean" else [f"{path}: a boolean"]
    if isinstance(value, int | float):
        if "maximum" not in node or not math.isfinite(value):
            return [f"{path}: {value} has no finite bound"]
        if not node.get("minimum", -math.inf) <= value <= node["maximum"]:
            return [f"{path}: {value} outside [{node.get('minimum')}, {node['maximum']}]"]
        return []
    if isinstance(value, str):
        limit = node.get("maxLength", limits.MAX_TEXT_CHARS if "enum" in node else None)
        if limit is None and path.endswith(("variable_name", "value")):
            limit = limits.MAX_TEXT_CHARS  # EnvironmentVariable: bounded by its owner
        problems = [f"{path}: {unstorable_text(value)}"] if unstorable_text(value) else []
        if limit is None or len(value) > limit:
            problems.append(f"{path}: {len(value)} chars, bound {limit}")
        return problems
    if isinstance(value, list):
        problems = [] if len(value) <= node.get("maxItems", -1) else [f"{path}: list unbounded"]
        for index, item in enumerate(value):
            problems += out_of_bounds(item, node["items"], f"{path}[{index}]")
        return problems
    problems = []
    for key, item in value.items():
        if key in node.get("properties", {}):
            problems += out_of_bounds(item, node["properties"][key], f"{path}.{key}")
        else:
            problems.append(f"{path}.{key}: not in the schema")
    return problems


@settings(max_examples=400, deadline=None)
@given(definitions())
def test_an_accepted_definition_is_bounded_and_round_trips(body: dict[str, Any]) -> None:
    try:
        parsed = ProcessDefinition.model_validate(body)
    except ValidationError as exc:
        event("refused")
        # The REST API decodes JSON before validating: the verdict must be the same.
        decoded = json.loads(json.dumps(body))
        try:
            ProcessDefinition.model_validate(decoded)
        except ValidationError as decoded_exc:
            assert [e["loc"] for e in decoded_exc.errors()] == [e["loc"] for e in exc.errors()]
        else:
            raise AssertionError("accepted once decoded from JSON") from exc
        return
    event("accepted")
    wire = parsed.to_wire()
    assert out_of_bounds(wire, SCHEMA) == []
    text = json.dumps(wire, allow_nan=False)
    again = ProcessDefinition.model_validate(json.loads(text))
    assert again.to_wire() == wire


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.text(max_size=5), texts | numbers, max_size=4))
def test_unknown_or_mistyped_fields_are_refused_not_dropped(extra: dict[str, Any]) -> None:
    body = {"process_definition_name": "x", "task_definitions": [], **extra}
    try:
        parsed = ProcessDefinition.model_validate(body)
    except ValidationError:
        return
    assert set(extra) <= set(ProcessDefinition.model_fields) | {"process_definition_name"}
    assert out_of_bounds(parsed.to_wire(), SCHEMA) == []
