"""Templates to HTML responses: one Jinja2 environment, autoescaping everything.

Templates live in `templates/` next to this module and the stylesheet in `static/`; both ship in
the wheel as package data. Every value a template prints is escaped unless a template marks it
safe, and none does with text from users or jobs. An undefined name is an error, not an empty
string, so a typo in a template fails its tests instead of hiding a value.
"""

from __future__ import annotations

import hashlib
import logging
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Final, NamedTuple
from urllib.parse import quote, urlencode

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from gnomon import __version__
from gnomon.api import AppContext
from gnomon.web import formatting
from gnomon.web.forgery import page_token, remember_token
from gnomon.web.headers import secure
from gnomon.web.icons import icon
from gnomon.web.notices import notice_for
from gnomon.web.sessions import signed_in

log = logging.getLogger(__name__)

STATIC_DIRECTORY: Final = Path(__file__).parent / "static"
STATIC_PREFIX: Final = "/static"


@cache
def static_url(name: str) -> str:
    """The URL of a static file, with a digest of its content so a new release is fetched anew."""
    digest = hashlib.sha256((STATIC_DIRECTORY / name).read_bytes()).hexdigest()[:12]
    return f"{STATIC_PREFIX}/{name}?v={digest}"


@lru_cache(maxsize=16_384)
def path_segment(text: str) -> str:
    """`text` quoted to stand as one segment of a URL path (a definition's name in a link)."""
    return quote(text, safe="")


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("gnomon.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        shown_time=formatting.shown_time,
        machine_time=formatting.machine_time,
        duration=formatting.duration,
        segment=path_segment,
    )
    environment.globals.update(static=static_url, version=__version__, icon=icon)
    return environment


ENVIRONMENT: Final = _environment()


class Account(NamedTuple):
    """The top bar's Sign in or Sign out, shown only when the UI has a token to ask for."""

    signed_in: bool
    login_url: str


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """The page `template` filled with `context`, with the security headers.

    Every page gets the browser's forgery-protection token as `csrf` (for its forms; the cookie
    is set with the page when the browser had none), the notice its `done` parameter names, and
    the reader's `account` for the top bar. `live`, if given, is the URL of the page's change
    stream (`gnomon.web.live`): the page then updates itself while open."""
    context.setdefault("csrf", page_token(request))
    context.setdefault("notice", notice_for(request))
    context.setdefault("account", account(request))
    context.setdefault("live", None)
    html = ENVIRONMENT.get_template(template).render(path=request.url.path, **context)
    response = HTMLResponse(html, status_code=status)
    # Pages show the store as it is now: a browser may keep one, but asks again before showing it.
    response.headers["Cache-Control"] = "no-cache"
    remember_token(request, response)
    secure(response)
    return response


def account(request: Request) -> Account | None:
    """Whether the reader is signed in, and where to sign in; None when no token is set."""
    app_context: AppContext | None = getattr(request.app.state, "context", None)
    if app_context is None or app_context.settings.api_token is None:
        return None
    return Account(signed_in(request, app_context), login_url(here(request)))


def here(request: Request) -> str:
    """The request's path and query, to come back to."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def login_url(next_path: str) -> str:
    return "/login?" + urlencode({"next": next_path})
