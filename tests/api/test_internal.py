"""Metrics, healthcheck and the OpenAPI description."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from gnomon.api.app import create_app
from gnomon.settings import Settings
from gnomon.storage.engine import make_engine
from tests.clock import FakeClock
from tests.samples import definition


def test_metrics_label_route_templates_and_status_classes(client: TestClient) -> None:
    client.put("/api/process_definitions/m", json=definition("m"))
    client.get("/api/process_definitions/m")
    client.get("/api/process_definitions/missing")
    client.get("/no/such/route")
    response = client.get("/_internal_/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    route = 'path="/api/process_definitions/{process_definition_name}"'
    assert f'http_request_duration_seconds_count{{method="GET",{route},status="2xx"}} 1.0' in text
    assert f'http_request_duration_seconds_count{{method="GET",{route},status="4xx"}} 1.0' in text
    assert f'http_request_duration_seconds_count{{method="PUT",{route},status="2xx"}} 1.0' in text
    assert 'path="<unmatched>"' in text
    assert "/missing" not in text


def test_healthcheck_ok(client: TestClient) -> None:
    response = client.get("/_internal_/healthcheck")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_healthcheck_503_when_store_is_unreachable(settings: Settings, clock: FakeClock) -> None:
    engine = make_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
    )
    with TestClient(create_app(settings, engine, clock=clock)) as client:
        response = client.get("/_internal_/healthcheck")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_probes_when_store_is_unreachable(settings: Settings, clock: FakeClock) -> None:
    """Readiness fails with the store; liveness does not, so an outage restarts no pod."""
    engine = make_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
    )
    with TestClient(create_app(settings, engine, clock=clock)) as client:
        ready = client.get("/_internal_/readyz")
        live = client.get("/_internal_/livez")
    assert (ready.status_code, ready.json()["status"]) == (503, "unavailable")
    assert (live.status_code, live.json()) == (200, {"status": "ok", "store": "not checked"})


def test_store_outage_is_503_not_500(settings: Settings, clock: FakeClock) -> None:
    engine = make_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
    )
    with TestClient(
        create_app(settings, engine, clock=clock), raise_server_exceptions=False
    ) as client:
        response = client.get("/api/process_definitions/")
    assert response.status_code == 503
    assert "store" in response.json()["message"]


def test_openapi_describes_every_endpoint(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    expected = {
        ("get", "/api/process_definitions/"),
        ("get", "/api/process_definitions/{process_definition_name}"),
        ("put", "/api/process_definitions/{process_definition_name}"),
        ("delete", "/api/process_definitions/{process_definition_name}"),
        ("post", "/api/process_definitions/{process_definition_name}/trigger"),
        ("post", "/api/process_definitions/{process_definition_name}/pause"),
        ("post", "/api/process_definitions/{process_definition_name}/resume"),
        ("get", "/api/processes/"),
        ("get", "/api/processes/{process_id}"),
        ("post", "/api/processes/{process_id}/retry"),
        ("post", "/api/processes/{process_id}/kill"),
        ("get", "/api/tasks/"),
        ("post", "/api/tasks/{task_id}/log_entries"),
        ("post", "/api/tasks/{task_id}/metadata"),
        ("post", "/api/tasks/{task_id}/succeed"),
        ("post", "/api/tasks/{task_id}/fail"),
        ("get", "/_internal_/metrics"),
        ("get", "/_internal_/healthcheck"),
    }
    present = {(m, p) for p, ops in paths.items() for m in ops}
    assert expected <= present
    schemas = spec["components"]["schemas"]
    for model in (
        "ProcessDefinition",
        "TaskDefinition",
        "Process",
        "Task",
        "LogEntry",
        "MetadataEntry",
    ):
        assert model in schemas, model
    assert client.get("/docs").status_code == 200


def test_healthcheck_says_when_jobs_cannot_run(
    settings: Settings, sqlite_engine: Engine, clock: FakeClock
) -> None:
    app = create_app(
        settings,
        sqlite_engine,
        clock=clock,
        executor_health=lambda: "Docker engine unreachable: connection refused",
    )
    with TestClient(app) as client:
        response = client.get("/_internal_/healthcheck")
        assert client.get("/api/process_definitions/").status_code == 200  # the API stays up
    assert response.status_code == 503
    assert response.json() == {
        "status": "degraded",
        "store": "ok",
        "executor": "Docker engine unreachable: connection refused",
    }
