"""Forgery protection of the UI's forms: another site must not make a reader's browser act here.

Two walls. A browser names where a POST came from (`Origin`, and `Sec-Fetch-Site` in current
browsers); one from another site is refused. And each browser holds a random token in a
`SameSite=Strict`, HttpOnly cookie which every form repeats in its hidden `csrf` field (double
submit): another site can make a browser post, but can neither read the cookie nor set it, so it
cannot write the matching field. The token is made on the first page a browser reads
(`page_token`, called by `render`) and kept for the browser's session.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from collections.abc import Mapping
from typing import Final
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

log = logging.getLogger(__name__)

COOKIE: Final = "gnomon_csrf"
FIELD: Final = "csrf"
_TOKEN: Final = re.compile(r"[A-Za-z0-9_-]{43}")
_DEFAULT_PORTS: Final = (":80", ":443")

CROSS_SITE: Final = (
    "This form was sent from another site. Gnomon acts only on forms sent from its own pages; "
    "open the page here and press the button again."
)
NO_TOKEN: Final = (
    "This form came without the browser's forgery-protection cookie (cookies may be blocked, "
    "or the page is older than the browser's session). Reload the page and press the button "
    "again."
)
WRONG_TOKEN: Final = (
    "This form's forgery-protection token does not match this browser's. Reload the page and "
    "press the button again."
)


def page_token(request: Request) -> str:
    """The browser's token, made now if it has none; `remember_token` sends a new one."""
    token = request.cookies.get(COOKIE, "")
    if _TOKEN.fullmatch(token):
        return token
    fresh: str | None = getattr(request.state, "csrf_token", None)
    if fresh is None:
        fresh = secrets.token_urlsafe(32)
        request.state.csrf_token = fresh
    return fresh


def remember_token(request: Request, response: Response) -> None:
    """Set the cookie of a token `page_token` made for this request."""
    fresh: str | None = getattr(request.state, "csrf_token", None)
    if fresh is not None:
        response.set_cookie(
            COOKIE,
            fresh,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )


def forgery_problem(
    request: Request, form: Mapping[str, str], public_url: str | None
) -> str | None:
    """Why this POST may be forged, or None when it came from one of this site's pages."""
    if request.headers.get("sec-fetch-site", "").lower() == "cross-site":
        return CROSS_SITE
    origin = request.headers.get("origin")
    if origin is not None and not _own_origin(origin, request, public_url):
        return CROSS_SITE
    cookie = request.cookies.get(COOKIE, "")
    if not _TOKEN.fullmatch(cookie):
        return NO_TOKEN
    sent = form.get(FIELD, "").encode("utf-8", "surrogatepass")
    if not hmac.compare_digest(sent, cookie.encode("ascii")):
        return WRONG_TOKEN
    return None


def _own_origin(origin: str, request: Request, public_url: str | None) -> bool:
    """Whether `origin` names this site: the host the request was sent to, or the public URL
    (behind a proxy that rewrites the Host header). Schemes are not compared: a proxy may end
    TLS, so the request itself may say http where the browser said https."""
    try:
        host = urlsplit(origin).netloc.lower()
    except ValueError:
        return False
    if not host or origin == "null":
        return False
    own = {_without_default_port(request.headers.get("host", "").lower())}
    if public_url:
        own.add(_without_default_port(urlsplit(public_url).netloc.lower()))
    return host in own


def _without_default_port(host: str) -> str:
    for port in _DEFAULT_PORTS:
        if host.endswith(port):
            return host.removesuffix(port)
    return host
