"""PagerDuty events (Events API v1) posted to a real HTTP receiver standing in for PagerDuty."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry

from gnomon.domain.definitions import Notification
from gnomon.domain.enums import ProcessStatus
from gnomon.notifications import Notifier
from tests.notifications.receivers import HttpReceiver
from tests.notifications.support import (
    PAGE_URL,
    PROCESS_ID,
    F,
    NotifierFactory,
    ReportFactory,
    S,
    deliveries,
)

EVENTS_PATH = "/generic/2010-04-15/create_event.json"


def pagerduty(receiver: HttpReceiver, threshold: int = 2) -> list[Notification]:
    entry = {
        "service_key": "svc-123",
        "num_consecutive_failures": threshold,
        "api_url": receiver.url,
    }
    return [Notification.model_validate({"pagerduty": entry})]


def report_after(
    notifier: Notifier,
    make_report: ReportFactory,
    notifications: list[Notification],
    recent: Sequence[ProcessStatus],
) -> None:
    previous = recent[1] if len(recent) > 1 else None
    notifier.notify(make_report(recent[0], previous, recent=recent), notifications)
    assert notifier.join(10)


def test_no_event_below_the_threshold(
    receiver: HttpReceiver, make_notifier: NotifierFactory, make_report: ReportFactory
) -> None:
    notifier = make_notifier()
    subscription = pagerduty(receiver, threshold=2)
    report_after(notifier, make_report, subscription, [F])
    report_after(notifier, make_report, subscription, [F, S, F])
    report_after(notifier, make_report, subscription, [S, S])
    assert receiver.requests == []


def test_trigger_at_the_threshold_repeats_on_one_incident_and_resolves_on_success(
    receiver: HttpReceiver,
    make_notifier: NotifierFactory,
    make_report: ReportFactory,
    registry: CollectorRegistry,
) -> None:
    notifier = make_notifier()
    subscription = pagerduty(receiver, threshold=2)

    for recent in ([F, S], [F, F, S], [F, F, F], [S, F, F, F], [S, S, F]):
        report_after(notifier, make_report, subscription, recent)

    assert [request.path for request in receiver.requests] == [EVENTS_PATH] * 3
    bodies = receiver.bodies()
    assert [body["event_type"] for body in bodies] == ["trigger", "trigger", "resolve"]
    assert {body["incident_key"] for body in bodies} == {"gnomon/nightly-etl"}
    assert bodies[0] == {
        "service_key": "svc-123",
        "event_type": "trigger",
        "incident_key": "gnomon/nightly-etl",
        "description": "Gnomon process nightly-etl has failed 2 times in a row",
        "client": "Gnomon",
        "client_url": PAGE_URL,
        "details": {
            "process_definition_name": "nightly-etl",
            "process_id": str(PROCESS_ID),
            "status": "failed",
            "killed": False,
            "consecutive_failures": 2,
            "started_at": "2026-03-02T12:00:00.000Z",
            "ended_at": "2026-03-02T12:04:05.000Z",
            "failed_tasks": ["transform: Failed for reason: exit code 2 after 3 attempts"],
            "run_url": PAGE_URL,
        },
    }
    assert (
        bodies[1]["description"]
        == "Gnomon process nightly-etl has failed at least 3 times in a row"
    )
    assert bodies[2]["description"] == "Gnomon process nightly-etl succeeded again"
    assert bodies[2]["service_key"] == "svc-123"
    assert deliveries(registry, "pagerduty", "delivered") == 3


def test_each_entry_uses_its_own_threshold_and_service_key(
    receiver: HttpReceiver, make_notifier: NotifierFactory, make_report: ReportFactory
) -> None:
    notifier = make_notifier()
    entries = [
        {"service_key": "first", "num_consecutive_failures": 1, "api_url": receiver.url + "/"},
        {"service_key": "third", "num_consecutive_failures": 3, "api_url": receiver.url},
    ]
    subscription = [Notification.model_validate({"pagerduty": entry}) for entry in entries]

    report_after(notifier, make_report, subscription, [F, F, S])

    assert [request.path for request in receiver.requests] == [EVENTS_PATH]
    assert receiver.bodies()[0]["service_key"] == "first"


def test_rate_limited_events_are_retried(
    receiver: HttpReceiver,
    make_notifier: NotifierFactory,
    make_report: ReportFactory,
    registry: CollectorRegistry,
) -> None:
    receiver.fail_first, receiver.fail_status = 1, 403
    notifier = make_notifier()
    report_after(notifier, make_report, pagerduty(receiver, threshold=1), [F])
    assert len(receiver.requests) == 2
    assert deliveries(registry, "pagerduty", "retrying") == 1
    assert deliveries(registry, "pagerduty", "delivered") == 1
