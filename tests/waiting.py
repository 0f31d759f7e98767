"""Waiting on real state (a container, an API server, a receiver) with a deadline, never on a
schedule: schedules are driven by fake clocks."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    probe: Callable[[], T | None], *, what: str, timeout: float = 30.0, interval: float = 0.05
) -> T:
    """Poll `probe` until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
