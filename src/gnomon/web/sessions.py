"""Who is signed in to the UI: a browser that showed the API token once holds a cookie for it.

With GNOMON_API_TOKEN set, the UI's actions (and its pages, when reads need the token) ask for
the token on a login page; the REST API's callers send it as a bearer header instead. The cookie
is not the token: it is the time of sign-in, signed with the token (HMAC-SHA256), so the token
itself is never stored in the browser, a session ends after `SESSION_SECONDS`, and changing the
token ends every session. It is HttpOnly (no script reads it), SameSite=Strict (no other site's
request carries it) and Secure over https.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from datetime import datetime
from typing import Final

from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import Response

from gnomon.api import AppContext

log = logging.getLogger(__name__)

COOKIE: Final = "gnomon_session"
SESSION_SECONDS: Final = 12 * 3600
_CLOCK_SKEW_SECONDS: Final = 60
_ISSUED: Final = re.compile(r"[0-9]{1,12}")


def token_configured(context: AppContext) -> bool:
    return context.settings.api_token is not None


def tokens_match(given: str, expected: SecretStr) -> bool:
    """Whether `given` is the token, compared in constant time (as bytes: `compare_digest`
    refuses non-ASCII text)."""
    secret = expected.get_secret_value().encode("utf-8")
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), secret)


def signed_in(request: Request, context: AppContext) -> bool:
    """Whether the browser holds a session cookie signed with the current token, not expired."""
    expected = context.settings.api_token
    if expected is None:
        return False
    issued_text, _, signature = request.cookies.get(COOKIE, "").partition(".")
    if not _ISSUED.fullmatch(issued_text):
        return False
    issued = int(issued_text)
    age = context.clock.now().timestamp() - issued
    if not -_CLOCK_SKEW_SECONDS <= age < SESSION_SECONDS:
        return False
    return hmac.compare_digest(signature.encode("ascii", "replace"), _sign(expected, issued))


def sign_in(request: Request, response: Response, token: SecretStr, now: datetime) -> None:
    """Give the browser a session cookie, once it has shown `token`."""
    issued = int(now.timestamp())
    response.set_cookie(
        COOKIE,
        f"{issued}.{_sign(token, issued).decode('ascii')}",
        max_age=SESSION_SECONDS,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def sign_out(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )


def _sign(token: SecretStr, issued: int) -> bytes:
    message = f"gnomon web session {issued}".encode("ascii")
    key = token.get_secret_value().encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest().encode("ascii")
