"""Who may read the pages: the REST API's read policy, answered as a page.

With GNOMON_REQUIRE_TOKEN_FOR_READS the API hides definitions (they hold environment values) and
runs (they hold job output) from callers without GNOMON_API_TOKEN; the pages show the same data,
so they ask for the same token: from a browser signed in on the login page (`sessions`), or as a
bearer header from a program. A refusal is a page that says why, links to the login page and
shows nothing of the store.
"""

from __future__ import annotations

import logging
from typing import Annotated, Final

from fastapi import Depends, HTTPException, Request

from gnomon.api import ContextDep, require_read_token
from gnomon.web.errors import PageError
from gnomon.web.rendering import here, login_url
from gnomon.web.sessions import signed_in

log = logging.getLogger(__name__)

_MISSING: Final = (
    "This Gnomon shows its definitions and runs only to holders of its API token "
    "(GNOMON_REQUIRE_TOKEN_FOR_READS is set). Sign in with the token to read these pages; "
    "programs send it in an Authorization: Bearer header."
)
_WRONG: Final = "The bearer token sent with this request is not this Gnomon's API token."


def require_page_read(request: Request, context: ContextDep) -> None:
    """Refuse the page, as the API would refuse the read, unless the browser is signed in or
    sends the token."""
    if not context.settings.require_token_for_reads or signed_in(request, context):
        return
    try:
        require_read_token(request, context, None)
    except HTTPException as exc:
        if exc.status_code == 401:
            headers = {"WWW-Authenticate": "Bearer"}
            link = (login_url(here(request)), "Sign in")
            raise PageError(401, "Sign-in needed", _MISSING, headers=headers, link=link) from None
        raise PageError(exc.status_code, "Not allowed", _WRONG) from None


PageReadDep = Annotated[None, Depends(require_page_read)]
