"""The OpenAPI document tells the truth: error statuses, the error body, the bearer scheme."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from gnomon.api.app import create_app
from gnomon.settings import Settings
from gnomon.storage.engine import make_engine
from tests.samples import definition

DEFS = "/api/process_definitions"
NAME = DEFS + "/{process_definition_name}"
PROCESS = "/api/processes/{process_id}"
TASK = "/api/tasks/{task_id}"
READ = {400, 413, 503}
TOKEN = {401, 403}
# What each operation's code can answer besides success (see each route's raises).
EXPECTED: dict[tuple[str, str], set[int]] = {
    ("get", DEFS + "/"): READ,
    ("get", NAME): READ | {404},
    ("put", NAME): READ | TOKEN | {409},
    ("delete", NAME): READ | TOKEN | {404, 409},
    ("post", NAME + "/trigger"): READ | TOKEN | {404, 409},
    ("post", NAME + "/pause"): READ | TOKEN | {404, 409},
    ("post", NAME + "/resume"): READ | TOKEN | {404, 409},
    ("get", "/api/processes/"): READ,
    ("get", PROCESS): READ | {404},
    ("post", PROCESS + "/retry"): READ | TOKEN | {404},
    ("post", PROCESS + "/kill"): READ | TOKEN | {404},
    ("get", "/api/tasks/"): READ,
    ("post", TASK + "/log_entries"): READ | TOKEN | {404},
    ("post", TASK + "/metadata"): READ | TOKEN | {404},
    ("post", TASK + "/succeed"): READ | TOKEN | {404},
    ("post", TASK + "/fail"): READ | TOKEN | {404},
    ("get", "/_internal_/metrics"): {400, 413},
    ("get", "/_internal_/healthcheck"): READ,
    ("get", "/_internal_/readyz"): READ,
    ("get", "/_internal_/livez"): READ,
}
PROBES = ("healthcheck", "readyz", "livez")
SECURED = {op for op, statuses in EXPECTED.items() if 401 in statuses}


def document(token: str | None = None) -> dict[str, Any]:
    settings = Settings(api_token=SecretStr(token) if token else None)
    return create_app(settings, make_engine("sqlite://")).openapi()


def operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, methods in doc["paths"].items()
        for method, operation in methods.items()
    }


def test_every_operation_declares_each_error_it_answers_with_the_error_body() -> None:
    doc = document()
    found = operations(doc)
    assert set(found) == set(EXPECTED)
    for key, operation in found.items():
        responses = operation["responses"]
        errors = {int(status) for status in responses if int(status) >= 400}
        assert errors == EXPECTED[key], key
        for status in errors - ({503} if key[1].endswith(PROBES) else set()):
            schema = responses[str(status)]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (key, status)
    assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_the_error_body_schema_is_message_and_field_errors() -> None:
    schemas = document()["components"]["schemas"]
    body, field_error = schemas["ErrorBody"], schemas["FieldError"]
    assert body["required"] == ["message", "errors"]
    assert body["properties"]["errors"]["items"] == {"$ref": "#/components/schemas/FieldError"}
    assert field_error["required"] == ["field", "message"]


def test_routes_that_take_a_token_declare_the_bearer_scheme() -> None:
    doc = document("secret")
    assert doc["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": doc["components"]["securitySchemes"]["HTTPBearer"]["description"],
    }
    for key, operation in operations(doc).items():
        expected: list[dict[str, list[str]]] | None = (
            [{"HTTPBearer": []}] if key in SECURED else None
        )
        assert operation.get("security") == expected, key


def test_without_an_api_token_the_scheme_is_optional() -> None:
    for key, operation in operations(document()).items():
        expected: list[dict[str, list[str]]] | None = (
            [{"HTTPBearer": []}, {}] if key in SECURED else None
        )
        assert operation.get("security") == expected, key


def test_links_lead_to_operations_with_the_parameters_they_fill() -> None:
    doc = document()
    by_id = {op["operationId"]: op for op in operations(doc).values()}
    links = [
        (key, link)
        for key, operation in operations(doc).items()
        for response in operation["responses"].values()
        for link in response.get("links", {}).values()
    ]
    sources = {key for key, _ in links}
    assert {("put", NAME), ("post", NAME + "/trigger"), ("get", PROCESS)} <= sources
    for key, link in links:
        target = by_id[link["operationId"]]
        names = {parameter["name"] for parameter in target.get("parameters", [])}
        assert link["parameters"] and set(link["parameters"]) <= names, (key, link)


def _example_path(path: str) -> str:
    return (
        path.replace("{process_definition_name}", "d")
        .replace("{process_id}", "00000000-0000-0000-0000-000000000000")
        .replace("{task_id}", "00000000-0000-0000-0000-000000000000")
    )


@pytest.fixture
def store_down() -> Engine:
    # Nothing listens on port 1: every connection is refused at once.
    return make_engine("postgresql+psycopg://gnomon@127.0.0.1:1/gnomon")


def _example_body(method: str, path: str) -> Any:
    if method == "put":
        return definition("d")
    return [] if path.endswith(("log_entries", "metadata")) else None


def test_with_the_store_down_every_operation_answers_a_declared_503(store_down: Engine) -> None:
    app = create_app(Settings(), store_down)
    with TestClient(app, raise_server_exceptions=False) as client:
        for (method, path), operation in operations(app.openapi()).items():
            query = "?process_definition_name=d&task_definition_name=t" if "tasks/" in path else ""
            target = _example_path(path) + query
            response = client.request(method, target, json=_example_body(method, path))
            # Liveness never asks the store: an outage must not restart the process.
            expected = 200 if path.endswith(("metrics", "livez")) else 503
            assert response.status_code == expected, (method, target, response.text)
            assert str(expected) in operation["responses"]


def test_with_reads_closed_the_reads_declare_the_token_and_its_errors() -> None:
    settings = Settings(api_token=SecretStr("secret"), require_token_for_reads=True)
    doc = create_app(settings, make_engine("sqlite://")).openapi()
    reads = {key for key in EXPECTED if key[0] == "get" and key[1].startswith("/api/")}
    for key, operation in operations(doc).items():
        statuses = {int(status) for status in operation["responses"] if int(status) >= 400}
        if key in reads:
            assert statuses == EXPECTED[key] | TOKEN, key
            assert operation.get("security") == [{"HTTPBearer": []}], key
        else:
            assert statuses == EXPECTED[key], key


def test_every_union_says_it_has_exactly_one_member() -> None:
    schemas = document()["components"]["schemas"]
    for name in ("ProcessSchedule", "TaskExecutable", "Notification", "EnvironmentSource"):
        assert (schemas[name]["minProperties"], schemas[name]["maxProperties"]) == (1, 1), name
