"""PagerDuty alerts after N failed runs in a row, through the Events API v1 as Sundial used it.

Sundial sent a bare `trigger` on every failure past the threshold, with no incident key and no
resolve, so each failure opened a new incident and nothing ever closed them. Here every event
for a definition carries the same incident key, so repeated failures append to one open
incident, and the first success after the threshold was reached resolves it. The decision is
made from the latest finished runs alone (`policy.pagerduty_action`), so no state is kept.
"""

from __future__ import annotations

from typing import Any, Final

import httpx

from gnomon.domain.definitions import Pagerduty
from gnomon.domain.times import format_wire_time
from gnomon.notifications._http import RETRYABLE_STATUSES, post_json
from gnomon.notifications.policy import PagerdutyAction, consecutive_failures
from gnomon.notifications.report import RunReport

EVENTS_PATH: Final = "/generic/2010-04-15/create_event.json"
CLIENT: Final = "Gnomon"
# Events API v1 answers 403 when it is rate limiting: worth another try.
PAGERDUTY_RETRYABLE_STATUSES: Final = RETRYABLE_STATUSES | {403}


def incident_key(process_definition_name: str) -> str:
    """The incident key shared by every event about one definition."""
    return f"gnomon/{process_definition_name}"


def events_url(pagerduty: Pagerduty) -> str:
    return pagerduty.api_url.rstrip("/") + EVENTS_PATH


def _description(report: RunReport, action: PagerdutyAction) -> str:
    name = report.process_definition_name
    if action is PagerdutyAction.RESOLVE:
        return f"Gnomon process {name} succeeded again"
    streak = consecutive_failures(report.recent_statuses)
    at_least = "at least " if streak == len(report.recent_statuses) else ""
    times = "time" if streak == 1 else "times"
    return f"Gnomon process {name} has failed {at_least}{streak} {times} in a row"


def build_pagerduty_event(
    pagerduty: Pagerduty, report: RunReport, action: PagerdutyAction
) -> dict[str, Any]:
    """The Events API v1 body for `action` about `report`."""
    failed_tasks = [
        f"{task.task_definition_name}: {task.summary()}"
        for task in report.tasks
        if task.status == "failed"
    ]
    return {
        "service_key": pagerduty.service_key,
        "event_type": action.value,
        "incident_key": incident_key(report.process_definition_name),
        "description": _description(report, action)[:1024],
        "client": CLIENT,
        "client_url": report.page_url,
        "details": {
            "process_definition_name": report.process_definition_name,
            "process_id": str(report.process_id),
            "status": report.status.value,
            "killed": report.killed,
            "consecutive_failures": consecutive_failures(report.recent_statuses),
            "started_at": format_wire_time(report.started_at),
            "ended_at": format_wire_time(report.ended_at),
            "failed_tasks": failed_tasks,
            "run_url": report.page_url,
        },
    }


def send_pagerduty_event(
    client: httpx.Client, pagerduty: Pagerduty, report: RunReport, action: PagerdutyAction
) -> None:
    """POST one event to `{api_url}/generic/2010-04-15/create_event.json`.

    Raises:
        DeliveryError: When PagerDuty cannot be reached or does not answer 2xx.
    """
    body = build_pagerduty_event(pagerduty, report, action)
    post_json(client, events_url(pagerduty), body, retryable_statuses=PAGERDUTY_RETRYABLE_STATUSES)
