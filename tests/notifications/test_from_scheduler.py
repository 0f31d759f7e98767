"""Notifications wired to the scheduler: sent after runs end, never holding a run back."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine

from gnomon.domain import CUT_MARK, LogEntry
from gnomon.notifications import LOG_TAIL_CHARS, LOG_TAIL_LINES, Notifier, NotifierConfig
from gnomon.scheduler.notifying import NotificationObserver
from gnomon.settings import Settings
from gnomon.storage import callbacks, transaction
from tests.clock import FakeClock
from tests.notifications.receivers import HttpReceiver, MailHandler
from tests.samples import definition, docker_task
from tests.scheduler.harness import Harness
from tests.waiting import wait_until


def notifying_harness(
    engine: Engine, clock: FakeClock, registry: CollectorRegistry, **settings_values: Any
) -> tuple[Harness, NotificationObserver]:
    settings_values.setdefault("public_url", "http://gnomon.example")
    settings = Settings(
        notification_attempts=2,
        notification_backoff_seconds=0.01,
        notification_timeout_seconds=5,
        **settings_values,
    )
    notifier = Notifier(NotifierConfig.from_settings(settings), registry)
    observer = NotificationObserver(engine, notifier, settings.site_url())
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


def write_output(harness: Harness, task_name: str, messages: list[str]) -> None:
    """Output of the running attempt of `task_name`, a millisecond apart, as a job writes it."""
    task_id = harness.running_attempt(task_name).task_id
    start = harness.clock.now()
    entries = [
        LogEntry(
            log_entry_id=uuid.uuid4(),
            when=start + timedelta(milliseconds=index),
            source="stderr",
            message=message,
        )
        for index, message in enumerate(messages)
    ]
    with transaction(harness.engine) as session:
        callbacks.add_log_entries(session=session, task_id=task_id, entries=entries)


def text_parts(message: EmailMessage) -> tuple[str, str]:
    plain, html = (part.get_content() for part in message.iter_parts())
    return plain.replace("\r\n", "\n"), html.replace("\r\n", "\n")


def test_the_email_quotes_the_end_of_each_failed_tasks_final_attempt(
    sqlite_engine: Engine,
    clock: FakeClock,
    smtp_server: tuple[MailHandler, int],
) -> None:
    registry = CollectorRegistry()
    harness, observer = notifying_harness(
        sqlite_engine, clock, registry, smtp_host="127.0.0.1", smtp_port=smtp_server[1]
    )
    ops = {"email": {"name": "Ops", "email": "ops@example.test", "notify_when": "on_failure"}}
    tasks = (docker_task("t", max_attempts=2), docker_task("after", "t"))
    harness.put(definition("quoted", *tasks, notifications=[ops]))
    harness.trigger("quoted")
    write_output(harness, "t", ["from the first attempt"])
    harness.fail("t", "exit code 1")
    clock.advance(1)
    harness.tick()
    long_line = "x" * (LOG_TAIL_CHARS + 100)
    write_output(harness, "t", [f"line {index:02}" for index in range(30)] + [long_line])
    harness.fail("t", "exit code 3")

    wait_until(
        lambda: len(smtp_server[0].messages),
        lambda count: count == 1,
        what="the email at the SMTP server",
        timeout=10,
        interval=0.02,
    )
    observer.close()
    plain, html = text_parts(smtp_server[0].messages[0].message)
    process_id = harness.process("quoted").process_id
    shown = [f"line {index:02}" for index in range(30 - LOG_TAIL_LINES + 1, 30)]
    shown.append("x" * LOG_TAIL_CHARS + CUT_MARK)
    assert f"t, attempt 2: the last {LOG_TAIL_LINES} lines of its log" in plain
    quoted = [line.split(" stderr ", 1)[1] for line in plain.splitlines() if " stderr " in line]
    assert quoted == shown
    assert "from the first attempt" not in plain + html
    assert "  t: Failed for reason: exit code 3 after 2 attempts\n" in plain
    assert "  after: Did not run\n" in plain
    assert f'href="http://gnomon.example/processes/{process_id}"' in html
    assert all(line in html for line in shown)


@pytest.mark.parametrize(
    ("settings_values", "site"),
    [
        ({"public_url": "https://gnomon.example.com/ops/"}, "https://gnomon.example.com/ops"),
        ({"public_url": None, "port": 18080}, "http://127.0.0.1:18080"),
    ],
    ids=["public-url", "no-public-url"],
)
def test_webhook_and_pagerduty_link_the_run_page(
    sqlite_engine: Engine,
    clock: FakeClock,
    receiver: HttpReceiver,
    settings_values: dict[str, Any],
    site: str,
) -> None:
    harness, observer = notifying_harness(
        sqlite_engine, clock, CollectorRegistry(), **settings_values
    )
    pagerduty = {"service_key": "svc", "num_consecutive_failures": 1, "api_url": receiver.url}
    hooks = [{"webhook": {"url": receiver.url, "notify_when": "always"}}, {"pagerduty": pagerduty}]
    harness.put(definition("linked", docker_task("t"), notifications=hooks))
    harness.trigger("linked")
    harness.fail("t")
    wait_until(
        lambda: len(receiver.bodies()),
        lambda count: count == 2,
        what="a webhook body and a PagerDuty event",
        timeout=10,
        interval=0.02,
    )
    observer.close()
    process_id = harness.process("linked").process_id
    page = f"{site}/processes/{process_id}"
    (hook,) = [body for body in receiver.bodies() if "event" in body]
    (event,) = [body for body in receiver.bodies() if "event_type" in body]
    assert hook["run_page_url"] == page
    assert hook["run_url"] == f"{site}/api/processes/{process_id}"
    assert event["client_url"] == event["details"]["run_url"] == page
