"""What the UI adds to the API's app: its pages, their actions and login, and its static files."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from gnomon.web import (
    actions,
    definition_page,
    definitions,
    live,
    livelogs,
    login,
    run_page,
    runs,
)
from gnomon.web.headers import SecureStaticFiles
from gnomon.web.rendering import STATIC_DIRECTORY, STATIC_PREFIX

log = logging.getLogger(__name__)


def install_pages(app: FastAPI) -> None:
    """Serve the UI's pages (`/`, `/process_definitions`, `/process_definitions/NAME`,
    `/processes/{id}`, a run's live log), their actions and login, the pages' live streams under
    `/live`, and the UI's files under `/static`."""
    app.mount(STATIC_PREFIX, SecureStaticFiles(directory=STATIC_DIRECTORY), name="static")
    # Actions first: `/process_definitions/NAME/trigger` opened as a page is the action's own.
    for module in (runs, definitions, actions, definition_page, run_page, livelogs, live, login):
        app.include_router(module.router)
