"""Status icons: each status has a shape of its own, not only a colour.

Succeeded is a disc with a check, failed a disc with a cross, running a half-filled ring, waiting
a clock, not run a dashed ring, paused two bars. They inherit the text colour (`currentColor`),
so the status's colour comes from the stylesheet. Built once here as constants: templates print
them thousands of times per page.
"""

from __future__ import annotations

import logging
from typing import Final

from markupsafe import Markup

log = logging.getLogger(__name__)

_SVG: Final = (
    '<svg class="icon" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true"'
    ' focusable="false">{}</svg>'
)
_SHAPES: Final = {
    "succeeded": ('<circle cx="8" cy="8" r="7"/><path class="mark" d="M4.6 8.3l2.2 2.2 4.6-4.8"/>'),
    "failed": (
        '<circle cx="8" cy="8" r="7"/><path class="mark" d="M5.4 5.4l5.2 5.2M10.6 5.4l-5.2 5.2"/>'
    ),
    "running": (
        '<circle class="ring" cx="8" cy="8" r="6.25"/><path d="M8 1.75a6.25 6.25 0 0 1 0 12.5z"/>'
    ),
    "waiting": (
        '<circle class="ring" cx="8" cy="8" r="6.25"/><path class="hand" d="M8 4.6V8l2.4 1.6"/>'
    ),
    "paused": (
        '<rect x="4" y="2.5" width="3" height="11" rx="1"/>'
        '<rect x="9" y="2.5" width="3" height="11" rx="1"/>'
    ),
}
_NOT_RUN: Final = '<circle class="ring dashed" cx="8" cy="8" r="6.25"/>'
ICONS: Final = {status: Markup(_SVG.format(shape)) for status, shape in _SHAPES.items()}
ICONS["pending"] = ICONS["waiting"]  # an attempt waiting for a slot (GNOMON_MAX_RUNNING_TASKS)
NOT_RUN: Final = Markup(_SVG.format(_NOT_RUN))


def icon(status: str | None) -> Markup:
    """The icon of a run, attempt or definition status; a dashed ring for none (not run)."""
    return ICONS.get(status or "", NOT_RUN)
