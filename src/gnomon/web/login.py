"""`/login` and `/logout`: the UI asks for GNOMON_API_TOKEN once, before any action.

The login page posts the token; when it is this Gnomon's (compared in constant time) the browser
gets a session cookie (`sessions`) and goes back to `next`, a path on this site only. A wrong
token shows the form again with a 401. Both forms carry the forgery-protection token: another
site cannot sign a browser in or out.
"""

from __future__ import annotations

import logging
from typing import Annotated, Final

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from gnomon.api import ContextDep, NowDep
from gnomon.web.errors import PageRoute
from gnomon.web.forms import FormDep, local_path, refuse_forgery, with_notice
from gnomon.web.rendering import render
from gnomon.web.sessions import sign_in, sign_out, tokens_match

log = logging.getLogger(__name__)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

MAX_TOKEN_CHARS: Final = 4096
_WRONG: Final = "That is not this Gnomon's API token."

NextQuery = Annotated[str, Query(alias="next")]
"""Where to go once signed in; followed only when it is a path on this site."""


@router.get("/login")
def login_page(request: Request, context: ContextDep, next_path: NextQuery = "/") -> Response:
    """The form asking for the API token; without a token set there is nothing to ask."""
    target = local_path(next_path, "/")
    if context.settings.api_token is None:
        return RedirectResponse(target, status_code=303)
    return _form(request, target)


@router.post("/login")
def login(request: Request, form: FormDep, context: ContextDep, now: NowDep) -> Response:
    """Sign the browser in when the token is right; show the form again when it is not."""
    refuse_forgery(request, form, context.settings.public_url)
    target = local_path(form.get("next"), "/")
    expected = context.settings.api_token
    if expected is None:
        return RedirectResponse(target, status_code=303)
    given = form.get("token", "")
    if len(given) > MAX_TOKEN_CHARS or not tokens_match(given, expected):
        log.info("UI sign-in refused: wrong token")
        return _form(request, target, problem=_WRONG, status=401)
    response = RedirectResponse(with_notice(target, "signed-in"), status_code=303)
    sign_in(request, response, expected, now)
    return response


@router.post("/logout")
def logout(request: Request, form: FormDep, context: ContextDep) -> Response:
    """Forget the browser's session."""
    refuse_forgery(request, form, context.settings.public_url)
    response = RedirectResponse(with_notice("/", "signed-out"), status_code=303)
    sign_out(request, response)
    return response


def _form(
    request: Request, target: str, *, problem: str | None = None, status: int = 200
) -> Response:
    return render(
        request,
        "login.html",
        status=status,
        title="Sign in",
        next_path=target,
        problem=problem,
        max_token=MAX_TOKEN_CHARS,
    )
