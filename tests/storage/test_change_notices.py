"""Changes between processes: a relay's NOTIFY reaches the other relays on the store, each burst
in few notices, never the schedulers' wake-up channel, and a relay ignores its own notices."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy.engine import Engine

from gnomon.domain.changes import LOGS, RUNS, Change
from gnomon.scheduler.wakeup import Wakeup
from gnomon.storage import ChangeRelay, PgListener
from gnomon.storage.change_notices import CHANNEL, decode, encode
from gnomon.storage.wakeups import CHANNEL as WAKEUP_CHANNEL

pytestmark = [pytest.mark.postgres, pytest.mark.parametrize("engine", ["postgres"], indirect=True)]


class Heard:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.changes: list[Change] = []

    def __call__(self, change: Change) -> None:
        with self.lock:
            self.changes.append(change)

    def wait_for(self, wanted: set[Change], timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if wanted <= set(self.changes):
                    return
            time.sleep(0.05)
        raise AssertionError(f"heard {self.changes}, not all of {wanted}")


def listening(relay: ChangeRelay, heard: Heard, sender: ChangeRelay) -> None:
    """Start `relay` listening, and wait until it hears `sender` (LISTEN takes a moment)."""
    relay.start(heard)
    probe = Change("probe", None)
    deadline = time.monotonic() + 10
    while probe not in heard.changes and time.monotonic() < deadline:
        sender.send(probe)
        time.sleep(0.3)
    assert probe in heard.changes


def test_a_burst_reaches_the_other_process_and_not_the_sender(engine: Engine) -> None:
    scheduler, api = ChangeRelay(engine, window=0.05), ChangeRelay(engine, window=0.05)
    scheduler_heard, api_heard = Heard(), Heard()
    wakeup = Wakeup()
    schedulers = PgListener(engine, wakeup)  # the schedulers' own channel stays quiet
    schedulers.start()
    scheduler.start(scheduler_heard)
    try:
        listening(api, api_heard, scheduler)
        wakeup.wait(0)
        burst = {Change(RUNS, f"run-{n}") for n in range(300)} | {Change(LOGS, "run-1")}
        for change in burst:
            scheduler.send(change)
        api_heard.wait_for(burst)
        assert not any(c in burst for c in scheduler_heard.changes)  # its own, dropped
        assert wakeup.wait(0.3) == set()
    finally:
        for part in (scheduler, api, schedulers):
            part.stop()


def test_stop_sends_what_is_pending(engine: Engine) -> None:
    sender, receiver = ChangeRelay(engine, window=30), ChangeRelay(engine, window=0.05)
    heard = Heard()
    sender.start()
    quick = ChangeRelay(engine, window=0.05)
    quick.start()
    try:
        listening(receiver, heard, quick)
        sender.send(Change(RUNS, "last"))
        sender.stop()  # well before its window ends
        heard.wait_for({Change(RUNS, "last")}, timeout=5)
    finally:
        for part in (receiver, quick):
            part.stop()


def test_notices_are_small_and_strange_ones_are_refused(engine: Engine) -> None:
    del engine
    changes = [Change(RUNS, "0f8fad5b-d9cb-469f-a165-70867728950e")] * 80
    assert len(encode("origin", changes).encode()) < 8000
    assert decode(encode("o", [Change(LOGS, None)])) == ("o", [Change(LOGS, None)])
    for payload in ("", "[]", '{"changes": [[1, 2]]}', '{"changes": [["a"]]}', "triggers"):
        with pytest.raises((ValueError, TypeError)):
            decode(payload)
    assert CHANNEL != WAKEUP_CHANNEL
