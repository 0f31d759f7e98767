"""The short notices a page shows after an action: `?done=<key>` picks one from a fixed list.

An action answers with a redirect to the page it belongs to, and that page says what happened.
The query names the notice; the text is always the server's own, so a link someone crafted can
make a page say only one of these sentences, never words of its own.
"""

from __future__ import annotations

import logging
from typing import Final

from starlette.requests import Request

log = logging.getLogger(__name__)

NOTICES: Final = {
    "triggered": "Triggered: the scheduler starts the run in a moment.",
    "task-triggered": "Triggered: the scheduler starts a run of that task alone in a moment.",
    "paused": "Paused: the schedule starts no runs until it is resumed; Trigger still does.",
    "resumed": "Resumed: the schedule starts runs again.",
    "deleted": "Deleted: the definition is gone; its past runs stay readable.",
    "killed": "Kill requested: the run's tasks are being stopped, and it ends failed.",
    "retried": "Retry requested: each failed task gets one more attempt.",
    "signed-in": "Signed in.",
    "signed-out": "Signed out.",
}


def notice_for(request: Request) -> str | None:
    """The notice the request's `done` parameter names, if it names one."""
    return NOTICES.get(request.query_params.get("done", ""))
