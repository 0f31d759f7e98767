"""`http_request_duration_seconds`, labelled as Sundial's Prometheus filter did: method, route
template (never the raw path, so ids cannot blow up the label set) and status class."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry, Histogram

# Sundial's buckets: {1, 2, 5} x {0.1 ms ... 10 s}.
BUCKETS = tuple(m * 10.0**e for e in range(-4, 2) for m in (1, 2, 5))
UNMATCHED = "<unmatched>"


def install_http_metrics(app: FastAPI, registry: CollectorRegistry) -> None:
    histogram = Histogram(
        "http_request_duration_seconds",
        "Time to answer an HTTP request",
        ["method", "path", "status"],
        buckets=BUCKETS,
        registry=registry,
    )

    @app.middleware("http")
    async def _measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = request.scope.get("route")
            path = getattr(route, "path", UNMATCHED)
            histogram.labels(request.method, path, f"{status // 100}xx").observe(
                time.perf_counter() - started
            )
