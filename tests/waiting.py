"""Waiting on real state (a container, an API server, a receiver) with a deadline, never on a
schedule: schedules are driven by fake clocks.

Every wait fails loudly: past its deadline it raises AssertionError naming what it waited for and
the last value it saw, so a hung test says where it hung and how far it got.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

NOTHING_SEEN = "nothing: the deadline passed before the first look"


def wait_until(
    observe: Callable[[], T],
    holds: Callable[[T], object],
    *,
    what: str,
    timeout: float = 30.0,
    interval: float = 0.05,
    ignoring: tuple[type[Exception], ...] = (),
    summary: Callable[[T], object] | None = None,
) -> T:
    """Call `observe` until `holds` is true of what it returns; that value.

    An exception of a type in `ignoring` means "not there yet" (a server still starting up) and is
    reported as the last value seen if the deadline passes. `summary` picks what of a large value
    that report shows (by default, all of it).
    """
    deadline = time.monotonic() + timeout
    last: object = NOTHING_SEEN
    while time.monotonic() < deadline:
        try:
            value = observe()
        except ignoring as exc:
            last = exc
        else:
            if holds(value):
                return value
            last = value if summary is None else summary(value)
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def wait_for(
    probe: Callable[[], T | None],
    *,
    what: str,
    timeout: float = 30.0,
    interval: float = 0.05,
    ignoring: tuple[type[Exception], ...] = (),
) -> T:
    """Poll `probe` until it returns something truthy; that value. `ignoring` as in `wait_until`."""
    found = wait_until(
        probe, bool, what=what, timeout=timeout, interval=interval, ignoring=ignoring
    )
    assert found is not None  # bool(found) held
    return found
