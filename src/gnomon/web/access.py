"""Who may read the pages: the REST API's read policy, answered as a page.

With GNOMON_REQUIRE_TOKEN_FOR_READS the API hides definitions (they hold environment values) and
runs (they hold job output) from callers without GNOMON_API_TOKEN; the pages show the same data,
so they ask for the same token, as a bearer header. A refusal is a page that says why and shows
nothing of the store.
"""

from __future__ import annotations

import logging
from typing import Annotated, Final

from fastapi import Depends, HTTPException, Request

from gnomon.api.deps import ContextDep, require_read_token
from gnomon.web.errors import PageError

log = logging.getLogger(__name__)

_MISSING: Final = (
    "This Gnomon shows its definitions and runs only to holders of its API token "
    "(GNOMON_REQUIRE_TOKEN_FOR_READS is set), sent in an Authorization: Bearer header. "
    "These pages cannot ask for the token yet; the REST API and the gnomon command can use it."
)
_WRONG: Final = "The bearer token sent with this request is not this Gnomon's API token."


def require_page_read(request: Request, context: ContextDep) -> None:
    """Refuse the page, as the API would refuse the read, when the token is missing or wrong."""
    try:
        require_read_token(request, context, None)
    except HTTPException as exc:
        if exc.status_code == 401:
            headers = {"WWW-Authenticate": "Bearer"}
            raise PageError(401, "Sign-in needed", _MISSING, headers=headers) from None
        raise PageError(exc.status_code, "Not allowed", _WRONG) from None


PageReadDep = Annotated[None, Depends(require_page_read)]
