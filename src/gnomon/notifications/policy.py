"""Who is told about a finished run: pure decisions, no I/O.

Sundial's recipient filter compared a string against enum objects, so it was always false: a
success after a success told nobody (not even `always`) and every other transition told
everybody (even `never`) — issue #82. Even its intended table left `on_failure` out of a
failure after a failure. Here each `notify_when` value means exactly what its name says, and
values are coerced to the enum first, so a plain string can never silently compare unequal.

PagerDuty decisions are derived from the outcomes of the latest finished runs alone, so the
notifier keeps no state and a restart cannot forget an open incident.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from gnomon.domain.definitions import Notification
from gnomon.domain.enums import NotifyWhen, ProcessStatus


class PagerdutyAction(StrEnum):
    """The PagerDuty Events API v1 `event_type` to send."""

    TRIGGER = "trigger"
    RESOLVE = "resolve"


def should_notify(
    notify_when: NotifyWhen | str,
    status: ProcessStatus | str,
    previous: ProcessStatus | str | None,
) -> bool:
    """Whether a subscriber with `notify_when` hears about a run that ended with `status`.

    Args:
        notify_when: The subscriber's setting (an enum member or its wire spelling).
        status: This run's outcome, `succeeded` or `failed`.
        previous: The outcome of the previous finished run of the same definition; None for
            the first run, which counts as a state change.

    Returns:
        `always`: True. `on_failure`: when this run failed. `on_state_change`: when the outcome
        differs from the previous finished run's. `on_state_change_and_failures`: either of
        those. `never`: False.
    """
    when = NotifyWhen(notify_when)
    failed = ProcessStatus(status) == ProcessStatus.FAILED
    changed = previous is None or ProcessStatus(previous) != ProcessStatus(status)
    if when == NotifyWhen.ALWAYS:
        return True
    if when == NotifyWhen.ON_FAILURE:
        return failed
    if when == NotifyWhen.ON_STATE_CHANGE:
        return changed
    if when == NotifyWhen.ON_STATE_CHANGE_AND_FAILURES:
        return changed or failed
    return False


def consecutive_failures(recent_statuses: Sequence[ProcessStatus | str]) -> int:
    """How many of the newest runs failed in a row (`recent_statuses` is newest first)."""
    count = 0
    for status in recent_statuses:
        if ProcessStatus(status) != ProcessStatus.FAILED:
            break
        count += 1
    return count


def pagerduty_action(
    num_consecutive_failures: int, recent_statuses: Sequence[ProcessStatus | str]
) -> PagerdutyAction | None:
    """What to tell PagerDuty after the newest run in `recent_statuses` (newest first).

    A failure triggers once the failure streak reaches the threshold, and again on every later
    failure (the events share one incident key, so PagerDuty folds them into one incident). A
    success resolves when the streak it ends had reached the threshold, i.e. exactly when an
    incident was triggered and not yet resolved.

    Args:
        num_consecutive_failures: The entry's threshold (at least 1).
        recent_statuses: Finished runs, newest first, this run included; needs at least
            threshold + 1 entries to see a resolve.

    Returns:
        The action, or None when PagerDuty hears nothing about this run.
    """
    if not recent_statuses:
        return None
    if ProcessStatus(recent_statuses[0]) == ProcessStatus.FAILED:
        streak = consecutive_failures(recent_statuses)
        return PagerdutyAction.TRIGGER if streak >= num_consecutive_failures else None
    ended_streak = consecutive_failures(recent_statuses[1:])
    return PagerdutyAction.RESOLVE if ended_streak >= num_consecutive_failures else None


def statuses_needed(notifications: Sequence[Notification] | None) -> int:
    """How many recent finished runs (this one included) a `RunReport` must carry.

    The largest PagerDuty threshold plus one, so that a success can see the whole failure
    streak it ends; 1 when the definition has no PagerDuty entries.
    """
    thresholds = [
        entry.pagerduty.num_consecutive_failures
        for entry in notifications or ()
        if entry.pagerduty is not None
    ]
    return max(thresholds, default=0) + 1
