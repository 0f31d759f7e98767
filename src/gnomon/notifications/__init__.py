"""Notifications about finished runs: email (SMTP), PagerDuty and webhooks.

The scheduler builds a `RunReport` for each finished process and calls `Notifier.notify`, which
applies the `notify_when` policy, queues the deliveries and returns at once; background threads
send them with retries, so notifications never slow or break scheduling.
"""

from __future__ import annotations

from gnomon.notifications.delivery import (
    Channel,
    Delivery,
    Notifier,
    NotifierConfig,
    Outcome,
    backoff_delay,
)
from gnomon.notifications.errors import DeliveryError
from gnomon.notifications.mail import SmtpConfig, SmtpTls, build_email_message, send_email
from gnomon.notifications.pagerduty import (
    build_pagerduty_event,
    incident_key,
    send_pagerduty_event,
)
from gnomon.notifications.policy import (
    PagerdutyAction,
    consecutive_failures,
    pagerduty_action,
    should_notify,
    statuses_needed,
)
from gnomon.notifications.report import (
    LOG_TAIL_CHARS,
    LOG_TAIL_LINES,
    LOG_TAIL_TASKS,
    RunReport,
    TaskOutcome,
    TaskReport,
    format_duration,
)
from gnomon.notifications.webhook import build_webhook_body, send_webhook

__all__ = [
    "LOG_TAIL_CHARS",
    "LOG_TAIL_LINES",
    "LOG_TAIL_TASKS",
    "Channel",
    "Delivery",
    "DeliveryError",
    "Notifier",
    "NotifierConfig",
    "Outcome",
    "PagerdutyAction",
    "RunReport",
    "SmtpConfig",
    "SmtpTls",
    "TaskOutcome",
    "TaskReport",
    "backoff_delay",
    "build_email_message",
    "build_pagerduty_event",
    "build_webhook_body",
    "consecutive_failures",
    "format_duration",
    "incident_key",
    "pagerduty_action",
    "send_email",
    "send_pagerduty_event",
    "send_webhook",
    "should_notify",
    "statuses_needed",
]
