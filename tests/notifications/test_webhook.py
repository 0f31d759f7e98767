"""Webhook notifications posted to a real HTTP receiver."""

from __future__ import annotations

from gnomon.domain.definitions import Notification
from gnomon.notifications import TaskReport
from tests.notifications.receivers import HttpReceiver
from tests.notifications.support import (
    API_URL,
    PAGE_URL,
    PROCESS_ID,
    F,
    NotifierFactory,
    ReportFactory,
    S,
)


def webhook(receiver: HttpReceiver, notify_when: str = "always") -> list[Notification]:
    entry = {"url": f"{receiver.url}/hooks/gnomon?token=secret", "notify_when": notify_when}
    return [Notification.model_validate({"webhook": entry})]


def test_body_describes_the_finished_run(
    receiver: HttpReceiver, make_notifier: NotifierFactory, make_report: ReportFactory
) -> None:
    notifier = make_notifier()

    notifier.notify(make_report(F, S, killed=True), webhook(receiver))

    assert notifier.join(10)
    (request,) = receiver.requests
    assert request.path == "/hooks/gnomon?token=secret"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == "Gnomon"
    assert request.body == {
        "event": "process_finished",
        "process_definition_name": "nightly-etl",
        "process_id": str(PROCESS_ID),
        "status": "failed",
        "previous_status": "succeeded",
        "killed": True,
        "started_at": "2026-03-02T12:00:00.000Z",
        "ended_at": "2026-03-02T12:04:05.000Z",
        "duration_seconds": 245.0,
        "run_url": API_URL,
        "run_page_url": PAGE_URL,
        "tasks": [
            {
                "task_definition_name": "extract",
                "status": "succeeded",
                "attempts": 1,
                "duration_seconds": 12.5,
            },
            {
                "task_definition_name": "transform",
                "status": "failed",
                "attempts": 3,
                "reason": "exit code 2",
                "duration_seconds": 1.0,
            },
            {"task_definition_name": "load", "status": "did not run", "attempts": 0},
        ],
    }


def test_first_run_omits_previous_status(
    receiver: HttpReceiver, make_notifier: NotifierFactory, make_report: ReportFactory
) -> None:
    notifier = make_notifier()
    tasks = [TaskReport("only", "succeeded", 1)]
    notifier.notify(make_report(S, None, tasks=tasks), webhook(receiver))
    assert notifier.join(10)
    body = receiver.bodies()[0]
    assert "previous_status" not in body
    assert body["status"] == "succeeded"
    assert body["tasks"] == [{"task_definition_name": "only", "status": "succeeded", "attempts": 1}]


def test_notify_when_filters_webhooks(
    receiver: HttpReceiver, make_notifier: NotifierFactory, make_report: ReportFactory
) -> None:
    notifier = make_notifier()
    on_failure = webhook(receiver, "on_failure")
    notifier.notify(make_report(S, F), on_failure)
    notifier.notify(make_report(S, S), webhook(receiver, "on_state_change"))
    notifier.notify(make_report(F, F), webhook(receiver, "never"))
    notifier.notify(make_report(F, F), on_failure)
    assert notifier.join(10)
    assert [body["status"] for body in receiver.bodies()] == ["failed"]
