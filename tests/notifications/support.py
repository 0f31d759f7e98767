"""Constants and small readers shared by the notification tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

from prometheus_client import CollectorRegistry

from gnomon.domain.enums import NotifyWhen, ProcessStatus
from gnomon.notifications import Notifier, RunReport, TaskReport

S = ProcessStatus.SUCCEEDED
F = ProcessStatus.FAILED
STARTED = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PROCESS_ID = UUID("6f1c9d2e-0b7a-4c4e-9a51-3f2d8e7b1c00")
SITE_URL = "http://gnomon.test"
PAGE_URL = f"{SITE_URL}/processes/{PROCESS_ID}"
API_URL = f"{SITE_URL}/api/processes/{PROCESS_ID}"

TRANSITIONS: list[tuple[ProcessStatus | None, ProcessStatus]] = [
    (S, S),
    (S, F),
    (F, F),
    (F, S),
    (None, S),
    (None, F),
]
# One row per notify_when value, one column per transition above (previous → this run).
EXPECTED: dict[NotifyWhen, list[bool]] = {
    NotifyWhen.ALWAYS: [True, True, True, True, True, True],
    NotifyWhen.ON_FAILURE: [False, True, True, False, False, True],
    NotifyWhen.ON_STATE_CHANGE: [False, True, False, True, True, True],
    NotifyWhen.ON_STATE_CHANGE_AND_FAILURES: [False, True, True, True, True, True],
    NotifyWhen.NEVER: [False, False, False, False, False, False],
}

ReportFactory = Callable[..., RunReport]
NotifierFactory = Callable[..., Notifier]


def default_tasks(status: ProcessStatus) -> list[TaskReport]:
    """Two successes for a successful run; a success, a failure and a skip for a failed one."""
    if status == ProcessStatus.SUCCEEDED:
        return [
            TaskReport("extract", "succeeded", 1, duration_seconds=12.5),
            TaskReport("load", "succeeded", 2, duration_seconds=3.0),
        ]
    return [
        TaskReport("extract", "succeeded", 1, duration_seconds=12.5),
        TaskReport("transform", "failed", 3, reason="exit code 2", duration_seconds=1.0),
        TaskReport("load", "did not run", 0),
    ]


def deliveries(registry: CollectorRegistry, channel: str, outcome: str) -> float:
    """The value of `gnomon_notification_deliveries_total{channel, outcome}`."""
    value = registry.get_sample_value(
        "gnomon_notification_deliveries_total", {"channel": channel, "outcome": outcome}
    )
    return 0.0 if value is None else value
