"""Time arithmetic for scheduling that cannot overflow.

A definition may state durations (a buffer, a backoff, a runtime limit, a starting deadline) far
beyond what `datetime` can hold: stored before the API had bounds, or sent past them by a bug.
Adding such a duration must not raise in the scheduler, where one `OverflowError` would stop every
definition. Here every sum saturates at `FAR_FUTURE`, a moment that never comes: a run due then
simply never starts, and a limit ending then never fires. Every delay is finite and non-negative.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Final

FAR_FUTURE: Final = datetime(9000, 1, 1, tzinfo=UTC)
"""The scheduling horizon: later than anything real, with a millennium of headroom before
`datetime.max`, so a few seconds added to it (a wake-up margin) never overflow either."""

FAR_PAST: Final = datetime(1000, 1, 1, tzinfo=UTC)
"""The mirror of `FAR_FUTURE` for sums that go backwards."""

MAX_DELAY_SECONDS: Final = (FAR_FUTURE - FAR_PAST).total_seconds()
"""No delay is longer than the whole horizon; a longer one ends at `FAR_FUTURE` anyway."""

_MAX_ATTEMPTS: Final = 2**31
"""Attempt counts beyond this give the same delay (a float power of more is 0, 1 or overflows)."""


def clamp_seconds(seconds: float) -> float:
    """`seconds` as a finite delay in [0, MAX_DELAY_SECONDS]; NaN and negatives are 0."""
    value = _as_float(seconds)
    if math.isnan(value) or value <= 0:
        return 0.0
    return min(value, MAX_DELAY_SECONDS)


def add_seconds(moment: datetime, seconds: float) -> datetime:
    """`moment + seconds`, saturating at `FAR_FUTURE` (and `FAR_PAST`) instead of raising.

    `moment` must be aware; NaN counts as 0 seconds.
    """
    seconds = _as_float(seconds)
    if math.isnan(seconds):
        seconds = 0.0
    if seconds >= 0:
        room = (FAR_FUTURE - moment).total_seconds()
        return FAR_FUTURE if seconds >= room else moment + timedelta(seconds=seconds)
    room = (moment - FAR_PAST).total_seconds()
    return FAR_PAST if -seconds >= room else moment - timedelta(seconds=-seconds)


def seconds_between(earlier: datetime, later: datetime) -> float:
    """`later - earlier` in seconds (negative when `later` is earlier); never raises for aware
    datetimes, which always differ by less than `timedelta.max`."""
    return (later - earlier).total_seconds()


def backoff_seconds(base: float, exponent: float, attempts: int) -> float:
    """Sundial's backoff, `base * exponent ** attempts`, as a finite delay that never raises.

    Results beyond `MAX_DELAY_SECONDS` (including infinite or overflowing powers) are that
    maximum; NaN or negative inputs count as 0. The result never decreases with `attempts` when
    `exponent >= 1` and never increases when `exponent <= 1` (IEEE powers are monotonic).
    """
    base = clamp_seconds(base)
    if base == 0.0:
        return 0.0
    exponent = _as_float(exponent)
    if math.isnan(exponent) or exponent < 0:
        exponent = 0.0
    try:
        power = exponent ** min(max(0, attempts), _MAX_ATTEMPTS)
    except OverflowError:
        power = math.inf
    return clamp_seconds(base * power)


def _as_float(value: float) -> float:
    """`value` as a float; an integer too large for one is infinite, not an `OverflowError`."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf
