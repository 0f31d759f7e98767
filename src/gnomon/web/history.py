"""The History column of the definitions page: a definition's last runs as circles.

Each circle is coloured by the run's status and sized by its duration among the runs shown (its
area grows with the duration); a failed run's circle carries a cross and a running one is a
dashed ring, so the shape tells them apart without colour. Each links to its run, with the time,
status and duration as its tooltip and accessible name.

With a thousand definitions the page draws ten thousand circles, the bulk of its work, so they
are written here as HTML strings rather than through the template: every value from the store is
escaped (`markupsafe.escape`) and nothing else is interpolated.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Final

from markupsafe import Markup, escape

from gnomon.storage.overview import RecentRun
from gnomon.web.formatting import duration, shown_time

log = logging.getLogger(__name__)

SMALLEST_RADIUS: Final = 3.5
LARGEST_RADIUS: Final = 9.0
_DOT: Final = (
    '<li><a class="dot dot-{status}" href="/processes/{process_id}" title="{label}">'
    '<svg viewBox="-10 -10 20 20" aria-hidden="true"><circle r="{radius}"/>{cross}</svg></a></li>'
)


def history_html(recent: Sequence[RecentRun], now: datetime) -> Markup:
    """`recent` (newest first) as a list of circles, oldest first; empty when there are none."""
    if not recent:
        return Markup("")
    if any(run.seconds is None for run in recent):
        return _draw(recent, now)
    return _draw_finished(tuple(recent))


@lru_cache(maxsize=8192)
def _draw_finished(recent: tuple[RecentRun, ...]) -> Markup:
    # Finished runs never change: a page load draws again only the definitions that started or
    # ended a run since the last one.
    return _draw(recent, None)


def _draw(recent: Sequence[RecentRun], now: datetime | None) -> Markup:
    seconds = [_seconds(run, now) for run in recent]
    longest = max(seconds) or 1.0
    dots = [
        _dot(run, taken, radius(taken, longest))
        if run.seconds is None
        else _finished_dot(run, radius(taken, longest))
        for run, taken in zip(reversed(recent), reversed(seconds), strict=True)
    ]
    return Markup('<ol class="history">' + "".join(dots) + "</ol>")


@lru_cache(maxsize=65_536)
def _finished_dot(run: RecentRun, size: float) -> str:
    # A definition with a run going is drawn anew on every page load; its finished runs are not.
    return _dot(run, run.seconds or 0.0, size)


def radius(seconds: float, longest: float) -> float:
    """The radius of a run's circle: its area grows with `seconds` up to the `longest`."""
    share = math.sqrt(seconds / longest) if longest > 0 else 0.0
    return round(SMALLEST_RADIUS + (LARGEST_RADIUS - SMALLEST_RADIUS) * share, 1)


def _dot(run: RecentRun, seconds: float, size: float) -> str:
    label = f"{shown_time(run.started_at)} UTC · {run.status} · {duration(seconds)}"
    return _DOT.format(
        status=escape(run.status),
        process_id=escape(run.process_id),
        label=escape(label),
        radius=size,
        cross=_cross(size) if run.status == "failed" else "",
    )


def _seconds(run: RecentRun, now: datetime | None) -> float:
    if run.seconds is not None:
        return max(run.seconds, 0.0)
    assert now is not None, "a running run's duration needs the time now"
    return max(now.timestamp() - run.started, 0.0)


def _cross(size: float) -> str:
    """Two strokes through the centre of a circle of radius `size` centred on the origin."""
    arm = round(size * 0.45, 1)
    return f'<path d="M{-arm} {-arm}L{arm} {arm}M{arm} {-arm}L{-arm} {arm}"/>'
