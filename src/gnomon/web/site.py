"""What the UI adds to the API's app: its pages and their stylesheet."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from gnomon.web import definition_page, definitions, runs
from gnomon.web.headers import SecureStaticFiles
from gnomon.web.rendering import STATIC_DIRECTORY, STATIC_PREFIX

log = logging.getLogger(__name__)


def install_pages(app: FastAPI) -> None:
    """Serve the UI's pages at `/`, `/process_definitions` and `/process_definitions/NAME`, and
    its files under `/static`."""
    app.mount(STATIC_PREFIX, SecureStaticFiles(directory=STATIC_DIRECTORY), name="static")
    for module in (runs, definitions, definition_page):
        app.include_router(module.router)
