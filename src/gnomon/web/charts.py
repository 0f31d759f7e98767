"""Charts drawn on the server as inline SVG: a definition's run durations over time.

Each run is a dot placed by when it started (x) and how long it took (y), coloured by its status
through the stylesheet's status classes, and shaped by it too: a failed run's dot carries a
cross and a running one is a dashed ring, so no one has to tell red from green. Each dot links to
its run and names its time, status and duration in a tooltip. The axes have round ticks: times
in UTC, durations in the units the pages use everywhere (`formatting.duration`).

SVG text scales with the drawing, so a page draws the chart once per width it is shown at (a
wide one for laptops and a narrow one for phones) rather than shrinking one until it is
unreadable. Everything that comes from the store is escaped (`markupsafe.escape`); the rest is
numbers. No inline style: colours and strokes come from classes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from markupsafe import Markup, escape

from gnomon.domain import as_utc
from gnomon.web.formatting import duration

log = logging.getLogger(__name__)

_MINUTE: Final = 60
_HOUR: Final = 3_600
_DAY: Final = 86_400
DURATION_STEPS: Final = (
    *(1, 2, 5, 10, 15, 30),
    *(m * _MINUTE for m in (1, 2, 5, 10, 15, 30)),
    *(h * _HOUR for h in (1, 2, 3, 6, 12)),
    *(d * _DAY for d in (1, 2, 7, 14, 30, 90, 365)),
)
"""Round steps between duration ticks, in seconds."""
TIME_STEPS: Final = (
    *(m * _MINUTE for m in (1, 5, 10, 15, 30)),
    *(h * _HOUR for h in (1, 2, 3, 6, 12)),
    *(d * _DAY for d in (1, 2, 7, 14, 28, 91, 364)),
)
"""Round steps between time ticks, in seconds."""
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
Scale = Callable[[float], float]


@dataclass(frozen=True)
class ChartPoint:
    """A run as a dot."""

    started_at: datetime
    seconds: float
    """How long it took, or has been running so far."""
    status: str
    href: str
    label: str
    """Its tooltip: time, status and duration in words."""


@dataclass(frozen=True)
class ChartSize:
    """The drawing's size in SVG units and the font size of its labels, in the same units."""

    width: int = 960
    height: int = 260
    font: int = 12
    time_ticks: int = 6
    """Most tick labels on the time axis."""

    @property
    def left(self) -> float:
        """Room for the duration labels (`2 h 30 min`) left of the plot."""
        return self.font * 6.0

    @property
    def right(self) -> float:
        return self.width - self.font * 1.5

    @property
    def top(self) -> float:
        return self.font * 2.0

    @property
    def bottom(self) -> float:
        """The baseline: room under it for the time labels."""
        return self.height - self.font * 2.2


WIDE: Final = ChartSize()
NARROW: Final = ChartSize(width=400, height=300, font=13, time_ticks=3)


def duration_chart(
    points: Sequence[ChartPoint], *, label: str, size: ChartSize = WIDE, css_class: str = ""
) -> Markup:
    """`points` as an SVG scatter of duration over start time; empty Markup without points.

    Args:
        points: The runs, in any order.
        label: What the chart shows, for screen readers (the page's table lists the runs).
        size: Its size in SVG units; the stylesheet stretches it to the width available.
        css_class: Classes added to the `<svg>`, such as one that shows it at some widths only.
    """
    if not points:
        return Markup("")
    top = duration_top(max(max(p.seconds, 0.0) for p in points))
    first, last = _time_range(points)
    x = _scale(first.timestamp(), last.timestamp(), size.left + size.font, size.right - size.font)
    y = _scale(0.0, top, size.bottom, size.top)
    parts = [
        *_duration_axis(top, size, y),
        *_time_axis(first, last, size, x),
        *(
            _dot(p, x(p.started_at.timestamp()), y(min(max(p.seconds, 0.0), top)), size)
            for p in points
        ),
    ]
    classes = " ".join(filter(None, ("chart", css_class)))
    return Markup(
        f'<svg class="{escape(classes)}" viewBox="0 0 {size.width} {size.height}" role="img" '
        f'aria-label="{escape(label)}" font-size="{size.font}">' + "".join(parts) + "</svg>"
    )


def duration_top(longest: float) -> float:
    """The top of the duration axis: the smallest round value at or above `longest` reached in
    at most four round steps (so at most five labels)."""
    step = _duration_step(max(longest, 1.0))
    return float(step * math.ceil(max(longest, 1.0) / step))


