"""Wake-ups in one process (between processes: tests/storage/test_wakeups.py)."""

from __future__ import annotations

import threading
import time

from gnomon.scheduler.wakeup import Wakeup


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
