"""`/_internal_`: Prometheus metrics, the healthcheck, and the liveness and readiness probes.

The probes have the paths `gnomon scheduler` and `gnomon operator` serve on their metrics port,
so every component is probed alike: liveness never asks the store (a database outage must not
restart every API pod), readiness is the healthcheck."""

from __future__ import annotations

import asyncio
import os

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from pydantic import BaseModel

from gnomon.api.deps import AppContext
from gnomon.api.openapi import errors
from gnomon.storage import StoreProbe

router = APIRouter(prefix="/_internal_", tags=["internal"])
MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"


class HealthReport(BaseModel):
    """What the healthcheck found: `status` is ok, degraded or unavailable."""

    status: str
    store: str
    scheduler: str | None = None
    executor: str | None = None


HEALTH = {"model": HealthReport}


@router.get("/metrics", response_class=Response, responses=errors())
def metrics(request: Request) -> Response:
    """Prometheus text exposition (summed over every worker process when there are several)."""
    registry: CollectorRegistry = request.app.state.registry
    if os.environ.get(MULTIPROCESS_DIRECTORY):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/healthcheck",
    response_model=None,
    responses={**errors(), 200: HEALTH, 503: {**HEALTH, "description": "Not healthy"}},
)
async def healthcheck(request: Request) -> JSONResponse:
    """200 when the store (and the scheduler and executor, where they run) can work; 503 saying
    what cannot (the same as `/_internal_/readyz`). A dead scheduler loop is `unavailable`: a
    supervisor should restart the process (which also exits non-zero by itself)."""
    # Async, with no thread-pool dependency: it must answer even when hung requests hold every
    # worker thread.
    context: AppContext = request.app.state.context
    body = _with_scheduler(context, {"status": "ok", "store": "ok"})
    problem = await store_problem(request)
    if problem is not None:
        body["status"], body["store"] = "unavailable", problem
    if context.executor_health is not None:
        problem = await asyncio.to_thread(context.executor_health)
        body["executor"] = problem or "ok"
        if problem and body["status"] == "ok":
            body["status"] = "degraded"
    return JSONResponse(body, 200 if body["status"] == "ok" else 503)


@router.get(
    "/readyz",
    response_model=None,
    responses={**errors(), 200: HEALTH, 503: {**HEALTH, "description": "Not ready"}},
)
async def readyz(request: Request) -> JSONResponse:
    """The readiness probe: the healthcheck."""
    return await healthcheck(request)


@router.get(
    "/livez",
    response_model=None,
    responses={**errors(), 200: HEALTH, 503: {**HEALTH, "description": "Not alive"}},
)
async def livez(request: Request) -> JSONResponse:
    """The liveness probe: 200 while the process serves requests (and its scheduler loop, where
    one runs, is alive); 503 when a restart would help. It never asks the store."""
    context: AppContext = request.app.state.context
    body = _with_scheduler(context, {"status": "ok", "store": "not checked"})
    return JSONResponse(body, 200 if body["status"] == "ok" else 503)


def _with_scheduler(context: AppContext, body: dict[str, str]) -> dict[str, str]:
    """`body` with the scheduler loop's state, where one runs in this process: a dead loop is
    `unavailable`."""
    if context.scheduler_health is not None:
        dead = context.scheduler_health()
        body["scheduler"] = dead or "ok"
        if dead:
            body["status"] = "unavailable"
    return body


async def store_problem(request: Request) -> str | None:
    """The store's health within a second: None, or why it cannot work."""
    probe: StoreProbe = request.app.state.store_probe
    return await probe.problem()
