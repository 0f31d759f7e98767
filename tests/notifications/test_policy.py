"""The pure decisions: who hears about a run, and what PagerDuty is told (Sundial issue #82)."""

from __future__ import annotations

from datetime import datetime
from itertools import product

import pytest

import gnomon.notifications
from gnomon.domain.definitions import Notification
from gnomon.domain.enums import NotifyWhen, ProcessStatus
from gnomon.notifications import (
    PagerdutyAction,
    RunReport,
    TaskReport,
    backoff_delay,
    consecutive_failures,
    format_duration,
    pagerduty_action,
    should_notify,
    statuses_needed,
)
from tests.notifications.support import EXPECTED, TRANSITIONS, F, ReportFactory, S


@pytest.mark.parametrize(
    ("notify_when", "transition"),
    list(product(NotifyWhen, range(len(TRANSITIONS)))),
    ids=lambda value: value if isinstance(value, str) else "{}->{}".format(*TRANSITIONS[value]),
)
def test_notify_when_means_what_it_says(notify_when: NotifyWhen, transition: int) -> None:
    previous, status = TRANSITIONS[transition]
    assert should_notify(notify_when, status, previous) is EXPECTED[notify_when][transition]


@pytest.mark.parametrize("notify_when", list(NotifyWhen))
def test_wire_strings_compare_like_enum_members(notify_when: NotifyWhen) -> None:
    """Issue #82: a string compared against enum members was always unequal."""
    for index, (previous, status) in enumerate(TRANSITIONS):
        plain_previous = None if previous is None else previous.value
        result = should_notify(notify_when.value, status.value, plain_previous)
        assert result is EXPECTED[notify_when][index]


def test_unknown_notify_when_is_rejected() -> None:
    with pytest.raises(ValueError):
        should_notify("sometimes", S, None)


@pytest.mark.parametrize(
    ("recent", "expected"),
    [([], 0), ([S], 0), ([F], 1), ([F, F, S, F], 2), ([S, F, F], 0), ([F, F, F], 3)],
)
def test_consecutive_failures_counts_the_leading_streak(
    recent: list[ProcessStatus], expected: int
) -> None:
    assert consecutive_failures(recent) == expected


@pytest.mark.parametrize(
    ("threshold", "recent", "expected"),
    [
        (1, [F], PagerdutyAction.TRIGGER),
        (2, [F], None),
        (2, [F, S, F], None),
        (2, [F, F], PagerdutyAction.TRIGGER),
        (2, [F, F, F], PagerdutyAction.TRIGGER),
        (2, [S, F, F], PagerdutyAction.RESOLVE),
        (2, [S, F, F, F], PagerdutyAction.RESOLVE),
        (2, [S, F, S], None),
        (2, [S, S, F], None),
        (1, [S], None),
        (3, [], None),
    ],
)
def test_pagerduty_triggers_at_the_threshold_and_resolves_after(
    threshold: int, recent: list[ProcessStatus], expected: PagerdutyAction | None
) -> None:
    assert pagerduty_action(threshold, recent) is expected


def test_statuses_needed_covers_the_largest_threshold_and_one_more() -> None:
    notifications = [
        Notification.model_validate(
            {"pagerduty": {"service_key": "a", "num_consecutive_failures": 3}}
        ),
        Notification.model_validate({"pagerduty": {"service_key": "b"}}),
        Notification.model_validate({"email": {"name": "Ops", "email": "ops@example.test"}}),
    ]
    assert statuses_needed(notifications) == 4
    assert statuses_needed(notifications[2:]) == 1
    assert statuses_needed(None) == 1


def test_task_summaries_name_result_and_attempts() -> None:
    assert TaskReport("a", "succeeded", 1).summary() == "Succeeded after 1 attempt"
    failed = TaskReport("b", "failed", 3, reason="exit code 2")
    assert failed.summary() == "Failed for reason: exit code 2 after 3 attempts"
    assert TaskReport("c", "did not run", 0).summary() == "Did not run"
    with pytest.raises(ValueError):
        TaskReport("d", "running", 1)  # type: ignore[arg-type]


def test_run_report_rejects_inconsistent_values(make_report: ReportFactory) -> None:
    report = make_report(F, S)
    assert report.duration_seconds == 245.0
    assert format_duration(report.duration_seconds) == "4m 5s"
    base = {
        "process_definition_name": "x",
        "process_id": report.process_id,
        "started_at": report.started_at,
        "ended_at": report.ended_at,
        "previous_status": None,
        "tasks": [],
        "site_url": "http://gnomon.test/",
    }
    with pytest.raises(ValueError, match="recent_statuses"):
        RunReport(status=F, recent_statuses=[S], **base)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="running"):
        RunReport(status=ProcessStatus.RUNNING, recent_statuses=[], **base)  # type: ignore[arg-type]
    naive = {**base, "started_at": datetime(2026, 1, 1)}
    with pytest.raises(ValueError, match="aware"):
        RunReport(status=F, recent_statuses=[F], **naive)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.25, "0.2s"), (6, "6s"), (65, "1m 5s"), (3725, "1h 2m 5s")]
)
def test_durations_read_well(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff_delay(n, 2.0, 10.0) for n in range(1, 6)] == [2.0, 4.0, 8.0, 10.0, 10.0]


def test_package_exports_exactly_its_public_names() -> None:
    exported = set(gnomon.notifications.__all__)
    public = {name for name in vars(gnomon.notifications) if not name.startswith("_")}
    modules = {"delivery", "errors", "mail", "pagerduty", "policy", "report", "webhook"}
    assert exported == public - modules - {"annotations"}
    constants = {name for name in exported if name.isupper()}
    for name in exported - {"TaskOutcome"} - constants:
        assert getattr(gnomon.notifications, name).__module__.startswith("gnomon.notifications")
