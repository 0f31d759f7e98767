"""Wake-ups are events, not polls.

In one process the API and the runners call `Wakeup.notify`; across processes the API also sends a
PostgreSQL NOTIFY, which a `gnomon.storage.PgListener` turns into the same call. The scheduler
still wakes at least every `scheduler_max_sleep_seconds` as a fallback (SQLite across processes,
or a lost notification).
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class Wakeup:
    """A wake-up flag with topics ("definitions", "triggers", "requests", "executor", ...)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._topics: set[str] = set()

    def notify(self, topic: str = "any") -> None:
        if topic in self._topics:
            return  # already pending: the waiter will see it (a stale read only costs a lock)
        with self._condition:
            self._topics.add(topic)
            self._condition.notify_all()

    def wait(self, timeout: float) -> set[str]:
        """Block until notified or `timeout` seconds pass; returns and clears the topics."""
        with self._condition:
            if not self._topics and timeout > 0:
                self._condition.wait(timeout)
            topics, self._topics = self._topics, set()
            return topics
