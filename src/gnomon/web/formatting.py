"""Times and durations as the pages show them: UTC, to the second, and in words people read.

Every page shows a time as `2026-03-02 12:00:05` (UTC) inside `<time datetime="...">`, so a
script can later show it in the reader's zone; a duration as `3 min 5 s`; and a moment near now
also relative to it (`in 3 min`, `5 min ago`). All of it is computed on the server, so the pages
read the same with JavaScript off.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Final

from gnomon.domain import as_utc, format_wire_time

log = logging.getLogger(__name__)

_UNITS: Final = (("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1))


def shown_time(value: datetime) -> str:
    """`2026-03-02 12:00:05`, in UTC (the column or label says so)."""
    # isoformat, not strftime: several times faster, and the definitions page shows ten thousand.
    return as_utc(value).isoformat(" ", "seconds")[:19]


def machine_time(value: datetime) -> str:
    """The `datetime` attribute of a `<time>` element: ISO 8601 UTC with milliseconds."""
    return format_wire_time(value)


def duration(seconds: float) -> str:
    """A duration in at most two units: `850 ms`, `4.2 s`, `3 min 5 s`, `2 h 14 min`, `3 d`."""
    if seconds < 1:
        return f"{max(round(seconds * 1000), 0)} ms"
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    for index, (unit, size) in enumerate(_UNITS[:-1]):
        if whole >= size:
            smaller, smaller_size = _UNITS[index + 1]
            count, rest = divmod(whole, size)
            rest //= smaller_size
            return f"{count} {unit} {rest} {smaller}" if rest else f"{count} {unit}"
    return f"{whole} s"


def relative(moment: datetime, now: datetime) -> str:
    """`in 3 min`, `5 min ago` or `just now` (within a second), in the largest unit that fits."""
    seconds = (as_utc(moment) - as_utc(now)).total_seconds()
    if abs(seconds) < 1:
        return "just now"
    amount = _largest_unit(abs(seconds))
    return f"in {amount}" if seconds > 0 else f"{amount} ago"


def _largest_unit(seconds: float) -> str:
    for unit, size in _UNITS:
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return "1 s"
