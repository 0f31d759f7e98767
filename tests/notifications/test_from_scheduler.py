"""Notifications wired to the scheduler: sent after runs end, never holding a run back."""

from __future__ import annotations

import threading
import time
from typing import Any

from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine

from gnomon.notifications import Notifier, NotifierConfig
from gnomon.scheduler.notifying import NotificationObserver
from gnomon.settings import Settings
from tests.clock import FakeClock
from tests.notifications.receivers import HttpReceiver
from tests.samples import definition, docker_task
from tests.scheduler.harness import Harness
from tests.waiting import wait_until


def notifying_harness(
    engine: Engine, clock: FakeClock, registry: CollectorRegistry
) -> tuple[Harness, NotificationObserver]:
    settings = Settings(
        notification_attempts=2, notification_backoff_seconds=0.01, notification_timeout_seconds=5
    )
    notifier = Notifier(NotifierConfig.from_settings(settings), registry)
    observer = NotificationObserver(engine, notifier, "http://gnomon.example")
    harness = Harness(engine, clock)
    harness.service.observer = observer
    harness.service.processes.observer = observer
    return harness, observer


def webhook_definition(name: str, url: str, notify_when: str) -> dict[str, Any]:
    hook = {"webhook": {"url": url, "notify_when": notify_when}}
    return definition(name, docker_task("t"), notifications=[hook])


def test_each_finished_run_is_described_to_the_webhook(
    sqlite_engine: Engine, clock: FakeClock, receiver: HttpReceiver
) -> None:
    registry = CollectorRegistry()
    harness, observer = notifying_harness(sqlite_engine, clock, registry)
    harness.put(webhook_definition("hooked", receiver.url, "always"))
    for outcome in ("succeed", "fail"):
        harness.trigger("hooked")
        harness.finish("t") if outcome == "succeed" else harness.fail("t", "exit code 9")
        clock.advance(1)
    wait_until(
        lambda: len(receiver.bodies()),
        lambda count: count == 2,
        what="two webhook bodies at the receiver",
        timeout=10,
        interval=0.02,
    )
    observer.close()
    # Two workers deliver; arrival order is not run order.
    first, second = sorted(receiver.bodies(), key=lambda body: body["started_at"])
    assert (first["status"], second["status"]) == ("succeeded", "failed")
    assert second["previous_status"] == "succeeded"
    assert second["run_url"] == f"http://gnomon.example/api/processes/{second['process_id']}"
    assert second["run_page_url"] == f"http://gnomon.example/processes/{second['process_id']}"


def test_a_failing_receiver_neither_blocks_nor_reruns(
    sqlite_engine: Engine, clock: FakeClock, receiver: HttpReceiver
) -> None:
    receiver.fail_first = 100
    receiver.hold = threading.Event()  # the receiver hangs until released
    registry = CollectorRegistry()
    harness, observer = notifying_harness(sqlite_engine, clock, registry)
    harness.put(webhook_definition("stuck", receiver.url, "always"))
    harness.trigger("stuck")
    started = time.monotonic()
    harness.finish("t")
    harness.trigger("stuck")
    harness.finish("t")
    assert time.monotonic() - started < 2  # the scheduler did not wait for the receiver
    assert harness.statuses("stuck") == ["succeeded", "succeeded"]
    receiver.hold.set()
    observer.close(timeout=20)
    failed = registry.get_sample_value(
        "gnomon_notification_deliveries_total", {"channel": "webhook", "outcome": "failed"}
    )
    assert failed == 2
    assert len(harness.processes("stuck")) == 2
