"""`/_internal_`: Prometheus metrics and the healthcheck."""

from __future__ import annotations

import os

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from sqlalchemy.exc import SQLAlchemyError

from gnomon.api.deps import ContextDep
from gnomon.storage.engine import ping

router = APIRouter(prefix="/_internal_", tags=["internal"])
MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus text exposition (summed over every worker process when there are several)."""
    registry: CollectorRegistry = request.app.state.registry
    if os.environ.get(MULTIPROCESS_DIRECTORY):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/healthcheck")
def healthcheck(context: ContextDep) -> JSONResponse:
    """200 when the store (and the scheduler and executor, where they run) can work; 503 saying
    what cannot. A dead scheduler loop is `unavailable`: a supervisor should restart the process
    (which also exits non-zero by itself)."""
    body = {"status": "ok", "store": "ok"}
    if context.scheduler_health is not None:
        dead = context.scheduler_health()
        body["scheduler"] = dead or "ok"
        if dead:
            body["status"] = "unavailable"
    try:
        ping(context.engine)
    except SQLAlchemyError as exc:
        body["status"], body["store"] = "unavailable", f"unreachable: {str(exc).splitlines()[0]}"
    if context.executor_health is not None:
        problem = context.executor_health()
        body["executor"] = problem or "ok"
        if problem and body["status"] == "ok":
            body["status"] = "degraded"
    return JSONResponse(body, 200 if body["status"] == "ok" else 503)
