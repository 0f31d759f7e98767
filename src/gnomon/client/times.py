"""Times as a terminal user reads and writes them: `3m ago` and `1h 5m` in tables (absolute
times with `-o wide`), and `--since 2h` or `--since 2026-11-30T08:00` in filters."""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime, timedelta
from typing import Final

from gnomon.domain import as_utc

_UNITS: Final = (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1))
_AGE: Final = re.compile(r"^(\d+)([smhd])$")


def parse_wire(text: str) -> datetime:
    """A time from the API (`2026-11-30T08:00:00.000Z`) as aware UTC."""
    return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


def span(seconds: float) -> str:
    """`45s`, `3m`, `2h5m`, `4d3h`: the largest unit that fits and the next, as kubectl shows
    ages."""
    whole = max(int(seconds), 0)
    for index, (unit, size) in enumerate(_UNITS):
        if whole >= size or unit == "s":
            text = f"{whole // size}{unit}"
            if index + 1 < len(_UNITS):
                smaller, smaller_size = _UNITS[index + 1]
                rest = whole % size // smaller_size
                text += f"{rest}{smaller}" if rest and unit != "m" else ""
            return text
    raise AssertionError("unreachable: the last unit always fits")


def ago(moment: datetime, now: datetime) -> str:
    """`3m ago`, or `in 3m` for a moment still to come."""
    seconds = (moment - now).total_seconds()
    if abs(seconds) < 1:
        return "just now"
    return f"in {span(seconds)}" if seconds > 0 else f"{span(-seconds)} ago"


def absolute(moment: datetime) -> str:
    """`2026-11-30 08:00:05Z`: to the second, in UTC, as `-o wide` shows times."""
    return as_utc(moment).strftime("%Y-%m-%d %H:%M:%SZ")


def since(text: str, now: datetime | None = None) -> datetime:
    """The moment `--since` means: an age (`90s`, `10m`, `2h`, `7d`) back from now, or a date
    or time in ISO 8601 (UTC unless it says otherwise). An argparse type: a bad value is a
    usage error (exit 2)."""
    match = _AGE.match(text.strip())
    if match:
        size = dict(_UNITS)[match.group(2)]
        return (now or datetime.now(UTC)) - timedelta(seconds=int(match.group(1)) * size)
    try:
        return as_utc(datetime.fromisoformat(text.strip().replace("Z", "+00:00")))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an age such as 10m, 2h or 7d, nor an ISO 8601 time"
        ) from None
