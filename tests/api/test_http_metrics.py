"""The request-duration histogram's middleware on its own: one observation per request, with the
route template and status class; a failure counts as 5xx; a stream counts until it began."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from gnomon.api.http_metrics import install_http_metrics

STREAM_SECONDS = 0.5


def _app(registry: CollectorRegistry) -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item}")
    def item(item: str) -> dict[str, str]:
        return {"item": item}

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    @app.get("/stream")
    def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"first\n"
            await asyncio.sleep(STREAM_SECONDS)
            yield b"last\n"

        return StreamingResponse(chunks())

    install_http_metrics(app, registry)
    return app


def _sample(registry: CollectorRegistry, name: str, path: str, status: str) -> float | None:
    labels = {"method": "GET", "path": path, "status": status}
    return registry.get_sample_value(f"http_request_duration_seconds_{name}", labels)


def test_each_request_is_observed_once_under_its_route_template() -> None:
    registry = CollectorRegistry()
    with TestClient(_app(registry)) as client:
        for name in ("a", "b", "c"):
            assert client.get(f"/items/{name}").status_code == 200
        assert client.get("/nowhere").status_code == 404
    assert _sample(registry, "count", "/items/{item}", "2xx") == 3
    assert _sample(registry, "count", "<unmatched>", "4xx") == 1


def test_a_route_that_raises_counts_once_as_a_server_error() -> None:
    registry = CollectorRegistry()
    with TestClient(_app(registry), raise_server_exceptions=False) as client:
        assert client.get("/boom").status_code == 500
    assert _sample(registry, "count", "/boom", "5xx") == 1
    assert _sample(registry, "count", "/boom", "2xx") is None


def test_a_stream_counts_the_time_until_it_began() -> None:
    registry = CollectorRegistry()
    with TestClient(_app(registry)) as client:
        assert client.get("/stream").text == "first\nlast\n"
    assert _sample(registry, "count", "/stream", "2xx") == 1
    took = _sample(registry, "sum", "/stream", "2xx")
    assert took is not None
    assert took < STREAM_SECONDS


def test_the_lifespan_passes_through_unobserved() -> None:
    """Only HTTP requests are observed: starting and stopping the app records nothing."""
    registry = CollectorRegistry()
    with TestClient(_app(registry)):
        pass
    observed = [
        sample
        for metric in registry.collect()
        for sample in metric.samples
        if sample.name == "http_request_duration_seconds_count"
    ]
    assert observed == []
