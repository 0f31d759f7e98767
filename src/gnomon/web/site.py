"""What the UI adds to the API's app: its pages and their stylesheet."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from gnomon.web import definitions, live, livelogs, runs
from gnomon.web.headers import SecureStaticFiles
from gnomon.web.rendering import STATIC_DIRECTORY, STATIC_PREFIX

log = logging.getLogger(__name__)


def install_pages(app: FastAPI) -> None:
    """Serve the UI's pages at `/` and `/process_definitions`, a run's live log, the pages' live
    streams under `/live`, and the UI's files under `/static`."""
    app.mount(STATIC_PREFIX, SecureStaticFiles(directory=STATIC_DIRECTORY), name="static")
    for module in (runs, definitions, livelogs, live):
        app.include_router(module.router)
