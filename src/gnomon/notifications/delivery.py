"""The notifier: works out the messages a finished run needs and sends them off the hot path.

`Notifier.notify` only plans (pure policy) and enqueues, so a slow mail relay or a dead webhook
can never delay scheduling. Background worker threads send each delivery, retry transient
failures with exponential backoff, and give up with an error log after the last attempt. A
failed notification never changes a run: the run is already finished and saved when it is
reported. Retries wait in a time-ordered queue rather than in a sleeping worker, so one failing
receiver does not hold up deliveries to the others.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import partial
from typing import Final

import httpx
from prometheus_client import CollectorRegistry, Counter
from pydantic import SecretStr

from gnomon.domain.definitions import Email, Notification, Pagerduty
from gnomon.notifications._http import safe_url
from gnomon.notifications.errors import DeliveryError
from gnomon.notifications.mail import (
    SmtpConfig,
    SmtpTls,
    build_email_message,
    recipient_address,
    send_email,
)
from gnomon.notifications.pagerduty import incident_key, send_pagerduty_event
from gnomon.notifications.policy import pagerduty_action, should_notify
from gnomon.notifications.report import RunReport
from gnomon.notifications.webhook import send_webhook
from gnomon.settings import Settings

log = logging.getLogger(__name__)

USER_AGENT: Final = "Gnomon"


class Channel(StrEnum):
    EMAIL = "email"
    PAGERDUTY = "pagerduty"
    WEBHOOK = "webhook"


class Outcome(StrEnum):
    """The `outcome` label: one `delivered` or `failed` per delivery, one `retrying` per retry."""

    DELIVERED = "delivered"
    FAILED = "failed"
    RETRYING = "retrying"


@dataclass(frozen=True)
class NotifierConfig:
    """Everything the notifier needs from the settings."""

    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    timeout_seconds: float = 10.0
    attempts: int = 5
    backoff_seconds: float = 2.0
    backoff_max_seconds: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> NotifierConfig:
        def secret(value: SecretStr | None) -> str | None:
            return None if value is None else value.get_secret_value()

        smtp = SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            tls=SmtpTls(settings.smtp_tls),
            username=secret(settings.smtp_username),
            password=secret(settings.smtp_password),
            sender=settings.smtp_from,
            timeout_seconds=settings.smtp_timeout_seconds,
        )
        return cls(
            smtp=smtp,
            timeout_seconds=settings.notification_timeout_seconds,
            attempts=settings.notification_attempts,
            backoff_seconds=settings.notification_backoff_seconds,
            backoff_max_seconds=settings.notification_backoff_max_seconds,
        )


def backoff_delay(failed_attempts: int, base_seconds: float, max_seconds: float) -> float:
    """Wait after the `failed_attempts`-th failure: base, 2×base, 4×base, ..., at most max."""
    return min(max_seconds, base_seconds * 2.0 ** (failed_attempts - 1))


@dataclass(frozen=True)
class Delivery:
    """One message to send.

    Attributes:
        channel: email, pagerduty or webhook.
        target: Where it goes, safe to log (webhook URLs are cut to scheme and host).
        send: Sends it once; raises on failure (`DeliveryError` says whether to retry).
    """

    channel: Channel
    target: str
    send: Callable[[], None] = field(repr=False, compare=False)


def _log_extra(report: RunReport) -> dict[str, str]:
    """Context for log records about `report` (printed by `gnomon.logs`)."""
    return {
        "process_definition_name": report.process_definition_name,
        "process_id": str(report.process_id),
    }


@dataclass(frozen=True)
class _QueuedDelivery:
    """A delivery waiting in the queue, with the run it reports on and its try number."""

    delivery: Delivery
    report: RunReport
    attempt: int = 1

    def log_extra(self) -> dict[str, str]:
        return _log_extra(self.report)


class Notifier:
    """Sends notifications about finished runs on background threads.

    Args:
        config: SMTP, timeout, attempts and backoff (`NotifierConfig.from_settings`).
        registry: Where `gnomon_notification_deliveries_total{channel, outcome}` is registered
            (so one notifier per registry).
        workers: Number of sending threads.
        http_client: Client for webhooks and PagerDuty; by default one is made (and closed by
            `close`) with the configured timeout.
    """

    def __init__(
        self,
        config: NotifierConfig,
        registry: CollectorRegistry,
        *,
        workers: int = 2,
        http_client: httpx.Client | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("a notifier needs at least one worker")
        self._config = config
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            timeout=config.timeout_seconds, headers={"User-Agent": USER_AGENT}
        )
        self._deliveries = Counter(
            "gnomon_notification_deliveries_total",
            "Notification deliveries by channel and outcome (retrying counts each retry).",
            ["channel", "outcome"],
            registry=registry,
        )
        for channel, outcome in itertools.product(Channel, Outcome):
            self._deliveries.labels(channel=channel.value, outcome=outcome.value)
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _QueuedDelivery]] = []
        self._sequence = itertools.count()
        self._outstanding = 0
        self._closing = False
        self._stopped = False
        self._threads = [
            threading.Thread(target=self._work, name=f"gnomon-notifier-{index}", daemon=True)
            for index in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    @classmethod
    def from_settings(cls, settings: Settings, registry: CollectorRegistry) -> Notifier:
        return cls(NotifierConfig.from_settings(settings), registry)

    def plan(self, report: RunReport, notifications: Sequence[Notification]) -> list[Delivery]:
        """The deliveries `report` calls for, given the definition's notifications."""
        deliveries = self._plan_email(report, notifications)
        for entry in notifications:
            if entry.pagerduty is not None:
                deliveries += self._plan_pagerduty(report, entry.pagerduty)
            webhook = entry.webhook
            if webhook is not None and should_notify(
                webhook.notify_when, report.status, report.previous_status
            ):
                send = partial(send_webhook, self._http, webhook, report)
                deliveries.append(Delivery(Channel.WEBHOOK, safe_url(webhook.url), send))
        return deliveries

    def _plan_email(
        self, report: RunReport, notifications: Sequence[Notification]
    ) -> list[Delivery]:
        """One message to every selected recipient; an address listed twice gets it once."""
        emails: list[Email] = []
        seen: set[str] = set()
        for entry in notifications:
            email = entry.email
            if email is None or not should_notify(
                email.notify_when, report.status, report.previous_status
            ):
                continue
            key = email.email.strip().lower()
            if key not in seen:
                seen.add(key)
                emails.append(email)
        if not emails:
            return []
        target = ", ".join(email.email for email in emails)
        return [Delivery(Channel.EMAIL, target, partial(self._send_email, report, emails))]

    def _plan_pagerduty(self, report: RunReport, pagerduty: Pagerduty) -> list[Delivery]:
        action = pagerduty_action(pagerduty.num_consecutive_failures, report.recent_statuses)
        if action is None:
            return []
        target = f"{action} {incident_key(report.process_definition_name)}"
        send = partial(send_pagerduty_event, self._http, pagerduty, report, action)
        return [Delivery(Channel.PAGERDUTY, target, send)]

    def notify(self, report: RunReport, notifications: Sequence[Notification] | None) -> None:
        """Queue the notifications `report` calls for and return at once; never raises."""
        run_extra = _log_extra(report)
        try:
            deliveries = self.plan(report, notifications or ())
        except Exception:
            log.exception("could not plan notifications for a finished run", extra=run_extra)
            return
        with self._cond:
            if self._closing:
                log.warning(
                    "notifier is closed; dropped %d notification(s)",
                    len(deliveries),
                    extra=run_extra,
                )
                return
            for delivery in deliveries:
                self._push(_QueuedDelivery(delivery, report), delay=0.0)
                self._outstanding += 1
            self._cond.notify_all()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every queued delivery is delivered or given up; whether it happened."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._outstanding:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def close(self, timeout: float | None = 10.0) -> bool:
        """Stop taking work, let queued deliveries (and their retries) finish for up to `timeout`
        seconds, then stop the workers; whatever is left is logged and counted as failed.

        Returns:
            Whether everything queued was delivered or given up in time.
        """
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        drained = not any(thread.is_alive() for thread in self._threads)
        if not drained:
            self._abandon()
        elif self._owns_http:
            self._http.close()
        return drained

    def _abandon(self) -> None:
        with self._cond:
            self._stopped = True
            abandoned = [queued for _, _, queued in self._heap]
            self._heap.clear()
            self._outstanding -= len(abandoned)
            self._cond.notify_all()
        for queued in abandoned:
            self._count(queued, Outcome.FAILED)
            log.error(
                "notifier closed before %s notification to %s was delivered",
                queued.delivery.channel,
                queued.delivery.target,
                extra=queued.log_extra(),
            )

    def _push(self, queued: _QueuedDelivery, *, delay: float) -> None:
        """Queue `queued` to run after `delay` seconds; the caller holds the condition."""
        heapq.heappush(self._heap, (time.monotonic() + delay, next(self._sequence), queued))

    def _next_queued(self) -> _QueuedDelivery | None:
        with self._cond:
            while True:
                if self._stopped:
                    return None
                now = time.monotonic()
                if self._heap and self._heap[0][0] <= now:
                    return heapq.heappop(self._heap)[2]
                if self._closing and not self._heap:
                    return None
                self._cond.wait(self._heap[0][0] - now if self._heap else None)

    def _work(self) -> None:
        while (queued := self._next_queued()) is not None:
            self._send(queued)

    def _send(self, queued: _QueuedDelivery) -> None:
        try:
            queued.delivery.send()
        except Exception as exc:
            self._failed(queued, exc)
            return
        self._count(queued, Outcome.DELIVERED)
        log.info(
            "%s notification delivered to %s (attempt %d)",
            queued.delivery.channel,
            queued.delivery.target,
            queued.attempt,
            extra=queued.log_extra(),
        )
        self._finish()

    def _failed(self, queued: _QueuedDelivery, exc: Exception) -> None:
        known = isinstance(exc, DeliveryError)
        retryable = exc.retryable if isinstance(exc, DeliveryError) else True
        channel, target = queued.delivery.channel, queued.delivery.target
        config = self._config
        delay = backoff_delay(queued.attempt, config.backoff_seconds, config.backoff_max_seconds)
        with self._cond:
            # After close() has given up on the queue, nothing is requeued.
            retry = retryable and queued.attempt < config.attempts and not self._stopped
            if retry:
                # Counted before the retry is visible, so the counter never lags a delivery.
                self._count(queued, Outcome.RETRYING)
                self._push(replace(queued, attempt=queued.attempt + 1), delay=delay)
                self._cond.notify_all()
        if retry:
            log.warning(
                "%s notification to %s failed (attempt %d of %d), retrying in %.1fs: %s",
                *(channel, target, queued.attempt, config.attempts, delay, exc),
                extra=queued.log_extra(),
                exc_info=not known,
            )
            return
        self._count(queued, Outcome.FAILED)
        log.error(
            "%s notification to %s failed after %d attempt(s); giving up: %s",
            *(channel, target, queued.attempt, exc),
            extra=queued.log_extra(),
            exc_info=not known,
        )
        self._finish()

    def _finish(self) -> None:
        with self._cond:
            self._outstanding -= 1
            self._cond.notify_all()

    def _count(self, queued: _QueuedDelivery, outcome: Outcome) -> None:
        self._deliveries.labels(channel=queued.delivery.channel.value, outcome=outcome.value).inc()

    def _send_email(self, report: RunReport, recipients: Sequence[Email]) -> None:
        extra = _log_extra(report)
        addresses = []
        for recipient in recipients:
            try:
                addresses.append(recipient_address(recipient))
            except ValueError as exc:
                log.warning("skipping email recipient %r: %s", recipient.email, exc, extra=extra)
        if not addresses:
            raise DeliveryError("no valid email recipient", retryable=False)
        message = build_email_message(report, addresses, self._config.smtp.sender)
        refused = send_email(self._config.smtp, message)
        if refused:
            log.warning("SMTP refused some recipients: %s", refused, extra=extra)
