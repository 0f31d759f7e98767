"""Entry points that run Gnomon's long-lived parts under uvicorn."""

from __future__ import annotations

import logging

import uvicorn
from sqlalchemy.engine import Engine

from gnomon.api.app import create_app
from gnomon.settings import Settings
from gnomon.storage.engine import is_sqlite, make_engine
from gnomon.storage.migrate import upgrade

log = logging.getLogger(__name__)


def migrate(settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    upgrade(engine)
    log.info("store schema is up to date at %s", engine.url.render_as_string(hide_password=True))
    return 0


def _engine_for_serving(settings: Settings) -> Engine:
    engine = make_engine(settings.database_url)
    if is_sqlite(engine):
        # A SQLite file belongs to this one process: keep its schema current without a step.
        upgrade(engine)
    return engine


def serve_api(settings: Settings) -> int:
    """Only the REST API (several replicas may run)."""
    app = create_app(settings, _engine_for_serving(settings))
    _announce(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None)
    return 0


def serve(settings: Settings) -> int:
    """Everything in one process."""
    return serve_api(settings)


def _announce(settings: Settings) -> None:
    url = f"http://{settings.host}:{settings.port}"
    log.info("Gnomon is listening on %s (API docs at %s/docs)", url, url)
