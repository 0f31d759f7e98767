"""Wake-ups between processes: PostgreSQL NOTIFY and the listener that forwards it."""

from __future__ import annotations

import time

import pytest
from sqlalchemy.engine import Engine

from gnomon.scheduler.wakeup import Wakeup
from gnomon.storage import PgListener, notify_store


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ["postgres"], indirect=True)
def test_notify_through_postgres_reaches_another_listener(engine: Engine) -> None:
    wakeup = Wakeup()
    listener = PgListener(engine, wakeup)
    listener.start()
    try:
        deadline = time.monotonic() + 10
        topics: set[str] = set()
        while "triggers" not in topics and time.monotonic() < deadline:
            notify_store(engine, "triggers")  # repeated until the LISTEN is in place
            topics |= wakeup.wait(0.2)
        assert "triggers" in topics
    finally:
        listener.stop()


def test_sqlite_notify_is_a_no_op(sqlite_engine: Engine) -> None:
    notify_store(sqlite_engine, "triggers")  # nothing to send; the fallback poll covers SQLite
