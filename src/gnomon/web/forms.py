"""The body of a form POST, read strictly, and the local paths a form may send the browser to.

The UI's forms post `application/x-www-form-urlencoded` bodies of a few short fields; that is
all this reads (the body limit of the API's middleware has already applied). A field arrives as
a person or another site wrote it: a malformed body is a 400 page, and a `next` path is followed
only when it stays on this site (`local_path`), never to `//evil.example`.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import Depends, Request

from gnomon.web.errors import PageError
from gnomon.web.forgery import forgery_problem

log = logging.getLogger(__name__)

MAX_FIELDS: Final = 20
MAX_PATH_CHARS: Final = 2000
_FORM_TYPE: Final = "application/x-www-form-urlencoded"
_UNSAFE_PATH: Final = re.compile(r"[\x00-\x20\x7f\\]")
"""Control characters, blanks and backslashes: browsers read `/\\evil.example` as `//`."""


class Form(dict[str, str]):
    """A form's fields, the first value of each name."""

    @property
    def confirmed(self) -> bool:
        """Whether the person confirmed the action (the confirmation page's button, or the
        script's confirm dialog)."""
        return self.get("confirmed") == "1"


async def read_form(request: Request) -> Form:
    """The posted form's fields; a 400 or 415 page for anything but a well-formed form."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != _FORM_TYPE:
        raise PageError(415, "Not a form", f"Actions are sent as forms ({_FORM_TYPE}).")
    try:
        text = (await request.body()).decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise PageError(400, "Unreadable form", _UNREADABLE) from None
    form = Form()
    for name, value in pairs:
        form.setdefault(name, value)
    return form


_UNREADABLE: Final = (
    f"The form could not be read: it is not UTF-8 or has more than {MAX_FIELDS} fields."
)

FormDep = Annotated[Form, Depends(read_form)]


def local_path(value: str | None, default: str) -> str:
    """`value` when it is a path on this site (`/...`, with its query), else `default`.

    Anything a browser could take for another site is refused: a scheme (`https://...`,
    `javascript:`), a host (`//evil.example`), a backslash, blanks or control characters.
    """
    if not value or len(value) > MAX_PATH_CHARS or _UNSAFE_PATH.search(value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return default
    return value


def with_notice(path: str, notice: str) -> str:
    """`path` (a local path) with `done=<notice>` in its query, replacing any `done` there."""
    parts = urlsplit(path)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "done"]
    return urlunsplit(("", "", parts.path, urlencode([*query, ("done", notice)]), ""))


def refuse_forgery(request: Request, form: Form, public_url: str | None) -> None:
    """A 403 page when the form may come from another site (`forgery`)."""
    problem = forgery_problem(request, form, public_url)
    if problem is not None:
        log.warning("refused a possibly forged POST to %s: %s", request.url.path, problem)
        raise PageError(403, "Request refused", problem)
