"""Wake-ups between processes: a PostgreSQL NOTIFY on channel `gnomon`, and its listener.

The API (and the operator) call `notify_store` after a change the schedulers act on; a scheduler
in another process runs a `PgListener`, which hands each topic to its in-process wake-up
(`gnomon.scheduler.wakeup.Wakeup`). SQLite has no such channel: schedulers there rely on their
fallback poll.
"""

from __future__ import annotations

import logging
import select
import threading
from typing import Protocol

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gnomon.storage.failures import store_errors

log = logging.getLogger(__name__)
CHANNEL = "gnomon"


class TopicReceiver(Protocol):
    """What a `PgListener` hands each topic to (the scheduler's `Wakeup`)."""

    def notify(self, topic: str) -> None: ...


def notify_store(engine: Engine, topic: str) -> None:
    """Tell schedulers in other processes (PostgreSQL only; SQLite relies on the fallback).

    Raises:
        StoreError: the store failed (see `failures`).
    """
    if engine.dialect.name != "postgresql":
        return
    with store_errors(), engine.begin() as connection:
        connection.execute(
            sa.text("SELECT pg_notify(:channel, :topic)"), {"channel": CHANNEL, "topic": topic}
        )


class PgListener:
    """LISTEN on a channel of the store (by default the schedulers' wake-up channel) in a daemon
    thread and forward each payload to `receiver`.

    It owns one connection of its own, outside the engine's pool, and the thread that reads it;
    a lost connection is opened again after a second. `start` and `stop` are for the thread that
    owns the listener (the server's main thread).
    """

    def __init__(self, engine: Engine, receiver: TopicReceiver, channel: str = CHANNEL) -> None:
        self._url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._receiver = receiver
        self._channel = channel
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
            connection.execute(f"LISTEN {self._channel}")
            while not self._stop.is_set():
                ready, _, _ = select.select([connection.fileno()], [], [], 0.5)
                if not ready:
                    continue
                for notice in connection.notifies(timeout=0, stop_after=100):
                    self._receiver.notify(notice.payload or "any")
