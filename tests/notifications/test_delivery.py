"""The notifier's queue: non-blocking notify, retries with backoff, giving up, shutdown."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from gnomon.domain.definitions import Notification, Webhook
from gnomon.domain.enums import NotifyWhen
from gnomon.notifications import Notifier, NotifierConfig, SmtpTls
from gnomon.settings import Settings
from tests.notifications.receivers import HttpReceiver, MailHandler
from tests.notifications.support import (
    PROCESS_ID,
    F,
    NotifierFactory,
    ReportFactory,
    S,
    deliveries,
)
from tests.waiting import wait_until


def webhook(url: str) -> Notification:
    return Notification.model_validate({"webhook": {"url": url, "notify_when": "always"}})


def test_a_failed_delivery_is_retried_until_it_succeeds(
    receiver: HttpReceiver,
    make_notifier: NotifierFactory,
    make_report: ReportFactory,
    registry: CollectorRegistry,
) -> None:
    receiver.fail_first = 2
    notifier = make_notifier(attempts=5)

    notifier.notify(make_report(F, S), [webhook(receiver.url)])

    assert notifier.join(10)
    assert len(receiver.requests) == 3
    assert deliveries(registry, "webhook", "retrying") == 2
    assert deliveries(registry, "webhook", "delivered") == 1
    assert deliveries(registry, "webhook", "failed") == 0


def test_a_permanent_failure_gives_up_after_the_last_attempt(
    receiver: HttpReceiver,
    make_notifier: NotifierFactory,
    make_report: ReportFactory,
    registry: CollectorRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver.fail_first = 1_000
    notifier = make_notifier(attempts=4)

    with caplog.at_level(logging.WARNING, logger="gnomon.notifications"):
        notifier.notify(make_report(F, S), [webhook(receiver.url + "/hook?token=secret")])
        assert notifier.join(10)

    assert len(receiver.requests) == 4
    assert deliveries(registry, "webhook", "retrying") == 3
    assert deliveries(registry, "webhook", "failed") == 1
    assert deliveries(registry, "webhook", "delivered") == 0
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "after 4 attempt(s); giving up" in errors[0].getMessage()
    assert errors[0].__dict__["process_definition_name"] == "nightly-etl"
    assert errors[0].__dict__["process_id"] == str(PROCESS_ID)
    assert all("secret" not in record.getMessage() for record in caplog.records)


def test_a_client_error_is_not_retried(
    receiver: HttpReceiver,
    make_notifier: NotifierFactory,
    make_report: ReportFactory,
    registry: CollectorRegistry,
) -> None:
    receiver.fail_first, receiver.fail_status = 1_000, 404
    notifier = make_notifier(attempts=5)
    notifier.notify(make_report(F, S), [webhook(receiver.url)])
    assert notifier.join(10)
    assert len(receiver.requests) == 1
    assert deliveries(registry, "webhook", "failed") == 1
    assert deliveries(registry, "webhook", "retrying") == 0


def test_a_broken_url_fails_without_stopping_the_worker(
    receiver: HttpReceiver,
    make_notifier: NotifierFactory,
    make_report: ReportFactory,
    registry: CollectorRegistry,
) -> None:
    notifier = make_notifier(attempts=5)
    # The models refuse such a URL now; one stored before they did is built without validation.
    broken = Webhook.model_construct(url="ftp://example.test/hook", notify_when=NotifyWhen.ALWAYS)
    notifier.notify(make_report(F, S), [Notification.model_construct(webhook=broken)])
    assert notifier.join(10)
    notifier.notify(make_report(F, S), [webhook(receiver.url)])
    assert notifier.join(10)
    assert deliveries(registry, "webhook", "failed") == 1
    assert deliveries(registry, "webhook", "delivered") == 1


def test_notify_returns_at_once_while_the_receiver_is_slow(
    receiver: HttpReceiver,
    make_notifier: NotifierFactory,
    make_report: ReportFactory,
    registry: CollectorRegistry,
) -> None:
    receiver.hold = threading.Event()
    notifier = make_notifier()

    started = time.monotonic()
    notifier.notify(make_report(F, S), [webhook(receiver.url)])
    elapsed = time.monotonic() - started

    assert elapsed < 0.2
    assert receiver.arrived.wait(5)
    assert deliveries(registry, "webhook", "delivered") == 0
    receiver.hold.set()
    assert notifier.join(10)
    assert deliveries(registry, "webhook", "delivered") == 1


def test_a_retrying_receiver_does_not_hold_up_other_deliveries(
    receiver: HttpReceiver,
    smtp_server: tuple[MailHandler, int],
    make_notifier: NotifierFactory,
    make_report: ReportFactory,
    registry: CollectorRegistry,
) -> None:
    receiver.fail_first = 1_000
    notifier = make_notifier(workers=1, attempts=3, backoff_seconds=0.5, backoff_max_seconds=0.5)
    email = Notification.model_validate({"email": {"name": "Ops", "email": "ops@example.test"}})

    notifier.notify(make_report(F, S), [webhook(receiver.url), email])

    wait_until(
        lambda: len(smtp_server[0].messages),
        lambda count: count == 1,
        what="one email at the SMTP server",
        timeout=5.0,
        interval=0.005,
    )
    assert deliveries(registry, "webhook", "failed") == 0
    assert notifier.join(10)
    assert deliveries(registry, "webhook", "failed") == 1


def test_close_delivers_what_is_queued(
    receiver: HttpReceiver, make_notifier: NotifierFactory, make_report: ReportFactory
) -> None:
    notifier = make_notifier()
    for _ in range(3):
        notifier.notify(make_report(F, S), [webhook(receiver.url)])
    assert notifier.close(timeout=10)
    assert len(receiver.requests) == 3


def test_close_gives_up_retries_that_would_outlast_it(
    receiver: HttpReceiver,
    make_notifier: NotifierFactory,
    make_report: ReportFactory,
    registry: CollectorRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver.fail_first = 1_000
    notifier = make_notifier(backoff_seconds=30.0, backoff_max_seconds=30.0)
    notifier.notify(make_report(F, S), [webhook(receiver.url)])
    wait_until(
        lambda: deliveries(registry, "webhook", "retrying"),
        lambda count: count == 1,
        what="one webhook delivery retrying",
        timeout=5.0,
        interval=0.005,
    )

    with caplog.at_level(logging.ERROR, logger="gnomon.notifications"):
        assert notifier.close(timeout=0.2) is False

    assert deliveries(registry, "webhook", "failed") == 1
    assert any("closed before" in record.getMessage() for record in caplog.records)
    notifier.notify(make_report(F, S), [webhook(receiver.url)])
    assert len(receiver.requests) == 1


def test_settings_reach_the_notifier_config(registry: CollectorRegistry) -> None:
    settings = Settings(
        smtp_host="mail.example.test",
        smtp_port=587,
        smtp_tls="starttls",
        smtp_username=SecretStr("gnomon"),
        smtp_password=SecretStr("hunter2"),
        smtp_from="jobs@example.test",
        notification_attempts=7,
        notification_backoff_seconds=0.5,
    )
    config = NotifierConfig.from_settings(settings)
    assert (config.smtp.host, config.smtp.port, config.smtp.tls) == (
        "mail.example.test",
        587,
        SmtpTls.STARTTLS,
    )
    assert (config.smtp.username, config.smtp.password) == ("gnomon", "hunter2")
    assert "hunter2" not in repr(config)
    assert (config.attempts, config.backoff_seconds, config.backoff_max_seconds) == (7, 0.5, 60.0)
    notifier = Notifier.from_settings(settings, registry)
    assert notifier.close(timeout=5)
    assert deliveries(registry, "email", "delivered") == 0
