"""Webhook notifications (an extension to Sundial): one JSON POST per finished run.

Kubernetes CronJobs and most of Sundial's peers have no failure notifications at all (peers §4
item 11); a plain JSON POST lets any chat, incident or automation system subscribe without a
plugin. The body follows Gnomon's wire conventions: snake_case names, ISO 8601 UTC times with
milliseconds and `Z`, optional fields omitted rather than null.
"""

from __future__ import annotations

from typing import Any, Final

import httpx

from gnomon.domain.definitions import Webhook
from gnomon.domain.times import format_wire_time
from gnomon.notifications._http import post_json
from gnomon.notifications.report import RunReport, TaskReport

EVENT: Final = "process_finished"


def _task_body(task: TaskReport) -> dict[str, Any]:
    body: dict[str, Any] = {
        "task_definition_name": task.task_definition_name,
        "status": task.status,
        "attempts": task.attempts,
    }
    if task.reason is not None:
        body["reason"] = task.reason
    if task.duration_seconds is not None:
        body["duration_seconds"] = task.duration_seconds
    return body


def build_webhook_body(report: RunReport) -> dict[str, Any]:
    """The JSON body describing `report`.

    Returns:
        `event`, `process_definition_name`, `process_id`, `status`, `previous_status` (omitted
        for a first run), `killed`, `started_at`, `ended_at`, `duration_seconds`, `run_url`
        (the run as JSON, `GET /api/processes/<id>`: receivers may fetch it), `run_page_url`
        (the run's page in the web UI, the link to show people) and `tasks` (each with
        `task_definition_name`, `status`, `attempts`, and `reason` and `duration_seconds`
        when known).
    """
    body: dict[str, Any] = {
        "event": EVENT,
        "process_definition_name": report.process_definition_name,
        "process_id": str(report.process_id),
        "status": report.status.value,
    }
    if report.previous_status is not None:
        body["previous_status"] = report.previous_status.value
    body.update(
        killed=report.killed,
        started_at=format_wire_time(report.started_at),
        ended_at=format_wire_time(report.ended_at),
        duration_seconds=report.duration_seconds,
        run_url=report.api_url,
        run_page_url=report.page_url,
        tasks=[_task_body(task) for task in report.tasks],
    )
    return body


def send_webhook(client: httpx.Client, webhook: Webhook, report: RunReport) -> None:
    """POST the run to `webhook.url`.

    Raises:
        DeliveryError: When the receiver cannot be reached or does not answer 2xx.
    """
    post_json(client, webhook.url, build_webhook_body(report))