def duration_ticks(top: float) -> list[float]:
    """The round values from 0 to `top` the duration axis labels."""
    step = _duration_step(top)
    return [float(step * index) for index in range(int(top // step) + 1)]


def _duration_step(longest: float) -> float:
    step = next((s for s in DURATION_STEPS if longest <= s * 4), None)
    if step is None:  # years: whole multiples of the largest step
        return DURATION_STEPS[-1] * math.ceil(longest / (4 * DURATION_STEPS[-1]))
    return step


def time_ticks(first: datetime, last: datetime, most: int) -> list[datetime]:
    """Round moments (UTC) between `first` and `last`, at most `most` of them."""
    span = (last - first).total_seconds()
    step = next((s for s in TIME_STEPS if span / s <= most), None)
    if step is None:
        step = math.ceil(span / most / TIME_STEPS[-1]) * TIME_STEPS[-1]
    start = math.ceil((first - _EPOCH).total_seconds() / step) * step
    ticks: list[datetime] = []
    moment = _EPOCH + timedelta(seconds=start)
    while moment <= last and len(ticks) <= most:
        ticks.append(moment)
        moment += timedelta(seconds=step)
    return ticks


def time_label(moment: datetime, step: float, previous: datetime | None) -> str:
    """A tick's label: `12:00`, with the day (`Mar 2 12:00`) where the day changes; `Mar 2` for
    steps of a day or more, `Mar 2026` for steps of weeks."""
    if step >= 28 * _DAY:
        return f"{moment:%b %Y}"
    day = f"{moment:%b} {moment.day}"
    if step >= _DAY:
        return day
    clock = f"{moment:%H:%M}"
    return clock if previous is not None and previous.date() == moment.date() else f"{day} {clock}"


def _time_range(points: Sequence[ChartPoint]) -> tuple[datetime, datetime]:
    starts = [as_utc(point.started_at) for point in points]
    first, last = min(starts), max(starts)
    if last - first < timedelta(minutes=10):  # one run, or a few at once: centre them
        middle = first + (last - first) / 2
        return middle - timedelta(minutes=5), middle + timedelta(minutes=5)
    return first, last


def _scale(low: float, high: float, start: float, end: float) -> Scale:
    """Maps `low`..`high` onto `start`..`end` (SVG units, to a tenth)."""
    span = (high - low) or 1.0

    def place(value: float) -> float:
        return round(start + (value - low) / span * (end - start), 1)

    return place


def _duration_axis(top: float, size: ChartSize, y: Scale) -> list[str]:
    parts = []
    for value in duration_ticks(top):
        at = y(value)
        line_class = "chart-axis" if value == 0 else "chart-grid"
        parts.append(
            f'<line class="{line_class}" x1="{size.left}" x2="{size.right}" y1="{at}" y2="{at}"/>'
            f'<text class="chart-label" x="{size.left - size.font * 0.5}" y="{at}" '
            f'text-anchor="end" dominant-baseline="middle">{escape(_tick_duration(value))}</text>'
        )
    parts.append(
        f'<text class="chart-title" x="{size.left - size.font * 0.5}" y="{size.font}" '
        'text-anchor="end">Duration</text>'
    )
    return parts


def _tick_duration(seconds: float) -> str:
    if seconds < 10:  # ticks are whole seconds: `2 s`, not `2.0 s`
        return f"{seconds:.0f} s" if seconds else "0"
    return duration(seconds)


def _time_axis(first: datetime, last: datetime, size: ChartSize, x: Scale) -> list[str]:
    ticks = time_ticks(first, last, size.time_ticks)
    step = (ticks[1] - ticks[0]).total_seconds() if len(ticks) > 1 else float(_DAY)
    parts = []
    previous = None
    baseline = size.bottom
    for moment in ticks:
        at = x(moment.timestamp())
        text = time_label(moment, step, previous)
        # Kept clear of the axis title on the left and of the edge on the right.
        half = len(text) * size.font * 0.3
        middle = round(min(max(at, size.left + half), size.width - half), 1)
        parts.append(
            f'<line class="chart-tick" x1="{at}" x2="{at}" y1="{baseline}" '
            f'y2="{baseline + size.font * 0.4}"/>'
            f'<text class="chart-label" x="{middle}" y="{baseline + size.font * 1.5}" '
            f'text-anchor="middle">{escape(text)}</text>'
        )
        previous = moment
    parts.append(
        f'<text class="chart-title" x="{size.left - size.font * 0.5}" '
        f'y="{baseline + size.font * 1.5}" text-anchor="end">UTC</text>'
    )
    return parts


def _dot(point: ChartPoint, x: float, y: float, size: ChartSize) -> str:
    radius = round(size.font * 0.4, 1)
    mark = _cross(x, y, radius) if point.status == "failed" else ""
    return (
        f'<a class="chart-point status-{escape(point.status)}" href="{escape(point.href)}" '
        f'tabindex="-1"><title>{escape(point.label)}</title>'
        f'<circle cx="{x}" cy="{y}" r="{radius}"/>{mark}</a>'
    )


def _cross(x: float, y: float, radius: float) -> str:
    arm = round(radius * 0.5, 1)
    return (
        f'<path d="M{round(x - arm, 1)} {round(y - arm, 1)}L{round(x + arm, 1)} {round(y + arm, 1)}'
        f'M{round(x + arm, 1)} {round(y - arm, 1)}L{round(x - arm, 1)} {round(y + arm, 1)}"/>'
    )
