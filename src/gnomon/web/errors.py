"""Errors a page answers with an HTML page of its own, never with JSON or a stack trace.

The REST API's handlers answer in JSON for programs; a person who followed a link with a bad
filter should see the page's frame, what was wrong, and a way back. Page routes raise
`PageError`; `PageRoute` renders it, whether it came from the route or a dependency.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from gnomon.errors import GnomonError
from gnomon.web.rendering import render

log = logging.getLogger(__name__)


class PageError(GnomonError):
    """A page that cannot be shown as asked: its HTTP status, a title and what to do about it,
    and the link onward (`link`: href and text; by default back to the latest runs)."""

    def __init__(
        self,
        status: int,
        title: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        link: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(f"{title}: {message}")
        self.status = status
        self.title = title
        self.message = message
        self.headers = dict(headers or {})
        self.link = link or ("/", "Back to the latest runs")


def error_page(request: Request, error: PageError) -> Response:
    response = render(
        request,
        "error.html",
        status=error.status,
        status_code=error.status,
        title=error.title,
        message=error.message,
        link=error.link,
    )
    response.headers.update(error.headers)
    return response


class PageRoute(APIRoute):
    """A route whose `PageError`s, raised by the route or its dependencies, become HTML pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except PageError as error:
                log.info("page %s refused: %s", request.url.path, error)
                return error_page(request, error)

        return handle
