"""Wake-ups are events, not polls.

In one process the API and the runners call `Wakeup.notify`; across processes the API also sends a
PostgreSQL NOTIFY on channel `gnomon`, which `PgListener` turns into the same call. The scheduler
still wakes at least every `scheduler_max_sleep_seconds` as a fallback (SQLite across processes,
or a lost notification).
"""

from __future__ import annotations

import logging
import select
import threading

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gnomon.storage.failures import store_errors

log = logging.getLogger(__name__)
CHANNEL = "gnomon"


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


def notify_store(engine: Engine, topic: str) -> None:
    """Tell schedulers in other processes (PostgreSQL only; SQLite relies on the fallback)."""
    if engine.dialect.name != "postgresql":
        return
    with store_errors(), engine.begin() as connection:
        connection.execute(
            sa.text("SELECT pg_notify(:channel, :topic)"), {"channel": CHANNEL, "topic": topic}
        )


class PgListener:
    """LISTEN on the store's channel in a daemon thread and forward each topic to `wakeup`."""

    def __init__(self, engine: Engine, wakeup: Wakeup) -> None:
        self._url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._wakeup = wakeup
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gnomon-pg-listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except psycopg.Error as exc:
                log.warning("LISTEN connection lost (%s); retrying", exc)
                self._stop.wait(1.0)

    def _listen(self) -> None:
        with psycopg.connect(self._url, autocommit=True) as connection:
            connection.execute(f"LISTEN {CHANNEL}")
            while not self._stop.is_set():
                ready, _, _ = select.select([connection.fileno()], [], [], 0.5)
                if not ready:
                    continue
                for notice in connection.notifies(timeout=0, stop_after=100):
                    self._wakeup.notify(notice.payload or "any")
