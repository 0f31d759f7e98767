"""Waiting between looks at the API, for `-w`, `-f` and `--wait`: a fixed interval (no busy
loop), and an optional deadline so that a script's wait is bounded."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_INTERVAL = 1.0
"""Seconds between two looks: a run's state is stored as it changes, so a second is fresh
enough for a person and light on the server."""


@dataclass
class Poller:
    """`wait()` sleeps one interval, then says whether to look again (False once past the
    timeout). Time functions are injectable for tests of the deadline."""

    interval: float = DEFAULT_INTERVAL
    timeout: float | None = None
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _deadline: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.timeout is not None:
            self._deadline = self.monotonic() + self.timeout

    def wait(self) -> bool:
        if self._deadline is None:
            self.sleep(self.interval)
            return True
        left = self._deadline - self.monotonic()
        if left <= 0:
            return False
        self.sleep(min(self.interval, left))
        return True

    @property
    def expired(self) -> bool:
        return self._deadline is not None and self.monotonic() >= self._deadline
