"""Wake-ups: in-process events, and PostgreSQL NOTIFY between processes."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy.engine import Engine

from gnomon.scheduler.wakeup import PgListener, Wakeup, notify_store


def test_wait_returns_at_once_when_notified() -> None:
    wakeup = Wakeup()
    threading.Timer(0.05, wakeup.notify, args=("triggers",)).start()
    started = time.monotonic()
    topics = wakeup.wait(10)
    assert topics == {"triggers"}
    assert time.monotonic() - started < 5


def test_topics_gathered_while_busy_are_returned_together() -> None:
    wakeup = Wakeup()
    wakeup.notify("definitions")
    wakeup.notify("executor")
    assert wakeup.wait(10) == {"definitions", "executor"}
    assert wakeup.wait(0) == set()


def test_timeout_without_events() -> None:
    assert Wakeup().wait(0.01) == set()


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
