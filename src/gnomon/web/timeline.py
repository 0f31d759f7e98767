"""The run page's timeline (a Gantt chart): a row per task definition, a bar per attempt, the
gaps between a failed attempt and its retry (the backoff) drawn as a dotted line, and a time axis.

Bars are placed in percent of the run's span, as SVG attributes (`x="12.5%"`), so the chart
fills any width without scaling its text and without a `style` attribute (the CSP forbids them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from gnomon.storage.run_detail import AttemptDetail
from gnomon.web.formatting import duration, shown_time

log = logging.getLogger(__name__)

MIN_BAR: Final = 0.35
"""Narrowest bar, in percent of the chart, so an attempt of a second still shows."""
MAX_TICKS: Final = 7
_STEPS: Final = (
    1, 2, 5, 10, 15, 30,
    60, 120, 300, 600, 900, 1800,
    3600, 7200, 10_800, 21_600, 43_200,
    86_400, 172_800, 604_800, 2_592_000, 31_536_000,
)  # fmt: skip


_Place = Callable[[datetime], float]


@dataclass(frozen=True)
class Span:
    """A stretch of a row: where it starts and how wide it is, in percent of the chart."""

    x: float
    width: float
    status: str
    label: str
    """Its tooltip: what, when and how long."""


@dataclass(frozen=True)
class Row:
    task: str
    bars: tuple[Span, ...]
    gaps: tuple[Span, ...]


@dataclass(frozen=True)
class Tick:
    x: float
    label: str
    anchor: str
    """SVG text-anchor: the run's start is labelled from its left edge."""


@dataclass(frozen=True)
class Timeline:
    rows: tuple[Row, ...]
    ticks: tuple[Tick, ...]


def timeline(
    tasks: Sequence[str],
    attempts: Sequence[AttemptDetail],
    *,
    start: datetime,
    end: datetime,
) -> Timeline:
    """Rows for `tasks` in order, with the bars of their `attempts`, over `start`..`end` (the
    run's span; a running attempt ends at `end`)."""
    seconds = max((end - start).total_seconds(), 1.0)

    def place(moment: datetime) -> float:
        return min(max((moment - start).total_seconds() / seconds * 100, 0.0), 100.0)

    by_task: dict[str, list[AttemptDetail]] = {task: [] for task in tasks}
    for attempt in attempts:
        if attempt.task in by_task:
            by_task[attempt.task].append(attempt)
    rows = tuple(_row(task, by_task[task], end, place) for task in tasks)
    return Timeline(rows, _ticks(start, end, seconds, place))


def _row(task: str, attempts: list[AttemptDetail], end: datetime, place: _Place) -> Row:
    bars, gaps = [], []
    previous: AttemptDetail | None = None
    for attempt in attempts:
        finish = attempt.ended_at or end
        left = place(attempt.started_at)
        width = max(place(finish) - left, MIN_BAR)
        taken = duration((finish - attempt.started_at).total_seconds())
        label = f"{task}, attempt {attempt.number}: {attempt.status}, {taken}"
        if attempt.reason:
            label += f" ({attempt.reason})"
        bars.append(Span(round(min(left, 100 - width), 3), round(width, 3), attempt.status, label))
        if previous is not None and previous.ended_at is not None:
            gap_left = place(previous.ended_at)
            waited = duration((attempt.started_at - previous.ended_at).total_seconds())
            gaps.append(
                Span(
                    round(gap_left, 3),
                    round(max(left - gap_left, 0.0), 3),
                    "waiting",
                    f"{task}: waited {waited} before attempt {attempt.number}",
                )
            )
        previous = attempt
    return Row(task, tuple(bars), tuple(gaps))


def _ticks(start: datetime, end: datetime, seconds: float, place: _Place) -> tuple[Tick, ...]:
    """Ticks at round clock times (every 10 s, 5 min, 1 h...), at most `MAX_TICKS`, and the
    run's start when no round time is near it."""
    step = next((s for s in _STEPS if seconds / s <= MAX_TICKS), _STEPS[-1])
    moment = datetime.fromtimestamp((start.timestamp() // step + 1) * step, UTC)
    ticks = []
    while moment < end:
        x = place(moment)
        if 4 <= x <= 94:  # a label nearer the edges would be cut off
            ticks.append(Tick(round(x, 3), _clock(moment, step, seconds), "middle"))
        moment += timedelta(seconds=step)
    if not ticks or ticks[0].x > 25:
        ticks.insert(0, Tick(0.0, _clock(start, 1, seconds), "start"))
    return tuple(ticks)


def _clock(moment: datetime, step: int, seconds: float) -> str:
    text = shown_time(moment)  # 2026-03-02 12:00:05
    if seconds >= 86_400:
        return text[5:16]
    return text[11:19] if step < 60 else text[11:16]
