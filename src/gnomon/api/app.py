"""The FastAPI application: Sundial's REST endpoints, metrics, healthcheck and OpenAPI docs."""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from gnomon import __version__
from gnomon.api.body_limit import BodyLimitMiddleware
from gnomon.api.deps import AppContext
from gnomon.api.errors import install_error_handlers
from gnomon.api.http_metrics import install_http_metrics
from gnomon.api.openapi import install_openapi
from gnomon.api.request_guard import RequestGuardMiddleware
from gnomon.api.routes import internal, process_definitions, processes, tasks
from gnomon.domain.changes import ChangeFeed
from gnomon.domain.clock import Clock, SystemClock
from gnomon.settings import Settings
from gnomon.storage import Engine, StoreProbe

log = logging.getLogger(__name__)
DESCRIPTION = (
    "Schedules and runs Docker-based jobs. Wire-compatible with Sundial's REST API: "
    "unions are wrapper objects, times are ISO 8601 UTC with milliseconds, optional fields are "
    "omitted. Errors are JSON: `{message, errors: [{field, message}]}`."
)


def create_app(
    settings: Settings,
    engine: Engine,
    *,
    clock: Clock | None = None,
    registry: CollectorRegistry | None = None,
    on_change: Callable[[str], None] | None = None,
    executor_health: Callable[[], str | None] | None = None,
    scheduler_health: Callable[[], str | None] | None = None,
    changes: ChangeFeed | None = None,
) -> FastAPI:
    """Build the API over `engine`; `on_change` wakes the scheduler after a request, and each
    change is also published on `changes` (the pages' feed; a new one if not given)."""
    app = FastAPI(title="Gnomon", version=__version__, description=DESCRIPTION)
    feed = changes or ChangeFeed()
    wake = on_change or (lambda _topic: None)

    def changed(topic: str) -> None:
        wake(topic)
        feed.publish(topic)

    app.state.context = AppContext(
        settings=settings,
        engine=engine,
        clock=clock or SystemClock(),
        on_change=changed,
        changes=feed,
        executor_health=executor_health,
        scheduler_health=scheduler_health,
    )
    app.state.registry = registry or CollectorRegistry()
    app.state.store_probe = StoreProbe(engine)
    install_error_handlers(app)
    # Bad targets and oversized bodies never reach a route; the metrics (added after, so
    # outside) still count them.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(RequestGuardMiddleware)
    install_http_metrics(app, app.state.registry)
    for module in [process_definitions, processes, tasks, internal]:
        app.include_router(module.router)
    install_openapi(
        app,
        token_required=settings.api_token is not None,
        reads_closed=settings.require_token_for_reads,
    )
    return app
